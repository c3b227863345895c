#include "vouch/audit/export.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "vouch/util/crypto.h"

namespace vouch::audit {
namespace {

// The members of an event object this file reads, whatever their type (missing: null).
const json::value& Member(const json::object& o, std::string_view key) {
  static const json::value kNull;
  const json::value* v = o.if_contains(key);
  return v != nullptr ? *v : kNull;
}
const json::value& Member(const json::value& o, std::string_view key) {
  static const json::value kNull;
  return o.is_object() ? Member(o.get_object(), key) : kNull;
}
std::string Text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return SerializeJson(v);
}

Result<json::object> EventObject(std::string_view body) {
  Result<json::object> parsed = ParseJsonObject(body);
  if (!parsed.ok()) {
    return InvalidArgument("an audit event is not a JSON object: " + parsed.status().message());
  }
  return parsed;
}

// RFC 4180: quoted when it holds a comma, quote or line break. A text cell that a spreadsheet
// would run as a formula (= + - @ tab CR first) gets a leading apostrophe (OWASP's advice); the
// exact text is in events.jsonl.
std::string CsvCell(std::string_view text, bool is_text) {
  std::string cell;
  if (is_text && !text.empty() &&
      std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos) {
    cell += '\'';
  }
  cell += text;
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// CloudTrail's eventTime has whole seconds: "2024-05-01T12:00:00Z".
std::string SecondsTime(std::string_view rfc3339) {
  const size_t dot = rfc3339.find('.');
  if (dot == std::string_view::npos) return std::string(rfc3339);
  return std::string(rfc3339.substr(0, dot)) + "Z";
}

// A GUID for CloudTrail's eventID, bound to the event's bytes: the first 16 bytes of their
// SHA-256 as an RFC 9562 version 8 UUID.
std::string EventGuid(std::string_view body) {
  std::string b = Sha256Raw(body).substr(0, 16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x80);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  const std::string h = HexEncode(b);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

// OCSF API Activity's activity_id: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other.
std::pair<int, std::string_view> OcsfActivity(std::string_view action) {
  if (EndsWith(action, ".created") || EndsWith(action, ".opened") || EndsWith(action, ".added")) {
    return {1, "Create"};
  }
  if (EndsWith(action, ".deleted") || EndsWith(action, ".removed") ||
      EndsWith(action, ".revoked")) {
    return {4, "Delete"};
  }
  if (action == "access.denied") return {99, "Other"};
  return {3, "Update"};
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "jsonl") return ExportFormat::kJsonl;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "cloudtrail") return ExportFormat::kCloudTrail;
  if (name == "ocsf") return ExportFormat::kOcsf;
  return InvalidArgument(
      fmt::format("unknown export format \"{}\": give jsonl, csv, cloudtrail or ocsf", name));
}

void ExportEventReader::Feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      carry_.append(chunk);
      return;
    }
    if (carry_.empty()) {
      Line(chunk.substr(0, nl));
    } else {
      carry_.append(chunk.substr(0, nl));
      Line(carry_);
      carry_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
}

void ExportEventReader::Finish() {
  if (carry_.empty()) return;
  std::string last = std::move(carry_);
  carry_.clear();
  Line(last);
  verifier_.AddFinding(
      FindingKind::kMalformed, 0,
      fmt::format("{} does not end in a newline: its last line is cut", kExportEventsFile));
}

void ExportEventReader::Line(std::string_view line) {
  if (line.empty()) {
    verifier_.AddUnreadable("an empty line where an event belongs");
    return;
  }
  verifier_.AddEvent(0, line);
}

KeyFile ParseKeyFile(std::string_view text, std::string_view name) {
  KeyFile out;
  int number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    Result<tlog::Verifier> key = tlog::ParseVerifierKey(line);
    if (!key.ok()) {
      out.problems.push_back(
          fmt::format("{} line {}: not a verifier key: {}", name, number, key.status().message()));
      continue;
    }
    out.keys.push_back(std::move(*key));
  }
  return out;
}

std::vector<std::string> SplitSignedNotes(std::string_view text) {
  std::vector<std::string> notes;
  std::string current;
  bool in_signatures = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl == std::string_view::npos ? text.size() : nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const bool is_signature = line.starts_with(tlog::kNoteSignaturePrefix);
    if (in_signatures && !is_signature) {
      // The note ended with its last signature line; a blank line may separate the next.
      notes.push_back(std::move(current));
      current.clear();
      in_signatures = false;
      if (line.empty()) continue;
    }
    if (is_signature && current.ends_with("\n\n")) in_signatures = true;
    current.append(line);
    if (nl != std::string_view::npos) current += '\n';
  }
  if (!current.empty()) notes.push_back(std::move(current));
  return notes;
}

std::string CsvHeader() {
  return "seq,time,actor,actor_id,auth,door,address,user_agent,action,target_type,model,version,"
         "outcome,reason,comment,request_id,target,before,after\r\n";
}

Result<std::string> CsvRow(std::string_view body) {
  VOUCH_ASSIGN_OR_RETURN(json::object e, EventObject(body));
  const json::value& actor = Member(e, "actor");
  const json::value& source = Member(e, "source");
  const json::value& target = Member(e, "target");
  const std::array<std::pair<std::string, bool>, 19> cells = {{
      {Text(Member(e, "seq")), false},
      {Text(Member(e, "time")), false},
      {Text(Member(actor, "name")), true},
      {Text(Member(actor, "id")), false},
      {Text(Member(actor, "auth")), true},
      {Text(Member(source, "door")), true},
      {Text(Member(source, "address")), true},
      {Text(Member(source, "user_agent")), true},
      {Text(Member(e, "action")), true},
      {Text(Member(target, "type")), true},
      {Text(Member(target, "model")), true},
      {Text(Member(target, "version")), false},
      {Text(Member(e, "outcome")), true},
      {Text(Member(e, "reason")), true},
      {Text(Member(e, "comment")), true},
      {Text(Member(e, "request_id")), true},
      {Text(target), true},
      {Text(Member(e, "before")), true},
      {Text(Member(e, "after")), true},
  }};
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) row += ',';
    row += CsvCell(cells[i].first, cells[i].second);
  }
  row += "\r\n";
  return row;
}

Result<json::object> CloudTrailRecord(std::string_view body) {
  VOUCH_ASSIGN_OR_RETURN(json::object e, EventObject(body));
  const json::value& actor = Member(e, "actor");
  const json::value& source = Member(e, "source");
  json::object record;
  record["eventVersion"] = "1.08";
  record["userIdentity"] = json::object{{"type", "Unknown"},
                                        {"principalId", Text(Member(actor, "id"))},
                                        {"userName", Text(Member(actor, "name"))}};
  record["eventTime"] = SecondsTime(Text(Member(e, "time")));
  record["eventSource"] = "vouch";
  record["eventName"] = Text(Member(e, "action"));
  record["sourceIPAddress"] = Text(Member(source, "address"));
  record["userAgent"] = Text(Member(source, "user_agent"));
  json::object request{{"target", Member(e, "target")}, {"before", Member(e, "before")}};
  if (!Text(Member(e, "comment")).empty()) request["comment"] = Member(e, "comment");
  if (!Member(e, "gate").is_null()) request["gate"] = Member(e, "gate");
  record["requestParameters"] = std::move(request);
  record["responseElements"] = Member(e, "after");
  record["requestID"] = Text(Member(e, "request_id"));
  record["eventID"] = EventGuid(body);
  record["readOnly"] = false;
  record["eventCategory"] = "Management";
  if (Text(Member(e, "outcome")) == "denied") {
    record["errorCode"] = "AccessDenied";
    record["errorMessage"] = Text(Member(e, "reason"));
  }
  record["additionalEventData"] = json::object{{"seq", Member(e, "seq")},
                                               {"door", Text(Member(source, "door"))},
                                               {"auth", Text(Member(actor, "auth"))}};
  return record;
}

Result<json::object> OcsfApiActivity(std::string_view body) {
  VOUCH_ASSIGN_OR_RETURN(json::object e, EventObject(body));
  const json::value& actor = Member(e, "actor");
  const json::value& source = Member(e, "source");
  const json::value& target = Member(e, "target");
  const std::string action = Text(Member(e, "action"));
  const auto [activity_id, activity_name] = OcsfActivity(action);
  const bool denied = Text(Member(e, "outcome")) == "denied";
  json::object o;
  o["category_uid"] = 6;
  o["category_name"] = "Application Activity";
  o["class_uid"] = 6003;
  o["class_name"] = "API Activity";
  o["activity_id"] = activity_id;
  o["activity_name"] = activity_name;
  o["type_uid"] = 6003 * 100 + activity_id;
  o["type_name"] = fmt::format("API Activity: {}", activity_name);
  o["severity_id"] = 1;
  o["severity"] = "Informational";
  o["time"] = Member(e, "time_ms");
  o["message"] = action;
  o["status_id"] = denied ? 2 : 1;
  o["status"] = denied ? "Failure" : "Success";
  if (denied) o["status_detail"] = Text(Member(e, "reason"));
  o["metadata"] =
      json::object{{"version", "1.1.0"},
                   {"uid", Text(Member(e, "seq"))},
                   {"sequence", Member(e, "seq")},
                   {"log_name", "audit"},
                   {"product", json::object{{"name", "vouch"}, {"vendor_name", "vouch"}}}};
  o["actor"] = json::object{{"user", json::object{{"name", Text(Member(actor, "name"))},
                                                  {"uid", Text(Member(actor, "id"))}}}};
  json::object request{{"uid", Text(Member(e, "request_id"))},
                       {"data", json::object{{"target", target}, {"before", Member(e, "before")}}}};
  o["api"] = json::object{{"operation", action},
                          {"service", json::object{{"name", "vouch"}}},
                          {"request", std::move(request)},
                          {"response", json::object{{"data", Member(e, "after")}}}};
  const std::string address = Text(Member(source, "address"));
  o["src_endpoint"] = address.empty() ? json::object{{"name", Text(Member(source, "door"))}}
                                      : json::object{{"ip", address}};
  o["http_request"] = json::object{{"user_agent", Text(Member(source, "user_agent"))}};
  if (target.is_object()) {
    std::string name = Text(Member(target, "model"));
    if (!Member(target, "version").is_null()) name += "/" + Text(Member(target, "version"));
    o["resources"] =
        json::array{json::object{{"type", Text(Member(target, "type"))}, {"name", name}}};
  }
  o["unmapped"] = json::object{{"door", Text(Member(source, "door"))},
                               {"auth", Text(Member(actor, "auth"))},
                               {"comment", Member(e, "comment")},
                               {"gate", Member(e, "gate")}};
  return o;
}

}  // namespace vouch::audit

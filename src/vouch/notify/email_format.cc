#include "vouch/notify/email_format.h"

#include <fmt/format.h>

#include <cctype>
#include <ctime>

#include "vouch/audit/actions.h"
#include "vouch/util/crypto.h"
#include "vouch/util/text.h"

namespace vouch::notify {
namespace {

constexpr std::string_view kProduct = "vouch";

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return "";
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
std::string PathSegment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Control characters (CR and LF among them) as spaces: a value from an event never breaks a
// header or a line of the summary.
std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

// What the event is about, in words: "version 3 of model fraud", "model fraud", "policy p".
std::string Subject(const json::object& target) {
  const std::string model = Str(target, "model");
  const std::string version = Str(target, "version");
  if (!model.empty() && !version.empty())
    return fmt::format("version {} of model {}", version, model);
  if (!model.empty()) return fmt::format("model {}", model);
  for (std::string_view key : {"policy", "name", "principal", "group", "deployment"}) {
    std::string v = Str(target, key);
    if (!v.empty()) return fmt::format("{} {}", key == "name" ? Str(target, "type") : key, v);
  }
  return Str(target, "type");
}

struct Summary {
  std::string subject;   // without the product prefix
  std::string headline;  // one sentence
};

Summary Summarize(std::string_view action, const json::object& event) {
  static const json::object kEmpty;
  const json::object* target_ptr = Obj(event, "target");
  const json::object& target = target_ptr != nullptr ? *target_ptr : kEmpty;
  const json::object* actor = Obj(event, "actor");
  const std::string who = actor != nullptr ? Str(*actor, "name") : "";
  const std::string model = Str(target, "model");
  const std::string version = Str(target, "version");
  const std::string to = Str(target, "to");
  const std::string request = Str(target, "request");
  if (action.starts_with("request.") && !request.empty()) {
    const std::string short_what = fmt::format("{} version {} to {}", model, version, to);
    const std::string what =
        fmt::format("request {} to move version {} of model {} to {}", request, version, model, to);
    if (action == "request.opened") {
      return {fmt::format("Approval requested: {}", short_what),
              fmt::format("{} asks to move version {} of model {} to {} (request {}).", who,
                          version, model, to, request)};
    }
    if (action == "request.reminder") {
      return {fmt::format("Reminder: {} awaits approval", short_what),
              fmt::format("The {} is still waiting for approval.", what)};
    }
    static constexpr std::pair<std::string_view, std::string_view> kVerbs[] = {
        {"request.reviewed", "Reviewed"},    {"request.approved", "Approved"},
        {"request.rejected", "Rejected"},    {"request.applied", "Applied"},
        {"request.cancelled", "Cancelled"},  {"request.expired", "Expired"},
        {"request.superseded", "Superseded"}};
    for (const auto& [name, verb] : kVerbs) {
      if (action != name) continue;
      std::string lower(verb);
      lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
      std::string headline = fmt::format("The {} was {}", what, lower);
      if (action == "request.expired") headline = fmt::format("The {} expired", what);
      if (!who.empty() && action != "request.expired") headline += fmt::format(" by {}", who);
      return {fmt::format("{}: {}", verb, short_what), headline + "."};
    }
  }
  std::string meaning;
  if (std::optional<audit::Action> a = audit::FindAction(action)) {
    meaning = std::string(audit::Describe(*a).meaning);
  }
  const std::string about = Subject(target);
  std::string headline = meaning.empty() ? std::string(action) : meaning;
  if (!headline.empty()) {
    headline[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(headline[0])));
  }
  if (!about.empty()) headline += fmt::format(": {}", about);
  if (!who.empty()) headline += fmt::format(", by {}", who);
  return {about.empty() ? std::string(action) : fmt::format("{}: {}", action, about),
          headline + "."};
}

// request.opened's and request.reminder's "recipients": for each unmet rule, its text and who
// could approve. One line each: "2 of role:ml-engineer (2 missing): eli, fay".
std::vector<std::string> WaitingFor(const json::object& event) {
  std::vector<std::string> out;
  const json::value* r = event.if_contains("recipients");
  if (r == nullptr || !r->is_array()) return out;
  for (const json::value& rule : r->as_array()) {
    if (!rule.is_object()) continue;
    const json::object& o = rule.as_object();
    std::string names;
    if (const json::value* could = o.if_contains("could_approve"); could && could->is_array()) {
      for (const json::value& n : could->as_array()) {
        if (n.is_string()) names += (names.empty() ? "" : ", ") + std::string(n.as_string());
      }
    }
    std::string line = Str(o, "text");
    const std::string missing = Str(o, "missing");
    if (!missing.empty()) line += fmt::format(" ({} missing)", missing);
    line += ": " + (names.empty() ? std::string("nobody can approve it now") : names);
    out.push_back(OneLine(line));
  }
  return out;
}

std::string HostOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return "";  // an IPv6 literal: not a domain
  rest = rest.substr(0, rest.find(':'));
  for (char c : rest) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return "";
  }
  return std::string(rest);
}

// Characters a Message-ID's left part keeps (RFC 5322 atext, less what a reader would trip on).
std::string IdPart(std::string_view s) {
  std::string out;
  for (char c : s) {
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ? c : '-';
  }
  return out;
}

}  // namespace

std::string EventLink(const json::object& event, std::string_view public_url) {
  while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
  if (public_url.empty()) return "";
  const json::object* target = Obj(event, "target");
  if (target == nullptr) return "";
  const std::string request = Str(*target, "request");
  if (Str(*target, "type") == "approval_request" && !request.empty()) {
    return fmt::format("{}/api/v1/requests/{}", public_url, request);
  }
  const std::string model = Str(*target, "model");
  const std::string version = Str(*target, "version");
  if (model.empty()) return "";
  if (!version.empty()) {
    return fmt::format("{}/api/v1/models/{}/versions/{}", public_url, PathSegment(model), version);
  }
  return fmt::format("{}/api/v1/models/{}", public_url, PathSegment(model));
}

Result<EmailContent> ComposeEmail(const Envelope& envelope) {
  const json::object& event = envelope.event;
  std::string action = envelope.action.empty() ? Str(event, "action") : envelope.action;
  if (action.empty()) return InvalidArgument("the event names no action");
  const Summary summary = Summarize(action, event);
  const json::object* actor = Obj(event, "actor");
  const std::string who = OneLine(actor != nullptr ? Str(*actor, "name") : "");
  const std::string when = Str(event, "time");
  const std::string why = Str(event, "comment");
  const std::vector<std::string> waiting = WaitingFor(event);
  const std::string link = EventLink(event, envelope.public_url);
  const std::string headline = OneLine(summary.headline);

  EmailContent out;
  out.subject = fmt::format("[{}] {}", kProduct, OneLine(summary.subject));

  std::string& t = out.text;
  t += headline + "\n\n";
  t += fmt::format("What: {}\n", action);
  if (!who.empty()) t += fmt::format("Who:  {}\n", who);
  if (!when.empty()) t += fmt::format("When: {}\n", OneLine(when));
  if (!why.empty()) {
    // The comment keeps its own lines, indented under the label.
    std::string indented;
    for (char c : why) {
      indented += c;
      if (c == '\n') indented += "      ";
    }
    t += fmt::format("Why:  {}\n", indented);
  }
  if (!waiting.empty()) {
    t += "\nWaiting for:\n";
    for (const std::string& w : waiting) t += fmt::format("  - {}\n", w);
  }
  if (!link.empty()) t += fmt::format("\n{}\n", link);
  t += fmt::format("\n-- \nEvent {} of {}'s audit log", envelope.event_seq, kProduct);
  if (!envelope.webhook_name.empty()) {
    t += fmt::format(", sent to you by subscription {}", OneLine(envelope.webhook_name));
  }
  t += ".\n";

  std::string& h = out.html;
  h += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + EscapeHtml(out.subject) +
       "</title></head>\n<body>\n";
  h += "<p>" + EscapeHtml(headline) + "</p>\n<table>\n";
  auto row = [&](std::string_view label, std::string_view value) {
    h += fmt::format("<tr><th align=\"left\">{}</th><td>{}</td></tr>\n", label, value);
  };
  row("What", EscapeHtml(action));
  if (!who.empty()) row("Who", EscapeHtml(who));
  if (!when.empty()) row("When", EscapeHtml(OneLine(when)));
  if (!why.empty()) {
    std::string escaped = EscapeHtml(why);
    std::string with_breaks;
    for (char c : escaped) with_breaks += c == '\n' ? std::string("<br>\n") : std::string(1, c);
    row("Why", with_breaks);
  }
  h += "</table>\n";
  if (!waiting.empty()) {
    h += "<p>Waiting for:</p>\n<ul>\n";
    for (const std::string& w : waiting) h += "<li>" + EscapeHtml(w) + "</li>\n";
    h += "</ul>\n";
  }
  if (!link.empty()) {
    h += fmt::format("<p><a href=\"{}\">{}</a></p>\n", EscapeHtml(link), EscapeHtml(link));
  }
  h += fmt::format("<p><small>Event {} of {}&#39;s audit log", envelope.event_seq, kProduct);
  if (!envelope.webhook_name.empty()) {
    h += ", sent to you by subscription " + EscapeHtml(OneLine(envelope.webhook_name));
  }
  h += ".</small></p>\n</body></html>\n";
  return out;
}

std::string EncodeHeaderText(std::string_view text) {
  const std::string line = OneLine(text);
  bool plain = line.size() <= 70;
  for (unsigned char c : line) {
    if (c >= 0x80) plain = false;
  }
  // "=?" would start an encoded word in a plain header: such text is encoded too.
  if (plain && line.find("=?") == std::string::npos) return line;
  // Encoded words of at most 75 characters: 12 of "=?UTF-8?B?" and "?=", 60 of base64 = 45 bytes.
  std::string out;
  size_t i = 0;
  while (i < line.size()) {
    size_t end = std::min(line.size(), i + 45);
    // Back off to the start of a UTF-8 character.
    while (end < line.size() && end > i && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (end == i) end = std::min(line.size(), i + 45);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(std::string_view(line).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

std::string QuotedPrintable(std::string_view text) {
  std::string out;
  size_t col = 0;
  auto emit = [&](std::string piece) {
    if (col + piece.size() > 75) {
      out += "=\r\n";
      col = 0;
      if (piece == ".") piece = "=2E";
    }
    out += piece;
    col += piece.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\n' ||
                          (text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n');
    const bool literal =
        ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end)) &&
        !(c == '.' && col == 0);
    if (literal) {
      emit(std::string(1, static_cast<char>(c)));
    } else {
      emit(fmt::format("={:02X}", c));
    }
  }
  return out;
}

std::string MailDate(TimeMs t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday],
                     tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

std::string MessageIdFor(std::string_view delivery_id, int64_t event_seq,
                         std::string_view public_url) {
  std::string host = HostOf(public_url);
  if (host.empty()) host = std::string(kProduct);
  std::string left = delivery_id.empty() ? fmt::format("event-{}", event_seq) : IdPart(delivery_id);
  return fmt::format("<{}@{}>", left, host);
}

Result<Rendered> EmailFormat::Render(const Envelope& envelope) const {
  VOUCH_ASSIGN_OR_RETURN(EmailContent content, ComposeEmail(envelope));
  const std::string seed = envelope.delivery_id.empty()
                               ? fmt::format("event-{}", envelope.event_seq)
                               : envelope.delivery_id;
  // "=_" never occurs in quoted-printable text, so the boundary cannot occur in either part.
  const std::string boundary = "=_vouch_" + Sha256Hex(seed).substr(0, 24);
  Rendered out;
  out.headers = {
      {"Subject", EncodeHeaderText(content.subject)},
      {"Date", MailDate(envelope.now_ms)},
      {"Message-ID", MessageIdFor(envelope.delivery_id, envelope.event_seq, envelope.public_url)},
      {"MIME-Version", "1.0"},
      {"Content-Type", fmt::format("multipart/alternative; boundary=\"{}\"", boundary)},
      // RFC 3834: an automatic message; vacation responders stay quiet.
      {"Auto-Submitted", "auto-generated"},
      {"X-Vouch-Event", OneLine(envelope.action)},
  };
  std::string& b = out.body;
  b += "This is a message in MIME format: a plain-text and an HTML part.\r\n";
  for (const auto& [type, part] :
       {std::pair<std::string_view, const std::string*>{"text/plain", &content.text},
        std::pair<std::string_view, const std::string*>{"text/html", &content.html}}) {
    b += fmt::format("--{}\r\n", boundary);
    b += fmt::format("Content-Type: {}; charset=utf-8\r\n", type);
    b += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    b += QuotedPrintable(*part);
    b += "\r\n";
  }
  b += fmt::format("--{}--\r\n", boundary);
  return out;
}

std::string AssembleMessage(std::string_view from, const std::vector<std::string>& to,
                            const Rendered& rendered) {
  std::string out = fmt::format("From: {}\r\n", OneLine(from));
  std::string line = "To: ";
  for (size_t i = 0; i < to.size(); ++i) {
    std::string item = OneLine(to[i]) + (i + 1 < to.size() ? "," : "");
    if (line.size() > 4 && line.size() + 1 + item.size() > 78) {
      out += line + "\r\n";
      line = " ";
    } else if (line.size() > 4) {
      line += " ";
    }
    line += item;
  }
  out += line + "\r\n";
  for (const auto& [name, value] : rendered.headers) {
    out += fmt::format("{}: {}\r\n", name, value);
  }
  out += "\r\n";
  out += rendered.body;
  return out;
}

}  // namespace vouch::notify

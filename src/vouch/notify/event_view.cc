#include "vouch/notify/event_view.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace vouch::notify {
namespace {

// One path segment, percent-encoded: everything but RFC 3986's unreserved characters.
std::string PathSegment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  // A segment of dots only would be read as "this" or "up" by a resolver.
  if (out == "." || out == "..") {
    std::string encoded;
    for (size_t i = 0; i < out.size(); ++i) encoded += "%2E";
    return encoded;
  }
  return out;
}

std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

std::string TrimSlash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

const json::object kEmpty;

// "{actor}", "{object}", "{key}", "{alias}", "{to}", "{stage}", "{check}", "{state}",
// "{decision}", "{model}", "{version}" in a template, from the event.
struct Summary {
  std::string_view action;
  std::string_view text;
};

constexpr auto kSummaries = std::to_array<Summary>({
    {"model.created", "{actor} created {object}"},
    {"model.updated", "{actor} changed the description of {object}"},
    {"model.renamed", "{actor} renamed a model to {model}"},
    {"model.deleted", "{actor} deleted {object}"},
    {"model.tag_set", "{actor} set tag {key} on {object}"},
    {"model.tag_deleted", "{actor} removed tag {key} from {object}"},
    {"model_version.created", "{actor} created {object}"},
    {"model_version.updated", "{actor} changed the description of {object}"},
    {"model_version.deleted", "{actor} deleted {object}"},
    {"model_version.tag_set", "{actor} set tag {key} on {object}"},
    {"model_version.tag_deleted", "{actor} removed tag {key} from {object}"},
    {"model_version.metric_set", "{actor} set metric {key} on {object}"},
    {"model_version.metric_deleted", "{actor} removed metric {key} from {object}"},
    {"model_version.param_set", "{actor} set param {key} on {object}"},
    {"model_version.param_deleted", "{actor} removed param {key} from {object}"},
    {"model_version.stage_changed", "{actor} moved {object} to stage {stage}"},
    {"model_alias.set", "{actor} pointed alias {alias} of {model} at version {version}"},
    {"model_alias.deleted", "{actor} removed alias {alias} of {model} (version {version})"},
    {"policy.applied", "{actor} applied {object}"},
    {"policy.retired", "{actor} retired {object}"},
    {"request.opened", "{actor} opened {object}"},
    {"request.reviewed", "{actor} reviewed {object}: {decision}"},
    {"request.approved", "{object} is approved"},
    {"request.applied", "{actor} applied {object}"},
    {"request.rejected", "{actor} rejected {object}"},
    {"request.cancelled", "{actor} cancelled {object}"},
    {"request.expired", "{object} expired"},
    {"request.superseded", "{object} was superseded"},
    {"review.dismissed", "an approval of {object} was dismissed: the version changed"},
    {"check.posted", "{actor} posted check {check} ({state}) on {object}"},
    {"gate.bypassed", "{actor} broke glass: {object} entered {to}"},
    {"gate.violated", "{actor} moved {object} past an audit-only gate"},
    {"followup.closed", "{actor} closed the follow-up review of {object}"},
    {"comment.created", "{actor} commented on {object}"},
    {"comment.updated", "{actor} edited a comment on {object}"},
    {"comment.deleted", "{actor} deleted a comment on {object}"},
    {"request.reminder", "{object} is still waiting for reviewers"},
});

std::string ObjectText(const json::object& target) {
  const std::string type = TextOf(target, "type");
  const std::string model = TextOf(target, "model");
  const std::string version = TextOf(target, "version");
  if (type == "approval_request") {
    std::string out = fmt::format("request #{}", TextOf(target, "request"));
    if (!model.empty()) {
      out += fmt::format(" ({} version {}", model, version);
      if (std::string to = TextOf(target, "to"); !to.empty()) out += " to " + to;
      out += ")";
    }
    return out;
  }
  if (type == "policy") return fmt::format("policy {}", TextOf(target, "policy"));
  if (!model.empty() && !version.empty()) return fmt::format("{} version {}", model, version);
  if (!model.empty()) return fmt::format("model {}", model);
  return type.empty() ? "the registry" : type;
}

// A value the summary names, looked up in `after`, then `before`, then the target.
std::string Fact(const json::object& event, std::string_view key) {
  for (std::string_view part : {"after", "before", "target"}) {
    std::string v = TextOf(ObjectOf(event, part), key);
    if (!v.empty()) return v;
  }
  return "";
}

}  // namespace

std::string TextOf(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return SerializeJson(v);
}

const json::object& ObjectOf(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return kEmpty;
  return it->value().get_object();
}

json::object PublicEventData(const json::object& event) {
  json::object out;
  for (const auto& [key, value] : event) {
    if (key == "source") {
      std::string door = TextOf(ObjectOf(event, "source"), "door");
      if (!door.empty()) out["door"] = door;
      continue;
    }
    out[key] = value;
  }
  return out;
}

json::object EventLinks(const json::object& event, std::string_view public_url) {
  json::object links;
  if (public_url.empty()) return links;
  const std::string base = TrimSlash(public_url);
  const json::object& target = ObjectOf(event, "target");
  const std::string model = TextOf(target, "model");
  const std::string version = TextOf(target, "version");
  if (TextOf(target, "type") == "approval_request") {
    if (std::string id = TextOf(target, "request"); !id.empty()) {
      links["request"] = fmt::format("{}/api/v1/requests/{}", base, PathSegment(id));
    }
  }
  if (!model.empty()) {
    const std::string model_url = fmt::format("{}/api/v1/models/{}", base, PathSegment(model));
    if (!version.empty() && version != "0") {
      links["version"] = fmt::format("{}/versions/{}", model_url, PathSegment(version));
    }
    links["model"] = model_url;
  }
  return links;
}

std::string PrimaryLink(const json::object& links) {
  for (std::string_view key : {"request", "version", "model"}) {
    std::string url = TextOf(links, key);
    if (!url.empty()) return url;
  }
  return "";
}

std::string EventSubject(const json::object& event) {
  const json::object& target = ObjectOf(event, "target");
  const std::string type = TextOf(target, "type");
  const std::string model = TextOf(target, "model");
  const std::string version = TextOf(target, "version");
  if (type == "approval_request" && !TextOf(target, "request").empty()) {
    return "requests/" + PathSegment(TextOf(target, "request"));
  }
  if (type == "policy" && !TextOf(target, "policy").empty()) {
    return "policies/" + PathSegment(TextOf(target, "policy"));
  }
  if (model.empty()) return "";
  std::string out = "models/" + PathSegment(model);
  if (std::string alias = TextOf(target, "alias"); !alias.empty()) {
    return out + "/aliases/" + PathSegment(alias);
  }
  if (!version.empty() && version != "0") out += "/versions/" + PathSegment(version);
  return out;
}

std::string EventSummary(const json::object& event) {
  const std::string action = TextOf(event, "action");
  const json::object& target = ObjectOf(event, "target");
  std::string_view text = "{actor}: {action} on {object}";
  for (const Summary& s : kSummaries) {
    if (s.action == action) text = s.text;
  }
  std::string actor = TextOf(ObjectOf(event, "actor"), "name");
  if (actor.empty()) actor = "vouch";
  const std::array<std::pair<std::string_view, std::string>, 12> values{{
      {"{actor}", actor},
      {"{action}", action},
      {"{object}", ObjectText(target)},
      {"{model}", TextOf(target, "model")},
      {"{version}", Fact(event, "version")},
      {"{key}", Fact(event, "key")},
      {"{alias}", Fact(event, "alias")},
      {"{to}", TextOf(target, "to")},
      {"{stage}", Fact(event, "stage")},
      {"{check}", TextOf(target, "check")},
      {"{state}", Fact(event, "state")},
      {"{decision}", Fact(event, "decision")},
  }};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [name, value] : values) {
        if (text.substr(i).starts_with(name)) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return OneLine(out);
}

}  // namespace vouch::notify

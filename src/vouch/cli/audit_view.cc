#include "vouch/cli/audit_view.h"

#include <fmt/format.h>

#include <string_view>

namespace vouch::cli {
namespace {

constexpr std::string_view kArrow = " \u2192 ";

const json::object* ObjectField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::string Text(const json::object* o, std::string_view key) {
  if (o == nullptr) return "";
  const json::value* v = o->if_contains(key);
  return v == nullptr ? "" : CellText(*v);
}

bool Has(const json::object* o, std::string_view key) {
  return o != nullptr && o->if_contains(key) != nullptr && !o->at(key).is_null();
}

std::string Seq(const json::object& e) { return Text(&e, "seq"); }
std::string Time(const json::object& e) { return Text(&e, "time"); }
std::string SourceDoor(const json::object& e) { return Text(ObjectField(e, "source"), "door"); }
std::string Action(const json::object& e) { return Text(&e, "action"); }

// "user alice" or "group ml", from a grant target's grantee.
std::string Grantee(const json::object* t) {
  if (Has(t, "user")) return "user " + Text(t, "user");
  if (Has(t, "group")) return "group " + Text(t, "group");
  return "";
}

// "fraud-detector v3 @champion", as much of it as `t` names.
std::string ModelText(const json::object* t) {
  std::string text = Text(t, "model");
  if (Has(t, "version")) text += " v" + Text(t, "version");
  if (Has(t, "alias")) text += " @" + Text(t, "alias");
  return text;
}

std::string Joined(std::string_view a, std::string_view b, std::string_view sep) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{}{}{}", a, sep, b);
}

std::string Target(const json::object& e) {
  const json::object* t = ObjectField(e, "target");
  if (t == nullptr) return Text(&e, "target");
  const std::string type = Text(t, "type");
  if (type == "model" || type == "model_version") return ModelText(t);
  if (type == "principal") return Text(t, "principal");
  if (type == "token") {
    return Joined("token " + Text(t, "id"), Text(t, "principal"), " of ");
  }
  if (type == "group") return "group " + Text(t, "group");
  if (type == "role") return Joined("role " + Text(t, "role"), Grantee(t), ": ");
  if (type == "model_permission") return Joined(Text(t, "model"), Grantee(t), ": ");
  if (type == "secret") return "secret " + Text(t, "name");
  if (type == "request") {
    if (Has(t, "model")) return ModelText(t);
    if (Has(t, "path")) return Joined(Text(t, "method"), Text(t, "path"), " ");
    return "request";
  }
  // A kind this CLI does not know yet: whatever name it carries, else its type.
  for (std::string_view key : {"model", "name", "principal", "group", "role"}) {
    if (Has(t, key)) return Text(t, key);
  }
  return type;
}

// "a → b" from before[key] and after[key]; `none` for a side that lacks it.
std::string FromTo(const json::object& e, std::string_view key, std::string_view prefix = "",
                   std::string_view none = "(none)") {
  const json::object* before = ObjectField(e, "before");
  const json::object* after = ObjectField(e, "after");
  if (!Has(before, key) && !Has(after, key)) return "";
  auto side = [&](const json::object* o) {
    return Has(o, key) ? fmt::format("{}{}", prefix, Text(o, key)) : std::string(none);
  };
  return fmt::format("{}{}{}", side(before), kArrow, side(after));
}

std::string Change(const json::object& e) {
  const std::string action = Action(e);
  if (action == "model_version.stage_changed") return FromTo(e, "stage");
  if (action == "model_alias.set" || action == "model_alias.deleted") {
    return FromTo(e, "version", "v");
  }
  if (action == "model.renamed") return FromTo(e, "name");
  if (action == "permission.granted" || action == "permission.revoked") {
    return FromTo(e, "permission");
  }
  if (action == "group.member_added") return "+" + Text(ObjectField(e, "after"), "member");
  if (action == "group.member_removed") return "-" + Text(ObjectField(e, "before"), "member");
  return "";
}

std::string Actor(const json::object& e) {
  const std::string name = Text(ObjectField(e, "actor"), "name");
  if (!name.empty()) return name;
  if (Text(ObjectField(e, "source"), "door") == "system") return "(system)";
  const std::string attempted = Text(ObjectField(e, "target"), "attempted");
  return attempted.empty() ? "(anonymous)" : attempted;
}

std::string Outcome(const json::object& e) {
  std::string text = Text(&e, "outcome");
  const json::value* count = e.if_contains("count");
  if (count != nullptr && count->is_int64() && count->as_int64() > 1) {
    text += fmt::format(" ({} times)", count->as_int64());
  }
  return text;
}

std::string Comment(const json::object& e) {
  return Text(&e, "outcome") == "denied" ? Text(&e, "reason") : Text(&e, "comment");
}

}  // namespace

AuditRow AuditRowOf(const json::object& e) {
  return AuditRow{.seq = Seq(e),
                  .time = Time(e),
                  .actor = Actor(e),
                  .door = SourceDoor(e),
                  .action = Action(e),
                  .target = Target(e),
                  .change = Change(e),
                  .outcome = Outcome(e),
                  .comment = Comment(e)};
}

std::vector<Column> AuditLogColumns() {
  return {
      {"SEQ", Seq},         {"TIME", Time},       {"ACTOR", Actor},
      {"DOOR", SourceDoor}, {"ACTION", Action},   {"TARGET", Target},
      {"CHANGE", Change},   {"OUTCOME", Outcome}, {"COMMENT", Comment},
  };
}

}  // namespace vouch::cli

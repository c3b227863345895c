#include "vouch/domain/audit_event.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace vouch {
namespace {

// The integer at `path` under `v` (members of objects), if there is one.
void AddIntAt(const json::value& v, std::initializer_list<std::string_view> path,
              std::vector<int64_t>& out) {
  const json::value* at = &v;
  for (std::string_view key : path) {
    const json::object* o = at->if_object();
    if (o == nullptr) return;
    auto it = o->find(key);
    if (it == o->end()) return;
    at = &it->value();
  }
  if (at->is_int64()) out.push_back(at->get_int64());
  if (at->is_uint64() && at->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    out.push_back(static_cast<int64_t>(at->get_uint64()));
  }
}

}  // namespace

std::vector<int64_t> ApprovalRequestIds(const AuditEvent& e) {
  std::vector<int64_t> out;
  if (auto it = e.target.find("request"); it != e.target.end()) AddIntAt(it->value(), {}, out);
  AddIntAt(e.gate, {"request"}, out);
  AddIntAt(e.after, {"gate", "request"}, out);
  AddIntAt(e.after, {"request"}, out);
  AddIntAt(e.before, {"request"}, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

AuditEvent EventFor(const RequestContext& ctx, std::string action) {
  AuditEvent e;
  if (ctx.principal) {
    e.actor_id = ctx.principal->id;
    e.actor_name = ctx.principal->name;
  }
  e.actor_auth = std::string(AuthMethodName(ctx.auth));
  e.door = std::string(DoorName(ctx.door));
  e.address = ctx.address;
  e.user_agent = ctx.user_agent;
  e.request_id = ctx.request_id;
  e.action = std::move(action);
  return e;
}

json::object AuditEventJson(const AuditEvent& e) {
  json::object o;
  o["schema"] = kAuditSchemaVersion;
  o["seq"] = e.seq;
  o["time"] = FormatRfc3339Ms(e.time_ms);
  o["time_ms"] = e.time_ms;
  o["actor"] = {{"id", e.actor_id}, {"name", e.actor_name}, {"auth", e.actor_auth}};
  o["source"] = {{"door", e.door}, {"address", e.address}, {"user_agent", e.user_agent}};
  o["action"] = e.action;
  o["target"] = e.target;
  o["before"] = e.before;
  o["after"] = e.after;
  o["comment"] = e.comment;
  o["request_id"] = e.request_id;
  o["outcome"] = e.outcome == Outcome::kDone ? "done" : "denied";
  if (e.outcome == Outcome::kDenied) o["reason"] = e.reason;
  if (e.count > 0) o["count"] = e.count;
  if (!e.gate.is_null()) o["gate"] = e.gate;
  return o;
}

}  // namespace vouch

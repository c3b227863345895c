#include "vouch/domain/audit_event.h"

namespace vouch {

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

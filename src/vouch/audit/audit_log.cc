#include "vouch/audit/audit_log.h"

namespace vouch::audit {

Result<int64_t> Append(store::Tx& tx, AuditEvent& event, TimeMs now) {
  event.time_ms = now;
  std::string body;
  VOUCH_ASSIGN_OR_RETURN(event.seq,
                         tx.AppendAuditEvent(event, [&](int64_t seq) -> Result<std::string> {
                           event.seq = seq;
                           VOUCH_ASSIGN_OR_RETURN(body, CanonicalJson(AuditEventJson(event)));
                           return body;
                         }));
  if (event.outcome == Outcome::kDone) {
    if (event.outbox_extra.empty()) {
      VOUCH_TRY(tx.EnqueueOutbox(event.seq, event.action, body, now));
    } else {
      json::object payload = AuditEventJson(event);
      for (const auto& [key, value] : event.outbox_extra) payload[key] = value;
      VOUCH_ASSIGN_OR_RETURN(std::string extended, CanonicalJson(payload));
      VOUCH_TRY(tx.EnqueueOutbox(event.seq, event.action, extended, now));
    }
  }
  return event.seq;
}

}  // namespace vouch::audit

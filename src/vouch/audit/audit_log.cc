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
    VOUCH_TRY(tx.EnqueueOutbox(event.seq, event.action, body, now));
  }
  return event.seq;
}

}  // namespace vouch::audit

#include "vouch/audit/audit_log.h"

#include <fmt/format.h>

#include "vouch/tlog/tiles.h"

namespace vouch::audit {

Result<int64_t> Append(store::Tx& tx, AuditEvent& event, TimeMs now) {
  event.time_ms = now;
  std::string body;
  VOUCH_ASSIGN_OR_RETURN(
      event.seq, tx.AppendAuditEvent(event, [&](int64_t seq) -> Result<std::string> {
        event.seq = seq;
        VOUCH_ASSIGN_OR_RETURN(body, CanonicalJson(AuditEventJson(event)));
        // The last line behind the field limits: an event must fit one
        // tlog-tiles entry. Refused here, the number goes back and the
        // caller's change rolls back with it.
        if (body.size() > kMaxAuditEventBytes) {
          return InvalidArgument(
              fmt::format("the audit event of this change ({}) would be {} bytes, over the "
                          "limit of {} bytes for one audit event; nothing was changed",
                          event.action, body.size(), kMaxAuditEventBytes));
        }
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

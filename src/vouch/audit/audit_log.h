// Appending to the audit log inside the caller's transaction (invariant 1: a change and its event
// commit together), and enqueueing the event for subscribers in the same transaction (invariant 5).
#pragma once

#include "vouch/domain/audit_event.h"
#include "vouch/store/store.h"

namespace vouch::audit {

// Stamps `event` with `now` and the next sequence number, stores its canonical JSON and, for events
// of outcome done, writes it to the outbox: the stored bytes, or with `event.outbox_extra` the
// canonical JSON of the event with those members added (never stored in the log). Returns the
// sequence number. INVALID_ARGUMENT when the event cannot be put in canonical form (a NaN, an
// integer beyond 2^53).
Result<int64_t> Append(store::Tx& tx, AuditEvent& event, TimeMs now);

}  // namespace vouch::audit

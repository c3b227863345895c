// Appending to the audit log inside the caller's transaction (invariant 1: a change and its event
// commit together), and enqueueing the event for subscribers in the same transaction (invariant 5).
#pragma once

#include <cstddef>

#include "vouch/domain/audit_event.h"
#include "vouch/store/store.h"
#include "vouch/tlog/tiles.h"

namespace vouch::audit {

// The largest stored event: one C2SP tlog-tiles entry (a uint16 length). The field limits
// (docs/api.md "Validation") keep every event well under it; Append refuses one that is not.
inline constexpr size_t kMaxAuditEventBytes = tlog::kMaxEntryBytes;

// Stamps `event` with `now` and the next sequence number, stores its canonical JSON and, for events
// of outcome done, writes it to the outbox: the stored bytes, or with `event.outbox_extra` the
// canonical JSON of the event with those members added (never stored in the log). Returns the
// sequence number. INVALID_ARGUMENT when the event cannot be put in canonical form (a NaN, an
// integer beyond 2^53), or when its canonical JSON is longer than kMaxAuditEventBytes (the message
// names the action, the size and the limit); either way nothing is stored and the sequence number
// is given back, so the caller's transaction, rolled back, leaves no trace.
Result<int64_t> Append(store::Tx& tx, AuditEvent& event, TimeMs now);

}  // namespace vouch::audit

// An audit event as the service builds it. The audit layer turns it into canonical JSON (the bytes
// that are stored and, later, hashed into the Merkle log). Plain data, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vouch/domain/principal.h"
#include "vouch/util/json.h"

namespace vouch {

// The layout events are written in now. Schema 2 (issue 12) adds the optional top-level `gate`
// of a gated move; an event archived by archive_existing says so in its `after` ("cause"). Events
// of every schema from kOldestAuditSchemaVersion on stay valid forever: their stored bytes are
// never rewritten, and readers and the verifier accept each.
inline constexpr int kAuditSchemaVersion = 2;
inline constexpr int kOldestAuditSchemaVersion = 1;

enum class Outcome { kDone, kDenied };

struct AuditEvent {
  // Assigned by the store when appended: gapless, one linear sequence.
  int64_t seq = 0;
  TimeMs time_ms = 0;
  int64_t actor_id = 0;
  std::string actor_name;
  std::string actor_auth;
  std::string door;
  std::string address;
  std::string user_agent;
  std::string action;   // dotted name from the one catalogue, e.g. "model_version.stage_changed"
  json::object target;  // {"type": "...", "model": "...", "version": N, ...}
  json::value before;   // only what changed; null when the thing did not exist before
  json::value after;    // only what changed; null when the thing no longer exists
  std::string comment;
  std::string request_id;
  Outcome outcome = Outcome::kDone;
  std::string reason;  // for denials
  int64_t count = 0;   // for aggregated denials; 0 means "not aggregated"
  // For filtering: the model's internal id and the version, when the target is one.
  int64_t model_id = 0;
  std::string model_name;
  int64_t version = 0;
  // Schema 2: on a move into a gated target, what let it in: {"policy", "policy_version",
  // "fingerprint", "request" (null when no request did), "via"}. Null on every other event.
  json::value gate;
  // Not stored, not hashed: members added to this event's outbox payload only (the notifications'
  // extra facts, e.g. request.opened's "recipients"). Empty for most events, whose outbox payload
  // is the stored bytes.
  json::object outbox_extra;
};

// Fills actor and source fields from the request context.
AuditEvent EventFor(const RequestContext& ctx, std::string action);

// The approval requests `e` names, ascending, each once: the integer `request` of its target, of
// its gate (top level, or under `after`, as request.applied records it), or of its `after` or
// `before` (comments, break-glass). The audit log's side index holds these (migration 0017 reads
// the same members from the events stored before it).
std::vector<int64_t> ApprovalRequestIds(const AuditEvent& e);

// The event's JSON object (schema kAuditSchemaVersion), as stored, exported and hashed.
json::object AuditEventJson(const AuditEvent& e);

}  // namespace vouch

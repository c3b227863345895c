// Building audit events, shared by every service: an event named from the action catalogue
// (audit/actions.h) with the request's actor and source, an event about a model or one of its
// versions, and the snapshots that go into `before` and `after`. The bytes these make are the
// stored log's: change them only with a new schema version.
#pragma once

#include <cstdint>

#include "vouch/audit/actions.h"
#include "vouch/domain/audit_event.h"
#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"

namespace vouch::service {

// An event for `action` with the actor and source of `ctx`; target, before and after to fill.
AuditEvent NewEvent(const RequestContext& ctx, audit::Action action);

// An event about model `m` (version 0) or its version `version`: target
// {"type": "model", "model": NAME} or {"type": "model_version", "model": NAME, "version": N}, and
// the model's id, name and version for filtering.
AuditEvent ModelEvent(const RequestContext& ctx, audit::Action action, const Model& m,
                      int64_t version = 0);

// name, description, tags.
json::object ModelSnapshot(const Model& m);
// source, run_id, description, artifact_digest, status, stage, tags, metrics, params, and
// model_id, run_link and storage_location when set.
json::object VersionSnapshot(const ModelVersion& v);
// name, kind, display_name, email, is_admin, disabled (never a password or a token).
json::object PrincipalSnapshot(const Principal& p);
// {"type": "principal", "principal": NAME, "id": ID}.
json::object PrincipalTarget(const Principal& p);

}  // namespace vouch::service

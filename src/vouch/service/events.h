// Building audit events, shared by every service: an event named from the action catalogue
// (audit/actions.h) with the request's actor and source, an event about a model or one of its
// versions, and the snapshots that go into `before` and `after`. The bytes these make are the
// stored log's: change them only with a new schema version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

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

// The most a model's or a version's recorded state may take in canonical JSON: the model's
// ModelSnapshot, the version's VersionSnapshot with its aliases — what model.created and
// model.deleted, model_version.created and model_version.deleted carry whole. Each field has its
// own limit (domain/model.h); this one bounds how many there are. With both, every event fits one
// tlog-tiles entry (65,535 bytes) with room to spare (event_limits_test.cc holds the worst cases).
inline constexpr size_t kMaxRecordBytes = 32 * 1024;

// INVALID_ARGUMENT naming the model (the version) and the sizes when its state, as it would be
// after the change, takes more than kMaxRecordBytes. The caller checks before it records.
Status CheckModelRecord(const Model& m);
Status CheckVersionRecord(std::string_view model, const ModelVersion& v);
// A version's snapshot as model_version.deleted records it: VersionSnapshot with "aliases".
json::object VersionSnapshotWithAliases(const ModelVersion& v);

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

#include "vouch/store/postgres/postgres_tx.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

namespace vouch::store {
namespace {

// Adds the time from construction to Stop() (or destruction) to a counter, when there is one.
class WaitTimer {
 public:
  explicit WaitTimer(std::atomic<int64_t>* counter)
      : counter_(counter), started_(std::chrono::steady_clock::now()) {}
  ~WaitTimer() { Stop(); }
  void Stop() {
    if (counter_ == nullptr) return;
    *counter_ += std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started_)
                     .count();
    counter_ = nullptr;
  }

 private:
  std::atomic<int64_t>* counter_;
  std::chrono::steady_clock::time_point started_;
};

// Every parameter whose type PostgreSQL could not infer (IS NULL, = '') carries a cast.
constexpr char kFindModel[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version FROM models "
    "WHERE name = $1 AND deleted_ms IS NULL";
// In a write transaction: the row stays locked until commit, so concurrent changes to one model
// (the next version number above all) serialize on it.
constexpr char kFindModelForUpdate[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version FROM models "
    "WHERE name = $1 AND deleted_ms IS NULL FOR UPDATE";
constexpr char kListModels[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version FROM models "
    "WHERE deleted_ms IS NULL AND name > $1 ORDER BY name LIMIT $2";
constexpr char kInsertModel[] =
    "INSERT INTO models (name, description, created_ms, updated_ms, created_by, last_version) "
    "VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING RETURNING id";
// A rename onto a live name changes nothing (rather than failing the statement, which would abort
// the whole transaction); the caller then reports ALREADY_EXISTS.
constexpr char kUpdateModel[] =
    "UPDATE models SET name = $2, description = $3, updated_ms = $4, last_version = $5 "
    "WHERE id = $1 AND (deleted_ms IS NOT NULL OR NOT EXISTS "
    "(SELECT 1 FROM models o WHERE o.name = $2 AND o.deleted_ms IS NULL AND o.id <> $1))";
constexpr char kLiveNameTakenByOther[] =
    "SELECT 1 FROM models WHERE name = $2 AND deleted_ms IS NULL AND id <> $1";
constexpr char kDeleteModel[] = "UPDATE models SET deleted_ms = $2 WHERE id = $1";
constexpr char kModelTags[] = "SELECT key, value FROM model_tags WHERE model_id = $1";
constexpr char kSetModelTag[] =
    "INSERT INTO model_tags (model_id, key, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteModelTag[] = "DELETE FROM model_tags WHERE model_id = $1 AND key = $2";
constexpr char kLatestLiveVersion[] =
    "SELECT MAX(version) FROM model_versions WHERE model_id = $1 AND deleted_ms IS NULL";

constexpr char kFindVersion[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = $1 AND v.version = $2 AND v.deleted_ms IS NULL";
constexpr char kFindVersionForUpdate[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = $1 AND v.version = $2 AND v.deleted_ms IS NULL FOR UPDATE OF v";
constexpr char kListVersions[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = $1 AND v.version > $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version LIMIT $3";
constexpr char kVersionsInStage[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = $1 AND v.stage = $2 AND v.deleted_ms IS NULL ORDER BY v.version";
constexpr char kListAllVersions[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.id > $1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id LIMIT $2";
constexpr char kVersionsByRunId[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.run_id = $1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id";
// For each stage, the lowest and highest live version: two lookups on model_versions_stage
// (model_id, stage, version) per stage, in one round trip.
constexpr char kLatestPerStage[] =
    "SELECT s.stage, b.lowest, b.highest "
    "FROM (VALUES ('None'), ('Staging'), ('Production'), ('Archived')) AS s(stage) "
    "CROSS JOIN LATERAL (SELECT MIN(version) AS lowest, MAX(version) AS highest "
    "  FROM model_versions WHERE model_id = $1 AND stage = s.stage AND deleted_ms IS NULL) b "
    "WHERE b.highest IS NOT NULL ORDER BY b.lowest";
constexpr char kModelIdsWithTag[] =
    "SELECT t.model_id FROM model_tags t JOIN models m ON m.id = t.model_id "
    "WHERE t.key = $1 AND t.value = $2 AND m.deleted_ms IS NULL";
constexpr char kVersionIdsWithTag[] =
    "SELECT t.version_id FROM version_tags t JOIN model_versions v ON v.id = t.version_id "
    "WHERE t.key = $1 AND t.value = $2 AND v.deleted_ms IS NULL";
constexpr char kModelAliases[] = "SELECT alias, version FROM model_aliases WHERE model_id = $1";
constexpr char kInsertVersion[] =
    "INSERT INTO model_versions (model_id, version, source, run_id, model_ref, description, "
    "artifact_digest, status, stage, created_ms, updated_ms, created_by, storage_location, "
    "run_link) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (model_id, version) DO NOTHING RETURNING id";
constexpr char kUpdateVersion[] =
    "UPDATE model_versions SET description = $2, stage = $3, status = $4, updated_ms = $5 "
    "WHERE id = $1";
constexpr char kDeleteVersion[] = "UPDATE model_versions SET deleted_ms = $2 WHERE id = $1";
constexpr char kVersionTags[] = "SELECT key, value FROM version_tags WHERE version_id = $1";
constexpr char kVersionMetrics[] = "SELECT key, value FROM version_metrics WHERE version_id = $1";
constexpr char kVersionParams[] = "SELECT key, value FROM version_params WHERE version_id = $1";
constexpr char kVersionAliases[] =
    "SELECT alias FROM model_aliases WHERE model_id = $1 AND version = $2 ORDER BY alias";
// The same for many versions, whose ids $1 lists as an array literal ("{1,2,3}").
constexpr char kVersionTagsOf[] =
    "SELECT version_id, key, value FROM version_tags WHERE version_id = ANY($1::bigint[])";
constexpr char kVersionMetricsOf[] =
    "SELECT version_id, key, value FROM version_metrics WHERE version_id = ANY($1::bigint[])";
constexpr char kVersionParamsOf[] =
    "SELECT version_id, key, value FROM version_params WHERE version_id = ANY($1::bigint[])";
constexpr char kVersionAliasesOf[] =
    "SELECT v.id, a.alias FROM model_aliases a "
    "JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version "
    "WHERE v.id = ANY($1::bigint[]) ORDER BY a.alias";
constexpr char kSetVersionTag[] =
    "INSERT INTO version_tags (version_id, key, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionTag[] = "DELETE FROM version_tags WHERE version_id = $1 AND key = $2";
constexpr char kSetVersionMetric[] =
    "INSERT INTO version_metrics (version_id, key, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionMetric[] =
    "DELETE FROM version_metrics WHERE version_id = $1 AND key = $2";
constexpr char kSetVersionParam[] =
    "INSERT INTO version_params (version_id, key, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionParam[] =
    "DELETE FROM version_params WHERE version_id = $1 AND key = $2";

constexpr char kFindAlias[] =
    "SELECT version FROM model_aliases WHERE model_id = $1 AND alias = $2";
constexpr char kSetAlias[] =
    "INSERT INTO model_aliases (model_id, alias, version) VALUES ($1, $2, $3) "
    "ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version";
constexpr char kDeleteAlias[] = "DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2";
constexpr char kDeleteAliasesOf[] =
    "DELETE FROM model_aliases WHERE model_id = $1 AND version = $2 RETURNING alias";

constexpr char kCountPrincipals[] = "SELECT COUNT(*) FROM principals";
constexpr char kInsertPrincipal[] =
    "INSERT INTO principals (name, kind, display_name, email, is_admin, disabled, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING "
    "RETURNING id";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (principal_id, name, token_hash, scope, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) DO NOTHING RETURNING id";
constexpr char kFindSecret[] =
    "SELECT name, nonce, ciphertext, created_ms FROM secrets WHERE name = $1";
constexpr char kInsertSecret[] =
    "INSERT INTO secrets (name, nonce, ciphertext, created_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (name) DO NOTHING";
// Idempotency keys (issue 10): the same SQL on both stores apart from placeholders.
constexpr char kInsertIdempotencyKey[] =
    "INSERT INTO idempotency_keys (principal_id, key, request, body_sha256, state, status, "
    "content_type, response_nonce, response_body, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (principal_id, key) DO NOTHING";
constexpr char kFindIdempotencyKey[] =
    "SELECT principal_id, key, request, body_sha256, state, status, content_type, "
    "response_nonce, response_body, created_ms, expires_ms FROM idempotency_keys "
    "WHERE principal_id = $1 AND key = $2";
constexpr char kSetIdempotencyState[] =
    "UPDATE idempotency_keys SET state = $4 "
    "WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kCompleteIdempotencyKey[] =
    "UPDATE idempotency_keys SET state = 'done', status = $4, content_type = $5, "
    "response_nonce = $6, response_body = $7 "
    "WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kDeleteIdempotencyKey[] =
    "DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kPruneIdempotencyKeys[] = "DELETE FROM idempotency_keys WHERE expires_ms <= $1";

constexpr char kFindToken[] =
    "SELECT t.id, t.principal_id, t.name, t.token_hash, t.scope, t.created_ms, t.expires_ms, "
    "t.revoked_ms, t.last_used_ms, "
    "p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM tokens t JOIN principals p ON p.id = t.principal_id "
    "WHERE t.token_hash = $1 AND p.deleted_ms IS NULL";

// Principals: the columns ReadPrincipal reads, in its order. A deleted principal reads as disabled.
constexpr char kFindPrincipal[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE name = $1 AND deleted_ms IS NULL";
constexpr char kFindPrincipalById[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, "
    "CASE WHEN deleted_ms IS NULL THEN disabled ELSE 1 END FROM principals WHERE id = $1";
// In a write transaction: the caller writes back the whole row it read (UpdatePrincipal), so the
// row stays locked until commit; otherwise a concurrent change (disabling it) could be undone.
constexpr char kFindPrincipalForUpdate[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE name = $1 AND deleted_ms IS NULL FOR UPDATE";
constexpr char kFindPrincipalByIdForUpdate[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, "
    "CASE WHEN deleted_ms IS NULL THEN disabled ELSE 1 END FROM principals WHERE id = $1 "
    "FOR UPDATE";
constexpr char kListPrincipals[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE deleted_ms IS NULL AND name > $1 ORDER BY name LIMIT $2";
constexpr char kUpdatePrincipal[] =
    "UPDATE principals SET display_name = $2, email = $3, is_admin = $4, disabled = $5 "
    "WHERE id = $1";
constexpr char kDeletePrincipal[] =
    "UPDATE principals SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL";
constexpr char kCountActiveAdmins[] =
    "SELECT COUNT(*) FROM principals "
    "WHERE deleted_ms IS NULL AND disabled = 0 AND is_admin <> 0";
// In a write transaction, taken before counting and held until commit, so that two servers that
// each demote, disable or delete a different admin after counting two cannot both go ahead (see
// the class comment). The key follows those of postgres_store.cc ("vouch" in ASCII, + 2).
constexpr char kLockAdminCount[] = "SELECT pg_advisory_xact_lock(2242052021)";
constexpr char kPasswordHash[] = "SELECT password_hash FROM principals WHERE id = $1";
constexpr char kSetPasswordHash[] = "UPDATE principals SET password_hash = $2 WHERE id = $1";

// Tokens: the columns ReadToken reads, in its order.
constexpr char kListAllTokens[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens ORDER BY created_ms DESC, id DESC";
constexpr char kListTokensOf[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE principal_id = $1 ORDER BY created_ms DESC, id DESC";
constexpr char kFindTokenById[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE id = $1";
constexpr char kRevokeToken[] =
    "UPDATE tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL";
constexpr char kRevokeTokensOf[] =
    "UPDATE tokens SET revoked_ms = $2 WHERE principal_id = $1 AND revoked_ms IS NULL";
// Never moves backwards: a slow request that touches late does not hide a later use.
constexpr char kTouchToken[] =
    "UPDATE tokens SET last_used_ms = $2 "
    "WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2)";

// Groups. A live name clash inserts nothing (rather than failing the statement, which would abort
// the whole transaction); the caller reports ALREADY_EXISTS.
constexpr char kInsertGroup[] =
    "INSERT INTO principal_groups (name, description, created_ms) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING RETURNING id";
constexpr char kFindGroup[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE name = $1 AND deleted_ms IS NULL";
constexpr char kListGroups[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE deleted_ms IS NULL ORDER BY name";
constexpr char kDeleteGroup[] =
    "UPDATE principal_groups SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL";
constexpr char kAddGroupMember[] =
    "INSERT INTO group_members (group_id, principal_id) VALUES ($1, $2) "
    "ON CONFLICT (group_id, principal_id) DO NOTHING";
constexpr char kRemoveGroupMember[] =
    "DELETE FROM group_members WHERE group_id = $1 AND principal_id = $2";
constexpr char kGroupMembers[] =
    "SELECT p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM group_members gm JOIN principals p ON p.id = gm.principal_id "
    "WHERE gm.group_id = $1 AND p.deleted_ms IS NULL ORDER BY p.name";
constexpr char kGroupsOf[] =
    "SELECT g.id, g.name, g.description, g.created_ms "
    "FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL ORDER BY g.name";

// Grants: a principal's own are (principal_id, group_id 0); its groups' are those whose group_id
// is one of its live groups.
constexpr char kGrantRole[] =
    "INSERT INTO role_grants (role, principal_id, group_id) VALUES ($1, $2, $3) "
    "ON CONFLICT (role, principal_id, group_id) DO NOTHING";
constexpr char kRevokeRole[] =
    "DELETE FROM role_grants WHERE role = $1 AND principal_id = $2 AND group_id = $3";
constexpr char kListRoleGrants[] =
    "SELECT role, principal_id, group_id FROM role_grants ORDER BY role, group_id, principal_id";
constexpr char kEffectiveRoles[] =
    "SELECT DISTINCT role FROM role_grants "
    "WHERE (group_id = 0 AND principal_id = $1) OR group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL) "
    "ORDER BY role";
constexpr char kSetModelPermission[] =
    "INSERT INTO model_permissions (model_id, principal_id, group_id, permission) "
    "VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (model_id, principal_id, group_id) DO UPDATE SET permission = excluded.permission";
constexpr char kDeleteModelPermission[] =
    "DELETE FROM model_permissions WHERE model_id = $1 AND principal_id = $2 AND group_id = $3";
constexpr char kModelPermissions[] =
    "SELECT model_id, principal_id, group_id, permission FROM model_permissions "
    "WHERE model_id = $1 ORDER BY group_id, principal_id";
constexpr char kPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE m.deleted_ms IS NULL AND ((mp.group_id = 0 AND mp.principal_id = $1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.model_id, mp.group_id, mp.principal_id";
constexpr char kModelPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE mp.model_id = $2 AND m.deleted_ms IS NULL "
    "AND ((mp.group_id = 0 AND mp.principal_id = $1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.group_id, mp.principal_id";
constexpr char kDeleteRoleGrantsOf[] =
    "DELETE FROM role_grants WHERE principal_id = $1 AND group_id = $2";
constexpr char kDeleteModelPermissionsOf[] =
    "DELETE FROM model_permissions WHERE principal_id = $1 AND group_id = $2";
constexpr char kDeleteMembershipsOf[] = "DELETE FROM group_members WHERE principal_id = $1";
constexpr char kDeleteMembersOf[] = "DELETE FROM group_members WHERE group_id = $1";

constexpr char kInsertSession[] =
    "INSERT INTO web_sessions (id_hash, principal_id, csrf_hash, created_ms, expires_ms, "
    "last_seen_ms, revoked_ms, address, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (id_hash) DO NOTHING";
constexpr char kFindSession[] =
    "SELECT id_hash, principal_id, csrf_hash, created_ms, expires_ms, last_seen_ms, revoked_ms, "
    "address, user_agent FROM web_sessions WHERE id_hash = $1";
constexpr char kRevokeSession[] =
    "UPDATE web_sessions SET revoked_ms = $2 WHERE id_hash = $1 AND revoked_ms IS NULL";

// Takes the next number and holds audit_head's row lock until commit: appends from every server
// queue here, so numbers are handed out in commit order, without gaps.
constexpr char kTakeAuditSeq[] =
    "UPDATE audit_head SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1";
constexpr char kGiveBackAuditSeq[] =
    "UPDATE audit_head SET next_seq = next_seq - 1 WHERE id = 1 AND next_seq = $1 + 1";
constexpr char kInsertAudit[] =
    "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, model_id, model_name, "
    "version, outcome, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
constexpr char kAuditHead[] = "SELECT next_seq - 1 FROM audit_head WHERE id = 1";
// One statement for every filter: each condition is off when its parameter is empty/zero/null.
// The model filter matches the name recorded in the event, or the live model of that name (so a
// renamed model keeps its history).
constexpr char kListAudit[] =
    "SELECT seq, body FROM audit_events WHERE seq > $1::bigint "
    "AND ($2::text = '' OR model_name = $2::text OR model_id = "
    "  (SELECT id FROM models WHERE name = $2::text AND deleted_ms IS NULL)) "
    "AND ($3::bigint = 0 OR version = $3::bigint) AND ($4::text = '' OR actor_name = $4::text) "
    "AND ($5::text = '' OR action = $5::text) AND ($6::bigint IS NULL OR time_ms >= $6::bigint) "
    "AND ($7::bigint IS NULL OR time_ms <= $7::bigint) "
    "AND ($9::bigint = 0 OR model_id = $9::bigint) ORDER BY seq LIMIT $8::bigint";

constexpr char kEnqueueOutbox[] =
    "INSERT INTO outbox (event_seq, topic, payload, created_ms, next_attempt_ms) "
    "VALUES ($1, $2, $3, $4, $4)";
constexpr char kCountPendingOutbox[] = "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL";

Model ReadModelRow(const PgRows& r, int i) {
  Model m;
  m.id = r.Int(i, 0);
  m.name = r.Text(i, 1);
  m.description = r.Text(i, 2);
  m.created_ms = r.Int(i, 3);
  m.updated_ms = r.Int(i, 4);
  m.created_by = r.Text(i, 5);
  m.last_version = r.Int(i, 6);
  return m;
}

Result<StringMap> ReadStringMap(PgConn& c, const char* sql, int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c.Query(sql, PgParams().Add(id)));
  StringMap out;
  for (int i = 0; i < r.size(); ++i) out.emplace(r.Text(i, 0), r.Text(i, 1));
  return out;
}

Result<std::vector<ModelVersion>> ReadVersions(const PgRows& r) {
  std::vector<ModelVersion> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    ModelVersion v;
    v.id = r.Int(i, 0);
    v.model_id = r.Int(i, 1);
    v.model_name = r.Text(i, 2);
    v.version = r.Int(i, 3);
    v.source = r.Text(i, 4);
    v.run_id = r.Text(i, 5);
    v.model_ref = r.Text(i, 6);
    v.description = r.Text(i, 7);
    v.artifact_digest = r.Text(i, 8);
    v.status = r.Text(i, 9);
    auto stage = ParseStage(r.Text(i, 10));
    if (!stage.ok()) return Internal("stored stage is unknown: " + r.Text(i, 10));
    v.stage = *stage;
    v.created_ms = r.Int(i, 11);
    v.updated_ms = r.Int(i, 12);
    v.created_by = r.Text(i, 13);
    v.storage_location = r.Text(i, 14);
    v.run_link = r.Text(i, 15);
    out.push_back(std::move(v));
  }
  return out;
}

// Columns id, name, kind, display_name, email, created_ms, is_admin, disabled from `col` on.
Result<Principal> ReadPrincipal(const PgRows& r, int i, int col) {
  Principal p;
  p.id = r.Int(i, col);
  p.name = r.Text(i, col + 1);
  std::string kind = r.Text(i, col + 2);
  if (kind == PrincipalKindName(PrincipalKind::kUser)) {
    p.kind = PrincipalKind::kUser;
  } else if (kind == PrincipalKindName(PrincipalKind::kServiceAccount)) {
    p.kind = PrincipalKind::kServiceAccount;
  } else {
    return Internal("stored principal kind is unknown: " + kind);
  }
  p.display_name = r.Text(i, col + 3);
  p.email = r.Text(i, col + 4);
  p.created_ms = r.Int(i, col + 5);
  p.is_admin = r.Int(i, col + 6) != 0;
  p.disabled = r.Int(i, col + 7) != 0;
  return p;
}

Result<std::vector<Principal>> ReadPrincipals(const PgRows& r) {
  std::vector<Principal> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    VOUCH_ASSIGN_OR_RETURN(Principal p, ReadPrincipal(r, i, 0));
    out.push_back(std::move(p));
  }
  return out;
}

// Columns id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms,
// last_used_ms.
TokenRecord ReadToken(const PgRows& r, int i) {
  TokenRecord t;
  t.id = r.Int(i, 0);
  t.principal_id = r.Int(i, 1);
  t.name = r.Text(i, 2);
  t.token_hash = r.Text(i, 3);
  t.scope = r.Text(i, 4);
  t.created_ms = r.Int(i, 5);
  t.expires_ms = r.OptionalInt(i, 6);
  t.revoked_ms = r.OptionalInt(i, 7);
  t.last_used_ms = r.OptionalInt(i, 8);
  return t;
}

std::vector<Group> ReadGroups(const PgRows& r) {
  std::vector<Group> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    out.push_back(Group{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3)});
  }
  return out;
}

// Columns model_id, principal_id, group_id, permission (stored by name).
Result<std::vector<ModelPermission>> ReadPermissions(const PgRows& r) {
  std::vector<ModelPermission> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    std::string name = r.Text(i, 3);
    Result<Permission> permission = ParsePermission(name);
    if (!permission.ok()) return Internal("stored permission is unknown: " + name);
    out.push_back(ModelPermission{r.Int(i, 0), Grantee{r.Int(i, 1), r.Int(i, 2)}, *permission});
  }
  return out;
}

}  // namespace

Status PostgresTx::Run(const char* sql, const PgParams& params) {
  return c_.Query(sql, params).status();
}

Result<int64_t> PostgresTx::RunCounted(const char* sql, const PgParams& params) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, params));
  return r.affected();
}

Result<int64_t> PostgresTx::InsertReturningId(const char* sql, const PgParams& params,
                                              std::string_view what) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, params));
  if (r.empty()) return AlreadyExists(fmt::format("{} already exists", what));
  return r.Int(0, 0);
}

Status PostgresTx::FillModel(Model& m) {
  VOUCH_ASSIGN_OR_RETURN(m.tags, ReadStringMap(c_, kModelTags, m.id));
  {
    VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kModelAliases, PgParams().Add(m.id)));
    m.aliases.clear();
    for (int i = 0; i < r.size(); ++i) m.aliases.emplace(r.Text(i, 0), r.Int(i, 1));
  }
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kLatestLiveVersion, PgParams().Add(m.id)));
  m.latest_live_version = r.empty() ? std::nullopt : r.OptionalInt(0, 0);
  return OkStatus();
}

Result<std::optional<Model>> PostgresTx::FindModelRow(std::string_view name) {
  WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(
      PgRows r, c_.Query(for_write_ ? kFindModelForUpdate : kFindModel, PgParams().Add(name)));
  timer.Stop();
  std::optional<Model> m;
  if (r.empty()) return m;
  m = ReadModelRow(r, 0);
  return m;
}

Result<std::optional<Model>> PostgresTx::FindModel(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, FindModelRow(name));
  if (m) VOUCH_TRY(FillModel(*m));
  return m;
}

Status PostgresTx::InsertModel(Model& m) {
  PgParams p;
  p.Add(m.name).Add(m.description).Add(m.created_ms).Add(m.updated_ms).Add(m.created_by);
  p.Add(m.last_version);
  VOUCH_ASSIGN_OR_RETURN(m.id, InsertReturningId(kInsertModel, p, fmt::format("model {}", m.name)));
  for (const auto& [k, v] : m.tags) VOUCH_TRY(SetModelTag(m.id, k, v));
  return OkStatus();
}

Status PostgresTx::UpdateModel(const Model& m) {
  PgParams p;
  p.Add(m.id).Add(m.name).Add(m.description).Add(m.updated_ms).Add(m.last_version);
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kUpdateModel, p));
  if (r.affected() > 0) return OkStatus();
  VOUCH_ASSIGN_OR_RETURN(PgRows taken,
                         c_.Query(kLiveNameTakenByOther, PgParams().Add(m.id).Add(m.name)));
  if (!taken.empty()) return AlreadyExists(fmt::format("model {} already exists", m.name));
  return OkStatus();
}

Status PostgresTx::MarkModelDeleted(int64_t model_id, TimeMs when) {
  return Run(kDeleteModel, PgParams().Add(model_id).Add(when));
}

Result<std::vector<Model>> PostgresTx::ListModels(std::string_view after_name, int limit) {
  return QueryModels(kListModels, PgParams().Add(after_name).Add(limit), true);
}

Status PostgresTx::SetModelTag(int64_t model_id, std::string_view key, std::string_view value) {
  return Run(kSetModelTag, PgParams().Add(model_id).Add(key).Add(value));
}

Status PostgresTx::DeleteModelTag(int64_t model_id, std::string_view key) {
  return Run(kDeleteModelTag, PgParams().Add(model_id).Add(key));
}

Status PostgresTx::FillVersion(ModelVersion& v) {
  VOUCH_ASSIGN_OR_RETURN(v.tags, ReadStringMap(c_, kVersionTags, v.id));
  VOUCH_ASSIGN_OR_RETURN(v.params, ReadStringMap(c_, kVersionParams, v.id));
  {
    VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kVersionMetrics, PgParams().Add(v.id)));
    v.metrics.clear();
    for (int i = 0; i < r.size(); ++i) v.metrics.emplace(r.Text(i, 0), r.Double(i, 1));
  }
  VOUCH_ASSIGN_OR_RETURN(PgRows r,
                         c_.Query(kVersionAliases, PgParams().Add(v.model_id).Add(v.version)));
  v.aliases.clear();
  for (int i = 0; i < r.size(); ++i) v.aliases.push_back(r.Text(i, 0));
  return OkStatus();
}

Status PostgresTx::LoadVersionDetailsOf(std::span<ModelVersion> versions) {
  if (versions.empty()) return OkStatus();
  std::map<int64_t, ModelVersion*> by_id;
  std::string ids = "{";
  for (auto& v : versions) {
    v.tags.clear();
    v.params.clear();
    v.metrics.clear();
    v.aliases.clear();
    by_id[v.id] = &v;
    if (ids.size() > 1) ids.push_back(',');
    ids += std::to_string(v.id);
  }
  ids.push_back('}');
  // Runs `sql` over the ids and hands each row, with its version, to `use`.
  auto each = [&](const char* sql,
                  const std::function<void(ModelVersion&, const PgRows&, int)>& use) -> Status {
    VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, PgParams().Add(ids)));
    for (int i = 0; i < r.size(); ++i) {
      auto it = by_id.find(r.Int(i, 0));
      if (it != by_id.end()) use(*it->second, r, i);
    }
    return OkStatus();
  };
  VOUCH_TRY(each(kVersionTagsOf, [](ModelVersion& v, const PgRows& r, int i) {
    v.tags.emplace(r.Text(i, 1), r.Text(i, 2));
  }));
  VOUCH_TRY(each(kVersionParamsOf, [](ModelVersion& v, const PgRows& r, int i) {
    v.params.emplace(r.Text(i, 1), r.Text(i, 2));
  }));
  VOUCH_TRY(each(kVersionMetricsOf, [](ModelVersion& v, const PgRows& r, int i) {
    v.metrics.emplace(r.Text(i, 1), r.Double(i, 2));
  }));
  return each(kVersionAliasesOf,
              [](ModelVersion& v, const PgRows& r, int i) { v.aliases.push_back(r.Text(i, 1)); });
}

Result<std::vector<ModelVersion>> PostgresTx::QueryVersions(const char* sql, const PgParams& params,
                                                            bool details) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, params));
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> out, ReadVersions(r));
  if (details) {
    for (auto& v : out) VOUCH_TRY(FillVersion(v));
  }
  return out;
}

Result<std::vector<Model>> PostgresTx::QueryModels(const char* sql, const PgParams& params,
                                                   bool details) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, params));
  std::vector<Model> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadModelRow(r, i));
  if (details) {
    for (auto& m : out) VOUCH_TRY(FillModel(m));
  }
  return out;
}

Result<std::optional<ModelVersion>> PostgresTx::FindVersion(int64_t model_id, int64_t version) {
  WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> found,
                         QueryVersions(for_write_ ? kFindVersionForUpdate : kFindVersion,
                                       PgParams().Add(model_id).Add(version)));
  if (found.empty()) return std::optional<ModelVersion>();
  return std::optional<ModelVersion>(std::move(found[0]));
}

Status PostgresTx::InsertVersion(ModelVersion& v) {
  PgParams p;
  p.Add(v.model_id).Add(v.version).Add(v.source).Add(v.run_id).Add(v.model_ref);
  p.Add(v.description).Add(v.artifact_digest).Add(v.status).Add(StageName(v.stage));
  p.Add(v.created_ms).Add(v.updated_ms).Add(v.created_by).Add(v.storage_location).Add(v.run_link);
  VOUCH_ASSIGN_OR_RETURN(
      v.id, InsertReturningId(kInsertVersion, p,
                              fmt::format("version {} of model {}", v.version, v.model_id)));
  for (const auto& [k, val] : v.tags) VOUCH_TRY(SetVersionTag(v.id, k, val));
  for (const auto& [k, val] : v.metrics) VOUCH_TRY(SetVersionMetric(v.id, k, val));
  for (const auto& [k, val] : v.params) VOUCH_TRY(SetVersionParam(v.id, k, val));
  return OkStatus();
}

Status PostgresTx::UpdateVersion(const ModelVersion& v) {
  PgParams p;
  p.Add(v.id).Add(v.description).Add(StageName(v.stage)).Add(v.status).Add(v.updated_ms);
  return Run(kUpdateVersion, p);
}

Status PostgresTx::MarkVersionDeleted(int64_t version_id, TimeMs when) {
  return Run(kDeleteVersion, PgParams().Add(version_id).Add(when));
}

Result<std::vector<ModelVersion>> PostgresTx::ListVersions(int64_t model_id, int64_t after_version,
                                                           int limit) {
  return QueryVersions(kListVersions, PgParams().Add(model_id).Add(after_version).Add(limit));
}

Result<std::vector<ModelVersion>> PostgresTx::VersionsInStage(int64_t model_id, Stage stage) {
  return QueryVersions(kVersionsInStage, PgParams().Add(model_id).Add(StageName(stage)));
}

Result<std::vector<int64_t>> PostgresTx::QueryIds(const char* sql, std::string_view key,
                                                  std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(sql, PgParams().Add(key).Add(value)));
  std::vector<int64_t> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
  return out;
}

Result<std::vector<int64_t>> PostgresTx::ModelIdsWithTag(std::string_view key,
                                                         std::string_view value) {
  return QueryIds(kModelIdsWithTag, key, value);
}

Result<std::vector<int64_t>> PostgresTx::VersionIdsWithTag(std::string_view key,
                                                           std::string_view value) {
  return QueryIds(kVersionIdsWithTag, key, value);
}

Result<std::vector<Model>> PostgresTx::ListModelRows(std::string_view after_name, int limit) {
  return QueryModels(kListModels, PgParams().Add(after_name).Add(limit), false);
}

Result<std::vector<ModelVersion>> PostgresTx::ListVersionRows(int64_t model_id,
                                                              int64_t after_version, int limit) {
  return QueryVersions(kListVersions, PgParams().Add(model_id).Add(after_version).Add(limit),
                       false);
}

Result<std::vector<ModelVersion>> PostgresTx::ListAllVersionRows(int64_t after_id, int limit) {
  return QueryVersions(kListAllVersions, PgParams().Add(after_id).Add(limit), false);
}

Result<std::vector<ModelVersion>> PostgresTx::VersionRowsByRunId(std::string_view run_id) {
  return QueryVersions(kVersionsByRunId, PgParams().Add(run_id), false);
}

Result<std::vector<ModelVersion>> PostgresTx::ListAllVersions(int64_t after_id, int limit) {
  return QueryVersions(kListAllVersions, PgParams().Add(after_id).Add(limit));
}

Result<std::vector<ModelVersion>> PostgresTx::VersionsByRunId(std::string_view run_id) {
  return QueryVersions(kVersionsByRunId, PgParams().Add(run_id));
}

Result<std::vector<std::pair<Stage, int64_t>>> PostgresTx::LatestVersionPerStage(int64_t model_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kLatestPerStage, PgParams().Add(model_id)));
  std::vector<std::pair<Stage, int64_t>> out;
  for (int i = 0; i < r.size(); ++i) {
    auto stage = ParseStage(r.Text(i, 0));
    if (!stage.ok()) return Internal("stored stage is unknown: " + r.Text(i, 0));
    out.emplace_back(*stage, r.Int(i, 2));
  }
  return out;
}

Status PostgresTx::SetVersionTag(int64_t version_id, std::string_view key, std::string_view value) {
  return Run(kSetVersionTag, PgParams().Add(version_id).Add(key).Add(value));
}

Status PostgresTx::DeleteVersionTag(int64_t version_id, std::string_view key) {
  return Run(kDeleteVersionTag, PgParams().Add(version_id).Add(key));
}

Status PostgresTx::SetVersionMetric(int64_t version_id, std::string_view key, double value) {
  return Run(kSetVersionMetric, PgParams().Add(version_id).Add(key).Add(value));
}

Status PostgresTx::DeleteVersionMetric(int64_t version_id, std::string_view key) {
  return Run(kDeleteVersionMetric, PgParams().Add(version_id).Add(key));
}

Status PostgresTx::SetVersionParam(int64_t version_id, std::string_view key,
                                   std::string_view value) {
  return Run(kSetVersionParam, PgParams().Add(version_id).Add(key).Add(value));
}

Status PostgresTx::DeleteVersionParam(int64_t version_id, std::string_view key) {
  return Run(kDeleteVersionParam, PgParams().Add(version_id).Add(key));
}

Result<std::optional<int64_t>> PostgresTx::FindAlias(int64_t model_id, std::string_view alias) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindAlias, PgParams().Add(model_id).Add(alias)));
  return r.empty() ? std::nullopt : std::optional<int64_t>(r.Int(0, 0));
}

Status PostgresTx::SetAlias(int64_t model_id, std::string_view alias, int64_t version) {
  return Run(kSetAlias, PgParams().Add(model_id).Add(alias).Add(version));
}

Status PostgresTx::DeleteAlias(int64_t model_id, std::string_view alias) {
  return Run(kDeleteAlias, PgParams().Add(model_id).Add(alias));
}

Result<std::vector<std::string>> PostgresTx::DeleteAliasesOf(int64_t model_id, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r,
                         c_.Query(kDeleteAliasesOf, PgParams().Add(model_id).Add(version)));
  std::vector<std::string> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
  std::sort(out.begin(), out.end());
  return out;
}

Result<int64_t> PostgresTx::CountPrincipals() {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kCountPrincipals));
  return r.empty() ? 0 : r.Int(0, 0);
}

Status PostgresTx::InsertPrincipal(Principal& p, TimeMs created_ms) {
  PgParams params;
  params.Add(p.name).Add(PrincipalKindName(p.kind)).Add(p.display_name).Add(p.email);
  params.Add(int64_t{p.is_admin}).Add(int64_t{p.disabled}).Add(created_ms);
  VOUCH_ASSIGN_OR_RETURN(
      p.id, InsertReturningId(kInsertPrincipal, params, fmt::format("principal {}", p.name)));
  p.created_ms = created_ms;
  return OkStatus();
}

Status PostgresTx::InsertToken(TokenRecord& t) {
  PgParams p;
  p.Add(t.principal_id).Add(t.name).Add(t.token_hash).Add(t.scope).Add(t.created_ms);
  p.Add(t.expires_ms);
  VOUCH_ASSIGN_OR_RETURN(t.id, InsertReturningId(kInsertToken, p, "a token with that hash"));
  return OkStatus();
}

Result<std::optional<std::pair<TokenRecord, Principal>>> PostgresTx::FindToken(
    std::string_view token_hash) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindToken, PgParams().Add(token_hash)));
  if (r.empty()) return std::optional<std::pair<TokenRecord, Principal>>();
  TokenRecord t = ReadToken(r, 0);
  VOUCH_ASSIGN_OR_RETURN(Principal p, ReadPrincipal(r, 0, 9));
  return std::optional<std::pair<TokenRecord, Principal>>(std::pair(std::move(t), std::move(p)));
}

Result<std::optional<Principal>> PostgresTx::FindPrincipal(std::string_view name) {
  WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(for_write_ ? kFindPrincipalForUpdate : kFindPrincipal,
                                            PgParams().Add(name)));
  timer.Stop();
  VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> found, ReadPrincipals(r));
  if (found.empty()) return std::optional<Principal>();
  return std::optional<Principal>(std::move(found[0]));
}

Result<std::optional<Principal>> PostgresTx::FindPrincipalById(int64_t id) {
  WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(
      PgRows r,
      c_.Query(for_write_ ? kFindPrincipalByIdForUpdate : kFindPrincipalById, PgParams().Add(id)));
  timer.Stop();
  VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> found, ReadPrincipals(r));
  if (found.empty()) return std::optional<Principal>();
  return std::optional<Principal>(std::move(found[0]));
}

Result<std::vector<Principal>> PostgresTx::ListPrincipals(std::string_view after_name, int limit) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r,
                         c_.Query(kListPrincipals, PgParams().Add(after_name).Add(limit)));
  return ReadPrincipals(r);
}

Status PostgresTx::UpdatePrincipal(const Principal& p) {
  PgParams params;
  params.Add(p.id).Add(p.display_name).Add(p.email).Add(int64_t{p.is_admin});
  params.Add(int64_t{p.disabled});
  return Run(kUpdatePrincipal, params);
}

Status PostgresTx::MarkPrincipalDeleted(int64_t principal_id, TimeMs when) {
  return Run(kDeletePrincipal, PgParams().Add(principal_id).Add(when));
}

Result<int64_t> PostgresTx::CountActiveAdmins() {
  if (for_write_) {
    // A statement of its own: READ COMMITTED takes the count's snapshot after the lock is held, so
    // it sees what the previous holder committed.
    WaitTimer timer(RowLockCounter());
    VOUCH_TRY(Run(kLockAdminCount, {}));
  }
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kCountActiveAdmins));
  return r.empty() ? 0 : r.Int(0, 0);
}

Result<std::string> PostgresTx::PasswordHash(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kPasswordHash, PgParams().Add(principal_id)));
  if (r.empty()) return NotFound(fmt::format("principal {} not found", principal_id));
  return r.Text(0, 0);
}

Status PostgresTx::SetPasswordHash(int64_t principal_id, std::string_view hash) {
  VOUCH_ASSIGN_OR_RETURN(int64_t changed,
                         RunCounted(kSetPasswordHash, PgParams().Add(principal_id).Add(hash)));
  if (changed == 0) return NotFound(fmt::format("principal {} not found", principal_id));
  return OkStatus();
}

Result<std::vector<TokenRecord>> PostgresTx::ListTokens(int64_t principal_id) {
  PgParams params;
  if (principal_id != 0) params.Add(principal_id);
  VOUCH_ASSIGN_OR_RETURN(PgRows r,
                         c_.Query(principal_id == 0 ? kListAllTokens : kListTokensOf, params));
  std::vector<TokenRecord> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadToken(r, i));
  return out;
}

Result<std::optional<TokenRecord>> PostgresTx::FindTokenById(int64_t token_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindTokenById, PgParams().Add(token_id)));
  if (r.empty()) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(ReadToken(r, 0));
}

Result<int64_t> PostgresTx::RevokeToken(int64_t token_id, TimeMs when) {
  return RunCounted(kRevokeToken, PgParams().Add(token_id).Add(when));
}

Result<int64_t> PostgresTx::RevokeTokensOf(int64_t principal_id, TimeMs when) {
  return RunCounted(kRevokeTokensOf, PgParams().Add(principal_id).Add(when));
}

Status PostgresTx::TouchToken(int64_t token_id, TimeMs when) {
  return Run(kTouchToken, PgParams().Add(token_id).Add(when));
}

Status PostgresTx::InsertGroup(Group& g) {
  PgParams p;
  p.Add(g.name).Add(g.description).Add(g.created_ms);
  VOUCH_ASSIGN_OR_RETURN(g.id, InsertReturningId(kInsertGroup, p, fmt::format("group {}", g.name)));
  return OkStatus();
}

Result<std::optional<Group>> PostgresTx::FindGroup(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindGroup, PgParams().Add(name)));
  std::vector<Group> found = ReadGroups(r);
  if (found.empty()) return std::optional<Group>();
  return std::optional<Group>(std::move(found[0]));
}

Result<std::vector<Group>> PostgresTx::ListGroups() {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kListGroups));
  return ReadGroups(r);
}

Status PostgresTx::MarkGroupDeleted(int64_t group_id, TimeMs when) {
  return Run(kDeleteGroup, PgParams().Add(group_id).Add(when));
}

Result<bool> PostgresTx::AddGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t added,
                         RunCounted(kAddGroupMember, PgParams().Add(group_id).Add(principal_id)));
  return added > 0;
}

Result<bool> PostgresTx::RemoveGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t removed, RunCounted(kRemoveGroupMember, PgParams().Add(group_id).Add(principal_id)));
  return removed > 0;
}

Result<std::vector<Principal>> PostgresTx::GroupMembers(int64_t group_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kGroupMembers, PgParams().Add(group_id)));
  return ReadPrincipals(r);
}

Result<std::vector<Group>> PostgresTx::GroupsOf(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kGroupsOf, PgParams().Add(principal_id)));
  return ReadGroups(r);
}

Result<bool> PostgresTx::GrantRole(const RoleGrant& grant) {
  PgParams p;
  p.Add(grant.role).Add(grant.grantee.principal_id).Add(grant.grantee.group_id);
  VOUCH_ASSIGN_OR_RETURN(int64_t added, RunCounted(kGrantRole, p));
  return added > 0;
}

Result<bool> PostgresTx::RevokeRole(const RoleGrant& grant) {
  PgParams p;
  p.Add(grant.role).Add(grant.grantee.principal_id).Add(grant.grantee.group_id);
  VOUCH_ASSIGN_OR_RETURN(int64_t removed, RunCounted(kRevokeRole, p));
  return removed > 0;
}

Result<std::vector<RoleGrant>> PostgresTx::ListRoleGrants() {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kListRoleGrants));
  std::vector<RoleGrant> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) {
    out.push_back(RoleGrant{r.Text(i, 0), Grantee{r.Int(i, 1), r.Int(i, 2)}});
  }
  return out;
}

Result<std::vector<std::string>> PostgresTx::EffectiveRoles(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kEffectiveRoles, PgParams().Add(principal_id)));
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
  return out;
}

Status PostgresTx::SetModelPermission(const ModelPermission& permission) {
  PgParams p;
  p.Add(permission.model_id).Add(permission.grantee.principal_id);
  p.Add(permission.grantee.group_id).Add(PermissionName(permission.permission));
  return Run(kSetModelPermission, p);
}

Result<bool> PostgresTx::DeleteModelPermission(int64_t model_id, const Grantee& grantee) {
  PgParams p;
  p.Add(model_id).Add(grantee.principal_id).Add(grantee.group_id);
  VOUCH_ASSIGN_OR_RETURN(int64_t removed, RunCounted(kDeleteModelPermission, p));
  return removed > 0;
}

Result<std::vector<ModelPermission>> PostgresTx::ModelPermissions(int64_t model_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kModelPermissions, PgParams().Add(model_id)));
  return ReadPermissions(r);
}

Result<std::vector<ModelPermission>> PostgresTx::PermissionsFor(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kPermissionsFor, PgParams().Add(principal_id)));
  return ReadPermissions(r);
}

Result<std::vector<ModelPermission>> PostgresTx::ModelPermissionsFor(int64_t model_id,
                                                                     int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(
      PgRows r, c_.Query(kModelPermissionsFor, PgParams().Add(principal_id).Add(model_id)));
  return ReadPermissions(r);
}

Status PostgresTx::DeleteGrantsOf(const Grantee& grantee) {
  PgParams ids;
  ids.Add(grantee.principal_id).Add(grantee.group_id);
  VOUCH_TRY(Run(kDeleteRoleGrantsOf, ids));
  VOUCH_TRY(Run(kDeleteModelPermissionsOf, ids));
  if (grantee.is_group()) return Run(kDeleteMembersOf, PgParams().Add(grantee.group_id));
  return Run(kDeleteMembershipsOf, PgParams().Add(grantee.principal_id));
}

Status PostgresTx::InsertSession(const WebSession& w) {
  PgParams p;
  p.Add(w.id_hash).Add(w.principal_id).Add(w.csrf_hash).Add(w.created_ms).Add(w.expires_ms);
  p.Add(w.last_seen_ms).Add(w.revoked_ms).Add(w.address).Add(w.user_agent);
  VOUCH_ASSIGN_OR_RETURN(int64_t inserted, RunCounted(kInsertSession, p));
  if (inserted == 0) return AlreadyExists("a web session with that id already exists");
  return OkStatus();
}

Result<std::optional<WebSession>> PostgresTx::FindSession(std::string_view id_hash) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindSession, PgParams().Add(id_hash)));
  if (r.empty()) return std::optional<WebSession>();
  WebSession w;
  w.id_hash = r.Text(0, 0);
  w.principal_id = r.Int(0, 1);
  w.csrf_hash = r.Text(0, 2);
  w.created_ms = r.Int(0, 3);
  w.expires_ms = r.Int(0, 4);
  w.last_seen_ms = r.Int(0, 5);
  w.revoked_ms = r.OptionalInt(0, 6);
  w.address = r.Text(0, 7);
  w.user_agent = r.Text(0, 8);
  return std::optional<WebSession>(std::move(w));
}

Status PostgresTx::RevokeSession(std::string_view id_hash, TimeMs when) {
  return Run(kRevokeSession, PgParams().Add(id_hash).Add(when));
}

Result<std::optional<SealedSecret>> PostgresTx::FindSecret(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kFindSecret, PgParams().Add(name)));
  if (r.empty()) return std::optional<SealedSecret>();
  return std::optional<SealedSecret>(
      SealedSecret{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), r.Int(0, 3)});
}

Result<bool> PostgresTx::InsertSecret(const SealedSecret& secret) {
  PgParams p;
  p.Add(secret.name).Add(secret.nonce).Add(secret.ciphertext).Add(secret.created_ms);
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kInsertSecret, p));
  return r.affected() > 0;
}

Result<int64_t> PostgresTx::AppendAuditEvent(
    const AuditEvent& e, const std::function<Result<std::string>(int64_t seq)>& body_for) {
  int64_t seq;
  {
    WaitTimer timer(waits_ != nullptr ? &waits_->audit_head_us : nullptr);
    auto taken = c_.Query(kTakeAuditSeq);
    timer.Stop();
    VOUCH_ASSIGN_OR_RETURN(PgRows r, std::move(taken));
    if (r.empty()) return Internal("the audit_head row is missing");
    seq = r.Int(0, 0);
  }
  Result<std::string> body = body_for(seq);
  if (!body.ok()) {
    // The number goes back, so that a caller that carries on and commits leaves no gap.
    VOUCH_TRY(Run(kGiveBackAuditSeq, PgParams().Add(seq)));
    return body.status();
  }
  PgParams p;
  p.Add(seq).Add(e.time_ms).Add(e.actor_id).Add(e.actor_name).Add(e.action).Add(e.model_id);
  p.Add(e.model_name).Add(e.version).Add(e.outcome == Outcome::kDone ? "done" : "denied");
  p.Add(*body);
  VOUCH_TRY(Run(kInsertAudit, p));
  return seq;
}

Result<std::vector<StoredAuditEvent>> PostgresTx::ListAuditEvents(const AuditFilter& f) {
  PgParams p;
  p.Add(f.after_seq).Add(f.model).Add(f.version).Add(f.actor).Add(f.action).Add(f.since_ms);
  p.Add(f.until_ms).Add(f.limit).Add(f.model_id);
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kListAudit, p));
  std::vector<StoredAuditEvent> out;
  out.reserve(static_cast<size_t>(r.size()));
  for (int i = 0; i < r.size(); ++i) out.push_back({r.Int(i, 0), r.Text(i, 1)});
  return out;
}

Result<int64_t> PostgresTx::AuditHeadSeq() {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kAuditHead));
  if (r.empty()) return Internal("the audit_head row is missing");
  return r.Int(0, 0);
}

Status PostgresTx::EnqueueOutbox(int64_t event_seq, std::string_view topic,
                                 std::string_view payload, TimeMs created_ms) {
  return Run(kEnqueueOutbox, PgParams().Add(event_seq).Add(topic).Add(payload).Add(created_ms));
}

Result<int64_t> PostgresTx::CountPendingOutbox() {
  VOUCH_ASSIGN_OR_RETURN(PgRows r, c_.Query(kCountPendingOutbox));
  return r.empty() ? 0 : r.Int(0, 0);
}

Status PostgresTx::Probe() {
  return c_.Exec("UPDATE audit_head SET next_seq = next_seq WHERE id = 1");
}

namespace {

Result<IdempotencyState> ParseIdempotencyState(std::string_view s) {
  for (IdempotencyState st :
       {IdempotencyState::kInFlight, IdempotencyState::kApplied, IdempotencyState::kDone}) {
    if (IdempotencyStateName(st) == s) return st;
  }
  return Internal(fmt::format("unknown idempotency key state '{}'", s));
}

}  // namespace

Result<bool> PostgresTx::InsertIdempotencyKey(const IdempotencyRecord& r) {
  PgParams p;
  p.Add(r.principal_id).Add(r.key).Add(r.request).Add(r.body_sha256);
  p.Add(IdempotencyStateName(r.state)).Add(r.status).Add(r.content_type);
  p.Add(r.response_nonce).Add(r.response_body).Add(r.created_ms).Add(r.expires_ms);
  VOUCH_ASSIGN_OR_RETURN(int64_t n, RunCounted(kInsertIdempotencyKey, p));
  return n > 0;
}

Result<std::optional<IdempotencyRecord>> PostgresTx::FindIdempotencyKey(int64_t principal_id,
                                                                        std::string_view key) {
  VOUCH_ASSIGN_OR_RETURN(PgRows rows,
                         c_.Query(kFindIdempotencyKey, PgParams().Add(principal_id).Add(key)));
  if (rows.empty()) return std::optional<IdempotencyRecord>();
  IdempotencyRecord r;
  r.principal_id = rows.Int(0, 0);
  r.key = rows.Text(0, 1);
  r.request = rows.Text(0, 2);
  r.body_sha256 = rows.Text(0, 3);
  VOUCH_ASSIGN_OR_RETURN(r.state, ParseIdempotencyState(rows.Text(0, 4)));
  r.status = static_cast<int>(rows.Int(0, 5));
  r.content_type = rows.Text(0, 6);
  r.response_nonce = rows.Text(0, 7);
  r.response_body = rows.Text(0, 8);
  r.created_ms = rows.Int(0, 9);
  r.expires_ms = rows.Int(0, 10);
  return std::optional<IdempotencyRecord>(std::move(r));
}

Result<bool> PostgresTx::SetIdempotencyState(int64_t principal_id, std::string_view key,
                                             TimeMs created_ms, IdempotencyState state) {
  PgParams p;
  p.Add(principal_id).Add(key).Add(created_ms).Add(IdempotencyStateName(state));
  VOUCH_ASSIGN_OR_RETURN(int64_t n, RunCounted(kSetIdempotencyState, p));
  return n > 0;
}

Result<bool> PostgresTx::CompleteIdempotencyKey(const IdempotencyRecord& r) {
  PgParams p;
  p.Add(r.principal_id).Add(r.key).Add(r.created_ms).Add(r.status).Add(r.content_type);
  p.Add(r.response_nonce).Add(r.response_body);
  VOUCH_ASSIGN_OR_RETURN(int64_t n, RunCounted(kCompleteIdempotencyKey, p));
  return n > 0;
}

Result<bool> PostgresTx::DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                              TimeMs created_ms) {
  PgParams p;
  p.Add(principal_id).Add(key).Add(created_ms);
  VOUCH_ASSIGN_OR_RETURN(int64_t n, RunCounted(kDeleteIdempotencyKey, p));
  return n > 0;
}

Result<int64_t> PostgresTx::PruneIdempotencyKeys(TimeMs now) {
  return RunCounted(kPruneIdempotencyKeys, PgParams().Add(now));
}

}  // namespace vouch::store

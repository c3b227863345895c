#include "vouch/store/sqlite/sqlite_tx.h"

#include <fmt/format.h>
#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <type_traits>

namespace vouch::store {
namespace {

constexpr char kFindModel[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version FROM models "
    "WHERE name = ?1 AND deleted_ms IS NULL";
constexpr char kListModels[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version FROM models "
    "WHERE deleted_ms IS NULL AND name > ?1 ORDER BY name LIMIT ?2";
constexpr char kInsertModel[] =
    "INSERT INTO models (name, description, created_ms, updated_ms, created_by, last_version) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kUpdateModel[] =
    "UPDATE models SET name = ?2, description = ?3, updated_ms = ?4, last_version = ?5 "
    "WHERE id = ?1";
constexpr char kDeleteModel[] = "UPDATE models SET deleted_ms = ?2 WHERE id = ?1";
constexpr char kModelTags[] = "SELECT key, value FROM model_tags WHERE model_id = ?1";
constexpr char kSetModelTag[] =
    "INSERT INTO model_tags (model_id, key, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteModelTag[] = "DELETE FROM model_tags WHERE model_id = ?1 AND key = ?2";
constexpr char kLatestLiveVersion[] =
    "SELECT MAX(version) FROM model_versions WHERE model_id = ?1 AND deleted_ms IS NULL";

constexpr char kFindVersion[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = ?1 AND v.version = ?2 AND v.deleted_ms IS NULL";
constexpr char kListVersions[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = ?1 AND v.version > ?2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version LIMIT ?3";
constexpr char kVersionsInStage[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.model_id = ?1 AND v.stage = ?2 AND v.deleted_ms IS NULL ORDER BY v.version";
constexpr char kListAllVersions[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.id > ?1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id LIMIT ?2";
constexpr char kVersionsByRunId[] =
    "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, v.model_ref, v.description, "
    "v.artifact_digest, v.status, v.stage, v.created_ms, v.updated_ms, v.created_by, "
    "v.storage_location, v.run_link "
    "FROM model_versions v JOIN models m ON m.id = v.model_id "
    "WHERE v.run_id = ?1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id";
// One index lookup each on model_versions_stage (model_id, stage, version). MIN and MAX stay in
// separate statements: SQLite's min/max optimization applies only to a lone aggregate.
constexpr char kStageLowest[] =
    "SELECT MIN(version) FROM model_versions "
    "WHERE model_id = ?1 AND stage = ?2 AND deleted_ms IS NULL";
constexpr char kStageHighest[] =
    "SELECT MAX(version) FROM model_versions "
    "WHERE model_id = ?1 AND stage = ?2 AND deleted_ms IS NULL";
constexpr char kModelIdsWithTag[] =
    "SELECT t.model_id FROM model_tags t JOIN models m ON m.id = t.model_id "
    "WHERE t.key = ?1 AND t.value = ?2 AND m.deleted_ms IS NULL";
constexpr char kVersionIdsWithTag[] =
    "SELECT t.version_id FROM version_tags t JOIN model_versions v ON v.id = t.version_id "
    "WHERE t.key = ?1 AND t.value = ?2 AND v.deleted_ms IS NULL";
constexpr char kModelAliases[] = "SELECT alias, version FROM model_aliases WHERE model_id = ?1";
constexpr char kInsertVersion[] =
    "INSERT INTO model_versions (model_id, version, source, run_id, model_ref, description, "
    "artifact_digest, status, stage, created_ms, updated_ms, created_by, storage_location, "
    "run_link) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
constexpr char kUpdateVersion[] =
    "UPDATE model_versions SET description = ?2, stage = ?3, status = ?4, updated_ms = ?5 "
    "WHERE id = ?1";
constexpr char kDeleteVersion[] = "UPDATE model_versions SET deleted_ms = ?2 WHERE id = ?1";
constexpr char kVersionTags[] = "SELECT key, value FROM version_tags WHERE version_id = ?1";
constexpr char kVersionMetrics[] = "SELECT key, value FROM version_metrics WHERE version_id = ?1";
constexpr char kVersionParams[] = "SELECT key, value FROM version_params WHERE version_id = ?1";
constexpr char kVersionAliases[] =
    "SELECT alias FROM model_aliases WHERE model_id = ?1 AND version = ?2 ORDER BY alias";
// The same for many versions, whose ids ?1 lists as a JSON array.
constexpr char kVersionTagsOf[] =
    "SELECT version_id, key, value FROM version_tags "
    "WHERE version_id IN (SELECT value FROM json_each(?1))";
constexpr char kVersionMetricsOf[] =
    "SELECT version_id, key, value FROM version_metrics "
    "WHERE version_id IN (SELECT value FROM json_each(?1))";
constexpr char kVersionParamsOf[] =
    "SELECT version_id, key, value FROM version_params "
    "WHERE version_id IN (SELECT value FROM json_each(?1))";
constexpr char kVersionAliasesOf[] =
    "SELECT v.id, a.alias FROM model_aliases a "
    "JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version "
    "WHERE v.id IN (SELECT value FROM json_each(?1)) ORDER BY a.alias";
constexpr char kSetVersionTag[] =
    "INSERT INTO version_tags (version_id, key, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionTag[] = "DELETE FROM version_tags WHERE version_id = ?1 AND key = ?2";
constexpr char kSetVersionMetric[] =
    "INSERT INTO version_metrics (version_id, key, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionMetric[] =
    "DELETE FROM version_metrics WHERE version_id = ?1 AND key = ?2";
constexpr char kSetVersionParam[] =
    "INSERT INTO version_params (version_id, key, value) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value";
constexpr char kDeleteVersionParam[] =
    "DELETE FROM version_params WHERE version_id = ?1 AND key = ?2";

constexpr char kFindAlias[] =
    "SELECT version FROM model_aliases WHERE model_id = ?1 AND alias = ?2";
constexpr char kSetAlias[] =
    "INSERT INTO model_aliases (model_id, alias, version) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version";
constexpr char kDeleteAlias[] = "DELETE FROM model_aliases WHERE model_id = ?1 AND alias = ?2";
constexpr char kDeleteAliasesOf[] =
    "DELETE FROM model_aliases WHERE model_id = ?1 AND version = ?2 RETURNING alias";

constexpr char kCountPrincipals[] = "SELECT COUNT(*) FROM principals";
constexpr char kInsertPrincipal[] =
    "INSERT INTO principals (name, kind, display_name, email, is_admin, disabled, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (principal_id, name, token_hash, scope, created_ms, expires_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kFindSecret[] =
    "SELECT name, nonce, ciphertext, created_ms FROM secrets WHERE name = ?1";
constexpr char kInsertSecret[] =
    "INSERT INTO secrets (name, nonce, ciphertext, created_ms) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (name) DO NOTHING";
// Idempotency keys (issue 10): the same SQL on both stores apart from placeholders.
constexpr char kInsertIdempotencyKey[] =
    "INSERT INTO idempotency_keys (principal_id, key, request, body_sha256, state, status, "
    "content_type, response_nonce, response_body, created_ms, expires_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT (principal_id, key) DO NOTHING";
constexpr char kFindIdempotencyKey[] =
    "SELECT principal_id, key, request, body_sha256, state, status, content_type, "
    "response_nonce, response_body, created_ms, expires_ms FROM idempotency_keys "
    "WHERE principal_id = ?1 AND key = ?2";
constexpr char kSetIdempotencyState[] =
    "UPDATE idempotency_keys SET state = ?4 "
    "WHERE principal_id = ?1 AND key = ?2 AND created_ms = ?3";
constexpr char kCompleteIdempotencyKey[] =
    "UPDATE idempotency_keys SET state = 'done', status = ?4, content_type = ?5, "
    "response_nonce = ?6, response_body = ?7 "
    "WHERE principal_id = ?1 AND key = ?2 AND created_ms = ?3";
constexpr char kDeleteIdempotencyKey[] =
    "DELETE FROM idempotency_keys WHERE principal_id = ?1 AND key = ?2 AND created_ms = ?3";
constexpr char kPruneIdempotencyKeys[] = "DELETE FROM idempotency_keys WHERE expires_ms <= ?1";

constexpr char kFindToken[] =
    "SELECT t.id, t.principal_id, t.name, t.token_hash, t.scope, t.created_ms, t.expires_ms, "
    "t.revoked_ms, t.last_used_ms, "
    "p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM tokens t JOIN principals p ON p.id = t.principal_id "
    "WHERE t.token_hash = ?1 AND p.deleted_ms IS NULL";

// Principals: the columns ReadPrincipal reads, in its order. A deleted principal reads as disabled.
constexpr char kFindPrincipal[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE name = ?1 AND deleted_ms IS NULL";
constexpr char kFindPrincipalById[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, "
    "CASE WHEN deleted_ms IS NULL THEN disabled ELSE 1 END FROM principals WHERE id = ?1";
constexpr char kListPrincipals[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE deleted_ms IS NULL AND name > ?1 ORDER BY name LIMIT ?2";
constexpr char kUpdatePrincipal[] =
    "UPDATE principals SET display_name = ?2, email = ?3, is_admin = ?4, disabled = ?5 "
    "WHERE id = ?1";
constexpr char kDeletePrincipal[] =
    "UPDATE principals SET deleted_ms = ?2 WHERE id = ?1 AND deleted_ms IS NULL";
constexpr char kCountActiveAdmins[] =
    "SELECT COUNT(*) FROM principals "
    "WHERE deleted_ms IS NULL AND disabled = 0 AND is_admin <> 0";
constexpr char kPasswordHash[] = "SELECT password_hash FROM principals WHERE id = ?1";
constexpr char kSetPasswordHash[] = "UPDATE principals SET password_hash = ?2 WHERE id = ?1";

// Tokens: the columns ReadToken reads, in its order.
constexpr char kListAllTokens[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens ORDER BY created_ms DESC, id DESC";
constexpr char kListTokensOf[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE principal_id = ?1 ORDER BY created_ms DESC, id DESC";
constexpr char kFindTokenById[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE id = ?1";
constexpr char kRevokeToken[] =
    "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL";
constexpr char kRevokeTokensOf[] =
    "UPDATE tokens SET revoked_ms = ?2 WHERE principal_id = ?1 AND revoked_ms IS NULL";
// Never moves backwards: a slow request that touches late does not hide a later use.
constexpr char kTouchToken[] =
    "UPDATE tokens SET last_used_ms = ?2 "
    "WHERE id = ?1 AND (last_used_ms IS NULL OR last_used_ms < ?2)";

// Groups, and the live groups a principal belongs to (the sub-select the grant queries share).
constexpr char kInsertGroup[] =
    "INSERT INTO principal_groups (name, description, created_ms) VALUES (?1, ?2, ?3)";
constexpr char kFindGroup[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE name = ?1 AND deleted_ms IS NULL";
constexpr char kListGroups[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE deleted_ms IS NULL ORDER BY name";
constexpr char kDeleteGroup[] =
    "UPDATE principal_groups SET deleted_ms = ?2 WHERE id = ?1 AND deleted_ms IS NULL";
constexpr char kAddGroupMember[] =
    "INSERT INTO group_members (group_id, principal_id) VALUES (?1, ?2) "
    "ON CONFLICT (group_id, principal_id) DO NOTHING";
constexpr char kRemoveGroupMember[] =
    "DELETE FROM group_members WHERE group_id = ?1 AND principal_id = ?2";
constexpr char kGroupMembers[] =
    "SELECT p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM group_members gm JOIN principals p ON p.id = gm.principal_id "
    "WHERE gm.group_id = ?1 AND p.deleted_ms IS NULL ORDER BY p.name";
constexpr char kGroupsOf[] =
    "SELECT g.id, g.name, g.description, g.created_ms "
    "FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "WHERE gm.principal_id = ?1 AND g.deleted_ms IS NULL ORDER BY g.name";

// Grants: a principal's own are (principal_id, group_id 0); its groups' are those whose group_id
// is one of its live groups.
constexpr char kGrantRole[] =
    "INSERT INTO role_grants (role, principal_id, group_id) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (role, principal_id, group_id) DO NOTHING";
constexpr char kRevokeRole[] =
    "DELETE FROM role_grants WHERE role = ?1 AND principal_id = ?2 AND group_id = ?3";
constexpr char kListRoleGrants[] =
    "SELECT role, principal_id, group_id FROM role_grants ORDER BY role, group_id, principal_id";
constexpr char kEffectiveRoles[] =
    "SELECT DISTINCT role FROM role_grants "
    "WHERE (group_id = 0 AND principal_id = ?1) OR group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = ?1 AND g.deleted_ms IS NULL) "
    "ORDER BY role";
constexpr char kSetModelPermission[] =
    "INSERT INTO model_permissions (model_id, principal_id, group_id, permission) "
    "VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (model_id, principal_id, group_id) DO UPDATE SET permission = excluded.permission";
constexpr char kDeleteModelPermission[] =
    "DELETE FROM model_permissions WHERE model_id = ?1 AND principal_id = ?2 AND group_id = ?3";
constexpr char kModelPermissions[] =
    "SELECT model_id, principal_id, group_id, permission FROM model_permissions "
    "WHERE model_id = ?1 ORDER BY group_id, principal_id";
constexpr char kPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE m.deleted_ms IS NULL AND ((mp.group_id = 0 AND mp.principal_id = ?1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = ?1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.model_id, mp.group_id, mp.principal_id";
constexpr char kModelPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE mp.model_id = ?2 AND m.deleted_ms IS NULL "
    "AND ((mp.group_id = 0 AND mp.principal_id = ?1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = ?1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.group_id, mp.principal_id";
constexpr char kDeleteRoleGrantsOf[] =
    "DELETE FROM role_grants WHERE principal_id = ?1 AND group_id = ?2";
constexpr char kDeleteModelPermissionsOf[] =
    "DELETE FROM model_permissions WHERE principal_id = ?1 AND group_id = ?2";
constexpr char kDeleteMembershipsOf[] = "DELETE FROM group_members WHERE principal_id = ?1";
constexpr char kDeleteMembersOf[] = "DELETE FROM group_members WHERE group_id = ?1";

constexpr char kInsertSession[] =
    "INSERT INTO web_sessions (id_hash, principal_id, csrf_hash, created_ms, expires_ms, "
    "last_seen_ms, revoked_ms, address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr char kFindSession[] =
    "SELECT id_hash, principal_id, csrf_hash, created_ms, expires_ms, last_seen_ms, revoked_ms, "
    "address, user_agent FROM web_sessions WHERE id_hash = ?1";
constexpr char kRevokeSession[] =
    "UPDATE web_sessions SET revoked_ms = ?2 WHERE id_hash = ?1 AND revoked_ms IS NULL";

constexpr char kNextAuditSeq[] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events";
constexpr char kInsertAudit[] =
    "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, model_id, model_name, "
    "version, outcome, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr char kAuditHead[] = "SELECT COALESCE(MAX(seq), 0) FROM audit_events";
// One statement for every filter: each condition is off when its parameter is empty/zero/null.
// The model filter matches the name recorded in the event, or the live model of that name (so a
// renamed model keeps its history).
constexpr char kListAudit[] =
    "SELECT seq, body FROM audit_events WHERE seq > ?1 "
    "AND (?2 = '' OR model_name = ?2 OR model_id = "
    "  (SELECT id FROM models WHERE name = ?2 AND deleted_ms IS NULL)) "
    "AND (?3 = 0 OR version = ?3) AND (?4 = '' OR actor_name = ?4) "
    "AND (?5 = '' OR action = ?5) AND (?6 IS NULL OR time_ms >= ?6) "
    "AND (?7 IS NULL OR time_ms <= ?7) AND (?9 = 0 OR model_id = ?9) ORDER BY seq LIMIT ?8";

constexpr char kEnqueueOutbox[] =
    "INSERT INTO outbox (event_seq, topic, payload, created_ms, next_attempt_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?4)";
constexpr char kCountPendingOutbox[] = "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL";

Model ReadModelRow(const Stmt& s) {
  Model m;
  m.id = s.Int(0);
  m.name = s.Text(1);
  m.description = s.Text(2);
  m.created_ms = s.Int(3);
  m.updated_ms = s.Int(4);
  m.created_by = s.Text(5);
  m.last_version = s.Int(6);
  return m;
}

// A key -> value map from a statement yielding (key, value) rows for one id.
template <typename Map>
Result<Map> ReadMap(Conn& c, const char* sql, int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c.Prepare(sql));
  s.Bind(1, id);
  Map out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    using Value = typename Map::mapped_type;
    if constexpr (std::is_same_v<Value, std::string>) {
      out.emplace(s.Text(0), s.Text(1));
    } else if constexpr (std::is_same_v<Value, double>) {
      out.emplace(s.Text(0), s.Double(1));
    } else {
      out.emplace(s.Text(0), s.Int(1));
    }
  }
  return out;
}

// Columns id, name, kind, display_name, email, created_ms, is_admin, disabled from `col` on.
Result<Principal> ReadPrincipal(const Stmt& s, int col) {
  Principal p;
  p.id = s.Int(col);
  p.name = s.Text(col + 1);
  std::string kind = s.Text(col + 2);
  if (kind == PrincipalKindName(PrincipalKind::kUser)) {
    p.kind = PrincipalKind::kUser;
  } else if (kind == PrincipalKindName(PrincipalKind::kServiceAccount)) {
    p.kind = PrincipalKind::kServiceAccount;
  } else {
    return Internal("stored principal kind is unknown: " + kind);
  }
  p.display_name = s.Text(col + 3);
  p.email = s.Text(col + 4);
  p.created_ms = s.Int(col + 5);
  p.is_admin = s.Int(col + 6) != 0;
  p.disabled = s.Int(col + 7) != 0;
  return p;
}

Result<std::vector<Principal>> ReadPrincipals(Stmt& s) {
  std::vector<Principal> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    VOUCH_ASSIGN_OR_RETURN(Principal p, ReadPrincipal(s, 0));
    out.push_back(std::move(p));
  }
  return out;
}

// Columns id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms,
// last_used_ms.
TokenRecord ReadToken(const Stmt& s) {
  TokenRecord t;
  t.id = s.Int(0);
  t.principal_id = s.Int(1);
  t.name = s.Text(2);
  t.token_hash = s.Text(3);
  t.scope = s.Text(4);
  t.created_ms = s.Int(5);
  t.expires_ms = s.OptionalInt(6);
  t.revoked_ms = s.OptionalInt(7);
  t.last_used_ms = s.OptionalInt(8);
  return t;
}

Result<std::vector<Group>> ReadGroups(Stmt& s) {
  std::vector<Group> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(Group{s.Int(0), s.Text(1), s.Text(2), s.Int(3)});
  }
  return out;
}

// Columns model_id, principal_id, group_id, permission (stored by name).
Result<std::vector<ModelPermission>> ReadPermissions(Stmt& s) {
  std::vector<ModelPermission> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    std::string name = s.Text(3);
    Result<Permission> permission = ParsePermission(name);
    if (!permission.ok()) return Internal("stored permission is unknown: " + name);
    out.push_back(ModelPermission{s.Int(0), Grantee{s.Int(1), s.Int(2)}, *permission});
  }
  return out;
}

}  // namespace

Result<int64_t> SqliteTx::RunCounted(const char* sql, int64_t a, int64_t b) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
  s.Bind(1, a).Bind(2, b);
  VOUCH_TRY(s.Run());
  return c_.changes();
}

Status SqliteTx::FillModel(Model& m) {
  VOUCH_ASSIGN_OR_RETURN(m.tags, ReadMap<StringMap>(c_, kModelTags, m.id));
  VOUCH_ASSIGN_OR_RETURN(m.aliases,
                         (ReadMap<std::map<std::string, int64_t>>(c_, kModelAliases, m.id)));
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kLatestLiveVersion));
  s.Bind(1, m.id);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  m.latest_live_version = row ? s.OptionalInt(0) : std::nullopt;
  return OkStatus();
}

Result<std::optional<Model>> SqliteTx::FindModelRow(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindModel));
  s.Bind(1, name);
  VOUCH_ASSIGN_OR_RETURN(std::vector<Model> found, QueryModels(std::move(s), false));
  if (found.empty()) return std::optional<Model>();
  return std::optional<Model>(std::move(found[0]));
}

Result<std::optional<Model>> SqliteTx::FindModel(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, FindModelRow(name));
  if (m) VOUCH_TRY(FillModel(*m));
  return m;
}

Status SqliteTx::InsertModel(Model& m) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertModel));
  s.Bind(1, m.name).Bind(2, m.description).Bind(3, m.created_ms).Bind(4, m.updated_ms);
  s.Bind(5, m.created_by).Bind(6, m.last_version);
  VOUCH_TRY(s.Run());
  m.id = sqlite3_last_insert_rowid(c_.db());
  for (const auto& [k, v] : m.tags) VOUCH_TRY(SetModelTag(m.id, k, v));
  return OkStatus();
}

Status SqliteTx::UpdateModel(const Model& m) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kUpdateModel));
  s.Bind(1, m.id).Bind(2, m.name).Bind(3, m.description).Bind(4, m.updated_ms);
  s.Bind(5, m.last_version);
  return s.Run();
}

Status SqliteTx::MarkModelDeleted(int64_t model_id, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kDeleteModel));
  s.Bind(1, model_id).Bind(2, when);
  return s.Run();
}

Result<std::vector<Model>> SqliteTx::ListModels(std::string_view after_name, int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListModels));
  s.Bind(1, after_name).Bind(2, limit);
  return QueryModels(std::move(s), true);
}

Status SqliteTx::RunKeyed(const char* sql, int64_t id, std::string_view key) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
  s.Bind(1, id).Bind(2, key);
  return s.Run();
}

Status SqliteTx::SetModelTag(int64_t model_id, std::string_view key, std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetModelTag));
  s.Bind(1, model_id).Bind(2, key).Bind(3, value);
  return s.Run();
}

Status SqliteTx::DeleteModelTag(int64_t model_id, std::string_view key) {
  return RunKeyed(kDeleteModelTag, model_id, key);
}

Status SqliteTx::FillVersion(ModelVersion& v) {
  VOUCH_ASSIGN_OR_RETURN(v.tags, ReadMap<StringMap>(c_, kVersionTags, v.id));
  VOUCH_ASSIGN_OR_RETURN(v.params, ReadMap<StringMap>(c_, kVersionParams, v.id));
  VOUCH_ASSIGN_OR_RETURN(v.metrics, ReadMap<MetricMap>(c_, kVersionMetrics, v.id));
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kVersionAliases));
  s.Bind(1, v.model_id).Bind(2, v.version);
  v.aliases.clear();
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    v.aliases.push_back(s.Text(0));
  }
  return OkStatus();
}

Status SqliteTx::LoadVersionDetailsOf(std::span<ModelVersion> versions) {
  if (versions.empty()) return OkStatus();
  std::map<int64_t, ModelVersion*> by_id;
  std::string ids = "[";
  for (auto& v : versions) {
    v.tags.clear();
    v.params.clear();
    v.metrics.clear();
    v.aliases.clear();
    by_id[v.id] = &v;
    if (ids.size() > 1) ids.push_back(',');
    ids += std::to_string(v.id);
  }
  ids.push_back(']');
  // Runs `sql` over the ids and hands each row, with its version, to `use`.
  auto each = [&](const char* sql,
                  const std::function<void(ModelVersion&, const Stmt&)>& use) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
    s.Bind(1, ids);
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return OkStatus();
      auto it = by_id.find(s.Int(0));
      if (it != by_id.end()) use(*it->second, s);
    }
  };
  VOUCH_TRY(each(kVersionTagsOf,
                 [](ModelVersion& v, const Stmt& s) { v.tags.emplace(s.Text(1), s.Text(2)); }));
  VOUCH_TRY(each(kVersionParamsOf,
                 [](ModelVersion& v, const Stmt& s) { v.params.emplace(s.Text(1), s.Text(2)); }));
  VOUCH_TRY(each(kVersionMetricsOf, [](ModelVersion& v, const Stmt& s) {
    v.metrics.emplace(s.Text(1), s.Double(2));
  }));
  return each(kVersionAliasesOf,
              [](ModelVersion& v, const Stmt& s) { v.aliases.push_back(s.Text(1)); });
}

Result<std::vector<ModelVersion>> SqliteTx::ReadVersions(Stmt& s) {
  std::vector<ModelVersion> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ModelVersion v;
    v.id = s.Int(0);
    v.model_id = s.Int(1);
    v.model_name = s.Text(2);
    v.version = s.Int(3);
    v.source = s.Text(4);
    v.run_id = s.Text(5);
    v.model_ref = s.Text(6);
    v.description = s.Text(7);
    v.artifact_digest = s.Text(8);
    v.status = s.Text(9);
    auto stage = ParseStage(s.Text(10));
    if (!stage.ok()) return Internal("stored stage is unknown: " + s.Text(10));
    v.stage = *stage;
    v.created_ms = s.Int(11);
    v.updated_ms = s.Int(12);
    v.created_by = s.Text(13);
    v.storage_location = s.Text(14);
    v.run_link = s.Text(15);
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::optional<ModelVersion>> SqliteTx::FindVersion(int64_t model_id, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindVersion));
  s.Bind(1, model_id).Bind(2, version);
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> found, QueryVersions(std::move(s)));
  if (found.empty()) return std::optional<ModelVersion>();
  return std::optional<ModelVersion>(std::move(found[0]));
}

Status SqliteTx::InsertVersion(ModelVersion& v) {
  {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertVersion));
    s.Bind(1, v.model_id).Bind(2, v.version).Bind(3, v.source).Bind(4, v.run_id);
    s.Bind(5, v.model_ref).Bind(6, v.description).Bind(7, v.artifact_digest).Bind(8, v.status);
    s.Bind(9, StageName(v.stage)).Bind(10, v.created_ms).Bind(11, v.updated_ms);
    s.Bind(12, v.created_by).Bind(13, v.storage_location).Bind(14, v.run_link);
    VOUCH_TRY(s.Run());
  }
  v.id = sqlite3_last_insert_rowid(c_.db());
  for (const auto& [k, val] : v.tags) VOUCH_TRY(SetVersionTag(v.id, k, val));
  for (const auto& [k, val] : v.metrics) VOUCH_TRY(SetVersionMetric(v.id, k, val));
  for (const auto& [k, val] : v.params) VOUCH_TRY(SetVersionParam(v.id, k, val));
  return OkStatus();
}

Status SqliteTx::UpdateVersion(const ModelVersion& v) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kUpdateVersion));
  s.Bind(1, v.id).Bind(2, v.description).Bind(3, StageName(v.stage)).Bind(4, v.status);
  s.Bind(5, v.updated_ms);
  return s.Run();
}

Status SqliteTx::MarkVersionDeleted(int64_t version_id, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kDeleteVersion));
  s.Bind(1, version_id).Bind(2, when);
  return s.Run();
}

Result<std::vector<ModelVersion>> SqliteTx::ListVersions(int64_t model_id, int64_t after_version,
                                                         int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListVersions));
  s.Bind(1, model_id).Bind(2, after_version).Bind(3, limit);
  return QueryVersions(std::move(s));
}

Result<std::vector<ModelVersion>> SqliteTx::VersionsInStage(int64_t model_id, Stage stage) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kVersionsInStage));
  s.Bind(1, model_id).Bind(2, StageName(stage));
  return QueryVersions(std::move(s));
}

Result<std::vector<ModelVersion>> SqliteTx::QueryVersions(Stmt stmt, bool details) {
  std::vector<ModelVersion> out;
  {
    Stmt s = std::move(stmt);  // reset before the detail queries run
    VOUCH_ASSIGN_OR_RETURN(out, ReadVersions(s));
  }
  if (details) {
    for (auto& v : out) VOUCH_TRY(FillVersion(v));
  }
  return out;
}

Result<std::vector<Model>> SqliteTx::QueryModels(Stmt stmt, bool details) {
  std::vector<Model> out;
  {
    Stmt s = std::move(stmt);
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadModelRow(s));
    }
  }
  if (details) {
    for (auto& m : out) VOUCH_TRY(FillModel(m));
  }
  return out;
}

Result<std::vector<int64_t>> SqliteTx::QueryIds(const char* sql, std::string_view key,
                                                std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
  s.Bind(1, key).Bind(2, value);
  std::vector<int64_t> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Int(0));
  }
  return out;
}

Result<std::vector<int64_t>> SqliteTx::ModelIdsWithTag(std::string_view key,
                                                       std::string_view value) {
  return QueryIds(kModelIdsWithTag, key, value);
}

Result<std::vector<int64_t>> SqliteTx::VersionIdsWithTag(std::string_view key,
                                                         std::string_view value) {
  return QueryIds(kVersionIdsWithTag, key, value);
}

Result<std::vector<Model>> SqliteTx::ListModelRows(std::string_view after_name, int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListModels));
  s.Bind(1, after_name).Bind(2, limit);
  return QueryModels(std::move(s), false);
}

Result<std::vector<ModelVersion>> SqliteTx::ListVersionRows(int64_t model_id, int64_t after_version,
                                                            int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListVersions));
  s.Bind(1, model_id).Bind(2, after_version).Bind(3, limit);
  return QueryVersions(std::move(s), false);
}

Result<std::vector<ModelVersion>> SqliteTx::ListAllVersionRows(int64_t after_id, int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListAllVersions));
  s.Bind(1, after_id).Bind(2, limit);
  return QueryVersions(std::move(s), false);
}

Result<std::vector<ModelVersion>> SqliteTx::VersionRowsByRunId(std::string_view run_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kVersionsByRunId));
  s.Bind(1, run_id);
  return QueryVersions(std::move(s), false);
}

Result<std::vector<ModelVersion>> SqliteTx::ListAllVersions(int64_t after_id, int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListAllVersions));
  s.Bind(1, after_id).Bind(2, limit);
  return QueryVersions(std::move(s));
}

Result<std::vector<ModelVersion>> SqliteTx::VersionsByRunId(std::string_view run_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kVersionsByRunId));
  s.Bind(1, run_id);
  return QueryVersions(std::move(s));
}

Result<std::vector<std::pair<Stage, int64_t>>> SqliteTx::LatestVersionPerStage(int64_t model_id) {
  struct Bounds {
    int64_t lowest;
    Stage stage;
    int64_t highest;
  };
  std::vector<Bounds> found;
  auto bound = [&](const char* sql, Stage stage) -> Result<std::optional<int64_t>> {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
    s.Bind(1, model_id).Bind(2, StageName(stage));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.OptionalInt(0) : std::nullopt;
  };
  for (Stage stage : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> highest, bound(kStageHighest, stage));
    if (!highest) continue;
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> lowest, bound(kStageLowest, stage));
    found.push_back({lowest.value_or(*highest), stage, *highest});
  }
  std::sort(found.begin(), found.end(),
            [](const Bounds& a, const Bounds& b) { return a.lowest < b.lowest; });
  std::vector<std::pair<Stage, int64_t>> out;
  for (const auto& b : found) out.emplace_back(b.stage, b.highest);
  return out;
}

Status SqliteTx::SetVersionTag(int64_t version_id, std::string_view key, std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetVersionTag));
  s.Bind(1, version_id).Bind(2, key).Bind(3, value);
  return s.Run();
}

Status SqliteTx::DeleteVersionTag(int64_t version_id, std::string_view key) {
  return RunKeyed(kDeleteVersionTag, version_id, key);
}

Status SqliteTx::SetVersionMetric(int64_t version_id, std::string_view key, double value) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetVersionMetric));
  s.Bind(1, version_id).Bind(2, key).Bind(3, value);
  return s.Run();
}

Status SqliteTx::DeleteVersionMetric(int64_t version_id, std::string_view key) {
  return RunKeyed(kDeleteVersionMetric, version_id, key);
}

Status SqliteTx::SetVersionParam(int64_t version_id, std::string_view key, std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetVersionParam));
  s.Bind(1, version_id).Bind(2, key).Bind(3, value);
  return s.Run();
}

Status SqliteTx::DeleteVersionParam(int64_t version_id, std::string_view key) {
  return RunKeyed(kDeleteVersionParam, version_id, key);
}

Result<std::optional<int64_t>> SqliteTx::FindAlias(int64_t model_id, std::string_view alias) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindAlias));
  s.Bind(1, model_id).Bind(2, alias);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? std::optional<int64_t>(s.Int(0)) : std::nullopt;
}

Status SqliteTx::SetAlias(int64_t model_id, std::string_view alias, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetAlias));
  s.Bind(1, model_id).Bind(2, alias).Bind(3, version);
  return s.Run();
}

Status SqliteTx::DeleteAlias(int64_t model_id, std::string_view alias) {
  return RunKeyed(kDeleteAlias, model_id, alias);
}

Result<std::vector<std::string>> SqliteTx::DeleteAliasesOf(int64_t model_id, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kDeleteAliasesOf));
  s.Bind(1, model_id).Bind(2, version);
  std::vector<std::string> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Text(0));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<int64_t> SqliteTx::CountPrincipals() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kCountPrincipals));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status SqliteTx::InsertPrincipal(Principal& p, TimeMs created_ms) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertPrincipal));
  s.Bind(1, p.name).Bind(2, PrincipalKindName(p.kind)).Bind(3, p.display_name).Bind(4, p.email);
  s.Bind(5, int64_t{p.is_admin}).Bind(6, int64_t{p.disabled}).Bind(7, created_ms);
  VOUCH_TRY(s.Run());
  p.id = sqlite3_last_insert_rowid(c_.db());
  p.created_ms = created_ms;
  return OkStatus();
}

Status SqliteTx::InsertToken(TokenRecord& t) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertToken));
  s.Bind(1, t.principal_id).Bind(2, t.name).Bind(3, t.token_hash).Bind(4, t.scope);
  s.Bind(5, t.created_ms).Bind(6, t.expires_ms);
  VOUCH_TRY(s.Run());
  t.id = sqlite3_last_insert_rowid(c_.db());
  return OkStatus();
}

Result<std::optional<std::pair<TokenRecord, Principal>>> SqliteTx::FindToken(
    std::string_view token_hash) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindToken));
  s.Bind(1, token_hash);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::pair<TokenRecord, Principal>>();
  TokenRecord t = ReadToken(s);
  VOUCH_ASSIGN_OR_RETURN(Principal p, ReadPrincipal(s, 9));
  return std::optional<std::pair<TokenRecord, Principal>>(std::pair(std::move(t), std::move(p)));
}

Result<std::optional<Principal>> SqliteTx::FindPrincipal(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindPrincipal));
  s.Bind(1, name);
  VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> found, ReadPrincipals(s));
  if (found.empty()) return std::optional<Principal>();
  return std::optional<Principal>(std::move(found[0]));
}

Result<std::optional<Principal>> SqliteTx::FindPrincipalById(int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindPrincipalById));
  s.Bind(1, id);
  VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> found, ReadPrincipals(s));
  if (found.empty()) return std::optional<Principal>();
  return std::optional<Principal>(std::move(found[0]));
}

Result<std::vector<Principal>> SqliteTx::ListPrincipals(std::string_view after_name, int limit) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListPrincipals));
  s.Bind(1, after_name).Bind(2, limit);
  return ReadPrincipals(s);
}

Status SqliteTx::UpdatePrincipal(const Principal& p) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kUpdatePrincipal));
  s.Bind(1, p.id).Bind(2, p.display_name).Bind(3, p.email).Bind(4, int64_t{p.is_admin});
  s.Bind(5, int64_t{p.disabled});
  return s.Run();
}

Status SqliteTx::MarkPrincipalDeleted(int64_t principal_id, TimeMs when) {
  return RunCounted(kDeletePrincipal, principal_id, when).status();
}

Result<int64_t> SqliteTx::CountActiveAdmins() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kCountActiveAdmins));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Result<std::string> SqliteTx::PasswordHash(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kPasswordHash));
  s.Bind(1, principal_id);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound(fmt::format("principal {} not found", principal_id));
  return s.Text(0);
}

Status SqliteTx::SetPasswordHash(int64_t principal_id, std::string_view hash) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetPasswordHash));
  s.Bind(1, principal_id).Bind(2, hash);
  VOUCH_TRY(s.Run());
  if (c_.changes() == 0) return NotFound(fmt::format("principal {} not found", principal_id));
  return OkStatus();
}

Result<std::vector<TokenRecord>> SqliteTx::ListTokens(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(principal_id == 0 ? kListAllTokens : kListTokensOf));
  if (principal_id != 0) s.Bind(1, principal_id);
  std::vector<TokenRecord> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadToken(s));
  }
  return out;
}

Result<std::optional<TokenRecord>> SqliteTx::FindTokenById(int64_t token_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindTokenById));
  s.Bind(1, token_id);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(ReadToken(s));
}

Result<int64_t> SqliteTx::RevokeToken(int64_t token_id, TimeMs when) {
  return RunCounted(kRevokeToken, token_id, when);
}

Result<int64_t> SqliteTx::RevokeTokensOf(int64_t principal_id, TimeMs when) {
  return RunCounted(kRevokeTokensOf, principal_id, when);
}

Status SqliteTx::TouchToken(int64_t token_id, TimeMs when) {
  return RunCounted(kTouchToken, token_id, when).status();
}

Status SqliteTx::InsertGroup(Group& g) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertGroup));
  s.Bind(1, g.name).Bind(2, g.description).Bind(3, g.created_ms);
  Status inserted = s.Run();
  if (inserted.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("group {} already exists", g.name));
  }
  VOUCH_TRY(inserted);
  g.id = sqlite3_last_insert_rowid(c_.db());
  return OkStatus();
}

Result<std::optional<Group>> SqliteTx::FindGroup(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindGroup));
  s.Bind(1, name);
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> found, ReadGroups(s));
  if (found.empty()) return std::optional<Group>();
  return std::optional<Group>(std::move(found[0]));
}

Result<std::vector<Group>> SqliteTx::ListGroups() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListGroups));
  return ReadGroups(s);
}

Status SqliteTx::MarkGroupDeleted(int64_t group_id, TimeMs when) {
  return RunCounted(kDeleteGroup, group_id, when).status();
}

Result<bool> SqliteTx::AddGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t added, RunCounted(kAddGroupMember, group_id, principal_id));
  return added > 0;
}

Result<bool> SqliteTx::RemoveGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t removed, RunCounted(kRemoveGroupMember, group_id, principal_id));
  return removed > 0;
}

Result<std::vector<Principal>> SqliteTx::GroupMembers(int64_t group_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kGroupMembers));
  s.Bind(1, group_id);
  return ReadPrincipals(s);
}

Result<std::vector<Group>> SqliteTx::GroupsOf(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kGroupsOf));
  s.Bind(1, principal_id);
  return ReadGroups(s);
}

Result<int64_t> SqliteTx::RunGrant(const char* sql, const RoleGrant& grant) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(sql));
  s.Bind(1, grant.role).Bind(2, grant.grantee.principal_id).Bind(3, grant.grantee.group_id);
  VOUCH_TRY(s.Run());
  return c_.changes();
}

Result<bool> SqliteTx::GrantRole(const RoleGrant& grant) {
  VOUCH_ASSIGN_OR_RETURN(int64_t added, RunGrant(kGrantRole, grant));
  return added > 0;
}

Result<bool> SqliteTx::RevokeRole(const RoleGrant& grant) {
  VOUCH_ASSIGN_OR_RETURN(int64_t removed, RunGrant(kRevokeRole, grant));
  return removed > 0;
}

Result<std::vector<RoleGrant>> SqliteTx::ListRoleGrants() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListRoleGrants));
  std::vector<RoleGrant> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(RoleGrant{s.Text(0), Grantee{s.Int(1), s.Int(2)}});
  }
  return out;
}

Result<std::vector<std::string>> SqliteTx::EffectiveRoles(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kEffectiveRoles));
  s.Bind(1, principal_id);
  std::vector<std::string> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Text(0));
  }
  return out;
}

Status SqliteTx::SetModelPermission(const ModelPermission& p) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetModelPermission));
  s.Bind(1, p.model_id).Bind(2, p.grantee.principal_id).Bind(3, p.grantee.group_id);
  s.Bind(4, PermissionName(p.permission));
  return s.Run();
}

Result<bool> SqliteTx::DeleteModelPermission(int64_t model_id, const Grantee& grantee) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kDeleteModelPermission));
  s.Bind(1, model_id).Bind(2, grantee.principal_id).Bind(3, grantee.group_id);
  VOUCH_TRY(s.Run());
  return c_.changes() > 0;
}

Result<std::vector<ModelPermission>> SqliteTx::ModelPermissions(int64_t model_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kModelPermissions));
  s.Bind(1, model_id);
  return ReadPermissions(s);
}

Result<std::vector<ModelPermission>> SqliteTx::PermissionsFor(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kPermissionsFor));
  s.Bind(1, principal_id);
  return ReadPermissions(s);
}

Result<std::vector<ModelPermission>> SqliteTx::ModelPermissionsFor(int64_t model_id,
                                                                   int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kModelPermissionsFor));
  s.Bind(1, principal_id).Bind(2, model_id);
  return ReadPermissions(s);
}

Status SqliteTx::DeleteGrantsOf(const Grantee& grantee) {
  for (const char* sql : {kDeleteRoleGrantsOf, kDeleteModelPermissionsOf}) {
    VOUCH_TRY(RunCounted(sql, grantee.principal_id, grantee.group_id).status());
  }
  VOUCH_ASSIGN_OR_RETURN(Stmt s,
                         c_.Prepare(grantee.is_group() ? kDeleteMembersOf : kDeleteMembershipsOf));
  s.Bind(1, grantee.is_group() ? grantee.group_id : grantee.principal_id);
  return s.Run();
}

Status SqliteTx::InsertSession(const WebSession& w) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertSession));
  s.Bind(1, w.id_hash).Bind(2, w.principal_id).Bind(3, w.csrf_hash).Bind(4, w.created_ms);
  s.Bind(5, w.expires_ms).Bind(6, w.last_seen_ms).Bind(7, w.revoked_ms).Bind(8, w.address);
  s.Bind(9, w.user_agent);
  Status inserted = s.Run();
  if (inserted.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("a web session with that id already exists");
  }
  return inserted;
}

Result<std::optional<WebSession>> SqliteTx::FindSession(std::string_view id_hash) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindSession));
  s.Bind(1, id_hash);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<WebSession>();
  WebSession w;
  w.id_hash = s.Text(0);
  w.principal_id = s.Int(1);
  w.csrf_hash = s.Text(2);
  w.created_ms = s.Int(3);
  w.expires_ms = s.Int(4);
  w.last_seen_ms = s.Int(5);
  w.revoked_ms = s.OptionalInt(6);
  w.address = s.Text(7);
  w.user_agent = s.Text(8);
  return std::optional<WebSession>(std::move(w));
}

Status SqliteTx::RevokeSession(std::string_view id_hash, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kRevokeSession));
  s.Bind(1, id_hash).Bind(2, when);
  return s.Run();
}

Result<std::optional<SealedSecret>> SqliteTx::FindSecret(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindSecret));
  s.Bind(1, name);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<SealedSecret>();
  return std::optional<SealedSecret>(SealedSecret{s.Text(0), s.Text(1), s.Text(2), s.Int(3)});
}

Result<bool> SqliteTx::InsertSecret(const SealedSecret& secret) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertSecret));
  s.Bind(1, secret.name).Bind(2, secret.nonce).Bind(3, secret.ciphertext);
  s.Bind(4, secret.created_ms);
  VOUCH_TRY(s.Run());
  return sqlite3_changes(c_.db()) > 0;
}

Result<int64_t> SqliteTx::AppendAuditEvent(
    const AuditEvent& e, const std::function<Result<std::string>(int64_t seq)>& body_for) {
  int64_t seq;
  {
    VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kNextAuditSeq));
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Internal("no next audit sequence number");
    seq = s.Int(0);
  }
  VOUCH_ASSIGN_OR_RETURN(std::string body, body_for(seq));
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertAudit));
  s.Bind(1, seq).Bind(2, e.time_ms).Bind(3, e.actor_id).Bind(4, e.actor_name).Bind(5, e.action);
  s.Bind(6, e.model_id).Bind(7, e.model_name).Bind(8, e.version);
  s.Bind(9, e.outcome == Outcome::kDone ? "done" : "denied").Bind(10, body);
  VOUCH_TRY(s.Run());
  return seq;
}

Result<std::vector<StoredAuditEvent>> SqliteTx::ListAuditEvents(const AuditFilter& f) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kListAudit));
  s.Bind(1, f.after_seq).Bind(2, f.model).Bind(3, f.version).Bind(4, f.actor).Bind(5, f.action);
  s.Bind(6, f.since_ms).Bind(7, f.until_ms).Bind(8, f.limit).Bind(9, f.model_id);
  std::vector<StoredAuditEvent> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1)});
  }
  return out;
}

Result<int64_t> SqliteTx::AuditHeadSeq() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kAuditHead));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status SqliteTx::EnqueueOutbox(int64_t event_seq, std::string_view topic, std::string_view payload,
                               TimeMs created_ms) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kEnqueueOutbox));
  s.Bind(1, event_seq).Bind(2, topic).Bind(3, payload).Bind(4, created_ms);
  return s.Run();
}

Result<int64_t> SqliteTx::CountPendingOutbox() {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kCountPendingOutbox));
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
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

Result<bool> SqliteTx::InsertIdempotencyKey(const IdempotencyRecord& r) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kInsertIdempotencyKey));
  s.Bind(1, r.principal_id).Bind(2, r.key).Bind(3, r.request).Bind(4, r.body_sha256);
  s.Bind(5, IdempotencyStateName(r.state)).Bind(6, r.status).Bind(7, r.content_type);
  s.Bind(8, r.response_nonce).Bind(9, r.response_body).Bind(10, r.created_ms);
  s.Bind(11, r.expires_ms);
  VOUCH_TRY(s.Run());
  return sqlite3_changes(c_.db()) > 0;
}

Result<std::optional<IdempotencyRecord>> SqliteTx::FindIdempotencyKey(int64_t principal_id,
                                                                      std::string_view key) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kFindIdempotencyKey));
  s.Bind(1, principal_id).Bind(2, key);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<IdempotencyRecord>();
  IdempotencyRecord r;
  r.principal_id = s.Int(0);
  r.key = s.Text(1);
  r.request = s.Text(2);
  r.body_sha256 = s.Text(3);
  VOUCH_ASSIGN_OR_RETURN(r.state, ParseIdempotencyState(s.Text(4)));
  r.status = static_cast<int>(s.Int(5));
  r.content_type = s.Text(6);
  r.response_nonce = s.Text(7);
  r.response_body = s.Text(8);
  r.created_ms = s.Int(9);
  r.expires_ms = s.Int(10);
  return std::optional<IdempotencyRecord>(std::move(r));
}

Result<bool> SqliteTx::SetIdempotencyState(int64_t principal_id, std::string_view key,
                                           TimeMs created_ms, IdempotencyState state) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kSetIdempotencyState));
  s.Bind(1, principal_id).Bind(2, key).Bind(3, created_ms).Bind(4, IdempotencyStateName(state));
  VOUCH_TRY(s.Run());
  return sqlite3_changes(c_.db()) > 0;
}

Result<bool> SqliteTx::CompleteIdempotencyKey(const IdempotencyRecord& r) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kCompleteIdempotencyKey));
  s.Bind(1, r.principal_id).Bind(2, r.key).Bind(3, r.created_ms).Bind(4, r.status);
  s.Bind(5, r.content_type).Bind(6, r.response_nonce).Bind(7, r.response_body);
  VOUCH_TRY(s.Run());
  return sqlite3_changes(c_.db()) > 0;
}

Result<bool> SqliteTx::DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                            TimeMs created_ms) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kDeleteIdempotencyKey));
  s.Bind(1, principal_id).Bind(2, key).Bind(3, created_ms);
  VOUCH_TRY(s.Run());
  return sqlite3_changes(c_.db()) > 0;
}

Result<int64_t> SqliteTx::PruneIdempotencyKeys(TimeMs now) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kPruneIdempotencyKeys));
  s.Bind(1, now);
  VOUCH_TRY(s.Run());
  return static_cast<int64_t>(sqlite3_changes(c_.db()));
}

}  // namespace vouch::store

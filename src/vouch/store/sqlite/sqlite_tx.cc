#include "vouch/store/sqlite/sqlite_tx.h"

#include <fmt/format.h>
#include <algorithm>
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
    "INSERT INTO principals (name, kind, is_admin, disabled, created_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (principal_id, name, token_hash, scope, created_ms, expires_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kFindSecret[] =
    "SELECT name, nonce, ciphertext, created_ms FROM secrets WHERE name = ?1";
constexpr char kInsertSecret[] =
    "INSERT INTO secrets (name, nonce, ciphertext, created_ms) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (name) DO NOTHING";
constexpr char kFindToken[] =
    "SELECT t.id, t.principal_id, t.name, t.token_hash, t.scope, t.created_ms, t.expires_ms, "
    "t.revoked_ms, p.name, p.kind, p.is_admin, p.disabled "
    "FROM tokens t JOIN principals p ON p.id = t.principal_id "
    "WHERE t.token_hash = ?1 AND p.deleted_ms IS NULL";

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
    "AND (?7 IS NULL OR time_ms <= ?7) ORDER BY seq LIMIT ?8";

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

}  // namespace

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
  s.Bind(1, p.name).Bind(2, PrincipalKindName(p.kind)).Bind(3, int64_t{p.is_admin});
  s.Bind(4, int64_t{p.disabled}).Bind(5, created_ms);
  VOUCH_TRY(s.Run());
  p.id = sqlite3_last_insert_rowid(c_.db());
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
  TokenRecord t;
  t.id = s.Int(0);
  t.principal_id = s.Int(1);
  t.name = s.Text(2);
  t.token_hash = s.Text(3);
  t.scope = s.Text(4);
  t.created_ms = s.Int(5);
  t.expires_ms = s.OptionalInt(6);
  t.revoked_ms = s.OptionalInt(7);
  Principal p;
  p.id = t.principal_id;
  p.name = s.Text(8);
  p.kind = s.Text(9) == "user" ? PrincipalKind::kUser : PrincipalKind::kServiceAccount;
  p.is_admin = s.Int(10) != 0;
  p.disabled = s.Int(11) != 0;
  return std::optional<std::pair<TokenRecord, Principal>>(std::pair(std::move(t), std::move(p)));
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
  s.Bind(6, f.since_ms).Bind(7, f.until_ms).Bind(8, f.limit);
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

}  // namespace vouch::store

#include "vouch/store/postgres/postgres_tx.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

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
    "INSERT INTO principals (name, kind, is_admin, disabled, created_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING "
    "RETURNING id";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (principal_id, name, token_hash, scope, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) DO NOTHING RETURNING id";
constexpr char kFindSecret[] =
    "SELECT name, nonce, ciphertext, created_ms FROM secrets WHERE name = $1";
constexpr char kInsertSecret[] =
    "INSERT INTO secrets (name, nonce, ciphertext, created_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (name) DO NOTHING";
constexpr char kFindToken[] =
    "SELECT t.id, t.principal_id, t.name, t.token_hash, t.scope, t.created_ms, t.expires_ms, "
    "t.revoked_ms, p.name, p.kind, p.is_admin, p.disabled "
    "FROM tokens t JOIN principals p ON p.id = t.principal_id "
    "WHERE t.token_hash = $1 AND p.deleted_ms IS NULL";

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
    "AND ($7::bigint IS NULL OR time_ms <= $7::bigint) ORDER BY seq LIMIT $8::bigint";

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

}  // namespace

Status PostgresTx::Run(const char* sql, const PgParams& params) {
  return c_.Query(sql, params).status();
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
  params.Add(p.name).Add(PrincipalKindName(p.kind)).Add(int64_t{p.is_admin});
  params.Add(int64_t{p.disabled}).Add(created_ms);
  VOUCH_ASSIGN_OR_RETURN(
      p.id, InsertReturningId(kInsertPrincipal, params, fmt::format("principal {}", p.name)));
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
  TokenRecord t;
  t.id = r.Int(0, 0);
  t.principal_id = r.Int(0, 1);
  t.name = r.Text(0, 2);
  t.token_hash = r.Text(0, 3);
  t.scope = r.Text(0, 4);
  t.created_ms = r.Int(0, 5);
  t.expires_ms = r.OptionalInt(0, 6);
  t.revoked_ms = r.OptionalInt(0, 7);
  Principal p;
  p.id = t.principal_id;
  p.name = r.Text(0, 8);
  p.kind = r.Text(0, 9) == "user" ? PrincipalKind::kUser : PrincipalKind::kServiceAccount;
  p.is_admin = r.Int(0, 10) != 0;
  p.disabled = r.Int(0, 11) != 0;
  return std::optional<std::pair<TokenRecord, Principal>>(std::pair(std::move(t), std::move(p)));
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
  p.Add(f.until_ms).Add(f.limit);
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

}  // namespace vouch::store

// Models, versions, their tags, metrics, params and aliases, and the cheap rows searches read.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>

#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sql/wait_timer.h"

namespace vouch::store {
namespace {

constexpr char kFindModel[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version, created_by_id "
    "FROM models "
    "WHERE name = $1 AND deleted_ms IS NULL";
// In a write transaction with row locks: the row stays locked until commit, so concurrent changes
// to one model (the next version number above all) serialize on it.
constexpr char kFindModelForUpdate[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version, created_by_id "
    "FROM models "
    "WHERE name = $1 AND deleted_ms IS NULL FOR UPDATE";
constexpr char kListModels[] =
    "SELECT id, name, description, created_ms, updated_ms, created_by, last_version, created_by_id "
    "FROM models "
    "WHERE deleted_ms IS NULL AND name > $1 ORDER BY name LIMIT $2";
constexpr char kInsertModel[] =
    "INSERT INTO models (name, description, created_ms, updated_ms, created_by, last_version, "
    "created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING RETURNING id";
// A rename onto a live name changes nothing (rather than failing the statement, which would abort
// a PostgreSQL transaction); the caller then reports ALREADY_EXISTS.
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
constexpr char kModelAliases[] = "SELECT alias, version FROM model_aliases WHERE model_id = $1";

// Versions: the columns ReadVersion reads, in its order.
#define VOUCH_VERSION_COLUMNS \
  VOUCH_SQL_VERSION_SELECT "FROM model_versions v JOIN models m ON m.id = v.model_id "
constexpr char kFindVersion[] =
    VOUCH_VERSION_COLUMNS "WHERE v.model_id = $1 AND v.version = $2 AND v.deleted_ms IS NULL";
constexpr char kFindVersionForUpdate[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.version = $2 AND v.deleted_ms IS NULL FOR UPDATE OF v";
constexpr char kListVersions[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.version > $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version LIMIT $3";
constexpr char kVersionsInStage[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.stage = $2 AND v.deleted_ms IS NULL ORDER BY v.version";
constexpr char kListAllVersions[] = VOUCH_VERSION_COLUMNS
    "WHERE v.id > $1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id LIMIT $2";
constexpr char kVersionsByRunId[] = VOUCH_VERSION_COLUMNS
    "WHERE v.run_id = $1 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL ORDER BY v.id";
// ListVersionRowsInOrder: one model's live versions past a number, either way, or one run's.
constexpr char kVersionsDown[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.version < $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version DESC LIMIT $3";
constexpr char kVersionsUp[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.version > $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version LIMIT $3";
constexpr char kRunVersionsDown[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.run_id = $4 AND v.version < $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version DESC LIMIT $3";
constexpr char kRunVersionsUp[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $1 AND v.run_id = $4 AND v.version > $2 AND v.deleted_ms IS NULL "
    "ORDER BY v.version LIMIT $3";
// ListVersionRowsByUpdate: newest update first, of every model, of one, of one model's run.
constexpr char kVersionsByUpdate[] = VOUCH_VERSION_COLUMNS
    "WHERE v.deleted_ms IS NULL AND m.deleted_ms IS NULL "
    "AND (v.updated_ms, v.id) < ($1, $2) ORDER BY v.updated_ms DESC, v.id DESC LIMIT $3";
constexpr char kModelVersionsByUpdate[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $4 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL "
    "AND (v.updated_ms, v.id) < ($1, $2) ORDER BY v.updated_ms DESC, v.id DESC LIMIT $3";
constexpr char kRunVersionsByUpdate[] = VOUCH_VERSION_COLUMNS
    "WHERE v.model_id = $4 AND v.run_id = $5 AND v.deleted_ms IS NULL AND m.deleted_ms IS NULL "
    "AND (v.updated_ms, v.id) < ($1, $2) ORDER BY v.updated_ms DESC, v.id DESC LIMIT $3";
#undef VOUCH_VERSION_COLUMNS

// LoadModelDetailsOf reads every live version of the models numbered up to this many versions
// (one walk, no lookups), and looks the others up two index lookups per stage (eight per model).
constexpr int64_t kWalkLatestUpTo = 8;
// QueryVersions reserves room for up to this many of a batch's versions (some 70 KB, below
// malloc's mmap threshold); a larger batch grows the vector past it.
constexpr int kReserveVersionsUpTo = 128;
// One index lookup each on model_versions_stage (model_id, stage, version), for dialects that
// have no one-statement form (Dialect::latest_per_stage).
constexpr char kStageLowest[] =
    "SELECT MIN(version) FROM model_versions "
    "WHERE model_id = $1 AND stage = $2 AND deleted_ms IS NULL";
constexpr char kStageHighest[] =
    "SELECT MAX(version) FROM model_versions "
    "WHERE model_id = $1 AND stage = $2 AND deleted_ms IS NULL";
constexpr char kModelIdsWithTag[] =
    "SELECT t.model_id FROM model_tags t JOIN models m ON m.id = t.model_id "
    "WHERE t.key = $1 AND t.value = $2 AND m.deleted_ms IS NULL";
constexpr char kVersionIdsWithTag[] =
    "SELECT t.version_id FROM version_tags t JOIN model_versions v ON v.id = t.version_id "
    "WHERE t.key = $1 AND t.value = $2 AND v.deleted_ms IS NULL";
constexpr char kInsertVersion[] =
    "INSERT INTO model_versions (model_id, version, source, run_id, model_ref, description, "
    "artifact_digest, status, stage, created_ms, updated_ms, created_by, storage_location, "
    "run_link, created_by_id) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
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

Model ReadModelRow(const sql::Rows& r) {
  Model m;
  m.id = r.Int(0);
  m.name = r.Text(1);
  m.description = r.Text(2);
  m.created_ms = r.Int(3);
  m.updated_ms = r.Int(4);
  m.created_by = r.Text(5);
  m.last_version = r.Int(6);
  m.created_by_id = r.Int(7);
  return m;
}

// Reads the row into `v`, a default-constructed version: into its place in the caller's vector
// rather than into a value moved there (a version is some 500 bytes of strings and maps, and a
// search page moves a hundred of them).
Status ReadVersion(const sql::Rows& r, ModelVersion& v) {
  v.id = r.Int(0);
  v.model_id = r.Int(1);
  v.model_name = r.Text(2);
  v.version = r.Int(3);
  v.source = r.Text(4);
  v.run_id = r.Text(5);
  v.model_ref = r.Text(6);
  v.description = r.Text(7);
  v.artifact_digest = r.Text(8);
  v.status = r.Text(9);
  auto stage = ParseStage(r.Text(10));
  if (!stage.ok()) return Internal("stored stage is unknown: " + r.Text(10));
  v.stage = *stage;
  v.created_ms = r.Int(11);
  v.updated_ms = r.Int(12);
  v.created_by = r.Text(13);
  v.storage_location = r.Text(14);
  v.run_link = r.Text(15);
  v.created_by_id = r.Int(16);
  return OkStatus();
}

// Calls `use` with each row `rows` yields.
Status EachRow(sql::Rows& rows, const std::function<void(const sql::Rows&)>& use) {
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows.Next());
    if (!row) return OkStatus();
    use(rows);
  }
}

// The first column of the only row, or nullopt when there is no row or it is NULL.
Result<std::optional<int64_t>> OptionalIntOf(sql::Connection& c, const char* sql,
                                             std::initializer_list<sql::Value> params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c.Query(sql, params));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  return row ? rows->OptionalInt(0) : std::nullopt;
}

// The highest live version of each model and stage, from Dialect::live_versions_of's rows (by
// model, stage and version, descending): ordered by model id, then by the stage's lowest live
// version, as Dialect::latest_versions_of orders them. Reads only the first row of a stage whole.
Result<std::vector<ModelVersion>> LatestOfLiveVersions(sql::Connection& c, const char* sql,
                                                       const std::string& ids) {
  std::vector<ModelVersion> found;
  std::vector<int64_t> lowest;  // of found's stage, in found's order
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c.Query(sql, {ids}));
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
      if (!row) break;
      const int64_t model_id = rows->Int(1);
      const int64_t version = rows->Int(3);
      if (!found.empty() && found.back().model_id == model_id &&
          StageName(found.back().stage) == rows->Text(10)) {
        lowest.back() = version;
        continue;
      }
      VOUCH_TRY(ReadVersion(*rows, found.emplace_back()));
      lowest.push_back(version);
    }
  }
  std::vector<size_t> order(found.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (found[a].model_id != found[b].model_id) return found[a].model_id < found[b].model_id;
    return lowest[a] < lowest[b];
  });
  std::vector<ModelVersion> out;
  out.reserve(found.size());
  for (size_t i : order) out.push_back(std::move(found[i]));
  return out;
}

}  // namespace

Result<int64_t> SqlTx::InsertReturningId(const char* sql, Params params, std::string_view what) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return AlreadyExists(fmt::format("{} already exists", what));
  return rows->Int(0);
}

Status SqlTx::FillModel(Model& m) {
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kModelTags, {m.id}));
    m.tags.clear();
    VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { m.tags.emplace(r.Text(0), r.Text(1)); }));
  }
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kModelAliases, {m.id}));
    m.aliases.clear();
    VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { m.aliases.emplace(r.Text(0), r.Int(1)); }));
  }
  VOUCH_ASSIGN_OR_RETURN(m.latest_live_version, OptionalIntOf(c_, kLatestLiveVersion, {m.id}));
  return OkStatus();
}

Result<std::optional<Model>> SqlTx::FindModelRow(std::string_view name) {
  sql::WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(std::vector<Model> found,
                         QueryModels(lock_rows_ ? kFindModelForUpdate : kFindModel, {name}, false));
  timer.Stop();
  if (found.empty()) return std::optional<Model>();
  return std::optional<Model>(std::move(found[0]));
}

Result<std::optional<Model>> SqlTx::FindModel(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, FindModelRow(name));
  if (m) VOUCH_TRY(FillModel(*m));
  return m;
}

Status SqlTx::InsertModel(Model& m) {
  VOUCH_ASSIGN_OR_RETURN(m.id, InsertReturningId(kInsertModel,
                                                 {m.name, m.description, m.created_ms, m.updated_ms,
                                                  m.created_by, m.last_version, m.created_by_id},
                                                 fmt::format("model {}", m.name)));
  for (const auto& [k, v] : m.tags) VOUCH_TRY(SetModelTag(m.id, k, v));
  return OkStatus();
}

Status SqlTx::UpdateModel(const Model& m) {
  VOUCH_ASSIGN_OR_RETURN(int64_t changed, c_.Exec(kUpdateModel, {m.id, m.name, m.description,
                                                                 m.updated_ms, m.last_version}));
  if (changed > 0) return OkStatus();
  VOUCH_ASSIGN_OR_RETURN(auto taken, c_.Query(kLiveNameTakenByOther, {m.id, m.name}));
  VOUCH_ASSIGN_OR_RETURN(bool row, taken->Next());
  if (row) return AlreadyExists(fmt::format("model {} already exists", m.name));
  return OkStatus();
}

Status SqlTx::MarkModelDeleted(int64_t model_id, TimeMs when) {
  return c_.Exec(kDeleteModel, {model_id, when}).status();
}

Result<std::vector<Model>> SqlTx::ListModels(std::string_view after_name, int limit) {
  return QueryModels(kListModels, {after_name, limit}, true);
}

Status SqlTx::SetModelTag(int64_t model_id, std::string_view key, std::string_view value) {
  return c_.Exec(kSetModelTag, {model_id, key, value}).status();
}

Status SqlTx::DeleteModelTag(int64_t model_id, std::string_view key) {
  return c_.Exec(kDeleteModelTag, {model_id, key}).status();
}

Status SqlTx::FillVersion(ModelVersion& v) {
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kVersionTags, {v.id}));
    v.tags.clear();
    VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { v.tags.emplace(r.Text(0), r.Text(1)); }));
  }
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kVersionParams, {v.id}));
    v.params.clear();
    VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { v.params.emplace(r.Text(0), r.Text(1)); }));
  }
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kVersionMetrics, {v.id}));
    v.metrics.clear();
    VOUCH_TRY(
        EachRow(*rows, [&](const sql::Rows& r) { v.metrics.emplace(r.Text(0), r.Double(1)); }));
  }
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kVersionAliases, {v.model_id, v.version}));
  v.aliases.clear();
  return EachRow(*rows, [&](const sql::Rows& r) { v.aliases.push_back(r.Text(0)); });
}

Status SqlTx::LoadVersionDetailsOf(std::span<ModelVersion> versions) {
  if (versions.empty()) return OkStatus();
  // Sorted vectors rather than maps: a page's hundred versions would cost a hundred map nodes.
  // Each id once, the last of a repeated one (as a map assigned in turn would keep): the
  // dialects' statements may yield a row per occurrence.
  using IdVersion = std::pair<int64_t, ModelVersion*>;
  using NumberVersion = std::pair<std::pair<int64_t, int64_t>, ModelVersion*>;  // model, number
  std::vector<IdVersion> by_id;
  by_id.reserve(versions.size());
  for (auto& v : versions) {
    v.tags.clear();
    v.params.clear();
    v.metrics.clear();
    v.aliases.clear();
    by_id.emplace_back(v.id, &v);
  }
  auto first_less = [](const auto& a, const auto& b) { return a.first < b.first; };
  auto first_equal = [](const auto& a, const auto& b) { return a.first == b.first; };
  std::stable_sort(by_id.begin(), by_id.end(), first_less);
  by_id.erase(by_id.begin(), std::unique(by_id.rbegin(), by_id.rend(), first_equal).base());
  std::vector<NumberVersion> by_number;
  by_number.reserve(by_id.size());
  for (const auto& [_, v] : by_id) by_number.push_back({{v->model_id, v->version}, v});
  std::sort(by_number.begin(), by_number.end(), first_less);
  std::string ids(1, d_.id_list_open), model_ids(1, d_.id_list_open);
  for (const auto& [id, _] : by_id) {
    if (ids.size() > 1) ids.push_back(',');
    ids += std::to_string(id);
  }
  for (size_t i = 0; i < by_number.size(); ++i) {
    const int64_t model_id = by_number[i].first.first;
    if (i > 0 && by_number[i - 1].first.first == model_id) continue;
    if (model_ids.size() > 1) model_ids.push_back(',');
    model_ids += std::to_string(model_id);
  }
  ids.push_back(d_.id_list_close);
  model_ids.push_back(d_.id_list_close);
  // Ids that fill at least half their range (a page of one model's versions) are read by walking
  // the range: at most as many other versions' rows as the page's, for one seek per table.
  const int64_t lowest = by_id.front().first, highest = by_id.back().first;
  const bool in_range = d_.version_details_in_range != nullptr &&
                        static_cast<uint64_t>(highest) - static_cast<uint64_t>(lowest) <
                            2 * static_cast<uint64_t>(by_id.size());
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, in_range ? c_.Query(d_.version_details_in_range, {lowest, highest, model_ids})
                          : c_.Query(d_.version_details_of, {ids, model_ids}));
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    const auto kind = static_cast<sql::VersionDetail>(rows->Int(1));
    ModelVersion* v = nullptr;
    if (kind == sql::VersionDetail::kAlias) {
      const NumberVersion key{{rows->Int(0), rows->Int(5)}, nullptr};
      auto it = std::lower_bound(by_number.begin(), by_number.end(), key, first_less);
      if (it != by_number.end() && it->first == key.first) v = it->second;
    } else {
      const IdVersion key{rows->Int(0), nullptr};
      auto it = std::lower_bound(by_id.begin(), by_id.end(), key, first_less);
      if (it != by_id.end() && it->first == key.first) v = it->second;
    }
    if (v == nullptr) continue;  // a version the range holds but the page does not
    switch (kind) {
      case sql::VersionDetail::kTag:
        v->tags.emplace(rows->Text(2), rows->Text(3));
        break;
      case sql::VersionDetail::kMetric:
        v->metrics.emplace(rows->Text(2), rows->Double(4));
        break;
      case sql::VersionDetail::kParam:
        v->params.emplace(rows->Text(2), rows->Text(3));
        break;
      case sql::VersionDetail::kAlias:
        v->aliases.push_back(rows->Text(2));
        break;
    }
  }
  // Aliases byte-wise, as FillVersion's ORDER BY alias reads them (COLLATE "C" on PostgreSQL).
  for (const auto& [_, v] : by_id) std::sort(v->aliases.begin(), v->aliases.end());
  return OkStatus();
}

Status SqlTx::LoadModelDetailsOf(std::span<Model> models) {
  if (models.empty()) return OkStatus();
  std::map<int64_t, Model*> by_id;
  std::string ids(1, d_.id_list_open);
  for (auto& m : models) {
    m.tags.clear();
    m.aliases.clear();
    m.latest_live_version.reset();
    m.latest_versions.clear();
    by_id[m.id] = &m;
  }
  // Each id once: the dialects' statements may yield a row per occurrence.
  for (const auto& [id, _] : by_id) {
    if (ids.size() > 1) ids.push_back(',');
    ids += std::to_string(id);
  }
  ids.push_back(d_.id_list_close);
  // Runs `sql` over the ids and hands each row, with its model, to `use`.
  auto each = [&](const char* sql,
                  const std::function<void(Model&, const sql::Rows&)>& use) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, {ids}));
    return EachRow(*rows, [&](const sql::Rows& r) {
      auto it = by_id.find(r.Int(0));
      if (it != by_id.end()) use(*it->second, r);
    });
  };
  VOUCH_TRY(each(d_.model_tags_of,
                 [](Model& m, const sql::Rows& r) { m.tags.emplace(r.Text(1), r.Text(2)); }));
  VOUCH_TRY(each(d_.model_aliases_of,
                 [](Model& m, const sql::Rows& r) { m.aliases.emplace(r.Text(1), r.Int(2)); }));
  // A model has at most its last version number of live versions: reading them all is cheaper
  // than two index lookups per stage while they are few. Each model is in one list, and each
  // list's answer keeps a model's rows in order, so the two answers together keep it too.
  std::string walked(1, d_.id_list_open), probed(1, d_.id_list_open);
  for (const auto& m : models) {
    std::string& list = m.last_version <= kWalkLatestUpTo ? walked : probed;
    if (list.size() > 1) list.push_back(',');
    list += std::to_string(m.id);
  }
  walked.push_back(d_.id_list_close);
  probed.push_back(d_.id_list_close);
  std::vector<ModelVersion> latest;
  if (walked.size() > 2) {
    VOUCH_ASSIGN_OR_RETURN(latest, LatestOfLiveVersions(c_, d_.live_versions_of, walked));
  }
  if (probed.size() > 2) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> more,
                           QueryVersions(d_.latest_versions_of, {probed}, false));
    if (latest.empty()) {
      latest = std::move(more);
    } else {
      std::move(more.begin(), more.end(), std::back_inserter(latest));
    }
  }
  VOUCH_TRY(LoadVersionDetailsOf(latest));
  for (auto& v : latest) {
    auto it = by_id.find(v.model_id);
    if (it == by_id.end()) continue;
    Model& m = *it->second;
    m.latest_live_version = std::max(m.latest_live_version.value_or(v.version), v.version);
    m.latest_versions.push_back(std::move(v));
  }
  return OkStatus();
}

Result<std::vector<ModelVersion>> SqlTx::QueryVersions(const char* sql, Params params, bool details,
                                                       int expected_rows) {
  std::vector<ModelVersion> out;
  // Room for a batch up front: growing the vector moves every version read so far.
  out.reserve(std::clamp(expected_rows, 0, kReserveVersionsUpTo));
  {
    // Read to the end and release the statement before the detail queries run.
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
      if (!row) break;
      VOUCH_TRY(ReadVersion(*rows, out.emplace_back()));
    }
  }
  if (details) {
    for (auto& v : out) VOUCH_TRY(FillVersion(v));
  }
  return out;
}

Result<std::vector<Model>> SqlTx::QueryModels(const char* sql, Params params, bool details) {
  std::vector<Model> out;
  {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
    VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { out.push_back(ReadModelRow(r)); }));
  }
  if (details) {
    for (auto& m : out) VOUCH_TRY(FillModel(m));
  }
  return out;
}

Result<std::optional<ModelVersion>> SqlTx::FindVersion(int64_t model_id, int64_t version) {
  std::vector<ModelVersion> found;
  {
    sql::WaitTimer timer(RowLockCounter());
    VOUCH_ASSIGN_OR_RETURN(found, QueryVersions(lock_rows_ ? kFindVersionForUpdate : kFindVersion,
                                                {model_id, version}, false));
  }
  if (found.empty()) return std::optional<ModelVersion>();
  VOUCH_TRY(FillVersion(found[0]));
  return std::optional<ModelVersion>(std::move(found[0]));
}

Status SqlTx::InsertVersion(ModelVersion& v) {
  VOUCH_ASSIGN_OR_RETURN(
      v.id, InsertReturningId(
                kInsertVersion,
                {v.model_id, v.version, v.source, v.run_id, v.model_ref, v.description,
                 v.artifact_digest, v.status, StageName(v.stage), v.created_ms, v.updated_ms,
                 v.created_by, v.storage_location, v.run_link, v.created_by_id},
                fmt::format("version {} of model {}", v.version, v.model_id)));
  for (const auto& [k, val] : v.tags) VOUCH_TRY(SetVersionTag(v.id, k, val));
  for (const auto& [k, val] : v.metrics) VOUCH_TRY(SetVersionMetric(v.id, k, val));
  for (const auto& [k, val] : v.params) VOUCH_TRY(SetVersionParam(v.id, k, val));
  return OkStatus();
}

Status SqlTx::UpdateVersion(const ModelVersion& v) {
  return c_.Exec(kUpdateVersion, {v.id, v.description, StageName(v.stage), v.status, v.updated_ms})
      .status();
}

Status SqlTx::MarkVersionDeleted(int64_t version_id, TimeMs when) {
  return c_.Exec(kDeleteVersion, {version_id, when}).status();
}

Result<std::vector<ModelVersion>> SqlTx::ListVersions(int64_t model_id, int64_t after_version,
                                                      int limit) {
  return QueryVersions(kListVersions, {model_id, after_version, limit});
}

Result<std::vector<ModelVersion>> SqlTx::VersionsInStage(int64_t model_id, Stage stage) {
  return QueryVersions(kVersionsInStage, {model_id, StageName(stage)});
}

Result<std::vector<int64_t>> SqlTx::QueryIds(const char* sql, std::string_view key,
                                             std::string_view value) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, {key, value}));
  std::vector<int64_t> out;
  VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { out.push_back(r.Int(0)); }));
  return out;
}

Result<std::vector<int64_t>> SqlTx::ModelIdsWithTag(std::string_view key, std::string_view value) {
  return QueryIds(kModelIdsWithTag, key, value);
}

Result<std::vector<int64_t>> SqlTx::VersionIdsWithTag(std::string_view key,
                                                      std::string_view value) {
  return QueryIds(kVersionIdsWithTag, key, value);
}

Result<std::vector<Model>> SqlTx::ListModelRows(std::string_view after_name, int limit) {
  return QueryModels(kListModels, {after_name, limit}, false);
}

Result<std::vector<ModelVersion>> SqlTx::ListVersionRows(int64_t model_id, int64_t after_version,
                                                         int limit) {
  return QueryVersions(kListVersions, {model_id, after_version, limit}, false, limit);
}

Result<std::vector<ModelVersion>> SqlTx::ListVersionRowsByUpdate(
    std::optional<int64_t> model_id, std::optional<std::string_view> run_id, TimeMs before_ms,
    int64_t before_id, int limit) {
  if (!model_id) {
    return QueryVersions(kVersionsByUpdate, {before_ms, before_id, limit}, false, limit);
  }
  if (!run_id) {
    return QueryVersions(kModelVersionsByUpdate, {before_ms, before_id, limit, *model_id}, false,
                         limit);
  }
  return QueryVersions(kRunVersionsByUpdate, {before_ms, before_id, limit, *model_id, *run_id},
                       false, limit);
}

Result<std::vector<ModelVersion>> SqlTx::ListVersionRowsInOrder(
    int64_t model_id, std::optional<std::string_view> run_id, int64_t from_version, bool descending,
    int limit) {
  if (!run_id) {
    return QueryVersions(descending ? kVersionsDown : kVersionsUp, {model_id, from_version, limit},
                         false, limit);
  }
  return QueryVersions(descending ? kRunVersionsDown : kRunVersionsUp,
                       {model_id, from_version, limit, *run_id}, false, limit);
}

Result<std::vector<ModelVersion>> SqlTx::ListAllVersionRows(int64_t after_id, int limit) {
  return QueryVersions(kListAllVersions, {after_id, limit}, false, limit);
}

Result<std::vector<ModelVersion>> SqlTx::VersionRowsByRunId(std::string_view run_id) {
  return QueryVersions(kVersionsByRunId, {run_id}, false);
}

Result<std::vector<ModelVersion>> SqlTx::ListAllVersions(int64_t after_id, int limit) {
  return QueryVersions(kListAllVersions, {after_id, limit});
}

Result<std::vector<ModelVersion>> SqlTx::VersionsByRunId(std::string_view run_id) {
  return QueryVersions(kVersionsByRunId, {run_id});
}

Result<std::vector<std::pair<Stage, int64_t>>> SqlTx::LatestVersionPerStage(int64_t model_id) {
  struct Bounds {
    int64_t lowest;
    Stage stage;
    int64_t highest;
  };
  std::vector<Bounds> found;
  if (d_.latest_per_stage != nullptr) {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(d_.latest_per_stage, {model_id}));
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
      if (!row) break;
      auto stage = ParseStage(rows->Text(0));
      if (!stage.ok()) return Internal("stored stage is unknown: " + rows->Text(0));
      found.push_back({rows->Int(1), *stage, rows->Int(2)});
    }
  } else {
    for (Stage stage : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> highest,
                             OptionalIntOf(c_, kStageHighest, {model_id, StageName(stage)}));
      if (!highest) continue;
      VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> lowest,
                             OptionalIntOf(c_, kStageLowest, {model_id, StageName(stage)}));
      found.push_back({lowest.value_or(*highest), stage, *highest});
    }
    std::sort(found.begin(), found.end(),
              [](const Bounds& a, const Bounds& b) { return a.lowest < b.lowest; });
  }
  std::vector<std::pair<Stage, int64_t>> out;
  for (const auto& b : found) out.emplace_back(b.stage, b.highest);
  return out;
}

Status SqlTx::SetVersionTag(int64_t version_id, std::string_view key, std::string_view value) {
  return c_.Exec(kSetVersionTag, {version_id, key, value}).status();
}

Status SqlTx::DeleteVersionTag(int64_t version_id, std::string_view key) {
  return c_.Exec(kDeleteVersionTag, {version_id, key}).status();
}

Status SqlTx::SetVersionMetric(int64_t version_id, std::string_view key, double value) {
  return c_.Exec(kSetVersionMetric, {version_id, key, value}).status();
}

Status SqlTx::DeleteVersionMetric(int64_t version_id, std::string_view key) {
  return c_.Exec(kDeleteVersionMetric, {version_id, key}).status();
}

Status SqlTx::SetVersionParam(int64_t version_id, std::string_view key, std::string_view value) {
  return c_.Exec(kSetVersionParam, {version_id, key, value}).status();
}

Status SqlTx::DeleteVersionParam(int64_t version_id, std::string_view key) {
  return c_.Exec(kDeleteVersionParam, {version_id, key}).status();
}

Result<std::optional<int64_t>> SqlTx::FindAlias(int64_t model_id, std::string_view alias) {
  return OptionalIntOf(c_, kFindAlias, {model_id, alias});
}

Status SqlTx::SetAlias(int64_t model_id, std::string_view alias, int64_t version) {
  return c_.Exec(kSetAlias, {model_id, alias, version}).status();
}

Status SqlTx::DeleteAlias(int64_t model_id, std::string_view alias) {
  return c_.Exec(kDeleteAlias, {model_id, alias}).status();
}

Result<std::vector<std::string>> SqlTx::DeleteAliasesOf(int64_t model_id, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kDeleteAliasesOf, {model_id, version}));
  std::vector<std::string> out;
  VOUCH_TRY(EachRow(*rows, [&](const sql::Rows& r) { out.push_back(r.Text(0)); }));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vouch::store

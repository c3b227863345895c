// The shared store test suite (see store_test_suite.h). Written against store::Store and store::Tx
// only; each backend instantiates it (store/sqlite/sqlite_store_test.cc).
#include "vouch/store/store_test_suite.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "vouch/util/json.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

Model NewModel(std::string name, StringMap tags = {}) {
  return Model{.name = std::move(name),
               .description = "a model",
               .tags = std::move(tags),
               .created_ms = kT0,
               .updated_ms = kT0,
               .created_by = "alice"};
}

ModelVersion NewVersion(const Model& m, int64_t n) {
  return ModelVersion{.model_id = m.id,
                      .model_name = m.name,
                      .version = n,
                      .source = fmt::format("s3://bucket/{}/{}", m.name, n),
                      .run_id = fmt::format("run-{}", n),
                      .description = "v",
                      .artifact_digest = "sha256:" + std::string(64, 'a'),
                      .created_ms = kT0 + n,
                      .updated_ms = kT0 + n,
                      .created_by = "alice"};
}

// Inserts a model in its own write; returns it with its id.
Model AddModel(Store& s, std::string name, StringMap tags = {}) {
  Model m = NewModel(std::move(name), std::move(tags));
  Status st = s.Write([&](Tx& tx) { return tx.InsertModel(m); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

ModelVersion AddVersion(Store& s, const Model& m, int64_t n) {
  ModelVersion v = NewVersion(m, n);
  Status st = s.Write([&](Tx& tx) { return tx.InsertVersion(v); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return v;
}

std::optional<Model> FindModel(Store& s, std::string_view name) {
  return Query(s, [&](Tx& tx) { return tx.FindModel(name); });
}

std::optional<ModelVersion> FindVersion(Store& s, int64_t model_id, int64_t n) {
  return Query(s, [&](Tx& tx) { return tx.FindVersion(model_id, n); });
}

AuditEvent Event(std::string action, std::string actor = "alice", TimeMs time_ms = kT0) {
  AuditEvent e;
  e.time_ms = time_ms;
  e.actor_id = 7;
  e.actor_name = std::move(actor);
  e.action = std::move(action);
  return e;
}

AuditEvent ModelEvent(std::string action, const Model& m, int64_t version = 0) {
  AuditEvent e = Event(std::move(action));
  e.model_id = m.id;
  e.model_name = m.name;
  e.version = version;
  return e;
}

// The canonical body the tests store: it embeds the sequence number, as the contract demands.
std::string BodyFor(const AuditEvent& e, int64_t seq) {
  json::object o{{"seq", seq}, {"action", e.action}, {"actor", e.actor_name}};
  return CanonicalJson(o).value();
}

Result<int64_t> Append(Tx& tx, const AuditEvent& e) {
  return tx.AppendAuditEvent(e,
                             [&](int64_t seq) -> Result<std::string> { return BodyFor(e, seq); });
}

int64_t AppendOne(Store& s, const AuditEvent& e) {
  int64_t seq = 0;
  Status st = s.Write([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(seq, Append(tx, e));
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return seq;
}

std::vector<int64_t> Seqs(const std::vector<StoredAuditEvent>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<int64_t> ListSeqs(Store& s, const AuditFilter& f) {
  return Seqs(Query(s, [&](Tx& tx) { return tx.ListAuditEvents(f); }));
}

std::vector<std::string> Names(const std::vector<Model>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.name);
  return out;
}

std::vector<int64_t> Numbers(const std::vector<ModelVersion>& versions) {
  std::vector<int64_t> out;
  for (const auto& v : versions) out.push_back(v.version);
  return out;
}

// ---- Models ----------------------------------------------------------------------------------

TEST_P(StoreSuite, InsertedModelIsFoundByNameWithEveryField) {
  Model m = AddModel(store(), "fraud-detector", {{"team", "risk"}, {"tier", "1"}});
  EXPECT_GT(m.id, 0);
  auto found = FindModel(store(), "fraud-detector");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, m.id);
  EXPECT_EQ(found->name, "fraud-detector");
  EXPECT_EQ(found->description, "a model");
  EXPECT_EQ(found->tags, (StringMap{{"team", "risk"}, {"tier", "1"}}));
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->updated_ms, kT0);
  EXPECT_EQ(found->created_by, "alice");
  EXPECT_EQ(found->last_version, 0);
  EXPECT_FALSE(found->latest_live_version.has_value());
}

TEST_P(StoreSuite, UnknownModelNameIsNotFound) {
  AddModel(store(), "a");
  EXPECT_FALSE(FindModel(store(), "b").has_value());
  EXPECT_FALSE(FindModel(store(), "A").has_value());
  EXPECT_FALSE(FindModel(store(), "").has_value());
}

TEST_P(StoreSuite, ModelIdsAreDistinct) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  EXPECT_NE(a.id, b.id);
}

TEST_P(StoreSuite, InsertingADuplicateLiveNameIsAlreadyExists) {
  Model first = AddModel(store(), "dup");
  Model again = NewModel("dup");
  again.description = "second";
  Status st = store().Write([&](Tx& tx) { return tx.InsertModel(again); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  auto found = FindModel(store(), "dup");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, first.id);
  EXPECT_EQ(found->description, "a model");
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.ListModels("", 100); }).size(), 1u);
}

TEST_P(StoreSuite, UpdateModelWritesNameDescriptionUpdatedTimeAndLastVersion) {
  Model m = AddModel(store(), "old-name");
  m.name = "new-name";
  m.description = "changed";
  m.updated_ms = kT0 + 5;
  m.last_version = 3;
  m.created_ms = 1;          // not written
  m.created_by = "mallory";  // not written
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateModel(m); }).ok());
  EXPECT_FALSE(FindModel(store(), "old-name").has_value());
  auto found = FindModel(store(), "new-name");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, m.id);
  EXPECT_EQ(found->description, "changed");
  EXPECT_EQ(found->updated_ms, kT0 + 5);
  EXPECT_EQ(found->last_version, 3);
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->created_by, "alice");
}

TEST_P(StoreSuite, RenamingOntoALiveNameIsAlreadyExists) {
  Model a = AddModel(store(), "a");
  AddModel(store(), "b");
  a.name = "b";
  Status st = store().Write([&](Tx& tx) { return tx.UpdateModel(a); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  auto still = FindModel(store(), "a");
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->id, a.id);
}

TEST_P(StoreSuite, RenamingOntoADeletedModelsNameIsAllowed) {
  Model gone = AddModel(store(), "gone");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkModelDeleted(gone.id, kT0 + 1); }).ok());
  Model a = AddModel(store(), "a");
  a.name = "gone";
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateModel(a); }).ok());
  auto found = FindModel(store(), "gone");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, a.id);
}

TEST_P(StoreSuite, ListModelsOrdersByNameAndPagesStrictlyAfterTheGivenName) {
  for (const char* name : {"delta", "alpha", "echo", "charlie", "bravo", "golf", "foxtrot"}) {
    AddModel(store(), name);
  }
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    auto page = Query(store(), [&](Tx& tx) { return tx.ListModels(after, 3); });
    ASSERT_LE(page.size(), 3u);
    if (page.empty()) break;
    ++pages;
    for (const auto& m : page) seen.push_back(m.name);
    after = page.back().name;
    ASSERT_LT(pages, 10) << "paging does not end";
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
                                            "golf"}));
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListModels("charlie", 2); })),
            (std::vector<std::string>{"delta", "echo"}));
}

TEST_P(StoreSuite, ListModelsFillsTagsAndLatestLiveVersion) {
  Model m = AddModel(store(), "m", {{"k", "v"}});
  AddVersion(store(), m, 1);
  ModelVersion v2 = AddVersion(store(), m, 2);
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(v2.id, kT0); }).ok());
  auto models = Query(store(), [](Tx& tx) { return tx.ListModels("", 10); });
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].tags, (StringMap{{"k", "v"}}));
  EXPECT_EQ(models[0].latest_live_version, std::optional<int64_t>(1));
}

TEST_P(StoreSuite, DeletedModelIsHiddenAndItsNameIsReusableWithANewId) {
  Model old = AddModel(store(), "reused", {{"k", "old"}});
  AddModel(store(), "other");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkModelDeleted(old.id, kT0 + 1); }).ok());
  EXPECT_FALSE(FindModel(store(), "reused").has_value());
  EXPECT_EQ(Names(Query(store(), [](Tx& tx) { return tx.ListModels("", 10); })),
            (std::vector<std::string>{"other"}));

  Model fresh = AddModel(store(), "reused");
  EXPECT_NE(fresh.id, old.id);
  auto found = FindModel(store(), "reused");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, fresh.id);
  EXPECT_TRUE(found->tags.empty()) << "a re-created model must not inherit the old one's tags";
}

TEST_P(StoreSuite, ModelTagsAreSetOverwrittenAndDeleted) {
  Model m = AddModel(store(), "m");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetModelTag(m.id, "team", "risk"); }).ok());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetModelTag(m.id, "tier", "1"); }).ok());
  EXPECT_EQ(FindModel(store(), "m")->tags, (StringMap{{"team", "risk"}, {"tier", "1"}}));
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetModelTag(m.id, "team", "fraud"); }).ok());
  EXPECT_EQ(FindModel(store(), "m")->tags, (StringMap{{"team", "fraud"}, {"tier", "1"}}));
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.DeleteModelTag(m.id, "tier"); }).ok());
  EXPECT_EQ(FindModel(store(), "m")->tags, (StringMap{{"team", "fraud"}}));
  // Deleting an absent key changes nothing and is not an error at this layer.
  EXPECT_TRUE(store().Write([&](Tx& tx) { return tx.DeleteModelTag(m.id, "nope"); }).ok());
  EXPECT_EQ(FindModel(store(), "m")->tags, (StringMap{{"team", "fraud"}}));
}

TEST_P(StoreSuite, ModelTagsBelongToTheirModel) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetModelTag(a.id, "k", "a"); }).ok());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetModelTag(b.id, "k", "b"); }).ok());
  EXPECT_EQ(FindModel(store(), "a")->tags, (StringMap{{"k", "a"}}));
  EXPECT_EQ(FindModel(store(), "b")->tags, (StringMap{{"k", "b"}}));
}

TEST_P(StoreSuite, TextRoundTripsByteForByte) {
  const std::string name =
      "team/fraud detector \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 'quoted' \"x\"";
  Model m = AddModel(store(), name, {{"emoji \xf0\x9f\x98\x80", std::string(5000, 'z')}});
  auto found = FindModel(store(), name);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->name, name);
  EXPECT_EQ(found->tags.at("emoji \xf0\x9f\x98\x80"), std::string(5000, 'z'));
}

// ---- Versions --------------------------------------------------------------------------------

TEST_P(StoreSuite, InsertedVersionIsFoundWithTagsMetricsAndParams) {
  Model m = AddModel(store(), "m");
  ModelVersion v = NewVersion(m, 1);
  v.model_ref = "m-123";
  v.stage = Stage::kStaging;
  v.tags = {{"commit", "1a2b3c"}};
  v.metrics = {{"auc", 0.93}, {"loss", -1.5e-7}};
  v.params = {{"lr", "0.1"}};
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
  EXPECT_GT(v.id, 0);
  auto found = FindVersion(store(), m.id, 1);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, v.id);
  EXPECT_EQ(found->model_id, m.id);
  EXPECT_EQ(found->model_name, "m");
  EXPECT_EQ(found->version, 1);
  EXPECT_EQ(found->source, "s3://bucket/m/1");
  EXPECT_EQ(found->run_id, "run-1");
  EXPECT_EQ(found->model_ref, "m-123");
  EXPECT_EQ(found->description, "v");
  EXPECT_EQ(found->artifact_digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(found->status, "READY");
  EXPECT_EQ(found->stage, Stage::kStaging);
  EXPECT_EQ(found->tags, v.tags);
  EXPECT_EQ(found->metrics, v.metrics);
  EXPECT_EQ(found->params, v.params);
  EXPECT_TRUE(found->aliases.empty());
  EXPECT_EQ(found->created_ms, kT0 + 1);
  EXPECT_EQ(found->updated_ms, kT0 + 1);
  EXPECT_EQ(found->created_by, "alice");
}

TEST_P(StoreSuite, VersionsAreFoundOnlyUnderTheirModelAndNumber) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  AddVersion(store(), a, 1);
  EXPECT_TRUE(FindVersion(store(), a.id, 1).has_value());
  EXPECT_FALSE(FindVersion(store(), a.id, 2).has_value());
  EXPECT_FALSE(FindVersion(store(), b.id, 1).has_value());
}

TEST_P(StoreSuite, AVersionNumberCannotBeInsertedTwiceEvenAfterDeletion) {
  Model m = AddModel(store(), "m");
  ModelVersion v1 = AddVersion(store(), m, 1);
  ModelVersion dup = NewVersion(m, 1);
  EXPECT_EQ(store().Write([&](Tx& tx) { return tx.InsertVersion(dup); }).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(v1.id, kT0); }).ok());
  ModelVersion again = NewVersion(m, 1);
  EXPECT_EQ(store().Write([&](Tx& tx) { return tx.InsertVersion(again); }).code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(FindVersion(store(), m.id, 1).has_value());
}

TEST_P(StoreSuite, ListVersionsAscendsPagesAfterTheGivenNumberAndSkipsDeleted) {
  Model m = AddModel(store(), "m");
  Model other = AddModel(store(), "other");
  AddVersion(store(), other, 1);
  std::vector<ModelVersion> vs;
  for (int64_t n = 1; n <= 7; ++n) vs.push_back(AddVersion(store(), m, n));
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(vs[3].id, kT0); }).ok());

  std::vector<int64_t> seen;
  int64_t after = 0;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10) << "paging does not end";
    auto page = Query(store(), [&](Tx& tx) { return tx.ListVersions(m.id, after, 2); });
    ASSERT_LE(page.size(), 2u);
    if (page.empty()) break;
    for (const auto& v : page) {
      EXPECT_EQ(v.model_id, m.id);
      seen.push_back(v.version);
    }
    after = page.back().version;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 5, 6, 7}));
  EXPECT_EQ(Numbers(Query(store(), [&](Tx& tx) { return tx.ListVersions(m.id, 3, 100); })),
            (std::vector<int64_t>{5, 6, 7}));
}

TEST_P(StoreSuite, ListedVersionsCarryTheirTagsMetricsParamsAndAliases) {
  Model m = AddModel(store(), "m");
  ModelVersion v = NewVersion(m, 1);
  v.tags = {{"t", "1"}};
  v.metrics = {{"auc", 0.5}};
  v.params = {{"p", "x"}};
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetAlias(m.id, "champion", 1); }).ok());
  auto listed = Query(store(), [&](Tx& tx) { return tx.ListVersions(m.id, 0, 10); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].tags, v.tags);
  EXPECT_EQ(listed[0].metrics, v.metrics);
  EXPECT_EQ(listed[0].params, v.params);
  EXPECT_EQ(listed[0].aliases, (std::vector<std::string>{"champion"}));
}

TEST_P(StoreSuite, LoadVersionDetailsOfFillsEachVersionAsLoadVersionDetailsDoes) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  std::vector<ModelVersion> made;
  for (const Model* m : {&a, &b}) {
    for (int64_t n = 1; n <= 3; ++n) {
      ModelVersion v = NewVersion(*m, n);
      if (n != 2) {
        v.tags = {{"t", fmt::format("{}{}", m->name, n)}, {"u", "same"}};
        v.metrics = {{"auc", 0.25 * static_cast<double>(n)}};
        v.params = {{"p", m->name}};
      }
      ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
      made.push_back(v);
    }
  }
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetAlias(a.id, "zeta", 3));
                    VOUCH_TRY(tx.SetAlias(a.id, "alpha", 3));
                    return tx.SetAlias(b.id, "champion", 1);
                  })
                  .ok());
  // Rows without details, some with stale ones, in an order of their own.
  std::vector<ModelVersion> rows = {made[5], made[0], made[2], made[1], made[3]};
  rows[1].tags = {{"stale", "x"}};
  rows[2].aliases = {"stale"};
  ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadVersionDetailsOf(rows); }).ok());
  for (const auto& row : rows) {
    ModelVersion one = row;
    ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadVersionDetails(one); }).ok());
    EXPECT_EQ(row.tags, one.tags) << row.model_name << "/" << row.version;
    EXPECT_EQ(row.metrics, one.metrics) << row.model_name << "/" << row.version;
    EXPECT_EQ(row.params, one.params) << row.model_name << "/" << row.version;
    EXPECT_EQ(row.aliases, one.aliases) << row.model_name << "/" << row.version;
  }
  EXPECT_EQ(rows[1].tags, (StringMap{{"t", "a1"}, {"u", "same"}}));
  EXPECT_EQ(rows[2].aliases, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_EQ(rows[4].aliases, (std::vector<std::string>{"champion"}));
  EXPECT_TRUE(rows[3].tags.empty());
  // A version listed twice gets its aliases once.
  std::vector<ModelVersion> twice = {made[2], made[2]};
  ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadVersionDetailsOf(twice); }).ok());
  EXPECT_EQ(twice[1].aliases, (std::vector<std::string>{"alpha", "zeta"}));
  std::vector<ModelVersion> none;
  EXPECT_TRUE(store().Read([&](Tx& tx) { return tx.LoadVersionDetailsOf(none); }).ok());
}

TEST_P(StoreSuite, LoadVersionDetailsOfReadsOnlyItsVersionsWhetherTheirIdsAreCloseOrFarApart) {
  Model a = AddModel(store(), "a");
  std::vector<ModelVersion> made;
  for (int64_t n = 1; n <= 10; ++n) {
    ModelVersion v = NewVersion(a, n);
    v.tags = {{"n", std::to_string(n)}};
    v.metrics = {{"m", static_cast<double>(n)}};
    v.params = {{"p", std::to_string(n)}};
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
    ASSERT_TRUE(store()
                    .Write([&](Tx& tx) -> Status {
                      VOUCH_TRY(tx.SetAlias(a.id, fmt::format("v{}", n), n));
                      return tx.SetAlias(a.id, fmt::format("b{}", n), n);
                    })
                    .ok());
    made.push_back(v);
  }
  // Every other version (their ids fill half their range; the others' details lie between), and
  // the first and last (far apart).
  for (std::vector<ModelVersion> rows :
       {std::vector<ModelVersion>{made[8], made[0], made[4], made[2], made[6]},
        std::vector<ModelVersion>{made[9], made[0]}}) {
    ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadVersionDetailsOf(rows); }).ok());
    for (const auto& row : rows) {
      const std::string n = std::to_string(row.version);
      EXPECT_EQ(row.tags, (StringMap{{"n", n}})) << row.version;
      EXPECT_EQ(row.metrics, (MetricMap{{"m", static_cast<double>(row.version)}})) << row.version;
      EXPECT_EQ(row.params, (StringMap{{"p", n}})) << row.version;
      EXPECT_EQ(row.aliases, (std::vector<std::string>{"b" + n, "v" + n})) << row.version;
    }
  }
}

TEST_P(StoreSuite, LoadModelDetailsOfFillsEachModelAsTheOneModelReadsDo) {
  Model a = AddModel(store(), "a", {{"team", "x"}, {"k", "a"}});
  Model b = AddModel(store(), "b", {{"k", "b"}});
  Model empty = AddModel(store(), "empty");
  // a: 1 Production, 2 Staging, 3 None, 4 Production, 5 Staging (deleted), 6 Archived, 7 None;
  // b: 1 Archived, 2 None.
  const std::vector<Stage> a_stages = {Stage::kProduction, Stage::kStaging, Stage::kNone,
                                       Stage::kProduction, Stage::kStaging, Stage::kArchived,
                                       Stage::kNone};
  std::vector<ModelVersion> av;
  for (size_t i = 0; i < a_stages.size(); ++i) {
    ModelVersion v = NewVersion(a, static_cast<int64_t>(i) + 1);
    v.stage = a_stages[i];
    v.tags = {{"n", std::to_string(i + 1)}};
    v.metrics = {{"auc", 0.5}};
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
    av.push_back(v);
  }
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(av[4].id, kT0); }).ok());
  for (int64_t n = 1; n <= 2; ++n) {
    ModelVersion v = NewVersion(b, n);
    v.stage = n == 1 ? Stage::kArchived : Stage::kNone;
    v.params = {{"p", "b"}};
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
  }
  // many: more versions than LoadModelDetailsOf reads whole (it looks their stages up instead);
  // 1..12 cycle None, Staging, Production, Archived, then 12 goes back to None and 11 is deleted.
  Model many = AddModel(store(), "many");
  for (int64_t n = 1; n <= 12; ++n) {
    ModelVersion v = NewVersion(many, n);
    const Stage cycle[] = {Stage::kArchived, Stage::kNone, Stage::kStaging, Stage::kProduction};
    v.stage = n == 12 ? Stage::kNone : cycle[n % 4];
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
    if (n == 11) {
      ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(v.id, kT0); }).ok());
    }
  }
  many.last_version = 12;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateModel(many); }).ok());
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetAlias(a.id, "champion", 4));
                    VOUCH_TRY(tx.SetAlias(a.id, "old", 1));
                    return tx.SetAlias(b.id, "only", 2);
                  })
                  .ok());
  // Rows without details, one with stale ones, in an order of their own.
  std::vector<Model> rows;
  for (std::string_view name : {"b", "empty", "a", "many"}) {
    auto row = Query(store(), [&](Tx& tx) { return tx.FindModelRow(name); });
    ASSERT_TRUE(row.has_value());
    rows.push_back(*row);
  }
  rows[1].tags = {{"stale", "x"}};
  rows[1].latest_live_version = 99;
  ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadModelDetailsOf(rows); }).ok());
  for (const Model& row : rows) {
    Model one = row;
    std::vector<ModelVersion> latest;
    ASSERT_TRUE(store()
                    .Read([&](Tx& tx) -> Status {
                      VOUCH_TRY(tx.LoadModelDetails(one));
                      VOUCH_ASSIGN_OR_RETURN(auto per_stage, tx.LatestVersionPerStage(one.id));
                      for (const auto& [stage, number] : per_stage) {
                        VOUCH_ASSIGN_OR_RETURN(auto v, tx.FindVersion(one.id, number));
                        if (v) latest.push_back(*v);
                      }
                      return OkStatus();
                    })
                    .ok());
    EXPECT_EQ(row.tags, one.tags) << row.name;
    EXPECT_EQ(row.aliases, one.aliases) << row.name;
    EXPECT_EQ(row.latest_live_version, one.latest_live_version) << row.name;
    ASSERT_EQ(row.latest_versions.size(), latest.size()) << row.name;
    for (size_t i = 0; i < latest.size(); ++i) {
      const ModelVersion& got = row.latest_versions[i];
      EXPECT_EQ(got.id, latest[i].id) << row.name << " " << i;
      EXPECT_EQ(got.model_name, latest[i].model_name);
      EXPECT_EQ(got.version, latest[i].version);
      EXPECT_EQ(got.stage, latest[i].stage);
      EXPECT_EQ(got.source, latest[i].source);
      EXPECT_EQ(got.created_ms, latest[i].created_ms);
      EXPECT_EQ(got.tags, latest[i].tags);
      EXPECT_EQ(got.metrics, latest[i].metrics);
      EXPECT_EQ(got.params, latest[i].params);
      EXPECT_EQ(got.aliases, latest[i].aliases);
    }
  }
  // The figures themselves: a's stages by their lowest version, each with its highest.
  std::vector<std::pair<Stage, int64_t>> a_latest;
  for (const auto& v : rows[2].latest_versions) a_latest.emplace_back(v.stage, v.version);
  EXPECT_EQ(a_latest, (std::vector<std::pair<Stage, int64_t>>{{Stage::kProduction, 4},
                                                              {Stage::kStaging, 2},
                                                              {Stage::kNone, 7},
                                                              {Stage::kArchived, 6}}));
  std::vector<std::pair<Stage, int64_t>> many_latest;
  for (const auto& v : rows[3].latest_versions) many_latest.emplace_back(v.stage, v.version);
  EXPECT_EQ(many_latest, (std::vector<std::pair<Stage, int64_t>>{{Stage::kNone, 12},
                                                                 {Stage::kStaging, 10},
                                                                 {Stage::kProduction, 7},
                                                                 {Stage::kArchived, 8}}));
  EXPECT_EQ(rows[3].latest_live_version, std::optional<int64_t>(12));
  EXPECT_EQ(rows[2].latest_versions[0].aliases, (std::vector<std::string>{"champion"}));
  EXPECT_EQ(rows[2].latest_live_version, std::optional<int64_t>(7));
  EXPECT_EQ(rows[0].tags, (StringMap{{"k", "b"}}));
  EXPECT_EQ(rows[0].latest_versions.size(), 2u);
  EXPECT_TRUE(rows[1].tags.empty());
  EXPECT_TRUE(rows[1].latest_versions.empty());
  EXPECT_FALSE(rows[1].latest_live_version.has_value());
  std::vector<Model> none;
  EXPECT_TRUE(store().Read([&](Tx& tx) { return tx.LoadModelDetailsOf(none); }).ok());
}

TEST_P(StoreSuite, ListVersionRowsInOrderWalksLiveVersionsEitherWayFromANumber) {
  Model m = AddModel(store(), "m");
  Model other = AddModel(store(), "other");
  for (int64_t n = 1; n <= 8; ++n) {
    ModelVersion v = NewVersion(m, n);
    v.run_id = n % 2 == 0 ? "even" : "odd";
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
    if (n == 6) {
      ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(v.id, kT0); }).ok());
    }
  }
  ModelVersion foreign = NewVersion(other, 3);
  foreign.run_id = "even";
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(foreign); }).ok());
  auto numbers = [&](std::optional<std::string_view> run, int64_t from, bool down, int limit) {
    auto rows = Query(
        store(), [&](Tx& tx) { return tx.ListVersionRowsInOrder(m.id, run, from, down, limit); });
    std::vector<int64_t> out;
    for (const auto& v : rows) {
      EXPECT_EQ(v.model_name, "m");
      EXPECT_TRUE(v.tags.empty());
      out.push_back(v.version);
    }
    return out;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(numbers(std::nullopt, INT64_MAX, true, 3), (V{8, 7, 5}));
  EXPECT_EQ(numbers(std::nullopt, 5, true, 10), (V{4, 3, 2, 1}));
  EXPECT_EQ(numbers(std::nullopt, 0, false, 10), (V{1, 2, 3, 4, 5, 7, 8}));
  EXPECT_EQ(numbers(std::nullopt, 4, false, 2), (V{5, 7}));
  EXPECT_EQ(numbers("even", INT64_MAX, true, 10), (V{8, 4, 2}));
  EXPECT_EQ(numbers("even", 4, true, 10), (V{2}));
  EXPECT_EQ(numbers("odd", 1, false, 2), (V{3, 5}));
  EXPECT_EQ(numbers("none", INT64_MAX, true, 10), V{});
  EXPECT_EQ(numbers(std::nullopt, 1, true, 10), V{});
}

TEST_P(StoreSuite, ListVersionRowsByUpdateWalksNewestUpdateFirstAfterAPosition) {
  Model m = AddModel(store(), "m");
  Model other = AddModel(store(), "other");
  Model gone = AddModel(store(), "gone");
  // m: versions 1..6 updated at kT0 + 10, 20, 20, 30, 40 (deleted), 50; runs alternate.
  const std::vector<TimeMs> updated = {10, 20, 20, 30, 40, 50};
  std::vector<ModelVersion> mv;
  for (size_t i = 0; i < updated.size(); ++i) {
    ModelVersion v = NewVersion(m, static_cast<int64_t>(i) + 1);
    v.updated_ms = kT0 + updated[i];
    v.run_id = i % 2 == 0 ? "odd" : "even";
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
    mv.push_back(v);
  }
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(mv[4].id, kT0); }).ok());
  ModelVersion o = NewVersion(other, 1);
  o.updated_ms = kT0 + 25;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(o); }).ok());
  ModelVersion g = NewVersion(gone, 1);
  g.updated_ms = kT0 + 60;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(g); }).ok());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkModelDeleted(gone.id, kT0); }).ok());
  auto walk = [&](std::optional<int64_t> model, std::optional<std::string_view> run,
                  TimeMs before_ms, int64_t before_id, int limit) {
    auto rows = Query(store(), [&](Tx& tx) {
      return tx.ListVersionRowsByUpdate(model, run, before_ms, before_id, limit);
    });
    std::vector<std::string> out;
    for (const auto& v : rows) {
      EXPECT_TRUE(v.tags.empty());
      out.push_back(fmt::format("{}/{}", v.model_name, v.version));
    }
    return out;
  };
  using S = std::vector<std::string>;
  const TimeMs kTop = INT64_MAX;
  EXPECT_EQ(walk(std::nullopt, std::nullopt, kTop, INT64_MAX, 10),
            (S{"m/6", "m/4", "other/1", "m/3", "m/2", "m/1"}));
  EXPECT_EQ(walk(std::nullopt, std::nullopt, kTop, INT64_MAX, 2), (S{"m/6", "m/4"}));
  // Resuming after m/3 (updated at kT0 + 20, the higher id of the two) yields m/2, then m/1.
  EXPECT_EQ(walk(std::nullopt, std::nullopt, mv[2].updated_ms, mv[2].id, 10), (S{"m/2", "m/1"}));
  EXPECT_EQ(walk(m.id, std::nullopt, kT0 + 30, INT64_MAX, 10), (S{"m/4", "m/3", "m/2", "m/1"}));
  EXPECT_EQ(walk(m.id, "odd", kTop, INT64_MAX, 10), (S{"m/3", "m/1"}));
  EXPECT_EQ(walk(m.id, "even", kTop, INT64_MAX, 1), (S{"m/6"}));
  EXPECT_EQ(walk(other.id, "odd", kTop, INT64_MAX, 10), S{});
}

TEST_P(StoreSuite, UpdateVersionWritesDescriptionStageStatusAndUpdatedTime) {
  Model m = AddModel(store(), "m");
  ModelVersion v = AddVersion(store(), m, 1);
  v.description = "new";
  v.stage = Stage::kProduction;
  v.status = "FAILED_REGISTRATION";
  v.updated_ms = kT0 + 99;
  v.source = "not written";
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateVersion(v); }).ok());
  auto found = FindVersion(store(), m.id, 1);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->description, "new");
  EXPECT_EQ(found->stage, Stage::kProduction);
  EXPECT_EQ(found->status, "FAILED_REGISTRATION");
  EXPECT_EQ(found->updated_ms, kT0 + 99);
  EXPECT_EQ(found->source, "s3://bucket/m/1");
}

TEST_P(StoreSuite, VersionsInStageListsOnlyLiveHoldersOfThatStageInOrder) {
  Model m = AddModel(store(), "m");
  Model other = AddModel(store(), "other");
  std::vector<ModelVersion> vs;
  for (int64_t n = 1; n <= 5; ++n) vs.push_back(AddVersion(store(), m, n));
  ModelVersion foreign = AddVersion(store(), other, 1);
  for (ModelVersion* v : {&vs[0], &vs[2], &vs[4], &foreign}) {
    v->stage = Stage::kProduction;
    ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateVersion(*v); }).ok());
  }
  vs[1].stage = Stage::kStaging;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateVersion(vs[1]); }).ok());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(vs[4].id, kT0); }).ok());

  EXPECT_EQ(
      Numbers(Query(store(), [&](Tx& tx) { return tx.VersionsInStage(m.id, Stage::kProduction); })),
      (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(
      Numbers(Query(store(), [&](Tx& tx) { return tx.VersionsInStage(m.id, Stage::kStaging); })),
      (std::vector<int64_t>{2}));
  EXPECT_EQ(Numbers(Query(store(), [&](Tx& tx) { return tx.VersionsInStage(m.id, Stage::kNone); })),
            (std::vector<int64_t>{4}));
  EXPECT_TRUE(
      Query(store(), [&](Tx& tx) { return tx.VersionsInStage(m.id, Stage::kArchived); }).empty());
}

TEST_P(StoreSuite, DeletedVersionIsNeitherFoundNorListed) {
  Model m = AddModel(store(), "m");
  ModelVersion v1 = AddVersion(store(), m, 1);
  AddVersion(store(), m, 2);
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkVersionDeleted(v1.id, kT0); }).ok());
  EXPECT_FALSE(FindVersion(store(), m.id, 1).has_value());
  EXPECT_TRUE(FindVersion(store(), m.id, 2).has_value());
  EXPECT_EQ(Numbers(Query(store(), [&](Tx& tx) { return tx.ListVersions(m.id, 0, 10); })),
            (std::vector<int64_t>{2}));
  EXPECT_EQ(FindModel(store(), "m")->latest_live_version, std::optional<int64_t>(2));
}

TEST_P(StoreSuite, VersionTagsMetricsAndParamsAreSetOverwrittenAndDeleted) {
  Model m = AddModel(store(), "m");
  ModelVersion v = AddVersion(store(), m, 1);
  ModelVersion w = AddVersion(store(), m, 2);
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetVersionTag(v.id, "t", "1"));
                    VOUCH_TRY(tx.SetVersionMetric(v.id, "auc", 0.5));
                    VOUCH_TRY(tx.SetVersionParam(v.id, "lr", "0.1"));
                    VOUCH_TRY(tx.SetVersionTag(w.id, "t", "other"));
                    return OkStatus();
                  })
                  .ok());
  auto found = FindVersion(store(), m.id, 1);
  EXPECT_EQ(found->tags, (StringMap{{"t", "1"}}));
  EXPECT_EQ(found->metrics, (MetricMap{{"auc", 0.5}}));
  EXPECT_EQ(found->params, (StringMap{{"lr", "0.1"}}));

  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetVersionTag(v.id, "t", "2"));
                    VOUCH_TRY(tx.SetVersionMetric(v.id, "auc", 0.75));
                    VOUCH_TRY(tx.SetVersionParam(v.id, "lr", "0.2"));
                    return OkStatus();
                  })
                  .ok());
  found = FindVersion(store(), m.id, 1);
  EXPECT_EQ(found->tags, (StringMap{{"t", "2"}}));
  EXPECT_EQ(found->metrics, (MetricMap{{"auc", 0.75}}));
  EXPECT_EQ(found->params, (StringMap{{"lr", "0.2"}}));

  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.DeleteVersionTag(v.id, "t"));
                    VOUCH_TRY(tx.DeleteVersionMetric(v.id, "auc"));
                    VOUCH_TRY(tx.DeleteVersionParam(v.id, "lr"));
                    return OkStatus();
                  })
                  .ok());
  found = FindVersion(store(), m.id, 1);
  EXPECT_TRUE(found->tags.empty());
  EXPECT_TRUE(found->metrics.empty());
  EXPECT_TRUE(found->params.empty());
  EXPECT_EQ(FindVersion(store(), m.id, 2)->tags, (StringMap{{"t", "other"}}));
}

TEST_P(StoreSuite, MetricsKeepTheirExactDoubleValue) {
  Model m = AddModel(store(), "m");
  ModelVersion v = AddVersion(store(), m, 1);
  const MetricMap metrics = {{"a", 0.1 + 0.2}, {"b", 1e300}, {"c", -4.9e-324}, {"d", 3.0}};
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    for (const auto& [k, val] : metrics)
                      VOUCH_TRY(tx.SetVersionMetric(v.id, k, val));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(FindVersion(store(), m.id, 1)->metrics, metrics);
}

// ---- Aliases ---------------------------------------------------------------------------------

TEST_P(StoreSuite, AliasesAreSetMovedFoundAndDeleted) {
  Model m = AddModel(store(), "m");
  AddVersion(store(), m, 1);
  AddVersion(store(), m, 2);
  auto find = [&](std::string_view alias) {
    return Query(store(), [&](Tx& tx) { return tx.FindAlias(m.id, alias); });
  };
  EXPECT_FALSE(find("champion").has_value());
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetAlias(m.id, "champion", 1); }).ok());
  EXPECT_EQ(find("champion"), std::optional<int64_t>(1));
  EXPECT_EQ(FindVersion(store(), m.id, 1)->aliases, (std::vector<std::string>{"champion"}));

  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.SetAlias(m.id, "champion", 2); }).ok());
  EXPECT_EQ(find("champion"), std::optional<int64_t>(2));
  EXPECT_TRUE(FindVersion(store(), m.id, 1)->aliases.empty());
  EXPECT_EQ(FindVersion(store(), m.id, 2)->aliases, (std::vector<std::string>{"champion"}));

  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.DeleteAlias(m.id, "champion"); }).ok());
  EXPECT_FALSE(find("champion").has_value());
  EXPECT_TRUE(FindVersion(store(), m.id, 2)->aliases.empty());
}

TEST_P(StoreSuite, AliasesAreListedSortedAndBelongToTheirModel) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  AddVersion(store(), a, 1);
  AddVersion(store(), b, 1);
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetAlias(a.id, "zeta", 1));
                    VOUCH_TRY(tx.SetAlias(a.id, "alpha", 1));
                    VOUCH_TRY(tx.SetAlias(a.id, "mid", 1));
                    return tx.SetAlias(b.id, "other", 1);
                  })
                  .ok());
  EXPECT_EQ(FindVersion(store(), a.id, 1)->aliases,
            (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(FindVersion(store(), b.id, 1)->aliases, (std::vector<std::string>{"other"}));
  EXPECT_FALSE(Query(store(), [&](Tx& tx) { return tx.FindAlias(b.id, "alpha"); }).has_value());
}

TEST_P(StoreSuite, DeleteAliasesOfRemovesOnlyThatVersionsAliasesAndNamesThemSorted) {
  Model m = AddModel(store(), "m");
  Model other = AddModel(store(), "other");
  AddVersion(store(), m, 1);
  AddVersion(store(), m, 2);
  AddVersion(store(), other, 1);
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetAlias(m.id, "zz", 1));
                    VOUCH_TRY(tx.SetAlias(m.id, "aa", 1));
                    VOUCH_TRY(tx.SetAlias(m.id, "keep", 2));
                    return tx.SetAlias(other.id, "same-number", 1);
                  })
                  .ok());
  std::vector<std::string> removed;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(removed, tx.DeleteAliasesOf(m.id, 1));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(removed, (std::vector<std::string>{"aa", "zz"}));
  EXPECT_TRUE(FindVersion(store(), m.id, 1)->aliases.empty());
  EXPECT_EQ(FindVersion(store(), m.id, 2)->aliases, (std::vector<std::string>{"keep"}));
  EXPECT_EQ(FindVersion(store(), other.id, 1)->aliases, (std::vector<std::string>{"same-number"}));

  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(removed, tx.DeleteAliasesOf(m.id, 1));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(removed.empty());
}

// ---- Principals and tokens -------------------------------------------------------------------

TEST_P(StoreSuite, PrincipalsAreCountedAndGetDistinctIds) {
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPrincipals(); }), 0);
  Principal a{.name = "admin", .kind = PrincipalKind::kUser, .is_admin = true};
  Principal b{.name = "ci", .kind = PrincipalKind::kServiceAccount};
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.InsertPrincipal(a, kT0));
                    return tx.InsertPrincipal(b, kT0);
                  })
                  .ok());
  EXPECT_GT(a.id, 0);
  EXPECT_GT(b.id, 0);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPrincipals(); }), 2);
}

TEST_P(StoreSuite, FindTokenReturnsTheTokenAndItsOwner) {
  Principal ci{.name = "ci", .kind = PrincipalKind::kServiceAccount, .is_admin = false};
  TokenRecord token{.name = "deploy",
                    .token_hash = std::string(64, 'b'),
                    .scope = "full",
                    .created_ms = kT0,
                    .expires_ms = kT0 + 1000};
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.InsertPrincipal(ci, kT0));
                    token.principal_id = ci.id;
                    return tx.InsertToken(token);
                  })
                  .ok());
  EXPECT_GT(token.id, 0);
  auto found = Query(store(), [](Tx& tx) { return tx.FindToken(std::string(64, 'b')); });
  ASSERT_TRUE(found.has_value());
  const auto& [t, p] = *found;
  EXPECT_EQ(t.id, token.id);
  EXPECT_EQ(t.principal_id, ci.id);
  EXPECT_EQ(t.name, "deploy");
  EXPECT_EQ(t.token_hash, std::string(64, 'b'));
  EXPECT_EQ(t.scope, "full");
  EXPECT_EQ(t.created_ms, kT0);
  EXPECT_EQ(t.expires_ms, std::optional<TimeMs>(kT0 + 1000));
  EXPECT_FALSE(t.revoked_ms.has_value());
  EXPECT_EQ(p.id, ci.id);
  EXPECT_EQ(p.name, "ci");
  EXPECT_EQ(p.kind, PrincipalKind::kServiceAccount);
  EXPECT_FALSE(p.is_admin);
  EXPECT_FALSE(p.disabled);
}

TEST_P(StoreSuite, UnknownTokenHashIsNotFound) {
  Principal admin{.name = "admin", .is_admin = true};
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.InsertPrincipal(admin, kT0));
                    TokenRecord t{.principal_id = admin.id,
                                  .name = "x",
                                  .token_hash = std::string(64, 'c'),
                                  .created_ms = kT0};
                    return tx.InsertToken(t);
                  })
                  .ok());
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindToken(std::string(64, 'd')); }));
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindToken(""); }));
  auto admin_token = Query(store(), [](Tx& tx) { return tx.FindToken(std::string(64, 'c')); });
  ASSERT_TRUE(admin_token.has_value());
  EXPECT_TRUE(admin_token->second.is_admin);
  EXPECT_EQ(admin_token->second.kind, PrincipalKind::kUser);
}

// ---- Audit log -------------------------------------------------------------------------------

TEST_P(StoreSuite, EmptyAuditLogHasHeadZero) {
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 0);
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListAuditEvents({}); }).empty());
}

TEST_P(StoreSuite, AuditSequenceIsGaplessFromOne) {
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(AppendOne(store(), Event(fmt::format("a.{}", i))), i);
  // Several in one transaction continue the same sequence.
  std::vector<int64_t> in_one;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    for (int i = 0; i < 3; ++i) {
                      VOUCH_ASSIGN_OR_RETURN(int64_t seq, Append(tx, Event("batch")));
                      in_one.push_back(seq);
                    }
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(in_one, (std::vector<int64_t>{6, 7, 8}));
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 8);
  EXPECT_EQ(ListSeqs(store(), {}), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_P(StoreSuite, BodyForReceivesTheSeqAndItsBytesAreStoredExactly) {
  AppendOne(store(), Event("first"));
  std::vector<int64_t> asked;
  const std::string odd_bytes = "{\"seq\":2,\"x\":\"\xc3\xbc \\u0000 \\\"\"}";
  int64_t seq = 0;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(
                        seq,
                        tx.AppendAuditEvent(Event("second"), [&](int64_t s) -> Result<std::string> {
                          asked.push_back(s);
                          return odd_bytes;
                        }));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(asked, (std::vector<int64_t>{2}));
  EXPECT_EQ(seq, 2);
  auto events = Query(store(), [](Tx& tx) { return tx.ListAuditEvents({.after_seq = 1}); });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].seq, 2);
  EXPECT_EQ(events[0].body, odd_bytes);
}

TEST_P(StoreSuite, BodyForFailureFailsTheAppendAndConsumesNoSeq) {
  AppendOne(store(), Event("first"));
  Status st = store().Write([&](Tx& tx) -> Status {
    return tx
        .AppendAuditEvent(Event("broken"),
                          [](int64_t) -> Result<std::string> { return InvalidArgument("NaN"); })
        .status();
  });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "NaN");
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 1);
  EXPECT_EQ(AppendOne(store(), Event("next")), 2);
}

TEST_P(StoreSuite, ListAuditEventsFiltersByModelVersionActorActionTimeAndPosition) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  // seq 1..8
  auto add = [&](AuditEvent event, TimeMs t) {
    event.time_ms = t;
    return AppendOne(store(), event);
  };
  AuditEvent e;
  add(ModelEvent("model.created", a), kT0 + 10);             // 1
  add(ModelEvent("model.created", b), kT0 + 20);             // 2
  add(ModelEvent("model_version.created", a, 1), kT0 + 30);  // 3
  add(ModelEvent("model_version.created", a, 2), kT0 + 40);  // 4
  e = ModelEvent("model_version.stage_changed", a, 2);
  e.actor_name = "bob";
  add(e, kT0 + 50);                                          // 5
  add(ModelEvent("model_version.created", b, 2), kT0 + 60);  // 6
  add(Event("principal.created", "system"), kT0 + 70);       // 7
  e = Event("access.denied", "");
  e.outcome = Outcome::kDenied;
  add(e, kT0 + 80);  // 8

  EXPECT_EQ(ListSeqs(store(), {}), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(ListSeqs(store(), {.model = "a"}), (std::vector<int64_t>{1, 3, 4, 5}));
  EXPECT_EQ(ListSeqs(store(), {.model = "b"}), (std::vector<int64_t>{2, 6}));
  EXPECT_TRUE(ListSeqs(store(), {.model = "c"}).empty());
  EXPECT_EQ(ListSeqs(store(), {.model = "a", .version = 2}), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(ListSeqs(store(), {.model = "b", .version = 2}), (std::vector<int64_t>{6}));
  EXPECT_EQ(ListSeqs(store(), {.actor = "bob"}), (std::vector<int64_t>{5}));
  EXPECT_EQ(ListSeqs(store(), {.actor = "system"}), (std::vector<int64_t>{7}));
  EXPECT_EQ(ListSeqs(store(), {.action = "model_version.created"}),
            (std::vector<int64_t>{3, 4, 6}));
  EXPECT_EQ(ListSeqs(store(), {.model = "a", .action = "model_version.created"}),
            (std::vector<int64_t>{3, 4}));
  // since and until are inclusive.
  EXPECT_EQ(ListSeqs(store(), {.since_ms = kT0 + 30, .until_ms = kT0 + 60}),
            (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_EQ(ListSeqs(store(), {.since_ms = kT0 + 75}), (std::vector<int64_t>{8}));
  EXPECT_EQ(ListSeqs(store(), {.until_ms = kT0 + 10}), (std::vector<int64_t>{1}));
  EXPECT_TRUE(ListSeqs(store(), {.since_ms = kT0 + 61, .until_ms = kT0 + 69}).empty());
  EXPECT_EQ(ListSeqs(store(), {.after_seq = 5}), (std::vector<int64_t>{6, 7, 8}));
  EXPECT_EQ(ListSeqs(store(), {.after_seq = 2, .limit = 3}), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(ListSeqs(store(), {.model = "a", .after_seq = 3, .limit = 1}),
            (std::vector<int64_t>{4}));
  EXPECT_TRUE(ListSeqs(store(), {.after_seq = 8}).empty());
}

TEST_P(StoreSuite, ListAuditEventsFiltersByOutcomeAndRequestAndPagesEitherWay) {
  Model a = AddModel(store(), "a");
  auto about = [&](std::string action, int64_t request) {
    AuditEvent e = ModelEvent(std::move(action), a, 1);
    e.target = {{"type", "approval_request"}, {"request", request}};
    return e;
  };
  AppendOne(store(), about("request.opened", 7));      // 1
  AppendOne(store(), about("review.approved", 7));     // 2
  AppendOne(store(), ModelEvent("model.tag_set", a));  // 3: no request
  AuditEvent denied = Event("access.denied", "mallory");
  denied.outcome = Outcome::kDenied;
  AppendOne(store(), denied);  // 4
  AuditEvent moved = ModelEvent("model_version.stage_changed", a, 1);
  moved.gate = {{"policy", "prod"}, {"request", 7}};
  AppendOne(store(), moved);  // 5: the gate names request 7
  AuditEvent applied = about("request.applied", 9);
  applied.after = {{"state", "applied"}, {"gate", {{"request", 9}}}};
  AppendOne(store(), applied);  // 6: request 9, named twice, indexed once
  AuditEvent comment = ModelEvent("comment.created", a, 1);
  comment.after = {{"text", "why"}, {"request", 7}};
  AppendOne(store(), comment);  // 7
  AuditEvent refused = about("request.approved", 9);
  refused.outcome = Outcome::kDenied;
  AppendOne(store(), refused);  // 8
  AuditEvent both = ModelEvent("request.superseded", a, 1);
  both.before = {{"request", 7}};
  both.after = {{"request", 9}};
  AppendOne(store(), both);  // 9: names 7 and 9

  using Seqs = std::vector<int64_t>;
  EXPECT_EQ(ListSeqs(store(), {.request_id = 7}), (Seqs{1, 2, 5, 7, 9}));
  EXPECT_EQ(ListSeqs(store(), {.request_id = 9}), (Seqs{6, 8, 9}));
  EXPECT_TRUE(ListSeqs(store(), {.request_id = 8}).empty());
  EXPECT_EQ(ListSeqs(store(), {.outcome = "denied"}), (Seqs{4, 8}));
  EXPECT_EQ(ListSeqs(store(), {.outcome = "done"}), (Seqs{1, 2, 3, 5, 6, 7, 9}));
  EXPECT_EQ(ListSeqs(store(), {.outcome = "denied", .request_id = 9}), (Seqs{8}));
  EXPECT_EQ(ListSeqs(store(), {.actor = "mallory", .outcome = "done"}), Seqs{});
  EXPECT_EQ(ListSeqs(store(), {.action = "request.opened", .request_id = 7}), (Seqs{1}));

  // Newest first, and a page from below a position in either order, with or without a request.
  EXPECT_EQ(ListSeqs(store(), {.newest_first = true}), (Seqs{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(ListSeqs(store(), {.newest_first = true, .limit = 2}), (Seqs{9, 8}));
  EXPECT_EQ(ListSeqs(store(), {.newest_first = true, .before_seq = 8, .limit = 3}),
            (Seqs{7, 6, 5}));
  EXPECT_EQ(ListSeqs(store(), {.request_id = 7, .newest_first = true}), (Seqs{9, 7, 5, 2, 1}));
  EXPECT_EQ(ListSeqs(store(), {.request_id = 7, .newest_first = true, .before_seq = 7}),
            (Seqs{5, 2, 1}));
  EXPECT_EQ(ListSeqs(store(), {.request_id = 7, .after_seq = 2, .limit = 2}), (Seqs{5, 7}));
  EXPECT_EQ(ListSeqs(store(), {.outcome = "done", .newest_first = true, .before_seq = 3}),
            (Seqs{2, 1}));
  EXPECT_TRUE(ListSeqs(store(), {.newest_first = true, .before_seq = 1}).empty());
}

TEST_P(StoreSuite, AuditModelFilterFollowsARenamedModelAndOutlivesADeletedOne) {
  Model m = AddModel(store(), "before");
  AppendOne(store(), ModelEvent("model.created", m));  // 1, recorded as "before"
  m.name = "after";
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateModel(m); }).ok());
  AppendOne(store(), ModelEvent("model.updated", m));  // 2, recorded as "after"
  EXPECT_EQ(ListSeqs(store(), {.model = "after"}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ListSeqs(store(), {.model = "before"}), (std::vector<int64_t>{1}));

  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.MarkModelDeleted(m.id, kT0); }).ok());
  AppendOne(store(), ModelEvent("model.deleted", m));  // 3
  EXPECT_EQ(ListSeqs(store(), {.model = "after"}), (std::vector<int64_t>{2, 3}));
}

// ---- Outbox ----------------------------------------------------------------------------------

TEST_P(StoreSuite, EnqueuedOutboxRowsArePending) {
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPendingOutbox(); }), 0);
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    for (int i = 0; i < 3; ++i) {
                      VOUCH_ASSIGN_OR_RETURN(int64_t seq, Append(tx, Event("model.created")));
                      VOUCH_TRY(tx.EnqueueOutbox(seq, "model.created", "{}", kT0));
                    }
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPendingOutbox(); }), 3);
}

// ---- Transactions ----------------------------------------------------------------------------

TEST_P(StoreSuite, WriteReturnsTheFunctionsOwnError) {
  Status st = store().Write([](Tx&) { return Status(StatusCode::kAborted, "conflict, retry"); });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(st.message(), "conflict, retry");
  st = store().Read([](Tx&) { return NotFound("nothing here"); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "nothing here");
}

TEST_P(StoreSuite, AFailedWriteLeavesNothingBehind) {
  Status st = store().Write([&](Tx& tx) -> Status {
    Model m = NewModel("ghost", {{"k", "v"}});
    VOUCH_TRY(tx.InsertModel(m));
    ModelVersion v = NewVersion(m, 1);
    v.metrics = {{"auc", 1}};
    VOUCH_TRY(tx.InsertVersion(v));
    VOUCH_TRY(tx.SetAlias(m.id, "champion", 1));
    m.last_version = 1;
    VOUCH_TRY(tx.UpdateModel(m));
    Principal p{.name = "ghost-user"};
    VOUCH_TRY(tx.InsertPrincipal(p, kT0));
    TokenRecord t{.principal_id = p.id, .name = "t", .token_hash = "ghost-hash", .created_ms = kT0};
    VOUCH_TRY(tx.InsertToken(t));
    VOUCH_ASSIGN_OR_RETURN(int64_t seq, Append(tx, ModelEvent("model.created", m)));
    VOUCH_TRY(tx.EnqueueOutbox(seq, "model.created", "{}", kT0));
    return FailedPrecondition("changed my mind");
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "changed my mind");

  EXPECT_FALSE(FindModel(store(), "ghost").has_value());
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.ListModels("", 10); }).empty());
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPrincipals(); }), 0);
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindToken("ghost-hash"); }).has_value());
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 0);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPendingOutbox(); }), 0);
  EXPECT_TRUE(ListSeqs(store(), {.model = "ghost"}).empty());

  // No sequence number was consumed, and the name is free.
  EXPECT_EQ(AppendOne(store(), Event("next")), 1);
  Model real = AddModel(store(), "ghost");
  EXPECT_TRUE(FindModel(store(), "ghost")->tags.empty());
  EXPECT_FALSE(FindVersion(store(), real.id, 1).has_value());
}

TEST_P(StoreSuite, AFailedWriteDoesNotUndoEarlierCommittedWrites) {
  Model kept = AddModel(store(), "kept");
  AppendOne(store(), ModelEvent("model.created", kept));
  Status st = store().Write([&](Tx& tx) -> Status {
    VOUCH_TRY(tx.SetModelTag(kept.id, "k", "v"));
    VOUCH_TRY(Append(tx, Event("x")).status());
    return Internal("boom");
  });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  auto m = FindModel(store(), "kept");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->tags.empty());
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 1);
}

TEST_P(StoreSuite, ConcurrentWritesEachCommitOnceWithAGaplessAuditSequence) {
  constexpr int kThreads = 16;
  constexpr int kJobsPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> seqs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kJobsPerThread; ++j) {
        int64_t seq = 0;
        Status st = store().Write([&](Tx& tx) -> Status {
          Model m = NewModel(fmt::format("m-{:02}-{:02}", t, j));
          VOUCH_TRY(tx.InsertModel(m));
          VOUCH_ASSIGN_OR_RETURN(seq, Append(tx, ModelEvent("model.created", m)));
          return tx.EnqueueOutbox(seq, "model.created", "{}", kT0);
        });
        if (!st.ok()) {
          ++failures;
        } else {
          seqs[t].push_back(seq);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  constexpr int kTotal = kThreads * kJobsPerThread;
  std::vector<int64_t> returned;
  for (const auto& s : seqs) returned.insert(returned.end(), s.begin(), s.end());
  std::sort(returned.begin(), returned.end());
  std::vector<int64_t> expected(kTotal);
  for (int i = 0; i < kTotal; ++i) expected[i] = i + 1;
  EXPECT_EQ(returned, expected);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), kTotal);
  EXPECT_EQ(ListSeqs(store(), {.limit = kTotal + 10}), expected);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.CountPendingOutbox(); }), kTotal);
  auto models = Query(store(), [](Tx& tx) { return tx.ListModels("", 10'000); });
  EXPECT_EQ(models.size(), static_cast<size_t>(kTotal));
  const std::vector<std::string> listed = Names(models);
  std::set<std::string> names(listed.begin(), listed.end());
  EXPECT_EQ(names.size(), static_cast<size_t>(kTotal));
  // Each stored body carries the seq it was stored under.
  for (const auto& e :
       Query(store(), [](Tx& tx) { return tx.ListAuditEvents({.limit = 10'000}); })) {
    auto body = ParseJsonObject(e.body);
    ASSERT_TRUE(body.ok()) << e.body;
    EXPECT_EQ(body->at("seq").as_int64(), e.seq);
  }
}

TEST_P(StoreSuite, ASecretIsStoredOnceAndTheFirstInsertWins) {
  SealedSecret first{"page-token-key", "bm9uY2U", "Y2lwaGVy", 1};
  SealedSecret second{"page-token-key", "b3RoZXI", "c2Vjb25k", 2};
  bool inserted_first = false, inserted_second = true;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(inserted_first, tx.InsertSecret(first));
                    VOUCH_ASSIGN_OR_RETURN(inserted_second, tx.InsertSecret(second));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(inserted_first);
  EXPECT_FALSE(inserted_second);
  std::optional<SealedSecret> found, missing;
  ASSERT_TRUE(store()
                  .Read([&](Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(found, tx.FindSecret("page-token-key"));
                    VOUCH_ASSIGN_OR_RETURN(missing, tx.FindSecret("webhook-secret"));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->nonce, "bm9uY2U");
  EXPECT_EQ(found->ciphertext, "Y2lwaGVy");
  EXPECT_EQ(found->created_ms, 1);
  EXPECT_FALSE(missing.has_value());
}

}  // namespace
}  // namespace vouch::store::testing

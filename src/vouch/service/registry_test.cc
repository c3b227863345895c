#include "vouch/service/registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <set>
#include <thread>

#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kPageKey[] = "registry-test-page-key";

// Forwards to a real store and counts the transactions the service opens.
class CountingStore final : public store::Store {
 public:
  explicit CountingStore(store::Store& inner) : inner_(inner) {}
  Status Read(const std::function<Status(store::Tx&)>& fn) override {
    ++reads;
    return inner_.Read(fn);
  }
  Status Write(const std::function<Status(store::Tx&)>& fn) override {
    ++writes;
    return inner_.Write(fn);
  }
  Status Ready() override { return inner_.Ready(); }
  std::string Describe() const override { return "counting " + inner_.Describe(); }

  std::atomic<int> reads{0};
  std::atomic<int> writes{0};

 private:
  store::Store& inner_;
};

json::value J(std::string_view text) { return json::parse(text); }

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : counting_(db_.store()), reg_(counting_, PageTokens(kPageKey)) {}

  RequestContext Ctx(std::string name = "alice", int64_t id = 7) const {
    RequestContext ctx;
    // Admins: these tests are about the registry; who may do what is access_test.cc's.
    ctx.principal = Principal{.id = id, .name = std::move(name), .is_admin = true};
    ctx.auth = AuthMethod::kToken;
    ctx.door = Door::kNative;
    ctx.address = "10.1.2.3";
    ctx.user_agent = "test-agent/1";
    ctx.request_id = "req-1";
    ctx.clock = &clock_;
    return ctx;
  }

  int64_t Head() {
    int64_t head = -1;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return head;
  }

  int64_t PendingOutbox() {
    int64_t n = -1;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(n, tx.CountPendingOutbox());
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return n;
  }

  // Every stored event after `after_seq`, parsed.
  std::vector<json::object> EventsAfter(int64_t after_seq) {
    std::vector<store::StoredAuditEvent> stored;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(stored,
                             tx.ListAuditEvents({.after_seq = after_seq, .limit = 1'000'000}));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<json::object> out;
    for (const auto& e : stored) {
      auto o = ParseJsonObject(e.body);
      EXPECT_TRUE(o.ok()) << e.body;
      if (o.ok()) out.push_back(*o);
    }
    return out;
  }

  // The one event written since `head`; a test failure when there is not exactly one.
  json::object OnlyEventSince(int64_t head) {
    auto events = EventsAfter(head);
    EXPECT_EQ(events.size(), 1u);
    return events.empty() ? json::object() : events.back();
  }

  Model MustCreateModel(std::string name, std::string description = "", StringMap tags = {}) {
    auto m = reg_.CreateModel(
        ctx_,
        {.name = std::move(name), .description = std::move(description), .tags = std::move(tags)});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Model{};
  }

  ModelVersion MustCreateVersion(std::string model, CreateVersionArgs args = {}) {
    args.model = std::move(model);
    if (args.source.empty()) args.source = "s3://bucket/model.tar.gz";
    auto v = reg_.CreateVersion(ctx_, args);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : ModelVersion{};
  }

  ModelVersion MustSetStage(std::string model, int64_t version, std::string stage,
                            bool archive = false, std::string comment = "") {
    auto v = reg_.SetStage(ctx_, {.model = std::move(model),
                                  .version = version,
                                  .stage = std::move(stage),
                                  .archive_existing = archive,
                                  .comment = std::move(comment)});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : ModelVersion{};
  }

  Stage StageOf(std::string_view model, int64_t version) {
    auto v = reg_.GetVersion(ctx_, model, version);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->stage : Stage::kNone;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  CountingStore counting_;
  RegistryService reg_;
  RequestContext ctx_ = Ctx();
};

// ---- Models ----------------------------------------------------------------------------------

TEST_F(RegistryTest, CreatingAModelRecordsOneCompleteEvent) {
  auto m = reg_.CreateModel(
      ctx_, {.name = "fraud-detector", .description = "catches fraud", .tags = {{"team", "risk"}}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "fraud-detector");
  EXPECT_EQ(m->created_ms, kT0);
  EXPECT_EQ(m->updated_ms, kT0);
  EXPECT_EQ(m->created_by, "alice");

  json::object e = OnlyEventSince(0);
  EXPECT_EQ(e["schema"], J("2"));
  EXPECT_EQ(e["seq"], J("1"));
  EXPECT_EQ(e["time_ms"], J(std::to_string(kT0)));
  EXPECT_EQ(e["time"], J(R"("2023-11-14T22:13:20.000Z")"));
  EXPECT_EQ(e["action"], J(R"("model.created")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model","model":"fraud-detector"})"));
  EXPECT_EQ(e["before"], J("null"));
  EXPECT_EQ(e["after"],
            J(R"({"name":"fraud-detector","description":"catches fraud","tags":{"team":"risk"}})"));
  EXPECT_EQ(e["actor"], J(R"({"id":7,"name":"alice","auth":"token"})"));
  EXPECT_EQ(e["source"],
            J(R"({"door":"native","address":"10.1.2.3","user_agent":"test-agent/1"})"));
  EXPECT_EQ(e["request_id"], J(R"("req-1")"));
  EXPECT_EQ(e["outcome"], J(R"("done")"));
  EXPECT_EQ(e["comment"], J(R"("")"));
  EXPECT_FALSE(e.contains("reason"));
}

TEST_F(RegistryTest, ACreatedModelReadsBackAsCreated) {
  MustCreateModel("m", "desc", {{"k", "v"}});
  auto got = reg_.GetModel(ctx_, "m");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "m");
  EXPECT_EQ(got->description, "desc");
  EXPECT_EQ(got->tags, (StringMap{{"k", "v"}}));
  EXPECT_EQ(got->created_by, "alice");
  EXPECT_EQ(got->created_by_id, 7);
  EXPECT_FALSE(got->latest_live_version.has_value());
}

TEST_F(RegistryTest, ADuplicateModelNameIsAlreadyExistsAndWritesNothing) {
  MustCreateModel("dup");
  const int64_t head = Head();
  auto again = reg_.CreateModel(ctx_, {.name = "dup", .description = "second"});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "Registered Model (name=dup) already exists.");
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(reg_.GetModel(ctx_, "dup")->description, "");
}

TEST_F(RegistryTest, AnUnknownModelIsNotFoundWithMlflowsWordingEverywhere) {
  MustCreateModel("other");
  const int64_t head = Head();
  const std::string want = "Registered Model with name=nope not found";
  std::vector<std::pair<std::string, std::function<Status()>>> calls = {
      {"GetModel", [&] { return StatusOf(reg_.GetModel(ctx_, "nope")); }},
      {"Update", [&] { return StatusOf(reg_.UpdateModelDescription(ctx_, "nope", "d")); }},
      {"Rename", [&] { return StatusOf(reg_.RenameModel(ctx_, "nope", "fresh")); }},
      {"Delete", [&] { return StatusOf(reg_.DeleteModel(ctx_, "nope")); }},
      {"SetModelTag", [&] { return StatusOf(reg_.SetModelTag(ctx_, "nope", "k", "v")); }},
      {"DeleteModelTag", [&] { return StatusOf(reg_.DeleteModelTag(ctx_, "nope", "k")); }},
      {"CreateVersion",
       [&] { return StatusOf(reg_.CreateVersion(ctx_, {.model = "nope", .source = "s3://x"})); }},
      {"GetVersion", [&] { return StatusOf(reg_.GetVersion(ctx_, "nope", 1)); }},
      {"ListVersions", [&] { return StatusOf(reg_.ListVersions(ctx_, "nope", {})); }},
      {"SetStage",
       [&] {
         return StatusOf(reg_.SetStage(ctx_, {.model = "nope", .version = 1, .stage = "None"}));
       }},
      {"SetAlias", [&] { return StatusOf(reg_.SetAlias(ctx_, "nope", "champion", 1, "")); }},
      {"DeleteAlias", [&] { return StatusOf(reg_.DeleteAlias(ctx_, "nope", "champion", "")); }},
      {"GetVersionByAlias", [&] { return StatusOf(reg_.GetVersionByAlias(ctx_, "nope", "a")); }},
  };
  for (const auto& [what, call] : calls) {
    Status st = call();
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << what << ": " << st.ToString();
    EXPECT_EQ(st.message(), want) << what;
  }
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryTest, AnUnknownVersionIsNotFoundWithMlflowsWording) {
  MustCreateModel("m");
  MustCreateVersion("m");
  const int64_t head = Head();
  const std::string want = "Model Version (name=m, version=9) not found";
  std::vector<std::pair<std::string, std::function<Status()>>> calls = {
      {"GetVersion", [&] { return StatusOf(reg_.GetVersion(ctx_, "m", 9)); }},
      {"Update", [&] { return StatusOf(reg_.UpdateVersionDescription(ctx_, "m", 9, "d")); }},
      {"Delete", [&] { return StatusOf(reg_.DeleteVersion(ctx_, "m", 9)); }},
      {"SetField",
       [&] { return StatusOf(reg_.SetVersionField(ctx_, VersionField::kTag, "m", 9, "k", "v")); }},
      {"DeleteField",
       [&] { return StatusOf(reg_.DeleteVersionField(ctx_, VersionField::kTag, "m", 9, "k")); }},
      {"SetStage",
       [&] {
         return StatusOf(reg_.SetStage(ctx_, {.model = "m", .version = 9, .stage = "None"}));
       }},
      {"SetAlias", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "champion", 9, "")); }},
  };
  for (const auto& [what, call] : calls) {
    Status st = call();
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << what << ": " << st.ToString();
    EXPECT_EQ(st.message(), want) << what;
  }
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryTest, UpdatingADescriptionRecordsBeforeAndAfter) {
  MustCreateModel("m", "old");
  clock_.Advance(1000);
  const int64_t head = Head();
  auto m = reg_.UpdateModelDescription(ctx_, "m", "new");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->description, "new");
  EXPECT_EQ(m->updated_ms, kT0 + 1000);
  EXPECT_EQ(m->created_ms, kT0);
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model.updated")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model","model":"m"})"));
  EXPECT_EQ(e["before"], J(R"({"description":"old"})"));
  EXPECT_EQ(e["after"], J(R"({"description":"new"})"));
  EXPECT_EQ(e["time_ms"], J(std::to_string(kT0 + 1000)));
  EXPECT_EQ(reg_.GetModel(ctx_, "m")->description, "new");
}

TEST_F(RegistryTest, RenamingMovesTheNameAndRecordsIt) {
  MustCreateModel("old-name");
  MustCreateVersion("old-name");
  const int64_t head = Head();
  auto m = reg_.RenameModel(ctx_, "old-name", "new-name");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "new-name");
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model.renamed")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model","model":"old-name"})"));
  EXPECT_EQ(e["before"], J(R"({"name":"old-name"})"));
  EXPECT_EQ(e["after"], J(R"({"name":"new-name"})"));

  EXPECT_EQ(reg_.GetModel(ctx_, "old-name").status().code(), StatusCode::kNotFound);
  auto v = reg_.GetVersion(ctx_, "new-name", 1);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->model_name, "new-name");
  // The history follows the model to its new name.
  auto history = reg_.ListAudit(ctx_, {.model = "new-name"});
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_EQ(history->items.size(), 3u);
}

TEST_F(RegistryTest, RenamingOntoATakenNameIsAlreadyExistsAndChangesNothing) {
  MustCreateModel("a");
  MustCreateModel("b");
  const int64_t head = Head();
  auto r = reg_.RenameModel(ctx_, "a", "b");
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), "Registered Model (name=b) already exists.");
  EXPECT_EQ(Head(), head);
  EXPECT_TRUE(reg_.GetModel(ctx_, "a").ok());
}

TEST_F(RegistryTest, ModelTagsAreSetOverwrittenAndDeletedEachWithOneEvent) {
  MustCreateModel("m");
  int64_t head = Head();
  ASSERT_TRUE(reg_.SetModelTag(ctx_, "m", "team", "risk").ok());
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model.tag_set")"));
  EXPECT_EQ(e["before"], J("null"));
  EXPECT_EQ(e["after"], J(R"({"key":"team","value":"risk"})"));

  head = Head();
  auto m = reg_.SetModelTag(ctx_, "m", "team", "fraud");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->tags, (StringMap{{"team", "fraud"}}));
  e = OnlyEventSince(head);
  EXPECT_EQ(e["before"], J(R"({"key":"team","value":"risk"})"));
  EXPECT_EQ(e["after"], J(R"({"key":"team","value":"fraud"})"));

  head = Head();
  m = reg_.DeleteModelTag(ctx_, "m", "team");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->tags.empty());
  e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model.tag_deleted")"));
  EXPECT_EQ(e["before"], J(R"({"key":"team","value":"fraud"})"));
  EXPECT_EQ(e["after"], J("null"));
  EXPECT_TRUE(reg_.GetModel(ctx_, "m")->tags.empty());

  // Deleting it again changes nothing, so it succeeds (as MLflow's does) and records nothing.
  head = Head();
  EXPECT_TRUE(reg_.DeleteModelTag(ctx_, "m", "team").ok());
  EXPECT_EQ(Head(), head);
}

TEST_F(RegistryTest, DeletingAModelHidesItButKeepsItsHistory) {
  MustCreateModel("gone", "d", {{"k", "v"}});
  MustCreateVersion("gone");
  MustCreateVersion("gone");
  ASSERT_TRUE(reg_.SetAlias(ctx_, "gone", "champion", 2, "").ok());
  MustCreateModel("stays");
  int64_t head = Head();
  ASSERT_TRUE(reg_.DeleteModel(ctx_, "gone").ok());
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model.deleted")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model","model":"gone"})"));
  EXPECT_EQ(e["before"], J(R"({"name":"gone","description":"d","tags":{"k":"v"},"versions":2})"));
  EXPECT_EQ(e["after"], J("null"));

  EXPECT_EQ(reg_.GetModel(ctx_, "gone").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_.GetVersion(ctx_, "gone", 1).status().code(), StatusCode::kNotFound);
  auto list = reg_.ListModels(ctx_, {});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].name, "stays");

  auto history = reg_.ListAudit(ctx_, {.model = "gone"});
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  std::vector<std::string> actions;
  for (const auto& body : history->items) {
    actions.emplace_back(json::parse(body).at("action").as_string());
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"model.created", "model_version.created",
                                               "model_version.created", "model_alias.set",
                                               "model.deleted"}));

  // The name is free again, for a new model with its own numbering.
  head = Head();
  MustCreateModel("gone");
  EXPECT_EQ(Head(), head + 1);
  EXPECT_TRUE(reg_.GetModel(ctx_, "gone")->tags.empty());
  EXPECT_EQ(reg_.GetVersionByAlias(ctx_, "gone", "champion").status().code(),
            StatusCode::kInvalidArgument);
}

// ---- Versions --------------------------------------------------------------------------------

TEST_F(RegistryTest, CreatingAVersionRecordsItsSnapshot) {
  MustCreateModel("m");
  clock_.Advance(5);
  const int64_t head = Head();
  const std::string digest = "sha256:" + Sha256Hex("model bytes");
  auto v = reg_.CreateVersion(ctx_, {.model = "m",
                                     .source = "s3://bucket/model.tar.gz",
                                     .run_id = "abc123",
                                     .description = "first",
                                     .artifact_digest = digest,
                                     .tags = {{"commit", "1a2b3c"}},
                                     .metrics = {{"auc", 0.93}},
                                     .params = {{"lr", "0.1"}}});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->version, 1);
  EXPECT_EQ(v->model_name, "m");
  EXPECT_EQ(v->stage, Stage::kNone);
  EXPECT_EQ(v->status, "READY");
  EXPECT_EQ(v->created_by, "alice");
  EXPECT_EQ(v->created_by_id, 7);  // separation of duties compares ids (issue 12)
  EXPECT_EQ(v->created_ms, kT0 + 5);

  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_version.created")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model_version","model":"m","version":1})"));
  EXPECT_EQ(e["before"], J("null"));
  EXPECT_EQ(e["after"],
            J(fmt::format(R"({{"source":"s3://bucket/model.tar.gz","run_id":"abc123",)"
                          R"("description":"first","artifact_digest":"{}","status":"READY",)"
                          R"("stage":"None","tags":{{"commit":"1a2b3c"}},"metrics":{{"auc":0.93}},)"
                          R"("params":{{"lr":"0.1"}}}})",
                          digest)));

  auto got = reg_.GetVersion(ctx_, "m", 1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metrics, (MetricMap{{"auc", 0.93}}));
  EXPECT_EQ(got->artifact_digest, digest);
  EXPECT_EQ(reg_.GetModel(ctx_, "m")->latest_live_version, std::optional<int64_t>(1));
}

TEST_F(RegistryTest, VersionNumbersAreNeverReusedAfterDeletion) {
  MustCreateModel("m");
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(MustCreateVersion("m").version, i);
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 3).ok());
  EXPECT_EQ(MustCreateVersion("m").version, 4);
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 4).ok());
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 2).ok());
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 1).ok());
  EXPECT_EQ(MustCreateVersion("m").version, 5);
  EXPECT_EQ(reg_.GetVersion(ctx_, "m", 3).status().code(), StatusCode::kNotFound);
  auto listed = reg_.ListVersions(ctx_, "m", {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].version, 5);
  EXPECT_EQ(reg_.GetModel(ctx_, "m")->latest_live_version, std::optional<int64_t>(5));
}

TEST_F(RegistryTest, DeletingAVersionRecordsItsSnapshotAndRemovesItsAliases) {
  MustCreateModel("m");
  MustCreateVersion("m");
  MustCreateVersion("m");
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 1, "").ok());
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "blessed", 1, "").ok());
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "challenger", 2, "").ok());
  const int64_t head = Head();
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 1).ok());
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_version.deleted")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model_version","model":"m","version":1})"));
  EXPECT_EQ(e["before"].at("aliases"), J(R"(["blessed","champion"])"));
  EXPECT_EQ(e["before"].at("source"), J(R"("s3://bucket/model.tar.gz")"));
  EXPECT_EQ(e["after"], J("null"));

  EXPECT_EQ(reg_.GetVersionByAlias(ctx_, "m", "champion").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_.GetVersionByAlias(ctx_, "m", "blessed").status().code(),
            StatusCode::kInvalidArgument);
  auto other = reg_.GetVersionByAlias(ctx_, "m", "challenger");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->version, 2);
  // A removed alias can be set afresh.
  const int64_t head2 = Head();
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 2, "").ok());
  EXPECT_EQ(OnlyEventSince(head2)["before"], J("null"));
}

TEST_F(RegistryTest, UpdatingAVersionDescriptionRecordsBeforeAndAfter) {
  MustCreateModel("m");
  MustCreateVersion("m", {.description = "old"});
  const int64_t head = Head();
  auto v = reg_.UpdateVersionDescription(ctx_, "m", 1, "new");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->description, "new");
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_version.updated")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model_version","model":"m","version":1})"));
  EXPECT_EQ(e["before"], J(R"({"description":"old"})"));
  EXPECT_EQ(e["after"], J(R"({"description":"new"})"));
  EXPECT_EQ(reg_.GetVersion(ctx_, "m", 1)->description, "new");
}

TEST_F(RegistryTest, VersionTagsMetricsAndParamsAreSetAndDeletedEachWithOneEvent) {
  MustCreateModel("m");
  MustCreateVersion("m");
  struct Case {
    VersionField field;
    std::string name;
    std::string first_value_json;
    std::string second_value_json;
    std::function<Result<ModelVersion>(int)> set;
  };
  std::vector<Case> cases = {
      {VersionField::kTag, "tag", R"("a")", R"("b")",
       [&](int i) {
         return reg_.SetVersionField(ctx_, VersionField::kTag, "m", 1, "k", i == 0 ? "a" : "b");
       }},
      {VersionField::kMetric, "metric", "0.5", "0.75",
       [&](int i) {
         return reg_.SetVersionField(ctx_, VersionField::kMetric, "m", 1, "k", "",
                                     i == 0 ? 0.5 : 0.75);
       }},
      {VersionField::kParam, "param", R"("x")", R"("y")",
       [&](int i) {
         return reg_.SetVersionField(ctx_, VersionField::kParam, "m", 1, "k", i == 0 ? "x" : "y");
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    int64_t head = Head();
    ASSERT_TRUE(c.set(0).ok());
    json::object e = OnlyEventSince(head);
    EXPECT_EQ(e["action"], J(fmt::format(R"("model_version.{}_set")", c.name)));
    EXPECT_EQ(e["target"], J(R"({"type":"model_version","model":"m","version":1})"));
    EXPECT_EQ(e["before"], J("null"));
    EXPECT_EQ(e["after"], J(fmt::format(R"({{"key":"k","value":{}}})", c.first_value_json)));

    head = Head();
    ASSERT_TRUE(c.set(1).ok());
    e = OnlyEventSince(head);
    EXPECT_EQ(e["before"], J(fmt::format(R"({{"key":"k","value":{}}})", c.first_value_json)));
    EXPECT_EQ(e["after"], J(fmt::format(R"({{"key":"k","value":{}}})", c.second_value_json)));

    head = Head();
    auto deleted = reg_.DeleteVersionField(ctx_, c.field, "m", 1, "k");
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    e = OnlyEventSince(head);
    EXPECT_EQ(e["action"], J(fmt::format(R"("model_version.{}_deleted")", c.name)));
    EXPECT_EQ(e["before"], J(fmt::format(R"({{"key":"k","value":{}}})", c.second_value_json)));
    EXPECT_EQ(e["after"], J("null"));

    head = Head();
    EXPECT_TRUE(reg_.DeleteVersionField(ctx_, c.field, "m", 1, "k").ok());
    EXPECT_EQ(Head(), head);
  }
  auto v = reg_.GetVersion(ctx_, "m", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->tags.empty());
  EXPECT_TRUE(v->metrics.empty());
  EXPECT_TRUE(v->params.empty());
}

// ---- Stages ----------------------------------------------------------------------------------

TEST_F(RegistryTest, StagesAreCaseInsensitiveInAndCanonicalOut) {
  MustCreateModel("m");
  MustCreateVersion("m");
  const int64_t head = Head();
  ModelVersion v = MustSetStage("m", 1, "pRoDuCtIoN", false, "go live");
  EXPECT_EQ(v.stage, Stage::kProduction);
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_version.stage_changed")"));
  EXPECT_EQ(e["target"], J(R"({"type":"model_version","model":"m","version":1})"));
  EXPECT_EQ(e["before"], J(R"({"stage":"None"})"));
  EXPECT_EQ(e["after"], J(R"({"stage":"Production"})"));
  EXPECT_EQ(e["comment"], J(R"("go live")"));
  EXPECT_EQ(StageOf("m", 1), Stage::kProduction);
  EXPECT_EQ(MustSetStage("m", 1, "staging").stage, Stage::kStaging);
  EXPECT_EQ(MustSetStage("m", 1, "ARCHIVED").stage, Stage::kArchived);
  EXPECT_EQ(MustSetStage("m", 1, "none").stage, Stage::kNone);
}

TEST_F(RegistryTest, ArchiveExistingMovesTheOtherHoldersInOneTransaction) {
  MustCreateModel("m");
  for (int i = 0; i < 4; ++i) MustCreateVersion("m");
  MustSetStage("m", 1, "Production");
  MustSetStage("m", 2, "Production");
  MustSetStage("m", 3, "Staging");
  clock_.Advance(60'000);
  const int64_t head = Head();
  const int writes = counting_.writes.load();

  ModelVersion v = MustSetStage("m", 4, "production", true, "ship it");
  EXPECT_EQ(v.stage, Stage::kProduction);
  EXPECT_EQ(counting_.writes.load() - writes, 1) << "the moves must share one transaction";
  EXPECT_EQ(StageOf("m", 1), Stage::kArchived);
  EXPECT_EQ(StageOf("m", 2), Stage::kArchived);
  EXPECT_EQ(StageOf("m", 3), Stage::kStaging);
  EXPECT_EQ(StageOf("m", 4), Stage::kProduction);

  auto events = EventsAfter(head);
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["seq"], json::value(head + 1 + static_cast<int64_t>(i)));
    EXPECT_EQ(events[i]["action"], J(R"("model_version.stage_changed")"));
    EXPECT_EQ(events[i]["time_ms"], json::value(kT0 + 60'000));
    EXPECT_EQ(events[i]["request_id"], J(R"("req-1")"));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(events[i]["target"],
              J(fmt::format(R"({{"type":"model_version","model":"m","version":{}}})", i + 1)));
    EXPECT_EQ(events[i]["before"], J(R"({"stage":"Production"})"));
    EXPECT_EQ(events[i]["after"], J(R"({"stage":"Archived","cause":"superseded","by_version":4})"));
    EXPECT_EQ(events[i]["comment"], J(R"("archived because version 4 moved to Production")"));
  }
  EXPECT_EQ(events[2]["target"], J(R"({"type":"model_version","model":"m","version":4})"));
  EXPECT_EQ(events[2]["before"], J(R"({"stage":"None"})"));
  EXPECT_EQ(events[2]["after"], J(R"({"stage":"Production"})"));
  EXPECT_EQ(events[2]["comment"], J(R"("ship it")"));
}

TEST_F(RegistryTest, ArchiveExistingDoesNotArchiveTheVersionBeingMoved) {
  MustCreateModel("m");
  MustCreateVersion("m");
  MustCreateVersion("m");
  MustSetStage("m", 1, "Staging");
  MustSetStage("m", 2, "Staging");
  MustSetStage("m", 1, "Staging", true);
  EXPECT_EQ(StageOf("m", 1), Stage::kStaging);
  EXPECT_EQ(StageOf("m", 2), Stage::kArchived);
}

TEST_F(RegistryTest, ArchiveExistingIntoArchivedOrNoneIsFailedPreconditionAndChangesNothing) {
  MustCreateModel("m");
  MustCreateVersion("m");
  MustCreateVersion("m");
  MustSetStage("m", 1, "Production");
  const int64_t head = Head();
  const int writes = counting_.writes.load();
  for (const char* stage : {"Archived", "archived", "None", "NONE"}) {
    auto r =
        reg_.SetStage(ctx_, {.model = "m", .version = 2, .stage = stage, .archive_existing = true});
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << stage;
    EXPECT_NE(r.status().message().find("not an Active stage"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(counting_.writes.load(), writes);
  EXPECT_EQ(StageOf("m", 1), Stage::kProduction);
  EXPECT_EQ(StageOf("m", 2), Stage::kNone);
}

// ---- Aliases ---------------------------------------------------------------------------------

TEST_F(RegistryTest, AliasesAreSetMovedAndDeletedEachWithOneEvent) {
  MustCreateModel("m");
  MustCreateVersion("m");
  MustCreateVersion("m");
  int64_t head = Head();
  auto v = reg_.SetAlias(ctx_, "m", "champion", 1, "first pick");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->aliases, (std::vector<std::string>{"champion"}));
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_alias.set")"));
  EXPECT_EQ(e["target"],
            J(R"({"type":"model_version","model":"m","version":1,"alias":"champion"})"));
  EXPECT_EQ(e["before"], J("null"));
  EXPECT_EQ(e["after"], J(R"({"alias":"champion","version":1})"));
  EXPECT_EQ(e["comment"], J(R"("first pick")"));

  head = Head();
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 2, "").ok());
  e = OnlyEventSince(head);
  EXPECT_EQ(e["before"], J(R"({"alias":"champion","version":1})"));
  EXPECT_EQ(e["after"], J(R"({"alias":"champion","version":2})"));
  auto by_alias = reg_.GetVersionByAlias(ctx_, "m", "champion");
  ASSERT_TRUE(by_alias.ok());
  EXPECT_EQ(by_alias->version, 2);
  EXPECT_TRUE(reg_.GetVersion(ctx_, "m", 1)->aliases.empty());

  head = Head();
  ASSERT_TRUE(reg_.DeleteAlias(ctx_, "m", "champion", "retired").ok());
  e = OnlyEventSince(head);
  EXPECT_EQ(e["action"], J(R"("model_alias.deleted")"));
  EXPECT_EQ(e["target"],
            J(R"({"type":"model_version","model":"m","version":2,"alias":"champion"})"));
  EXPECT_EQ(e["before"], J(R"({"alias":"champion","version":2})"));
  EXPECT_EQ(e["after"], J("null"));
  EXPECT_EQ(e["comment"], J(R"("retired")"));

  head = Head();
  // MLflow answers INVALID_PARAMETER_VALUE for a missing alias, and its clients match on it.
  auto missing = reg_.GetVersionByAlias(ctx_, "m", "champion");
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "Registered model alias champion not found.");
  EXPECT_TRUE(reg_.DeleteAlias(ctx_, "m", "champion", "").ok());
  EXPECT_EQ(Head(), head);
}

// The comment lands in the audit event, so it is validated as SetAlias and SetStage validate
// theirs.
TEST_F(RegistryTest, DeletingAnAliasRefusesAnInvalidCommentAndKeepsTheAlias) {
  MustCreateModel("m");
  MustCreateVersion("m");
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 1, "").ok());
  const int64_t head = Head();
  for (const std::string& comment :
       std::vector<std::string>{"\xff\xfe", "cut \xe2\x82", std::string(65537, 'c')}) {
    EXPECT_EQ(reg_.SetAlias(ctx_, "m", "champion", 1, comment).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(reg_.DeleteAlias(ctx_, "m", "champion", comment).code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Head(), head);
  EXPECT_TRUE(reg_.GetVersionByAlias(ctx_, "m", "champion").ok());
}

TEST_F(RegistryTest, ReservedAliasNamesAreRefusedAndOthersLikeThemAccepted) {
  MustCreateModel("m");
  MustCreateVersion("m");
  const int64_t head = Head();
  for (const char* alias : {"latest", "LATEST", "Latest", "v1", "V12", "v0"}) {
    auto r = reg_.SetAlias(ctx_, "m", alias, 1, "");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << alias;
  }
  EXPECT_EQ(Head(), head);
  for (const char* alias : {"v", "v1a", "V-1", "latest2", "champion_2"}) {
    EXPECT_TRUE(reg_.SetAlias(ctx_, "m", alias, 1, "").ok()) << alias;
  }
}

// ---- Validation ------------------------------------------------------------------------------

TEST_F(RegistryTest, InvalidInputIsInvalidArgumentAndWritesNothing) {
  MustCreateModel("m");
  MustCreateVersion("m");
  const int64_t head = Head();
  const int writes = counting_.writes.load();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto create_model = [&](std::string name, StringMap tags = {}, std::string description = "") {
    return StatusOf(reg_.CreateModel(
        ctx_, {.name = std::move(name), .description = std::move(description), .tags = tags}));
  };
  // A valid version of "m", changed by `edit`.
  auto create_version = [&](const std::function<void(CreateVersionArgs&)>& edit) {
    CreateVersionArgs args{.model = "m", .source = "s3://ok"};
    edit(args);
    return StatusOf(reg_.CreateVersion(ctx_, args));
  };
  std::vector<std::pair<std::string, std::function<Status()>>> calls = {
      {"empty name", [&] { return create_model(""); }},
      {"newline in name", [&] { return create_model("a\nb"); }},
      {"NUL in name", [&] { return create_model(std::string("a\0b", 3)); }},
      {"DEL in name", [&] { return create_model("a\x7f"); }},
      {"invalid UTF-8 name", [&] { return create_model("\xff"); }},
      {"overlong UTF-8 name", [&] { return create_model("\xc0\xaf"); }},
      {"surrogate in name", [&] { return create_model("\xed\xa0\x80"); }},
      {"truncated UTF-8 name", [&] { return create_model("ab\xe2\x82"); }},
      {"name too long", [&] { return create_model(std::string(257, 'x')); }},
      {"blank name", [&] { return create_model("   "); }},
      {"empty tag key",
       [&] {
         return create_model("ok", {{"", "v"}});
       }},
      {"tag key too long",
       [&] {
         return create_model("ok", {{std::string(251, 'k'), "v"}});
       }},
      {"tab in tag key",
       [&] {
         return create_model("ok", {{"a\tb", "v"}});
       }},
      {"tag value too long",
       [&] {
         return create_model("ok", {{"k", std::string(5001, 'v')}});
       }},
      {"invalid UTF-8 description", [&] { return create_model("ok", {}, "\xe2\x82"); }},
      {"rename to empty", [&] { return StatusOf(reg_.RenameModel(ctx_, "m", "")); }},
      {"rename to control", [&] { return StatusOf(reg_.RenameModel(ctx_, "m", "a\x01")); }},
      {"model tag key empty", [&] { return StatusOf(reg_.SetModelTag(ctx_, "m", "", "v")); }},
      {"model tag value too long",
       [&] { return StatusOf(reg_.SetModelTag(ctx_, "m", "k", std::string(5001, 'v'))); }},
      {"description too long",
       [&] { return StatusOf(reg_.UpdateModelDescription(ctx_, "m", std::string(65537, 'd'))); }},
      {"empty source", [&] { return StatusOf(reg_.CreateVersion(ctx_, {.model = "m"})); }},
      {"control in source",
       [&] { return create_version([&](CreateVersionArgs& a) { a.source = "s3://a\nb"; }); }},
      {"source too long",
       [&] {
         return create_version([&](CreateVersionArgs& a) { a.source = std::string(4097, 's'); });
       }},
      {"control in run_id",
       [&] { return create_version([&](CreateVersionArgs& a) { a.run_id = "r\x01"; }); }},
      {"model_id too long",
       [&] {
         return create_version([&](CreateVersionArgs& a) { a.model_ref = std::string(257, 'r'); });
       }},
      {"short digest",
       [&] {
         return create_version(
             [&](CreateVersionArgs& a) { a.artifact_digest = "sha256:" + std::string(63, 'a'); });
       }},
      {"uppercase digest",
       [&] {
         return create_version(
             [&](CreateVersionArgs& a) { a.artifact_digest = "sha256:" + std::string(64, 'A'); });
       }},
      {"md5 digest",
       [&] {
         return create_version(
             [&](CreateVersionArgs& a) { a.artifact_digest = "md5:" + std::string(32, 'a'); });
       }},
      {"NaN metric",
       [&] { return create_version([&](CreateVersionArgs& a) {
               a.metrics = {{"auc", nan}};
             }); }},
      {"infinite metric",
       [&] { return create_version([&](CreateVersionArgs& a) {
               a.metrics = {{"auc", -inf}};
             }); }},
      {"empty metric key",
       [&] { return create_version([&](CreateVersionArgs& a) {
               a.metrics = {{"", 1}};
             }); }},
      {"param value too long",
       [&] {
         return create_version([&](CreateVersionArgs& a) {
           a.params = {{"p", std::string(6001, 'p')}};
         });
       }},
      {"bad version tag key",
       [&] { return create_version([&](CreateVersionArgs& a) {
               a.tags = {{"", "v"}};
             }); }},
      {"unknown stage",
       [&] {
         return StatusOf(reg_.SetStage(ctx_, {.model = "m", .version = 1, .stage = "Prod"}));
       }},
      {"empty stage",
       [&] { return StatusOf(reg_.SetStage(ctx_, {.model = "m", .version = 1, .stage = ""})); }},
      {"stage with space",
       [&] {
         return StatusOf(reg_.SetStage(ctx_, {.model = "m", .version = 1, .stage = "Staging "}));
       }},
      {"version zero",
       [&] {
         return StatusOf(reg_.SetStage(ctx_, {.model = "m", .version = 0, .stage = "None"}));
       }},
      {"negative version", [&] { return StatusOf(reg_.DeleteVersion(ctx_, "m", -1)); }},
      {"empty alias", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "", 1, "")); }},
      {"alias with space", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "a b", 1, "")); }},
      {"alias with slash", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "a/b", 1, "")); }},
      {"non-ASCII alias", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "\xc3\xbc", 1, "")); }},
      {"alias too long",
       [&] { return StatusOf(reg_.SetAlias(ctx_, "m", std::string(256, 'a'), 1, "")); }},
      {"alias to version zero", [&] { return StatusOf(reg_.SetAlias(ctx_, "m", "a", 0, "")); }},
      {"NaN metric set",
       [&] {
         return StatusOf(reg_.SetVersionField(ctx_, VersionField::kMetric, "m", 1, "auc", "", nan));
       }},
      {"empty version tag key",
       [&] { return StatusOf(reg_.SetVersionField(ctx_, VersionField::kTag, "m", 1, "", "v")); }},
      {"param value too long set",
       [&] {
         return StatusOf(
             reg_.SetVersionField(ctx_, VersionField::kParam, "m", 1, "p", std::string(6001, 'p')));
       }},
      {"empty key delete",
       [&] { return StatusOf(reg_.DeleteVersionField(ctx_, VersionField::kTag, "m", 1, "")); }},
      {"invalid UTF-8 version description",
       [&] { return StatusOf(reg_.UpdateVersionDescription(ctx_, "m", 1, "\xc3")); }},
      {"limit zero", [&] { return StatusOf(reg_.ListModels(ctx_, {.limit = 0})); }},
      {"limit too big", [&] { return StatusOf(reg_.ListVersions(ctx_, "m", {.limit = 1001})); }},
      {"audit version without model",
       [&] { return StatusOf(reg_.ListAudit(ctx_, {.version = 1})); }},
      {"audit negative version",
       [&] { return StatusOf(reg_.ListAudit(ctx_, {.model = "m", .version = -1})); }},
  };
  for (const auto& [what, call] : calls) {
    Status st = call();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << what << ": " << st.ToString();
  }
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(counting_.writes.load(), writes) << "invalid input must be refused before the store";
  auto models = reg_.ListModels(ctx_, {});
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(models->items.size(), 1u);
}

TEST_F(RegistryTest, NamesAtTheLimitsAreAccepted) {
  EXPECT_TRUE(reg_.CreateModel(ctx_, {.name = std::string(256, 'x')}).ok());
  EXPECT_TRUE(
      reg_.CreateModel(ctx_, {.name = "team/fraud detector \xc3\xbc\xf0\x9f\x98\x80"}).ok());
  EXPECT_TRUE(reg_.CreateModel(ctx_, {.name = "tags",
                                      .tags = {{std::string(250, 'k'), std::string(5000, 'v')}}})
                  .ok());
}

// ---- Paging ----------------------------------------------------------------------------------

TEST_F(RegistryTest, ListingModelsPageByPageReturnsEveryModelExactlyOnceInOrder) {
  std::vector<std::string> want;
  for (int i = 0; i < 25; ++i) want.push_back(fmt::format("model-{:02}", (i * 7) % 25));
  for (const auto& name : want) MustCreateModel(name);
  std::sort(want.begin(), want.end());

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = reg_.ListModels(ctx_, {.page_token = token, .limit = 7});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_LE(page->items.size(), 7u);
    for (const auto& m : page->items) seen.push_back(m.name);
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(seen, want);

  // A page that ends exactly at the last item says there is no next page.
  auto exact = reg_.ListModels(ctx_, {.limit = 25});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->items.size(), 25u);
  EXPECT_TRUE(exact->next_page_token.empty());
}

TEST_F(RegistryTest, ListingVersionsPageByPageReturnsEveryLiveVersionExactlyOnce) {
  MustCreateModel("m");
  for (int i = 0; i < 12; ++i) MustCreateVersion("m");
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "m", 5).ok());
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = reg_.ListVersions(ctx_, "m", {.page_token = token, .limit = 4});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& v : page->items) seen.push_back(v.version);
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12}));
}

TEST_F(RegistryTest, ListingTheAuditLogPageByPageReturnsEveryEventExactlyOnce) {
  MustCreateModel("a");
  MustCreateModel("b");
  for (int i = 0; i < 6; ++i) {
    MustCreateVersion("a");
    MustCreateVersion("b");
  }
  std::vector<int64_t> seqs;
  std::string token;
  int pages = 0;
  do {
    auto page = reg_.ListAudit(ctx_, {.model = "a", .page = {.page_token = token, .limit = 3}});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& body : page->items) {
      json::value e = json::parse(body);
      EXPECT_EQ(e.at("target").at("model"), J(R"("a")"));
      seqs.push_back(e.at("seq").as_int64());
    }
    token = page->next_page_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 3, 5, 7, 9, 11, 13}));
}

TEST_F(RegistryTest, TheAuditLogPagesNewestFirstAndATokenKeepsItsOrder) {
  MustCreateModel("a");
  for (int i = 0; i < 6; ++i) MustCreateVersion("a");  // seq 1..7
  std::vector<int64_t> seqs;
  std::string token;
  int pages = 0;
  do {
    auto page = reg_.ListAudit(
        ctx_, {.model = "a", .newest_first = true, .page = {.page_token = token, .limit = 3}});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& body : page->items) seqs.push_back(json::parse(body).at("seq").as_int64());
    token = page->next_page_token;
    if (pages == 0) {
      // A token made newest first does not page oldest first, nor the other way round.
      ASSERT_FALSE(token.empty());
      EXPECT_EQ(reg_.ListAudit(ctx_, {.page = {.page_token = token}}).status().code(),
                StatusCode::kInvalidArgument);
      auto oldest = reg_.ListAudit(ctx_, {.page = {.limit = 1}});
      ASSERT_TRUE(oldest.ok());
      EXPECT_EQ(reg_.ListAudit(ctx_, {.newest_first = true,
                                      .page = {.page_token = oldest->next_page_token}})
                    .status()
                    .code(),
                StatusCode::kInvalidArgument);
    }
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seqs, (std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1}));
}

TEST_F(RegistryTest, AuditQueriesRefuseAnUnknownOutcomeOrANegativeRequest) {
  auto bad_outcome = reg_.ListAudit(ctx_, {.outcome = "failed"});
  EXPECT_EQ(bad_outcome.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_outcome.status().message(), "outcome must be 'done' or 'denied', got 'failed'");
  EXPECT_EQ(reg_.ListAudit(ctx_, {.request_id = -1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(reg_.ListAudit(ctx_, {.outcome = "denied"}).ok());
}

TEST_F(RegistryTest, TamperedOrForeignPageTokensAreInvalidArgument) {
  for (int i = 0; i < 5; ++i) MustCreateModel(fmt::format("m{}", i));
  MustCreateVersion("m0");
  MustCreateVersion("m0");
  auto first = reg_.ListModels(ctx_, {.limit = 2});
  ASSERT_TRUE(first.ok());
  const std::string token = first->next_page_token;
  ASSERT_FALSE(token.empty());
  const size_t dot = token.find('.');
  ASSERT_NE(dot, std::string::npos);
  auto flip = [](std::string s, size_t i) {
    s[i] = s[i] == 'A' ? 'B' : 'A';
    return s;
  };
  const PageTokens same_key(kPageKey);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"payload flipped", flip(token, 0)},
      {"mac flipped", flip(token, dot + 1)},
      {"mac truncated", token.substr(0, token.size() - 2)},
      {"no mac", token.substr(0, dot)},
      {"no dot", token.substr(0, dot) + token.substr(dot + 1)},
      {"appended", token + "A"},
      {"two dots", token + ".x"},
      {"not base64", "!!!.???"},
      {"other key", PageTokens("another-key").Encode({{"after_name", "m1"}})},
      {"unsigned payload",
       Base64UrlEncode(R"({"after_name":"m1"})") + "." + Base64UrlEncode(std::string(16, '\0'))},
      {"wrong field", same_key.Encode({{"after_version", 1}})},
      {"wrong type", same_key.Encode({{"after_name", 5}})},
      {"signed non-object",
       [&] {
         std::string payload = "[1]";
         return Base64UrlEncode(payload) + "." +
                Base64UrlEncode(HmacSha256(kPageKey, payload).substr(0, 16));
       }()},
  };
  for (const auto& [what, t] : bad) {
    auto r = reg_.ListModels(ctx_, {.page_token = t, .limit = 2});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << what;
  }
  // A token of one listing does not page another.
  auto versions = reg_.ListVersions(ctx_, "m0", {.limit = 1});
  ASSERT_TRUE(versions.ok());
  ASSERT_FALSE(versions->next_page_token.empty());
  EXPECT_EQ(reg_.ListModels(ctx_, {.page_token = versions->next_page_token}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_.ListAudit(ctx_, {.page = {.page_token = token}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_.ListVersions(ctx_, "m0", {.page_token = token}).status().code(),
            StatusCode::kInvalidArgument);
  // The untouched token still works.
  auto second = reg_.ListModels(ctx_, {.page_token = token, .limit = 2});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 2u);
  EXPECT_EQ(second->items[0].name, "m2");
}

// ---- Audit queries ---------------------------------------------------------------------------

TEST_F(RegistryTest, AuditQueriesFilterByActorActionVersionAndTime) {
  MustCreateModel("m");  // 1, alice, kT0
  clock_.Advance(1000);
  RequestContext bob = Ctx("bob", 8);
  ASSERT_TRUE(reg_.CreateVersion(bob, {.model = "m", .source = "s3://x"}).ok());  // 2
  clock_.Advance(1000);
  ASSERT_TRUE(reg_.CreateVersion(ctx_, {.model = "m", .source = "s3://y"}).ok());  // 3
  MustSetStage("m", 2, "Staging");                                                 // 4

  auto seqs = [&](const AuditQuery& q) {
    std::vector<int64_t> out;
    auto page = reg_.ListAudit(ctx_, q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) return out;
    for (const auto& body : page->items) out.push_back(json::parse(body).at("seq").as_int64());
    return out;
  };
  EXPECT_EQ(seqs({}), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs({.actor = "bob"}), (std::vector<int64_t>{2}));
  EXPECT_EQ(seqs({.action = "model_version.created"}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(seqs({.model = "m", .version = 1}), (std::vector<int64_t>{2}));
  EXPECT_EQ(seqs({.model = "m", .version = 2}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(seqs({.since_ms = kT0 + 1000}), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(seqs({.until_ms = kT0 + 1000}), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(seqs({.model = "other"}).empty());
}

// ---- Authentication --------------------------------------------------------------------------

TEST_F(RegistryTest, ACallWithoutAPrincipalIsUnauthenticatedAndTouchesNothing) {
  MustCreateModel("m");
  MustCreateVersion("m");
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 1, "").ok());
  const int64_t head = Head();
  const int reads = counting_.reads.load();
  const int writes = counting_.writes.load();
  RequestContext anon = ctx_;
  anon.principal.reset();
  anon.auth = AuthMethod::kNone;
  std::vector<std::pair<std::string, std::function<Status()>>> calls = {
      {"CreateModel", [&] { return StatusOf(reg_.CreateModel(anon, {.name = "x"})); }},
      {"GetModel", [&] { return StatusOf(reg_.GetModel(anon, "m")); }},
      {"ListModels", [&] { return StatusOf(reg_.ListModels(anon, {})); }},
      {"Update", [&] { return StatusOf(reg_.UpdateModelDescription(anon, "m", "d")); }},
      {"Rename", [&] { return StatusOf(reg_.RenameModel(anon, "m", "n")); }},
      {"Delete", [&] { return StatusOf(reg_.DeleteModel(anon, "m")); }},
      {"SetModelTag", [&] { return StatusOf(reg_.SetModelTag(anon, "m", "k", "v")); }},
      {"DeleteModelTag", [&] { return StatusOf(reg_.DeleteModelTag(anon, "m", "k")); }},
      {"CreateVersion",
       [&] { return StatusOf(reg_.CreateVersion(anon, {.model = "m", .source = "s3://x"})); }},
      {"GetVersion", [&] { return StatusOf(reg_.GetVersion(anon, "m", 1)); }},
      {"ListVersions", [&] { return StatusOf(reg_.ListVersions(anon, "m", {})); }},
      {"UpdateVersion", [&] { return StatusOf(reg_.UpdateVersionDescription(anon, "m", 1, "")); }},
      {"DeleteVersion", [&] { return StatusOf(reg_.DeleteVersion(anon, "m", 1)); }},
      {"SetField",
       [&] { return StatusOf(reg_.SetVersionField(anon, VersionField::kTag, "m", 1, "k", "v")); }},
      {"DeleteField",
       [&] { return StatusOf(reg_.DeleteVersionField(anon, VersionField::kTag, "m", 1, "k")); }},
      {"SetStage",
       [&] {
         return StatusOf(reg_.SetStage(anon, {.model = "m", .version = 1, .stage = "None"}));
       }},
      {"SetAlias", [&] { return StatusOf(reg_.SetAlias(anon, "m", "a", 1, "")); }},
      {"DeleteAlias", [&] { return StatusOf(reg_.DeleteAlias(anon, "m", "champion", "")); }},
      {"GetVersionByAlias",
       [&] { return StatusOf(reg_.GetVersionByAlias(anon, "m", "champion")); }},
      {"ListAudit", [&] { return StatusOf(reg_.ListAudit(anon, {})); }},
  };
  for (const auto& [what, call] : calls) {
    EXPECT_EQ(call().code(), StatusCode::kUnauthenticated) << what;
  }
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(counting_.reads.load(), reads);
  EXPECT_EQ(counting_.writes.load(), writes);
}

// ---- Outbox and concurrency ------------------------------------------------------------------

TEST_F(RegistryTest, EveryDoneEventAlsoLandsInTheOutbox) {
  MustCreateModel("m", "", {{"k", "v"}});
  ASSERT_TRUE(reg_.SetModelTag(ctx_, "m", "k2", "v").ok());
  MustCreateVersion("m");
  MustCreateVersion("m");
  ASSERT_TRUE(reg_.SetVersionField(ctx_, VersionField::kMetric, "m", 1, "auc", "", 0.9).ok());
  MustSetStage("m", 1, "Production");
  MustSetStage("m", 2, "Production", true);
  ASSERT_TRUE(reg_.SetAlias(ctx_, "m", "champion", 2, "").ok());
  ASSERT_TRUE(reg_.RenameModel(ctx_, "m", "n").ok());
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "n", 1).ok());
  ASSERT_TRUE(reg_.DeleteModel(ctx_, "n").ok());
  const int64_t head = Head();
  EXPECT_EQ(head, 12);
  EXPECT_EQ(PendingOutbox(), head);
  // Refused calls add nothing to either.
  EXPECT_FALSE(reg_.CreateModel(ctx_, {.name = ""}).ok());
  EXPECT_FALSE(reg_.GetModel(ctx_, "n").ok());
  EXPECT_EQ(Head(), head);
  EXPECT_EQ(PendingOutbox(), head);
}

TEST_F(RegistryTest, ConcurrentVersionCreatesGetEveryNumberExactlyOnce) {
  MustCreateModel("m");
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::vector<int64_t>> numbers(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RequestContext ctx = Ctx(fmt::format("user{}", t), 100 + t);
      for (int i = 0; i < kEach; ++i) {
        auto v = reg_.CreateVersion(ctx, {.model = "m", .source = "s3://x"});
        if (v.ok()) numbers[t].push_back(v->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int64_t> all;
  for (const auto& n : numbers) all.insert(all.end(), n.begin(), n.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> want(kThreads * kEach);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<int64_t>(i + 1);
  EXPECT_EQ(all, want);
  EXPECT_EQ(Head(), 1 + kThreads * kEach);
  EXPECT_EQ(PendingOutbox(), 1 + kThreads * kEach);
}

// ---- Sources, checked as MLflow 3.17's server checks them ----------------------------------

class SourceTest : public RegistryTest {
 protected:
  // "src": version 1 (run r1, logged model m-1, alias champ, Production), version 2 (no run).
  SourceTest() {
    MustCreateModel("src");
    MustCreateVersion("src", {.source = "s3://bucket/one", .run_id = "r1", .model_ref = "m-1"});
    MustCreateVersion("src", {.source = "s3://bucket/two"});
    EXPECT_TRUE(reg_.SetAlias(ctx_, "src", "champ", 1, "").ok());
    MustSetStage("src", 1, "Production");
    MustCreateModel("dst");
  }

  // Refused with `code` and `message`, and nothing changed: no event, no version number used.
  void ExpectRefused(CreateVersionArgs args, StatusCode code, const std::string& message) {
    args.model = "dst";
    const int64_t head = Head();
    auto v = reg_.CreateVersion(ctx_, args);
    EXPECT_EQ(v.status().code(), code) << args.source;
    EXPECT_EQ(v.status().message(), message) << args.source;
    EXPECT_EQ(Head(), head) << args.source;
    auto dst = reg_.GetModel(ctx_, "dst");
    ASSERT_TRUE(dst.ok());
    EXPECT_EQ(dst->last_version, 0) << args.source;
  }

  static std::string NotContained(std::string_view source, std::string_view id) {
    return fmt::format(
        "Invalid model version source: '{}'. The {} request parameter must identify the resource "
        "that contains the source.",
        source, id);
  }
  static std::string Mismatch(std::string_view source) {
    return fmt::format(
        "Invalid model version source: '{}'. The run_id and model_id request parameters must "
        "match the referenced model version.",
        source);
  }
};

TEST_F(SourceTest, PathTraversalIsRefusedAndChangesNothing) {
  for (std::string source : {"s3://bucket/a/../b", "s3://bucket/a/%2e%2e/b", "gs://b/x/./y"}) {
    ExpectRefused({.source = source}, StatusCode::kInvalidArgument,
                  fmt::format("Invalid model version source: '{}'. If supplying a source as an "
                              "http, https, local file path, ftp, objectstore, or mlflow-artifacts "
                              "uri, an absolute path must be provided without relative path "
                              "references present. Please provide an absolute path.",
                              source));
  }
}

TEST_F(SourceTest, RunsSourcesMustNameTheRunIdGiven) {
  ExpectRefused({.source = "runs:/r1/model"}, StatusCode::kInvalidArgument,
                NotContained("runs:/r1/model", "run_id"));
  ExpectRefused({.source = "runs:/r1/model", .run_id = "r2"}, StatusCode::kInvalidArgument,
                NotContained("runs:/r1/model", "run_id"));
  ExpectRefused({.source = "runs://host/r1/model", .run_id = "r1"}, StatusCode::kInvalidArgument,
                NotContained("runs://host/r1/model", "run_id"));
  ExpectRefused({.source = "runs:/r1/model", .run_id = "r1", .model_ref = "m-1"},
                StatusCode::kInvalidArgument, NotContained("runs:/r1/model", "model_id"));
  ModelVersion v = MustCreateVersion("dst", {.source = "runs:/r1/model", .run_id = "r1"});
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.source, "runs:/r1/model");
}

TEST_F(SourceTest, SourcesVouchDoesNotReadAreKept) {
  int64_t n = 0;
  for (std::string source : {"/tmp/model", "file:///tmp/model", "mlflow-artifacts:/x",
                             "http://example.com/x", "hdfs://nn/x", "s3://bucket"}) {
    ModelVersion v = MustCreateVersion("dst", {.source = source});
    EXPECT_EQ(v.version, ++n);
    EXPECT_EQ(v.source, source);
  }
}

TEST_F(SourceTest, AModelsSourceCopiesTheRunIdOfTheVersionItNames) {
  const int64_t head = Head();
  ModelVersion v = MustCreateVersion("dst", {.source = "models:/src/1"});
  EXPECT_EQ(v.source, "models:/src/1");
  EXPECT_EQ(v.run_id, "r1");
  EXPECT_EQ(v.model_ref, "m-1");
  EXPECT_EQ(v.storage_location, "s3://bucket/one");
  json::object e = OnlyEventSince(head);
  EXPECT_EQ(e["after"].as_object().at("source"), J(R"("models:/src/1")"));
  EXPECT_EQ(e["after"].as_object().at("run_id"), J(R"("r1")"));
  EXPECT_EQ(e["after"].as_object().at("model_id"), J(R"("m-1")"));
  auto stored = reg_.GetVersion(ctx_, "dst", v.version);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->run_id, "r1");
  EXPECT_EQ(stored->source, "models:/src/1");
  // The same run id, or none from a version without one, is accepted as it is.
  EXPECT_EQ(MustCreateVersion("dst", {.source = "models:/src/1", .run_id = "r1"}).run_id, "r1");
  ModelVersion none = MustCreateVersion("dst", {.source = "models:/src/2", .run_id_given = true});
  EXPECT_EQ(none.run_id, "");
  EXPECT_EQ(none.storage_location, "s3://bucket/two");
}

TEST_F(SourceTest, AliasesStagesAndLatestAreStoredAsTheVersionTheyName) {
  for (auto [source, want] : std::initializer_list<std::pair<std::string, std::string>>{
           {"models:/src@champ", "models:/src/1"},
           {"models:/src/production", "models:/src/1"},
           {"models:/src/latest", "models:/src/2"},
           {"models:/src/None", "models:/src/2"},
           {"models:/src/01", "models:/src/1"},
           {"MODELS:/src/1", "models:/src/1"}}) {
    ModelVersion v = MustCreateVersion("dst", {.source = source});
    EXPECT_EQ(v.source, want) << source;
    EXPECT_EQ(v.run_id, want == "models:/src/1" ? "r1" : "") << source;
  }
  // The alias moving later does not move the copy.
  EXPECT_TRUE(reg_.SetAlias(ctx_, "src", "champ", 2, "").ok());
  auto first = reg_.GetVersion(ctx_, "dst", 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->source, "models:/src/1");
}

TEST_F(SourceTest, AModelsSourceWithAnotherRunIdOrModelIdIsRefused) {
  ExpectRefused({.source = "models:/src/1", .run_id = "r2"}, StatusCode::kInvalidArgument,
                Mismatch("models:/src/1"));
  ExpectRefused({.source = "models:/src/1", .run_id_given = true}, StatusCode::kInvalidArgument,
                Mismatch("models:/src/1"));
  ExpectRefused({.source = "models:/src/2", .run_id = "r1"}, StatusCode::kInvalidArgument,
                Mismatch("models:/src/2"));
  ExpectRefused({.source = "models:/src@champ", .run_id = "r2"}, StatusCode::kInvalidArgument,
                Mismatch("models:/src@champ"));
  ExpectRefused({.source = "models:/src/1", .model_ref = "m-2"}, StatusCode::kInvalidArgument,
                Mismatch("models:/src/1"));
}

TEST_F(SourceTest, AModelsSourceNamingNothingGetsMlflowsError) {
  ExpectRefused({.source = "models:/nope/1"}, StatusCode::kNotFound,
                "Registered Model with name=nope not found");
  ExpectRefused({.source = "models:/src/9"}, StatusCode::kNotFound,
                "Model Version (name=src, version=9) not found");
  ExpectRefused({.source = "models:/src/99999999999999999999999"}, StatusCode::kNotFound,
                "Model Version (name=src, version=99999999999999999999999) not found");
  ExpectRefused({.source = "models:/src@nope"}, StatusCode::kInvalidArgument,
                "Registered model alias nope not found.");
  ExpectRefused({.source = "models:/src/Staging"}, StatusCode::kNotFound,
                "No versions of model with name 'src' and stage 'Staging' found");
  ExpectRefused({.source = "models:/src/Bogus"}, StatusCode::kInvalidArgument,
                "Invalid Model Version stage: Bogus. Value must be one of None, Staging, "
                "Production, Archived.");
  ExpectRefused({.source = "models:/dst/latest"}, StatusCode::kNotFound,
                "No versions of model with name 'dst' found");
  ExpectRefused({.source = "models:/src/1/x"}, StatusCode::kInvalidArgument,
                NotContained("models:/src/1/x", "model_id"));
  ExpectRefused({.source = "models://host/src/1"}, StatusCode::kInvalidArgument,
                "Invalid model version source: 'models://host/src/1'. Registered model sources "
                "must use the active model registry.");
  // A deleted version is not found either.
  ASSERT_TRUE(reg_.DeleteVersion(ctx_, "src", 2).ok());
  ExpectRefused({.source = "models:/src/2"}, StatusCode::kNotFound,
                "Model Version (name=src, version=2) not found");
}

TEST_F(SourceTest, ALoggedModelSourceMustNameTheModelIdGiven) {
  ExpectRefused({.source = "models:/m-abc"}, StatusCode::kInvalidArgument,
                NotContained("models:/m-abc", "model_id"));
  ExpectRefused({.source = "models:/m-abc", .model_ref = "m-xyz"}, StatusCode::kInvalidArgument,
                NotContained("models:/m-abc", "model_id"));
  ModelVersion v = MustCreateVersion("dst", {.source = "models:/m-abc", .model_ref = "m-abc"});
  EXPECT_EQ(v.source, "models:/m-abc");
  EXPECT_EQ(v.model_ref, "m-abc");
  EXPECT_EQ(v.storage_location, "");
}

}  // namespace
}  // namespace vouch::service

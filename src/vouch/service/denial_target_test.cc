// A refused request that named a model is recorded naming it, in its body and in the columns the
// audit filters read, on both stores: SQLite always, PostgreSQL when VOUCH_TEST_POSTGRES_DSN is
// set.
#include <gtest/gtest.h>

#include <memory>

#include "vouch/service/auth_service.h"
#include "vouch/storage/test_stores_test.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

class DenialTargetTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = store::testing::TestStore::Make(GetParam(), "vouch_denial_test");
    ASSERT_NE(env_, nullptr);
    auth_ = std::make_unique<AuthService>(env_->store(), clock_, 60'000);
  }

  int64_t InsertModel(std::string name) {
    Model m{.name = std::move(name), .created_ms = kT0, .updated_ms = kT0};
    Status st = env_->store().Write([&](store::Tx& tx) { return tx.InsertModel(m); });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return m.id;
  }

  RequestContext Alice() {
    RequestContext ctx;
    ctx.principal = Principal{.id = 7, .name = "alice"};
    ctx.auth = AuthMethod::kPassword;
    ctx.door = Door::kMlflow;
    ctx.clock = &clock_;
    ctx.request_id = "req-403";
    ctx.method = "POST";
    ctx.path = "/api/2.0/mlflow/model-versions/transition-stage";
    return ctx;
  }

  std::vector<json::object> Found(const store::AuditFilter& filter) {
    std::vector<store::StoredAuditEvent> stored;
    Status st = env_->store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents(filter));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<json::object> out;
    for (const auto& e : stored) {
      Result<json::object> o = ParseJsonObject(e.body);
      EXPECT_TRUE(o.ok()) << e.body;
      if (o.ok()) out.push_back(*o);
    }
    return out;
  }

  FakeClock clock_{kT0};
  std::unique_ptr<store::testing::TestStore> env_;
  std::unique_ptr<AuthService> auth_;
};

TEST_P(DenialTargetTest, ADenialOnANamedVersionIsFoundByTheModelAndVersionFilters) {
  const int64_t id = InsertModel("fraud-detector");
  InsertModel("other");
  RequestContext ctx = Alice();
  ctx.subject = RequestSubject{.model = "fraud-detector", .version = 1};
  auth_->RecordDenial(ctx, "alice needs EDIT permission on model 'fraud-detector' (has READ)");

  std::vector<json::object> by_name = Found({.model = "fraud-detector"});
  ASSERT_EQ(by_name.size(), 1u);
  EXPECT_EQ(by_name[0]["target"], json::parse(R"({"type": "request", "method": "POST",
      "path": "/api/2.0/mlflow/model-versions/transition-stage", "model": "fraud-detector",
      "version": 1})"));
  EXPECT_EQ(by_name[0]["outcome"], json::value("denied"));
  EXPECT_EQ(Found({.model_id = id}).size(), 1u);
  EXPECT_EQ(Found({.model = "fraud-detector", .version = 1}).size(), 1u);
  EXPECT_TRUE(Found({.model = "fraud-detector", .version = 2}).empty());
  EXPECT_TRUE(Found({.model = "other"}).empty());
}

TEST_P(DenialTargetTest, ADenialOnAMissingModelKeepsItsNameWithoutAnId) {
  RequestContext ctx = Alice();
  ctx.subject = RequestSubject{.model = "not-yet"};
  auth_->RecordDenial(ctx, "this token is read-only; the change needs a token of scope full");
  std::vector<json::object> found = Found({.model = "not-yet"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["target"].as_object().at("model"), json::value("not-yet"));
  EXPECT_FALSE(found[0]["target"].as_object().contains("version"));
  // A model created under the name later is a new model: its id does not claim the denial.
  const int64_t id = InsertModel("not-yet");
  EXPECT_TRUE(Found({.model_id = id}).empty());
}

TEST_P(DenialTargetTest, ADenialThatNamedNoModelCarriesOnlyItsRequest) {
  InsertModel("fraud-detector");
  auth_->RecordDenial(Alice(), "alice is not an admin; only admins manage identities");
  std::vector<json::object> all = Found({});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["target"], json::parse(R"({"type": "request", "method": "POST",
      "path": "/api/2.0/mlflow/model-versions/transition-stage"})"));
  EXPECT_TRUE(Found({.model = "fraud-detector"}).empty());
}

TEST_P(DenialTargetTest, ANameNoModelCouldHaveIsLeftOut) {
  RequestContext ctx = Alice();
  ctx.subject = RequestSubject{.model = std::string("bad\x01name"), .version = 3};
  auth_->RecordDenial(ctx, "denied");
  std::vector<json::object> all = Found({});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_FALSE(all[0]["target"].as_object().contains("model"));
  EXPECT_FALSE(all[0]["target"].as_object().contains("version"));
}

TEST_P(DenialTargetTest, AVersionNoJsonNumberHoldsIsLeftOutAndTheDenialStillRecorded) {
  InsertModel("m");
  RequestContext ctx = Alice();
  ctx.subject = RequestSubject{.model = "m", .version = int64_t{1} << 60};
  auth_->RecordDenial(ctx, "denied");
  std::vector<json::object> found = Found({.model = "m"});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0]["target"].as_object().contains("version"));
}

INSTANTIATE_TEST_SUITE_P(Stores, DenialTargetTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

#include "vouch/service/seed.h"

#include <gtest/gtest.h>

#include "vouch/audit/verify.h"
#include "vouch/service/registry.h"
#include "vouch/store/sqlite/temp_store_test.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

class SeedTest : public ::testing::Test {
 protected:
  SeedTest() : registry_(db_.store(), PageTokens("seed-test-key")) {
    reader_.principal = Principal{.id = 1, .name = "reader", .is_admin = true};
    reader_.clock = &clock_;
  }

  int64_t Head() {
    int64_t head = -1;
    EXPECT_TRUE(db_.store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
                      return OkStatus();
                    })
                    .ok());
    return head;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  RegistryService registry_;
  RequestContext reader_;
};

TEST_F(SeedTest, SeedingMakesEveryRowWithItsAuditEventInBatchedTransactions) {
  auto report = SeedRegistry(db_.store(), clock_, {.models = 30, .versions = 25, .batch = 10});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models, 31);
  EXPECT_EQ(report->versions, 25);
  EXPECT_EQ(report->transactions, 3 + 1 + 3);

  auto log = audit::Verify(db_.store());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(log->count, 31 + 25);
  auto m7 = registry_.GetModel(reader_, "m00007");
  ASSERT_TRUE(m7.ok()) << m7.status().ToString();
  EXPECT_EQ(m7->tags, (StringMap{{"group", "g7"}}));
  auto v25 = registry_.GetVersion(reader_, "big", 25);
  ASSERT_TRUE(v25.ok()) << v25.status().ToString();
  EXPECT_EQ(v25->source, "s3://seed/big/25");
  EXPECT_EQ(v25->run_id, std::string(30, '0') + "19");
  EXPECT_EQ(v25->tags, (StringMap{{"group", "g25"}}));

  auto events = registry_.ListAudit(reader_, {.model = "big", .version = 25});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->items.size(), 1u);
  auto event = ParseJsonObject(events->items[0]);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->at("action"), "model_version.created");
  EXPECT_EQ(event->at("actor").as_object().at("name"), "system");
  EXPECT_EQ(event->at("source").as_object().at("user_agent"), "vouch dev seed");
}

TEST_F(SeedTest, EveryNthVersionCanCarryAGivenRunId) {
  auto report = SeedRegistry(db_.store(), clock_,
                             {.versions = 30, .run_id_every = 10, .run_id = "r7", .batch = 7});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (int64_t n : {10, 20, 30}) {
    auto v = registry_.GetVersion(reader_, "big", n);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->run_id, "r7") << n;
  }
  auto v9 = registry_.GetVersion(reader_, "big", 9);
  ASSERT_TRUE(v9.ok()) << v9.status().ToString();
  EXPECT_EQ(v9->run_id, std::string(31, '0') + "9");
  EXPECT_TRUE(audit::Verify(db_.store()).ok());
}

TEST_F(SeedTest, NamesArePaddedToTheWidthOfTheLargestIndex) {
  ASSERT_TRUE(SeedRegistry(db_.store(), clock_, {.models = 3, .model_prefix = "x"}).ok());
  EXPECT_TRUE(registry_.GetModel(reader_, "x00002").ok());
  EXPECT_EQ(registry_.GetModel(reader_, "big").status().code(), StatusCode::kNotFound);
}

TEST_F(SeedTest, ARefusedCallLeavesNothingOfItsTransaction) {
  ASSERT_TRUE(registry_.CreateModel(reader_, {.name = "m00013"}).ok());
  const int64_t head = Head();
  auto report = SeedRegistry(db_.store(), clock_, {.models = 20, .batch = 10});
  EXPECT_EQ(report.status().code(), StatusCode::kAlreadyExists);
  // The first transaction (m00000 … m00009) committed; the second, with the clash, left nothing.
  EXPECT_TRUE(registry_.GetModel(reader_, "m00009").ok());
  EXPECT_EQ(registry_.GetModel(reader_, "m00010").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Head(), head + 10);
  EXPECT_TRUE(audit::Verify(db_.store()).ok());
}

TEST_F(SeedTest, PlansOutOfRangeAreInvalidArgument) {
  EXPECT_EQ(SeedRegistry(db_.store(), clock_, {.models = -1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SeedRegistry(db_.store(), clock_, {.models = 1, .batch = 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SeedRegistry(db_.store(), clock_, {.versions = 1, .big_model = ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SeedRegistry(db_.store(), clock_, {.versions = 1, .run_id_every = -1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SeedRegistry(db_.store(), clock_, {.versions = 1, .run_id_every = 2}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Head(), 0);
}

}  // namespace
}  // namespace vouch::service

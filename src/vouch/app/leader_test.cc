#include "vouch/app/leader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vouch/storage/test_stores_test.h"

namespace vouch::app {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
const LeaderOptions kShared{.poll_ms = 1000, .valid_ms = 2500, .settle_ms = 3500};

// What a singleton job might write: a row nobody else writes, so its absence is telling.
Status WriteMarker(store::Tx& tx, const std::string& name) {
  VOUCH_ASSIGN_OR_RETURN(
      bool inserted,
      tx.InsertSecret({.name = name, .nonce = "n", .ciphertext = "c", .created_ms = kT0}));
  return inserted ? OkStatus() : Internal("marker written twice");
}

bool HasMarker(store::Store& s, const std::string& name) {
  bool found = false;
  Status st = s.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto secret, tx.FindSecret(name));
    found = secret.has_value();
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return found;
}

constexpr char kSchemaPrefix[] = "vouch_lease_test";

class LeaderOnEachStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = store::testing::TestStore::Make(GetParam(), kSchemaPrefix);
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<store::testing::TestStore> db_;
};

INSTANTIATE_TEST_SUITE_P(Stores, LeaderOnEachStore,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

TEST_P(LeaderOnEachStore, AJobRunWithAStaleEpochAbortsAndChangesNothing) {
  FakeClock clock(kT0);
  Leader leader(db_->store(), clock, "server-a", {.settle_ms = 0});
  leader.Poll();
  ASSERT_TRUE(leader.IsLeader());
  const int64_t mine = *leader.epoch();
  EXPECT_TRUE(
      leader.RunSingleton("job", [](store::Tx& tx) { return WriteMarker(tx, "first"); }).ok());
  EXPECT_TRUE(HasMarker(db_->store(), "first"));

  // Another server takes the lease meanwhile (this one was paused and does not know yet).
  int64_t theirs = 0;
  ASSERT_TRUE(db_->store()
                  .Write([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(theirs, tx.TakeLease("leader", "server-b", kT0));
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(theirs, mine + 1);
  ASSERT_EQ(leader.epoch(), mine);  // still believes it leads
  bool ran = false;
  Status stale = leader.RunSingleton("job", [&](store::Tx& tx) {
    ran = true;
    return WriteMarker(tx, "second");
  });
  EXPECT_EQ(stale.code(), StatusCode::kAborted) << stale.ToString();
  EXPECT_FALSE(ran);
  EXPECT_FALSE(HasMarker(db_->store(), "second"));
}

TEST_P(LeaderOnEachStore, AServerThatDoesNotLeadRunsNoSingletonJob) {
  FakeClock clock(kT0);
  Leader leader(db_->store(), clock, "server-a", {.settle_ms = 0});  // never polled
  EXPECT_FALSE(leader.IsLeader());
  bool ran = false;
  Status s = leader.RunSingleton("job", [&](store::Tx&) {
    ran = true;
    return OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(ran);
}

TEST_P(LeaderOnEachStore, AHolderThatCannotConfirmTheLeaseStopsLeadingAfterValidMs) {
  FakeClock clock(kT0);
  Leader leader(db_->store(), clock, "server-a", {.valid_ms = 2500, .settle_ms = 0});
  leader.Poll();
  ASSERT_TRUE(leader.IsLeader());
  clock.Advance(2499);
  EXPECT_TRUE(leader.IsLeader());
  clock.Advance(1);  // no poll came back in time (the database hangs, say)
  EXPECT_FALSE(leader.IsLeader());
  EXPECT_FALSE(leader.epoch().has_value());
  leader.Poll();
  EXPECT_TRUE(leader.IsLeader());
}

class LeaderOnPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    if (store::testing::PostgresTestDsn().empty()) {
      GTEST_SKIP() << "VOUCH_TEST_POSTGRES_DSN is not set";
    }
    db_ = store::testing::TestStore::Make("Postgres", kSchemaPrefix);
    ASSERT_NE(db_, nullptr);
  }
  std::unique_ptr<store::testing::TestStore> db_;
};

TEST_F(LeaderOnPostgres, OneOfTwoServersLeadsAndTheOtherTakesOverWhenItStops) {
  FakeClock clock(kT0);
  auto a = std::make_unique<Leader>(db_->store(), clock, "server-a", kShared);
  store::Store* another = db_->Another();
  ASSERT_NE(another, nullptr);
  Leader b(*another, clock, "server-b", kShared);
  a->Poll();
  b.Poll();
  // Taken, but not led on until the settle time has passed.
  EXPECT_FALSE(a->IsLeader());
  clock.Advance(kShared.settle_ms);
  a->Poll();
  b.Poll();
  EXPECT_TRUE(a->IsLeader());
  EXPECT_FALSE(b.IsLeader());
  const int64_t first = *a->epoch();

  a->Stop();  // gives the lock back and closes its session
  EXPECT_FALSE(a->IsLeader());
  b.Poll();
  EXPECT_FALSE(b.IsLeader());  // taken, but settling
  clock.Advance(kShared.settle_ms);
  b.Poll();
  ASSERT_TRUE(b.IsLeader());
  EXPECT_EQ(*b.epoch(), first + 1);
  EXPECT_TRUE(b.RunSingleton("job", [](store::Tx& tx) { return WriteMarker(tx, "b"); }).ok());
}

TEST_F(LeaderOnPostgres, TheSameLeaseInAnotherSchemaIsAnotherLease) {
  FakeClock clock(kT0);
  auto other_registry = store::testing::TestStore::Make("Postgres", kSchemaPrefix);
  ASSERT_NE(other_registry, nullptr);
  Leader a(db_->store(), clock, "server-a", {.settle_ms = 0});
  Leader b(other_registry->store(), clock, "server-b", {.settle_ms = 0});
  a.Poll();
  b.Poll();
  EXPECT_TRUE(a.IsLeader());
  EXPECT_TRUE(b.IsLeader());
}

}  // namespace
}  // namespace vouch::app

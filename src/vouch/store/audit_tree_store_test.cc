// The shared store suite (store_test_suite.h), the audit log's Merkle tree (issue 14, migration
// 0015): every append extends the tree in its own transaction, the stored hashes are those of the
// tlog tiles, and nothing that rolls back leaves the tree ahead of the log. Written against
// store::Store and store::Tx only; every backend that instantiates StoreSuite runs these too.
#include <fmt/format.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "vouch/store/audit_tree.h"
#include "vouch/store/store_test_suite.h"
#include "vouch/tlog/tiles.h"

namespace vouch::store::testing {
namespace {

std::string Body(int64_t seq) { return fmt::format(R"({{"action":"a","seq":{}}})", seq); }

AuditEvent Event() {
  AuditEvent e;
  e.time_ms = 1'700'000'000'000;
  e.actor_name = "alice";
  e.action = "a";
  return e;
}

Result<int64_t> Append(Tx& tx) {
  return tx.AppendAuditEvent(Event(), [](int64_t seq) -> Result<std::string> { return Body(seq); });
}

// Appends `n` events, `per_write` to a transaction.
void AppendMany(Store& s, int n, int per_write = 100) {
  for (int done = 0; done < n; done += per_write) {
    Status st = s.Write([&](Tx& tx) -> Status {
      for (int i = done; i < std::min(n, done + per_write); ++i) VOUCH_TRY(Append(tx).status());
      return OkStatus();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
}

std::vector<std::string> Bodies(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(Body(i));
  return out;
}

tlog::RightEdge EdgeOf(const std::vector<std::string>& leaves) {
  tlog::RightEdge edge;
  for (const std::string& leaf : leaves) edge.Append(tlog::LeafHash(leaf));
  return edge;
}

std::string Concat(const std::vector<tlog::Hash>& hashes) {
  std::string out;
  for (const tlog::Hash& h : hashes) out += tlog::HashBytes(h);
  return out;
}

// Every tile the stored tree has, read through AuditTreeHashes, equals the tile tlog builds from
// the bodies.
void ExpectTilesOf(Store& s, const std::vector<std::string>& leaves) {
  for (const auto& [tile, want] : tlog::BuildTiles(leaves)) {
    auto got = Query(s, [&](Tx& tx) {
      return tx.AuditTreeHashes(tile.level * tlog::kTileHeight, tile.index * tlog::kTileWidth,
                                tile.width);
    });
    EXPECT_EQ(Concat(got), want) << tlog::TilePath(tile);
  }
}

TEST_P(StoreSuite, AnEmptyLogHasAnEmptyTree) {
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeSize(); }), 0u);
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.AuditTreeEdge(); }).empty());
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.AuditTreeHashes(0, 0, 256); }).empty());
}

TEST_P(StoreSuite, EveryAppendExtendsTheTreeOverTheStoredBytesAndStoresTheTileHashes) {
  // Three full level-0 tiles and a partial one: the level-8 hashes come into being at 256, 512
  // and 768 events.
  constexpr int kEvents = 3 * 256 + 5;
  AppendMany(store(), kEvents, 97);
  const std::vector<std::string> leaves = Bodies(kEvents);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeSize(); }), uint64_t{kEvents});
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeEdge(); }), EdgeOf(leaves).roots());
  ExpectTilesOf(store(), leaves);
  // Only the tile levels are stored: nothing at level 1 is asked for, and the level-8 hashes are
  // the three full subtrees.
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeHashes(8, 0, 256); }).size(), 3u);
  auto ranged = Query(store(), [](Tx& tx) { return tx.AuditTreeHashes(0, 700, 100); });
  EXPECT_EQ(ranged.size(), static_cast<size_t>(kEvents - 700));
  EXPECT_EQ(ranged.front(), tlog::LeafHash(Body(701)));
}

TEST_P(StoreSuite, StoredTreeHashesAreReadOnlyAtTileLevels) {
  for (int level : {1, 7, 9, -8, 64}) {
    Status st = store().Read([&](Tx& tx) { return tx.AuditTreeHashes(level, 0, 1).status(); });
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << level;
  }
  Status st = store().Read([&](Tx& tx) { return tx.AuditTreeHashes(0, 0, -1).status(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreSuite, ABodyThatCannotBeMadeLeavesTheTreeUntouched) {
  AppendMany(store(), 3);
  Status st = store().Write([&](Tx& tx) -> Status {
    Status failed = tx.AppendAuditEvent(Event(), [](int64_t) -> Result<std::string> {
                        return InvalidArgument("NaN");
                      }).status();
    EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
    // The caller carries on and commits: the next event takes the number back, and the tree
    // follows the log.
    return Append(tx).status();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeSize(); }), 4u);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeEdge(); }), EdgeOf(Bodies(4)).roots());
}

TEST_P(StoreSuite, AWriteThatRollsBackTakesItsTreeUpdatesWithIt) {
  AppendMany(store(), 255);
  // The 256th event would complete the first level-8 hash; the write fails after appending it.
  Status st = store().Write([&](Tx& tx) -> Status {
    VOUCH_TRY(Append(tx).status());
    return Aborted("changed my mind");
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeSize(); }), 255u);
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.AuditTreeHashes(8, 0, 1); }).empty());
  AppendMany(store(), 1);
  ExpectTilesOf(store(), Bodies(256));
}

TEST_P(StoreSuite, ConcurrentWritesSomeRolledBackLeaveTheTreeExactlyOverTheCommittedEvents) {
  // SQLite commits these in groups, each job in a savepoint: a job rolled back inside a batch must
  // not leave the edge ahead of the events the batch commits.
  constexpr int kThreads = 8;
  constexpr int kJobsPerThread = 40;
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int j = 0; j < kJobsPerThread; ++j) {
        const bool fail = (t + j) % 3 == 0;
        Status st = store().Write([&](Tx& tx) -> Status {
          VOUCH_TRY(Append(tx).status());
          VOUCH_TRY(Append(tx).status());
          return fail ? Aborted("rolled back on purpose") : OkStatus();
        });
        if (st.ok()) committed += 2;
      }
    });
  }
  for (auto& th : threads) th.join();
  const int n = committed.load();
  ASSERT_GT(n, 0);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), n);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeSize(); }), static_cast<uint64_t>(n));
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeEdge(); }), EdgeOf(Bodies(n)).roots());
  ExpectTilesOf(store(), Bodies(n));
}

TEST_P(StoreSuite, ExtendingATreeThatHoldsTheWholeLogChangesNothing) {
  AppendMany(store(), 10);
  EXPECT_EQ(Change(store(), [](Tx& tx) { return tx.ExtendAuditTree(100); }), 10u);
  auto built = BuildAuditTree(store());
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->hashed, 0u);
  EXPECT_EQ(built->size, 10u);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditTreeEdge(); }), EdgeOf(Bodies(10)).roots());
}

TEST_P(StoreSuite, AStoreWhoseTreeWasSwitchedOffRefusesTreeReadsAndAppends) {
  AppendMany(store(), 2);
  ASSERT_TRUE(SwitchAuditTreeOff(store()).ok());
  Status size = store().Read([](Tx& tx) { return tx.AuditTreeSize().status(); });
  EXPECT_EQ(size.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(size.message().find("switched off"), std::string::npos) << size.message();
  EXPECT_EQ(store().Read([](Tx& tx) { return tx.AuditTreeEdge().status(); }).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store().Write([](Tx& tx) { return Append(tx).status(); }).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(PrepareAuditTree(store(), false, "the test store").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditHeadSeq(); }), 2);
}

}  // namespace
}  // namespace vouch::store::testing

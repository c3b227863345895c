// The shared store suite (store_test_suite.h), the audit log's signing keys, checkpoints and
// cosignatures (issue 14, migration 0016). Written against store::Store and store::Tx only; every
// backend that instantiates StoreSuite runs these too.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "vouch/store/store_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

AuditSigningKey NewKey(std::string id) {
  return AuditSigningKey{.name = "vouch.example/api/v1/audit/log",
                         .key_id = id,
                         .verifier_key = fmt::format("vouch.example/api/v1/audit/log+{}+AQ", id),
                         .public_key = "cHVi",
                         .seed_nonce = "bm9uY2U",
                         .seed_sealed = "c2VhbGVk",
                         .created_ms = kT0};
}

AuditCheckpointRow NewCheckpoint(int64_t size, int64_t key) {
  return AuditCheckpointRow{.size = size,
                            .root = fmt::format("root-{}", size),
                            .note = fmt::format("origin\n{}\nroot\n\n— origin sig\n", size),
                            .key_id = key,
                            .created_ms = kT0 + size};
}

TEST_P(StoreSuite, AuditSigningKeysAreListedOldestFirstAndRetiredOnce) {
  AuditSigningKey a = NewKey("0000000a"), b = NewKey("0000000b");
  Status st = store().Write([&](Tx& tx) -> Status {
    VOUCH_TRY(tx.InsertAuditSigningKey(a));
    return tx.InsertAuditSigningKey(b);
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GT(b.id, a.id);
  AuditSigningKey again = NewKey("0000000a");
  st = store().Write([&](Tx& tx) { return tx.InsertAuditSigningKey(again); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();

  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.RetireAuditSigningKey(a.id, kT0 + 5); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.RetireAuditSigningKey(a.id, kT0 + 9); }));

  auto keys = Query(store(), [](Tx& tx) { return tx.ListAuditSigningKeys(); });
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, a.id);
  EXPECT_EQ(keys[0].verifier_key, a.verifier_key);
  EXPECT_EQ(keys[0].key_id, "0000000a");
  EXPECT_EQ(keys[0].public_key, "cHVi");
  EXPECT_EQ(keys[0].seed_nonce, "bm9uY2U");
  EXPECT_EQ(keys[0].seed_sealed, "c2VhbGVk");
  EXPECT_EQ(keys[0].created_ms, kT0);
  EXPECT_EQ(keys[0].retired_ms, std::optional<TimeMs>(kT0 + 5));
  EXPECT_EQ(keys[1].id, b.id);
  EXPECT_EQ(keys[1].retired_ms, std::nullopt);
}

TEST_P(StoreSuite, AuditCheckpointsAreOnePerSizeAndFoundByLatestAndSize) {
  AuditSigningKey k = NewKey("0000000c");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertAuditSigningKey(k); }).ok());
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.LatestAuditCheckpoint(); }), std::nullopt);

  AuditCheckpointRow c3 = NewCheckpoint(3, k.id), c7 = NewCheckpoint(7, k.id);
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCheckpoint(c3); }));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCheckpoint(c7); }));
  AuditCheckpointRow dup = NewCheckpoint(7, k.id);
  dup.note = "another";
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCheckpoint(dup); }));
  EXPECT_EQ(dup.id, 0);

  auto latest = Query(store(), [](Tx& tx) { return tx.LatestAuditCheckpoint(); });
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, c7.id);
  EXPECT_EQ(latest->size, 7);
  EXPECT_EQ(latest->root, "root-7");
  EXPECT_EQ(latest->note, c7.note);
  EXPECT_EQ(latest->key_id, k.id);
  EXPECT_EQ(latest->created_ms, kT0 + 7);
  auto at3 = Query(store(), [](Tx& tx) { return tx.AuditCheckpointBySize(3); });
  ASSERT_TRUE(at3);
  EXPECT_EQ(at3->id, c3.id);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.AuditCheckpointBySize(5); }), std::nullopt);

  auto all = Query(store(), [](Tx& tx) { return tx.ListAuditCheckpoints(0, 10); });
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].size, 3);
  EXPECT_EQ(all[1].size, 7);
  auto after = Query(store(), [&](Tx& tx) { return tx.ListAuditCheckpoints(c3.id, 10); });
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].size, 7);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.ListAuditCheckpoints(0, 1); }).size(), 1u);
}

TEST_P(StoreSuite, AuditCosignaturesAreOnePerWitnessKeyInTheOrderReceived) {
  AuditSigningKey k = NewKey("0000000d");
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertAuditSigningKey(k); }).ok());
  AuditCheckpointRow c = NewCheckpoint(4, k.id), other = NewCheckpoint(5, k.id);
  ASSERT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCheckpoint(c); }));
  ASSERT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCheckpoint(other); }));
  AuditCosignatureRow w1{c.id, "witness.example/w1", "01020304", "— witness.example/w1 AQID", kT0};
  AuditCosignatureRow w2{c.id, "witness.example/w2", "05060708", "— witness.example/w2 BQYH",
                         kT0 + 1};
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCosignature(w1); }));
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCosignature(w2); }));
  AuditCosignatureRow again = w1;
  again.line = "— witness.example/w1 other";
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.InsertAuditCosignature(again); }));

  auto list = Query(store(), [&](Tx& tx) { return tx.ListAuditCosignatures(c.id); });
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].witness, "witness.example/w1");
  EXPECT_EQ(list[0].key_id, "01020304");
  EXPECT_EQ(list[0].line, "— witness.example/w1 AQID");
  EXPECT_EQ(list[0].received_ms, kT0);
  EXPECT_EQ(list[1].witness, "witness.example/w2");
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.ListAuditCosignatures(other.id); }).empty());
}

}  // namespace
}  // namespace vouch::store::testing

// The shared store suite (store_test_suite.h), idempotency keys (issue 10). Written against
// store::Store and store::Tx only; every backend that instantiates StoreSuite runs these too.
#include <optional>
#include <string>

#include "vouch/store/store_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

IdempotencyRecord Claim(int64_t principal_id, std::string key, TimeMs created_ms = kT0) {
  IdempotencyRecord r;
  r.principal_id = principal_id;
  r.key = std::move(key);
  r.request = "POST /api/v1/models";
  r.body_sha256 = std::string(64, 'a');
  r.state = IdempotencyState::kInFlight;
  r.created_ms = created_ms;
  r.expires_ms = created_ms + 86'400'000;
  return r;
}

bool Insert(Store& s, const IdempotencyRecord& r) {
  bool inserted = false;
  Status st = s.Write([&](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(inserted, tx.InsertIdempotencyKey(r));
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return inserted;
}

std::optional<IdempotencyRecord> Find(Store& s, int64_t principal_id, std::string_view key) {
  return Query(s, [&](Tx& tx) { return tx.FindIdempotencyKey(principal_id, key); });
}

TEST_P(StoreSuite, AnIdempotencyKeyIsInsertedOncePerPrincipalAndFoundWithEveryField) {
  IdempotencyRecord r = Claim(7, "key-1");
  r.request = "POST /api/2.0/mlflow/registered-models/create";
  r.body_sha256 = std::string(64, 'f');
  EXPECT_TRUE(Insert(store(), r));
  IdempotencyRecord again = Claim(7, "key-1", kT0 + 5);
  EXPECT_FALSE(Insert(store(), again));
  EXPECT_TRUE(Insert(store(), Claim(8, "key-1")));

  auto found = Find(store(), 7, "key-1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->principal_id, 7);
  EXPECT_EQ(found->key, "key-1");
  EXPECT_EQ(found->request, "POST /api/2.0/mlflow/registered-models/create");
  EXPECT_EQ(found->body_sha256, std::string(64, 'f'));
  EXPECT_EQ(found->state, IdempotencyState::kInFlight);
  EXPECT_EQ(found->status, 0);
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->expires_ms, kT0 + 86'400'000);
  EXPECT_FALSE(Find(store(), 7, "key-2").has_value());
  EXPECT_FALSE(Find(store(), 9, "key-1").has_value());
}

TEST_P(StoreSuite, AnIdempotencyKeyIsMarkedAppliedThenCompletedWithItsAnswer) {
  ASSERT_TRUE(Insert(store(), Claim(7, "k")));
  EXPECT_TRUE(Change(store(), [](Tx& tx) {
    return tx.SetIdempotencyState(7, "k", kT0, IdempotencyState::kApplied);
  }));
  EXPECT_EQ(Find(store(), 7, "k")->state, IdempotencyState::kApplied);

  IdempotencyRecord done = Claim(7, "k");
  done.status = 201;
  done.content_type = "application/json";
  done.response_nonce = "bm9uY2U";
  done.response_body = "Y2lwaGVydGV4dA";
  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.CompleteIdempotencyKey(done); }));
  auto found = Find(store(), 7, "k");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state, IdempotencyState::kDone);
  EXPECT_EQ(found->status, 201);
  EXPECT_EQ(found->content_type, "application/json");
  EXPECT_EQ(found->response_nonce, "bm9uY2U");
  EXPECT_EQ(found->response_body, "Y2lwaGVydGV4dA");
  EXPECT_EQ(found->request, "POST /api/v1/models");
}

TEST_P(StoreSuite, AnIdempotencyKeyIsChangedOrDeletedOnlyByTheClaimThatHoldsIt) {
  ASSERT_TRUE(Insert(store(), Claim(7, "k")));
  IdempotencyRecord stale = Claim(7, "k", kT0 - 1);
  stale.status = 201;
  EXPECT_FALSE(Change(store(), [](Tx& tx) {
    return tx.SetIdempotencyState(7, "k", kT0 - 1, IdempotencyState::kApplied);
  }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.CompleteIdempotencyKey(stale); }));
  EXPECT_FALSE(Change(store(), [](Tx& tx) { return tx.DeleteIdempotencyKey(7, "k", kT0 - 1); }));
  EXPECT_EQ(Find(store(), 7, "k")->state, IdempotencyState::kInFlight);

  EXPECT_TRUE(Change(store(), [](Tx& tx) { return tx.DeleteIdempotencyKey(7, "k", kT0); }));
  EXPECT_FALSE(Find(store(), 7, "k").has_value());
  EXPECT_TRUE(Insert(store(), Claim(7, "k", kT0 + 1)));
}

TEST_P(StoreSuite, PruningDeletesOnlyIdempotencyKeysExpiredAtOrBeforeNow) {
  IdempotencyRecord a = Claim(1, "a");
  a.expires_ms = kT0 + 10;
  IdempotencyRecord b = Claim(1, "b");
  b.expires_ms = kT0 + 20;
  IdempotencyRecord c = Claim(2, "c");
  c.expires_ms = kT0 + 30;
  for (const auto& r : {a, b, c}) ASSERT_TRUE(Insert(store(), r));
  EXPECT_EQ(Change(store(), [](Tx& tx) { return tx.PruneIdempotencyKeys(kT0 + 20); }), 2);
  EXPECT_FALSE(Find(store(), 1, "a").has_value());
  EXPECT_FALSE(Find(store(), 1, "b").has_value());
  EXPECT_TRUE(Find(store(), 2, "c").has_value());
  EXPECT_EQ(Change(store(), [](Tx& tx) { return tx.PruneIdempotencyKeys(kT0 + 20); }), 0);
}

TEST_P(StoreSuite, AnIdempotencyKeyRoundTripsAnyPrintableAsciiByteForByte) {
  std::string key;
  for (char ch = 0x20; ch <= 0x7E; ++ch) key += ch;
  key += key;  // 190 bytes
  ASSERT_TRUE(Insert(store(), Claim(3, key)));
  auto found = Find(store(), 3, key);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->key, key);
  EXPECT_FALSE(Find(store(), 3, key.substr(1)).has_value());
}

}  // namespace
}  // namespace vouch::store::testing

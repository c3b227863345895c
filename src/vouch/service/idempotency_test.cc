// service::Idempotency on both stores: SQLite always, PostgreSQL when VOUCH_TEST_POSTGRES_DSN is
// set (a scratch schema per test, dropped at its end).
#include "vouch/service/idempotency.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "vouch/storage/test_stores_test.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kCreate[] = "POST /api/v1/models";
constexpr char kBody[] = R"({"name":"m"})";

class IdempotencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = store::testing::TestStore::Make(GetParam(), "vouch_idem_test");
    ASSERT_NE(env_, nullptr);
    executor_ = std::make_unique<MutationExecutor>(env_->store());
    idem_ = std::make_unique<Idempotency>(*executor_, key_);
  }

  RequestContext Ctx(int64_t principal_id = 7) {
    RequestContext ctx;
    ctx.principal = Principal{.id = principal_id, .name = fmt::format("p{}", principal_id)};
    ctx.clock = &clock_;
    ctx.request_id = "req";
    return ctx;
  }

  Result<std::optional<IdempotentAnswer>> Claim(RequestContext& ctx, std::string_view key = "k",
                                                std::string_view body = kBody,
                                                std::string_view request = kCreate) {
    return idem_->Claim(ctx, key, request, body);
  }

  std::optional<store::IdempotencyRecord> Row(int64_t principal_id, std::string_view key) {
    std::optional<store::IdempotencyRecord> out;
    Status st = env_->store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(out, tx.FindIdempotencyKey(principal_id, key));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  // Claims "k" and completes it with a 201.
  void Answer(RequestContext& ctx, std::string body = R"({"model":{"name":"m"}})") {
    auto claimed = Claim(ctx);
    ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
    ASSERT_FALSE(claimed->has_value());
    ASSERT_TRUE(idem_->Complete(ctx, {201, "application/json", std::move(body)}).ok());
  }

  const std::string key_ = std::string(kSealKeyBytes, '\x22');
  FakeClock clock_{kT0};
  std::unique_ptr<store::testing::TestStore> env_;
  std::unique_ptr<MutationExecutor> executor_;
  std::unique_ptr<Idempotency> idem_;
};

TEST_P(IdempotencyTest, TheFirstClaimRunsTheRequestAndHoldsTheKeyInFlight) {
  RequestContext ctx = Ctx();
  auto claimed = Claim(ctx);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  EXPECT_FALSE(claimed->has_value());
  ASSERT_TRUE(ctx.idempotency.has_value());
  EXPECT_EQ(ctx.idempotency->key, "k");
  EXPECT_EQ(ctx.idempotency->claimed_ms, kT0);
  auto row = Row(7, "k");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state, store::IdempotencyState::kInFlight);
  EXPECT_EQ(row->request, kCreate);
  EXPECT_EQ(row->body_sha256.size(), 64u);
  EXPECT_EQ(row->expires_ms, kT0 + 24 * 3600 * 1000);
}

TEST_P(IdempotencyTest, TheRowKeepsAKeyedDigestOfTheBodyNeverItsBareSha256) {
  // A body may carry a password: a bare SHA-256 of it would let guesses be tested offline.
  constexpr char kSecretBody[] = R"({"comment":"ok","password":"correct horse battery"})";
  RequestContext ctx = Ctx();
  ASSERT_TRUE(Claim(ctx, "k", kSecretBody).ok());
  auto row = Row(7, "k");
  ASSERT_TRUE(row.has_value());
  EXPECT_NE(row->body_sha256, Sha256Hex(kSecretBody));
  // Under another master key the digest differs.
  Idempotency other(*executor_, std::string(kSealKeyBytes, '\x33'));
  RequestContext elsewhere = Ctx(8);
  ASSERT_TRUE(other.Claim(elsewhere, "k", kCreate, kSecretBody).ok());
  auto other_row = Row(8, "k");
  ASSERT_TRUE(other_row.has_value());
  EXPECT_NE(other_row->body_sha256, row->body_sha256);
}

TEST_P(IdempotencyTest, AKeyClaimedWhenDigestsWereBareSha256StillMatchesItsBody) {
  store::IdempotencyRecord old{.principal_id = 7,
                               .key = "k",
                               .request = kCreate,
                               .body_sha256 = Sha256Hex(kBody),
                               .state = store::IdempotencyState::kInFlight,
                               .created_ms = kT0,
                               .expires_ms = kT0 + 3600 * 1000};
  ASSERT_TRUE(executor_
                  ->Bookkeep([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertIdempotencyKey(old));
                    return inserted ? OkStatus() : Internal("not inserted");
                  })
                  .ok());
  RequestContext same = Ctx();
  EXPECT_EQ(Claim(same).status().code(), StatusCode::kAborted);  // in flight: the same request
  RequestContext other = Ctx();
  EXPECT_EQ(Claim(other, "k", R"({"name":"n"})").status().code(),
            StatusCode::kIdempotencyKeyReused);
}

TEST_P(IdempotencyTest, TheSameRequestAgainGetsTheFirstAnswerByteForByte) {
  RequestContext first = Ctx();
  Answer(first, "{\"model\":{\"name\":\"m\",\"x\":\"\xc3\xa9\"}}");
  EXPECT_FALSE(first.idempotency.has_value());
  clock_.Advance(1000);
  RequestContext retry = Ctx();
  auto replay = Claim(retry);
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  ASSERT_TRUE(replay->has_value());
  EXPECT_EQ((*replay)->status, 201);
  EXPECT_EQ((*replay)->content_type, "application/json");
  EXPECT_EQ((*replay)->body, "{\"model\":{\"name\":\"m\",\"x\":\"\xc3\xa9\"}}");
  EXPECT_FALSE(retry.idempotency.has_value());
}

TEST_P(IdempotencyTest, TheKeptAnswerIsSealedAndDoesNotOpenUnderAnotherMasterKey) {
  RequestContext first = Ctx();
  Answer(first, R"({"token":"vch_secret_value"})");
  auto row = Row(7, "k");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->state, store::IdempotencyState::kDone);
  EXPECT_EQ(row->response_body.find("vch_secret_value"), std::string::npos);
  auto plain = Base64UrlDecode(row->response_body);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->find("vch_secret_value"), std::string::npos);

  // Under another master key the body's digest differs too: nothing is replayed.
  Idempotency other(*executor_, std::string(kSealKeyBytes, '\x33'));
  RequestContext retry = Ctx();
  auto r = other.Claim(retry, "k", kCreate, kBody);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIdempotencyKeyReused);
  // A row whose digest matches (the bare SHA-256 rows had before the digest was keyed) still
  // does not open under another master key.
  store::IdempotencyRecord bare = *row;
  bare.principal_id = 8;
  bare.body_sha256 = Sha256Hex(kBody);
  ASSERT_TRUE(executor_
                  ->Bookkeep([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertIdempotencyKey(bare));
                    return inserted ? OkStatus() : Internal("not inserted");
                  })
                  .ok());
  RequestContext as_8 = Ctx(8);
  auto opened = other.Claim(as_8, "k", kCreate, kBody);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInternal);
}

TEST_P(IdempotencyTest, AnotherBodyOrAnotherRequestWithTheKeyIs422AndChangesNothing) {
  RequestContext first = Ctx();
  Answer(first);
  auto before = Row(7, "k");
  for (auto [body, request] :
       {std::pair<std::string_view, std::string_view>{R"({"name":"m" })", kCreate},
        {R"({"name":"n"})", kCreate},
        {kBody, "POST /api/v1/models/m/versions"}}) {
    RequestContext retry = Ctx();
    auto r = Claim(retry, "k", body, request);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kIdempotencyKeyReused);
    EXPECT_FALSE(retry.idempotency.has_value());
  }
  auto after = Row(7, "k");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->state, store::IdempotencyState::kDone);
  EXPECT_EQ(after->response_body, before->response_body);
  EXPECT_EQ(after->body_sha256, before->body_sha256);
}

TEST_P(IdempotencyTest, AClaimWhileTheFirstIsInFlightIsAborted) {
  RequestContext first = Ctx();
  ASSERT_TRUE(Claim(first).ok());
  RequestContext second = Ctx();
  auto r = Claim(second);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  // A different body is still 422, not 409: it can never succeed.
  auto other = Claim(second, "k", R"({"name":"x"})");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kIdempotencyKeyReused);
  // The first completes; now the second is a replay.
  ASSERT_TRUE(idem_->Complete(first, {201, "application/json", "{}"}).ok());
  auto replay = Claim(second);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->has_value());
}

TEST_P(IdempotencyTest, AnotherPrincipalsSameKeyIsIndependent) {
  RequestContext mine = Ctx(7);
  Answer(mine);
  RequestContext theirs = Ctx(8);
  auto r = Claim(theirs, "k", R"({"name":"other"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(theirs.idempotency.has_value());
}

TEST_P(IdempotencyTest, AFailedOrRefusedAnswerLeavesNoRecord) {
  for (int status : {400, 403, 404, 409, 500, 503}) {
    RequestContext ctx = Ctx();
    ASSERT_TRUE(Claim(ctx).ok());
    ASSERT_TRUE(idem_->Complete(ctx, {status, "application/json", "{}"}).ok());
    EXPECT_FALSE(Row(7, "k").has_value()) << status;
  }
  RequestContext again = Ctx();
  auto r = Claim(again, "k", R"({"name":"different now"})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_P(IdempotencyTest, AnAppliedChangeIsNeverForgottenSoARetryIsAborted) {
  RequestContext ctx = Ctx();
  ASSERT_TRUE(Claim(ctx).ok());
  ASSERT_TRUE(
      env_->store().Write([&](store::Tx& tx) { return Idempotency::MarkApplied(tx, ctx); }).ok());
  EXPECT_EQ(Row(7, "k")->state, store::IdempotencyState::kApplied);
  // The answer was lost (the server failed after the commit): the row stays applied.
  ASSERT_TRUE(idem_->Complete(ctx, {500, "", ""}).ok());
  EXPECT_EQ(Row(7, "k")->state, store::IdempotencyState::kApplied);
  clock_.Advance(10 * 60'000);  // long past the takeover bound: applied is not abandoned
  RequestContext retry = Ctx();
  auto r = Claim(retry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
}

TEST_P(IdempotencyTest, AnAbandonedClaimIsTakenOverAndItsHolderCannotApplyAnymore) {
  RequestContext slow = Ctx();
  ASSERT_TRUE(Claim(slow).ok());
  clock_.Advance(59'999);
  RequestContext early = Ctx();
  EXPECT_EQ(Claim(early).status().code(), StatusCode::kAborted);
  clock_.Advance(1);
  RequestContext retry = Ctx();
  auto r = Claim(retry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(retry.idempotency->claimed_ms, kT0 + 60'000);
  // The slow first request comes back: its change must not commit.
  Status applied =
      env_->store().Write([&](store::Tx& tx) { return Idempotency::MarkApplied(tx, slow); });
  EXPECT_EQ(applied.code(), StatusCode::kAborted);
  // Nor may it end the new holder's claim.
  ASSERT_TRUE(idem_->Complete(slow, {500, "", ""}).ok());
  EXPECT_EQ(Row(7, "k")->created_ms, kT0 + 60'000);
  ASSERT_TRUE(idem_->Complete(retry, {201, "application/json", "{}"}).ok());
  EXPECT_EQ(Row(7, "k")->state, store::IdempotencyState::kDone);
}

TEST_P(IdempotencyTest, AnExpiredKeyIsIgnoredAndPruned) {
  Idempotency short_lived(*executor_, key_, {.ttl_ms = 5'000});
  RequestContext first = Ctx();
  ASSERT_TRUE(short_lived.Claim(first, "k", kCreate, kBody).ok());
  ASSERT_TRUE(short_lived.Complete(first, {201, "application/json", "{}"}).ok());
  RequestContext other = Ctx(8);
  ASSERT_TRUE(short_lived.Claim(other, "k", kCreate, kBody).ok());
  ASSERT_TRUE(short_lived.Complete(other, {201, "application/json", "{}"}).ok());
  clock_.Advance(4'999);
  RequestContext within = Ctx();
  auto replay = short_lived.Claim(within, "k", kCreate, kBody);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->has_value());
  clock_.Advance(1);
  // Expired: a new claim, even with another body.
  RequestContext after = Ctx();
  auto fresh = short_lived.Claim(after, "k", kCreate, R"({"name":"new"})");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_FALSE(fresh->has_value());
  auto pruned = short_lived.Prune(clock_.NowMs());
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);  // principal 8's; principal 7's was replaced by the new claim
  EXPECT_FALSE(Row(8, "k").has_value());
  EXPECT_TRUE(Row(7, "k").has_value());
}

TEST_P(IdempotencyTest, MarkAppliedAndCompleteDoNothingWithoutAClaim) {
  RequestContext ctx = Ctx();
  EXPECT_TRUE(
      env_->store().Write([&](store::Tx& tx) { return Idempotency::MarkApplied(tx, ctx); }).ok());
  EXPECT_TRUE(idem_->Complete(ctx, {201, "application/json", "{}"}).ok());
  EXPECT_FALSE(Row(7, "k").has_value());
}

TEST_P(IdempotencyTest, AClaimNeedsAWellFormedKeyAndAPrincipal) {
  RequestContext ctx = Ctx();
  for (std::string bad : {std::string(""), std::string(256, 'a'), std::string("tab\there"),
                          std::string("caf\xc3\xa9"), std::string("del\x7f")}) {
    EXPECT_EQ(Claim(ctx, bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(Claim(ctx, std::string(255, '~')).ok());
  RequestContext nobody;
  nobody.clock = &clock_;
  EXPECT_EQ(Claim(nobody, "k").status().code(), StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Stores, IdempotencyTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

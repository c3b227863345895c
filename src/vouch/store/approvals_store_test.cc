// The shared store suite (store_test_suite.h), the approval store (issue 12): policies, requests,
// reviews, checks and comments. Written against store::Store and store::Tx only; every backend
// that instantiates StoreSuite runs these too. What needs two connections at once (concurrent
// publishes, the request row lock) and the immutability triggers are in each backend's own tests.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "vouch/store/store_test_suite.h"

namespace vouch::store::testing {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

Model AddModel(Store& s, std::string name) {
  Model m{.name = std::move(name), .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
  Status st = s.Write([&](Tx& tx) { return tx.InsertModel(m); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return m;
}

PolicyRecord Policy(std::string name, std::string body = R"({"a":1})", TimeMs when = kT0) {
  return PolicyRecord{.name = std::move(name),
                      .target = "stage:Production",
                      .body = std::move(body),
                      .digest = std::string(64, 'd'),
                      .source_yaml = "policies:\n  - name: x\n",
                      .created_ms = when,
                      .created_by_id = 3};
}

PolicyRecord Publish(Store& s, PolicyRecord p) {
  Status st = s.Write([&](Tx& tx) { return tx.PublishPolicy(p); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return p;
}

ApprovalRequest Request(const Model& m, int64_t version, std::string target = "stage:Production",
                        TimeMs when = kT0) {
  return ApprovalRequest{.model_id = m.id,
                         .version = version,
                         .target = std::move(target),
                         .requester_id = 11,
                         .comment = "please",
                         .policy_name = "production",
                         .policy_version = 2,
                         .fingerprint = std::string(64, 'f'),
                         .created_ms = when,
                         .updated_ms = when,
                         .expires_ms = when + 7 * 86'400'000};
}

Status TryInsert(Store& s, ApprovalRequest& r) {
  return s.Write([&](Tx& tx) { return tx.InsertRequest(r); });
}

ApprovalRequest Open(Store& s, ApprovalRequest r) {
  Status st = TryInsert(s, r);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return r;
}

std::optional<ApprovalRequest> FindRequest(Store& s, int64_t id) {
  return Query(s, [&](Tx& tx) { return tx.FindRequest(id); });
}

std::vector<int64_t> Ids(const std::vector<ApprovalRequest>& rs) {
  std::vector<int64_t> out;
  for (const auto& r : rs) out.push_back(r.id);
  return out;
}

std::vector<int64_t> ListIds(Store& s, const RequestFilter& f) {
  return Ids(Query(s, [&](Tx& tx) { return tx.ListRequests(f); }));
}

// ---- Policies --------------------------------------------------------------------------------

TEST_P(StoreSuite, PublishedPolicyVersionsAreNumberedPerNameAndKeepEveryField) {
  PolicyRecord p1 = Publish(store(), Policy("production"));
  PolicyRecord p2 = Publish(store(), Policy("production", R"({"a":2})", kT0 + 5));
  PolicyRecord other = Publish(store(), Policy("staging"));
  EXPECT_EQ(p1.version, 1);
  EXPECT_EQ(p2.version, 2);
  EXPECT_EQ(other.version, 1);
  EXPECT_GT(p1.id, 0);
  EXPECT_NE(p1.id, p2.id);

  auto latest = Query(store(), [](Tx& tx) { return tx.FindLatestPolicy("production"); });
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, p2.id);
  EXPECT_EQ(latest->name, "production");
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->target, "stage:Production");
  EXPECT_EQ(latest->body, R"({"a":2})");
  EXPECT_EQ(latest->digest, std::string(64, 'd'));
  EXPECT_EQ(latest->source_yaml, "policies:\n  - name: x\n");
  EXPECT_EQ(latest->created_ms, kT0 + 5);
  EXPECT_EQ(latest->created_by_id, 3);
  EXPECT_FALSE(latest->retired_ms.has_value());

  auto first = Query(store(), [](Tx& tx) { return tx.FindPolicyVersion("production", 1); });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, R"({"a":1})");
  EXPECT_FALSE(
      Query(store(), [](Tx& tx) { return tx.FindPolicyVersion("production", 3); }).has_value());
  EXPECT_FALSE(Query(store(), [](Tx& tx) { return tx.FindLatestPolicy("nope"); }).has_value());
}

TEST_P(StoreSuite, PolicyHistoryListsEveryVersionOldestFirst) {
  Publish(store(), Policy("production", R"({"a":1})"));
  Publish(store(), Policy("other"));
  Publish(store(), Policy("production", R"({"a":2})"));
  Publish(store(), Policy("production", R"({"a":3})"));
  auto history = Query(store(), [](Tx& tx) { return tx.PolicyHistory("production"); });
  ASSERT_EQ(history.size(), 3u);
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].version, static_cast<int64_t>(i + 1));
    EXPECT_EQ(history[i].body, fmt::format(R"({{"a":{}}})", i + 1));
  }
  EXPECT_TRUE(Query(store(), [](Tx& tx) { return tx.PolicyHistory("nope"); }).empty());
}

TEST_P(StoreSuite, ListPoliciesShowsTheNewestVersionOfEachNameAndRetiredOnesOnlyWhenAsked) {
  Publish(store(), Policy("b"));
  Publish(store(), Policy("a"));
  Publish(store(), Policy("b", R"({"b":2})"));
  Publish(store(), Policy("c"));
  EXPECT_TRUE(Change(store(), [](Tx& tx) { return tx.RetirePolicy("c", kT0 + 9, 4); }));

  auto live = Query(store(), [](Tx& tx) { return tx.ListPolicies(false); });
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].name, "a");
  EXPECT_EQ(live[0].version, 1);
  EXPECT_EQ(live[1].name, "b");
  EXPECT_EQ(live[1].version, 2);
  EXPECT_EQ(live[1].body, R"({"b":2})");

  auto all = Query(store(), [](Tx& tx) { return tx.ListPolicies(true); });
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].name, "c");
  ASSERT_TRUE(all[2].retired_ms.has_value());
  EXPECT_EQ(*all[2].retired_ms, kT0 + 9);
  EXPECT_EQ(all[2].retired_by_id, 4);
}

TEST_P(StoreSuite, RetiringIsFalseForAnUnknownOrRetiredNameAndPublishingAgainUnretires) {
  Publish(store(), Policy("p"));
  EXPECT_FALSE(Change(store(), [](Tx& tx) { return tx.RetirePolicy("nope", kT0, 4); }));
  EXPECT_TRUE(Change(store(), [](Tx& tx) { return tx.RetirePolicy("p", kT0 + 1, 4); }));
  EXPECT_FALSE(Change(store(), [](Tx& tx) { return tx.RetirePolicy("p", kT0 + 2, 5); }));
  auto retired = Query(store(), [](Tx& tx) { return tx.FindLatestPolicy("p"); });
  ASSERT_TRUE(retired.has_value());
  EXPECT_EQ(retired->retired_ms, std::optional<TimeMs>(kT0 + 1));

  PolicyRecord again = Publish(store(), Policy("p", R"({"back":true})"));
  EXPECT_EQ(again.version, 2);
  auto latest = Query(store(), [](Tx& tx) { return tx.FindLatestPolicy("p"); });
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->version, 2);
  EXPECT_FALSE(latest->retired_ms.has_value());
  EXPECT_EQ(latest->retired_by_id, 0);
  EXPECT_EQ(Query(store(), [](Tx& tx) { return tx.ListPolicies(false); }).size(), 1u);
}

TEST_P(StoreSuite, AFailedWriteGivesItsPolicyVersionNumberBack) {
  Publish(store(), Policy("p"));
  Status st = store().Write([&](Tx& tx) -> Status {
    PolicyRecord p = Policy("p");
    VOUCH_TRY(tx.PublishPolicy(p));
    EXPECT_EQ(p.version, 2);
    return Aborted("changed my mind");
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(Publish(store(), Policy("p")).version, 2);
}

// ---- Requests --------------------------------------------------------------------------------

TEST_P(StoreSuite, ARequestIsStoredWithEveryFieldAndFoundOrLockedById) {
  Model m = AddModel(store(), "m");
  ApprovalRequest r = Request(m, 3, "alias:champion");
  r.break_glass = true;
  r.break_glass_reason = "outage";
  r.followup_state = FollowupState::kOpen;
  r.state = RequestState::kApplied;
  r.applied_ms = kT0 + 1;
  r = Open(store(), r);
  EXPECT_GT(r.id, 0);

  auto found = FindRequest(store(), r.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, r.id);
  EXPECT_EQ(found->model_id, m.id);
  EXPECT_EQ(found->version, 3);
  EXPECT_EQ(found->target, "alias:champion");
  EXPECT_EQ(found->state, RequestState::kApplied);
  EXPECT_EQ(found->requester_id, 11);
  EXPECT_EQ(found->comment, "please");
  EXPECT_EQ(found->policy_name, "production");
  EXPECT_EQ(found->policy_version, 2);
  EXPECT_EQ(found->fingerprint, std::string(64, 'f'));
  EXPECT_TRUE(found->break_glass);
  EXPECT_EQ(found->break_glass_reason, "outage");
  EXPECT_EQ(found->followup_state, FollowupState::kOpen);
  EXPECT_EQ(found->created_ms, kT0);
  EXPECT_EQ(found->updated_ms, kT0);
  EXPECT_FALSE(found->approved_ms.has_value());
  EXPECT_EQ(found->applied_ms, std::optional<TimeMs>(kT0 + 1));
  EXPECT_FALSE(found->closed_ms.has_value());
  EXPECT_EQ(found->expires_ms, std::optional<TimeMs>(kT0 + 7 * 86'400'000));
  EXPECT_FALSE(found->followup_closed_ms.has_value());

  auto locked = Change(store(), [&](Tx& tx) { return tx.LockRequest(r.id); });
  ASSERT_TRUE(locked.has_value());
  EXPECT_EQ(locked->id, r.id);
  EXPECT_EQ(locked->state, RequestState::kApplied);
  EXPECT_FALSE(FindRequest(store(), r.id + 100).has_value());
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.LockRequest(r.id + 100); }).has_value());
}

TEST_P(StoreSuite, AVersionHasAtMostOneOpenOrApprovedRequestPerTarget) {
  Model m = AddModel(store(), "m");
  ApprovalRequest first = Open(store(), Request(m, 1));

  ApprovalRequest twin = Request(m, 1);
  Status st = TryInsert(store(), twin);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  // Another target, another version: each may have its own.
  Open(store(), Request(m, 1, "stage:Staging"));
  Open(store(), Request(m, 2));
  // A break-glass request is applied at once; it does not count against the open one.
  ApprovalRequest applied = Request(m, 1);
  applied.state = RequestState::kApplied;
  Open(store(), applied);

  // Approved still counts; rejected frees the version and target.
  first.state = RequestState::kApproved;
  first.approved_ms = kT0 + 1;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(first); }).ok());
  twin = Request(m, 1);
  EXPECT_EQ(TryInsert(store(), twin).code(), StatusCode::kAlreadyExists);
  first.state = RequestState::kRejected;
  first.closed_ms = kT0 + 2;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(first); }).ok());
  ApprovalRequest second = Open(store(), Request(m, 1));
  EXPECT_GT(second.id, first.id);

  // Reopening the rejected one beside the new one is refused and changes nothing.
  first.state = RequestState::kOpen;
  st = store().Write([&](Tx& tx) { return tx.UpdateRequest(first); });
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(FindRequest(store(), first.id)->state, RequestState::kRejected);
}

TEST_P(StoreSuite, UpdateRequestWritesStateFollowUpAndTimes) {
  Model m = AddModel(store(), "m");
  ApprovalRequest r = Open(store(), Request(m, 1));
  r.state = RequestState::kApplied;
  r.followup_state = FollowupState::kClosed;
  r.updated_ms = kT0 + 10;
  r.approved_ms = kT0 + 8;
  r.applied_ms = kT0 + 9;
  r.closed_ms = kT0 + 10;
  r.expires_ms.reset();
  r.followup_closed_ms = kT0 + 11;
  r.comment = "not written";
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(r); }).ok());
  auto found = FindRequest(store(), r.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state, RequestState::kApplied);
  EXPECT_EQ(found->followup_state, FollowupState::kClosed);
  EXPECT_EQ(found->updated_ms, kT0 + 10);
  EXPECT_EQ(found->approved_ms, std::optional<TimeMs>(kT0 + 8));
  EXPECT_EQ(found->applied_ms, std::optional<TimeMs>(kT0 + 9));
  EXPECT_EQ(found->closed_ms, std::optional<TimeMs>(kT0 + 10));
  EXPECT_FALSE(found->expires_ms.has_value());
  EXPECT_EQ(found->followup_closed_ms, std::optional<TimeMs>(kT0 + 11));
  EXPECT_EQ(found->comment, "please");

  ApprovalRequest ghost = r;
  ghost.id = r.id + 100;
  Status st = store().Write([&](Tx& tx) { return tx.UpdateRequest(ghost); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
}

TEST_P(StoreSuite, ListRequestsFiltersAndPagesNewestFirstBeforeAnId) {
  Model a = AddModel(store(), "a");
  Model b = AddModel(store(), "b");
  std::vector<int64_t> ids;
  for (int64_t v = 1; v <= 5; ++v) ids.push_back(Open(store(), Request(a, v)).id);  // 0..4
  ApprovalRequest staging = Request(a, 1, "stage:Staging");
  staging.requester_id = 12;
  ids.push_back(Open(store(), staging).id);        // 5
  ids.push_back(Open(store(), Request(b, 1)).id);  // 6
  ApprovalRequest closed = FindRequest(store(), ids[1]).value();
  closed.state = RequestState::kCancelled;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(closed); }).ok());

  EXPECT_EQ(ListIds(store(), {}),
            (std::vector<int64_t>{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(ListIds(store(), {.model_id = b.id}), (std::vector<int64_t>{ids[6]}));
  EXPECT_EQ(ListIds(store(), {.model_id = a.id, .version = 1}),
            (std::vector<int64_t>{ids[5], ids[0]}));
  EXPECT_EQ(ListIds(store(), {.state = RequestState::kCancelled}), (std::vector<int64_t>{ids[1]}));
  EXPECT_EQ(ListIds(store(), {.requester_id = 12}), (std::vector<int64_t>{ids[5]}));
  EXPECT_EQ(ListIds(store(), {.target = "stage:Staging"}), (std::vector<int64_t>{ids[5]}));
  EXPECT_TRUE(ListIds(store(), {.target = "alias:none"}).empty());

  // Keyset pages of two over model a's open requests.
  RequestFilter page{.model_id = a.id, .state = RequestState::kOpen, .limit = 2};
  EXPECT_EQ(ListIds(store(), page), (std::vector<int64_t>{ids[5], ids[4]}));
  page.before_id = ids[4];
  EXPECT_EQ(ListIds(store(), page), (std::vector<int64_t>{ids[3], ids[2]}));
  page.before_id = ids[2];
  EXPECT_EQ(ListIds(store(), page), (std::vector<int64_t>{ids[0]}));
  page.before_id = ids[0];
  EXPECT_TRUE(ListIds(store(), page).empty());
}

TEST_P(StoreSuite, TheNewestRequestForAVersionAndTargetIsTheHighestIdInAnyState) {
  Model m = AddModel(store(), "m");
  EXPECT_FALSE(Query(store(), [&](Tx& tx) {
                 return tx.NewestRequestFor(m.id, 1, "stage:Production");
               }).has_value());
  ApprovalRequest old = Open(store(), Request(m, 1));
  old.state = RequestState::kExpired;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(old); }).ok());
  ApprovalRequest rejected = Open(store(), Request(m, 1));
  rejected.state = RequestState::kRejected;
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.UpdateRequest(rejected); }).ok());
  Open(store(), Request(m, 1, "stage:Staging"));
  Open(store(), Request(m, 2));

  auto newest =
      Query(store(), [&](Tx& tx) { return tx.NewestRequestFor(m.id, 1, "stage:Production"); });
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->id, rejected.id);
  EXPECT_EQ(newest->state, RequestState::kRejected);
}

// ---- Reviews ---------------------------------------------------------------------------------

ApprovalReview Review(int64_t request_id, int64_t reviewer, std::string fingerprint,
                      ReviewDecision decision = ReviewDecision::kApprove) {
  return ApprovalReview{.request_id = request_id,
                        .reviewer_id = reviewer,
                        .printed_name = fmt::format("Reviewer {}", reviewer),
                        .decision = decision,
                        .meaning = "approved",
                        .comment = "looks good",
                        .fingerprint = std::move(fingerprint),
                        .created_ms = kT0 + reviewer};
}

TEST_P(StoreSuite, DueRequestsAreTheOpenOnesWhoseTimerHasComeEarliestFirst) {
  Model m = AddModel(store(), "m");
  ApprovalRequest late = Open(store(), Request(m, 1));
  ApprovalRequest early = Open(store(), Request(m, 2));
  ApprovalRequest future = Open(store(), Request(m, 3));
  ApprovalRequest untimed = Open(store(), Request(m, 4));
  ApprovalRequest closed = Open(store(), Request(m, 5));
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.SetRequestTimer(late.id, kT0 + 50));
                    VOUCH_TRY(tx.SetRequestTimer(early.id, kT0 + 10));
                    VOUCH_TRY(tx.SetRequestTimer(future.id, kT0 + 101));
                    VOUCH_TRY(tx.SetRequestTimer(untimed.id, std::nullopt));
                    VOUCH_TRY(tx.SetRequestTimer(closed.id, kT0));
                    closed.state = RequestState::kCancelled;
                    return tx.UpdateRequest(closed);
                  })
                  .ok());
  auto due = [&](TimeMs now, int limit) {
    return Query(store(), [&](Tx& tx) { return tx.DueRequests(now, limit); });
  };
  EXPECT_EQ(due(kT0 + 100, 10), (std::vector<int64_t>{early.id, late.id}));
  EXPECT_EQ(due(kT0 + 100, 1), (std::vector<int64_t>{early.id}));
  EXPECT_EQ(due(kT0 + 101, 10), (std::vector<int64_t>{early.id, late.id, future.id}));
  EXPECT_TRUE(due(kT0 + 9, 10).empty());

  Status st = store().Write([&](Tx& tx) { return tx.SetRequestTimer(closed.id + 100, kT0); });
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
}

TEST_P(StoreSuite, ReviewsAreStoredAsSignedAndListedOldestFirst) {
  Model m = AddModel(store(), "m");
  ApprovalRequest r = Open(store(), Request(m, 1));
  ApprovalRequest other = Open(store(), Request(m, 2));
  ApprovalReview a = Review(r.id, 21, "f1");
  ApprovalReview b = Review(r.id, 22, "f1", ReviewDecision::kReject);
  b.meaning = "reviewed";
  ApprovalReview elsewhere = Review(other.id, 23, "f1");
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.InsertReview(a));
                    VOUCH_TRY(tx.InsertReview(b));
                    return tx.InsertReview(elsewhere);
                  })
                  .ok());
  EXPECT_GT(a.id, 0);
  EXPECT_GT(b.id, a.id);

  auto reviews = Query(store(), [&](Tx& tx) { return tx.ListReviews(r.id); });
  ASSERT_EQ(reviews.size(), 2u);
  EXPECT_EQ(reviews[0].id, a.id);
  EXPECT_EQ(reviews[0].request_id, r.id);
  EXPECT_EQ(reviews[0].reviewer_id, 21);
  EXPECT_EQ(reviews[0].printed_name, "Reviewer 21");
  EXPECT_EQ(reviews[0].decision, ReviewDecision::kApprove);
  EXPECT_EQ(reviews[0].meaning, "approved");
  EXPECT_EQ(reviews[0].comment, "looks good");
  EXPECT_EQ(reviews[0].fingerprint, "f1");
  EXPECT_EQ(reviews[0].created_ms, kT0 + 21);
  EXPECT_FALSE(reviews[0].dismissed_ms.has_value());
  EXPECT_EQ(reviews[0].dismissed_reason, "");
  EXPECT_EQ(reviews[1].decision, ReviewDecision::kReject);
  EXPECT_EQ(reviews[1].meaning, "reviewed");
}

TEST_P(StoreSuite, DismissReviewsDismissesOnlyLiveReviewsThatSawAnotherFingerprint) {
  Model m = AddModel(store(), "m");
  ApprovalRequest r = Open(store(), Request(m, 1));
  ApprovalRequest other = Open(store(), Request(m, 2));
  std::vector<ApprovalReview> rs = {Review(r.id, 21, "old"), Review(r.id, 22, "new"),
                                    Review(r.id, 23, "old"), Review(other.id, 24, "old")};
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    for (auto& v : rs) VOUCH_TRY(tx.InsertReview(v));
                    return OkStatus();
                  })
                  .ok());

  auto dismissed = Change(store(), [&](Tx& tx) {
    return tx.DismissReviews(r.id, "new", kT0 + 50, "the version changed");
  });
  EXPECT_EQ(dismissed, (std::vector<int64_t>{rs[0].id, rs[2].id}));
  // Already dismissed ones stay as they were dismissed.
  EXPECT_TRUE(Change(store(), [&](Tx& tx) {
                return tx.DismissReviews(r.id, "new", kT0 + 60, "again");
              }).empty());

  auto reviews = Query(store(), [&](Tx& tx) { return tx.ListReviews(r.id); });
  ASSERT_EQ(reviews.size(), 3u);
  EXPECT_EQ(reviews[0].dismissed_ms, std::optional<TimeMs>(kT0 + 50));
  EXPECT_EQ(reviews[0].dismissed_reason, "the version changed");
  EXPECT_FALSE(reviews[1].dismissed_ms.has_value());
  EXPECT_EQ(reviews[2].dismissed_ms, std::optional<TimeMs>(kT0 + 50));
  EXPECT_FALSE(
      Query(store(), [&](Tx& tx) { return tx.ListReviews(other.id); })[0].dismissed_ms.has_value());

  // An empty fingerprint to keep dismisses every live review.
  EXPECT_EQ(Change(store(),
                   [&](Tx& tx) { return tx.DismissReviews(r.id, "", kT0 + 70, "policy changed"); }),
            (std::vector<int64_t>{rs[1].id}));
}

// ---- Checks ----------------------------------------------------------------------------------

VersionCheck Check(const Model& m, int64_t version, std::string name, CheckState state,
                   std::string fingerprint = "f1", TimeMs when = kT0) {
  return VersionCheck{.model_id = m.id,
                      .version = version,
                      .name = std::move(name),
                      .state = state,
                      .url = "https://ci.example/1",
                      .description = "unit tests",
                      .fingerprint = std::move(fingerprint),
                      .poster_id = 31,
                      .created_ms = when};
}

bool Post(Store& s, VersionCheck& c) {
  return Change(s, [&](Tx& tx) { return tx.PostCheck(c); });
}

TEST_P(StoreSuite, TheNewestPostOfEachCheckWinsAndTheListIsByName) {
  Model m = AddModel(store(), "m");
  VersionCheck tests1 = Check(m, 1, "ci/tests", CheckState::kFailure);
  VersionCheck bias = Check(m, 1, "bias-scan", CheckState::kPending);
  VersionCheck tests2 = Check(m, 1, "ci/tests", CheckState::kSuccess, "f1", kT0 + 5);
  VersionCheck v2 = Check(m, 2, "ci/tests", CheckState::kError);
  EXPECT_TRUE(Post(store(), tests1));
  EXPECT_TRUE(Post(store(), bias));
  EXPECT_TRUE(Post(store(), tests2));
  EXPECT_TRUE(Post(store(), v2));

  auto checks = Query(store(), [&](Tx& tx) { return tx.ListChecks(m.id, 1); });
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].name, "bias-scan");
  EXPECT_EQ(checks[0].state, CheckState::kPending);
  EXPECT_EQ(checks[1].id, tests2.id);
  EXPECT_EQ(checks[1].name, "ci/tests");
  EXPECT_EQ(checks[1].state, CheckState::kSuccess);
  EXPECT_EQ(checks[1].model_id, m.id);
  EXPECT_EQ(checks[1].version, 1);
  EXPECT_EQ(checks[1].url, "https://ci.example/1");
  EXPECT_EQ(checks[1].description, "unit tests");
  EXPECT_EQ(checks[1].fingerprint, "f1");
  EXPECT_EQ(checks[1].poster_id, 31);
  EXPECT_EQ(checks[1].created_ms, kT0 + 5);

  auto history = Query(store(), [&](Tx& tx) { return tx.CheckHistory(m.id, 1, "ci/tests"); });
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].id, tests2.id);
  EXPECT_EQ(history[1].id, tests1.id);
  EXPECT_EQ(history[1].state, CheckState::kFailure);
  EXPECT_TRUE(Query(store(), [&](Tx& tx) { return tx.ListChecks(m.id, 3); }).empty());
}

TEST_P(StoreSuite, RepostingTheNewestCheckUnchangedWritesNothing) {
  Model m = AddModel(store(), "m");
  VersionCheck first = Check(m, 1, "ci/tests", CheckState::kSuccess);
  EXPECT_TRUE(Post(store(), first));
  VersionCheck again = Check(m, 1, "ci/tests", CheckState::kSuccess, "f1", kT0 + 9);
  EXPECT_FALSE(Post(store(), again));
  EXPECT_EQ(again.id, first.id);
  // A new fingerprint (the version changed) is a new post, as is a new state.
  VersionCheck rebound = Check(m, 1, "ci/tests", CheckState::kSuccess, "f2");
  EXPECT_TRUE(Post(store(), rebound));
  EXPECT_GT(rebound.id, first.id);
  VersionCheck failed = Check(m, 1, "ci/tests", CheckState::kFailure, "f2");
  EXPECT_TRUE(Post(store(), failed));
  // The same as an older post but not the newest: posted again, and it wins.
  VersionCheck back = Check(m, 1, "ci/tests", CheckState::kSuccess, "f2");
  EXPECT_TRUE(Post(store(), back));
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.CheckHistory(m.id, 1, "ci/tests"); }).size(),
            4u);
  EXPECT_EQ(Query(store(), [&](Tx& tx) { return tx.ListChecks(m.id, 1); }).at(0).id, back.id);
}

// ---- Comments --------------------------------------------------------------------------------

TEST_P(StoreSuite, CommentsAreCreatedEditedDeletedAndListedLiveOldestFirst) {
  Model m = AddModel(store(), "m");
  ApprovalRequest r = Open(store(), Request(m, 1));
  RequestComment on_version{.model_id = m.id,
                            .version = 1,
                            .author_id = 41,
                            .text = "first",
                            .created_ms = kT0,
                            .updated_ms = kT0};
  RequestComment on_request = on_version;
  on_request.request_id = r.id;
  on_request.text = "second";
  RequestComment elsewhere = on_version;
  elsewhere.version = 2;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    VOUCH_TRY(tx.InsertComment(on_version));
                    VOUCH_TRY(tx.InsertComment(on_request));
                    return tx.InsertComment(elsewhere);
                  })
                  .ok());

  auto listed = Query(store(), [&](Tx& tx) { return tx.ListComments(m.id, 1); });
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, on_version.id);
  EXPECT_EQ(listed[0].request_id, 0);
  EXPECT_EQ(listed[0].model_id, m.id);
  EXPECT_EQ(listed[0].version, 1);
  EXPECT_EQ(listed[0].author_id, 41);
  EXPECT_EQ(listed[0].text, "first");
  EXPECT_EQ(listed[0].created_ms, kT0);
  EXPECT_FALSE(listed[0].deleted_ms.has_value());
  EXPECT_EQ(listed[1].request_id, r.id);

  EXPECT_TRUE(Change(
      store(), [&](Tx& tx) { return tx.UpdateComment(on_version.id, "first, edited", kT0 + 3); }));
  auto edited = Query(store(), [&](Tx& tx) { return tx.FindComment(on_version.id); });
  ASSERT_TRUE(edited.has_value());
  EXPECT_EQ(edited->text, "first, edited");
  EXPECT_EQ(edited->created_ms, kT0);
  EXPECT_EQ(edited->updated_ms, kT0 + 3);

  EXPECT_TRUE(Change(store(), [&](Tx& tx) { return tx.DeleteComment(on_version.id, kT0 + 4); }));
  EXPECT_FALSE(Change(store(), [&](Tx& tx) { return tx.DeleteComment(on_version.id, kT0 + 5); }));
  EXPECT_FALSE(
      Change(store(), [&](Tx& tx) { return tx.UpdateComment(on_version.id, "late", kT0 + 6); }));
  auto deleted = Query(store(), [&](Tx& tx) { return tx.FindComment(on_version.id); });
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->deleted_ms, std::optional<TimeMs>(kT0 + 4));
  EXPECT_EQ(deleted->text, "first, edited");
  listed = Query(store(), [&](Tx& tx) { return tx.ListComments(m.id, 1); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, on_request.id);
  EXPECT_FALSE(
      Query(store(), [&](Tx& tx) { return tx.FindComment(elsewhere.id + 100); }).has_value());
  EXPECT_FALSE(
      Change(store(), [&](Tx& tx) { return tx.UpdateComment(elsewhere.id + 100, "x", 1); }));
}

// ---- Creators --------------------------------------------------------------------------------

TEST_P(StoreSuite, ModelsAndVersionsKeepTheirCreatorsPrincipalId) {
  Model m{.name = "m",
          .created_ms = kT0,
          .updated_ms = kT0,
          .created_by = "alice",
          .created_by_id = 42};
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertModel(m); }).ok());
  ModelVersion v{.model_id = m.id,
                 .model_name = "m",
                 .version = 1,
                 .source = "s3://b/m/1",
                 .created_ms = kT0,
                 .updated_ms = kT0,
                 .created_by = "bob",
                 .created_by_id = 43};
  ASSERT_TRUE(store().Write([&](Tx& tx) { return tx.InsertVersion(v); }).ok());
  auto found_model = Query(store(), [](Tx& tx) { return tx.FindModel("m"); });
  ASSERT_TRUE(found_model.has_value());
  EXPECT_EQ(found_model->created_by_id, 42);
  auto found = Query(store(), [&](Tx& tx) { return tx.FindVersion(m.id, 1); });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->created_by_id, 43);
  auto listed = Query(store(), [&](Tx& tx) { return tx.ListVersionRows(m.id, 0, 10); });
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].created_by_id, 43);
  // The batched details of a page of models read the same columns.
  std::vector<Model> models{*found_model};
  ASSERT_TRUE(store().Read([&](Tx& tx) { return tx.LoadModelDetailsOf(models); }).ok());
  ASSERT_EQ(models[0].latest_versions.size(), 1u);
  EXPECT_EQ(models[0].latest_versions[0].created_by_id, 43);
}

}  // namespace
}  // namespace vouch::store::testing

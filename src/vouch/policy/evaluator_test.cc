// The gate evaluator as a table: each case starts from one scenario that satisfies the issue's
// production policy (two ML engineers and a business owner, two checks, three conditions, a 24 h
// wait in Staging, expiries, break glass) and changes one thing.
#include "vouch/policy/evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "vouch/policy/fingerprint.h"

namespace vouch::policy {
namespace {

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;
constexpr TimeMs kNow = 1'800'000'000'000;

Person Make(int64_t id, std::string name, std::vector<std::string> roles = {},
            std::vector<std::string> groups = {}) {
  Person p;
  p.id = id;
  p.username = name;
  p.email = name + "@example.com";
  p.display_name = "Display " + name;
  p.roles = std::move(roles);
  p.groups = std::move(groups);
  return p;
}

struct Scenario {
  Policy policy;
  GateInput in;
  TimeMs now = kNow;
  int64_t next_id = 100;

  Person requester = Make(1, "req", {"data-scientist", "ml-engineer"});
  Person author = Make(2, "author", {"ml-engineer"});
  Person eng1 = Make(3, "eng1", {"ml-engineer"});
  Person eng2 = Make(4, "eng2", {"ml-engineer"});
  Person eng3 = Make(5, "eng3", {"ml-engineer"});
  Person owner = Make(6, "owner", {"business-owner"});
  Person ana = Make(7, "ana");
  Person both = Make(8, "both", {"ml-engineer", "business-owner"});
  Person both2 = Make(9, "both2", {"ml-engineer", "business-owner"});
  Person both3 = Make(10, "both3", {"ml-engineer", "business-owner"});
  Person sre = Make(11, "sre", {}, {"sre-oncall"});

  Scenario() {
    policy.name = "production";
    policy.target = StageTarget(Stage::kProduction);
    policy.approvals = {{.from = {{RefKind::kRole, "ml-engineer"}}, .count = 2},
                        {.from = {{RefKind::kRole, "business-owner"}, {RefKind::kUser, "ana"}},
                         .count = 1,
                         .meaning = Meaning::kApproved}};
    policy.separation_of_duties.tags = {"commit_author"};
    policy.checks = {"ci/tests", "bias-scan"};
    for (const char* c :
         {"metrics.auc >= 0.9", "metrics.bias_gap <= 0.05", "tags.model_card exists"}) {
      policy.conditions.push_back(*ParseCondition(c));
    }
    policy.wait = WaitTimer{Stage::kStaging, 24 * kHour};
    policy.request_expiry_ms = 7 * kDay;
    policy.approval_expiry_ms = 30 * kDay;
    policy.stale_tags = {"model_card"};
    policy.break_glass = {{RefKind::kGroup, "sre-oncall"}};

    in.policy_version = 3;
    in.request = {.id = 1, .requester = requester, .created_ms = kNow - kHour};
    in.version.created_by_id = author.id;
    in.version.source = "s3://models/fraud/7";
    in.version.artifact_digest = "sha256:abc";
    in.version.metrics = {{"auc", 0.93}, {"bias_gap", 0.02}};
    in.version.params = {{"lr", "0.1"}};
    in.version.tags = {{"model_card", "https://cards/7"}, {"commit_author", "Dev <dev@x.com>"}};
    in.version.description = "fraud";
    in.version.entered_wait_stage_ms = kNow - 48 * kHour;
  }

  std::string Fp() const {
    return Fingerprint({in.version.source, in.version.artifact_digest, in.version.metrics,
                        in.version.params, in.version.tags, policy.stale_tags, policy.name,
                        in.policy_version});
  }
  void Review(const Person& p, Decision d = Decision::kApprove, Meaning m = Meaning::kApproved,
              std::optional<TimeMs> at = std::nullopt,
              std::optional<std::string> fp = std::nullopt) {
    in.reviews.push_back({.id = next_id++,
                          .reviewer = p,
                          .decision = d,
                          .meaning = m,
                          .fingerprint = fp.value_or(Fp()),
                          .time_ms = at.value_or(now - kHour + next_id)});
  }
  void Approve(const Person& p) { Review(p); }
  void Check(std::string name, CheckState state, std::optional<TimeMs> at = std::nullopt,
             std::optional<std::string> fp = std::nullopt) {
    in.checks.push_back({.id = next_id++,
                         .name = std::move(name),
                         .state = state,
                         .fingerprint = fp.value_or(Fp()),
                         .time_ms = at.value_or(now - 2 * kHour)});
  }
  void PassChecks() {
    Check("ci/tests", CheckState::kSuccess);
    Check("bias-scan", CheckState::kSuccess);
  }
  // The three approvals and two checks that satisfy the base policy.
  void Satisfy() {
    Approve(eng1);
    Approve(eng2);
    Approve(owner);
    PassChecks();
  }
};

using Verify = std::function<void(const Evaluation&, const Scenario&)>;

struct Case {
  std::string name;
  std::function<void(Scenario&)> setup;
  Outcome outcome;
  Verify verify = nullptr;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const ReviewVerdict& VerdictOf(const Evaluation& e, int64_t reviewer_id) {
  static const ReviewVerdict kNone;
  for (const ReviewVerdict& v : e.reviews) {
    if (v.reviewer_id == reviewer_id && v.status != ReviewStatus::kSuperseded) return v;
  }
  ADD_FAILURE() << "no verdict for reviewer " << reviewer_id;
  return kNone;
}

Verify StatusOf(int64_t reviewer_id, ReviewStatus status) {
  return [=](const Evaluation& e, const Scenario&) {
    EXPECT_EQ(ReviewStatusName(VerdictOf(e, reviewer_id).status), ReviewStatusName(status));
  };
}

Verify Blocker(std::string text) {
  return [=](const Evaluation& e, const Scenario&) {
    EXPECT_NE(std::find(e.blockers.begin(), e.blockers.end(), text), e.blockers.end())
        << "missing blocker: " << text << "\nhave:\n"
        << [&] {
             std::string all;
             for (const auto& b : e.blockers) all += b + "\n";
             return all;
           }();
  };
}

Verify All(std::vector<Verify> verifies) {
  return [=](const Evaluation& e, const Scenario& s) {
    for (const Verify& v : verifies) v(e, s);
  };
}

Verify CheckIs(size_t index, CheckStatus status) {
  return [=](const Evaluation& e, const Scenario&) {
    ASSERT_GT(e.checks.size(), index);
    EXPECT_EQ(CheckStatusName(e.checks[index].status), CheckStatusName(status));
  };
}

Verify RuleCounted(size_t rule, std::vector<std::string> names) {
  return [=](const Evaluation& e, const Scenario&) {
    ASSERT_GT(e.rules.size(), rule);
    std::vector<std::string> counted = e.rules[rule].counted;
    std::sort(counted.begin(), counted.end());
    std::vector<std::string> want = names;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(counted, want);
  };
}

// Every review is stale and listed for dismissal.
Verify AllStale() {
  return [](const Evaluation& e, const Scenario& s) {
    EXPECT_EQ(e.stale_review_ids.size(), s.in.reviews.size());
    for (const ReviewVerdict& v : e.reviews) EXPECT_EQ(v.status, ReviewStatus::kStale);
  };
}

std::vector<Case> Cases() {
  using CS = CheckState;
  using RS = ReviewStatus;
  return {
      // --- counts and the AND of rules
      {"AllRulesChecksConditionsAndWaitHold", [](Scenario& s) { s.Satisfy(); }, Outcome::kSatisfied,
       All({RuleCounted(0, {"eng1", "eng2"}), RuleCounted(1, {"owner"}),
            [](const Evaluation& e, const Scenario&) {
              EXPECT_TRUE(e.satisfied);
              EXPECT_TRUE(e.may_enter);
              EXPECT_TRUE(e.blockers.empty());
            }})},
      {"NoReviewsLeavesBothRulesUnmet", [](Scenario& s) { s.PassChecks(); }, Outcome::kPending,
       All({Blocker("rule 1 (2 of role:ml-engineer) has 0 of 2 approvals"),
            Blocker("rule 2 (1 of role:business-owner or user:ana (approved)) has 0 of 1 "
                    "approvals"),
            [](const Evaluation& e, const Scenario&) { EXPECT_FALSE(e.may_enter); }})},
      {"OneOfTwoEngineersIsNotEnough",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending, Blocker("rule 1 (2 of role:ml-engineer) has 1 of 2 approvals")},
      {"TwoEngineersWithoutTheOwnerIsNotEnough",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.PassChecks();
       },
       Outcome::kPending, RuleCounted(0, {"eng1", "eng2"})},
      {"TheOwnerAloneIsNotEnough",
       [](Scenario& s) {
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending, RuleCounted(1, {"owner"})},
      {"AThirdEngineerIsUnassigned",
       [](Scenario& s) {
         s.Satisfy();
         s.Approve(s.eng3);
       },
       Outcome::kSatisfied, StatusOf(5, RS::kUnassigned)},
      {"AUserReferenceSatisfiesTheOwnerRule",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Approve(s.ana);
         s.PassChecks();
       },
       Outcome::kSatisfied, RuleCounted(1, {"ana"})},
      {"ALowerCountIsMetSooner",
       [](Scenario& s) {
         s.policy.approvals[0].count = 1;
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kSatisfied},
      {"ApprovingTwiceCountsOnce",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_EQ(e.reviews[0].status, ReviewStatus::kSuperseded);
         EXPECT_EQ(e.reviews[1].status, ReviewStatus::kCounted);
       }},
      {"ARejectionRejects",
       [](Scenario& s) {
         s.Satisfy();
         s.Review(s.eng3, Decision::kReject);
       },
       Outcome::kRejected,
       All({Blocker("the request was rejected"), StatusOf(5, RS::kRejection),
            [](const Evaluation& e, const Scenario&) {
              EXPECT_EQ(e.rejection_review_ids.size(), 1u);
              EXPECT_FALSE(e.may_enter);
            }})},
      {"ApproveThenRejectByOnePersonRejects",
       [](Scenario& s) {
         s.Satisfy();
         s.Review(s.eng1, Decision::kReject);
       },
       Outcome::kRejected},
      {"RejectThenApproveByOnePersonCountsTheApproval",
       [](Scenario& s) {
         s.Review(s.eng1, Decision::kReject, Meaning::kApproved, s.now - 3 * kHour);
         s.Satisfy();
       },
       Outcome::kSatisfied},

      // --- one person, one rule: maximum bipartite matching
      {"APersonInTwoRolesCountsForOneRuleOnly",
       [](Scenario& s) {
         s.Approve(s.both);
         s.Approve(s.eng1);
         s.PassChecks();
       },
       Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_EQ(e.rules[0].counted.size() + e.rules[1].counted.size(), 2u);
       }},
      {"MatchingMovesAnEarlyDualApproverToTheRuleOnlyTheyCanFill",
       [](Scenario& s) {
         s.Approve(s.both);  // first: greedy would put them on the engineers' rule
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.PassChecks();
       },
       Outcome::kSatisfied, All({RuleCounted(0, {"eng1", "eng2"}), RuleCounted(1, {"both"})})},
      {"MatchingPutsADualApproverOnTheEngineersRuleWhenTheOwnerSigned",
       [](Scenario& s) {
         s.Approve(s.owner);
         s.Approve(s.both);
         s.Approve(s.eng1);
         s.PassChecks();
       },
       Outcome::kSatisfied, All({RuleCounted(0, {"both", "eng1"}), RuleCounted(1, {"owner"})})},
      {"TwoDualApproversCannotFillThreeSlots",
       [](Scenario& s) {
         s.Approve(s.both);
         s.Approve(s.both2);
         s.PassChecks();
       },
       Outcome::kPending},
      {"ThreeDualApproversFillEveryRule",
       [](Scenario& s) {
         s.Approve(s.both);
         s.Approve(s.both2);
         s.Approve(s.both3);
         s.PassChecks();
       },
       Outcome::kSatisfied},
      {"ASignatureWithAnotherMeaningDoesNotFillARuleThatWantsApproved",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Review(s.owner, Decision::kApprove, Meaning::kReviewed);
         s.PassChecks();
       },
       Outcome::kPending, StatusOf(6, RS::kNoRule)},
      {"ARuleWithoutMeaningTakesAnyMeaning",
       [](Scenario& s) {
         s.Review(s.eng1, Decision::kApprove, Meaning::kValidated);
         s.Review(s.eng2, Decision::kApprove, Meaning::kReviewed);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kSatisfied},

      // --- separation of duties
      {"TheRequesterCannotApprove",
       [](Scenario& s) {
         s.Approve(s.requester);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending, StatusOf(1, RS::kExcludedRequester)},
      {"TheRequesterMayApproveWhenThePolicySaysSo",
       [](Scenario& s) {
         s.policy.separation_of_duties.requester = false;
         s.Approve(s.requester);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kSatisfied},
      {"TheAuthorCannotApprove",
       [](Scenario& s) {
         s.Approve(s.author);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending, StatusOf(2, RS::kExcludedAuthor)},
      {"TheAuthorMayApproveWhenThePolicySaysSo",
       [](Scenario& s) {
         s.policy.separation_of_duties.author = false;
         s.Approve(s.author);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kSatisfied},
      {"AVersionWithoutACreatorExcludesNoAuthor",
       [](Scenario& s) {
         s.in.version.created_by_id.reset();
         s.Approve(s.author);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kSatisfied},
      {"ATagNamingAnEmailInGitFormExcludesThatPerson",
       [](Scenario& s) {
         s.in.version.tags["commit_author"] = "Eng One <ENG1@example.com>";
         s.Satisfy();
       },
       Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_EQ(VerdictOf(e, 3).status, ReviewStatus::kExcludedByTag);
         EXPECT_EQ(VerdictOf(e, 3).detail, "commit_author");
       }},
      {"ATagNamingAUsernameInAnotherCaseExcludesThatPerson",
       [](Scenario& s) {
         s.in.version.tags["commit_author"] = "ENG2";
         s.Satisfy();
       },
       Outcome::kPending, StatusOf(4, RS::kExcludedByTag)},
      {"ATagNamingSeveralPeopleExcludesEachOfThem",
       [](Scenario& s) {
         s.in.version.tags["commit_author"] = "eng1, eng2@example.com";
         s.Satisfy();
         s.Approve(s.eng3);
       },
       Outcome::kPending,
       All({StatusOf(3, RS::kExcludedByTag), StatusOf(4, RS::kExcludedByTag),
            RuleCounted(0, {"eng3"})})},
      {"ATagTheSeparationOfDutiesDoesNotListExcludesNobody",
       [](Scenario& s) {
         s.in.version.tags["reviewer_hint"] = "eng1";
         s.Satisfy();
       },
       Outcome::kSatisfied},
      {"WithoutSeparationTagsTheCommitAuthorTagIsIgnored",
       [](Scenario& s) {
         s.policy.separation_of_duties.tags.clear();
         s.in.version.tags["commit_author"] = "eng1";
         s.Satisfy();
       },
       Outcome::kSatisfied},

      // --- who the reviewer is now
      {"AServiceAccountNeverApproves",
       [](Scenario& s) {
         Person svc = s.eng3;
         svc.kind = PrincipalKind::kServiceAccount;
         s.Approve(svc);
         s.Approve(s.eng1);
         s.Approve(s.owner);
         s.PassChecks();
       },
       Outcome::kPending, StatusOf(5, RS::kServiceAccount)},
      {"ADisabledApproverStopsCounting",
       [](Scenario& s) {
         s.Satisfy();
         s.in.reviews[0].reviewer.disabled = true;
       },
       Outcome::kPending, StatusOf(3, RS::kDisabled)},
      {"ADeletedApproverStopsCounting",
       [](Scenario& s) {
         s.Satisfy();
         s.in.reviews[1].reviewer.deleted = true;
       },
       Outcome::kPending, StatusOf(4, RS::kDeleted)},
      {"AnApproverWhoLostTheRoleStopsCounting",
       [](Scenario& s) {
         s.Satisfy();
         s.in.reviews[2].reviewer.roles.clear();
       },
       Outcome::kPending, StatusOf(6, RS::kNoRule)},
      {"AdminStatusAloneSatisfiesNoRule",
       [](Scenario& s) {
         Person admin = Make(12, "admin");
         admin.is_admin = true;
         s.Approve(admin);
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.PassChecks();
       },
       Outcome::kPending, StatusOf(12, RS::kNoRule)},
      {"AnAdminHoldingAListedRoleCountsAsThatRole",
       [](Scenario& s) {
         Person admin = Make(12, "admin", {"business-owner"});
         admin.is_admin = true;
         s.Approve(admin);
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.PassChecks();
       },
       Outcome::kSatisfied, RuleCounted(1, {"admin"})},

      // --- stale approvals: the fingerprint
      {"AMetricChangeMakesEveryApprovalStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.metrics["auc"] = 0.95;
       },
       Outcome::kPending, AllStale()},
      {"AChangedStaleTagMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.tags["model_card"] = "https://cards/8";
       },
       Outcome::kPending, AllStale()},
      {"ARemovedStaleTagMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.tags.erase("model_card");
       },
       Outcome::kPending, AllStale()},
      {"ATagOutsideStaleTagsLeavesApprovalsStanding",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.tags["team"] = "risk";
       },
       Outcome::kSatisfied},
      {"AParamChangeMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.params["lr"] = "0.2";
       },
       Outcome::kPending, AllStale()},
      {"AnArtifactChangeMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.artifact_digest = "sha256:def";
       },
       Outcome::kPending, AllStale()},
      {"ASourceChangeMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.source = "s3://models/fraud/8";
       },
       Outcome::kPending, AllStale()},
      {"ANewPolicyVersionMakesApprovalsStale",
       [](Scenario& s) {
         s.Satisfy();
         s.in.policy_version = 4;
       },
       Outcome::kPending, AllStale()},
      {"AStaleApprovalIsDismissedEvenFromSomeoneWhoCouldNotCount",
       [](Scenario& s) {
         s.Approve(s.requester);
         s.Satisfy();
         s.in.version.metrics["auc"] = 0.95;
       },
       Outcome::kPending, AllStale()},
      {"ApprovingAgainAfterAChangeCountsAgain",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Approve(s.owner);
         s.in.version.metrics["auc"] = 0.95;
         s.PassChecks();
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Approve(s.owner);
       },
       Outcome::kSatisfied,
       [](const Evaluation& e, const Scenario&) { EXPECT_TRUE(e.stale_review_ids.empty()); }},

      // --- timers with the injected clock
      {"AnUnsatisfiedRequestExpires",
       [](Scenario& s) {
         s.in.request.created_ms = s.now - 8 * kDay;
         s.PassChecks();
       },
       Outcome::kExpired,
       All({Blocker("the request expired at 2027-01-14T08:00:00.000Z"),
            [](const Evaluation& e, const Scenario& s) {
              EXPECT_EQ(e.request_expires_ms, s.in.request.created_ms + 7 * kDay);
            }})},
      {"ASatisfiedRequestDoesNotExpire",
       [](Scenario& s) {
         s.in.request.created_ms = s.now - 8 * kDay;
         s.Satisfy();
       },
       Outcome::kSatisfied},
      {"ARequestExpiresExactlyAtItsExpiry",
       [](Scenario& s) { s.in.request.created_ms = s.now - 7 * kDay; }, Outcome::kExpired},
      {"ARequestOneMillisecondBeforeExpiryIsPending",
       [](Scenario& s) { s.in.request.created_ms = s.now - 7 * kDay + 1; }, Outcome::kPending},
      {"AnApprovalOlderThanItsValidityStopsCounting",
       [](Scenario& s) {
         s.Satisfy();
         s.in.reviews[0].time_ms = s.now - 31 * kDay;
       },
       Outcome::kPending, StatusOf(3, RS::kExpired)},
      {"TheNextApprovalExpiryIsTheOldestCountedApprovalPlusItsValidity",
       [](Scenario& s) {
         s.Satisfy();
         s.in.reviews[1].time_ms = s.now - 10 * kDay;
       },
       Outcome::kSatisfied,
       [](const Evaluation& e, const Scenario& s) {
         EXPECT_EQ(e.next_approval_expiry_ms, s.now - 10 * kDay + 30 * kDay);
       }},
      {"TheWaitInStagingIsNotOverYet",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.entered_wait_stage_ms = s.now - 23 * kHour;
       },
       Outcome::kPending,
       All({Blocker("wait: the version must stay in Staging until 2027-01-15T09:00:00.000Z"),
            [](const Evaluation& e, const Scenario& s) {
              ASSERT_TRUE(e.wait.has_value());
              EXPECT_FALSE(e.wait->met);
              EXPECT_EQ(e.wait->ready_ms, s.now + kHour);
            }})},
      {"TheWaitEndsExactlyAfterItsDuration",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.entered_wait_stage_ms = s.now - 24 * kHour;
       },
       Outcome::kSatisfied},
      {"AVersionNotInTheWaitStageWaits",
       [](Scenario& s) {
         s.Satisfy();
         s.in.version.entered_wait_stage_ms.reset();
       },
       Outcome::kPending, Blocker("wait: the version must be in Staging for 1d first")},

      // --- checks bound to the fingerprint
      {"AMissingCheckBlocks",
       [](Scenario& s) {
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Approve(s.owner);
         s.Check("ci/tests", CS::kSuccess);
       },
       Outcome::kPending,
       All({CheckIs(1, CheckStatus::kMissing), Blocker("check bias-scan has not been posted")})},
      {"APendingCheckBlocks",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("bias-scan", CS::kPending, s.now - kHour);
       },
       Outcome::kPending, CheckIs(1, CheckStatus::kPending)},
      {"AFailedCheckBlocks",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("ci/tests", CS::kFailure, s.now - kHour);
       },
       Outcome::kPending,
       All({CheckIs(0, CheckStatus::kFailure), Blocker("check ci/tests failed")})},
      {"ACheckInErrorBlocks",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("ci/tests", CS::kError, s.now - kHour);
       },
       Outcome::kPending, CheckIs(0, CheckStatus::kError)},
      {"ANewerSuccessReplacesAFailure",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("ci/tests", CS::kFailure, s.now - 3 * kHour);
       },
       Outcome::kSatisfied, CheckIs(0, CheckStatus::kSuccess)},
      {"TheNewestPostWinsEvenWhenItFails",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("bias-scan", CS::kFailure, s.now - 30 * 60'000);
       },
       Outcome::kPending, CheckIs(1, CheckStatus::kFailure)},
      {"PostsInOneMillisecondAreOrderedByTheirId",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("ci/tests", CS::kFailure, s.now - 2 * kHour);  // same time, larger id
       },
       Outcome::kPending, CheckIs(0, CheckStatus::kFailure)},
      {"ACheckPostedForAnEarlierFingerprintIsStale",
       [](Scenario& s) {
         s.PassChecks();
         s.in.version.metrics["auc"] = 0.95;
         s.Approve(s.eng1);
         s.Approve(s.eng2);
         s.Approve(s.owner);
       },
       Outcome::kPending,
       All({CheckIs(0, CheckStatus::kStale),
            Blocker("check ci/tests was posted for an earlier fingerprint: post it again for this "
                    "version")})},
      {"AFailureForThisFingerprintBeatsANewerSuccessForAnOldOne",
       [](Scenario& s) {
         std::string old_fp = s.Fp();
         s.in.version.metrics["auc"] = 0.95;
         s.Satisfy();
         s.Check("ci/tests", CS::kFailure, s.now - kHour);
         s.Check("ci/tests", CS::kSuccess, s.now - 60'000, old_fp);
       },
       Outcome::kPending, CheckIs(0, CheckStatus::kFailure)},
      {"AFailingCheckThePolicyDoesNotRequireIsIgnored",
       [](Scenario& s) {
         s.Satisfy();
         s.Check("lint", CS::kFailure);
       },
       Outcome::kSatisfied},

      // --- conditions with their actual values
      {"AMetricBelowItsThresholdBlocksWithItsValue",
       [](Scenario& s) {
         s.in.version.metrics["auc"] = 0.85;
         s.Satisfy();
       },
       Outcome::kPending,
       All({Blocker("condition metrics.auc >= 0.9 does not hold (metrics.auc is 0.85)"),
            [](const Evaluation& e, const Scenario&) {
              ASSERT_EQ(e.conditions.size(), 3u);
              EXPECT_FALSE(e.conditions[0].holds);
              EXPECT_EQ(e.conditions[0].clauses[0].actual, "0.85");
            }})},
      {"AMissingTagBlocks",
       [](Scenario& s) {
         s.in.version.tags.erase("model_card");
         s.Satisfy();
       },
       Outcome::kPending,
       Blocker("condition tags.model_card exists does not hold (tags.model_card is missing)")},
      {"AMetricAtItsThresholdHolds",
       [](Scenario& s) {
         s.in.version.metrics["bias_gap"] = 0.05;
         s.Satisfy();
       },
       Outcome::kSatisfied},
      {"APolicyOfConditionsAloneNeedsNoReviewer",
       [](Scenario& s) {
         s.policy.approvals.clear();
         s.policy.checks.clear();
       },
       Outcome::kSatisfied},

      // --- break glass
      {"BreakGlassBySomeoneNamedEntersAtOnce",
       [](Scenario& s) {
         s.in.request.requester = s.sre;
         s.in.request.break_glass = true;
         s.in.request.break_glass_reason = "INC-42: fraud spike";
       },
       Outcome::kBrokenGlass,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_TRUE(e.may_enter);
         EXPECT_FALSE(e.satisfied);
         EXPECT_TRUE(e.blockers.empty());
       }},
      {"BreakGlassBySomeoneNotNamedIsRefused",
       [](Scenario& s) {
         s.in.request.break_glass = true;
         s.in.request.break_glass_reason = "hurry";
       },
       Outcome::kPending, Blocker("req is not named in break_glass")},
      {"BreakGlassWithoutAReasonIsRefused",
       [](Scenario& s) {
         s.in.request.requester = s.sre;
         s.in.request.break_glass = true;
         s.in.request.break_glass_reason = "  ";
       },
       Outcome::kPending, Blocker("break glass needs a reason")},

      // --- audit_only enforcement
      {"AuditOnlyLetsAnUnsatisfiedMoveThroughFlagged",
       [](Scenario& s) { s.policy.enforcement = Enforcement::kAuditOnly; }, Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_TRUE(e.may_enter);
         EXPECT_TRUE(e.would_be_refused);
         EXPECT_FALSE(e.blockers.empty());
       }},
      {"AuditOnlyWithEverythingMetIsNotFlagged",
       [](Scenario& s) {
         s.policy.enforcement = Enforcement::kAuditOnly;
         s.Satisfy();
       },
       Outcome::kSatisfied,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_TRUE(e.may_enter);
         EXPECT_FALSE(e.would_be_refused);
       }},
      {"EnforceRefusesAnUnsatisfiedMove", [](Scenario&) {}, Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_FALSE(e.may_enter);
         EXPECT_FALSE(e.would_be_refused);
       }},

      // --- who could still count
      {"UnmetRulesNameTheCandidatesWhoCouldStillCount",
       [](Scenario& s) {
         Person svc = Make(20, "svc", {"ml-engineer"});
         svc.kind = PrincipalKind::kServiceAccount;
         Person off = Make(21, "off", {"ml-engineer"});
         off.disabled = true;
         s.in.candidates = {s.requester, s.author, s.eng1, s.eng2, s.eng3, s.owner, svc, off};
         s.Approve(s.eng1);
         s.PassChecks();
       },
       Outcome::kPending,
       [](const Evaluation& e, const Scenario&) {
         EXPECT_EQ(e.rules[0].could_count, (std::vector<std::string>{"eng2", "eng3"}));
         EXPECT_EQ(e.rules[1].could_count, (std::vector<std::string>{"owner"}));
       }},
  };
}

class GateTable : public testing::TestWithParam<Case> {};

TEST_P(GateTable, DecidesAsTheCaseSays) {
  const Case& c = GetParam();
  Scenario s;
  c.setup(s);
  FakeClock clock(s.now);
  Evaluation e = Evaluate(s.policy, s.in, clock);
  EXPECT_EQ(OutcomeName(e.outcome), OutcomeName(c.outcome));
  EXPECT_EQ(e.fingerprint, s.Fp());
  EXPECT_EQ(e.reviews.size(), s.in.reviews.size());
  if (c.verify) c.verify(e, s);
}

INSTANTIATE_TEST_SUITE_P(Evaluator, GateTable, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Evaluator, TheTableHasAtLeastSixtyCases) { EXPECT_GE(Cases().size(), 60u); }

TEST(Evaluator, AnAdvancingClockEndsTheWait) {
  Scenario s;
  s.Satisfy();
  s.in.version.entered_wait_stage_ms = s.now;
  FakeClock clock(s.now);
  EXPECT_EQ(Evaluate(s.policy, s.in, clock).outcome, Outcome::kPending);
  clock.Advance(24 * kHour - 1);
  EXPECT_EQ(Evaluate(s.policy, s.in, clock).outcome, Outcome::kPending);
  clock.Advance(1);
  EXPECT_EQ(Evaluate(s.policy, s.in, clock).outcome, Outcome::kSatisfied);
}

TEST(Evaluator, FormatsRulesForPeople) {
  EXPECT_EQ(FormatRule({.from = {{RefKind::kRole, "a"}, {RefKind::kGroup, "b"}}, .count = 2}),
            "2 of role:a or group:b");
  EXPECT_EQ(
      FormatRule({.from = {{RefKind::kUser, "ana"}}, .count = 1, .meaning = Meaning::kReleased}),
      "1 of user:ana (released)");
}

}  // namespace
}  // namespace vouch::policy

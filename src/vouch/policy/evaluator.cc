#include "vouch/policy/evaluator.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "vouch/policy/fingerprint.h"
#include "vouch/policy/matching.h"
#include "vouch/util/text.h"

namespace vouch::policy {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a version tag's value names `person`: the value is one or more comma-separated entries,
// each a username, an e-mail address or a git-style "Name <e-mail>", compared case-insensitively.
bool TagNames(std::string_view value, const Person& person) {
  while (true) {
    size_t comma = value.find(',');
    std::string_view entry = Trim(value.substr(0, comma));
    size_t open = entry.find('<');
    size_t close = entry.rfind('>');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
      entry = Trim(entry.substr(open + 1, close - open - 1));
    }
    if (!entry.empty() && (EqualsIgnoreCase(entry, person.username) ||
                           (!person.email.empty() && EqualsIgnoreCase(entry, person.email)))) {
      return true;
    }
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

bool Qualifies(const ApprovalRule& rule, const Person& person, std::optional<Meaning> meaning) {
  if (rule.meaning && meaning && *rule.meaning != *meaning) return false;
  return std::any_of(rule.from.begin(), rule.from.end(),
                     [&](const Ref& r) { return PersonMatches(r, person); });
}

// Separation of duties and the state of the person: the status that keeps them from counting,
// or nothing when they may count. `detail` names the tag that excluded them.
std::optional<ReviewStatus> Exclusion(const Policy& policy, const GateInput& in, const Person& p,
                                      std::string& detail) {
  if (p.deleted) return ReviewStatus::kDeleted;
  if (p.disabled) return ReviewStatus::kDisabled;
  if (p.kind == PrincipalKind::kServiceAccount) return ReviewStatus::kServiceAccount;
  const SeparationOfDuties& sod = policy.separation_of_duties;
  if (sod.requester && p.id == in.request.requester.id) return ReviewStatus::kExcludedRequester;
  if (sod.author && in.version.created_by_id && p.id == *in.version.created_by_id) {
    return ReviewStatus::kExcludedAuthor;
  }
  for (const std::string& tag : sod.tags) {
    auto it = in.version.tags.find(tag);
    if (it != in.version.tags.end() && TagNames(it->second, p)) {
      detail = tag;
      return ReviewStatus::kExcludedByTag;
    }
  }
  return std::nullopt;
}

// The newest of two posts or reviews: later time, then the larger id.
template <typename T>
bool Newer(const T& a, const T& b) {
  return a.time_ms != b.time_ms ? a.time_ms > b.time_ms : a.id > b.id;
}

void EvaluateChecks(const Policy& policy, const GateInput& in, Evaluation& e) {
  for (const std::string& name : policy.checks) {
    CheckResult r;
    r.name = name;
    const CheckPost* newest = nullptr;
    bool any = false;
    for (const CheckPost& post : in.checks) {
      if (post.name != name) continue;
      any = true;
      if (post.fingerprint != e.fingerprint) continue;
      if (newest == nullptr || Newer(post, *newest)) newest = &post;
    }
    if (newest == nullptr) {
      r.status = any ? CheckStatus::kStale : CheckStatus::kMissing;
      e.blockers.push_back(any ? fmt::format("check {} was posted for an earlier fingerprint: "
                                             "post it again for this version",
                                             name)
                               : fmt::format("check {} has not been posted", name));
    } else {
      r.posted_ms = newest->time_ms;
      switch (newest->state) {
        case CheckState::kPending:
          r.status = CheckStatus::kPending;
          e.blockers.push_back(fmt::format("check {} is pending", name));
          break;
        case CheckState::kSuccess:
          r.status = CheckStatus::kSuccess;
          r.passed = true;
          break;
        case CheckState::kFailure:
          r.status = CheckStatus::kFailure;
          e.blockers.push_back(fmt::format("check {} failed", name));
          break;
        case CheckState::kError:
          r.status = CheckStatus::kError;
          e.blockers.push_back(fmt::format("check {} ended in error", name));
          break;
      }
    }
    e.checks.push_back(std::move(r));
  }
}

void EvaluateRules(const Policy& policy, const GateInput& in, TimeMs now, Evaluation& e) {
  // One review per person: their newest.
  std::map<int64_t, size_t> newest;  // reviewer id -> index into in.reviews
  for (size_t i = 0; i < in.reviews.size(); ++i) {
    auto [it, inserted] = newest.emplace(in.reviews[i].reviewer.id, i);
    if (!inserted && Newer(in.reviews[i], in.reviews[it->second])) it->second = i;
  }
  // Slots: rule r owns `count` consecutive slots starting at slot_start[r].
  std::vector<size_t> slot_start;
  size_t slots = 0;
  for (const ApprovalRule& rule : policy.approvals) {
    slot_start.push_back(slots);
    slots += static_cast<size_t>(rule.count);
  }
  std::vector<size_t> eligible;  // indexes into in.reviews, oldest first
  e.reviews.resize(in.reviews.size());
  for (size_t i = 0; i < in.reviews.size(); ++i) {
    const Review& review = in.reviews[i];
    ReviewVerdict& v = e.reviews[i];
    v.review_id = review.id;
    v.reviewer_id = review.reviewer.id;
    v.reviewer = review.reviewer.username;
    if (newest[review.reviewer.id] != i) {
      v.status = ReviewStatus::kSuperseded;
      continue;
    }
    if (review.decision == Decision::kReject) {
      v.status = ReviewStatus::kRejection;
      e.rejection_review_ids.push_back(review.id);
      continue;
    }
    // Every approval of another fingerprint is dismissed, whoever gave it.
    if (review.fingerprint != e.fingerprint) {
      v.status = ReviewStatus::kStale;
      e.stale_review_ids.push_back(review.id);
      continue;
    }
    if (auto excluded = Exclusion(policy, in, review.reviewer, v.detail)) {
      v.status = *excluded;
      continue;
    }
    if (policy.approval_expiry_ms && now - review.time_ms >= *policy.approval_expiry_ms) {
      v.status = ReviewStatus::kExpired;
      continue;
    }
    v.status = ReviewStatus::kNoRule;
    for (const ApprovalRule& rule : policy.approvals) {
      if (Qualifies(rule, review.reviewer, review.meaning)) v.status = ReviewStatus::kUnassigned;
    }
    if (v.status == ReviewStatus::kUnassigned) eligible.push_back(i);
  }
  std::stable_sort(eligible.begin(), eligible.end(), [&](size_t a, size_t b) {
    return in.reviews[a].time_ms < in.reviews[b].time_ms;
  });
  std::vector<std::vector<int>> edges(eligible.size());
  for (size_t k = 0; k < eligible.size(); ++k) {
    const Review& review = in.reviews[eligible[k]];
    for (size_t r = 0; r < policy.approvals.size(); ++r) {
      if (!Qualifies(policy.approvals[r], review.reviewer, review.meaning)) continue;
      for (int64_t s = 0; s < policy.approvals[r].count; ++s) {
        edges[k].push_back(static_cast<int>(slot_start[r] + static_cast<size_t>(s)));
      }
    }
  }
  std::vector<int> assignment = MaxBipartiteMatching(edges, slots);
  std::vector<bool> counted_person(eligible.size());
  e.rules.resize(policy.approvals.size());
  for (size_t r = 0; r < policy.approvals.size(); ++r) {
    RuleResult& rr = e.rules[r];
    rr.text = FormatRule(policy.approvals[r]);
    rr.required = policy.approvals[r].count;
    for (int64_t s = 0; s < rr.required; ++s) {
      int k = assignment[slot_start[r] + static_cast<size_t>(s)];
      if (k < 0) continue;
      size_t review_index = eligible[static_cast<size_t>(k)];
      const Review& review = in.reviews[review_index];
      counted_person[static_cast<size_t>(k)] = true;
      e.reviews[review_index].status = ReviewStatus::kCounted;
      e.reviews[review_index].rule = r;
      rr.counted.push_back(review.reviewer.username);
      if (policy.approval_expiry_ms) {
        TimeMs lapses = review.time_ms + *policy.approval_expiry_ms;
        if (!e.next_approval_expiry_ms || lapses < *e.next_approval_expiry_ms) {
          e.next_approval_expiry_ms = lapses;
        }
      }
    }
    rr.satisfied = static_cast<int64_t>(rr.counted.size()) == rr.required;
  }
  // Who could still count: candidates not excluded and not already counted.
  for (size_t r = 0; r < policy.approvals.size(); ++r) {
    RuleResult& rr = e.rules[r];
    if (rr.satisfied) continue;
    for (const Person& candidate : in.candidates) {
      std::string ignored;
      if (Exclusion(policy, in, candidate, ignored)) continue;
      if (!Qualifies(policy.approvals[r], candidate, std::nullopt)) continue;
      bool counted = false;
      for (size_t k = 0; k < eligible.size(); ++k) {
        counted =
            counted || (counted_person[k] && in.reviews[eligible[k]].reviewer.id == candidate.id);
      }
      if (!counted) rr.could_count.push_back(candidate.username);
    }
    e.blockers.push_back(fmt::format("rule {} ({}) has {} of {} approvals", r + 1, rr.text,
                                     rr.counted.size(), rr.required));
  }
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSatisfied:
      return "satisfied";
    case Outcome::kPending:
      return "pending";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kExpired:
      return "expired";
    case Outcome::kBrokenGlass:
      return "break_glass";
  }
  return "pending";
}

std::string_view ReviewStatusName(ReviewStatus s) {
  switch (s) {
    case ReviewStatus::kCounted:
      return "counted";
    case ReviewStatus::kUnassigned:
      return "unassigned";
    case ReviewStatus::kRejection:
      return "rejection";
    case ReviewStatus::kSuperseded:
      return "superseded";
    case ReviewStatus::kStale:
      return "stale";
    case ReviewStatus::kExpired:
      return "expired";
    case ReviewStatus::kExcludedRequester:
      return "excluded_requester";
    case ReviewStatus::kExcludedAuthor:
      return "excluded_author";
    case ReviewStatus::kExcludedByTag:
      return "excluded_by_tag";
    case ReviewStatus::kServiceAccount:
      return "service_account";
    case ReviewStatus::kDisabled:
      return "disabled";
    case ReviewStatus::kDeleted:
      return "deleted";
    case ReviewStatus::kNoRule:
      return "no_rule";
  }
  return "no_rule";
}

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kMissing:
      return "missing";
    case CheckStatus::kStale:
      return "stale";
    case CheckStatus::kPending:
      return "pending";
    case CheckStatus::kSuccess:
      return "success";
    case CheckStatus::kFailure:
      return "failure";
    case CheckStatus::kError:
      return "error";
  }
  return "missing";
}

std::string FormatRule(const ApprovalRule& rule) {
  std::string out = fmt::format("{} of ", rule.count);
  for (size_t i = 0; i < rule.from.size(); ++i) {
    if (i > 0) out += " or ";
    out += FormatRef(rule.from[i]);
  }
  if (rule.meaning) out += fmt::format(" ({})", MeaningName(*rule.meaning));
  return out;
}

Evaluation Evaluate(const Policy& policy, const GateInput& in, const Clock& clock) {
  const TimeMs now = clock.NowMs();
  Evaluation e;
  e.fingerprint = VersionFingerprint(in.version, policy, in.policy_version);
  EvaluateRules(policy, in, now, e);
  EvaluateChecks(policy, in, e);
  for (const Condition& condition : policy.conditions) {
    ConditionResult r = EvaluateCondition(condition, in.version);
    if (!r.holds) {
      std::string actual;
      for (const ClauseResult& c : r.clauses) {
        if (c.holds) continue;
        actual += fmt::format("{}{} is {}", actual.empty() ? "" : ", ",
                              c.text.substr(0, c.text.find(' ')), c.actual.value_or("missing"));
      }
      e.blockers.push_back(fmt::format("condition {} does not hold ({})", r.text, actual));
    }
    e.conditions.push_back(std::move(r));
  }
  if (policy.wait) {
    WaitResult w;
    std::string_view stage = StageName(policy.wait->in_stage);
    if (in.version.entered_wait_stage_ms) {
      w.ready_ms = *in.version.entered_wait_stage_ms + policy.wait->at_least_ms;
      w.met = now >= *w.ready_ms;
      if (!w.met) {
        e.blockers.push_back(fmt::format("wait: the version must stay in {} until {}", stage,
                                         FormatRfc3339Ms(*w.ready_ms)));
      }
    } else {
      e.blockers.push_back(fmt::format("wait: the version must be in {} for {} first", stage,
                                       FormatPolicyDuration(policy.wait->at_least_ms)));
    }
    e.wait = w;
  }
  e.satisfied = e.blockers.empty();

  if (policy.request_expiry_ms) {
    e.request_expires_ms = in.request.created_ms + *policy.request_expiry_ms;
  }
  const bool break_glass_allowed = in.request.break_glass &&
                                   CanBreakGlass(policy, in.request.requester) &&
                                   !Trim(in.request.break_glass_reason).empty();
  if (break_glass_allowed) {
    e.outcome = Outcome::kBrokenGlass;
  } else if (!e.rejection_review_ids.empty()) {
    e.outcome = Outcome::kRejected;
  } else if (!e.satisfied && e.request_expires_ms && now >= *e.request_expires_ms) {
    e.outcome = Outcome::kExpired;
  } else {
    e.outcome = e.satisfied ? Outcome::kSatisfied : Outcome::kPending;
  }
  if (in.request.break_glass && !break_glass_allowed) {
    e.blockers.insert(e.blockers.begin(), CanBreakGlass(policy, in.request.requester)
                                              ? std::string("break glass needs a reason")
                                              : fmt::format("{} is not named in break_glass",
                                                            in.request.requester.username));
  }
  if (e.outcome == Outcome::kRejected) {
    e.blockers.insert(e.blockers.begin(), "the request was rejected");
  } else if (e.outcome == Outcome::kExpired) {
    e.blockers.insert(e.blockers.begin(), fmt::format("the request expired at {}",
                                                      FormatRfc3339Ms(*e.request_expires_ms)));
  }
  const bool allowed = e.outcome == Outcome::kSatisfied || e.outcome == Outcome::kBrokenGlass;
  if (allowed) e.blockers.clear();
  if (policy.enforcement == Enforcement::kAuditOnly) {
    e.may_enter = true;
    e.would_be_refused = !allowed;
  } else {
    e.may_enter = allowed;
  }
  return e;
}

}  // namespace vouch::policy

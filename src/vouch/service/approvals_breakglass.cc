// Break glass: a request by someone the policy's `break_glass` names is applied in the transaction
// that opens it, recorded as gate.bypassed, and leaves a follow-up open until someone else who
// could have approved reviews it (followup.closed). The follow-up never moves anything back.
#include "vouch/service/approvals_breakglass.h"

#include <fmt/format.h>

#include "vouch/audit/actions.h"
#include "vouch/domain/model.h"
#include "vouch/service/events.h"

namespace vouch::service {

using audit::Action;
using policy::Evaluation;
using policy::Outcome;
using store::FollowupState;
using store::RequestState;

namespace {

bool Blank(std::string_view s) {
  return s.find_first_not_of(" \t\n\r\f\v") == std::string_view::npos;
}

}  // namespace

Status CheckBreakGlassArgs(const RequestArgs& args) {
  if (!args.break_glass) {
    if (!args.reason.empty()) return InvalidArgument("a reason is given only with break_glass");
    return OkStatus();
  }
  if (Blank(args.reason)) return InvalidArgument("break glass needs a reason");
  if (Utf8Length(args.reason) > kMaxBreakGlassReason) {
    return InvalidArgument(
        fmt::format("a break-glass reason is at most {} characters", kMaxBreakGlassReason));
  }
  return OkStatus();
}

Status MayBreakGlass(const policy::Policy& p, const policy::Person& person, std::string_view to,
                     std::string_view model) {
  if (policy::CanBreakGlass(p, person)) return OkStatus();
  if (p.break_glass.empty()) {
    return PermissionDenied(fmt::format(
        "policy {} names nobody in break_glass: {} of model {} cannot be entered by break glass",
        p.name, to, model));
  }
  std::string who;
  for (const auto& r : p.break_glass) who += (who.empty() ? "" : ", ") + policy::FormatRef(r);
  return PermissionDenied(fmt::format("policy {} lets only {} break glass into {} of model {}",
                                      p.name, who, to, model));
}

Result<std::vector<store::ApprovalRequest>> ListOpenFollowups(store::Tx& tx,
                                                              store::RequestFilter filter) {
  const size_t want = static_cast<size_t>(filter.limit);
  filter.limit = 1000;
  std::vector<store::ApprovalRequest> out;
  while (out.size() < want) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::ApprovalRequest> page, tx.ListRequests(filter));
    for (auto& r : page) {
      if (IsOpenFollowup(r) && out.size() < want) out.push_back(std::move(r));
    }
    if (page.size() < static_cast<size_t>(filter.limit)) break;
    filter.before_id = page.back().id;
  }
  return out;
}

bool IsOpenFollowup(const store::ApprovalRequest& r) {
  return r.break_glass && r.state == RequestState::kApplied &&
         r.followup_state == FollowupState::kOpen;
}

Status MayReviewFollowup(const store::ApprovalRequest& r, const policy::Person& reviewer) {
  if (reviewer.id == r.requester_id) {
    return PermissionDenied(fmt::format(
        "{} broke the glass with request {}: someone else who could have approved reviews its "
        "follow-up",
        reviewer.username, r.id));
  }
  return OkStatus();
}

Status BrokenGlass(const Evaluation& eval, int64_t request) {
  if (eval.outcome == Outcome::kBrokenGlass) return OkStatus();
  // CreateRequest checked the list and the reason; the evaluator is the last word.
  std::string why;
  for (const auto& b : eval.blockers) why += (why.empty() ? "" : "; ") + b;
  return PermissionDenied(fmt::format("request {} cannot break the glass: {}", request,
                                      why.empty() ? "the gate does not allow it" : why));
}

Status OpenFollowup(Change& change, const Model& m, store::ApprovalRequest& r,
                    const store::PolicyRecord& policy, const Evaluation& eval) {
  r.followup_state = FollowupState::kOpen;
  VOUCH_TRY(change.tx().UpdateRequest(r));
  AuditEvent e = ModelEvent(change.ctx(), Action::kGateBypassed, m, r.version);
  e.target["to"] = r.target;
  e.target["request"] = r.id;
  e.before = nullptr;
  e.after = json::object{{"policy", policy.name},           {"policy_version", policy.version},
                         {"fingerprint", eval.fingerprint}, {"request", r.id},
                         {"reason", r.break_glass_reason},  {"followup", "open"}};
  e.comment = r.break_glass_reason;
  return change.Record(std::move(e));
}

Status CloseFollowup(Change& change, const Model& m, store::ApprovalRequest& r,
                     const store::ApprovalReview& review) {
  TimeMs now = change.ctx().Now();
  r.followup_state = FollowupState::kClosed;
  r.followup_closed_ms = now;
  r.updated_ms = now;
  VOUCH_TRY(change.tx().UpdateRequest(r));
  AuditEvent e = ModelEvent(change.ctx(), Action::kFollowupClosed, m, r.version);
  e.target["type"] = "approval_request";
  e.target["request"] = r.id;
  e.target["to"] = r.target;
  e.target["review"] = review.id;
  e.before = json::object{{"followup", "open"}};
  e.after = json::object{{"followup", "closed"},
                         {"decision", store::ReviewDecisionName(review.decision)},
                         {"meaning", review.meaning},
                         {"printed_name", review.printed_name},
                         {"comment", review.comment}};
  e.comment = review.comment;
  return change.Record(std::move(e));
}

}  // namespace vouch::service

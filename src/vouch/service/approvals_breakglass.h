// Break glass (issue 12, docs/approvals.md "Break glass"): the rules ApprovalService applies to a
// break-glass request and to its follow-up review, apart so that approvals.cc only calls them.
#pragma once

#include <string_view>

#include "vouch/policy/evaluator.h"
#include "vouch/policy/facts.h"
#include "vouch/policy/policy.h"
#include "vouch/service/approvals.h"
#include "vouch/service/executor.h"
#include "vouch/store/approval_rows.h"
#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::service {

// The longest break-glass reason, in characters.
inline constexpr size_t kMaxBreakGlassReason = 1000;

// INVALID_ARGUMENT for a break-glass request without a reason (or only blanks), a reason longer
// than kMaxBreakGlassReason characters, or a reason on a request that is not break glass.
Status CheckBreakGlassArgs(const RequestArgs& args);

// PERMISSION_DENIED naming the policy unless `person` is named in its `break_glass` list (a policy
// without the list lets nobody break glass; admin status does not).
Status MayBreakGlass(const policy::Policy& p, const policy::Person& person, std::string_view to,
                     std::string_view model);

// PERMISSION_DENIED with the evaluator's blockers unless `eval` says broken glass.
Status BrokenGlass(const policy::Evaluation& eval, int64_t request);

// After the break-glass request `r` was applied: its follow-up opens and gate.bypassed records the
// policy, the version's fingerprint, the request and the reason.
Status OpenFollowup(Change& change, const Model& m, store::ApprovalRequest& r,
                    const store::PolicyRecord& policy, const policy::Evaluation& eval);

// Closes `r`'s open follow-up with `review` (just written) and records followup.closed with the
// decision and comment; moves nothing.
Status CloseFollowup(Change& change, const Model& m, store::ApprovalRequest& r,
                     const store::ApprovalReview& review);

// The requests `filter` (state applied) finds whose follow-up is open, newest first, at most
// `filter.limit`: the store pages by state, this keeps the open follow-ups.
Result<std::vector<store::ApprovalRequest>> ListOpenFollowups(store::Tx& tx,
                                                              store::RequestFilter filter);

// Whether `r` is an applied break-glass request whose follow-up review is still to be made.
bool IsOpenFollowup(const store::ApprovalRequest& r);

// PERMISSION_DENIED when `reviewer` opened the break-glass request: someone else reviews it.
Status MayReviewFollowup(const store::ApprovalRequest& r, const policy::Person& reviewer);

}  // namespace vouch::service

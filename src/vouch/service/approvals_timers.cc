// ApprovalService's timers (approvals.h, "Timers"): request expiry and the end of a policy's wait,
// run by the leader's scheduler job as `system`. Each due request is evaluated again inside its own
// transaction, exactly as an approval would evaluate it (Advance), so a timer never decides from
// what was true when the timer was set.
#include <fmt/format.h>

#include <algorithm>

#include "vouch/service/approvals.h"

namespace vouch::service {
namespace {

// A request whose version is not yet in the stage its policy's wait names has no end of the wait
// to wait for: it is looked at again this often, so that a version moved into that stage by a
// change that does not evaluate the request (a direct move into an ungated stage) starts its wait.
constexpr TimeMs kRecheckMs = 60'000;

}  // namespace

std::optional<TimeMs> ApprovalService::NextTimer(const store::ApprovalRequest& r,
                                                 const policy::Policy& p,
                                                 const policy::Evaluation& eval, TimeMs now) {
  if (r.state != store::RequestState::kOpen) return std::nullopt;
  std::optional<TimeMs> next;
  auto consider = [&](TimeMs at) {
    if (at > now && (!next || at < *next)) next = at;
  };
  if (eval.request_expires_ms && !eval.satisfied) consider(*eval.request_expires_ms);
  if (eval.wait && !eval.wait->met) {
    consider(eval.wait->ready_ms ? *eval.wait->ready_ms : now + kRecheckMs);
  }
  if (std::optional<TimeMs> reminder = NextReminder(r, p, now)) consider(*reminder);
  return next;
}

Result<TimerRun> ApprovalService::RunTimers(const RequestContext& ctx,
                                            const std::function<Status(store::Tx&)>& guard,
                                            int limit) {
  TimerRun run;
  std::vector<int64_t> due;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(due, tx.DueRequests(ctx.Now(), std::max(limit, 1)));
    return OkStatus();
  }));
  for (int64_t id : due) {
    std::optional<TimeMs> next;
    store::RequestState after = store::RequestState::kOpen;
    bool evaluated = false;
    Status applied = executor_.Apply(ctx, [&](Change& change) -> Status {
      store::Tx& tx = change.tx();
      next.reset();
      after = store::RequestState::kOpen;
      evaluated = false;
      VOUCH_TRY(guard(tx));
      VOUCH_ASSIGN_OR_RETURN(std::optional<TimerStep> step, AdvanceOnTimer(change, id));
      evaluated = true;
      // Closed meanwhile (the due list is read outside this transaction), or no policy governs
      // its target any more: no timer can act on it.
      if (!step) return change.Unchanged();
      after = step->state;
      next = step->next;
      if (change.events().empty()) return change.Unchanged();
      return OkStatus();
    });
    if (!applied.ok()) {
      return Status(applied.code(), fmt::format("request {}'s timer: {}", id, applied.message()));
    }
    ++run.examined;
    if (after == store::RequestState::kExpired) ++run.expired;
    if (after == store::RequestState::kApproved) ++run.approved;
    if (after == store::RequestState::kApplied) {
      ++run.approved;
      ++run.applied;
    }
    // Nothing changed, so the transaction (and the timer Advance wrote in it) was rolled back:
    // the next timer is kept as bookkeeping, a hint the next evaluation checks again.
    if (evaluated && after == store::RequestState::kOpen) {
      VOUCH_TRY(executor_.Bookkeep(
          [&](store::Tx& tx) -> Status { return tx.SetRequestTimer(id, next); }));
    }
  }
  return run;
}

}  // namespace vouch::service

// ApprovalService's reminders (approvals.h, "Timers"; issue 13): under a policy with
// `remind_every`, the leader's timer job records request.reminder for an open request each period
// after it was opened (or after its last reminder), naming in the outbox extras who can still
// approve each unmet rule — the same `recipients` as request.opened — so that the e-mail channel
// can mail them. The request's timer includes its next reminder (NextTimer), so the timer job that
// expires requests and ends waits wakes it; the reminder is decided inside the same transaction
// that evaluates the request again (AdvanceOnTimer), after anything that closes it.
#include "vouch/service/approvals.h"

namespace vouch::service {
namespace {

// Where the periods count from: the last reminder, or the opening.
TimeMs ReminderBase(const store::ApprovalRequest& r) {
  return r.reminded_ms.value_or(r.created_ms);
}

}  // namespace

bool ApprovalService::ReminderDue(const store::ApprovalRequest& r, const policy::Policy& p,
                                  TimeMs now) {
  if (r.state != store::RequestState::kOpen || !p.remind_every_ms || *p.remind_every_ms <= 0) {
    return false;
  }
  return ReminderBase(r) + *p.remind_every_ms <= now;
}

std::optional<TimeMs> ApprovalService::NextReminder(const store::ApprovalRequest& r,
                                                    const policy::Policy& p, TimeMs now) {
  if (r.state != store::RequestState::kOpen || !p.remind_every_ms || *p.remind_every_ms <= 0) {
    return std::nullopt;
  }
  const TimeMs period = *p.remind_every_ms;
  const TimeMs base = ReminderBase(r);
  TimeMs at = base + period;
  // One that came while nothing was to be reminded of (every rule met, a check awaited), or that
  // is due now and being recorded: the next whole period after now.
  if (at <= now) at = base + period * ((now - base) / period + 1);
  return at;
}

Status ApprovalService::Remind(Change& change, store::ApprovalRequest& r, const policy::Policy& p,
                               const policy::Evaluation& eval, AuditEvent e,
                               json::array recipients) {
  // Nobody to remind: every approval rule is met and the request waits on something else.
  if (recipients.empty()) return OkStatus();
  const TimeMs now = change.ctx().Now();
  store::Tx& tx = change.tx();
  VOUCH_TRY(tx.SetRequestReminded(r.id, now));
  // What changed is when it was last reminded of (null: never).
  e.before = {{"reminded", r.reminded_ms ? json::value(FormatRfc3339Ms(*r.reminded_ms))
                                         : json::value(nullptr)}};
  e.after = {{"reminded", FormatRfc3339Ms(now)}};
  r.reminded_ms = now;
  e.outbox_extra["recipients"] = std::move(recipients);
  VOUCH_TRY(change.Record(std::move(e)));
  return tx.SetRequestTimer(r.id, NextTimer(r, p, eval, now));
}

}  // namespace vouch::service

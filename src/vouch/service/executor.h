// The mutation executor: the one way the service changes state.
//
// Every change runs through Apply (or, for a write whose only content is its audit record, such as
// a refused request, RecordOnly): one store transaction holding the change and the audit events it
// records through `Change::Record`. A change must either record at least one event or declare
// itself unchanged (`Change::Unchanged`); a change that does neither is refused with INTERNAL and
// rolled back, so no state can change without the log saying so. An unchanged change is rolled
// back as well (whatever it wrote goes with it) and returns OK.
//
// Hooks are registered at wiring, before the first change:
//   - pre-commit hooks run inside the transaction of every change applied through Apply, after the
//     change recorded its events and before the commit, with the change's RequestContext; a hook
//     that fails fails the change, and nothing of it remains (idempotency records are marked
//     applied here). They do not run for RecordOnly, nor for an unchanged change.
//   - post-commit hooks run after the commit is durable, with the committed events (sequence
//     numbers assigned), for Apply and RecordOnly alike: cache invalidation today; waking webhook
//     delivery and long-poll waiters next. They cannot fail the change, which has committed.
//
// Thread-safe once wired: Apply, RecordOnly and Bookkeep may run concurrently; the hooks must be
// thread-safe themselves.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "vouch/audit/actions.h"
#include "vouch/domain/audit_event.h"
#include "vouch/domain/principal.h"
#include "vouch/store/store.h"

namespace vouch::service {

// One change in progress: its transaction, its request and the events it has recorded. Lives for
// one attempt of one transaction; used by one thread.
class Change {
 public:
  Change(store::Tx& tx, const RequestContext& ctx) : tx_(tx), ctx_(ctx) {}
  Change(const Change&) = delete;
  Change& operator=(const Change&) = delete;

  store::Tx& tx() const { return tx_; }
  const RequestContext& ctx() const { return ctx_; }

  // Appends `event` to the audit log in this change's transaction, stamped with the request's
  // time and the next sequence number (audit::Append). INVALID_ARGUMENT when the event cannot be
  // put in canonical form.
  Status Record(AuditEvent event);
  // Declares that the call changes nothing (a tag that was not set, a rename to the same name):
  // the transaction is rolled back and the call returns OK without an event. Returns OK, for
  // `return change.Unchanged();`.
  Status Unchanged();

  const std::vector<AuditEvent>& events() const { return events_; }
  bool unchanged() const { return unchanged_; }
  std::vector<AuditEvent> TakeEvents() { return std::move(events_); }

 private:
  store::Tx& tx_;
  const RequestContext& ctx_;
  std::vector<AuditEvent> events_;
  bool unchanged_ = false;
};

class MutationExecutor {
 public:
  using PreCommitHook = std::function<Status(store::Tx&, const RequestContext&)>;
  using PostCommitHook =
      std::function<void(const RequestContext&, std::span<const AuditEvent> committed)>;

  explicit MutationExecutor(store::Store& store) : store_(store) {}
  MutationExecutor(const MutationExecutor&) = delete;
  MutationExecutor& operator=(const MutationExecutor&) = delete;

  // Wiring; not thread-safe with changes running.
  void AddPreCommitHook(PreCommitHook hook) { pre_commit_.push_back(std::move(hook)); }
  void AddPostCommitHook(PostCommitHook hook) { post_commit_.push_back(std::move(hook)); }

  // Runs `fn` as one change of state (see the file comment). Returns fn's error, a pre-commit
  // hook's error, INTERNAL when the change recorded no event and did not declare itself
  // unchanged, or the store's error (UNAVAILABLE when the commit failed); in each case nothing of
  // the change remains. `fn` may run more than once when the store retries the transaction.
  Status Apply(const RequestContext& ctx, const std::function<Status(Change&)>& fn);

  // A write whose content is its audit record (a refused request, aggregated denials): as Apply,
  // but without the pre-commit hooks, since no request's change is applied.
  Status RecordOnly(const RequestContext& ctx, const std::function<Status(Change&)>& fn);

  // A write that is not a change of state the audit log covers: no event, no hooks. Keep its uses
  // few and named: a token's last-use stamp (auth_service.cc) and Idempotency-Key claims
  // (idempotency.cc: claim, complete, prune), a request's next timer after a timer run that
  // changed nothing (approvals_timers.cc), webhook delivery's ledger (webhook_delivery.cc:
  // fan-out of audited events into deliveries, claims, attempts and their outcomes), and the audit
  // log's signed checkpoints (checkpoints.cc: a checkpoint vouches for the log; recording it in
  // the log would grow the tree it signs, so an idle log would never stop making them), and the
  // witnesses' cosignatures of them (witnesses.cc, for the same reason).
  Status Bookkeep(const std::function<Status(store::Tx&)>& fn);

  store::Store& store() const { return store_; }

 private:
  Status Run(const RequestContext& ctx, const std::function<Status(Change&)>& fn,
             bool pre_commit_hooks);

  store::Store& store_;
  std::vector<PreCommitHook> pre_commit_;
  std::vector<PostCommitHook> post_commit_;
};

}  // namespace vouch::service

#include "vouch/service/executor.h"

#include <fmt/format.h>

#include <optional>

#include "vouch/audit/audit_log.h"

namespace vouch::service {
namespace {

// What an unchanged change returns to the store, so that the store rolls it back; the executor
// turns it into OK. CANCELLED, which no store retries or counts as a fault.
constexpr std::string_view kUnchangedMessage = "vouch: the change declared itself unchanged";

bool IsUnchangedMarker(const Status& s) {
  return s.code() == StatusCode::kCancelled && s.message() == kUnchangedMessage;
}

}  // namespace

Status Change::Record(AuditEvent event) {
  // Only the catalogue's actions, each with its own kind of target, reach the log.
  std::optional<audit::Action> action = audit::FindAction(event.action);
  if (!action) {
    return Internal(fmt::format("audit action {} is not in the catalogue", event.action));
  }
  const json::value* type = event.target.if_contains("type");
  const std::string_view want = audit::TargetKindName(audit::Describe(*action).target);
  if (type == nullptr || !type->is_string() || type->get_string() != want) {
    return Internal(fmt::format("audit action {} targets a {}", event.action, want));
  }
  VOUCH_TRY(audit::Append(tx_, event, ctx_.Now()).status());
  events_.push_back(std::move(event));
  return OkStatus();
}

Status Change::Unchanged() {
  unchanged_ = true;
  return OkStatus();
}

Status MutationExecutor::Apply(const RequestContext& ctx,
                               const std::function<Status(Change&)>& fn) {
  return Run(ctx, fn, /*pre_commit_hooks=*/true);
}

Status MutationExecutor::RecordOnly(const RequestContext& ctx,
                                    const std::function<Status(Change&)>& fn) {
  return Run(ctx, fn, /*pre_commit_hooks=*/false);
}

Status MutationExecutor::Bookkeep(const std::function<Status(store::Tx&)>& fn) {
  return store_.Write(fn);
}

Status MutationExecutor::Run(const RequestContext& ctx, const std::function<Status(Change&)>& fn,
                             bool pre_commit_hooks) {
  // The last attempt's events: the store may run the function again (a retried transaction).
  std::vector<AuditEvent> committed;
  bool unchanged = false;
  Status s = store_.Write([&](store::Tx& tx) -> Status {
    Change change(tx, ctx);
    committed.clear();
    unchanged = false;
    VOUCH_TRY(fn(change));
    if (change.unchanged()) {
      if (!change.events().empty()) {
        return Internal("a change declared itself unchanged after recording audit events");
      }
      unchanged = true;
      return Status(StatusCode::kCancelled, std::string(kUnchangedMessage));
    }
    if (change.events().empty()) {
      return Internal("a change recorded no audit event; nothing was committed");
    }
    if (pre_commit_hooks) {
      for (const PreCommitHook& hook : pre_commit_) VOUCH_TRY(hook(tx, ctx));
    }
    committed = change.TakeEvents();
    return OkStatus();
  });
  if (unchanged && IsUnchangedMarker(s)) return OkStatus();
  if (!s.ok()) return s;
  for (const PostCommitHook& hook : post_commit_) hook(ctx, committed);
  return OkStatus();
}

}  // namespace vouch::service

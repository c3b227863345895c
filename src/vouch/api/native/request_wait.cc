#include "vouch/api/native/request_wait.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/util/json.h"

namespace vouch::api::native {
namespace {

constexpr int64_t kMaxTimeoutS = 25;
// The deferral's own deadline (504) is a backstop only: the waiter answers 200 at its timeout.
constexpr std::chrono::seconds kDeadlineSlack{10};

// Whether the client should be told now: the request left the state it saw, or changed after it.
bool Changed(const store::ApprovalRequest& r, std::string_view seen_state,
             const std::optional<int64_t>& seen_updated_ms) {
  if (store::RequestStateName(r.state) != seen_state) return true;
  return seen_updated_ms && r.updated_ms > *seen_updated_ms;
}

}  // namespace

RequestWaiters::RequestWaiters(service::ApprovalService& approvals, store::Store& store,
                               WaitOptions options)
    : approvals_(approvals), store_(store), options_(options) {}

RequestWaiters::~RequestWaiters() { Stop(); }

void RequestWaiters::RegisterRoute(Router& router) {
  router.Add("GET", fmt::format("{}/requests/{{id}}/wait", kPrefix), Access::kAuthenticated,
             Door::kNative, [this](const Call& c) { return Wait(c); });
}

Result<HttpResponse> RequestWaiters::Wait(const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, ParseInt("request id", c.path.at("id")));
  int64_t timeout_s = kMaxTimeoutS;
  if (const std::string* t = c.query.First("timeout")) {
    VOUCH_ASSIGN_OR_RETURN(timeout_s, ParseInt("timeout", *t));
    if (timeout_s < 1 || timeout_s > kMaxTimeoutS) {
      return InvalidArgument(
          fmt::format("timeout is a whole number of seconds from 1 to {}", kMaxTimeoutS));
    }
  }
  std::string seen_state = "open";
  if (const std::string* s = c.query.First("state")) {
    VOUCH_ASSIGN_OR_RETURN(store::RequestState parsed, store::ParseRequestState(*s));
    seen_state = std::string(store::RequestStateName(parsed));
  }
  std::optional<int64_t> seen_updated_ms;
  if (const std::string* s = c.query.First("since")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t since, ParseInt("since", *s));
    if (since < 0) return InvalidArgument("since is a timestamp in milliseconds, not negative");
    seen_updated_ms = since;
  }
  // Reading it first also checks that the caller may read it (404/403 at once).
  VOUCH_ASSIGN_OR_RETURN(service::RequestView view, approvals_.ShowRequest(c.ctx, id));
  if (Changed(view.request, seen_state, seen_updated_ms)) return Ok(RequestViewJson(view));

  auto [parked, responder] = Defer(std::chrono::seconds(timeout_s) + kDeadlineSlack);
  auto w = std::make_shared<Waiter>();
  w->request_id = id;
  w->ctx = c.ctx;
  w->seen_state = std::move(seen_state);
  w->seen_updated_ms = seen_updated_ms;
  w->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  w->responder = responder;
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return Unavailable("the server is not taking waiters now");
    if (waiters_.size() >= options_.max_waiters) {
      return Unavailable(fmt::format(
          "this server holds {} waiters already, its limit: wait again shortly", waiters_.size()));
    }
    w->id = next_id_++;
    waiters_.emplace(w->id, w);
    by_request_.emplace(id, w->id);
    deadlines_.emplace(w->deadline, w->id);
    // A change committed between the read above and now woke nobody: look once more.
    dirty_.insert(id);
  }
  cv_.notify_one();
  // At once (on this thread) when the client is already gone: then the waiter goes at once.
  responder.OnCancel([this, waiter_id = w->id] { Remove(waiter_id); });
  return std::move(parked);
}

void RequestWaiters::Remove(int64_t waiter_id) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(waiter_id);
  if (it == waiters_.end()) return;
  const Waiter& w = *it->second;
  deadlines_.erase({w.deadline, w.id});
  auto [first, last] = by_request_.equal_range(w.request_id);
  for (auto i = first; i != last; ++i) {
    if (i->second == waiter_id) {
      by_request_.erase(i);
      break;
    }
  }
  waiters_.erase(it);
}

void RequestWaiters::Wake(const std::set<int64_t>& request_ids) {
  bool any = false;
  {
    std::lock_guard lock(mu_);
    for (int64_t id : request_ids) {
      if (by_request_.contains(id)) {
        dirty_.insert(id);
        any = true;
      }
    }
  }
  if (any) cv_.notify_one();
}

void RequestWaiters::OnCommitted(std::span<const AuditEvent> committed) {
  std::set<int64_t> ids;
  for (const AuditEvent& e : committed) {
    const json::value* request = e.target.if_contains("request");
    if (request != nullptr && request->is_int64()) ids.insert(request->as_int64());
  }
  if (!ids.empty()) Wake(ids);
}

void RequestWaiters::Poll() {
  std::lock_guard poll_lock(poll_mu_);
  std::vector<store::StoredAuditEvent> events;
  int64_t head = 0;
  bool any_waiter = held() > 0;
  Status read = store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
    if (any_waiter && last_seq_ >= 0 && head > last_seq_) {
      VOUCH_ASSIGN_OR_RETURN(
          events, tx.ListAuditEvents({.after_seq = last_seq_, .limit = options_.poll_batch}));
    }
    return OkStatus();
  });
  if (!read.ok()) {
    spdlog::warn("request waiters: reading the audit log's head: {}", read.ToString());
    return;
  }
  const bool moved = last_seq_ >= 0 && head > last_seq_;
  last_seq_ = head;
  if (!moved || !any_waiter) return;
  std::set<int64_t> ids;
  if (events.empty() || events.back().seq < head) {
    // More than one batch since the last poll: look at every waiter again.
    std::lock_guard lock(mu_);
    for (const auto& [request, waiter] : by_request_) ids.insert(request);
  }
  for (const store::StoredAuditEvent& stored : events) {
    Result<json::value> body = ParseJson(stored.body);
    if (!body.ok() || !body->is_object()) continue;
    const json::value* target = body->as_object().if_contains("target");
    if (target == nullptr || !target->is_object()) continue;
    const json::value* request = target->as_object().if_contains("request");
    if (request != nullptr && request->is_int64()) ids.insert(request->as_int64());
  }
  if (!ids.empty()) Wake(ids);
}

size_t RequestWaiters::held() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void RequestWaiters::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  Poll();  // the head to start from
  thread_ = std::thread([this] { Loop(); });
}

void RequestWaiters::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RequestWaiters::Check(const Waiter& w, bool timed_out) {
  if (w.responder.cancelled()) return true;
  Result<service::RequestView> view = approvals_.ShowRequest(w.ctx, w.request_id);
  if (!view.ok()) {
    // Deleted meanwhile, or the caller lost READ: the answer a new wait would get.
    w.responder.Respond(view.status());
    return true;
  }
  if (!timed_out && !Changed(view->request, w.seen_state, w.seen_updated_ms)) return false;
  w.responder.Respond(Ok(RequestViewJson(*view)));
  return true;
}

void RequestWaiters::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Waiter>> timed_out, woken;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      int64_t id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = waiters_.find(id);
      if (it == waiters_.end()) continue;
      timed_out.push_back(it->second);
      auto [first, last] = by_request_.equal_range(it->second->request_id);
      for (auto i = first; i != last; ++i) {
        if (i->second == id) {
          by_request_.erase(i);
          break;
        }
      }
      waiters_.erase(it);
    }
    for (int64_t request : dirty_) {
      auto [first, last] = by_request_.equal_range(request);
      for (auto i = first; i != last; ++i) woken.push_back(waiters_.at(i->second));
    }
    dirty_.clear();
    if (timed_out.empty() && woken.empty()) {
      if (deadlines_.empty()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, deadlines_.begin()->first);
      }
      continue;
    }
    lock.unlock();
    for (const auto& w : timed_out) Check(*w, true);
    std::vector<int64_t> answered;
    for (const auto& w : woken) {
      if (Check(*w, false)) answered.push_back(w->id);
    }
    for (int64_t id : answered) Remove(id);
    lock.lock();
  }
}

}  // namespace vouch::api::native

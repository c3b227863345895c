// `GET /api/v1/requests/{id}/wait`: the long poll a CI pipeline waits on (`vouch requests wait`).
//
// The route answers at once when the request is not in the state the client last saw (`state`,
// default `open`) or changed after the time it last saw (`since`, its last_updated_timestamp);
// otherwise it parks the HTTP request as a deferred response (api/deferred.h: no worker thread is
// held) for at most `timeout` seconds (1..25, default 25). A parked waiter is looked at again
//   - when a change committed on this server touched its request (the executor's post-commit
//     hook, OnCommitted), and
//   - when the audit log grew through another server sharing the database (Poll, which the App
//     runs every second: one read of the log's head, and of the new events only when it moved),
// and answered with the request as GET /requests/{id} shows it once it changed; when its timeout
// passes it is answered 200 with the unchanged request, and when the server drains, 503 (the
// deferral's own answer). At most `max_waiters` are held at once; beyond that 503 UNAVAILABLE.
//
// One thread of its own re-reads the requests of woken waiters and answers timeouts. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "vouch/api/deferred.h"
#include "vouch/api/router.h"
#include "vouch/domain/audit_event.h"
#include "vouch/service/approvals.h"
#include "vouch/store/store.h"

namespace vouch::api::native {

struct WaitOptions {
  size_t max_waiters = 10'000;
  // How many new audit events Poll reads at most; beyond that every waiter is looked at again.
  int poll_batch = 1000;
};

class RequestWaiters {
 public:
  RequestWaiters(service::ApprovalService& approvals, store::Store& store,
                 WaitOptions options = {});
  ~RequestWaiters();  // Stop()
  RequestWaiters(const RequestWaiters&) = delete;
  RequestWaiters& operator=(const RequestWaiters&) = delete;

  // Registers GET /api/v1/requests/{id}/wait.
  void RegisterRoute(Router& router);

  // Starts the thread (reads the log's head first, so that Poll sees only what comes after).
  void Start();
  // Stops the thread; waiters still held are left to the server's drain (503). Idempotent.
  void Stop();

  // The executor's post-commit hook: wakes the waiters of every request the events name.
  void OnCommitted(std::span<const AuditEvent> committed);
  // Changes made by other servers: wakes the waiters of the requests the new events name.
  void Poll();

  // Waiters held now (tests, /metrics).
  size_t held() const;

 private:
  struct Waiter {
    int64_t id = 0;  // the waiter's own
    int64_t request_id = 0;
    RequestContext ctx;
    std::string seen_state;
    std::optional<int64_t> seen_updated_ms;
    std::chrono::steady_clock::time_point deadline;
    Responder responder;
  };

  Result<HttpResponse> Wait(const Call& c);
  void Wake(const std::set<int64_t>& request_ids);
  void Remove(int64_t waiter_id);
  void Loop();
  // Re-reads the waiter's request; answers when it changed or `timed_out`. True when answered.
  bool Check(const Waiter& w, bool timed_out);

  service::ApprovalService& approvals_;
  store::Store& store_;
  const WaitOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::shared_ptr<Waiter>> waiters_;  // guarded by mu_: by waiter id
  std::multimap<int64_t, int64_t> by_request_;          // guarded by mu_: request id -> waiter id
  std::set<std::pair<std::chrono::steady_clock::time_point, int64_t>> deadlines_;  // mu_
  std::set<int64_t> dirty_;  // guarded by mu_: requests whose waiters are to be looked at
  int64_t next_id_ = 1;      // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  bool started_ = false;     // guarded by mu_
  std::mutex poll_mu_;       // one Poll at a time
  int64_t last_seq_ = -1;    // guarded by poll_mu_: the log's head at the last Poll
  std::thread thread_;
};

}  // namespace vouch::api::native

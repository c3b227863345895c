// One server's side of the leader lease: with several servers on one PostgreSQL database, exactly
// one leads at a time and runs the singleton jobs (README.md says which jobs those are).
//
// A thread polls the store's LeaseClaim (store/lease.h) every poll_ms: a server that does not hold
// the lease tries to take it, the holder confirms it still does. Two guards keep two servers from
// leading at once even when the database restarts between polls (the old holder's session, and its
// lock, are gone, but it has not noticed yet):
//  - a holder leads only while its last confirmation is younger than valid_ms;
//  - a server that has just taken the lease waits settle_ms (more than valid_ms) before it leads.
// A new holder can take the lock only after the old holder's session died, which is after the old
// holder's last confirmation began; so the old one stops leading (valid_ms after that) before the
// new one starts (settle_ms after taking it), on the one steady clock of a machine.
// And a paused former holder that wakes up with stale state still cannot act: RunSingleton checks
// the epoch inside the job's own transaction. Leading is logged when it starts and ends.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "vouch/store/lease.h"
#include "vouch/store/store.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::app {

struct LeaderOptions {
  std::string name = "leader";  // the lease, a row of `leases`
  TimeMs poll_ms = 1000;
  TimeMs valid_ms = 2500;  // a holder leads this long after its last confirmation
  // A new holder waits this long before it leads; not on a store one server has to itself
  // (LeaseClaim::shared), which nobody else can have held.
  TimeMs settle_ms = 3500;
};

// A clock for intervals: steady, never set back. (Wall time may jump; the lease's guards compare
// instants on one server only.)
class SteadyClock final : public Clock {
 public:
  TimeMs NowMs() const override;
};

class Leader {
 public:
  // `clock` measures the guards' intervals (a SteadyClock in a server; a FakeClock in tests).
  // `holder` names this server in logs and in the `leases` row.
  Leader(store::Store& store, const Clock& clock, std::string holder, LeaderOptions options = {});
  ~Leader();  // Stop()
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;

  // Starts the polling thread (its first poll at once). Once only.
  void Start();
  // Stops polling and gives the lease up. Idempotent.
  void Stop();
  // One poll, on the calling thread (the thread's work; tests call it directly).
  void Poll();

  // Whether this server leads now (see the guards above).
  bool IsLeader() const;
  // The epoch of this server's tenure while it leads.
  std::optional<int64_t> epoch() const;

  // Runs `fn` in a write transaction, having checked in that transaction that the lease's epoch is
  // still this server's. FAILED_PRECONDITION when this server does not lead (nothing runs);
  // ABORTED when the epoch moved (another server took the lease; nothing `fn` wrote remains);
  // otherwise what the transaction returns.
  Status RunSingleton(std::string_view job, const std::function<Status(store::Tx&)>& fn);
  // The check RunSingleton makes first, for a job that runs its own transactions (the request
  // timers: one executor transaction per request): OK when the lease's epoch read in `tx` is
  // still `mine` (an epoch() this server read while leading), else ABORTED as above.
  Status CheckEpoch(store::Tx& tx, std::string_view job, int64_t mine) const;

  const std::string& name() const { return options_.name; }

 private:
  bool LeadsLocked(TimeMs now) const;
  void Loop();

  store::Store& store_;
  const Clock& clock_;
  const std::string holder_;
  const LeaderOptions options_;

  std::mutex poll_mu_;                        // one Poll at a time (the claim is single-threaded)
  std::unique_ptr<store::LeaseClaim> claim_;  // guarded by poll_mu_
  const TimeMs settle_ms_;                    // options_.settle_ms, or 0 for an unshared claim

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<int64_t> epoch_;  // guarded by mu_: set while held
  TimeMs taken_ms_ = 0;           // guarded by mu_: when this tenure began
  TimeMs confirmed_ms_ = 0;       // guarded by mu_: when the last poll that found it held began
  bool leading_logged_ = false;   // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::thread thread_;
};

}  // namespace vouch::app

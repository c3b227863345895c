// How many webhook deliveries a server may make per second while it is answering requests (issue
// 13's burst bar): a token bucket of `rate` deliveries a second holding at most `burst`, so that a
// burst of events is delivered at a bounded pace, and takes a bounded share of the CPU, while
// requests are being served, yet a single event (or a few) goes at once. When the server has
// answered no request for `quiet_ms`, there is no bound: the bucket is full and stays full.
//
// "Answering requests" is read from a probe that counts the requests handled so far (the App's);
// without a probe, or with rate 0, nothing is bounded. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "vouch/util/time.h"

namespace vouch::service {

struct DeliveryBudgetOptions {
  double rate = 100;       // deliveries a second while busy; 0: no bound
  double burst = 50;       // the most that may go at once (at least 1)
  TimeMs quiet_ms = 1000;  // no request for this long: not busy
};

class DeliveryBudget {
 public:
  // Counts the requests handled so far (only ever grows).
  using LoadProbe = std::function<uint64_t()>;

  DeliveryBudget(const Clock& clock, DeliveryBudgetOptions options);

  void SetLoadProbe(LoadProbe probe);  // before use

  // Takes one delivery's token; false when none is left (wait WaitMs(), then try again).
  bool TryTake();
  // Gives back a token taken for a delivery that was not made.
  void GiveBack();
  // How long until a token is there (0: now).
  TimeMs WaitMs();

 private:
  // Refills the bucket up to now; guarded by mu_.
  void Refill(TimeMs now);

  const Clock& clock_;
  const DeliveryBudgetOptions options_;
  LoadProbe probe_;

  std::mutex mu_;
  double tokens_;               // guarded by mu_
  TimeMs refilled_ms_ = 0;      // guarded by mu_
  uint64_t seen_requests_ = 0;  // guarded by mu_
  TimeMs busy_until_ms_ = 0;    // guarded by mu_
};

}  // namespace vouch::service

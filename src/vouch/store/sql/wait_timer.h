// Adds the time from construction to Stop() (or destruction) to a counter, when there is one: how
// long a statement waited for a lock (LockWaits, sql_tx.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vouch::store::sql {

class WaitTimer {
 public:
  explicit WaitTimer(std::atomic<int64_t>* counter)
      : counter_(counter), started_(std::chrono::steady_clock::now()) {}
  ~WaitTimer() { Stop(); }
  WaitTimer(const WaitTimer&) = delete;
  WaitTimer& operator=(const WaitTimer&) = delete;
  void Stop() {
    if (counter_ == nullptr) return;
    *counter_ += std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started_)
                     .count();
    counter_ = nullptr;
  }

 private:
  std::atomic<int64_t>* counter_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace vouch::store::sql

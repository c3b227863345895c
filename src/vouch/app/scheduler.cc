#include "vouch/app/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace vouch::app {

Scheduler::Scheduler(const Clock& clock, TimeMs max_wait_ms)
    : clock_(clock), max_wait_ms_(std::max<TimeMs>(1, max_wait_ms)) {}

Scheduler::~Scheduler() { Stop(); }

JobId Scheduler::Every(std::string name, TimeMs period_ms, std::function<void()> job) {
  period_ms = std::max<TimeMs>(1, period_ms);
  return Add({.name = std::move(name),
              .due_ms = clock_.NowMs() + period_ms,
              .period_ms = period_ms,
              .run = std::move(job)});
}

JobId Scheduler::After(std::string name, TimeMs delay_ms, std::function<void()> job) {
  return Add({.name = std::move(name),
              .due_ms = clock_.NowMs() + std::max<TimeMs>(0, delay_ms),
              .period_ms = 0,
              .run = std::move(job)});
}

JobId Scheduler::Add(Job job) {
  JobId id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    jobs_.emplace(id, std::move(job));
    woken_ = true;
  }
  cv_.notify_all();
  return id;
}

bool Scheduler::Cancel(JobId id) {
  std::lock_guard lock(mu_);
  if (jobs_.erase(id) > 0) return true;
  return running_.contains(id) && cancelled_.insert(id).second;
}

int Scheduler::RunDue() {
  int ran = 0;
  // Each pass takes the earliest due job out of jobs_ (so Cancel cannot find it while it runs),
  // runs it unlocked, then puts a periodic one back unless Stop() or Cancel() came meanwhile.
  for (;;) {
    std::unique_lock lock(mu_);
    if (stopping_) return ran;
    const TimeMs now = clock_.NowMs();
    auto next = std::min_element(jobs_.begin(), jobs_.end(), [](const auto& a, const auto& b) {
      return a.second.due_ms != b.second.due_ms ? a.second.due_ms < b.second.due_ms
                                                : a.first < b.first;
    });
    if (next == jobs_.end() || next->second.due_ms > now) return ran;
    const JobId id = next->first;
    Job job = std::move(next->second);
    jobs_.erase(next);
    running_.insert(id);
    lock.unlock();
    try {
      job.run();
    } catch (const std::exception& e) {  // a bug in a job must not take the thread down
      spdlog::error("scheduled job {} threw: {}", job.name, e.what());
    } catch (...) {
      spdlog::error("scheduled job {} threw", job.name);
    }
    ++ran;
    lock.lock();
    running_.erase(id);
    const bool cancelled = cancelled_.erase(id) > 0;
    if (job.period_ms > 0 && !stopping_ && !cancelled) {
      job.due_ms += job.period_ms;
      if (const TimeMs after = clock_.NowMs(); job.due_ms <= after) {
        job.due_ms = after + job.period_ms;
      }
      jobs_.emplace(id, std::move(job));
    }
    lock.unlock();
    cv_.notify_all();
  }
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::Loop() {
  for (;;) {
    RunDue();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (woken_) {
      woken_ = false;
      continue;
    }
    TimeMs wait = max_wait_ms_;
    const TimeMs now = clock_.NowMs();
    for (const auto& [id, job] : jobs_)
      wait = std::min(wait, std::max<TimeMs>(0, job.due_ms - now));
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void Scheduler::Stop() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  jobs_.clear();
  cv_.notify_all();
  // Runs started by RunDue() on other threads finish before Stop() returns, as the thread's do.
  cv_.wait(lock, [this] { return running_.empty(); });
  std::thread thread = std::move(thread_);
  lock.unlock();
  if (thread.joinable()) thread.join();
}

size_t Scheduler::pending() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

}  // namespace vouch::app

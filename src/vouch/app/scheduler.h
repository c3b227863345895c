// Periodic and delayed jobs, run at times read from a Clock.
//
// Every(period) runs a job each `period` from now on; After(delay) runs one once. One thread
// (Start) runs the due jobs in turn, in due order, so a job need not be thread-safe against
// itself; a slow job delays the others, so jobs that may block long keep a thread of their own.
// Stop() lets no job start again and waits for the one running, which is how the server drains.
// Jobs report their own failures (they return nothing). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "vouch/util/time.h"

namespace vouch::app {

using JobId = int64_t;

class Scheduler {
 public:
  // `max_wait_ms`: how long the thread sleeps at most before it reads the clock again (a
  // FakeClock moved by a test is noticed then, or at once after Wake()).
  explicit Scheduler(const Clock& clock, TimeMs max_wait_ms = 1000);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `job` every `period_ms` (at least 1), the first time one period from now. A run that
  // falls behind is not repeated to catch up: the next is one period after it.
  JobId Every(std::string name, TimeMs period_ms, std::function<void()> job);
  // Runs `job` once, `delay_ms` from now (0 or less: as soon as the thread looks).
  JobId After(std::string name, TimeMs delay_ms, std::function<void()> job);
  // The job does not start again; a run in progress finishes. False when no such job is waiting
  // or running (a one-shot that ran already, one cancelled, or none such).
  bool Cancel(JobId id);

  // Runs every job due at the clock's now, in due order, on the calling thread; returns how many
  // runs started. Start()'s thread calls it; tests with a FakeClock call it directly.
  int RunDue();
  // Starts the thread that runs jobs as they fall due. Once only.
  void Start();
  // Makes the thread read the clock again now.
  void Wake();
  // Starts no job from now on, waits for a running one to finish and joins the thread.
  // Idempotent; jobs still waiting never run. Not from inside a job (it would wait for itself).
  void Stop();

  // Jobs waiting to run (for tests and /metrics).
  size_t pending() const;

 private:
  struct Job {
    std::string name;
    TimeMs due_ms = 0;
    TimeMs period_ms = 0;  // 0: once
    std::function<void()> run;
  };
  JobId Add(Job job);
  void Loop();

  const Clock& clock_;
  const TimeMs max_wait_ms_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes the thread: a new job, Wake(), Stop(), a run finished
  std::map<JobId, Job> jobs_;   // guarded by mu_: waiting jobs (not the ones running)
  JobId next_id_ = 1;           // guarded by mu_
  std::set<JobId> running_;     // guarded by mu_: jobs running now
  std::set<JobId> cancelled_;   // guarded by mu_: running jobs cancelled meanwhile
  bool stopping_ = false;       // guarded by mu_
  bool woken_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace vouch::app

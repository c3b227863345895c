#include "vouch/app/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace vouch::app {
namespace {

TEST(Scheduler, PeriodicJobRunsOncePerPeriodAsTheClockMoves) {
  FakeClock clock(1'000'000);
  Scheduler scheduler(clock);
  int runs = 0;
  scheduler.Every("count", 1000, [&] { ++runs; });
  EXPECT_EQ(scheduler.RunDue(), 0);  // the first run is one period away
  clock.Advance(999);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.Advance(1);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(scheduler.RunDue(), 0);  // not again at the same instant
  clock.Advance(1000);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(scheduler.pending(), 1u);
}

TEST(Scheduler, PeriodicJobThatFellBehindRunsOnceNotOncePerMissedPeriod) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  int runs = 0;
  scheduler.Every("count", 1000, [&] { ++runs; });
  clock.Advance(10'500);
  EXPECT_EQ(scheduler.RunDue(), 1);
  clock.Advance(999);
  EXPECT_EQ(scheduler.RunDue(), 0);  // next one period after the late run
  clock.Advance(1);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(runs, 2);
}

TEST(Scheduler, DelayedJobRunsOnceAfterItsDelay) {
  FakeClock clock(5'000);
  Scheduler scheduler(clock);
  int runs = 0;
  scheduler.After("once", 2000, [&] { ++runs; });
  clock.Advance(1999);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.Advance(1);
  EXPECT_EQ(scheduler.RunDue(), 1);
  clock.Advance(10'000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(scheduler.pending(), 0u);
}

TEST(Scheduler, DueJobsRunInDueOrder) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  std::vector<std::string> order;
  scheduler.After("late", 300, [&] { order.push_back("late"); });
  scheduler.After("early", 100, [&] { order.push_back("early"); });
  scheduler.Every("middle", 200, [&] { order.push_back("middle"); });
  clock.Advance(300);
  EXPECT_EQ(scheduler.RunDue(), 3);
  EXPECT_EQ(order, (std::vector<std::string>{"early", "middle", "late"}));
}

TEST(Scheduler, CancelledJobsDoNotRun) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  int periodic = 0;
  int delayed = 0;
  JobId every = scheduler.Every("periodic", 100, [&] { ++periodic; });
  JobId after = scheduler.After("delayed", 100, [&] { ++delayed; });
  EXPECT_TRUE(scheduler.Cancel(every));
  EXPECT_TRUE(scheduler.Cancel(after));
  EXPECT_FALSE(scheduler.Cancel(after));  // already gone
  EXPECT_FALSE(scheduler.Cancel(12345));
  clock.Advance(1000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  EXPECT_EQ(periodic, 0);
  EXPECT_EQ(delayed, 0);
}

TEST(Scheduler, PeriodicJobCancelledWhileRunningDoesNotRunAgain) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  int runs = 0;
  JobId id = 0;
  bool cancelled = false;
  id = scheduler.Every("self-cancelling", 100, [&] {
    ++runs;
    cancelled = scheduler.Cancel(id);
  });
  clock.Advance(100);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_TRUE(cancelled);
  clock.Advance(1000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  EXPECT_EQ(runs, 1);
}

TEST(Scheduler, AJobThatThrowsDoesNotStopTheOthers) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  int runs = 0;
  scheduler.After("throws", 10, [] { throw std::runtime_error("bug"); });
  scheduler.After("fine", 20, [&] { ++runs; });
  clock.Advance(20);
  EXPECT_EQ(scheduler.RunDue(), 2);
  EXPECT_EQ(runs, 1);
}

TEST(Scheduler, ThreadRunsAJobThatIsDueWithoutBeingAsked) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  std::promise<void> ran;
  scheduler.Start();
  scheduler.After("now", 0, [&] { ran.set_value(); });
  ran.get_future().get();  // awaited: the thread runs it on its own
  scheduler.Stop();
}

TEST(Scheduler, ThreadNoticesTheFakeClockAfterWake) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  std::promise<void> ran;
  scheduler.Every("tick", 60'000, [&] { ran.set_value(); });
  scheduler.Start();
  clock.Advance(60'000);
  scheduler.Wake();
  ran.get_future().get();
  scheduler.Stop();
}

TEST(Scheduler, StopWaitsForTheRunningJobAndStartsNoOther) {
  FakeClock clock(0);
  Scheduler scheduler(clock);
  std::promise<void> started;
  std::promise<void> release;
  std::atomic<bool> finished = false;
  std::atomic<int> later_runs = 0;
  scheduler.After("slow", 0, [&] {
    started.set_value();
    release.get_future().wait();
    finished = true;
  });
  scheduler.After("later", 1000, [&] { ++later_runs; });
  scheduler.Start();
  started.get_future().get();
  std::future<void> stopped = std::async(std::launch::async, [&] { scheduler.Stop(); });
  // Stop() cannot return while the job is held; the job is let go only now.
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  release.set_value();
  stopped.get();
  EXPECT_TRUE(finished);
  EXPECT_EQ(later_runs, 0);
  EXPECT_EQ(scheduler.pending(), 0u);
  // Once stopped, nothing runs (not even what falls due), and stopping again is harmless.
  clock.Advance(1000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  scheduler.Stop();
}

}  // namespace
}  // namespace vouch::app

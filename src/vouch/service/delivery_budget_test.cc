#include "vouch/service/delivery_budget.h"

#include <gtest/gtest.h>

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

struct Busy {
  FakeClock clock{kT0};
  uint64_t requests = 0;
  DeliveryBudget budget{clock, {.rate = 10, .burst = 5, .quiet_ms = 1000}};
  Busy() {
    budget.SetLoadProbe([this] { return requests; });
  }
  int TakeAll() {
    int n = 0;
    while (n < 1000 && budget.TryTake()) ++n;
    return n;
  }
};

TEST(DeliveryBudget, WithoutALoadProbeNothingIsBounded) {
  FakeClock clock(kT0);
  DeliveryBudget budget(clock, {.rate = 10, .burst = 5});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budget.TryTake()) << i;
  EXPECT_EQ(budget.WaitMs(), 0);
}

TEST(DeliveryBudget, RateZeroBoundsNothingEvenWhileBusy) {
  FakeClock clock(kT0);
  uint64_t requests = 0;
  DeliveryBudget budget(clock, {.rate = 0, .burst = 5});
  budget.SetLoadProbe([&] { return ++requests; });
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(budget.TryTake()) << i;
}

TEST(DeliveryBudget, WhileRequestsAreServedABurstGoesAtOnceThenTheRate) {
  Busy b;
  b.requests = 1;
  EXPECT_EQ(b.TakeAll(), 5);  // the burst: a single event never waits
  EXPECT_EQ(b.budget.WaitMs(), 100);
  b.clock.Advance(99);
  b.requests++;
  EXPECT_FALSE(b.budget.TryTake());
  b.clock.Advance(1);
  b.requests++;
  EXPECT_EQ(b.TakeAll(), 1);  // 10 a second: one per 100 ms
  b.clock.Advance(300);
  b.requests++;
  EXPECT_EQ(b.TakeAll(), 3);
}

TEST(DeliveryBudget, TheBucketNeverHoldsMoreThanTheBurst) {
  Busy b;
  b.requests = 1;
  EXPECT_EQ(b.TakeAll(), 5);
  b.clock.Advance(900);  // 9 tokens' worth, still busy (the last request was 900 ms ago)
  EXPECT_EQ(b.TakeAll(), 5);
}

TEST(DeliveryBudget, AServerThatAnswersNoRequestIsNotBounded) {
  Busy b;
  b.requests = 1;
  EXPECT_EQ(b.TakeAll(), 5);
  b.clock.Advance(999);
  EXPECT_EQ(b.TakeAll(), 5) << "still busy, so bounded: the last request was 999 ms ago";
  b.clock.Advance(1);
  EXPECT_EQ(b.TakeAll(), 1000);  // quiet for 1 s: no bound
  EXPECT_EQ(b.budget.WaitMs(), 0);
}

TEST(DeliveryBudget, AGivenBackTokenCanBeTakenAgain) {
  Busy b;
  b.requests = 1;
  EXPECT_EQ(b.TakeAll(), 5);
  b.budget.GiveBack();
  EXPECT_TRUE(b.budget.TryTake());
  EXPECT_FALSE(b.budget.TryTake());
}

}  // namespace
}  // namespace vouch::service

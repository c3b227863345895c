#include "vouch/service/delivery_budget.h"

#include <algorithm>
#include <cmath>

namespace vouch::service {

DeliveryBudget::DeliveryBudget(const Clock& clock, DeliveryBudgetOptions options)
    : clock_(clock), options_(options), tokens_(std::max(options.burst, 1.0)) {
  refilled_ms_ = clock_.NowMs();
}

void DeliveryBudget::SetLoadProbe(LoadProbe probe) { probe_ = std::move(probe); }

void DeliveryBudget::Refill(TimeMs now) {
  const double full = std::max(options_.burst, 1.0);
  if (probe_) {
    const uint64_t handled = probe_();
    if (handled != seen_requests_) {
      seen_requests_ = handled;
      busy_until_ms_ = now + options_.quiet_ms;
    }
  }
  if (now >= busy_until_ms_) {
    tokens_ = full;  // quiet: no bound
  } else if (now > refilled_ms_) {
    tokens_ =
        std::min(full, tokens_ + static_cast<double>(now - refilled_ms_) * options_.rate / 1000.0);
  }
  refilled_ms_ = std::max(refilled_ms_, now);
}

bool DeliveryBudget::TryTake() {
  if (!probe_ || options_.rate <= 0) return true;
  std::lock_guard lock(mu_);
  Refill(clock_.NowMs());
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void DeliveryBudget::GiveBack() {
  if (!probe_ || options_.rate <= 0) return;
  std::lock_guard lock(mu_);
  tokens_ = std::min(std::max(options_.burst, 1.0), tokens_ + 1.0);
}

TimeMs DeliveryBudget::WaitMs() {
  if (!probe_ || options_.rate <= 0) return 0;
  std::lock_guard lock(mu_);
  Refill(clock_.NowMs());
  if (tokens_ >= 1.0) return 0;
  return std::max<TimeMs>(1,
                          static_cast<TimeMs>(std::ceil((1.0 - tokens_) * 1000.0 / options_.rate)));
}

}  // namespace vouch::service

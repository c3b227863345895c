#include "vouch/app/leader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace vouch::app {

TimeMs SteadyClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Leader::Leader(store::Store& store, const Clock& clock, std::string holder, LeaderOptions options)
    : store_(store),
      clock_(clock),
      holder_(std::move(holder)),
      options_(std::move(options)),
      claim_(store.ClaimLease(options_.name, holder_)),
      settle_ms_(claim_->shared() ? options_.settle_ms : 0) {}

Leader::~Leader() { Stop(); }

void Leader::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void Leader::Loop() {
  for (;;) {
    Poll();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
    if (stopping_) return;
  }
}

void Leader::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
  std::lock_guard poll_lock(poll_mu_);
  std::lock_guard lock(mu_);
  if (claim_ == nullptr) return;
  const bool was_leading = leading_logged_;
  claim_->Release();
  claim_.reset();
  epoch_.reset();
  leading_logged_ = false;
  if (was_leading) spdlog::info("leader lease '{}' released by {}", options_.name, holder_);
}

void Leader::Poll() {
  std::lock_guard poll_lock(poll_mu_);
  if (claim_ == nullptr) return;  // stopped
  // A confirmation proves the lease was held at some instant of the round trip: count it from
  // the start (the earliest). A new tenure counts from the end (the latest), so that the settle
  // time is never short.
  const TimeMs sent = clock_.NowMs();
  Result<std::optional<int64_t>> polled = claim_->Poll();
  const TimeMs now = clock_.NowMs();
  std::lock_guard lock(mu_);
  const bool was_leading = leading_logged_;
  if (!polled.ok() || !polled->has_value()) {
    epoch_.reset();
    leading_logged_ = false;
    if (was_leading) {
      spdlog::warn("leader lease '{}' lost by {}: {}", options_.name, holder_,
                   polled.ok() ? "another server holds it" : polled.status().ToString());
    }
    return;
  }
  if (epoch_ != **polled) {  // a new tenure
    epoch_ = **polled;
    taken_ms_ = now;
    leading_logged_ = false;
  }
  confirmed_ms_ = sent;
  if (!leading_logged_ && LeadsLocked(now)) {
    leading_logged_ = true;
    spdlog::info("leader lease '{}' acquired by {} (epoch {})", options_.name, holder_, *epoch_);
  }
}

bool Leader::LeadsLocked(TimeMs now) const {
  return epoch_.has_value() && now - taken_ms_ >= settle_ms_ &&
         now - confirmed_ms_ < options_.valid_ms;
}

bool Leader::IsLeader() const {
  const TimeMs now = clock_.NowMs();
  std::lock_guard lock(mu_);
  return LeadsLocked(now);
}

std::optional<int64_t> Leader::epoch() const {
  const TimeMs now = clock_.NowMs();
  std::lock_guard lock(mu_);
  return LeadsLocked(now) ? epoch_ : std::nullopt;
}

Status Leader::RunSingleton(std::string_view job, const std::function<Status(store::Tx&)>& fn) {
  std::optional<int64_t> mine = epoch();
  if (!mine) {
    return FailedPrecondition(
        fmt::format("{}: this server does not hold the leader lease '{}'", job, options_.name));
  }
  return store_.Write([&](store::Tx& tx) -> Status {
    VOUCH_TRY(CheckEpoch(tx, job, *mine));
    return fn(tx);
  });
}

Status Leader::CheckEpoch(store::Tx& tx, std::string_view job, int64_t mine) const {
  VOUCH_ASSIGN_OR_RETURN(int64_t current, tx.LeaseEpoch(options_.name));
  if (current != mine) {
    return Aborted(fmt::format("{}: the leader lease '{}' moved to epoch {} (this server held {})",
                               job, options_.name, current, mine));
  }
  return OkStatus();
}

}  // namespace vouch::app

#include "vouch/store/store.h"

#include <fmt/format.h>

namespace vouch::store {

std::string_view IdempotencyStateName(IdempotencyState s) {
  switch (s) {
    case IdempotencyState::kInFlight:
      return "in_flight";
    case IdempotencyState::kApplied:
      return "applied";
    case IdempotencyState::kDone:
      return "done";
  }
  return "in_flight";
}

Status RunGuarded(const std::function<Status(Tx&)>& fn, Tx& tx) {
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return Internal(fmt::format("unexpected exception in a store job: {}", e.what()));
  } catch (...) {
    return Internal("unexpected exception in a store job");
  }
}

}  // namespace vouch::store

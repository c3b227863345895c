#include "vouch/store/lease.h"

#include <string>

#include "vouch/store/store.h"

namespace vouch::store {
namespace {

// One server per store: the lease is this server's, at the epoch stored, from the first Poll that
// could read it.
class SingleServerLeaseClaim final : public LeaseClaim {
 public:
  SingleServerLeaseClaim(Store& store, std::string name) : store_(store), name_(std::move(name)) {}

  Result<std::optional<int64_t>> Poll() override {
    if (!epoch_) {
      int64_t epoch = 0;
      VOUCH_TRY(store_.Read([&](Tx& tx) -> Status {
        VOUCH_ASSIGN_OR_RETURN(epoch, tx.LeaseEpoch(name_));
        return OkStatus();
      }));
      epoch_ = epoch;
    }
    return epoch_;
  }
  void Release() override {}
  bool shared() const override { return false; }

 private:
  Store& store_;
  const std::string name_;
  std::optional<int64_t> epoch_;
};

}  // namespace

Result<int64_t> Tx::LeaseEpoch(std::string_view) {
  return Status(StatusCode::kUnimplemented, "this store keeps no leases");
}

Result<int64_t> Tx::TakeLease(std::string_view, std::string_view, TimeMs) {
  return Status(StatusCode::kUnimplemented, "this store keeps no leases");
}

std::unique_ptr<LeaseClaim> Store::ClaimLease(std::string_view name, std::string_view) {
  return std::make_unique<SingleServerLeaseClaim>(*this, std::string(name));
}

}  // namespace vouch::store

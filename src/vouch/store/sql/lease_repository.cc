// Leader leases (store.h "Leader leases"): the epoch a singleton job compares inside its own
// transaction, and the raise a new holder makes when it takes the lease.
#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {
namespace {

constexpr char kTakeLease[] =
    "INSERT INTO leases (name, epoch, holder, acquired_ms) VALUES ($1, 1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET epoch = leases.epoch + 1, holder = EXCLUDED.holder, "
    "acquired_ms = EXCLUDED.acquired_ms RETURNING epoch";
constexpr char kLeaseEpoch[] = "SELECT epoch FROM leases WHERE name = $1";
// A singleton job's check: holds off a new holder's TakeLease until the job's transaction ends.
constexpr char kLeaseEpochForUpdate[] = "SELECT epoch FROM leases WHERE name = $1 FOR UPDATE";

}  // namespace

Result<int64_t> SqlTx::LeaseEpoch(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(auto rows,
                         c_.Query(lock_rows_ ? kLeaseEpochForUpdate : kLeaseEpoch, {name}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  return row ? rows->Int(0) : 0;
}

Result<int64_t> SqlTx::TakeLease(std::string_view name, std::string_view holder, TimeMs now) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kTakeLease, {name, holder, now}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return Internal("taking a lease returned no epoch");
  return rows->Int(0);
}

}  // namespace vouch::store

// SqliteTx's lease methods (store.h, "Leader leases"), kept apart from sqlite_tx.cc. With one
// server per file nothing contends for a lease; the table exists so that the epoch check of a
// singleton job reads the same on both stores.
#include "vouch/store/sqlite/sqlite_tx.h"

namespace vouch::store {
namespace {

constexpr char kLeaseEpoch[] = "SELECT epoch FROM leases WHERE name = ?1";
constexpr char kTakeLease[] =
    "INSERT INTO leases (name, epoch, holder, acquired_ms) VALUES (?1, 1, ?2, ?3) "
    "ON CONFLICT (name) DO UPDATE SET epoch = leases.epoch + 1, holder = excluded.holder, "
    "acquired_ms = excluded.acquired_ms RETURNING epoch";

}  // namespace

Result<int64_t> SqliteTx::LeaseEpoch(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kLeaseEpoch));
  s.Bind(1, name);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Result<int64_t> SqliteTx::TakeLease(std::string_view name, std::string_view holder, TimeMs now) {
  VOUCH_ASSIGN_OR_RETURN(Stmt s, c_.Prepare(kTakeLease));
  s.Bind(1, name).Bind(2, holder).Bind(3, now);
  VOUCH_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Internal("taking a lease returned no epoch");
  return s.Int(0);
}

}  // namespace vouch::store

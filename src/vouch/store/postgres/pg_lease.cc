#include "vouch/store/postgres/pg_lease.h"

#include "vouch/store/postgres/postgres_store.h"
#include "vouch/util/time.h"

namespace vouch::store {
namespace {

// Two-key advisory locks: the first key is vouch's (below 2^31, apart from the one-key locks of
// migrations and RunExclusive), the second the lease's name within its schema, so that registries
// in different schemas of one database do not share a leader.
constexpr char kTryLeaseLock[] =
    "SELECT pg_try_advisory_lock(1986359143, hashtext(current_schema() || '/' || $1))";
constexpr char kUnlockLease[] =
    "SELECT pg_advisory_unlock(1986359143, hashtext(current_schema() || '/' || $1))";
constexpr char kStillConnected[] = "SELECT 1";
constexpr char kTakeLease[] =
    "INSERT INTO leases (name, epoch, holder, acquired_ms) VALUES ($1, 1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET epoch = leases.epoch + 1, holder = EXCLUDED.holder, "
    "acquired_ms = EXCLUDED.acquired_ms RETURNING epoch";

}  // namespace

PgLeaseClaim::PgLeaseClaim(PgConnOptions options, std::string name, std::string holder)
    : options_(std::move(options)), name_(std::move(name)), holder_(std::move(holder)) {}

PgLeaseClaim::~PgLeaseClaim() { Release(); }

void PgLeaseClaim::Release() {
  // Closing the session would release the lock too, but only once the server has seen it close;
  // unlocking first lets another server take the lease at its next poll.
  if (epoch_ && conn_ != nullptr && conn_->healthy()) {
    (void)conn_->Query(kUnlockLease, PgParams().Add(name_));
  }
  conn_.reset();
  epoch_.reset();
}

Result<std::optional<int64_t>> PgLeaseClaim::Poll() {
  if (conn_ != nullptr && !conn_->healthy()) {
    conn_.reset();
    epoch_.reset();
  }
  if (conn_ == nullptr) {
    VOUCH_ASSIGN_OR_RETURN(conn_, PgConn::Open(options_));
  }
  if (epoch_) {
    if (Status alive = conn_->Query(kStillConnected).status(); !alive.ok()) {
      conn_.reset();  // the session, and the lock, are gone
      epoch_.reset();
      return alive;
    }
    return epoch_;
  }
  auto locked = conn_->Query(kTryLeaseLock, PgParams().Add(name_));
  if (!locked.ok()) {
    conn_.reset();
    return locked.status();
  }
  if (locked->empty() || locked->Text(0, 0) != "t") return std::optional<int64_t>();
  Status s = conn_->Exec("BEGIN");
  int64_t epoch = 0;
  if (s.ok()) {
    auto taken =
        conn_->Query(kTakeLease, PgParams().Add(name_).Add(holder_).Add(SystemClock().NowMs()));
    s = taken.status();
    if (s.ok() && taken->empty()) s = Internal("taking a lease returned no epoch");
    if (s.ok()) epoch = taken->Int(0, 0);
  }
  if (s.ok()) s = conn_->Exec("COMMIT");
  if (!s.ok()) {
    conn_.reset();  // closing the session gives the lock back
    return s.WithContext("taking the leader lease");
  }
  epoch_ = epoch;
  return epoch_;
}

std::unique_ptr<LeaseClaim> PostgresStore::ClaimLease(std::string_view name,
                                                      std::string_view holder) {
  return std::make_unique<PgLeaseClaim>(conn_options_, std::string(name), std::string(holder));
}

}  // namespace vouch::store

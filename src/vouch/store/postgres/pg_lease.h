// The leader lease on PostgreSQL (store/lease.h): a session advisory lock, keyed by the schema and
// the lease's name, on a connection of its own outside the pool. The lock lives exactly as long as
// that session: a holder that is killed, or whose connection breaks, loses it the moment the
// database notices (at once for a closed socket), and another server's next Poll takes it. The
// taker raises the epoch in `leases` on the same connection before Poll returns it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vouch/store/lease.h"
#include "vouch/store/postgres/pg_conn.h"

namespace vouch::store {

// Used by one thread at a time (LeaseClaim).
class PgLeaseClaim final : public LeaseClaim {
 public:
  PgLeaseClaim(PgConnOptions options, std::string name, std::string holder);
  ~PgLeaseClaim() override;

  // Connects when it has no connection; while it holds the lease, a round trip on the lock's
  // session confirms it; otherwise pg_try_advisory_lock, and when that succeeds the epoch raised.
  // UNAVAILABLE when the database fails: the connection is dropped, and the lease with it.
  Result<std::optional<int64_t>> Poll() override;
  // Closes the session, which releases the lock.
  void Release() override;
  bool shared() const override { return true; }

 private:
  const PgConnOptions options_;
  const std::string name_;
  const std::string holder_;
  std::unique_ptr<PgConn> conn_;
  std::optional<int64_t> epoch_;  // set while held
};

}  // namespace vouch::store

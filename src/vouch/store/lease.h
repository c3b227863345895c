// A server's claim on a named leader lease (app/leader.h keeps one per server).
//
// PostgreSQL: a session advisory lock on a connection of its own, so the lease is held exactly as
// long as that session lives: a holder that dies, or whose connection breaks, loses it at once. The
// server that takes it raises the lease's epoch in the `leases` table. Other stores have one server
// per file, which holds every lease (at the epoch stored) without asking anyone.
#pragma once

#include <cstdint>
#include <optional>

#include "vouch/util/status.h"

namespace vouch::store {

// Used by one thread at a time.
class LeaseClaim {
 public:
  virtual ~LeaseClaim() = default;
  // Takes the lease when it is free, or confirms that this claim still holds it. Returns the
  // epoch while held (each taking raises it, so it names one tenure), nullopt while another server
  // holds it. UNAVAILABLE when the database cannot be reached; a lease held until then is lost
  // (its session is gone) and the next Poll tries to take it afresh.
  virtual Result<std::optional<int64_t>> Poll() = 0;
  // Gives the lease up; a no-op when not held.
  virtual void Release() = 0;
  // Whether other servers may claim this lease too (PostgreSQL). A claim no one shares is held
  // from its first Poll with nothing to wait out.
  virtual bool shared() const = 0;
};

}  // namespace vouch::store

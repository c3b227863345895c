// Authentication, the bootstrap admin, and the recording of refused requests.
//
// Refused requests are audit events (outcome "denied"). Unauthenticated ones are aggregated: one
// event per client address per window (default one minute) carrying the count, so that noise cannot
// flood the log; the server flushes closed windows on a timer and all of them at shutdown.
// Authenticated refusals (403) are recorded one by one. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "vouch/domain/principal.h"
#include "vouch/store/store.h"

namespace vouch::service {

struct BootstrapResult {
  bool created = false;  // false when the store already had principals
  std::string token;     // the admin token, when created and not given by the operator
};

class AuthService {
 public:
  AuthService(store::Store& store, const Clock& clock, TimeMs denial_window_ms)
      : store_(store), clock_(clock), denial_window_ms_(denial_window_ms) {}

  // On an empty store, creates the principal `admin` with a token: `given_token` when non-empty,
  // otherwise a new random one (returned, to be shown once). Audited as principal.created.
  Result<BootstrapResult> Bootstrap(const std::string& given_token);

  // Resolves a bearer token to its principal. UNAUTHENTICATED when the token is unknown, revoked,
  // expired, or its owner is disabled; the message never contains the token.
  Result<Principal> AuthenticateBearer(std::string_view token);

  // Records a refused request. Without a principal in `ctx` it is counted towards the address's
  // aggregated event; with one it is written at once. Never fails the caller: a failure to record
  // is logged.
  void RecordDenial(const RequestContext& ctx, std::string_view reason);

  // Writes the aggregated denial events whose window has closed (or all, when `all`).
  void FlushDenials(bool all);

  // A new API token: "vch_" + 43 base64url characters (256 random bits).
  static std::string NewToken();

 private:
  struct Pending {
    TimeMs window_start = 0;
    int64_t count = 0;
    std::string last_reason;
    std::string user_agent;
  };

  store::Store& store_;
  const Clock& clock_;
  const TimeMs denial_window_ms_;
  std::mutex mu_;
  std::map<std::string, Pending> pending_;  // by client address; guarded by mu_
};

}  // namespace vouch::service

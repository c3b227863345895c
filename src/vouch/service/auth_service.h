// Authentication, the bootstrap admin, and the recording of refused requests.
//
// Credentials: a bearer token (`vch_…`, stored as its SHA-256) or a username and password (HTTP
// Basic, as MLflow clients send MLFLOW_TRACKING_USERNAME/PASSWORD), checked against an argon2id
// hash. Hashing is deliberately slow and memory-hard, so at most `hash_concurrency` run at once
// (on the request workers, never on the network threads), and verified credentials are cached:
// tokens by their hash, passwords by an HMAC under a key made at start-up. A cached entry lives
// `cache_ttl_ms`; any identity change on this server clears the caches at once (Invalidate), and
// other servers see it within the TTL. The cache never holds a password or a token.
//
// Failed sign-ins are slowed down by backoff, never by a hard lock. Failures are counted per
// username from one address, per username from any address and per address for any username; a
// count is forgotten `failure_window_ms` after its last failure or wait. Once one reaches its limit
// (`max_failures` for a username from one address, `kCeilingFactor` times that for the other two),
// attempts it covers are refused (RESOURCE_EXHAUSTED, 429) without checking the password for 1 s,
// and each further failure doubles the wait, up to `failure_window_ms`. So a stranger's failures
// for a username delay its owner, signing in from elsewhere, only past the much higher ceiling,
// and then by seconds.
//
// Refused requests are audit events (outcome "denied", with the identity attempted: a known
// principal's name, "(unknown token)", or "(unknown user <16 hex digits>)" — a keyed hash of what
// was typed, which may be a password or a token in the wrong field, never the text itself).
// Unauthenticated ones are aggregated: one event per client address and attempted identity per
// window (default one minute) carrying the count, so that noise cannot flood the log; the server
// flushes closed windows on a timer and all of them at shutdown. Authenticated refusals (403) are
// recorded one by one. Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "vouch/domain/principal.h"
#include "vouch/service/executor.h"
#include "vouch/store/store.h"

namespace vouch::service {

struct BootstrapResult {
  bool created = false;  // false when the store already had principals
  std::string token;     // the admin token, when created and not given by the operator
};

struct AuthOptions {
  TimeMs denial_window_ms = 60'000;
  TimeMs cache_ttl_ms = 10'000;  // how long a verified credential is trusted without the store
  int max_failures = 10;         // per username from one address before backoff (see above)
  TimeMs failure_window_ms = 60'000;
  int hash_concurrency = 2;  // argon2id computations at once
};

// Who a credential proved to be.
struct Authenticated {
  Principal principal;  // with its effective roles and groups
  AuthMethod method = AuthMethod::kNone;
  bool read_only = false;  // a token of scope "read"
};

class AuthService {
 public:
  // The ceilings per username (any address) and per address (any username), as multiples of
  // AuthOptions::max_failures.
  static constexpr int kCeilingFactor = 10;

  AuthService(store::Store& store, const Clock& clock, AuthOptions options);
  AuthService(store::Store& store, const Clock& clock, TimeMs denial_window_ms)
      : AuthService(store, clock, AuthOptions{.denial_window_ms = denial_window_ms}) {}

  // On an empty store, creates the principal `admin` with a token: `given_token` when non-empty,
  // otherwise a new random one (returned, to be shown once). Audited as principal.created.
  Result<BootstrapResult> Bootstrap(const std::string& given_token);

  // Resolves a bearer token. UNAUTHENTICATED when the token is unknown, revoked, expired, or its
  // owner is disabled or deleted; the message never contains the token.
  Result<Authenticated> AuthenticateBearer(std::string_view token);

  // Checks a username and password. UNAUTHENTICATED for an unknown user, a wrong password or a
  // user without one, a disabled user (one message for all: "invalid username or password");
  // RESOURCE_EXHAUSTED while the username from `address`, the username, or `address` is backing
  // off (see the class comment).
  Result<Authenticated> AuthenticatePassword(std::string_view username, std::string_view password,
                                             std::string_view address);

  // An Authorization header's value: "Bearer <token>" or "Basic <base64(user:password)>" (scheme
  // names case-insensitive). Sets `attempted` to the identity tried, for the denial record: the
  // username when it names a known principal, else "(unknown user <keyed hash>)"; the owner of a
  // known token, else "(unknown token)". Never a secret, nor text that could be one.
  Result<Authenticated> AuthenticateHeader(std::string_view header, std::string_view address,
                                           std::string& attempted);

  // Forgets every cached credential (after a change to users, tokens, roles or groups).
  void Invalidate();

  // The key of the hash recorded for unknown usernames; servers sharing a store should be given
  // the same one (derived from a sealed secret) so that their records can be compared. Until it is
  // set, a random key made at start-up.
  void SetAttemptKey(std::string key);

  // An argon2id hash of `password` (libsodium's crypto_pwhash_str, interactive limits), taking
  // one of the hashing slots. INVALID_ARGUMENT for a password ValidatePassword refuses.
  Result<std::string> HashPassword(std::string_view password);
  // Whether `password` matches `hash`, taking one of the hashing slots.
  bool VerifyPassword(std::string_view hash, std::string_view password);

  // Records a refused request. Without a principal in `ctx` it is counted towards the aggregated
  // event of its address and attempted identity; with one it is written at once, naming the
  // request's method and path and, when `ctx.subject` names a model, that model and version in
  // its target and in the model columns the audit filters read: the live model's id, or 0 when no
  // model has the name. Never fails the caller: a failure to record is logged.
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
  struct Cached {
    Authenticated who;
    TimeMs loaded_ms = 0;
    std::optional<TimeMs> expires_ms;  // the token's own expiry
    int64_t token_id = 0;
  };
  struct Failures {
    TimeMs last_failure_ms = 0;
    TimeMs blocked_until_ms = 0;  // attempts before this are refused unchecked
    int count = 0;
    // Whether the count has lapsed: `window` has passed since the last failure and the wait.
    bool Forgotten(TimeMs now, TimeMs window) const;
  };

  // Names the subject's model (its id, 0 when none is live under the name or the store cannot
  // say) and version in `e`'s target and model columns.
  void NameSubject(const RequestSubject& subject, AuditEvent& e);
  // Fills the principal's roles and groups.
  Status LoadMembership(store::Tx& tx, Principal& p);
  std::optional<Cached> FromCache(const std::unordered_map<std::string, Cached>& cache,
                                  const std::string& key, TimeMs now) const;
  // RESOURCE_EXHAUSTED while `key` is backing off.
  Status CheckThrottle(const std::string& key, TimeMs now);
  // Whether the username signed in from the address (`pair_key`) within kSignedInMemoryMs.
  bool SignedInBefore(const std::string& pair_key, TimeMs now);
  // Counts a failure for `key`; from the `limit`-th on, it backs off.
  void NoteFailure(const std::string& key, int limit, TimeMs now);
  // What a denial records for a Basic username that did not sign in (see AuthenticateHeader).
  std::string AttemptedUser(std::string_view username);
  // Holds one of the hashing slots for its life (waits for one).
  class HashSlot;
  // Records that the token was used (at most once a minute per token, so reads stay reads).
  void Touch(int64_t token_id, TimeMs now);

  store::Store& store_;
  // Bootstrap and the denial records are changes through it; the token last-use stamp is its
  // bookkeeping.
  MutationExecutor executor_;
  const Clock& clock_;
  const AuthOptions options_;
  const std::string cache_key_;  // HMAC key for the password cache, made at start-up

  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Pending> pending_;  // guarded by mu_
  std::map<std::string, Failures> failures_;                        // guarded by mu_
  // When each (username, address) last signed in with a password; guarded by mu_.
  std::unordered_map<std::string, TimeMs> signed_in_;
  std::map<int64_t, TimeMs> touched_;  // guarded by mu_
  std::string attempt_key_;            // guarded by mu_

  mutable std::shared_mutex cache_mu_;
  std::unordered_map<std::string, Cached> token_cache_;     // by token hash; guarded by cache_mu_
  std::unordered_map<std::string, Cached> password_cache_;  // by HMAC; guarded by cache_mu_

  std::mutex hash_mu_;
  std::condition_variable hash_cv_;
  int hashing_ = 0;         // guarded by hash_mu_
  std::string dummy_hash_;  // guarded by hash_mu_: verified for unknown users, to equalize time
};

}  // namespace vouch::service

// Idempotency keys: a create retried with the same Idempotency-Key gets the first answer again
// instead of a second change (issue 10).
//
// A key belongs to the principal that sent it and is kept for a TTL (24 h by default). The life of
// a key:
//   Claim     inserts the row `in_flight`, in a transaction of its own, before the request runs;
//   MarkApplied (inside the change's own transaction) moves it to `applied`, so a crash between
//             that commit and Complete leaves a row that refuses retries (409) rather than none;
//   Complete  keeps a 2xx answer (state `done`, the body sealed under the master key with the
//             principal and key as associated data, since an answer may carry a secret such as a
//             new API token); any other answer deletes the row, so only committed answers are
//             replayed and a refused or failed request leaves no record.
// A second request with the key gets: the kept answer, when the first one is done and the method,
// path and body (compared by an HMAC under a key derived from the master key, so byte for byte,
// and a password in a body cannot be guessed from the row) are the same; 422
// IDEMPOTENCY_KEY_REUSED when any of them differs; 409 ABORTED while the first is in flight or
// applied but not done. An in_flight row older than `takeover_ms` (its server died before
// committing) and an expired row are replaced by a new claim. Prune() deletes expired rows.
//
// Thread-safe (immutable after construction; the store serializes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vouch/domain/principal.h"
#include "vouch/service/executor.h"
#include "vouch/store/store.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::service {

struct IdempotencyOptions {
  TimeMs ttl_ms = 24 * 3600 * 1000;
  TimeMs takeover_ms = 60'000;  // an in_flight claim older than this may be taken over
};

// An answer as it is kept and replayed.
struct IdempotentAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

inline constexpr size_t kMaxIdempotencyKeyBytes = 255;

// INVALID_ARGUMENT unless `key` is 1..255 bytes of printable ASCII (0x20..0x7E).
Status CheckIdempotencyKey(std::string_view key);

class Idempotency {
 public:
  // `master_key` is 32 raw bytes (secrets.h ParseMasterKey). The claims' own writes (claim,
  // complete, prune) are bookkeeping through `executor` (MutationExecutor::Bookkeep): they carry no
  // audit event; MarkApplied runs inside the change's transaction as the executor's pre-commit
  // hook.
  Idempotency(MutationExecutor& executor, std::string master_key, IdempotencyOptions options = {});

  // Claims `key` for the authenticated principal of `ctx` and the request `request` ("POST
  // /api/v1/models") with `body`. Returns nullopt when the request should run: ctx.idempotency then
  // holds the claim, and Complete must follow. Returns the kept answer when the same request was
  // already answered. INVALID_ARGUMENT for a malformed key; IDEMPOTENCY_KEY_REUSED (422) when the
  // key was used for another request or body; ABORTED (409) while a request with the key is in
  // flight (or applied and not yet done); FAILED_PRECONDITION without a principal; INTERNAL when a
  // kept answer does not open with the master key; UNAVAILABLE from the store.
  Result<std::optional<IdempotentAnswer>> Claim(RequestContext& ctx, std::string_view key,
                                                std::string_view request, std::string_view body);

  // Ends the claim ctx.idempotency holds (nothing without one): keeps a 2xx `answer`, else deletes
  // the row (unless the change was marked applied). Clears ctx.idempotency. UNAVAILABLE from the
  // store (the claim then stays in_flight until it may be taken over).
  Status Complete(RequestContext& ctx, const IdempotentAnswer& answer);

  // Inside a change's transaction: marks the claim ctx holds as applied (nothing without one).
  // ABORTED when the claim was lost (taken over after takeover_ms, or pruned): the change must not
  // commit then.
  static Status MarkApplied(store::Tx& tx, const RequestContext& ctx);

  // Deletes every key that expired at or before `now`; returns how many.
  Result<int64_t> Prune(TimeMs now);

  const IdempotencyOptions& options() const { return options_; }

 private:
  MutationExecutor& executor_;
  const std::string master_key_;
  const IdempotencyOptions options_;
};

}  // namespace vouch::service

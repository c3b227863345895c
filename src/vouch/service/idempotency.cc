#include "vouch/service/idempotency.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

// What a kept answer is sealed with: it cannot be moved to another principal's key.
std::string AssociatedData(int64_t principal_id, std::string_view key) {
  return fmt::format("vouch idempotency v1\n{}\n{}", principal_id, key);
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// What the row keeps of a request's body: an HMAC under a key derived from the master key, never
// a bare SHA-256, since a body may carry a secret (a signer's password, a new user's) that a plain
// digest would let anyone holding the database test guesses against.
std::string BodyDigest(std::string_view master_key, std::string_view body) {
  return HexEncode(HmacSha256(HmacSha256(master_key, "vouch idempotency body digest v1"), body));
}

}  // namespace

Status CheckIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) {
    return InvalidArgument(fmt::format("an Idempotency-Key is 1 to {} characters, not {}",
                                       kMaxIdempotencyKeyBytes, key.size()));
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c > 0x7E) {
      return InvalidArgument("an Idempotency-Key is printable ASCII (0x20 to 0x7E)");
    }
  }
  return OkStatus();
}

Idempotency::Idempotency(MutationExecutor& executor, std::string master_key,
                         IdempotencyOptions options)
    : executor_(executor), master_key_(std::move(master_key)), options_(options) {}

Result<std::optional<IdempotentAnswer>> Idempotency::Claim(RequestContext& ctx,
                                                           std::string_view key,
                                                           std::string_view request,
                                                           std::string_view body) {
  VOUCH_TRY(CheckIdempotencyKey(key));
  if (!ctx.principal) return FailedPrecondition("an idempotency key needs an authenticated caller");
  const TimeMs now = ctx.Now();
  store::IdempotencyRecord claim;
  claim.principal_id = ctx.principal->id;
  claim.key = std::string(key);
  claim.request = std::string(request);
  claim.body_sha256 = BodyDigest(master_key_, body);
  claim.state = store::IdempotencyState::kInFlight;
  claim.created_ms = now;
  claim.expires_ms = now + options_.ttl_ms;

  std::optional<store::IdempotencyRecord> kept;
  VOUCH_TRY(executor_.Bookkeep([&](store::Tx& tx) -> Status {
    kept.reset();
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::IdempotencyRecord> found,
                           tx.FindIdempotencyKey(claim.principal_id, claim.key));
    if (found) {
      const bool expired = found->expires_ms <= now;
      const bool abandoned = found->state == store::IdempotencyState::kInFlight &&
                             found->created_ms + options_.takeover_ms <= now;
      if (expired || abandoned) {
        VOUCH_TRY(tx.DeleteIdempotencyKey(found->principal_id, found->key, found->created_ms));
      } else if (found->request != claim.request ||
                 (found->body_sha256 != claim.body_sha256 &&
                  // A row claimed before the digest was keyed holds the body's bare SHA-256.
                  found->body_sha256 != Sha256Hex(body))) {
        return Status(StatusCode::kIdempotencyKeyReused,
                      fmt::format("the Idempotency-Key was first used with another request ({}) "
                                  "or another body; use a new key for a new request",
                                  found->request));
      } else if (found->state == store::IdempotencyState::kDone) {
        kept = std::move(found);
        return OkStatus();
      } else {
        return Aborted(
            "a request with this Idempotency-Key is still in flight; retry when it has ended");
      }
    }
    VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertIdempotencyKey(claim));
    if (!inserted) {
      return Aborted(
          "a request with this Idempotency-Key is still in flight; retry when it has ended");
    }
    return OkStatus();
  }));

  if (kept) {
    auto nonce = Base64UrlDecode(kept->response_nonce);
    auto ciphertext = Base64UrlDecode(kept->response_body);
    Result<std::string> plain = PermissionDenied("malformed");
    if (nonce && ciphertext) {
      plain = Unseal(master_key_, {*nonce, *ciphertext}, AssociatedData(claim.principal_id, key));
    }
    if (!plain.ok()) {
      return Internal(
          "the answer kept for an Idempotency-Key does not open with the master key (another "
          "key, or altered bytes)");
    }
    return std::optional<IdempotentAnswer>(
        IdempotentAnswer{kept->status, kept->content_type, std::move(plain).value()});
  }
  ctx.idempotency = IdempotencyClaim{claim.key, claim.created_ms};
  return std::optional<IdempotentAnswer>();
}

Status Idempotency::Complete(RequestContext& ctx, const IdempotentAnswer& answer) {
  if (!ctx.idempotency || !ctx.principal) return OkStatus();
  const IdempotencyClaim claim = std::move(*ctx.idempotency);
  ctx.idempotency.reset();
  const int64_t principal_id = ctx.principal->id;
  if (IsSuccess(answer.status)) {
    store::IdempotencyRecord done;
    done.principal_id = principal_id;
    done.key = claim.key;
    done.created_ms = claim.claimed_ms;
    done.state = store::IdempotencyState::kDone;
    done.status = answer.status;
    done.content_type = answer.content_type;
    SealedBox box = Seal(master_key_, answer.body, AssociatedData(principal_id, claim.key));
    done.response_nonce = Base64UrlEncode(box.nonce);
    done.response_body = Base64UrlEncode(box.ciphertext);
    bool kept = false;
    VOUCH_TRY(executor_.Bookkeep([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(kept, tx.CompleteIdempotencyKey(done));
      return OkStatus();
    }));
    if (!kept) {
      spdlog::warn(
          "request {}: its Idempotency-Key claim was taken over or pruned before its "
          "answer could be kept",
          ctx.request_id);
    }
    return OkStatus();
  }
  return executor_.Bookkeep([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::IdempotencyRecord> found,
                           tx.FindIdempotencyKey(principal_id, claim.key));
    // A change that committed (applied) is never forgotten: a retry must not apply it again.
    if (!found || found->created_ms != claim.claimed_ms ||
        found->state == store::IdempotencyState::kApplied) {
      return OkStatus();
    }
    return tx.DeleteIdempotencyKey(principal_id, claim.key, claim.claimed_ms).status();
  });
}

Status Idempotency::MarkApplied(store::Tx& tx, const RequestContext& ctx) {
  if (!ctx.idempotency || !ctx.principal) return OkStatus();
  VOUCH_ASSIGN_OR_RETURN(
      bool marked,
      tx.SetIdempotencyState(ctx.principal->id, ctx.idempotency->key, ctx.idempotency->claimed_ms,
                             store::IdempotencyState::kApplied));
  if (!marked) {
    return Aborted(
        "this request's Idempotency-Key was taken over by a retry while it ran; nothing was "
        "changed");
  }
  return OkStatus();
}

Result<int64_t> Idempotency::Prune(TimeMs now) {
  int64_t pruned = 0;
  VOUCH_TRY(executor_.Bookkeep([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(pruned, tx.PruneIdempotencyKeys(now));
    return OkStatus();
  }));
  return pruned;
}

}  // namespace vouch::service

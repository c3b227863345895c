// Idempotency keys (issue 10; service/idempotency.h). The claim a row holds is named by its
// created_ms: updates and deletes touch the row only while it still holds that claim.
#include <fmt/format.h>

#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {
namespace {

constexpr char kInsertIdempotencyKey[] =
    "INSERT INTO idempotency_keys (principal_id, key, request, body_sha256, state, status, "
    "content_type, response_nonce, response_body, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (principal_id, key) DO NOTHING";
constexpr char kFindIdempotencyKey[] =
    "SELECT principal_id, key, request, body_sha256, state, status, content_type, "
    "response_nonce, response_body, created_ms, expires_ms FROM idempotency_keys "
    "WHERE principal_id = $1 AND key = $2";
constexpr char kSetIdempotencyState[] =
    "UPDATE idempotency_keys SET state = $4 "
    "WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kCompleteIdempotencyKey[] =
    "UPDATE idempotency_keys SET state = 'done', status = $4, content_type = $5, "
    "response_nonce = $6, response_body = $7 "
    "WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kDeleteIdempotencyKey[] =
    "DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND created_ms = $3";
constexpr char kPruneIdempotencyKeys[] = "DELETE FROM idempotency_keys WHERE expires_ms <= $1";

Result<IdempotencyState> ParseIdempotencyState(std::string_view s) {
  for (IdempotencyState st :
       {IdempotencyState::kInFlight, IdempotencyState::kApplied, IdempotencyState::kDone}) {
    if (IdempotencyStateName(st) == s) return st;
  }
  return Internal(fmt::format("unknown idempotency key state '{}'", s));
}

}  // namespace

Result<bool> SqlTx::InsertIdempotencyKey(const IdempotencyRecord& r) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t n, c_.Exec(kInsertIdempotencyKey,
                         {r.principal_id, r.key, r.request, r.body_sha256,
                          IdempotencyStateName(r.state), r.status, r.content_type, r.response_nonce,
                          r.response_body, r.created_ms, r.expires_ms}));
  return n > 0;
}

Result<std::optional<IdempotencyRecord>> SqlTx::FindIdempotencyKey(int64_t principal_id,
                                                                   std::string_view key) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kFindIdempotencyKey, {principal_id, key}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<IdempotencyRecord>();
  IdempotencyRecord r;
  r.principal_id = rows->Int(0);
  r.key = rows->Text(1);
  r.request = rows->Text(2);
  r.body_sha256 = rows->Text(3);
  VOUCH_ASSIGN_OR_RETURN(r.state, ParseIdempotencyState(rows->Text(4)));
  r.status = static_cast<int>(rows->Int(5));
  r.content_type = rows->Text(6);
  r.response_nonce = rows->Text(7);
  r.response_body = rows->Text(8);
  r.created_ms = rows->Int(9);
  r.expires_ms = rows->Int(10);
  return std::optional<IdempotencyRecord>(std::move(r));
}

Result<bool> SqlTx::SetIdempotencyState(int64_t principal_id, std::string_view key,
                                        TimeMs created_ms, IdempotencyState state) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kSetIdempotencyState, {principal_id, key, created_ms,
                                                                   IdempotencyStateName(state)}));
  return n > 0;
}

Result<bool> SqlTx::CompleteIdempotencyKey(const IdempotencyRecord& r) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kCompleteIdempotencyKey,
                                            {r.principal_id, r.key, r.created_ms, r.status,
                                             r.content_type, r.response_nonce, r.response_body}));
  return n > 0;
}

Result<bool> SqlTx::DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                         TimeMs created_ms) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n,
                         c_.Exec(kDeleteIdempotencyKey, {principal_id, key, created_ms}));
  return n > 0;
}

Result<int64_t> SqlTx::PruneIdempotencyKeys(TimeMs now) {
  return c_.Exec(kPruneIdempotencyKeys, {now});
}

}  // namespace vouch::store

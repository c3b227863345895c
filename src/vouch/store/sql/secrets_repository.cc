// Sealed secrets and web sessions.
#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {
namespace {

constexpr char kFindSecret[] =
    "SELECT name, nonce, ciphertext, created_ms FROM secrets WHERE name = $1";
constexpr char kInsertSecret[] =
    "INSERT INTO secrets (name, nonce, ciphertext, created_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (name) DO NOTHING";

constexpr char kInsertSession[] =
    "INSERT INTO web_sessions (id_hash, principal_id, csrf_hash, created_ms, expires_ms, "
    "last_seen_ms, revoked_ms, address, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (id_hash) DO NOTHING";
constexpr char kFindSession[] =
    "SELECT id_hash, principal_id, csrf_hash, created_ms, expires_ms, last_seen_ms, revoked_ms, "
    "address, user_agent FROM web_sessions WHERE id_hash = $1";
constexpr char kRevokeSession[] =
    "UPDATE web_sessions SET revoked_ms = $2 WHERE id_hash = $1 AND revoked_ms IS NULL";

}  // namespace

Result<std::optional<SealedSecret>> SqlTx::FindSecret(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kFindSecret, {name}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<SealedSecret>();
  return std::optional<SealedSecret>(
      SealedSecret{rows->Text(0), rows->Text(1), rows->Text(2), rows->Int(3)});
}

Result<bool> SqlTx::InsertSecret(const SealedSecret& secret) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t inserted,
      c_.Exec(kInsertSecret, {secret.name, secret.nonce, secret.ciphertext, secret.created_ms}));
  return inserted > 0;
}

Status SqlTx::InsertSession(const WebSession& w) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t inserted,
      c_.Exec(kInsertSession, {w.id_hash, w.principal_id, w.csrf_hash, w.created_ms, w.expires_ms,
                               w.last_seen_ms, w.revoked_ms, w.address, w.user_agent}));
  if (inserted == 0) return AlreadyExists("a web session with that id already exists");
  return OkStatus();
}

Result<std::optional<WebSession>> SqlTx::FindSession(std::string_view id_hash) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kFindSession, {id_hash}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<WebSession>();
  WebSession w;
  w.id_hash = rows->Text(0);
  w.principal_id = rows->Int(1);
  w.csrf_hash = rows->Text(2);
  w.created_ms = rows->Int(3);
  w.expires_ms = rows->Int(4);
  w.last_seen_ms = rows->Int(5);
  w.revoked_ms = rows->OptionalInt(6);
  w.address = rows->Text(7);
  w.user_agent = rows->Text(8);
  return std::optional<WebSession>(std::move(w));
}

Status SqlTx::RevokeSession(std::string_view id_hash, TimeMs when) {
  return c_.Exec(kRevokeSession, {id_hash, when}).status();
}

}  // namespace vouch::store

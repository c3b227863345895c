// The audit log's signing keys, signed checkpoints and witnesses' cosignatures (migration 0016).
#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {
namespace {

constexpr char kInsertKey[] =
    "INSERT INTO audit_signing_keys (name, key_id, verifier_key, public_key, seed_nonce, "
    "seed_sealed, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (verifier_key) DO NOTHING RETURNING id";
constexpr char kListKeys[] =
    "SELECT id, name, key_id, verifier_key, public_key, seed_nonce, seed_sealed, created_ms, "
    "retired_ms FROM audit_signing_keys ORDER BY id";
constexpr char kRetireKey[] =
    "UPDATE audit_signing_keys SET retired_ms = $2 WHERE id = $1 AND retired_ms IS NULL";

#define VOUCH_CHECKPOINT_SELECT \
  "SELECT id, size, root, note, key_id, created_ms FROM audit_checkpoints "
constexpr char kInsertCheckpoint[] =
    "INSERT INTO audit_checkpoints (size, root, note, key_id, created_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING RETURNING id";
constexpr char kLatestCheckpoint[] = VOUCH_CHECKPOINT_SELECT "ORDER BY size DESC LIMIT 1";
constexpr char kCheckpointBySize[] = VOUCH_CHECKPOINT_SELECT "WHERE size = $1";
constexpr char kListCheckpoints[] = VOUCH_CHECKPOINT_SELECT "WHERE id > $1 ORDER BY id LIMIT $2";
#undef VOUCH_CHECKPOINT_SELECT

constexpr char kInsertCosignature[] =
    "INSERT INTO audit_cosignatures (checkpoint_id, witness, key_id, line, received_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (checkpoint_id, witness, key_id) DO NOTHING";
constexpr char kFindCosignature[] =
    "SELECT 1 FROM audit_cosignatures WHERE checkpoint_id = $1 AND witness = $2 AND key_id = $3";
constexpr char kListCosignatures[] =
    "SELECT checkpoint_id, witness, key_id, line, received_ms FROM audit_cosignatures "
    "WHERE checkpoint_id = $1 ORDER BY received_ms, witness, key_id";

AuditCheckpointRow ReadCheckpoint(const sql::Rows& r) {
  return AuditCheckpointRow{.id = r.Int(0),
                            .size = r.Int(1),
                            .root = r.Text(2),
                            .note = r.Text(3),
                            .key_id = r.Int(4),
                            .created_ms = r.Int(5)};
}

}  // namespace

Status SqlTx::InsertAuditSigningKey(AuditSigningKey& k) {
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(kInsertKey, {k.name, k.key_id, k.verifier_key, k.public_key, k.seed_nonce,
                                       k.seed_sealed, k.created_ms}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return AlreadyExists("an audit signing key with that verifier key already exists");
  k.id = rows->Int(0);
  return OkStatus();
}

Result<std::vector<AuditSigningKey>> SqlTx::ListAuditSigningKeys() {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kListKeys));
  std::vector<AuditSigningKey> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    out.push_back(AuditSigningKey{.id = rows->Int(0),
                                  .name = rows->Text(1),
                                  .key_id = rows->Text(2),
                                  .verifier_key = rows->Text(3),
                                  .public_key = rows->Text(4),
                                  .seed_nonce = rows->Text(5),
                                  .seed_sealed = rows->Text(6),
                                  .created_ms = rows->Int(7),
                                  .retired_ms = rows->OptionalInt(8)});
  }
}

Result<bool> SqlTx::RetireAuditSigningKey(int64_t id, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(int64_t changed, c_.Exec(kRetireKey, {id, when}));
  return changed > 0;
}

Result<bool> SqlTx::InsertAuditCheckpoint(AuditCheckpointRow& c) {
  // SQLite's no-replace trigger refuses an insert of an existing size before ON CONFLICT could
  // skip it; its one writer makes this look-up race-free, and PostgreSQL's ON CONFLICT settles it.
  VOUCH_ASSIGN_OR_RETURN(std::optional<AuditCheckpointRow> existing, AuditCheckpointBySize(c.size));
  if (existing) return false;
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(kInsertCheckpoint, {c.size, c.root, c.note, c.key_id, c.created_ms}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return false;
  c.id = rows->Int(0);
  return true;
}

Result<std::optional<AuditCheckpointRow>> SqlTx::LatestAuditCheckpoint() {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kLatestCheckpoint));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<AuditCheckpointRow>();
  return std::optional<AuditCheckpointRow>(ReadCheckpoint(*rows));
}

Result<std::optional<AuditCheckpointRow>> SqlTx::AuditCheckpointBySize(int64_t size) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kCheckpointBySize, {size}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<AuditCheckpointRow>();
  return std::optional<AuditCheckpointRow>(ReadCheckpoint(*rows));
}

Result<std::vector<AuditCheckpointRow>> SqlTx::ListAuditCheckpoints(int64_t after_id, int limit) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kListCheckpoints, {after_id, limit}));
  std::vector<AuditCheckpointRow> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    out.push_back(ReadCheckpoint(*rows));
  }
}

Result<bool> SqlTx::InsertAuditCosignature(const AuditCosignatureRow& c) {
  // As InsertAuditCheckpoint: SQLite's no-replace trigger would refuse a second one.
  VOUCH_ASSIGN_OR_RETURN(auto found,
                         c_.Query(kFindCosignature, {c.checkpoint_id, c.witness, c.key_id}));
  VOUCH_ASSIGN_OR_RETURN(bool exists, found->Next());
  if (exists) return false;
  found.reset();
  VOUCH_ASSIGN_OR_RETURN(
      int64_t inserted,
      c_.Exec(kInsertCosignature, {c.checkpoint_id, c.witness, c.key_id, c.line, c.received_ms}));
  return inserted > 0;
}

Result<std::vector<AuditCosignatureRow>> SqlTx::ListAuditCosignatures(int64_t checkpoint_id) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kListCosignatures, {checkpoint_id}));
  std::vector<AuditCosignatureRow> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    out.push_back(AuditCosignatureRow{.checkpoint_id = rows->Int(0),
                                      .witness = rows->Text(1),
                                      .key_id = rows->Text(2),
                                      .line = rows->Text(3),
                                      .received_ms = rows->Int(4)});
  }
}

}  // namespace vouch::store

#include "vouch/service/checkpoints.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "vouch/audit/actions.h"
#include "vouch/audit/tree.h"
#include "vouch/service/events.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

constexpr std::string_view kOriginSuffix = "/api/v1/audit/log";
// The name audit events give the signing key (`target.name`).
constexpr std::string_view kSigningKeyName = "audit-signing-key";

using LogTree = audit::TreeReader;

std::string KeyIdHex(uint32_t id) { return fmt::format("{:08x}", id); }

// The seed is sealed with the key's verifier key as associated data: a sealed seed cannot be
// moved to another key's row.
std::string SealAd(std::string_view verifier_key) {
  return fmt::format("audit-signing-key {}", verifier_key);
}

SigningKeyView KeyView(const store::AuditSigningKey& k, bool signing) {
  return SigningKeyView{.name = k.name,
                        .key_id = k.key_id,
                        .verifier_key = k.verifier_key,
                        .public_key = k.public_key,
                        .created_ms = k.created_ms,
                        .retired_ms = k.retired_ms,
                        .signing = signing};
}

// The key that signs: the oldest not retired. Null when every key is retired (never, by
// construction: a key is retired only when a newer one exists).
const store::AuditSigningKey* SigningKey(const std::vector<store::AuditSigningKey>& keys) {
  for (const auto& k : keys) {
    if (!k.retired_ms) return &k;
  }
  return nullptr;
}

std::string HashBase64(const tlog::Hash& h) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

Result<tlog::Hash> HashFromBase64(std::string_view text) {
  std::optional<std::string> raw = Base64Decode(text);
  tlog::Hash h{};
  if (!raw || raw->size() != h.size()) return Internal("a stored checkpoint root is not a hash");
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

}  // namespace

Result<std::string> ChooseLogOrigin(std::string_view log_origin, std::string_view public_url) {
  std::string origin;
  if (!log_origin.empty()) {
    origin = std::string(log_origin);
  } else if (!public_url.empty()) {
    std::string_view rest = public_url;
    if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
      rest.remove_prefix(scheme + 3);
    }
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (rest.empty()) return InvalidArgument("--public-url names no host");
    origin = fmt::format("{}{}", rest, kOriginSuffix);
  } else {
    origin = fmt::format("vouch-{}{}", HexEncode(RandomBytes(8)), kOriginSuffix);
  }
  if (!tlog::IsValidKeyName(origin)) {
    return InvalidArgument(fmt::format(
        "the audit log's origin '{}' is not a valid key name (no spaces, no '+')", origin));
  }
  return origin;
}

CheckpointService::CheckpointService(MutationExecutor& executor, Authorizer authz,
                                     const Clock& clock, std::string master_key)
    : executor_(executor),
      store_(executor.store()),
      authz_(std::move(authz)),
      clock_(clock),
      master_key_(std::move(master_key)) {}

std::string CheckpointService::Origin() const {
  std::lock_guard lock(mu_);
  return origin_;
}

void CheckpointService::AddListener(Listener fn) { listeners_.push_back(std::move(fn)); }

void CheckpointService::Notify(const CheckpointView& made) const {
  for (const Listener& fn : listeners_) fn(made);
}

Result<tlog::Signer> CheckpointService::SignerOf(const store::AuditSigningKey& key) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = signers_.find(key.id); it != signers_.end()) return it->second;
  }
  auto nonce = Base64UrlDecode(key.seed_nonce);
  auto sealed = Base64UrlDecode(key.seed_sealed);
  Result<std::string> seed = PermissionDenied("malformed");
  if (nonce && sealed) seed = Unseal(master_key_, {*nonce, *sealed}, SealAd(key.verifier_key));
  if (!seed.ok() || seed->size() != 32) {
    return FailedPrecondition(fmt::format(
        "the master key does not open the audit signing key {} in {}: this is not the master key "
        "the store was set up with (give every server the same --master-key-file or "
        "VOUCH_MASTER_KEY), or the stored key was altered",
        key.key_id, store_.Describe()));
  }
  tlog::Signer signer{.name = key.name, .key_id = 0, .seed = std::move(seed).value()};
  signer.key_id = tlog::Ed25519KeyId(signer.name, tlog::Ed25519PublicKey(signer.seed));
  if (tlog::FormatVerifierKey(tlog::VerifierOf(signer)) != key.verifier_key) {
    return FailedPrecondition(
        fmt::format("the audit signing key {} in {} does not match its stored verifier key",
                    key.key_id, store_.Describe()));
  }
  std::lock_guard lock(mu_);
  signers_[key.id] = signer;
  return signer;
}

Status CheckpointService::Init(std::string_view wanted_origin, bool origin_was_given) {
  if (!tlog::IsValidKeyName(wanted_origin)) {
    return InvalidArgument(fmt::format(
        "the audit log's origin '{}' is not a valid key name (no spaces, no '+')", wanted_origin));
  }
  std::vector<store::AuditSigningKey> keys;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(keys, tx.ListAuditSigningKeys());
    return OkStatus();
  }));
  if (keys.empty()) {
    VOUCH_ASSIGN_OR_RETURN(tlog::Signer signer, tlog::GenerateSigner(wanted_origin));
    const std::string verifier = tlog::FormatVerifierKey(tlog::VerifierOf(signer));
    const std::string public_key = Base64Encode(tlog::Ed25519PublicKey(signer.seed));
    RequestContext ctx = SystemContext(clock_);
    VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
      store::Tx& tx = change.tx();
      VOUCH_ASSIGN_OR_RETURN(keys, tx.ListAuditSigningKeys());
      if (!keys.empty()) return change.Unchanged();  // another server made it first
      SealedBox box = Seal(master_key_, signer.seed, SealAd(verifier));
      store::AuditSigningKey key{.name = signer.name,
                                 .key_id = KeyIdHex(signer.key_id),
                                 .verifier_key = verifier,
                                 .public_key = public_key,
                                 .seed_nonce = Base64UrlEncode(box.nonce),
                                 .seed_sealed = Base64UrlEncode(box.ciphertext),
                                 .created_ms = ctx.Now()};
      VOUCH_TRY(tx.InsertAuditSigningKey(key));
      keys = {key};
      AuditEvent e = NewEvent(ctx, audit::Action::kSecretCreated);
      e.target = {{"type", "secret"}, {"name", kSigningKeyName}};
      e.before = nullptr;
      e.after = {{"name", kSigningKeyName},
                 {"sealed_with", "xchacha20poly1305"},
                 {"verifier_key", verifier}};
      return change.Record(std::move(e));
    }));
    if (keys.empty()) {
      VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
        VOUCH_ASSIGN_OR_RETURN(keys, tx.ListAuditSigningKeys());
        return OkStatus();
      }));
    }
    if (keys.empty()) return Internal("the audit signing key was not stored");
  }
  const std::string stored = keys.front().name;
  if (origin_was_given && stored != wanted_origin) {
    spdlog::warn(
        "the audit log's origin stays '{}', as its checkpoints and keys name it; '{}' (from "
        "--log-origin or --public-url) is ignored (a log's origin is what its verifiers pin)",
        stored, wanted_origin);
  }
  // Every key must open: a wrong master key is found at start, not at the first checkpoint.
  if (const store::AuditSigningKey* signing = SigningKey(keys); signing != nullptr) {
    VOUCH_TRY(SignerOf(*signing).status());
  }
  std::lock_guard lock(mu_);
  origin_ = stored;
  return OkStatus();
}

Result<CheckpointView> CheckpointService::ViewOf(store::Tx& tx,
                                                 const store::AuditCheckpointRow& row) const {
  CheckpointView v{.id = row.id,
                   .size = static_cast<uint64_t>(row.size),
                   .note = row.note,
                   .created_ms = row.created_ms};
  VOUCH_ASSIGN_OR_RETURN(v.root, HashFromBase64(row.root));
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditSigningKey> keys, tx.ListAuditSigningKeys());
  for (const auto& k : keys) {
    if (k.id == row.key_id) v.key_id = k.key_id;
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCosignatureRow> cosignatures,
                         tx.ListAuditCosignatures(row.id));
  for (const auto& c : cosignatures) {
    v.note += c.line;
    v.note += '\n';
  }
  return v;
}

Result<bool> CheckpointService::Due(store::Tx& tx, TimeMs now, TimeMs interval_ms,
                                    int64_t events) const {
  LogTree tree(tx);
  VOUCH_ASSIGN_OR_RETURN(uint64_t size, tree.Size());
  VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> latest,
                         tx.LatestAuditCheckpoint());
  if (!latest) return size > 0;
  const uint64_t covered = static_cast<uint64_t>(latest->size);
  if (size <= covered) return false;
  return size - covered >= static_cast<uint64_t>(events) || now - latest->created_ms >= interval_ms;
}

Result<std::optional<CheckpointView>> CheckpointService::MakeIn(store::Tx& tx, TimeMs now) {
  // The keys first, then the tree: a rotation committed before the keys were read is in the tree
  // read after them, so the old key's last checkpoint covers the rotation's event.
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditSigningKey> keys, tx.ListAuditSigningKeys());
  const store::AuditSigningKey* signing = SigningKey(keys);
  if (signing == nullptr) return FailedPrecondition("the audit log has no signing key");
  LogTree tree(tx);
  VOUCH_ASSIGN_OR_RETURN(uint64_t size, tree.Size());
  VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> latest,
                         tx.LatestAuditCheckpoint());
  if (size == 0 || (latest && static_cast<uint64_t>(latest->size) >= size)) {
    return std::optional<CheckpointView>();
  }
  VOUCH_ASSIGN_OR_RETURN(tlog::Hash root, tree.Root(size));
  VOUCH_ASSIGN_OR_RETURN(tlog::Signer signer, SignerOf(*signing));
  tlog::Checkpoint body{.origin = signing->name, .size = size, .root = root};
  VOUCH_ASSIGN_OR_RETURN(std::string note,
                         tlog::SignCheckpoint(body, std::span<const tlog::Signer>(&signer, 1)));
  store::AuditCheckpointRow row{.size = static_cast<int64_t>(size),
                                .root = HashBase64(root),
                                .note = note,
                                .key_id = signing->id,
                                .created_ms = now};
  VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertAuditCheckpoint(row));
  if (!inserted) return std::optional<CheckpointView>();  // another server signed this size
  // A newer key waits for this checkpoint, which covers its rotation: from now on it signs.
  if (signing != &keys.back()) {
    VOUCH_TRY(tx.RetireAuditSigningKey(signing->id, now).status());
  }
  return std::optional<CheckpointView>(CheckpointView{.id = row.id,
                                                      .size = size,
                                                      .root = root,
                                                      .note = std::move(note),
                                                      .key_id = signing->key_id,
                                                      .created_ms = now});
}

Result<CheckpointView> CheckpointService::Make(TimeMs now) {
  std::optional<CheckpointView> made;
  VOUCH_TRY(executor_.Bookkeep([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(made, MakeIn(tx, now));
    return OkStatus();
  }));
  if (made) {
    Notify(*made);
    return *made;
  }
  return Latest();
}

Result<CheckpointView> CheckpointService::MakeFor(const RequestContext& ctx) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  return Make(ctx.Now());
}

Result<CheckpointView> CheckpointService::Latest() const {
  std::optional<CheckpointView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> row,
                           tx.LatestAuditCheckpoint());
    if (!row) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, *row));
    return OkStatus();
  }));
  if (!out) return NotFound("the audit log has no checkpoint yet");
  return *out;
}

Result<CheckpointView> CheckpointService::AtSize(uint64_t size) const {
  std::optional<CheckpointView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> row,
                           tx.AuditCheckpointBySize(static_cast<int64_t>(size)));
    if (!row) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, *row));
    return OkStatus();
  }));
  if (!out) return NotFound(fmt::format("the audit log has no checkpoint of size {}", size));
  return *out;
}

Result<std::vector<CheckpointView>> CheckpointService::List(int64_t after_id, int limit) const {
  std::vector<CheckpointView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpointRow> rows,
                           tx.ListAuditCheckpoints(after_id, limit));
    for (const auto& row : rows) {
      VOUCH_ASSIGN_OR_RETURN(CheckpointView v, ViewOf(tx, row));
      out.push_back(std::move(v));
    }
    return OkStatus();
  }));
  return out;
}

Result<std::vector<SigningKeyView>> CheckpointService::PublicKeys() const {
  std::vector<store::AuditSigningKey> keys;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(keys, tx.ListAuditSigningKeys());
    return OkStatus();
  }));
  const store::AuditSigningKey* signing = SigningKey(keys);
  std::vector<SigningKeyView> out;
  for (const auto& k : keys) out.push_back(KeyView(k, &k == signing));
  return out;
}

Result<std::vector<tlog::Verifier>> CheckpointService::Verifiers() const {
  VOUCH_ASSIGN_OR_RETURN(std::vector<SigningKeyView> keys, PublicKeys());
  std::vector<tlog::Verifier> out;
  for (const auto& k : keys) {
    VOUCH_ASSIGN_OR_RETURN(tlog::Verifier v, tlog::ParseVerifierKey(k.verifier_key));
    out.push_back(std::move(v));
  }
  return out;
}

Result<KeyRotation> CheckpointService::RotateKey(const RequestContext& ctx) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  const std::string origin = Origin();
  VOUCH_ASSIGN_OR_RETURN(tlog::Signer signer, tlog::GenerateSigner(origin));
  const std::string verifier = tlog::FormatVerifierKey(tlog::VerifierOf(signer));
  KeyRotation out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditSigningKey> keys, tx.ListAuditSigningKeys());
    const store::AuditSigningKey* signing = SigningKey(keys);
    if (signing == nullptr) return FailedPrecondition("the audit log has no signing key");
    SealedBox box = Seal(master_key_, signer.seed, SealAd(verifier));
    store::AuditSigningKey key{.name = signer.name,
                               .key_id = KeyIdHex(signer.key_id),
                               .verifier_key = verifier,
                               .public_key = Base64Encode(tlog::Ed25519PublicKey(signer.seed)),
                               .seed_nonce = Base64UrlEncode(box.nonce),
                               .seed_sealed = Base64UrlEncode(box.ciphertext),
                               .created_ms = ctx.Now()};
    VOUCH_TRY(tx.InsertAuditSigningKey(key));
    // The newest key before this one: the one the log was to move to (the signing key, unless an
    // earlier rotation still waits for its checkpoint).
    const store::AuditSigningKey& previous = keys.back();
    out.new_key = KeyView(key, false);
    out.old_key = KeyView(*signing, true);
    AuditEvent e = NewEvent(ctx, audit::Action::kAuditKeyRotated);
    e.target = {{"type", "secret"}, {"name", kSigningKeyName}};
    e.before = {{"key_id", previous.key_id}, {"verifier_key", previous.verifier_key}};
    e.after = {{"key_id", key.key_id}, {"verifier_key", key.verifier_key}};
    return change.Record(std::move(e));
  }));
  // The checkpoint that covers the rotation, signed by the old key, which it retires.
  VOUCH_ASSIGN_OR_RETURN(out.checkpoint, Make(ctx.Now()));
  out.old_key.signing = false;
  out.old_key.retired_ms = ctx.Now();
  out.new_key.signing = true;
  return out;
}

Status CheckpointService::CheckAgainst(store::Tx& tx, uint64_t size, const tlog::Hash& root,
                                       std::string_view what) const {
  VOUCH_ASSIGN_OR_RETURN(int64_t head, tx.AuditHeadSeq());
  LogTree tree(tx);
  VOUCH_ASSIGN_OR_RETURN(uint64_t tree_size, tree.Size());
  if (head < 0 || static_cast<uint64_t>(head) < size) {
    return FailedPrecondition(fmt::format(
        "refusing to start: the audit log in {} ends at event {}, but {} covers {} events: "
        "events were removed, or an older copy of the database was put in place",
        store_.Describe(), head, what, size));
  }
  if (tree_size < size) {
    return FailedPrecondition(fmt::format(
        "refusing to start: the audit log's Merkle tree in {} has {} leaves, but {} covers {} "
        "events: the tree was cut short, or an older copy of the database was put in place",
        store_.Describe(), tree_size, what, size));
  }
  VOUCH_ASSIGN_OR_RETURN(tlog::Hash stored, tree.Root(size));
  if (stored != root) {
    return FailedPrecondition(fmt::format(
        "refusing to start: the audit log's root at size {} in {} is {}, but {} says {}: the log "
        "was altered, or is not the log that checkpoint signed",
        size, store_.Describe(), HashBase64(stored), what, HashBase64(root)));
  }
  return OkStatus();
}

Status CheckpointService::CheckLog() const {
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Verifier> verifiers, Verifiers());
  const std::string origin = Origin();
  return store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> latest,
                           tx.LatestAuditCheckpoint());
    if (!latest) return OkStatus();
    Result<tlog::OpenedCheckpoint> opened = tlog::OpenCheckpoint(latest->note, verifiers, origin);
    if (!opened.ok() || opened->checkpoint.size != static_cast<uint64_t>(latest->size)) {
      return FailedPrecondition(fmt::format(
          "refusing to start: the latest stored checkpoint (size {}) does not verify with the "
          "log's keys: {}",
          latest->size,
          opened.ok() ? "its size differs from its row's" : opened.status().message()));
    }
    return CheckAgainst(tx, opened->checkpoint.size, opened->checkpoint.root,
                        fmt::format("the latest checkpoint (size {})", latest->size));
  });
}

Status CheckpointService::CheckSaved(std::string_view note, std::string_view where) const {
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Verifier> verifiers, Verifiers());
  Result<tlog::OpenedCheckpoint> opened = tlog::OpenCheckpoint(note, verifiers, Origin());
  if (!opened.ok()) {
    return FailedPrecondition(fmt::format(
        "refusing to start: the last checkpoint in {} does not verify with this log's keys and "
        "origin ({}): it was made by another log, or this database is an older copy that never "
        "saw the key that signed it",
        where, opened.status().message()));
  }
  return store_.Read([&](store::Tx& tx) -> Status {
    return CheckAgainst(
        tx, opened->checkpoint.size, opened->checkpoint.root,
        fmt::format("the last checkpoint in {} (size {})", where, opened->checkpoint.size));
  });
}

}  // namespace vouch::service

// Signed checkpoints of the audit log's Merkle tree (issue 14): the log's Ed25519 signing keys,
// sealed under the master key, and the C2SP tlog-checkpoint notes they sign.
//
// The origin (the checkpoints' first line and every key's name) is chosen once, when the first key
// is made (Init), and kept in the store: a later --log-origin or --public-url that would give
// another is logged and ignored, since a log's origin is what verifiers pin.
//
// Keys. The oldest key not retired signs. A rotation (RotateKey) adds a new key and records
// `audit.key_rotated` carrying its verifier key, in one change; the next checkpoint, which covers
// that event, is still signed by the old key and retires it in its own transaction, so the new key
// signs only checkpoints after one the old key vouched for. Every key stays listed.
//
// Checkpoints. Make signs one of the current tree only when the tree grew past the latest one;
// a checkpoint writes no audit event (a bookkeeping write: the log does not grow, so an idle log
// gets no new checkpoints). One per size: when two servers race, the store keeps the first.
// Listeners run after each checkpoint this server made commits.
//
// Thread-safe once wired (listeners are added before the first Make).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/service/authorizer.h"
#include "vouch/service/executor.h"
#include "vouch/store/store.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/note.h"
#include "vouch/util/time.h"

namespace vouch::service {

// What a checkpoint looks like to its readers.
struct CheckpointView {
  int64_t id = 0;
  uint64_t size = 0;
  tlog::Hash root{};
  // The signed note, followed by every stored cosignature line: what the tlog-tiles `checkpoint`
  // route serves.
  std::string note;
  std::string key_id;  // the signing key's note key id, 8 hex digits
  TimeMs created_ms = 0;
};

struct SigningKeyView {
  std::string name;          // the origin
  std::string key_id;        // 8 hex digits
  std::string verifier_key;  // <name>+<hex id>+<base64(0x01 || public key)>
  std::string public_key;    // standard base64 of the 32-byte key
  TimeMs created_ms = 0;
  std::optional<TimeMs> retired_ms;
  bool signing = false;  // the key that signs the next checkpoint
};

struct KeyRotation {
  SigningKeyView new_key;
  SigningKeyView old_key;
  CheckpointView checkpoint;  // covers the rotation's event, signed by the old key
};

// The origin for a new log: `log_origin` when given; else `<host of public_url>/api/v1/audit/log`
// (with its port, when it has one); else `vouch-<16 random hex digits>/api/v1/audit/log`.
// INVALID_ARGUMENT when `log_origin` is not a valid key name (empty, spaces, '+').
Result<std::string> ChooseLogOrigin(std::string_view log_origin, std::string_view public_url);

class CheckpointService {
 public:
  using Listener = std::function<void(const CheckpointView&)>;

  // `master_key` is 32 raw bytes (ParseMasterKey).
  CheckpointService(MutationExecutor& executor, Authorizer authz, const Clock& clock,
                    std::string master_key);

  // One-time set-up (call inside Store::RunExclusive): makes the first signing key, named
  // `wanted_origin`, when the store has none (recorded as `secret.created`); otherwise keeps the
  // stored origin, warning when `wanted_origin` differs and `origin_was_given` (it came from
  // --log-origin or --public-url, not made up at random for a new log). INVALID_ARGUMENT for an
  // invalid origin; FAILED_PRECONDITION when the stored key does not open with this master key.
  Status Init(std::string_view wanted_origin, bool origin_was_given = true);
  // The log's origin (after Init).
  std::string Origin() const;

  // Wiring: `fn` runs after each checkpoint this server made has committed.
  void AddListener(Listener fn);

  // Signs and stores a checkpoint of the current tree when it grew since the latest, then runs
  // the listeners; otherwise returns the latest. NOT_FOUND when the log is empty and no checkpoint
  // exists; the store's codes.
  Result<CheckpointView> Make(TimeMs now);
  // The work of Make inside the caller's write transaction (the leader's job): the checkpoint made,
  // or nullopt when the tree did not grow. The caller runs Notify after its commit.
  Result<std::optional<CheckpointView>> MakeIn(store::Tx& tx, TimeMs now);
  void Notify(const CheckpointView& made) const;
  // Whether the leader's job should make one now: the tree grew by at least `events` since the
  // latest checkpoint, or it grew at all and the latest is `interval_ms` old (or there is none).
  Result<bool> Due(store::Tx& tx, TimeMs now, TimeMs interval_ms, int64_t events) const;

  // The admin's on-demand checkpoint (POST /api/v1/audit/checkpoints): Make, admins only
  // (PERMISSION_DENIED otherwise).
  Result<CheckpointView> MakeFor(const RequestContext& ctx);

  // The latest checkpoint / the one at `size`; NOT_FOUND when there is none.
  Result<CheckpointView> Latest() const;
  Result<CheckpointView> AtSize(uint64_t size) const;
  // Oldest first, strictly after checkpoint id `after_id`, at most `limit`.
  Result<std::vector<CheckpointView>> List(int64_t after_id, int limit) const;
  // Every key ever made, oldest first.
  Result<std::vector<SigningKeyView>> PublicKeys() const;
  // Every key as a note verifier.
  Result<std::vector<tlog::Verifier>> Verifiers() const;

  // A new signing key (see the file comment); admins only (PERMISSION_DENIED otherwise). The
  // store's codes, and Make's.
  Result<KeyRotation> RotateKey(const RequestContext& ctx);

  // The start check: FAILED_PRECONDITION when the log holds fewer events, or its tree is smaller,
  // than the latest checkpoint says (naming both sizes), when the tree's root at that size is not
  // the checkpoint's, or when the checkpoint does not verify with the log's keys.
  Status CheckLog() const;
  // The same against a checkpoint kept outside the store (the checkpoint file): `note` must open
  // with one of the log's keys and be of its origin, and the log must hold it (its size and its
  // root at that size). FAILED_PRECONDITION naming what differs.
  Status CheckSaved(std::string_view note, std::string_view where) const;

 private:
  Result<tlog::Signer> SignerOf(const store::AuditSigningKey& key) const;
  Result<CheckpointView> ViewOf(store::Tx& tx, const store::AuditCheckpointRow& row) const;
  Status CheckAgainst(store::Tx& tx, uint64_t size, const tlog::Hash& root,
                      std::string_view what) const;

  MutationExecutor& executor_;
  store::Store& store_;
  const Authorizer authz_;
  const Clock& clock_;
  const std::string master_key_;
  std::vector<Listener> listeners_;  // set at wiring

  mutable std::mutex mu_;
  std::string origin_;                               // guarded by mu_
  mutable std::map<int64_t, tlog::Signer> signers_;  // guarded by mu_: opened seeds by key row
};

}  // namespace vouch::service

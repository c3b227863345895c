// Verifying the stored audit log end to end: every event present, in order, in canonical form,
// the stored Merkle tree exactly the tree of the stored bytes, and the Merkle root over all of
// them that two copies of a log can be compared by.
//
// The root is the RFC 9162 tree hash with event seq's stored bytes as leaf seq - 1 (audit/tree.h),
// printed as 64 hex digits: the same tree head a checkpoint signs (in base64 there). Before issue
// 14 vouch printed a hash chain over the same bytes, the "log digest":
//   h_0 = 32 zero bytes,  h_i = SHA-256(h_{i-1} || SHA-256(body_i)),  digest = hex(h_N).
// It is still computed (`chain_digest`, `vouch audit verify --chain-digest`), so that a digest
// kept from an older backup can be compared. Equal roots (or digests) mean the same events, byte
// for byte, in the same order.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/store/log_summary.h"
#include "vouch/store/store.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/util/status.h"

namespace vouch::audit {

struct LogVerification {
  int64_t count = 0;         // events in the log, 1..count
  std::string head_digest;   // the Merkle root over them, 64 hex digits
  std::string chain_digest;  // the hash chain of earlier versions, 64 hex digits
};

// The hash chain above, one stored body at a time.
class LogDigest {
 public:
  LogDigest();
  void Add(std::string_view body);
  // Lowercase hex of the current chain value.
  std::string Hex() const;

 private:
  std::string chain_;  // 32 raw bytes
};

// Reads the whole log inside `tx` (in pages, one snapshot) and checks that the sequence numbers are
// exactly 1..N, that each body is JSON already in canonical (RFC 8785) form, that its "seq" equals
// the row's, that its "schema", when it has one, is one this binary knows (1 or 2), that the
// store's head agrees with N, and that the stored Merkle tree (every stored hash, its size and
// right edge) is the tree of the stored bytes. DATA_LOSS naming the first bad sequence number, or
// the first stored tree hash that differs, when a check fails; FAILED_PRECONDITION when the
// store's tree was switched off (a benchmark's); the store's own codes (UNAVAILABLE, INTERNAL)
// when reading fails.
Result<LogVerification> VerifyLog(store::Tx& tx);

// VerifyLog's count and digest, and the latest signed checkpoint with its cosignature lines (none
// when the log has no checkpoint yet), in the form a copy checks both sides with
// (store::CopyOptions::check_log). The checkpoint is checked inside `tx` too: its note opens with
// the signing key its row names, signs the size and root its row says, and that root is the tree
// hash of the log's first `size` events, read from the stored tree (TreeReader). DATA_LOSS naming
// the checkpoint's size when it does not hold; otherwise VerifyLog's codes.
Result<store::LogSummary> VerifiedLogSummary(store::Tx& tx);

// VerifyLog inside one Read of `store`.
Result<LogVerification> Verify(store::Store& store);

// What reading the whole log found, whether or not it verifies: for a copy that is kept although
// its log does not verify (`vouch backup --unverified`), the digest still says which events it
// holds, byte for byte.
struct LogInspection {
  int64_t count = 0;         // events stored
  std::string head_digest;   // the Merkle root over all of them, in sequence order
  std::string chain_digest;  // the hash chain of earlier versions over them
  Status problem;            // OK when the log verifies; else VerifyLog's DATA_LOSS
};

// Reads the whole log inside `tx` as VerifyLog does, but carries on past the first problem so that
// the digest covers every stored event. Fails only when reading fails (the store's own codes).
Result<LogInspection> InspectLog(store::Tx& tx);

// InspectLog inside one Read of `store`.
Result<LogInspection> Inspect(store::Store& store);

}  // namespace vouch::audit

// ---- The verification engine (issue 14)
//
// One engine behind every way of checking a log offline (a data directory or store, an export
// directory, a server's entries, a proof file's checkpoint): it is fed the events as they stand in
// their source, in order, and the signed checkpoints found beside them, and reports exactly what is
// wrong. It streams: it keeps the tree's right edge (O(log n) hashes), the checkpoints, and the
// sequence numbers still missing, never the events.
namespace vouch::audit {

// What a finding is about. Names are stable (the JSON output carries them).
enum class FindingKind {
  kAltered,             // an event's bytes differ from what the tree or a checkpoint commits to
  kMissing,             // an event is not there
  kReordered,           // an event is there, but after a later one
  kAppendedOutOfOrder,  // an event stands where another's number belongs (a row's seq is not its
                        // body's, a duplicate)
  kNotCanonical,        // not JSON in RFC 8785 form, no integer "seq", an unknown schema
  kTruncated,           // the log is shorter than a checkpoint (or the head) says it was
  kSignatureInvalid,    // a checkpoint's signature by a known key does not verify
  kUnknownKey,          // no trusted key signed a checkpoint
  kInconsistent,        // a checkpoint (or the saved one) commits to another log than this one
  kMalformed,           // a checkpoint, key or line that cannot be read at all
};
std::string_view FindingKindName(FindingKind kind);

struct Finding {
  FindingKind kind = FindingKind::kMalformed;
  int64_t seq = 0;      // the event it names; 0 when it names none
  std::string message;  // a sentence naming the event, checkpoint or key
};

// A signed checkpoint (tlog-checkpoint as a signed note, cosignature lines allowed) and where it
// was found ("checkpoints/120", "the store", the saved file's path), for messages.
struct CheckpointSource {
  std::string where;
  std::string note;
};

struct EngineOptions {
  // Keys the user trusts (--key). When given, only they can make a checkpoint valid.
  std::vector<tlog::Verifier> trusted_keys;
  // The keys the log publishes (keys.txt, the store, the server); used when no trusted key is
  // given (the check is then that the log agrees with itself, not with an outside party).
  std::vector<tlog::Verifier> published_keys;
  // Check each event's canonical form (RFC 8785, its "seq", its schema); the hash pass runs
  // either way.
  bool check_canonical = true;
  // Also compute the hash-chain "log digest" that versions before the Merkle log printed
  // (`--chain-digest`), to compare with one kept from an older backup.
  bool chain_digest = false;
  // At most this many findings are kept; the rest are counted.
  int max_findings = 50;
  // What the source calls an event's position ("line"); empty when its events are rows named by
  // their seq.
  std::string position_name;
};

// The stored leaf hashes [first, first + count) of the tree the source holds (the store's tiles, an
// export's tiles): an event whose leaf hash differs is named as altered. Returns fewer when the
// tree has fewer. Its failures become findings.
using LeafHashReader = std::function<Result<std::vector<tlog::Hash>>(uint64_t first, int count)>;

struct VerificationReport {
  uint64_t events = 0;             // events read
  int64_t last_seq = 0;            // the largest seq among them (a row\'s or a body\'s)
  tlog::Hash root{};               // Merkle root over them, in the order read
  uint64_t checkpoints = 0;        // checkpoints given
  uint64_t checkpoints_ok = 0;     // checkpoints whose signature and root hold
  uint64_t latest_checkpoint = 0;  // size of the largest checkpoint that holds (0: none)
  bool saved_checked = false;      // a saved checkpoint was given and holds
  std::vector<Finding> findings;   // the first options.max_findings, in the order found
  uint64_t findings_dropped = 0;
  double canonical_seconds = 0;  // time spent in the canonical-form check
  std::string chain_digest;      // hex, when EngineOptions::chain_digest
  bool ok() const { return findings.empty() && findings_dropped == 0; }
  std::string RootHex() const;
  std::string RootBase64() const;
};

// Not thread-safe. Give the checkpoints, the saved one and the leaf reader first, then every event
// in the source's order, then Finish once.
class LogVerifier {
 public:
  explicit LogVerifier(EngineOptions options);

  // A checkpoint published with the log: its signature is checked now (by the trusted keys, else
  // the published ones); the log's root at its size is compared when the events reach it.
  void AddCheckpoint(const CheckpointSource& checkpoint);
  // A checkpoint saved earlier, outside the log: the log must hold it (consistency).
  void SetSavedCheckpoint(const CheckpointSource& checkpoint);
  void SetLeafHashReader(LeafHashReader reader);
  // A key the log publishes, found with it (before its checkpoints are added); used when no
  // trusted key was given.
  void AddPublishedKey(const tlog::Verifier& key);
  // The number of events the source says it holds (the store's head): fewer read is truncation.
  void SetExpectedCount(uint64_t count);

  // The next event. `stored_seq` is the number the source stores it under (a row's seq), 0 when the
  // source has none beyond the body's (an export line, named by its position in messages as
  // options.position_name, e.g. "line").
  void AddEvent(int64_t stored_seq, std::string_view body);
  // A unit of the source that could not be read as an event at all (counted as a position).
  void AddUnreadable(std::string message);
  // A problem found outside the events (a key file line, a directory entry).
  void AddFinding(FindingKind kind, int64_t seq, std::string message);

  VerificationReport Finish();

 private:
  // A checkpoint waiting for the log to reach its size.
  struct Pending {
    uint64_t size = 0;
    tlog::Hash root{};
    std::string where;
    std::string signed_by;
    bool saved = false;
  };
  void Record(FindingKind kind, int64_t seq, std::string message);
  void CheckLeafReference(uint64_t index, const tlog::Hash& leaf, bool in_place);
  std::string Position(uint64_t position) const;
  void AtSize(uint64_t size);

  EngineOptions options_;
  std::vector<tlog::Verifier> verifiers_;
  std::vector<Pending> pending_;  // sorted by size
  size_t next_pending_ = 0;
  tlog::RightEdge edge_;
  int64_t last_seq_ = 0;    // the largest body seq seen
  std::set<int64_t> gaps_;  // seqs skipped over and not seen yet (bounded)
  uint64_t gap_overflow_ = 0;
  std::optional<uint64_t> expected_count_;
  LeafHashReader leaf_reader_;
  uint64_t leaf_cache_first_ = 0;
  std::vector<tlog::Hash> leaf_cache_;
  bool leaf_reader_failed_ = false;
  tlog::RightEdge reference_edge_;  // over the leaf reader's hashes, position by position
  // While every stored leaf hash read equals the event's own, reference_edge_ is not kept: edge_
  // is the same tree.
  bool reference_is_edge_ = true;
  uint64_t first_altered_ = 0;   // the first event (position) found altered, 0: none
  uint64_t last_good_size_ = 0;  // the largest checkpoint size whose root the log matched
  VerificationReport report_;
  std::optional<LogDigest> chain_;  // when options_.chain_digest
};

// Feeds `v` the log stored in `tx` (one snapshot): every event in seq order with its row's seq,
// the head's count, and the stored Merkle tree — its leaf hashes as the reference that names an
// altered event, and every stored tile-level hash, size and edge checked against the tree of the
// stored bytes (StoredTreeCheck; a difference is a finding). Fails only when reading fails (the
// store's codes).
Status FeedStoredLog(store::Tx& tx, LogVerifier& v);

// The top-level "seq" of a canonical event body without parsing all of it (the hash pass's fast
// path): nullopt when the body has none or is not an object.
std::optional<int64_t> ScanSeq(std::string_view body);

// Checks one event's canonical form as VerifyLog does: JSON in RFC 8785 form, an integer "seq"
// equal to `seq`, a known schema. DATA_LOSS naming the event.
Status CheckCanonicalEvent(std::string_view body, int64_t seq);

}  // namespace vouch::audit

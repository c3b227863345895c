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
#include <string>
#include <string_view>

#include "vouch/store/log_summary.h"
#include "vouch/store/store.h"
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

// VerifyLog's count and digest, in the form a copy checks both sides with
// (store::CopyOptions::check_log).
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

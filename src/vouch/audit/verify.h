// Verifying the stored audit log end to end: every event present, in order, in canonical form,
// and a digest over all of them that two copies of a log can be compared by.
//
// The log digest is a hash chain over the stored bytes:
//   h_0 = 32 zero bytes,  h_i = SHA-256(h_{i-1} || SHA-256(body_i)),  digest = hex(h_N).
// Equal digests mean the same events, byte for byte, in the same order. (The Merkle tree head of
// docs/design.md will take its place; the command-line name "log digest" stays.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vouch/store/log_summary.h"
#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::audit {

struct LogVerification {
  int64_t count = 0;        // events in the log, 1..count
  std::string head_digest;  // the log digest after the last event, 64 hex digits
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
// the row's, that its "schema", when it has one, is one this binary knows (1 or 2), and that the
// store's head agrees with N. DATA_LOSS naming the first bad sequence number when a check fails;
// the store's own codes (UNAVAILABLE, INTERNAL) when reading fails.
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
  int64_t count = 0;        // events stored
  std::string head_digest;  // the log digest over all of them, in sequence order
  Status problem;           // OK when the log verifies; else VerifyLog's DATA_LOSS
};

// Reads the whole log inside `tx` as VerifyLog does, but carries on past the first problem so that
// the digest covers every stored event. Fails only when reading fails (the store's own codes).
Result<LogInspection> InspectLog(store::Tx& tx);

// InspectLog inside one Read of `store`.
Result<LogInspection> Inspect(store::Store& store);

}  // namespace vouch::audit

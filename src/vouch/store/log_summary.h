// One store's audit log as a check reports it: how many events, the digest over them, and the
// latest signed checkpoint. The check itself belongs to audit/ (audit::VerifiedLogSummary); the
// copier (storage/copy.h) runs it on both sides of a copy through LogCheck, so neither storage/ nor
// store/ reaches up into audit/, and audit/ need not include the copier.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::store {

// The log's latest (largest) signed checkpoint, as the server serves it.
struct CheckpointSummary {
  int64_t size = 0;
  std::string root;  // standard base64 of the 32-byte root, as in the checkpoint
  std::string note;  // the signed note with its cosignature lines appended
  bool operator==(const CheckpointSummary&) const = default;
};

struct LogSummary {
  int64_t events = 0;
  std::string digest;
  std::optional<CheckpointSummary> checkpoint;  // nullopt: none signed yet
  bool operator==(const LogSummary&) const = default;
};
using LogCheck = std::function<Result<LogSummary>(Tx& tx)>;

}  // namespace vouch::store

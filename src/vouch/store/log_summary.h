// One store's audit log as a check reports it: how many events and the digest over them. The
// check itself belongs to audit/ (audit::VerifiedLogSummary); the copier (storage/copy.h) runs it
// on both sides of a copy through LogCheck, so neither storage/ nor store/ reaches up into audit/,
// and audit/ need not include the copier.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "vouch/store/store.h"
#include "vouch/util/status.h"

namespace vouch::store {

struct LogSummary {
  int64_t events = 0;
  std::string digest;
  bool operator==(const LogSummary&) const = default;
};
using LogCheck = std::function<Result<LogSummary>(Tx& tx)>;

}  // namespace vouch::store

// The fingerprint of a version under a policy: what a reviewer saw when they signed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/domain/model.h"
#include "vouch/policy/facts.h"
#include "vouch/policy/policy.h"

namespace vouch::policy {

struct FingerprintInput {
  std::string source;
  std::string artifact_digest;
  MetricMap metrics;
  StringMap params;
  StringMap tags;                       // all version tags; only `stale_tags` are covered
  std::vector<std::string> stale_tags;  // the governing policy's `stale.tags`
  std::string policy_name;
  int64_t policy_version = 0;
};

// Lower-case hex SHA-256 over the RFC 8785 canonical JSON of
//   {"artifact_digest", "metrics", "params", "policy": {"name", "version"}, "source", "tags"}
// where "tags" holds only the covered tags that are set (a covered tag that is missing and one
// that is set are different fingerprints). A metric that is not finite is written as the string
// "NaN", "Infinity" or "-Infinity". Any change to a covered input gives another fingerprint.
std::string Fingerprint(const FingerprintInput& input);

// The same, straight from the version and its governing policy (without copying them).
std::string VersionFingerprint(const VersionFacts& version, const Policy& policy,
                               int64_t policy_version);

}  // namespace vouch::policy

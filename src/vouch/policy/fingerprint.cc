#include "vouch/policy/fingerprint.h"

#include <cmath>

#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::policy {

namespace {

std::string FingerprintOf(const std::string& source, const std::string& artifact_digest,
                          const MetricMap& metrics_in, const StringMap& params_in,
                          const StringMap& tags_in, const std::vector<std::string>& stale_tags,
                          const std::string& policy_name, int64_t policy_version) {
  json::object metrics;
  for (const auto& [k, v] : metrics_in) {
    if (std::isfinite(v)) {
      metrics[k] = v;
    } else {
      metrics[k] = std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
    }
  }
  json::object params;
  for (const auto& [k, v] : params_in) params[k] = v;
  json::object tags;
  for (const std::string& name : stale_tags) {
    auto it = tags_in.find(name);
    if (it != tags_in.end()) tags[name] = it->second;
  }
  json::object o;
  o["source"] = source;
  o["artifact_digest"] = artifact_digest;
  o["metrics"] = std::move(metrics);
  o["params"] = std::move(params);
  o["tags"] = std::move(tags);
  o["policy"] = {{"name", policy_name}, {"version", policy_version}};
  // Inputs come validated from the store (UTF-8, finite numbers handled above); should one not
  // be, the plain serialization still changes whenever an input does.
  auto canonical = CanonicalJson(o);
  return Sha256Hex(canonical.ok() ? *canonical : SerializeJson(o));
}

}  // namespace

std::string Fingerprint(const FingerprintInput& f) {
  return FingerprintOf(f.source, f.artifact_digest, f.metrics, f.params, f.tags, f.stale_tags,
                       f.policy_name, f.policy_version);
}

std::string VersionFingerprint(const VersionFacts& v, const Policy& policy,
                               int64_t policy_version) {
  return FingerprintOf(v.source, v.artifact_digest, v.metrics, v.params, v.tags, policy.stale_tags,
                       policy.name, policy_version);
}

}  // namespace vouch::policy

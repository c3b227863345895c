#include "vouch/policy/fingerprint.h"

#include <cmath>

#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::policy {

std::string Fingerprint(const FingerprintInput& input) {
  json::object metrics;
  for (const auto& [k, v] : input.metrics) {
    if (std::isfinite(v)) {
      metrics[k] = v;
    } else {
      metrics[k] = std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
    }
  }
  json::object params;
  for (const auto& [k, v] : input.params) params[k] = v;
  json::object tags;
  for (const std::string& name : input.stale_tags) {
    auto it = input.tags.find(name);
    if (it != input.tags.end()) tags[name] = it->second;
  }
  json::object o;
  o["source"] = input.source;
  o["artifact_digest"] = input.artifact_digest;
  o["metrics"] = std::move(metrics);
  o["params"] = std::move(params);
  o["tags"] = std::move(tags);
  o["policy"] = {{"name", input.policy_name}, {"version", input.policy_version}};
  // Inputs come validated from the store (UTF-8, finite numbers handled above); should one not
  // be, the plain serialization still changes whenever an input does.
  auto canonical = CanonicalJson(o);
  return Sha256Hex(canonical.ok() ? *canonical : SerializeJson(o));
}

}  // namespace vouch::policy

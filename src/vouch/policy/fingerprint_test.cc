#include "vouch/policy/fingerprint.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace vouch::policy {
namespace {

FingerprintInput BaseFingerprint() {
  return {.source = "s3://m/1",
          .artifact_digest = "sha256:aa",
          .metrics = {{"auc", 0.9}},
          .params = {{"lr", "0.1"}},
          .tags = {{"model_card", "x"}, {"team", "risk"}},
          .stale_tags = {"model_card"},
          .policy_name = "production",
          .policy_version = 1};
}

TEST(Fingerprint, IsTheSha256OfTheCanonicalInputs) {
  // sha256sum of {"artifact_digest":"sha256:aa","metrics":{"auc":0.9},"params":{"lr":"0.1"},
  //  "policy":{"name":"production","version":1},"source":"s3://m/1","tags":{"model_card":"x"}}
  EXPECT_EQ(Fingerprint(BaseFingerprint()),
            "a374cd3c16c0a92fa49d94886cff9a46f60971832a81627574c22dfaa81ee9de");
}

TEST(Fingerprint, ChangesWithEveryCoveredInputAndOnlyThose) {
  const std::string base = Fingerprint(BaseFingerprint());
  std::vector<std::function<void(FingerprintInput&)>> changes = {
      [](FingerprintInput& f) { f.source = "s3://m/2"; },
      [](FingerprintInput& f) { f.artifact_digest = "sha256:bb"; },
      [](FingerprintInput& f) { f.metrics["auc"] = 0.91; },
      [](FingerprintInput& f) { f.metrics["f1"] = 0.5; },
      [](FingerprintInput& f) { f.params["lr"] = "0.2"; },
      [](FingerprintInput& f) { f.tags["model_card"] = "y"; },
      [](FingerprintInput& f) { f.tags.erase("model_card"); },
      [](FingerprintInput& f) { f.policy_name = "prod"; },
      [](FingerprintInput& f) { f.policy_version = 2; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    FingerprintInput f = BaseFingerprint();
    changes[i](f);
    EXPECT_NE(Fingerprint(f), base) << "change " << i;
  }
  FingerprintInput f = BaseFingerprint();
  f.tags["team"] = "growth";  // not in stale_tags
  EXPECT_EQ(Fingerprint(f), base);
}

TEST(Fingerprint, OfAVersionUnderAPolicyIsTheSameFunction) {
  FingerprintInput f = BaseFingerprint();
  VersionFacts v{.source = f.source,
                 .artifact_digest = f.artifact_digest,
                 .metrics = f.metrics,
                 .params = f.params,
                 .tags = f.tags};
  Policy p;
  p.name = f.policy_name;
  p.stale_tags = f.stale_tags;
  EXPECT_EQ(VersionFingerprint(v, p, f.policy_version), Fingerprint(f));
}

}  // namespace
}  // namespace vouch::policy

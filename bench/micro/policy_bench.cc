// Evaluating one gate (issue 12: under 20 µs): a policy of 3 rules, 5 required checks and 5
// conditions, against a request with 20 reviews, as the service does inside the transaction that
// applies a move. Includes computing the version's fingerprint. Built into
// build/release/vouch_microbench; run with --benchmark_filter=Gate.
#include <benchmark/benchmark.h>

#include <string>

#include "vouch/policy/evaluator.h"
#include "vouch/policy/fingerprint.h"
#include "vouch/policy/policy.h"

namespace {

using namespace vouch::policy;

constexpr std::string_view kPolicy = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
      - {from: [{role: business-owner}, {user: ana}], count: 1, meaning: approved}
      - {from: [{group: risk}], count: 1}
    separation_of_duties: {requester: true, author: true, tags: [commit_author]}
    checks: [ci/tests, bias-scan, security/scan, data/drift, perf/latency]
    conditions: ["metrics.auc >= 0.9", "metrics.bias_gap <= 0.05", "tags.model_card exists",
                 "params.max_depth <= 12", "metrics.latency_ms < 50 and description exists"]
    wait: {in_stage: Staging, at_least: 24h}
    expiry: {request: 7d, approval: 30d}
    stale: {tags: [model_card]}
)";

void BM_GateEvaluation(benchmark::State& state) {
  const Policy policy = (*ParsePolicyFile(kPolicy))[0];
  constexpr vouch::TimeMs kNow = 1'800'000'000'000;
  GateInput in;
  in.policy_version = 3;
  in.request.requester.id = 1;
  in.request.requester.username = "req";
  in.request.created_ms = kNow - 3'600'000;
  in.version.created_by_id = 2;
  in.version.source = "s3://models/fraud/7/model.tar.gz";
  in.version.artifact_digest =
      "sha256:9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b";
  in.version.metrics = {{"auc", 0.93}, {"bias_gap", 0.02}, {"latency_ms", 12.5}, {"f1", 0.87}};
  in.version.params = {{"max_depth", "8"}, {"lr", "0.1"}, {"optimizer", "adam"}};
  in.version.tags = {{"model_card", "https://cards/7"}, {"commit_author", "Dev <dev@x.com>"}};
  in.version.description = "fraud model";
  in.version.entered_wait_stage_ms = kNow - 48 * 3'600'000LL;
  const std::string fp = Fingerprint({in.version.source, in.version.artifact_digest,
                                      in.version.metrics, in.version.params, in.version.tags,
                                      policy.stale_tags, policy.name, in.policy_version});
  const char* roles[] = {"ml-engineer", "business-owner", "data-scientist", "ml-engineer"};
  for (int i = 0; i < 20; ++i) {
    Review r;
    r.id = 100 + i;
    r.reviewer.id = 10 + i;
    r.reviewer.username = "user" + std::to_string(i);
    r.reviewer.email = r.reviewer.username + "@example.com";
    r.reviewer.roles = {roles[i % 4]};
    if (i % 5 == 0) r.reviewer.groups = {"risk"};
    r.fingerprint = i % 7 == 6 ? "stale" : fp;
    r.time_ms = kNow - 3'000'000 + i;
    in.reviews.push_back(std::move(r));
  }
  int64_t id = 1000;
  for (const std::string& name : policy.checks) {
    in.checks.push_back({id++, name, CheckState::kSuccess, fp, kNow - 10'000});
  }
  vouch::FakeClock clock(kNow);
  for (auto _ : state) {
    Evaluation e = Evaluate(policy, in, clock);
    benchmark::DoNotOptimize(e);
    if (e.outcome != Outcome::kSatisfied) state.SkipWithError("the gate should be satisfied");
  }
}
BENCHMARK(BM_GateEvaluation);

// The part of the gate every evaluation pays first: the fingerprint of the version.
void BM_GateFingerprint(benchmark::State& state) {
  FingerprintInput f{.source = "s3://models/fraud/7/model.tar.gz",
                     .artifact_digest = "sha256:9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b",
                     .metrics = {{"auc", 0.93}, {"bias_gap", 0.02}, {"latency_ms", 12.5}},
                     .params = {{"max_depth", "8"}, {"lr", "0.1"}, {"optimizer", "adam"}},
                     .tags = {{"model_card", "https://cards/7"}},
                     .stale_tags = {"model_card"},
                     .policy_name = "production",
                     .policy_version = 3};
  for (auto _ : state) benchmark::DoNotOptimize(Fingerprint(f));
}
BENCHMARK(BM_GateFingerprint);

}  // namespace

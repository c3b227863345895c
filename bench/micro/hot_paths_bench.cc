// Micro-benchmarks of the pure functions every request pays for: hashing a bearer token to look it
// up (auth), parsing a request body, and producing the canonical bytes of an audit event (audit).
// Built by CMake into build/release/vouch_microbench; `make bench` runs it and records the results.
#include <benchmark/benchmark.h>

#include <string>

#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace {

// An audit event as the service writes it for `POST /api/v1/models/bench/versions`: the shape of
// docs/api.md, with members in the order a builder would add them (not sorted).
vouch::json::object TypicalAuditEvent() {
  vouch::json::object e;
  e["schema"] = 1;
  e["seq"] = 123456;
  e["time"] = "2026-11-25T14:00:00.123Z";
  e["time_ms"] = 1764079200123;
  e["actor"] = {{"id", 1}, {"name", "admin"}, {"auth", "token"}};
  e["source"] = {{"door", "native"}, {"address", "127.0.0.1"}, {"user_agent", "vouch-cli/0.1"}};
  e["action"] = "model_version.created";
  e["target"] = {{"type", "model_version"}, {"model", "fraud-detector"}, {"version", 42}};
  e["before"] = nullptr;
  vouch::json::object after;
  after["source"] = "s3://bucket/models/fraud-detector/42/model.tar.gz";
  after["run_id"] = "9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b";
  after["tags"] = {{"commit", "1a2b3c4d"}, {"team", "risk"}};
  after["metrics"] = {{"auc", 0.9312}, {"f1", 0.871}, {"latency_ms", 12.5}};
  after["params"] = {{"lr", "0.1"}, {"max_depth", "8"}};
  after["stage"] = "None";
  after["status"] = "READY";
  e["after"] = std::move(after);
  e["comment"] = "";
  e["request_id"] = "8e2b0c4f9a1d4c7b";
  e["outcome"] = "done";
  return e;
}

void BM_CanonicalJsonAuditEvent(benchmark::State& state) {
  const vouch::json::value event = TypicalAuditEvent();
  size_t bytes = 0;
  for (auto _ : state) {
    auto canonical = vouch::CanonicalJson(event);
    if (!canonical.ok()) {
      state.SkipWithError("CanonicalJson refused the event");
      break;
    }
    bytes = canonical->size();
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_CanonicalJsonAuditEvent);

// Canonical bytes, then their SHA-256: what appending an event to the Merkle log costs before I/O.
void BM_CanonicalJsonThenSha256(benchmark::State& state) {
  const vouch::json::value event = TypicalAuditEvent();
  for (auto _ : state) {
    auto canonical = vouch::CanonicalJson(event);
    if (!canonical.ok()) {
      state.SkipWithError("CanonicalJson refused the event");
      break;
    }
    benchmark::DoNotOptimize(vouch::Sha256Hex(*canonical));
  }
}
BENCHMARK(BM_CanonicalJsonThenSha256);

// A bearer token as vouch issues them (32 random bytes, base64url): hashed once per request to find
// its principal.
void BM_Sha256HexToken(benchmark::State& state) {
  const std::string token = vouch::Base64UrlEncode(vouch::RandomBytes(32));
  for (auto _ : state) {
    benchmark::DoNotOptimize(vouch::Sha256Hex(token));
  }
}
BENCHMARK(BM_Sha256HexToken);

// The body of the create-version benchmark request, parsed as the native API parses it.
void BM_ParseCreateVersionBody(benchmark::State& state) {
  const std::string body =
      R"({"source":"s3://bench/model.tgz","run_id":"r1","metrics":{"auc":0.9}})";
  for (auto _ : state) {
    auto parsed = vouch::ParseJsonObject(body);
    if (!parsed.ok()) {
      state.SkipWithError("ParseJsonObject refused the body");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseCreateVersionBody);

}  // namespace

BENCHMARK_MAIN();

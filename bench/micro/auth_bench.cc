// Micro-benchmarks of authentication (issue 5): a bearer token checked on a hot cache, and a whole
// get-version request through the dispatcher (authentication, routing, the handler, JSON), on a
// SQLite store in a temporary directory. `scripts/bench` also runs the dispatcher benchmark under
// callgrind to count the share of a get-version request's instructions that authentication takes.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "vouch/app/app.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/util/crypto.h"

namespace {

constexpr char kToken[] = "vch_bench-token-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

// One registry with the bootstrap admin, a model "bench" and its version 1: the App a server runs
// (its background jobs not started), over a SQLite store in a temporary directory.
struct Fixture {
  Fixture() {
    std::string dir = (std::filesystem::temp_directory_path() / "vouch-bench-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    dir_ = dir;
    auto store = vouch::store::SqliteStore::Open({.path = dir + "/vouch.db"});
    if (!store.ok()) std::abort();
    auto made = vouch::app::App::Create(std::move(store).value(),
                                        {.master_key = vouch::RandomBytes(32),
                                         .auth = {.cache_ttl_ms = 3'600'000},
                                         .bootstrap_token = kToken},
                                        clock);
    if (!made.ok()) std::abort();
    app = std::move(made).value();
    auto admin = app->auth().AuthenticateBearer(kToken);
    vouch::RequestContext ctx;
    ctx.principal = admin->principal;
    ctx.clock = &clock;
    if (!app->registry().CreateModel(ctx, {.name = "bench"}).ok()) std::abort();
    if (!app->registry().CreateVersion(ctx, {.model = "bench", .source = "s3://bench/1"}).ok()) {
      std::abort();
    }
  }
  ~Fixture() {
    app.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  vouch::SystemClock clock;
  std::unique_ptr<vouch::app::App> app;
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

// A bearer token on a hot cache: hash it, look it up, check expiry and the last-use throttle.
void BM_AuthenticateBearerHotCache(benchmark::State& state) {
  Fixture& f = Shared();
  if (!f.app->auth().AuthenticateBearer(kToken).ok())
    state.SkipWithError("the token does not work");
  for (auto _ : state) {
    auto who = f.app->auth().AuthenticateBearer(kToken);
    benchmark::DoNotOptimize(who);
  }
}
BENCHMARK(BM_AuthenticateBearerHotCache);

// GET /api/v1/models/bench/versions/1 with its bearer token, through the dispatcher.
void BM_DispatchGetVersion(benchmark::State& state) {
  Fixture& f = Shared();
  vouch::api::HttpRequest r;
  r.method = "GET";
  r.target = "/api/v1/models/bench/versions/1";
  r.headers = {{"authorization", std::string("Bearer ") + kToken}, {"user-agent", "bench/1"}};
  r.remote_address = "127.0.0.1";
  for (auto _ : state) {
    vouch::api::HttpResponse resp = f.app->Handle(r);
    if (resp.status != 200) {
      state.SkipWithError("get-version did not answer 200");
      break;
    }
    benchmark::DoNotOptimize(resp);
  }
}
BENCHMARK(BM_DispatchGetVersion);

}  // namespace

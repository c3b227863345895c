// Micro-benchmarks of the store's two hot paths, through store::Store as the service uses it:
// - GetVersion: one read transaction, FindModel + FindVersion with their details (tags, aliases,
//   latest version; tags, metrics, params, aliases), the read path of get-version.
// - CreateVersion: one durable write transaction as create-version runs it: lock the model row,
//   insert the version with tags, metrics and params, update the model, append the audit event and
//   its outbox row; Write returns after the commit is durable.
// On SQLite (a file in a temporary directory) always; on PostgreSQL when VOUCH_TEST_POSTGRES_DSN is
// set (in a schema of its own, dropped at the end). Used to compare store implementations
// (docs/benchmarks.md, "Store: one implementation of Tx"). The workload is bench/store_workload.h,
// shared with bench/soci.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "../store_workload.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/store/store.h"

namespace {

using vouch::OkStatus;
using vouch::Status;
using vouch::store::Store;
using vouch::store::Tx;

using vouch::bench::CreateVersion;
using vouch::bench::kSeedVersions;
using vouch::bench::ReadVersion;
using vouch::bench::Seed;

void GetVersion(benchmark::State& state, Store& store) {
  int64_t n = 0;
  for (auto _ : state) {
    int64_t number = kSeedVersions / 2 + (n++ % 2);
    Status s = store.Read([&](Tx& tx) { return ReadVersion(tx, number); });
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
}

void DurableCreate(benchmark::State& state, Store& store) {
  for (auto _ : state) {
    Status s = store.Write(CreateVersion);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
}

// A seeded SQLite store in a temporary directory, removed at exit.
struct SqliteFixture {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  SqliteFixture() {
    std::string templ = (std::filesystem::temp_directory_path() / "vouch-bench-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    dir = templ;
    auto opened = vouch::store::SqliteStore::Open({.path = (dir / "vouch.db").string()});
    if (!opened.ok()) std::abort();
    store = std::move(opened).value();
    if (!Seed(*store).ok()) std::abort();
  }
  ~SqliteFixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

SqliteFixture& Sqlite() {
  static SqliteFixture fixture;
  return fixture;
}

// A seeded PostgreSQL store in a schema of its own; null without VOUCH_TEST_POSTGRES_DSN.
struct PostgresFixture {
  std::string dsn;
  std::string schema = "bench_store_" + std::to_string(getpid());
  std::unique_ptr<Store> store;
  PostgresFixture() {
    const char* env = std::getenv("VOUCH_TEST_POSTGRES_DSN");
    if (env == nullptr || *env == '\0') return;
    dsn = env;
    auto opened = vouch::store::PostgresStore::Open({.dsn = dsn, .schema = schema});
    if (!opened.ok()) std::abort();
    store = std::move(opened).value();
    if (!Seed(*store).ok()) std::abort();
  }
  ~PostgresFixture() {
    if (store == nullptr) return;
    store.reset();
    PGconn* c = PQconnectdb(dsn.c_str());
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PQclear(PQexec(c, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
    PQfinish(c);
  }
};

PostgresFixture& Postgres() {
  static PostgresFixture fixture;
  return fixture;
}

void BM_StoreGetVersionSqlite(benchmark::State& state) { GetVersion(state, *Sqlite().store); }
BENCHMARK(BM_StoreGetVersionSqlite);

void BM_StoreDurableCreateSqlite(benchmark::State& state) { DurableCreate(state, *Sqlite().store); }
BENCHMARK(BM_StoreDurableCreateSqlite)->UseRealTime();

void BM_StoreGetVersionPostgres(benchmark::State& state) {
  if (Postgres().store == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  GetVersion(state, *Postgres().store);
}
BENCHMARK(BM_StoreGetVersionPostgres)->UseRealTime();

void BM_StoreDurableCreatePostgres(benchmark::State& state) {
  if (Postgres().store == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  DurableCreate(state, *Postgres().store);
}
BENCHMARK(BM_StoreDurableCreatePostgres)->UseRealTime();

}  // namespace

// Micro-benchmarks of the store's two hot paths, through store::Store as the service uses it:
// - GetVersion: one read transaction, FindModel + FindVersion with their details (tags, aliases,
//   latest version; tags, metrics, params, aliases), the read path of get-version.
// - CreateVersion: one durable write transaction as create-version runs it: lock the model row,
//   insert the version with tags, metrics and params, update the model, append the audit event and
//   its outbox row; Write returns after the commit is durable.
// On SQLite (a file in a temporary directory) always; on PostgreSQL when VOUCH_TEST_POSTGRES_DSN is
// set (in a schema of its own, dropped at the end). Used to compare store implementations
// (docs/benchmarks.md, "Store: one implementation of Tx").
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/store/store.h"

namespace {

using vouch::OkStatus;
using vouch::Status;
using vouch::store::Store;
using vouch::store::Tx;

constexpr char kModel[] = "bench-model";
constexpr int kSeedVersions = 200;

vouch::ModelVersion NewVersion(int64_t model_id, int64_t number) {
  vouch::ModelVersion v;
  v.model_id = model_id;
  v.model_name = kModel;
  v.version = number;
  v.source = "s3://bucket/models/bench-model/" + std::to_string(number) + "/model.tar.gz";
  v.run_id = "9f1c2a7e4b3d4e0f8a6b5c4d3e2f1a0b";
  v.status = "READY";
  v.created_ms = v.updated_ms = 1764079200123 + number;
  v.created_by = "admin";
  v.tags = {{"commit", "1a2b3c4d"}, {"team", "risk"}, {"dataset", "2026-11"}};
  v.metrics = {{"auc", 0.9312}, {"f1", 0.871}, {"latency_ms", 12.5}};
  v.params = {{"lr", "0.1"}, {"max_depth", "8"}};
  return v;
}

// Appends the version to the model as create-version does, with its audit event and outbox row.
Status CreateVersion(Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<vouch::Model> m, tx.FindModelRow(kModel));
  if (!m) return vouch::NotFound("no bench model");
  vouch::ModelVersion v = NewVersion(m->id, m->last_version + 1);
  VOUCH_TRY(tx.InsertVersion(v));
  m->last_version = v.version;
  m->updated_ms = v.created_ms;
  VOUCH_TRY(tx.UpdateModel(*m));
  vouch::AuditEvent e;
  e.time_ms = v.created_ms;
  e.actor_id = 1;
  e.actor_name = "admin";
  e.action = "model_version.created";
  e.model_id = m->id;
  e.model_name = kModel;
  e.version = v.version;
  std::string body(700, 'x');
  VOUCH_ASSIGN_OR_RETURN(int64_t seq,
                         tx.AppendAuditEvent(e, [&](int64_t n) -> vouch::Result<std::string> {
                           return body + std::to_string(n);
                         }));
  return tx.EnqueueOutbox(seq, "model_version.created", "{}", v.created_ms);
}

Status Seed(Store& store) {
  VOUCH_TRY(store.Write([](Tx& tx) -> Status {
    vouch::Model m;
    m.name = kModel;
    m.description = "a model for the store benchmarks";
    m.created_ms = m.updated_ms = 1764079200000;
    m.created_by = "admin";
    m.tags = {{"owner", "risk"}, {"tier", "1"}};
    VOUCH_TRY(tx.InsertModel(m));
    return OkStatus();
  }));
  for (int i = 0; i < kSeedVersions; ++i) VOUCH_TRY(store.Write(CreateVersion));
  return store.Write([](Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<vouch::Model> m, tx.FindModelRow(kModel));
    VOUCH_TRY(tx.SetAlias(m->id, "champion", kSeedVersions / 2));
    return tx.SetAlias(m->id, "challenger", kSeedVersions / 2 + 1);
  });
}

void GetVersion(benchmark::State& state, Store& store) {
  int64_t n = 0;
  for (auto _ : state) {
    int64_t number = kSeedVersions / 2 + (n++ % 2);
    Status s = store.Read([&](Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(std::optional<vouch::Model> m, tx.FindModel(kModel));
      VOUCH_ASSIGN_OR_RETURN(std::optional<vouch::ModelVersion> v, tx.FindVersion(m->id, number));
      if (!v || v->tags.size() != 3 || v->aliases.size() != 1) return vouch::Internal("bad read");
      benchmark::DoNotOptimize(v);
      return OkStatus();
    });
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

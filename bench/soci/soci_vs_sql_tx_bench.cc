// Measurement behind the choice of store/sql's own connection interface over SOCI (issue 10):
// the same statements through store::SqlTx (SqliteTx, PostgresTx over our connections) and through
// a SOCI prototype with prepared statements, on the same databases.
// - GetVersion: FindModel + FindVersion with details, nine statements, in one read transaction.
// - DurableCreate: create-version's statements in one write transaction that commits durably
//   (SQLite WAL with synchronous = FULL; PostgreSQL's default synchronous_commit).
// Not part of the build (SOCI is not a dependency): bench/soci/run.sh builds and runs it.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../store_workload.h"
#include "vouch/store/postgres/pg_conn.h"
#include "vouch/store/postgres/postgres_store.h"
#include "vouch/store/postgres/postgres_tx.h"
#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/sqlite/sqlite_store.h"
#include "vouch/store/sqlite/sqlite_tx.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

// SOCI's SQLite backend header includes sqlite3.h inside a namespace of its own, which clashes with
// ours; its factory is all this needs.
extern "C" soci::backend_factory const* factory_sqlite3();

namespace {

using vouch::OkStatus;
using vouch::Status;
using vouch::store::Tx;

using vouch::bench::CreateVersion;
using vouch::bench::kAuditBody;
using vouch::bench::kModel;
using vouch::bench::kSeedVersions;
using vouch::bench::NewVersion;
using vouch::bench::ReadVersion;
using vouch::bench::Seed;

// ---- The SOCI prototype: the same statements, prepared once per session, bound by reference.
struct SociModel {
  long long id = 0, created_ms = 0, updated_ms = 0, last_version = 0;
  std::string name, description, created_by;
  std::map<std::string, std::string> tags;
  std::map<std::string, long long> aliases;
  std::optional<long long> latest;
};
struct SociVersion {
  long long id = 0, model_id = 0, version = 0, created_ms = 0, updated_ms = 0;
  std::string model_name, source, run_id, model_ref, description, digest, status, stage, created_by,
      storage_location, run_link;
  std::map<std::string, std::string> tags, params;
  std::map<std::string, double> metrics;
  std::vector<std::string> aliases;
};

// Runs a statement and reads it to its end, so that SQLite resets it (an unfinished SELECT keeps
// its read snapshot open, and a later BEGIN IMMEDIATE on that connection would fail as busy).
void Run(soci::statement& st) {
  if (st.execute(true)) {
    while (st.fetch()) {
    }
  }
}

class SociTx {
 public:
  SociTx(soci::session& s, bool postgres) : s_(s), postgres_(postgres) {
    using soci::into;
    using soci::use;
    find_model_ = (s_.prepare << "SELECT id, name, description, created_ms, updated_ms, "
                                 "created_by, last_version FROM models "
                                 "WHERE name = :name AND deleted_ms IS NULL" +
                                     std::string(postgres ? " FOR UPDATE" : ""),
                   into(m_.id), into(m_.name), into(m_.description), into(m_.created_ms),
                   into(m_.updated_ms), into(m_.created_by), into(m_.last_version), use(name_));
    find_model_ro_ = (s_.prepare << "SELECT id, name, description, created_ms, updated_ms, "
                                    "created_by, last_version FROM models "
                                    "WHERE name = :name AND deleted_ms IS NULL",
                      into(m_.id), into(m_.name), into(m_.description), into(m_.created_ms),
                      into(m_.updated_ms), into(m_.created_by), into(m_.last_version), use(name_));
    model_tags_ = (s_.prepare << "SELECT key, value FROM model_tags WHERE model_id = :id",
                   into(key_), into(text_), use(id_));
    model_aliases_ = (s_.prepare << "SELECT alias, version FROM model_aliases WHERE model_id = :id",
                      into(key_), into(number_), use(id_));
    latest_ = (s_.prepare << "SELECT MAX(version) FROM model_versions "
                             "WHERE model_id = :id AND deleted_ms IS NULL",
               into(number_, ind_), use(id_));
    find_version_ =
        (s_.prepare << "SELECT v.id, v.model_id, m.name, v.version, v.source, v.run_id, "
                       "v.model_ref, v.description, v.artifact_digest, v.status, v.stage, "
                       "v.created_ms, v.updated_ms, v.created_by, v.storage_location, v.run_link "
                       "FROM model_versions v JOIN models m ON m.id = v.model_id "
                       "WHERE v.model_id = :m AND v.version = :v AND v.deleted_ms IS NULL",
         into(v_.id), into(v_.model_id), into(v_.model_name), into(v_.version), into(v_.source),
         into(v_.run_id), into(v_.model_ref), into(v_.description), into(v_.digest),
         into(v_.status), into(v_.stage), into(v_.created_ms), into(v_.updated_ms),
         into(v_.created_by), into(v_.storage_location), into(v_.run_link), use(id_), use(number_));
    version_tags_ = (s_.prepare << "SELECT key, value FROM version_tags WHERE version_id = :id",
                     into(key_), into(text_), use(id_));
    version_params_ = (s_.prepare << "SELECT key, value FROM version_params WHERE version_id = :id",
                       into(key_), into(text_), use(id_));
    version_metrics_ =
        (s_.prepare << "SELECT key, value FROM version_metrics WHERE version_id = :id", into(key_),
         into(real_), use(id_));
    version_aliases_ = (s_.prepare << "SELECT alias FROM model_aliases "
                                      "WHERE model_id = :m AND version = :v ORDER BY alias",
                        into(key_), use(id_), use(number_));
    insert_version_ =
        (s_.prepare << "INSERT INTO model_versions (model_id, version, source, run_id, "
                       "model_ref, description, artifact_digest, status, stage, created_ms, "
                       "updated_ms, created_by, storage_location, run_link) VALUES (:a, :b, :c, "
                       ":d, :e, :f, :g, :h, :i, :j, :k, :l, :m, :n) "
                       "ON CONFLICT (model_id, version) DO NOTHING RETURNING id",
         into(number_), use(v_.model_id), use(v_.version), use(v_.source), use(v_.run_id),
         use(v_.model_ref), use(v_.description), use(v_.digest), use(v_.status), use(v_.stage),
         use(v_.created_ms), use(v_.updated_ms), use(v_.created_by), use(v_.storage_location),
         use(v_.run_link));
    set_tag_ = (s_.prepare << "INSERT INTO version_tags (version_id, key, value) "
                              "VALUES (:a, :b, :c) ON CONFLICT (version_id, key) "
                              "DO UPDATE SET value = excluded.value",
                use(id_), use(key_), use(text_));
    set_param_ = (s_.prepare << "INSERT INTO version_params (version_id, key, value) "
                                "VALUES (:a, :b, :c) ON CONFLICT (version_id, key) "
                                "DO UPDATE SET value = excluded.value",
                  use(id_), use(key_), use(text_));
    set_metric_ = (s_.prepare << "INSERT INTO version_metrics (version_id, key, value) "
                                 "VALUES (:a, :b, :c) ON CONFLICT (version_id, key) "
                                 "DO UPDATE SET value = excluded.value",
                   use(id_), use(key_), use(real_));
    update_model_ =
        (s_.prepare << "UPDATE models SET name = :b, description = :c, updated_ms = :d, "
                       "last_version = :e WHERE id = :a AND (deleted_ms IS NOT NULL OR NOT EXISTS "
                       "(SELECT 1 FROM models o WHERE o.name = :b2 AND o.deleted_ms IS NULL "
                       "AND o.id <> :a2))",
         use(m_.name), use(m_.description), use(m_.updated_ms), use(m_.last_version), use(m_.id),
         use(m_.name), use(m_.id));
    take_seq_ = (s_.prepare << (postgres ? "UPDATE audit_head SET next_seq = next_seq + 1 "
                                           "WHERE id = 1 RETURNING next_seq - 1"
                                         : "SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events"),
                 into(seq_));
    insert_audit_ =
        (s_.prepare << "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, "
                       "model_id, model_name, version, outcome, body) VALUES (:a, :b, :c, :d, "
                       ":e, :f, :g, :h, :i, :j)",
         use(seq_), use(v_.created_ms), use(one_), use(v_.created_by), use(action_), use(m_.id),
         use(m_.name), use(v_.version), use(outcome_), use(body_));
    enqueue_ = (s_.prepare << "INSERT INTO outbox (event_seq, topic, payload, created_ms, "
                              "next_attempt_ms) VALUES (:a, :b, :c, :d, :e)",
                use(seq_), use(action_), use(payload_), use(v_.created_ms), use(v_.created_ms));
  }

  void GetVersion(long long number) {
    name_ = kModel;
    Run(find_model_ro_);
    id_ = m_.id;
    m_.tags.clear();
    model_tags_.execute();
    while (model_tags_.fetch()) m_.tags.emplace(key_, text_);
    m_.aliases.clear();
    model_aliases_.execute();
    while (model_aliases_.fetch()) m_.aliases.emplace(key_, number_);
    Run(latest_);
    m_.latest = ind_ == soci::i_ok ? std::optional<long long>(number_) : std::nullopt;
    number_ = number;
    Run(find_version_);
    id_ = v_.id;
    v_.tags.clear();
    version_tags_.execute();
    while (version_tags_.fetch()) v_.tags.emplace(key_, text_);
    v_.params.clear();
    version_params_.execute();
    while (version_params_.fetch()) v_.params.emplace(key_, text_);
    v_.metrics.clear();
    version_metrics_.execute();
    while (version_metrics_.fetch()) v_.metrics.emplace(key_, real_);
    v_.aliases.clear();
    id_ = v_.model_id;
    number_ = v_.version;
    version_aliases_.execute();
    while (version_aliases_.fetch()) v_.aliases.push_back(key_);
    if (v_.tags.size() != 3 || v_.aliases.size() != 1) std::abort();
  }

  void CreateVersion() {
    name_ = kModel;
    Run(find_model_);
    vouch::ModelVersion nv = NewVersion(m_.id, m_.last_version + 1);
    v_.model_id = m_.id;
    v_.version = nv.version;
    v_.source = nv.source;
    v_.run_id = nv.run_id;
    v_.status = nv.status;
    v_.stage = "None";
    v_.created_ms = v_.updated_ms = nv.created_ms;
    v_.created_by = nv.created_by;
    Run(insert_version_);
    id_ = number_;
    for (const auto& [k, v] : nv.tags) {
      key_ = k;
      text_ = v;
      Run(set_tag_);
    }
    for (const auto& [k, v] : nv.metrics) {
      key_ = k;
      real_ = v;
      Run(set_metric_);
    }
    for (const auto& [k, v] : nv.params) {
      key_ = k;
      text_ = v;
      Run(set_param_);
    }
    m_.last_version = nv.version;
    m_.updated_ms = nv.created_ms;
    Run(update_model_);
    Run(take_seq_);
    body_ = kAuditBody + std::to_string(seq_);
    Run(insert_audit_);
    Run(enqueue_);
  }

 private:
  soci::session& s_;
  bool postgres_;
  SociModel m_;
  SociVersion v_;
  std::string name_, key_, text_, body_;
  std::string action_ = "model_version.created", outcome_ = "done", payload_ = "{}";
  long long id_ = 0, number_ = 0, seq_ = 0, one_ = 1;
  double real_ = 0;
  soci::indicator ind_ = soci::i_ok;
  soci::statement find_model_{s_}, find_model_ro_{s_}, model_tags_{s_}, model_aliases_{s_},
      latest_{s_}, find_version_{s_}, version_tags_{s_}, version_params_{s_}, version_metrics_{s_},
      version_aliases_{s_}, insert_version_{s_}, set_tag_{s_}, set_param_{s_}, set_metric_{s_},
      update_model_{s_}, take_seq_{s_}, insert_audit_{s_}, enqueue_{s_};
};

// ---- Fixtures: one seeded database per store, opened by both sides.
struct SqliteSide {
  std::filesystem::path dir;
  std::string path;
  std::unique_ptr<vouch::store::Conn> conn;
  std::unique_ptr<soci::session> soci;
  std::unique_ptr<SociTx> soci_tx;
  SqliteSide() {
    std::string templ = (std::filesystem::temp_directory_path() / "vouch-soci-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    dir = templ;
    path = (dir / "vouch.db").string();
    {
      auto store = vouch::store::SqliteStore::Open({.path = path});
      if (!store.ok() || !Seed(**store).ok()) std::abort();
    }
    auto opened = vouch::store::Conn::Open(path, false);
    if (!opened.ok()) std::abort();
    conn = std::move(opened).value();
    if (!conn->Exec("PRAGMA synchronous = FULL").ok()) std::abort();
    soci = std::make_unique<soci::session>(*factory_sqlite3(), "db=" + path + " timeout=5");
    *soci << "PRAGMA synchronous = FULL";
    soci_tx = std::make_unique<SociTx>(*soci, false);
  }
  ~SqliteSide() {
    soci_tx.reset();
    soci.reset();
    conn.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

SqliteSide& Sqlite() {
  static SqliteSide side;
  return side;
}

// `dsn` as a key=value string: SOCI reads no URIs.
std::string KeyValueDsn(const std::string& dsn) {
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), nullptr);
  if (opts == nullptr) std::abort();
  std::string out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') out += std::string(o->keyword) + "=" + o->val + " ";
  }
  PQconninfoFree(opts);
  return out;
}

struct PostgresSide {
  std::string dsn;
  std::string schema = "bench_soci_" + std::to_string(getpid());
  std::unique_ptr<vouch::store::PgConn> conn;
  std::unique_ptr<soci::session> soci;
  std::unique_ptr<SociTx> soci_tx;
  PostgresSide() {
    const char* env = std::getenv("VOUCH_TEST_POSTGRES_DSN");
    if (env == nullptr || *env == '\0') return;
    dsn = env;
    {
      auto store = vouch::store::PostgresStore::Open({.dsn = dsn, .schema = schema});
      if (!store.ok() || !Seed(**store).ok()) std::abort();
    }
    auto opened = vouch::store::PgConn::Open({.dsn = dsn, .schema = schema});
    if (!opened.ok()) std::abort();
    conn = std::move(opened).value();
    soci = std::make_unique<soci::session>(soci::postgresql, KeyValueDsn(dsn));
    *soci << "SET search_path TO " + schema;
    soci_tx = std::make_unique<SociTx>(*soci, true);
  }
  ~PostgresSide() {
    if (conn == nullptr) return;
    soci_tx.reset();
    *soci << "SET client_min_messages = warning";
    *soci << "DROP SCHEMA " + schema + " CASCADE";
    soci.reset();
    conn.reset();
  }
};

PostgresSide& Postgres() {
  static PostgresSide side;
  return side;
}

void Check(benchmark::State& state, const Status& s) {
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
}

void BM_GetVersionSqliteOurs(benchmark::State& state) {
  auto& c = *Sqlite().conn;
  int64_t n = 0;
  for (auto _ : state) {
    Check(state, c.Exec("BEGIN"));
    vouch::store::SqliteTx tx(c);
    Check(state, ReadVersion(tx, kSeedVersions / 2 + (n++ % 2)));
    Check(state, c.Exec("COMMIT"));
  }
}
BENCHMARK(BM_GetVersionSqliteOurs);

void BM_GetVersionSqliteSoci(benchmark::State& state) {
  auto& side = Sqlite();
  long long n = 0;
  for (auto _ : state) {
    soci::transaction t(*side.soci);
    side.soci_tx->GetVersion(kSeedVersions / 2 + (n++ % 2));
    t.commit();
  }
}
BENCHMARK(BM_GetVersionSqliteSoci);

void BM_DurableCreateSqliteOurs(benchmark::State& state) {
  auto& c = *Sqlite().conn;
  for (auto _ : state) {
    Check(state, c.Exec("BEGIN IMMEDIATE"));
    vouch::store::SqliteTx tx(c);
    Check(state, CreateVersion(tx));
    Check(state, c.Exec("COMMIT"));
  }
}
BENCHMARK(BM_DurableCreateSqliteOurs)->UseRealTime();

void BM_DurableCreateSqliteSoci(benchmark::State& state) {
  auto& side = Sqlite();
  for (auto _ : state) {
    *side.soci << "BEGIN IMMEDIATE";
    side.soci_tx->CreateVersion();
    *side.soci << "COMMIT";
  }
}
BENCHMARK(BM_DurableCreateSqliteSoci)->UseRealTime();

void BM_GetVersionPostgresOurs(benchmark::State& state) {
  if (Postgres().conn == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  auto& c = *Postgres().conn;
  int64_t n = 0;
  for (auto _ : state) {
    Check(state, c.Exec("BEGIN"));
    vouch::store::PostgresTx tx(c, false);
    Check(state, ReadVersion(tx, kSeedVersions / 2 + (n++ % 2)));
    Check(state, c.Exec("COMMIT"));
  }
}
BENCHMARK(BM_GetVersionPostgresOurs)->UseRealTime();

void BM_GetVersionPostgresSoci(benchmark::State& state) {
  if (Postgres().conn == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  auto& side = Postgres();
  long long n = 0;
  for (auto _ : state) {
    soci::transaction t(*side.soci);
    side.soci_tx->GetVersion(kSeedVersions / 2 + (n++ % 2));
    t.commit();
  }
}
BENCHMARK(BM_GetVersionPostgresSoci)->UseRealTime();

void BM_DurableCreatePostgresOurs(benchmark::State& state) {
  if (Postgres().conn == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  auto& c = *Postgres().conn;
  for (auto _ : state) {
    Check(state, c.Exec("BEGIN"));
    vouch::store::PostgresTx tx(c, true);
    Check(state, CreateVersion(tx));
    Check(state, c.Exec("COMMIT"));
  }
}
BENCHMARK(BM_DurableCreatePostgresOurs)->UseRealTime();

void BM_DurableCreatePostgresSoci(benchmark::State& state) {
  if (Postgres().conn == nullptr) return state.SkipWithError("VOUCH_TEST_POSTGRES_DSN is not set");
  auto& side = Postgres();
  for (auto _ : state) {
    soci::transaction t(*side.soci);
    side.soci_tx->CreateVersion();
    t.commit();
  }
}
BENCHMARK(BM_DurableCreatePostgresSoci)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// dev seed: a test-support command that opens a store directly (like the admin commands) and fills
// it with a large registry for tests and benchmarks (service/seed.h). Not for production use.
//
// PostgreSQL answers each statement in a round trip, and a seeded row takes about eight, so seeding
// it directly runs at some 500 rows/s. Unless --direct is given, a PostgreSQL store is seeded
// in a temporary SQLite file that is then copied in by `vouch migrate`'s code (storage/copy.h: one
// transaction, the audit logs of both sides checked equal before the commit), which needs the
// database to be empty.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "vouch/audit/verify.h"
#include "vouch/cli/commands.h"
#include "vouch/service/secrets.h"
#include "vouch/service/seed.h"
#include "vouch/storage/copy.h"
#include "vouch/storage/open.h"
#include "vouch/util/crypto.h"
#include "vouch/util/files.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

struct SeedArgs {
  std::string store;
  std::string data_dir;
  service::SeedPlan plan;
  bool quiet = false;
  bool direct = false;
};

// A directory of its own under the system's temporary directory, removed with its contents.
class ScratchDir {
 public:
  ScratchDir()
      : path_(fs::temp_directory_path() / fmt::format("vouch-seed-{}", HexEncode(RandomBytes(8)))) {
    std::error_code ec;
    fs::create_directory(path_, ec);
    if (!ec) fs::permissions(path_, fs::perms::owner_all, fs::perm_options::replace, ec);
    made_ = !ec;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool made() const { return made_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool made_ = false;
};

Result<service::SeedReport> SeedStore(const store::StoreLocation& where, const SeedArgs& a,
                                      Session& s, const Clock& clock) {
  auto progress = [&](const service::SeedReport& r) {
    if (!a.quiet) s.err() << fmt::format("seeded {} models, {} versions\n", r.models, r.versions);
  };
  VOUCH_ASSIGN_OR_RETURN(
      auto opened, store::OpenStore(where, {.pg_pool_size = 1, .pg_statement_timeout_ms = 0}));
  return service::SeedRegistry(*opened, clock, a.plan, progress);
}

// Seeds a temporary SQLite file and copies it into the (empty) PostgreSQL database at `where`.
Result<service::SeedReport> SeedPostgresByCopy(const store::StoreLocation& where, const SeedArgs& a,
                                               Session& s, const Clock& clock) {
  ScratchDir scratch;
  if (!scratch.made()) {
    return Unavailable(
        fmt::format("cannot make a directory in {}", fs::temp_directory_path().string()));
  }
  const std::string file = (scratch.path() / "seed.db").string();
  VOUCH_ASSIGN_OR_RETURN(
      service::SeedReport report,
      SeedStore({.kind = store::StoreKind::kSqlite, .sqlite_path = file}, a, s, clock));
  VOUCH_ASSIGN_OR_RETURN(
      store::CopyReport copied,
      store::CopySqliteToPostgres(
          {.sqlite_path = file,
           .target = {.dsn = where.dsn, .pool_size = 1, .statement_timeout_ms = 0},
           .check_log = audit::VerifiedLogSummary}));
  if (!a.quiet) {
    s.err() << fmt::format("copied into {}: {} events, Merkle root {}\n", where.Describe(),
                           copied.log.events, copied.log.digest);
  }
  return report;
}

int Seed(const SeedArgs& a, Session& s, const Clock& clock) {
  auto uri = DevStoreUri(a.store, a.data_dir);
  if (!uri.ok()) return FailDevStore(s, uri.status());
  auto where = store::ParseStoreUri(*uri);
  if (!where.ok()) return s.Fail(where.status().message(), kExitUsage);
  const auto started = std::chrono::steady_clock::now();
  auto report = where->kind == store::StoreKind::kPostgres && !a.direct
                    ? SeedPostgresByCopy(*where, a, s, clock)
                    : SeedStore(*where, a, s, clock);
  if (!report.ok()) {
    return s.Fail(
        fmt::format("seeding {} stopped: {}", where->Describe(), report.status().message()),
        report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRefused);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int64_t rows = report->models + report->versions;
  s.out() << fmt::format(
      "seeded {}: {} models and {} versions, each with its audit event, in {} transactions, "
      "{:.1f} s ({:.0f} rows/s)\n",
      where->Describe(), report->models, report->versions, report->transactions, seconds,
      seconds > 0 ? rows / seconds : 0.0);
  return kExitOk;
}

}  // namespace

Result<std::string> DevStoreUri(const std::string& store, const std::string& data_dir) {
  if (store.empty() == data_dir.empty()) {
    return InvalidArgument("give --store URI or --data-dir DIR (one of them)");
  }
  if (data_dir.empty()) return store;
  // The directory a server would make for itself: owner only.
  std::error_code ec;
  if (fs::create_directories(data_dir, ec)) {
    fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  } else if (ec) {
    return FailedPrecondition(fmt::format("cannot create {}: {}", data_dir, ec.message()));
  }
  // A new registry gets its master key as `vouch serve` would make it, so that a server can start
  // on the directory (a database without its key is refused).
  const fs::path key = fs::path(data_dir) / "master-key";
  if (!fs::exists(fs::path(data_dir) / "vouch.db", ec) && !fs::exists(key, ec)) {
    VOUCH_TRY(WriteNewSecretFile(key, service::NewMasterKeyText()));
  }
  return "sqlite://" + (fs::path(data_dir) / "vouch.db").string();
}

int FailDevStore(Session& s, const Status& status) {
  return s.Fail(status.message(),
                status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitRefused);
}

void AddDevCommands(CLI::App& app, Action& chosen) {
  CLI::App* dev = app.add_subcommand(
      "dev", "Support for tests and benchmarks (opens a store directly; not for production data)");
  dev->require_subcommand(1);
  auto a = std::make_shared<SeedArgs>();
  CLI::App* seed = dev->add_subcommand(
      "seed",
      "Fill a store no server is writing to with a large registry, made through the registry "
      "service (every row with its audit event) in large transactions");
  auto* store = seed->add_option("--store", a->store, "sqlite://PATH or postgresql://…");
  seed->add_option("--data-dir", a->data_dir, "A server's data directory (SQLite DIR/vouch.db)")
      ->excludes(store);
  seed->add_option("--models", a->plan.models,
                   "Models <prefix>00000 … to create, each with the tag group=g<index % 100>")
      ->capture_default_str();
  seed->add_option("--model-prefix", a->plan.model_prefix, "Name prefix of those models")
      ->capture_default_str();
  seed->add_option("--versions", a->plan.versions,
                   "Versions to create on one model (--big-model), each with one tag")
      ->capture_default_str();
  seed->add_option("--big-model", a->plan.big_model, "The model that holds the versions")
      ->capture_default_str();
  seed->add_option("--run-id-every", a->plan.run_id_every,
                   "Give every Nth version (n % N == 0) the run id of --run-id (0: none)")
      ->capture_default_str();
  seed->add_option("--run-id", a->plan.run_id, "The run id of those versions");
  seed->add_option("--batch", a->plan.batch, "Creates per transaction")->capture_default_str();
  seed->add_flag("--quiet", a->quiet, "No progress lines on standard error");
  seed->add_flag("--direct", a->direct,
                 "PostgreSQL: seed through the store itself (slow) instead of seeding a temporary "
                 "SQLite file and copying it into the empty database as `vouch migrate` does");
  OnSelect(*seed, chosen, [a](Session& s, const Clock& clock) { return Seed(*a, s, clock); });
  AddWebhookRenderCommand(*dev, chosen);
  AddTlogCommand(*dev, chosen);
  AddAuditBulkCommand(*dev, chosen);
}

}  // namespace vouch::cli

// dev seed: a test-support command that opens a store directly (like the admin commands) and fills
// it with a large registry for tests and benchmarks (service/seed.h). Not for production use.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "vouch/cli/commands.h"
#include "vouch/service/seed.h"
#include "vouch/store/open.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

struct SeedArgs {
  std::string store;
  std::string data_dir;
  service::SeedPlan plan;
  bool quiet = false;
};

int Seed(const SeedArgs& a, Session& s, const Clock& clock) {
  if (a.store.empty() == a.data_dir.empty()) {
    return s.Fail("give --store URI or --data-dir DIR (one of them)", kExitUsage);
  }
  std::string uri = a.store;
  if (!a.data_dir.empty()) {
    // The directory a server would make for itself: owner only.
    std::error_code ec;
    if (fs::create_directories(a.data_dir, ec)) {
      fs::permissions(a.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    } else if (ec) {
      return s.Fail(fmt::format("cannot create {}: {}", a.data_dir, ec.message()), kExitRefused);
    }
    uri = "sqlite://" + (fs::path(a.data_dir) / "vouch.db").string();
  }
  auto where = store::ParseStoreUri(uri);
  if (!where.ok()) return s.Fail(where.status().message(), kExitUsage);
  auto opened = store::OpenStore(*where, {.pg_pool_size = 1, .pg_statement_timeout_ms = 0});
  if (!opened.ok()) {
    return s.Fail(fmt::format("cannot open {}: {}", where->Describe(), opened.status().message()),
                  kExitRefused);
  }
  const auto started = std::chrono::steady_clock::now();
  auto report = service::SeedRegistry(**opened, clock, a.plan, [&](const service::SeedReport& r) {
    if (!a.quiet) s.err() << fmt::format("seeded {} models, {} versions\n", r.models, r.versions);
  });
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
  seed->add_option("--batch", a->plan.batch, "Creates per transaction")->capture_default_str();
  seed->add_flag("--quiet", a->quiet, "No progress lines on standard error");
  OnSelect(*seed, chosen, [a](Session& s, const Clock& clock) { return Seed(*a, s, clock); });
}

}  // namespace vouch::cli

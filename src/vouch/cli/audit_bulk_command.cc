// dev audit-bulk: makes a large audit log fast, for the issue 14 benchmarks (bench/audit_log.sh)
// and tests of big logs. Synthetic but realistic events (the actions, actors, targets and changes a
// registry's log holds, in the stored schema) are appended through the store's own append — the
// path that numbers each event and puts it in the Merkle tree — in large transactions. No outbox
// rows: no subscriber is owed synthetic events. Not for production data.
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "vouch/cli/commands.h"
#include "vouch/domain/audit_event.h"
#include "vouch/storage/open.h"
#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

struct BulkArgs {
  std::string store;
  std::string data_dir;
  int64_t events = 0;
  int batch = 20'000;
  bool quiet = false;
};

// The i-th synthetic event (0-based): a mix like a busy registry's, about 450 bytes stored.
AuditEvent SyntheticEvent(int64_t i, TimeMs now) {
  static constexpr std::array<std::string_view, 4> kActors = {"alice", "bob", "ci-bot", "carol"};
  static constexpr std::array<std::string_view, 4> kStages = {"None", "Staging", "Production",
                                                              "Archived"};
  AuditEvent e;
  e.time_ms = now;
  const int64_t actor = i % 4;
  e.actor_id = actor + 2;
  e.actor_name = kActors[actor];
  e.actor_auth = actor == 2 ? "token" : "password";
  e.door = i % 3 == 0 ? "mlflow" : "native";
  e.address = fmt::format("10.0.{}.{}", (i / 256) % 256, i % 256);
  e.user_agent = i % 3 == 0 ? "mlflow-python-client/2.12.1" : "vouch-cli/0.14";
  e.request_id = fmt::format("bulk-{:012x}", i);
  const std::string model = fmt::format("model-{:05}", (i / 40) % 20000);
  const int64_t version = 1 + (i % 40) / 4;
  e.model_name = model;
  e.version = version;
  switch (i % 8) {
    case 0:
      e.action = "model_version.created";
      e.target = {{"type", "model_version"}, {"model", model}, {"version", version}};
      e.before = nullptr;
      e.after = json::object{{"source", fmt::format("s3://models/{}/{}", model, version)},
                             {"run_id", fmt::format("{:032x}", i * 2654435761u)},
                             {"tags", json::object{{"team", "risk"}, {"framework", "xgboost"}}}};
      break;
    case 1:
    case 2:
      e.action = "model_version.stage_changed";
      e.target = {{"type", "model_version"}, {"model", model}, {"version", version}};
      e.before = json::object{{"stage", kStages[i % 2]}};
      e.after = json::object{{"stage", kStages[1 + i % 2]}};
      e.comment = "promoted after review";
      break;
    case 3:
      e.action = "model_version.tag_set";
      e.target = {{"type", "model_version"}, {"model", model}, {"version", version}};
      e.before = nullptr;
      e.after = json::object{{"key", "validated"}, {"value", "true"}};
      break;
    case 4:
      e.action = "access.denied";
      e.target = {{"type", "model_version"}, {"model", model}, {"version", version}};
      e.outcome = Outcome::kDenied;
      e.reason = "the caller may not move a version into Production";
      e.before = nullptr;
      e.after = nullptr;
      break;
    case 5:
      e.action = "model.updated";
      e.target = {{"type", "model"}, {"model", model}};
      e.before = json::object{{"description", ""}};
      e.after = json::object{{"description", "Scores card transactions for fraud."}};
      break;
    case 6:
      e.action = "model_version.updated";
      e.target = {{"type", "model_version"}, {"model", model}, {"version", version}};
      e.before = json::object{{"description", ""}};
      e.after = json::object{{"description", "AUC 0.93 on the March holdout"}};
      break;
    default:
      e.action = "model.created";
      e.target = {{"type", "model"}, {"model", model}};
      e.before = nullptr;
      e.after = json::object{{"name", model}, {"description", ""}, {"tags", json::object{}}};
      break;
  }
  return e;
}

int Bulk(const BulkArgs& a, const Clock& clock, Session& s) {
  if (a.events <= 0 || a.batch <= 0) {
    return s.Fail("--events and --batch must be positive", kExitUsage);
  }
  auto uri = DevStoreUri(a.store, a.data_dir);
  if (!uri.ok()) return FailDevStore(s, uri.status());
  auto where = store::ParseStoreUri(*uri);
  if (!where.ok()) return s.Fail(where.status().message(), kExitUsage);
  auto opened = store::OpenStore(*where, {.pg_pool_size = 1, .pg_statement_timeout_ms = 0});
  if (!opened.ok()) return s.Fail(opened.status().message(), kExitRefused);
  const auto started = std::chrono::steady_clock::now();
  int64_t done = 0;
  while (done < a.events) {
    const int64_t n = std::min<int64_t>(a.batch, a.events - done);
    const TimeMs now = clock.NowMs();
    Status wrote = (*opened)->Write([&](store::Tx& tx) -> Status {
      for (int64_t k = 0; k < n; ++k) {
        AuditEvent e = SyntheticEvent(done + k, now);
        VOUCH_TRY(tx.AppendAuditEvent(e, [&](int64_t seq) -> Result<std::string> {
                      e.seq = seq;
                      return CanonicalJson(AuditEventJson(e));
                    }).status());
      }
      return OkStatus();
    });
    if (!wrote.ok()) {
      return s.Fail(fmt::format("audit-bulk stopped after {} events: {}", done, wrote.message()),
                    kExitRefused);
    }
    done += n;
    if (!a.quiet) s.err() << fmt::format("appended {} events\n", done);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  s.out() << fmt::format("appended {} audit events to {} in {:.1f} s ({:.0f} events/s)\n", done,
                         where->Describe(), seconds, seconds > 0 ? done / seconds : 0.0);
  return kExitOk;
}

}  // namespace

void AddAuditBulkCommand(CLI::App& dev, Action& chosen) {
  auto a = std::make_shared<BulkArgs>();
  CLI::App* bulk = dev.add_subcommand(
      "audit-bulk",
      "Append N synthetic but realistic audit events to a store no server is writing to, through "
      "the store's append path (numbered, in the Merkle tree), in large transactions");
  auto* store = bulk->add_option("--store", a->store, "sqlite://PATH or postgresql://…");
  bulk->add_option("--data-dir", a->data_dir, "A data directory (SQLite DIR/vouch.db)")
      ->excludes(store);
  bulk->add_option("--events", a->events, "How many events to append")->required();
  bulk->add_option("--batch", a->batch, "Events per transaction")->capture_default_str();
  bulk->add_flag("--quiet", a->quiet, "No progress lines on standard error");
  OnSelect(*bulk, chosen, [a](Session& s, const Clock& clock) { return Bulk(*a, clock, s); });
}

}  // namespace vouch::cli

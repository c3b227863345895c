#include "vouch/app/app.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "vouch/api/mlflow/mlflow_api.h"
#include "vouch/api/mlflow/transition_requests.h"
#include "vouch/api/mlflow/webhooks.h"
#include "vouch/api/native/native_api.h"
#include "vouch/app/checkpoint_file.h"
#include "vouch/notify/email_format.h"
#include "vouch/notify/formats.h"
#include "vouch/notify/http_channel.h"
#include "vouch/service/page_token.h"
#include "vouch/util/crypto.h"

namespace vouch::app {
namespace {

std::string DefaultServerName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}:{}", host[0] != '\0' ? host : "vouch", ::getpid());
}

}  // namespace

Result<std::unique_ptr<App>> App::Create(std::unique_ptr<store::Store> store, AppOptions options,
                                         const Clock& clock) {
  store::Store& borrowed = *store;
  std::unique_ptr<App> app(new App(std::move(store), borrowed, options, clock));
  VOUCH_TRY(app->SetUp(options));
  return app;
}

Result<std::unique_ptr<App>> App::Create(store::Store& store, AppOptions options,
                                         const Clock& clock) {
  std::unique_ptr<App> app(new App(nullptr, store, options, clock));
  VOUCH_TRY(app->SetUp(options));
  return app;
}

App::App(std::unique_ptr<store::Store> owned, store::Store& store, const AppOptions& options,
         const Clock& clock)
    : owned_store_(std::move(owned)),
      store_(store),
      clock_(clock),
      server_name_(options.server_name.empty() ? DefaultServerName() : options.server_name),
      auth_(std::make_unique<service::AuthService>(store_, clock_, options.auth)),
      secrets_(std::make_unique<service::Secrets>(store_, clock_, options.master_key)),
      executor_(std::make_unique<service::MutationExecutor>(store_)),
      idempotency_(std::make_unique<service::Idempotency>(*executor_, options.master_key,
                                                          options.idempotency)),
      scheduler_(clock_),
      leader_(std::make_unique<Leader>(store_, steady_clock_, server_name_, options.leader)),
      denial_flush_ms_(options.denial_flush_ms),
      idempotency_prune_ms_(options.idempotency_prune_ms),
      request_timers_ms_(options.request_timers_ms),
      wait_poll_ms_(options.wait_poll_ms) {
  // Before any change runs: a change made under an Idempotency-Key claim marks it applied in its
  // own transaction, whichever service (registry or identity) makes it.
  executor_->AddPreCommitHook(&service::Idempotency::MarkApplied);
}

// The wiring `vouch serve` had in its locals, in the same order.
Status App::SetUp(const AppOptions& options) {
  const service::Authorizer authz(options.default_permission);
  checkpoints_ =
      std::make_unique<service::CheckpointService>(*executor_, authz, clock_, options.master_key);
  audit_proofs_ = std::make_unique<service::AuditProofs>(store_, authz, *checkpoints_);
  VOUCH_ASSIGN_OR_RETURN(
      std::string origin,
      service::ChooseLogOrigin(options.audit_log.origin, options.audit_log.public_url));
  // One-time set-up, once across every server sharing the store.
  std::string page_key;
  Status set_up = store_.RunExclusive([&]() -> Status {
    VOUCH_ASSIGN_OR_RETURN(page_key, secrets_->GetOrCreate(service::kPageTokenKeySecret,
                                                           [] { return RandomBytes(32); }));
    VOUCH_ASSIGN_OR_RETURN(bootstrap_, auth_->Bootstrap(options.bootstrap_token));
    return checkpoints_->Init(
        origin, !options.audit_log.origin.empty() || !options.audit_log.public_url.empty());
  });
  VOUCH_TRY(set_up);
  VOUCH_TRY(SetUpCheckpoints(options.audit_log));
  SetUpWitnesses(options.witnesses);
  // Derived from a sealed secret, so every server sharing the store hashes unknown names alike.
  auth_->SetAttemptKey(HmacSha256(page_key, "vouch attempted-identity key v1"));

  registry_ =
      std::make_unique<service::RegistryService>(*executor_, service::PageTokens(page_key), authz);
  identity_ = std::make_unique<service::IdentityService>(*executor_, *auth_, authz);
  approvals_ = std::make_unique<service::ApprovalService>(*executor_, authz);
  approvals_->SetReauthenticator(auth_.get());
  registry_->SetGate(approvals_.get());
  webhooks_ = std::make_unique<service::WebhookService>(
      *executor_, authz, options.master_key, service::PageTokens(page_key),
      service::WebhookServiceOptions{.allow_private = options.webhooks.allow_private});
  api::native::RegisterRoutes(
      router_, *registry_, [this] { return store_.Ready(); }, identity_.get());
  api::native::RegisterApprovalRoutes(router_, *approvals_);
  api::native::RegisterCommentRoutes(router_, *approvals_);
  api::native::RegisterWebhookRoutes(router_, *webhooks_);
  waiters_ = std::make_unique<api::native::RequestWaiters>(*approvals_, store_, options.waits);
  waiters_->RegisterRoute(router_);
  // Waiters wake on this server's commits at once, and on other servers' within a poll.
  executor_->AddPostCommitHook(
      [w = waiters_.get()](const RequestContext&, std::span<const AuditEvent> committed) {
        w->OnCommitted(committed);
      });
  VOUCH_TRY(SetUpWebhooks(options, authz));
  api::native::RegisterMetricsRoute(router_, [this] { return Metrics(); });
  api::mlflow::RegisterRoutes(router_, *registry_);
  api::mlflow::RegisterTransitionRequestRoutes(router_, *approvals_);
  api::mlflow::RegisterAuthRoutes(router_, *identity_);
  api::mlflow::RegisterWebhookRoutes(router_, *webhooks_, delivery_.get());
  dispatcher_ = std::make_unique<api::Dispatcher>(router_, *auth_, clock_, options.trusted_proxies);
  dispatcher_->SetIdempotency(idempotency_.get());

  // Per server: the denials wait in this server's memory until their window closes.
  scheduler_.Every("denial-flush", denial_flush_ms_, [this] { auth_->FlushDenials(false); });
  // Per server (any server may do it; deleting twice is harmless): expired idempotency keys are
  // ignored at once and deleted here.
  scheduler_.Every("idempotency-prune", idempotency_prune_ms_, [this] {
    if (auto pruned = idempotency_->Prune(clock_.NowMs()); !pruned.ok()) {
      spdlog::warn("pruning expired idempotency keys: {}", pruned.status().ToString());
    }
  });
  // Per server: its own waiters see what other servers committed.
  scheduler_.Every("wait-poll", wait_poll_ms_, [this] { waiters_->Poll(); });
  // The leader only (the lease's epoch is checked inside each request's transaction).
  scheduler_.Every("request-timers", request_timers_ms_, [this] { RunRequestTimers(); });
  return OkStatus();
}

Status App::SetUpWebhooks(const AppOptions& options, const service::Authorizer& authz) {
  const WebhookOptions& o = options.webhooks;
  service::WebhookDeliveryOptions delivery = o.delivery;
  delivery.server = server_name_;
  // A claim outlives the longest attempt (it is renewed before each), so it never lapses while
  // its server is sending; a server that died gives its subscriptions up this long after.
  delivery.claim_ms = o.connect_timeout_ms + o.timeout_ms + 5000;
  delivery_ = std::make_unique<service::WebhookDelivery>(*executor_, formats_, authz, clock_,
                                                         std::move(delivery));
  VOUCH_TRY(notify::AddBuiltinFormats(formats_));
  // E-mail: its format, and the SMTP channel to the recipients its subscriptions name.
  VOUCH_TRY(formats_.Add(std::make_unique<notify::EmailFormat>()));
  delivery_->SetChannel("email", service::MakeEmailChannel(store_, o.email));
  delivery_->SetSecretOpener([key = options.master_key](std::string_view sealed) {
    return service::OpenWebhookSecret(key, sealed);
  });
  // Every format but those given a channel of their own (MAIL's "email") goes out over HTTP.
  delivery_->SetDefaultChannel(std::make_unique<notify::HttpChannel>(
      notify::HttpChannelOptions{.allow_private = o.allow_private,
                                 .connect_timeout = std::chrono::milliseconds(o.connect_timeout_ms),
                                 .timeout = std::chrono::milliseconds(o.timeout_ms),
                                 .ca_file = o.ca_file}));
  // While requests are being answered, delivery keeps to its budget (--webhook-busy-rate).
  delivery_->SetLoadProbe([this] { return handled_.load(std::memory_order_relaxed); });
  // Delivery starts right after a commit, not on the next poll.
  executor_->AddPostCommitHook(
      [d = delivery_.get()](const RequestContext&, std::span<const AuditEvent> committed) {
        d->OnCommitted(committed);
      });
  api::native::RegisterDeliveryRoutes(router_, *delivery_);
  // The leader only: what finished (and the outbox rows fanned out) before the retention.
  AddSingletonJob("notification-retention", o.prune_every_ms,
                  [this, retention = o.retention_ms](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(int64_t pruned, service::WebhookDelivery::Prune(
                                                               tx, clock_.NowMs() - retention));
                    if (pruned > 0) spdlog::info("notification retention: {} rows pruned", pruned);
                    return OkStatus();
                  });
  return OkStatus();
}

Status App::SetUpCheckpoints(const AuditLogOptions& o) {
  audit_log_ = o;
  // The start check: the log holds what its latest checkpoint, and the checkpoint file's last
  // one, signed.
  VOUCH_TRY(checkpoints_->CheckLog());
  if (!o.checkpoint_file.empty()) {
    const std::filesystem::path file(o.checkpoint_file);
    VOUCH_ASSIGN_OR_RETURN(std::optional<std::string> saved, ReadLastCheckpointNote(file));
    uint64_t saved_size = 0;
    if (saved) {
      VOUCH_TRY(checkpoints_->CheckSaved(*saved,
                                         fmt::format("the checkpoint file {}", o.checkpoint_file)));
      // CheckSaved opened it: its body's size is what the file covers.
      if (auto parsed = tlog::ParseCheckpoint(saved->substr(0, saved->rfind("\n\n") + 1));
          parsed.ok()) {
        saved_size = parsed->size;
      }
    }
    // The file catches up with checkpoints made while it was not given (or by other servers).
    Result<service::CheckpointView> latest = checkpoints_->Latest();
    if (latest.ok() && latest->size > saved_size) {
      VOUCH_TRY(AppendCheckpointNote(file, latest->note));
    }
    checkpoints_->AddListener([file](const service::CheckpointView& made) {
      if (Status s = AppendCheckpointNote(file, made.note); !s.ok()) {
        spdlog::error("checkpoint of size {} not saved: {}", made.size, s.ToString());
      }
    });
  }
  checkpoints_->AddListener([](const service::CheckpointView& made) {
    spdlog::info("audit checkpoint: size {}, signed by key {}", made.size, made.key_id);
  });
  api::native::RegisterCheckpointRoutes(router_, *checkpoints_);
  api::native::RegisterAuditLogRoutes(router_, *audit_proofs_);
  // The leader makes them: every second it looks whether one is due (a cheap read), and a burst
  // of events committed here wakes it at once.
  const TimeMs tick = std::min<TimeMs>(o.checkpoint_interval_ms, 1000);
  scheduler_.Every("audit-checkpoint", tick, [this] { RunCheckpointJob(); });
  executor_->AddPostCommitHook([this](const RequestContext&,
                                      std::span<const AuditEvent> committed) {
    const int64_t before = uncheckpointed_events_.fetch_add(static_cast<int64_t>(committed.size()));
    if (before < audit_log_.checkpoint_events &&
        before + static_cast<int64_t>(committed.size()) >= audit_log_.checkpoint_events) {
      scheduler_.After("audit-checkpoint-now", 0, [this] { RunCheckpointJob(); });
    }
  });
  return OkStatus();
}

void App::SetUpWitnesses(const service::WitnessOptions& o) {
  witness_log_ = std::make_unique<service::WitnessLogOverStore>(*executor_, clock_);
  witnesses_ = std::make_unique<service::WitnessService>(*witness_log_, clock_, o,
                                                         [this] { return leader_->IsLeader(); });
  if (!witnesses_->enabled()) return;
  // Only wakes the witnessing thread: a submission never holds up the checkpoint's maker.
  checkpoints_->AddListener(
      [w = witnesses_.get()](const service::CheckpointView& made) { w->OnCheckpoint(made.size); });
  spdlog::info("audit checkpoints are submitted to {} witness(es)", o.urls.size());
}

void App::RunCheckpointJob() {
  if (!leader_->IsLeader()) return;
  const TimeMs now = clock_.NowMs();
  auto due = [&](store::Tx& tx) {
    return checkpoints_->Due(tx, now, audit_log_.checkpoint_interval_ms,
                             audit_log_.checkpoint_events);
  };
  bool is_due = false;
  Status read = store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(is_due, due(tx));
    return OkStatus();
  });
  if (!read.ok()) {
    spdlog::warn("audit checkpoint job did not run: {}", read.ToString());
    return;
  }
  if (!is_due) return;
  uncheckpointed_events_.store(0);
  std::optional<service::CheckpointView> made;
  Status s = leader_->RunSingleton("audit-checkpoint", [&](store::Tx& tx) -> Status {
    made.reset();
    VOUCH_ASSIGN_OR_RETURN(bool still_due, due(tx));
    if (!still_due) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(made, checkpoints_->MakeIn(tx, now));
    return OkStatus();
  });
  if (!s.ok()) {
    spdlog::warn("audit checkpoint job did not run: {}", s.ToString());
    return;
  }
  if (made) checkpoints_->Notify(*made);
}

void App::RunRequestTimers() {
  constexpr int kBatch = 100;
  constexpr int kMaxBatches = 10;  // the rest waits for the next second
  for (int batch = 0; batch < kMaxBatches; ++batch) {
    std::optional<int64_t> mine = leader_->epoch();
    if (!mine) return;
    auto guard = [this, mine = *mine](store::Tx& tx) {
      return leader_->CheckEpoch(tx, "request-timers", mine);
    };
    Result<service::TimerRun> run = approvals_->RunTimers(SystemContext(clock_), guard, kBatch);
    if (!run.ok()) {
      spdlog::warn("request timers did not run: {}", run.status().ToString());
      return;
    }
    if (run->expired + run->approved > 0) {
      spdlog::info("request timers: {} expired, {} approved, {} applied", run->expired,
                   run->approved, run->applied);
    }
    if (run->examined < kBatch) return;
  }
}

App::~App() { Drain(); }

void App::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || drained_) return;
    started_ = true;
  }
  if (waiters_) waiters_->Start();
  if (delivery_) delivery_->Start();
  if (witnesses_) witnesses_->Start();
  scheduler_.Start();
  leader_->Start();
}

void App::Drain() {
  {
    std::lock_guard lock(mu_);
    if (drained_) return;
    drained_ = true;
  }
  scheduler_.Stop();                   // waits for a job that is running
  if (delivery_) delivery_->Stop();    // attempts in flight finish and are recorded
  if (witnesses_) witnesses_->Stop();  // a submission in flight finishes
  if (waiters_) waiters_->Stop();      // the listener has answered the waiters it held (503) by now
  leader_->Stop();
  auth_->FlushDenials(true);
}

JobId App::AddSingletonJob(std::string name, TimeMs period_ms,
                           std::function<Status(store::Tx&)> fn) {
  return scheduler_.Every(name, period_ms, [this, name, fn = std::move(fn)] {
    if (!leader_->IsLeader()) return;
    Status s = leader_->RunSingleton(name, fn);
    if (!s.ok()) spdlog::warn("singleton job {} did not run: {}", name, s.ToString());
  });
}

std::vector<store::StoreMetric> App::Metrics() const {
  std::vector<store::StoreMetric> metrics = store_.Metrics();
  metrics.push_back({"vouch_leader",
                     "1 while this server holds the leader lease and runs the singleton jobs",
                     "gauge", leader_->IsLeader() ? 1.0 : 0.0});
  metrics.push_back({"vouch_request_waiters", "requests/{id}/wait long polls this server holds now",
                     "gauge", static_cast<double>(waiters_ ? waiters_->held() : 0)});
  if (delivery_) {
    if (auto d = delivery_->Metrics(); d.ok()) {
      static constexpr store::DeliveryState kStates[] = {
          store::DeliveryState::kPending, store::DeliveryState::kDelivered,
          store::DeliveryState::kDead, store::DeliveryState::kSkipped};
      for (size_t i = 0; i < d->by_state.size() && i < std::size(kStates); ++i) {
        std::string_view state = store::DeliveryStateName(kStates[i]);
        metrics.push_back({fmt::format("vouch_webhook_deliveries_{}", state),
                           fmt::format("webhook deliveries now {} (all servers)", state), "gauge",
                           static_cast<double>(d->by_state[i])});
      }
      metrics.push_back({"vouch_webhook_attempts_total",
                         "delivery attempts this server made since it started", "counter",
                         static_cast<double>(d->attempts_total)});
      metrics.push_back({"vouch_webhook_oldest_pending_seconds",
                         "age of the oldest pending webhook delivery (0: none)", "gauge",
                         static_cast<double>(d->oldest_pending_age_ms) / 1000.0});
    }
  }
  if (witnesses_ && witnesses_->enabled()) {
    const service::WitnessMetrics w = witnesses_->Metrics();
    metrics.push_back({"vouch_witness_submissions_total",
                       "add-checkpoint requests this server sent to witnesses since it started",
                       "counter", static_cast<double>(w.submissions_total)});
    metrics.push_back({"vouch_witness_cosignatures_total",
                       "verified witness cosignatures this server stored since it started",
                       "counter", static_cast<double>(w.cosignatures_total)});
    metrics.push_back({"vouch_witness_failures_total",
                       "witness submissions that ended without a stored cosignature", "counter",
                       static_cast<double>(w.failures_total)});
    metrics.push_back({"vouch_witness_behind",
                       "witnesses whose last cosignature is of a smaller tree than the latest "
                       "checkpoint",
                       "gauge", static_cast<double>(w.behind)});
  }
  return metrics;
}

}  // namespace vouch::app

// The composition root: one object that owns what a vouch server is made of — the store, the
// sealed secrets (key ring), the services, the router with both doors, the dispatcher, the
// scheduler and the leader lease — wired once, here. `vouch serve` builds it and puts an HTTP
// listener in front; tests and benches build the same App instead of wiring pieces by hand.
//
// Life: Create (over an open store; the one-time set-up done) -> Start (the scheduler and the
// lease's thread run) -> Drain (after the listener has stopped and finished its requests: no job
// starts again, the running one finishes, the last denials are written, the lease is given up).
// The destructor drains. Handle() may be called from any number of threads. README.md says which
// background jobs run on every server and which on the leader only.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vouch/api/dispatcher.h"
#include "vouch/api/native/request_wait.h"
#include "vouch/api/router.h"
#include "vouch/app/leader.h"
#include "vouch/app/scheduler.h"
#include "vouch/domain/identity.h"
#include "vouch/notify/format.h"
#include "vouch/service/approvals.h"
#include "vouch/service/audit_proofs.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/checkpoints.h"
#include "vouch/service/executor.h"
#include "vouch/service/idempotency.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/notify_recipients.h"
#include "vouch/service/registry.h"
#include "vouch/service/secrets.h"
#include "vouch/service/webhook_delivery.h"
#include "vouch/service/webhooks.h"
#include "vouch/service/witnesses.h"
#include "vouch/store/store.h"
#include "vouch/util/net.h"
#include "vouch/util/time.h"

namespace vouch::app {

// Webhook delivery (issue 13): the delivery workers' knobs (the server name is AppOptions'), the
// HTTP channel's and retention.
struct WebhookOptions {
  service::WebhookDeliveryOptions delivery;
  bool allow_private = false;  // receivers on private, loopback and link-local addresses
  TimeMs connect_timeout_ms = 5000;
  TimeMs timeout_ms = 15'000;
  std::string ca_file;  // empty: the system's
  // Leader: finished deliveries and fanned-out outbox rows older than this are deleted.
  TimeMs retention_ms = 30LL * 86'400'000;
  TimeMs prune_every_ms = 3'600'000;
  // E-mail subscriptions (format "email"): the SMTP relay and the sender.
  service::EmailSettings email;
};

// The audit log's checkpoints (issue 14).
struct AuditLogOptions {
  // The origin for a new log (--log-origin); empty: from `public_url`, else a random installation
  // id (service::ChooseLogOrigin). An existing log keeps the origin it has.
  std::string origin;
  std::string public_url;
  // Leader: a checkpoint when the tree grew and the latest is this old, or as soon as this many
  // events came after it, whichever comes first.
  TimeMs checkpoint_interval_ms = 60'000;
  int64_t checkpoint_events = 1000;
  // Each checkpoint this server makes is appended here (app/checkpoint_file.h); empty: none. At
  // start, a log that does not hold the file's last checkpoint is refused.
  std::string checkpoint_file;
};

struct AppOptions {
  std::string master_key;  // 32 bytes (service::ParseMasterKey); seals the store's secrets
  service::AuthOptions auth;
  Permission default_permission = Permission::kRead;
  std::vector<CidrRange> trusted_proxies;
  // The admin token to create when the store has no principal yet (VOUCH_BOOTSTRAP_TOKEN); empty:
  // a random one, returned once by bootstrap().
  std::string bootstrap_token;
  // This server's name in the lease's log lines and row; empty: "<hostname>:<pid>".
  std::string server_name;
  LeaderOptions leader;
  TimeMs denial_flush_ms = 1000;            // how often closed denial windows are written
  service::IdempotencyOptions idempotency;  // Idempotency-Key: how long a key is kept
  TimeMs idempotency_prune_ms = 60'000;     // how often expired keys are deleted
  TimeMs request_timers_ms = 1000;          // leader: request expiry and wait timers
  TimeMs wait_poll_ms = 1000;  // every server: changes other servers made, for the waiters
  api::native::WaitOptions waits;
  WebhookOptions webhooks;
  AuditLogOptions audit_log;
  service::WitnessOptions witnesses;  // no URLs: checkpoints are not submitted anywhere
};

class App {
 public:
  // Builds the app over an open store (owned, or borrowed: the caller keeps it alive longer).
  // Runs the one-time set-up once across every server sharing the store (the page-token key, the
  // bootstrap admin) and fails with its status: the codes of Secrets::GetOrCreate (a stored secret
  // that this master key does not open) and AuthService::Bootstrap, and the store's.
  static Result<std::unique_ptr<App>> Create(std::unique_ptr<store::Store> store,
                                             AppOptions options, const Clock& clock);
  static Result<std::unique_ptr<App>> Create(store::Store& store, AppOptions options,
                                             const Clock& clock);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts the background work: the per-server jobs, the singleton jobs and the lease's polling.
  void Start();
  // Stops it all (see above). Idempotent.
  void Drain();

  // Runs `fn` every `period_ms` on the server that holds the leader lease, inside a transaction
  // whose lease epoch is checked first (Leader::RunSingleton); on other servers it does nothing.
  JobId AddSingletonJob(std::string name, TimeMs period_ms, std::function<Status(store::Tx&)> fn);

  // What a listener calls (api::Dispatcher).
  api::HttpResponse Handle(const api::HttpRequest& request) const {
    handled_.fetch_add(1, std::memory_order_relaxed);  // webhook delivery yields while it grows
    return dispatcher_->Handle(request);
  }
  api::HttpResponse Reject(const api::HttpRequest& request, const Status& status) const {
    return dispatcher_->Reject(request, status);
  }

  // What /metrics reports: the store's figures and `vouch_leader`.
  std::vector<store::StoreMetric> Metrics() const;

  // The admin created by this start's set-up, if any (created false when the store had one).
  const service::BootstrapResult& bootstrap() const { return bootstrap_; }

  store::Store& store() { return store_; }
  const Clock& clock() const { return clock_; }
  service::AuthService& auth() { return *auth_; }
  service::Secrets& secrets() { return *secrets_; }
  // The one executor every service's changes run through; Idempotency::MarkApplied is its
  // pre-commit hook.
  service::MutationExecutor& executor() { return *executor_; }
  service::Idempotency& idempotency() { return *idempotency_; }
  service::RegistryService& registry() { return *registry_; }
  service::IdentityService& identity() { return *identity_; }
  service::ApprovalService& approvals() { return *approvals_; }
  service::WebhookService& webhooks() { return *webhooks_; }
  service::CheckpointService& checkpoints() { return *checkpoints_; }
  // Submits each checkpoint to the configured witnesses (AppOptions::witnesses).
  service::WitnessService& witnesses() { return *witnesses_; }
  api::Router& router() { return router_; }
  api::Dispatcher& dispatcher() { return *dispatcher_; }
  Scheduler& scheduler() { return scheduler_; }
  Leader& leader() { return *leader_; }
  api::native::RequestWaiters& waiters() { return *waiters_; }
  // The formats subscriptions may name (filled at wiring; new ones plug in before Start) and the
  // delivery workers (SetChannel adds a channel for a format, e.g. "email").
  notify::FormatRegistry& formats() { return formats_; }
  service::WebhookDelivery& webhook_delivery() { return *delivery_; }
  // One run of the leader's request timers (the "request-timers" job): nothing unless this server
  // leads; logs what it did and any failure.
  void RunRequestTimers();
  // One run of the leader's checkpoint job ("audit-checkpoint"): nothing unless this server leads
  // and a checkpoint is due (AuditLogOptions); logs a failure.
  void RunCheckpointJob();

 private:
  App(std::unique_ptr<store::Store> owned, store::Store& store, const AppOptions& options,
      const Clock& clock);
  Status SetUp(const AppOptions& options);
  Status SetUpWebhooks(const AppOptions& options, const service::Authorizer& authz);
  Status SetUpCheckpoints(const AuditLogOptions& options);
  void SetUpWitnesses(const service::WitnessOptions& options);

  std::unique_ptr<store::Store> owned_store_;  // null when borrowed
  store::Store& store_;
  const Clock& clock_;
  const std::string server_name_;
  SteadyClock steady_clock_;
  std::unique_ptr<service::AuthService> auth_;
  std::unique_ptr<service::Secrets> secrets_;
  std::unique_ptr<service::MutationExecutor> executor_;
  std::unique_ptr<service::Idempotency> idempotency_;  // writes through executor_
  std::unique_ptr<service::RegistryService> registry_;
  std::unique_ptr<service::IdentityService> identity_;
  std::unique_ptr<service::ApprovalService> approvals_;  // also the registry's gate
  std::unique_ptr<service::WebhookService> webhooks_;
  api::Router router_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
  std::unique_ptr<api::native::RequestWaiters> waiters_;  // GET /requests/{id}/wait
  notify::FormatRegistry formats_;
  std::unique_ptr<service::WebhookDelivery> delivery_;  // writes through executor_
  std::unique_ptr<service::CheckpointService> checkpoints_;
  std::unique_ptr<service::AuditProofs> audit_proofs_;  // the tile and proof routes
  std::unique_ptr<service::WitnessLogOverStore> witness_log_;
  std::unique_ptr<service::WitnessService> witnesses_;  // its own thread, started by Start
  AuditLogOptions audit_log_;
  std::atomic<int64_t> uncheckpointed_events_{0};  // committed here since the last job run
  service::BootstrapResult bootstrap_;
  Scheduler scheduler_;
  std::unique_ptr<Leader> leader_;
  TimeMs denial_flush_ms_;
  TimeMs idempotency_prune_ms_;
  TimeMs request_timers_ms_;
  TimeMs wait_poll_ms_;
  mutable std::atomic<uint64_t> handled_{0};  // requests handled (Handle)
  std::mutex mu_;
  bool started_ = false;  // guarded by mu_
  bool drained_ = false;  // guarded by mu_
};

}  // namespace vouch::app

#include "vouch/app/app.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "vouch/api/mlflow/mlflow_api.h"
#include "vouch/api/mlflow/transition_requests.h"
#include "vouch/api/native/native_api.h"
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
      auth_(std::make_unique<service::AuthService>(store_, clock_, options.auth)),
      secrets_(std::make_unique<service::Secrets>(store_, clock_, options.master_key)),
      executor_(std::make_unique<service::MutationExecutor>(store_)),
      idempotency_(std::make_unique<service::Idempotency>(*executor_, options.master_key,
                                                          options.idempotency)),
      scheduler_(clock_),
      leader_(std::make_unique<Leader>(
          store_, steady_clock_,
          options.server_name.empty() ? DefaultServerName() : options.server_name, options.leader)),
      denial_flush_ms_(options.denial_flush_ms),
      idempotency_prune_ms_(options.idempotency_prune_ms) {
  // Before any change runs: a change made under an Idempotency-Key claim marks it applied in its
  // own transaction, whichever service (registry or identity) makes it.
  executor_->AddPreCommitHook(&service::Idempotency::MarkApplied);
}

// The wiring `vouch serve` had in its locals, in the same order.
Status App::SetUp(const AppOptions& options) {
  // One-time set-up, once across every server sharing the store.
  std::string page_key;
  Status set_up = store_.RunExclusive([&]() -> Status {
    VOUCH_ASSIGN_OR_RETURN(page_key, secrets_->GetOrCreate(service::kPageTokenKeySecret,
                                                           [] { return RandomBytes(32); }));
    VOUCH_ASSIGN_OR_RETURN(bootstrap_, auth_->Bootstrap(options.bootstrap_token));
    return OkStatus();
  });
  VOUCH_TRY(set_up);
  // Derived from a sealed secret, so every server sharing the store hashes unknown names alike.
  auth_->SetAttemptKey(HmacSha256(page_key, "vouch attempted-identity key v1"));

  const service::Authorizer authz(options.default_permission);
  registry_ =
      std::make_unique<service::RegistryService>(*executor_, service::PageTokens(page_key), authz);
  identity_ = std::make_unique<service::IdentityService>(*executor_, *auth_, authz);
  approvals_ = std::make_unique<service::ApprovalService>(*executor_, authz);
  approvals_->SetReauthenticator(auth_.get());
  registry_->SetGate(approvals_.get());
  api::native::RegisterRoutes(
      router_, *registry_, [this] { return store_.Ready(); }, identity_.get());
  api::native::RegisterApprovalRoutes(router_, *approvals_);
  api::native::RegisterCommentRoutes(router_, *approvals_);
  api::native::RegisterMetricsRoute(router_, [this] { return Metrics(); });
  api::mlflow::RegisterRoutes(router_, *registry_);
  api::mlflow::RegisterTransitionRequestRoutes(router_, *approvals_);
  api::mlflow::RegisterAuthRoutes(router_, *identity_);
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
  return OkStatus();
}

App::~App() { Drain(); }

void App::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || drained_) return;
    started_ = true;
  }
  scheduler_.Start();
  leader_->Start();
}

void App::Drain() {
  {
    std::lock_guard lock(mu_);
    if (drained_) return;
    drained_ = true;
  }
  scheduler_.Stop();  // waits for a job that is running
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
  return metrics;
}

}  // namespace vouch::app

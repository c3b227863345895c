// Webhook delivery (issue 13): the outbox fanned out into one delivery per (event, subscription),
// each delivery sent by one server at a time, in event order per subscription, every attempt in
// the ledger, retried with backoff until delivered or dead-lettered.
//
// Fan-out: the oldest outbox rows not yet fanned out are matched against the subscriptions that
// may receive them (created before the event, live, active; their event patterns and model glob),
// one pending delivery each (a random stable uid: the wire's delivery id), and marked fanned out —
// one bookkeeping transaction per batch (not an audited change of state: the event that caused it
// is in the log already).
//
// Sending: a worker claims a subscription whose oldest pending delivery is due (ClaimWebhook; on
// PostgreSQL two servers never hold one claim), and for its head delivery: checks that the owner
// still READs the event's model and that the format can express the event (else `skipped`, with
// the reason), records the attempt BEFORE sending (a server killed mid-attempt leaves a counted
// attempt; the claim expires and another server makes the next one), sends it through the
// format's channel, and records the outcome: 2xx delivered; otherwise pending again after an
// exponential backoff with jitter (Retry-After honoured), or dead after the configured attempts or
// age, or at once when the outcome is permanent. A dead delivery lets the next one go on.
// One durable transaction per attempt: the outcome of one attempt is recorded in the transaction
// that records the start of the next (the claim and the first attempt share one too; the last
// outcome is recorded with the claim's release). A claim lasts at most `turn` attempts, then goes
// to the subscription served least recently, so one busy subscription holds up no other.
//
// Fan-out is lazy: a worker fans out one batch, sends what is due, and only then fans out the
// next, so the deliveries made ahead of the senders are at most a batch or two.
//
// Budget: while the server answers requests, its workers make at most `busy_rate` attempts a
// second (DeliveryBudget; a burst of `busy_burst` goes at once), waiting for it with their claim
// held (so a claim still makes up to `turn` attempts, one transaction each), and fan out only as
// fast as they send; a server that answers no request delivers as fast as it can.
//
// Wake-up: the post-commit hook (OnCommitted) wakes the workers as soon as a change committed an
// event; a poll covers deliveries due later and events other servers committed. The workers run
// at a lower CPU priority (nice 10) than the threads answering requests, which never wait on them.
//
// Thread-safe once wired (SetChannel, SetSecretOpener before Start).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "vouch/domain/audit_event.h"
#include "vouch/domain/principal.h"
#include "vouch/notify/channel.h"
#include "vouch/notify/format.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/delivery_budget.h"
#include "vouch/service/executor.h"
#include "vouch/store/store.h"
#include "vouch/store/webhook_rows.h"
#include "vouch/util/time.h"

namespace vouch::service {

// Sent with every HTTP delivery attempt: its number, 1 for the first (a redelivery goes on
// counting). With the delivery id, (id, attempt) names one attempt: no two are ever sent.
inline constexpr std::string_view kDeliveryAttemptHeader = "X-Vouch-Delivery-Attempt";

struct WebhookDeliveryOptions {
  std::string server;  // this server's name in claims and attempts
  int workers = 2;     // sending threads on this server; 0: this server sends nothing
  TimeMs poll_ms = 1000;
  // How long a claim holds a subscription; renewed before each attempt. Longer than an attempt
  // may take (the channel's timeouts), so a claim never lapses while its server is sending.
  TimeMs claim_ms = 60'000;
  TimeMs first_retry_ms = 2000;     // the first retry comes within this
  TimeMs max_backoff_ms = 300'000;  // retries are never further apart than this (Retry-After may)
  int max_attempts = 0;             // dead after this many attempts; 0: no limit but the age
  TimeMs max_age_ms = 86'400'000;   // dead when it fails this long after the event
  int fan_out_batch = 100;          // outbox rows per fan-out transaction
  int turn = 100;                   // attempts per claim at most
  double busy_rate = 100;           // attempts a second while requests are served; 0: no bound
  double busy_burst = 50;           // of which this many may go at once
  std::string public_url;           // --public-url, for the formats' links
};

// A delivery as the API shows it: the row, its subscription's name and (when asked) its attempts.
struct DeliveryView {
  store::DeliveryRecord delivery;
  std::string webhook_name;
  std::vector<store::DeliveryAttempt> attempts;
};

struct DeliveryPage {
  std::vector<store::DeliveryRecord> deliveries;
  std::string next_page_token;  // empty: no more
};

// What /metrics reports about delivery.
struct DeliveryMetrics {
  std::vector<int64_t> by_state;  // in DeliveryState order: pending, delivered, dead, skipped
  int64_t attempts_total = 0;     // attempts this server made since it started
  TimeMs oldest_pending_age_ms = 0;
};

class WebhookDelivery {
 public:
  // Opens a subscription's sealed secret (SUBS: OpenWebhookSecret under the master key).
  using SecretOpener = std::function<Result<std::string>(std::string_view sealed)>;

  WebhookDelivery(MutationExecutor& executor, const notify::FormatRegistry& formats,
                  Authorizer authz, const Clock& clock, WebhookDeliveryOptions options);
  ~WebhookDelivery();  // Stop()
  WebhookDelivery(const WebhookDelivery&) = delete;
  WebhookDelivery& operator=(const WebhookDelivery&) = delete;

  // Wiring. The channel that sends the deliveries of subscriptions of `format` (MAIL registers
  // "email"); the default one sends every other format (the HTTP channel).
  void SetChannel(std::string format, std::unique_ptr<notify::Channel> channel);
  void SetDefaultChannel(std::unique_ptr<notify::Channel> channel);
  void SetSecretOpener(SecretOpener opener);

  // Starts the workers (options.workers threads). Stop: no attempt starts again, the ones in
  // flight finish (their outcome recorded); joins them. Idempotent.
  void Start();
  void Stop();
  // Counts the requests this server has handled (the App's): delivery is bounded while it grows
  // (options.busy_rate). Before Start.
  void SetLoadProbe(DeliveryBudget::LoadProbe probe);
  // Makes the workers look at once (the post-commit hook).
  void Wake();
  // The post-commit hook: wakes the workers when a committed event went into the outbox.
  void OnCommitted(std::span<const AuditEvent> committed);

  // One fan-out batch: returns how many outbox rows it fanned out.
  Result<int> FanOut();
  // Claims one subscription with a due delivery and sends its due deliveries in order while the
  // claim lasts (at most options.turn; a spent budget is waited for, the claim held); returns
  // how many it attempted or skipped (0: nothing due, the head waits for an earlier event that
  // another server is still fanning out, or the server is stopping).
  Result<int> SendDue();
  // Fans out and sends until nothing is left that is due now (tests and the workers' loop).
  Status RunOnce();

  // One synchronous attempt at a made-up event (notify::ExampleEvent: model_version.created, as
  // MLflow's test sends, or the first event the subscription names that its format can say; seq
  // 0, "test": true) to the subscription `webhook_id`, returned; not recorded in the ledger, which
  // holds the registry's events only. Its owner or an admin. NOT_FOUND (no live
  // subscription), PERMISSION_DENIED, FAILED_PRECONDITION (no channel or format for it).
  Result<notify::AttemptOutcome> Test(const RequestContext& ctx, int64_t webhook_id);

  // The subscription's deliveries, newest first, optionally of one state; `page_token` from the
  // previous page. Its owner or an admin. NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT (token).
  Result<DeliveryPage> List(const RequestContext& ctx, int64_t webhook_id,
                            std::optional<store::DeliveryState> state, std::string_view page_token,
                            int limit = 100);
  // One delivery, by id (a number) or uid, with its attempts. NOT_FOUND, PERMISSION_DENIED.
  Result<DeliveryView> Get(const RequestContext& ctx, std::string_view id);
  // Puts one delivery that is not pending back to pending, due now, uid and attempts kept;
  // audited delivery.redelivered. The owner or an admin, with a token that may write. NOT_FOUND,
  // PERMISSION_DENIED, FAILED_PRECONDITION (pending, or its subscription deleted).
  Result<store::DeliveryRecord> Redeliver(const RequestContext& ctx, std::string_view id);
  // Every dead delivery of the subscription back to pending; audited delivery.redelivered (once,
  // with the count) when there was any. Returns how many.
  Result<int64_t> RedeliverDead(const RequestContext& ctx, int64_t webhook_id);

  // Retention: deletes what finished before `cutoff` (store::Tx::PruneNotifications).
  static Result<int64_t> Prune(store::Tx& tx, TimeMs cutoff);

  Result<DeliveryMetrics> Metrics();

  // The backoff before attempt `attempt` + 1 after attempt `attempt` failed (1-based): a uniform
  // draw in [d/2, d] with d = first_retry * 2^(attempt-1), capped at max_backoff. Public for tests.
  TimeMs Backoff(int attempt) const;

 private:
  // An attempt made whose outcome is not recorded yet (it will be, with the next attempt's start
  // or the claim's release).
  struct Finished {
    store::DeliveryRecord delivery;
    store::DeliveryAttempt attempt;
  };
  // Takes one attempt from the budget, waiting while it is spent; false when the server is
  // stopping (or a test's clock did not move while waiting).
  bool TakeBudget();
  // One step on the head delivery of subscription `webhook_id` (0: claims one first, and sets
  // it), in one transaction that first records `finished` (then reset): 1 when the head was
  // attempted (its outcome left in `finished`) or skipped. Sets `more` when the next head should
  // be looked at now.
  Result<int> SendHead(int64_t& webhook_id, std::optional<Finished>& finished, bool& more);
  Result<store::WebhookRecord> FindOwned(store::Tx& tx, const RequestContext& ctx,
                                         int64_t webhook_id) const;
  Result<store::DeliveryRecord> FindDeliveryOwned(store::Tx& tx, const RequestContext& ctx,
                                                  std::string_view id,
                                                  store::WebhookRecord* webhook) const;
  notify::Channel* ChannelFor(std::string_view format) const;
  void WorkerLoop();

  MutationExecutor& executor_;
  const notify::FormatRegistry& formats_;
  const Authorizer authz_;
  const Clock& clock_;
  const WebhookDeliveryOptions options_;
  std::map<std::string, std::unique_ptr<notify::Channel>, std::less<>> channels_;  // wiring only
  std::unique_ptr<notify::Channel> default_channel_;
  SecretOpener open_secret_;

  std::mutex fan_out_mu_;  // one fan-out at a time on this server
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wakes_ = 0;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool started_ = false;   // guarded by mu_
  std::vector<std::thread> threads_;
  std::atomic<int64_t> attempts_total_{0};
  DeliveryBudget budget_;
};

}  // namespace vouch::service

#include "vouch/service/webhook_delivery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <random>

#include "vouch/notify/example_event.h"
#include "vouch/notify/subscription_filter.h"
#include "vouch/service/events.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

// The senders' nice value (0 is the default; 19 the lowest priority).
constexpr int kWorkerNice = 10;

using store::DeliveryRecord;
using store::DeliveryState;
using store::WebhookRecord;

// A random delivery id in the UUID v4 form (CloudEvents ids, Standard Webhooks' webhook-id).
std::string NewDeliveryUid() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string h = HexEncode(b);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

// The model an event is about, from its target; empty when it names none.
std::string ModelOf(const json::object& event) {
  const json::value* target = event.if_contains("target");
  if (target == nullptr || !target->is_object()) return "";
  const json::value* model = target->as_object().if_contains("model");
  if (model == nullptr || !model->is_string()) return "";
  return std::string(model->as_string());
}

std::vector<std::string> EventPatterns(const WebhookRecord& w) {
  std::vector<std::string> out;
  auto parsed = ParseJson(w.events);
  if (!parsed.ok() || !parsed->is_array()) return out;
  for (const auto& v : parsed->as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

bool IsOwnerOrAdmin(const RequestContext& ctx, const WebhookRecord& w) {
  return ctx.principal && (ctx.principal->is_admin || ctx.principal->id == w.owner_id);
}

// A delivery named by its number or its uid.
Result<std::optional<DeliveryRecord>> FindDeliveryById(store::Tx& tx, std::string_view id) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec == std::errc() && end == id.data() + id.size() && n > 0) return tx.FindDelivery(n);
  return tx.FindDeliveryByUid(id);
}

constexpr int kMaxResponseExcerpt = 1024;

// An attempt's outcome: its row in the ledger and its delivery's state.
Status RecordOutcome(store::Tx& tx, const store::DeliveryAttempt& attempt,
                     const DeliveryRecord& delivery) {
  VOUCH_TRY(tx.UpdateAttempt(attempt).status());
  return tx.UpdateDelivery(delivery).status();
}

// Every format's rendering, with the attempt's number in a header of its own (receivers and the
// tests see which attempt of a delivery they got: "1", "2", …).
class WithAttemptHeader final : public notify::Format {
 public:
  explicit WithAttemptHeader(const notify::Format& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  bool Accepts(std::string_view action) const override { return inner_.Accepts(action); }
  Result<notify::Rendered> Render(const notify::Envelope& e) const override {
    VOUCH_ASSIGN_OR_RETURN(notify::Rendered r, inner_.Render(e));
    r.headers.emplace_back(std::string(kDeliveryAttemptHeader), std::to_string(e.attempt));
    return r;
  }

 private:
  const notify::Format& inner_;
};

}  // namespace

WebhookDelivery::WebhookDelivery(MutationExecutor& executor, const notify::FormatRegistry& formats,
                                 Authorizer authz, const Clock& clock,
                                 WebhookDeliveryOptions options)
    : executor_(executor),
      formats_(formats),
      authz_(authz),
      clock_(clock),
      options_(std::move(options)),
      budget_(clock_, {.rate = options_.busy_rate, .burst = options_.busy_burst}) {}

WebhookDelivery::~WebhookDelivery() { Stop(); }

void WebhookDelivery::SetChannel(std::string format, std::unique_ptr<notify::Channel> channel) {
  channels_[std::move(format)] = std::move(channel);
}

void WebhookDelivery::SetDefaultChannel(std::unique_ptr<notify::Channel> channel) {
  default_channel_ = std::move(channel);
}

void WebhookDelivery::SetSecretOpener(SecretOpener opener) { open_secret_ = std::move(opener); }

void WebhookDelivery::SetLoadProbe(DeliveryBudget::LoadProbe probe) {
  budget_.SetLoadProbe(std::move(probe));
}

notify::Channel* WebhookDelivery::ChannelFor(std::string_view format) const {
  auto it = channels_.find(format);
  if (it != channels_.end()) return it->second.get();
  return default_channel_.get();
}

void WebhookDelivery::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { WorkerLoop(); });
}

void WebhookDelivery::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WebhookDelivery::Wake() {
  {
    std::lock_guard lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void WebhookDelivery::OnCommitted(std::span<const AuditEvent> committed) {
  for (const AuditEvent& e : committed) {
    if (e.outcome == Outcome::kDone) {
      Wake();
      return;
    }
  }
}

void WebhookDelivery::WorkerLoop() {
  // Request handling never waits on delivery: on a busy machine the senders (rendering, signing,
  // HTTP) yield the CPU to the threads answering requests. Linux's nice is per thread; failing to
  // lower it only costs that preference.
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kWorkerNice) != 0) {
    spdlog::debug("webhook delivery: could not lower the worker's priority");
  }
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      seen = wakes_;
    }
    if (Status s = RunOnce(); !s.ok()) spdlog::warn("webhook delivery: {}", s.ToString());
    // A spent budget: look again when the next attempt may go (a wake-up before that finds it
    // still spent and waits again).
    const TimeMs wait = budget_.WaitMs();
    std::unique_lock lock(mu_);
    if (wait > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(std::min(wait, options_.poll_ms)),
                   [&] { return stopping_; });
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                   [&] { return stopping_ || wakes_ != seen; });
    }
    if (stopping_) return;
  }
}

Status WebhookDelivery::RunOnce() {
  // Lazily: one batch fanned out, then what is due sent, then the next batch; the fan-out never
  // runs further ahead of the senders than a batch per worker, nor faster than the budget lets
  // them send.
  for (;;) {
    if (budget_.WaitMs() > 0) return OkStatus();  // the worker comes back when it may send
    VOUCH_ASSIGN_OR_RETURN(int fanned, FanOut());
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return OkStatus();
      }
      VOUCH_ASSIGN_OR_RETURN(int attempts, SendDue());
      if (attempts == 0) break;
    }
    if (fanned < options_.fan_out_batch) return OkStatus();
  }
}

Result<int> WebhookDelivery::FanOut() {
  // One fan-out at a time on this server; servers sharing PostgreSQL take different rows.
  std::unique_lock lock(fan_out_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return 0;
  int fanned = 0;
  int made = 0;
  const TimeMs now = clock_.NowMs();
  Status s = executor_.Bookkeep([&](store::Tx& tx) -> Status {
    fanned = 0;
    made = 0;
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::OutboxRow> rows,
                           tx.NextOutboxRows(options_.fan_out_batch));
    if (rows.empty()) return OkStatus();
    // Those that may receive the newest row include those that may receive the older ones.
    VOUCH_ASSIGN_OR_RETURN(std::vector<WebhookRecord> hooks, tx.WebhooksFor(rows.back().event_seq));
    std::vector<std::vector<std::string>> patterns;
    for (const auto& w : hooks) patterns.push_back(EventPatterns(w));
    for (const store::OutboxRow& row : rows) {
      // The payload is parsed only for a subscription the event's name matches: with none (a
      // bulk load, a registry without webhooks) fan-out is a mark per row.
      std::optional<std::string> model;
      for (size_t i = 0; i < hooks.size(); ++i) {
        const WebhookRecord& w = hooks[i];
        if (w.after_seq >= row.event_seq) continue;
        if (!notify::MatchesEvent(patterns[i], row.topic)) continue;
        if (!model) {
          auto event = ParseJsonObject(row.payload);
          model = event.ok() ? ModelOf(*event) : std::string();
        }
        if (!notify::MatchesModel(w.model_pattern, *model)) continue;
        DeliveryRecord d{.uid = NewDeliveryUid(),
                         .webhook_id = w.id,
                         .event_seq = row.event_seq,
                         .action = row.topic,
                         .state = DeliveryState::kPending,
                         .next_attempt_ms = now,
                         .created_ms = now};
        VOUCH_ASSIGN_OR_RETURN(bool inserted, tx.InsertDelivery(d));
        if (inserted) ++made;
      }
      VOUCH_TRY(tx.MarkOutboxFannedOut(row.id, now));
      ++fanned;
    }
    return OkStatus();
  });
  VOUCH_TRY(s);
  if (made > 0) {
    spdlog::debug("webhook fan-out: {} events, {} deliveries", fanned, made);
    Wake();  // the other workers send them now
  }
  return fanned;
}

Result<int> WebhookDelivery::SendDue() {
  int64_t webhook_id = 0;  // claimed by the first step
  std::optional<Finished> finished;
  int attempts = 0;
  Status failed;
  for (int step = 0; step < std::max(options_.turn, 1); ++step) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    // A spent budget is waited for with the claim held: giving the claim back and claiming again
    // for each attempt would cost two more transactions and a claim query per delivery.
    if (!TakeBudget()) break;
    bool more = false;
    Result<int> made = SendHead(webhook_id, finished, more);  // an attempt, or a skip
    if (!made.ok()) {
      budget_.GiveBack();
      failed = made.status();
      break;
    }
    if (*made == 0 || !finished) budget_.GiveBack();  // nothing sent
    attempts += *made;
    if (!more) break;
  }
  if (webhook_id != 0) {
    // The last attempt's outcome, and the claim given back (whatever happened, so that the next
    // due delivery need not wait for it to expire), behind the subscriptions served less recently.
    Status released = executor_.Bookkeep([&](store::Tx& tx) -> Status {
      if (finished) VOUCH_TRY(RecordOutcome(tx, finished->attempt, finished->delivery));
      return tx.RenewWebhookClaim(webhook_id, options_.server, clock_.NowMs()).status();
    });
    if (!released.ok()) {
      spdlog::warn("webhook {}: recording the last attempt and giving the claim back: {}",
                   webhook_id, released.ToString());
      if (failed.ok()) failed = released;
    }
  }
  if (!failed.ok()) return failed;
  return attempts;
}

bool WebhookDelivery::TakeBudget() {
  // Until a token is there: the other workers take from the same budget, so one wait may not be
  // enough. A clock that did not move while waiting is a test's (it moves only when told to): the
  // turn ends there.
  while (!budget_.TryTake()) {
    const TimeMs before = clock_.NowMs();
    const TimeMs wait = std::clamp<TimeMs>(budget_.WaitMs(), 1, options_.poll_ms);
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stopping_; })) {
        return false;
      }
    }
    if (clock_.NowMs() == before) return budget_.TryTake();
  }
  return true;
}

Result<int> WebhookDelivery::SendHead(int64_t& webhook_id, std::optional<Finished>& finished,
                                      bool& more) {
  more = false;
  const TimeMs now = clock_.NowMs();
  WebhookRecord webhook;
  std::optional<DeliveryRecord> head;
  std::string payload;
  std::string skip;
  bool lost_claim = false;
  int64_t claimed = 0;
  // One transaction: the previous attempt's outcome; the claim (on the first step); the head read
  // and decided; when it is to be sent, the attempt recorded before sending, with the claim
  // renewed (a claim lost meanwhile sends nothing).
  VOUCH_TRY(executor_.Bookkeep([&](store::Tx& tx) -> Status {
    head.reset();
    skip.clear();
    lost_claim = false;
    claimed = 0;
    if (finished) VOUCH_TRY(RecordOutcome(tx, finished->attempt, finished->delivery));
    int64_t id = webhook_id;
    if (id == 0) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> claim,
                             tx.ClaimWebhook(options_.server, now, now + options_.claim_ms));
      if (!claim) return OkStatus();
      id = claimed = *claim;
    }
    // The oldest event not yet fanned out, as committed. Servers fan out different rows at once
    // (SKIP LOCKED), so a later event's delivery may exist before an earlier one's: a head is
    // sent only when no earlier event is still to be fanned out, which keeps each subscription's
    // deliveries in event order across servers.
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> unfanned, tx.OldestUnfannedSeq());
    VOUCH_ASSIGN_OR_RETURN(std::optional<WebhookRecord> found, tx.FindWebhook(id));
    if (!found || found->deleted_ms || found->status != store::WebhookStatus::kActive) {
      return OkStatus();
    }
    webhook = std::move(*found);
    VOUCH_ASSIGN_OR_RETURN(head, tx.HeadDelivery(id));
    if (!head || head->next_attempt_ms > now || (unfanned && *unfanned < head->event_seq)) {
      head.reset();
      return OkStatus();
    }
    if (claimed == 0) {
      VOUCH_ASSIGN_OR_RETURN(bool held,
                             tx.RenewWebhookClaim(id, options_.server, now + options_.claim_ms));
      if (!held) {
        lost_claim = true;
        head.reset();
        return OkStatus();
      }
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<std::string> stored, tx.OutboxPayload(head->event_seq));
    payload = stored.value_or("");
    // The owner must still read the event's model.
    std::string model;
    auto event = ParseJsonObject(payload);
    if (!event.ok()) {
      skip = "the event's payload is gone or unreadable";
    } else {
      model = ModelOf(*event);
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> owner, tx.FindPrincipalById(webhook.owner_id));
    if (skip.empty() && (!owner || owner->disabled)) {
      skip = "the subscription's owner is disabled or gone";
    }
    if (skip.empty() && !model.empty() && !owner->is_admin) {
      VOUCH_ASSIGN_OR_RETURN(owner->roles, tx.EffectiveRoles(owner->id));
      VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.GroupsOf(owner->id));
      for (const auto& g : groups) owner->group_ids.push_back(g.id);
      RequestContext as_owner = SystemContext(clock_);
      as_owner.principal = *owner;
      as_owner.auth = AuthMethod::kSystem;
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> live, tx.FindModel(model));
      Model m = live.value_or(Model{.name = model});
      VOUCH_ASSIGN_OR_RETURN(Permission have, authz_.Effective(tx, as_owner, m));
      if (!Allows(have, Permission::kRead)) {
        skip = fmt::format("the subscription's owner can no longer read model '{}'", model);
      }
    }
    const notify::Format* format = formats_.Find(webhook.format);
    if (skip.empty() && format == nullptr) {
      skip = fmt::format("this server has no format '{}'", webhook.format);
    }
    if (skip.empty() && !format->Accepts(head->action)) {
      skip = fmt::format("format '{}' cannot express {}", webhook.format, head->action);
    }
    if (skip.empty() && ChannelFor(webhook.format) == nullptr) {
      skip = fmt::format("this server has no channel for format '{}'", webhook.format);
    }
    if (!skip.empty()) {
      head->state = DeliveryState::kSkipped;
      head->finished_ms = now;
      head->last_error = skip;
      VOUCH_TRY(tx.UpdateDelivery(*head).status());
      return OkStatus();
    }
    head->attempts += 1;
    VOUCH_TRY(tx.InsertAttempt({.delivery_id = head->id,
                                .attempt = head->attempts,
                                .server = options_.server,
                                .started_ms = now}));
    VOUCH_TRY(tx.UpdateDelivery(*head).status());
    return OkStatus();
  }));
  finished.reset();  // recorded
  if (claimed != 0) webhook_id = claimed;
  if (lost_claim || !head) return 0;
  if (!skip.empty()) {
    spdlog::info("webhook {}: delivery {} skipped: {}", webhook_id, head->uid, skip);
    more = true;
    return 1;
  }

  const WithAttemptHeader format(*formats_.Find(webhook.format));
  auto event = ParseJsonObject(payload);
  notify::Envelope envelope{.delivery_id = head->uid,
                            .attempt = head->attempts,
                            .event_seq = head->event_seq,
                            .action = head->action,
                            .event = event.ok() ? std::move(event).value() : json::object{},
                            .now_ms = now,
                            .public_url = options_.public_url,
                            .webhook_id = webhook.id,
                            .webhook_name = webhook.name};
  notify::AttemptOutcome outcome;
  bool opened = true;
  if (!webhook.secret.empty()) {
    if (!open_secret_) {
      opened = false;
      outcome.error = "this server cannot open the subscription's secret";
    } else if (auto secret = open_secret_(webhook.secret); !secret.ok()) {
      opened = false;
      outcome.error = "the subscription's secret does not open under this master key";
    } else {
      envelope.secret = std::move(secret).value();
    }
  }
  if (opened) {
    outcome = ChannelFor(webhook.format)->Send(webhook, envelope, format);
  }
  attempts_total_.fetch_add(1);
  if (outcome.response.size() > kMaxResponseExcerpt) outcome.response.resize(kMaxResponseExcerpt);

  const TimeMs done = clock_.NowMs();
  DeliveryRecord d = *head;
  d.last_status = outcome.status;
  d.last_latency_ms = outcome.latency_ms;
  d.last_response = outcome.response;
  d.last_error = outcome.error;
  const bool ok = outcome.status && *outcome.status >= 200 && *outcome.status < 300;
  if (ok) {
    d.state = DeliveryState::kDelivered;
    d.finished_ms = done;
    d.last_error.clear();
  } else if (outcome.skipped) {
    // The channel found nothing to send for this event (an e-mail with nobody to mail).
    d.state = DeliveryState::kSkipped;
    d.finished_ms = done;
  } else {
    std::string why;
    if (outcome.permanent) {
      why = "permanent failure";
    } else if (options_.max_attempts > 0 && d.attempts >= options_.max_attempts) {
      why = fmt::format("{} attempts", d.attempts);
    } else if (done - d.created_ms >= options_.max_age_ms) {
      why = fmt::format("still failing {} ms after the event", done - d.created_ms);
    }
    if (!why.empty()) {
      d.state = DeliveryState::kDead;
      d.finished_ms = done;
      if (d.last_error.empty() && d.last_status) {
        d.last_error = fmt::format("HTTP {}", *d.last_status);
      }
      d.last_error = fmt::format("dead after {}: {}", why, d.last_error);
    } else {
      TimeMs wait = Backoff(d.attempts);
      if (outcome.retry_after_ms) wait = std::max<TimeMs>(*outcome.retry_after_ms, 0);
      d.next_attempt_ms = done + wait;
    }
  }
  // Recorded with the next step (or the claim's release).
  more = d.state != DeliveryState::kPending;
  finished = Finished{.delivery = d,
                      .attempt = {.delivery_id = d.id,
                                  .attempt = d.attempts,
                                  .server = options_.server,
                                  .started_ms = now,
                                  .latency_ms = outcome.latency_ms,
                                  .status = outcome.status,
                                  .response = outcome.response,
                                  .error = outcome.error}};
  // The next one goes at once after a delivered or dead head; a head to retry later ends the turn.
  return 1;
}

TimeMs WebhookDelivery::Backoff(int attempt) const {
  TimeMs d = std::max<TimeMs>(options_.first_retry_ms, 1);
  for (int i = 1; i < attempt && d < options_.max_backoff_ms; ++i) d *= 2;
  d = std::min(d, std::max<TimeMs>(options_.max_backoff_ms, 1));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<TimeMs> jitter(d / 2, d);
  return jitter(rng);
}

Result<WebhookRecord> WebhookDelivery::FindOwned(store::Tx& tx, const RequestContext& ctx,
                                                 int64_t webhook_id) const {
  VOUCH_ASSIGN_OR_RETURN(std::optional<WebhookRecord> w, tx.FindWebhook(webhook_id));
  if (!w || w->deleted_ms) return NotFound(fmt::format("no webhook {}", webhook_id));
  if (!IsOwnerOrAdmin(ctx, *w)) {
    return PermissionDenied(
        fmt::format("webhook {} is its owner's and the admins' to look at", webhook_id));
  }
  return *std::move(w);
}

Result<DeliveryRecord> WebhookDelivery::FindDeliveryOwned(store::Tx& tx, const RequestContext& ctx,
                                                          std::string_view id,
                                                          WebhookRecord* webhook) const {
  VOUCH_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> d, FindDeliveryById(tx, id));
  if (!d) return NotFound(fmt::format("no delivery {}", id));
  VOUCH_ASSIGN_OR_RETURN(std::optional<WebhookRecord> w, tx.FindWebhook(d->webhook_id));
  if (!w || !IsOwnerOrAdmin(ctx, *w)) {
    return PermissionDenied(
        fmt::format("delivery {} is its subscription owner's and the admins' to look at", id));
  }
  if (webhook != nullptr) *webhook = std::move(*w);
  return *std::move(d);
}

Result<notify::AttemptOutcome> WebhookDelivery::Test(const RequestContext& ctx,
                                                     int64_t webhook_id) {
  VOUCH_TRY(authz_.RequireWrite(ctx));  // a read-scoped token sends nothing
  WebhookRecord w;
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(w, FindOwned(tx, ctx, webhook_id));
    return OkStatus();
  }));
  const notify::Format* format = formats_.Find(w.format);
  notify::Channel* channel = ChannelFor(w.format);
  if (format == nullptr || channel == nullptr) {
    return FailedPrecondition(fmt::format("this server cannot send format '{}'", w.format));
  }
  const TimeMs now = ctx.Now();
  // MLflow's test event, model_version.created, when the format can say it; else the first event
  // the subscription names that it can.
  std::string action = "model_version.created";
  if (!format->Accepts(action)) {
    for (const std::string& p : EventPatterns(w)) {
      if (p.find('*') == std::string::npos && format->Accepts(p)) {
        action = p;
        break;
      }
    }
  }
  json::object event = notify::ExampleEvent(action, now);
  notify::Envelope envelope{.delivery_id = NewDeliveryUid(),
                            .attempt = 1,
                            .event_seq = 0,
                            .action = action,
                            .event = std::move(event),
                            .now_ms = now,
                            .public_url = options_.public_url,
                            .webhook_id = w.id,
                            .webhook_name = w.name};
  if (!w.secret.empty()) {
    if (!open_secret_) return FailedPrecondition("this server cannot open webhook secrets");
    auto secret = open_secret_(w.secret);
    if (!secret.ok()) {
      return FailedPrecondition("the webhook's secret does not open under this master key");
    }
    envelope.secret = std::move(secret).value();
  }
  notify::AttemptOutcome outcome = channel->Send(w, envelope, WithAttemptHeader(*format));
  if (outcome.response.size() > kMaxResponseExcerpt) outcome.response.resize(kMaxResponseExcerpt);
  return outcome;
}

Result<DeliveryPage> WebhookDelivery::List(const RequestContext& ctx, int64_t webhook_id,
                                           std::optional<DeliveryState> state,
                                           std::string_view page_token, int limit) {
  int64_t before_id = 0;
  if (!page_token.empty()) {
    auto [end, ec] =
        std::from_chars(page_token.data(), page_token.data() + page_token.size(), before_id);
    if (ec != std::errc() || end != page_token.data() + page_token.size() || before_id <= 0 ||
        page_token.front() == '0' || page_token.size() > 16) {
      return InvalidArgument("invalid page token");
    }
  }
  limit = std::clamp(limit, 1, 1000);
  DeliveryPage page;
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_TRY(FindOwned(tx, ctx, webhook_id).status());
    VOUCH_ASSIGN_OR_RETURN(page.deliveries, tx.ListDeliveries({.webhook_id = webhook_id,
                                                               .state = state,
                                                               .before_id = before_id,
                                                               .limit = limit + 1}));
    return OkStatus();
  }));
  if (static_cast<int>(page.deliveries.size()) > limit) {
    page.deliveries.resize(limit);
    page.next_page_token = std::to_string(page.deliveries.back().id);
  }
  return page;
}

Result<DeliveryView> WebhookDelivery::Get(const RequestContext& ctx, std::string_view id) {
  DeliveryView view;
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    WebhookRecord w;
    VOUCH_ASSIGN_OR_RETURN(view.delivery, FindDeliveryOwned(tx, ctx, id, &w));
    view.webhook_name = w.name;
    VOUCH_ASSIGN_OR_RETURN(view.attempts, tx.ListAttempts(view.delivery.id));
    return OkStatus();
  }));
  return view;
}

Result<DeliveryRecord> WebhookDelivery::Redeliver(const RequestContext& ctx, std::string_view id) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  DeliveryRecord d;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    WebhookRecord w;
    VOUCH_ASSIGN_OR_RETURN(d, FindDeliveryOwned(change.tx(), ctx, id, &w));
    if (w.deleted_ms) {
      return FailedPrecondition(
          fmt::format("delivery {}'s subscription was deleted; nothing sends it", id));
    }
    if (d.state == DeliveryState::kPending) {
      return FailedPrecondition(fmt::format("delivery {} is pending already", id));
    }
    const DeliveryState was = d.state;
    d.state = DeliveryState::kPending;
    d.next_attempt_ms = ctx.Now();
    d.finished_ms.reset();
    VOUCH_TRY(change.tx().UpdateDelivery(d).status());
    AuditEvent e = NewEvent(ctx, audit::Action::kDeliveryRedelivered);
    e.target = {{"type", "webhook"}, {"webhook", w.name}, {"id", w.id}};
    e.before = {{"state", store::DeliveryStateName(was)}};
    e.after = {{"state", "pending"}, {"deliveries", json::array{json::value(d.uid)}}};
    return change.Record(std::move(e));
  }));
  Wake();
  return d;
}

Result<int64_t> WebhookDelivery::RedeliverDead(const RequestContext& ctx, int64_t webhook_id) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  int64_t count = 0;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(WebhookRecord w, FindOwned(change.tx(), ctx, webhook_id));
    VOUCH_ASSIGN_OR_RETURN(count, change.tx().RedeliverDead(webhook_id, ctx.Now()));
    if (count == 0) return change.Unchanged();
    AuditEvent e = NewEvent(ctx, audit::Action::kDeliveryRedelivered);
    e.target = {{"type", "webhook"}, {"webhook", w.name}, {"id", w.id}};
    e.before = {{"state", "dead"}};
    e.after = {{"state", "pending"}, {"count", count}};
    return change.Record(std::move(e));
  }));
  if (count > 0) Wake();
  return count;
}

Result<int64_t> WebhookDelivery::Prune(store::Tx& tx, TimeMs cutoff) {
  return tx.PruneNotifications(cutoff);
}

Result<DeliveryMetrics> WebhookDelivery::Metrics() {
  DeliveryMetrics m;
  m.attempts_total = attempts_total_.load();
  const TimeMs now = clock_.NowMs();
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(m.by_state, tx.CountDeliveries());
    // The oldest pending delivery is one of the subscriptions' heads (subscriptions are few).
    for (int64_t after = 0;;) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<WebhookRecord> hooks,
                             tx.ListWebhooks({.after_id = after, .limit = 100}));
      for (const WebhookRecord& w : hooks) {
        VOUCH_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> head, tx.HeadDelivery(w.id));
        if (head)
          m.oldest_pending_age_ms = std::max(m.oldest_pending_age_ms, now - head->created_ms);
      }
      if (hooks.size() < 100) break;
      after = hooks.back().id;
    }
    return OkStatus();
  }));
  return m;
}

}  // namespace vouch::service

// Notifications (issue 13; store.h "Notifications", migration 0013): subscriptions, the outbox's
// fan-out into deliveries, claims on subscriptions, deliveries and the ledger of their attempts.
//
// Locking. Two statements decide what a server works on, and on PostgreSQL both skip rows another
// transaction holds (FOR UPDATE SKIP LOCKED) instead of waiting for them: NextOutboxRows (two
// servers fan out different outbox rows; a row fanned out twice would still deliver once, since a
// subscription has one delivery per event) and ClaimWebhook (one UPDATE takes the claim, so two
// servers never hold one subscription). SQLite's single writer needs neither.
//
// Optional filters bind one parameter each and compare it with CAST, as approvals_repository.cc
// explains.
#include <fmt/format.h>

#include "vouch/store/sql/sql_tx.h"

namespace vouch::store {
namespace {

#define VOUCH_WEBHOOK_COLUMNS                                                            \
  "SELECT id, name, description, url, events, model_pattern, format, email_to, secret, " \
  "status, owner_id, after_seq, created_ms, updated_ms, deleted_ms FROM webhooks "
constexpr char kInsertWebhook[] =
    "INSERT INTO webhooks (name, description, url, events, model_pattern, format, email_to, "
    "secret, status, owner_id, after_seq, created_ms, updated_ms, deleted_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id";
constexpr char kFindWebhook[] = VOUCH_WEBHOOK_COLUMNS "WHERE id = $1";
constexpr char kListWebhooks[] = VOUCH_WEBHOOK_COLUMNS
    "WHERE (CAST($1 AS BIGINT) = 0 OR owner_id = CAST($1 AS BIGINT)) "
    "AND (CAST($2 AS BIGINT) = 1 OR deleted_ms IS NULL) "
    "AND id > $3 ORDER BY id LIMIT $4";
constexpr char kWebhooksFor[] = VOUCH_WEBHOOK_COLUMNS
    "WHERE deleted_ms IS NULL AND status = 'active' AND after_seq < $1 ORDER BY id";
#undef VOUCH_WEBHOOK_COLUMNS
constexpr char kUpdateWebhook[] =
    "UPDATE webhooks SET name = $2, description = $3, url = $4, events = $5, model_pattern = $6, "
    "format = $7, email_to = $8, secret = $9, status = $10, updated_ms = $11, deleted_ms = $12 "
    "WHERE id = $1 AND deleted_ms IS NULL";
// A deleted subscription's pending deliveries will never be sent: they end as skipped, so that
// retention can prune them and their outbox rows.
constexpr char kSkipPendingOfDeleted[] =
    "UPDATE deliveries SET state = 'skipped', finished_ms = $2, "
    "last_error = 'the subscription was deleted' WHERE webhook_id = $1 AND state = 'pending'";

constexpr char kNextOutboxRows[] =
    "SELECT id, event_seq, topic, payload, created_ms FROM outbox WHERE delivered_ms IS NULL "
    "ORDER BY id LIMIT $1";
constexpr char kNextOutboxRowsLocked[] =
    "SELECT id, event_seq, topic, payload, created_ms FROM outbox WHERE delivered_ms IS NULL "
    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";
constexpr char kMarkOutboxFannedOut[] = "UPDATE outbox SET delivered_ms = $2 WHERE id = $1";
constexpr char kOldestUnfanned[] =
    "SELECT event_seq FROM outbox WHERE delivered_ms IS NULL ORDER BY id LIMIT 1";

#define VOUCH_DELIVERY_COLUMNS                                                        \
  "SELECT id, uid, webhook_id, event_seq, action, state, attempts, next_attempt_ms, " \
  "created_ms, finished_ms, last_status, last_latency_ms, last_response, last_error " \
  "FROM deliveries "
constexpr char kInsertDelivery[] =
    "INSERT INTO deliveries (uid, webhook_id, event_seq, action, state, attempts, "
    "next_attempt_ms, created_ms, finished_ms, last_status, last_latency_ms, last_response, "
    "last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
    "ON CONFLICT (webhook_id, event_seq) DO NOTHING RETURNING id";
constexpr char kHeadDelivery[] =
    VOUCH_DELIVERY_COLUMNS "WHERE webhook_id = $1 AND state = 'pending' ORDER BY event_seq LIMIT 1";
constexpr char kFindDelivery[] = VOUCH_DELIVERY_COLUMNS "WHERE id = $1";
constexpr char kFindDeliveryByUid[] = VOUCH_DELIVERY_COLUMNS "WHERE uid = $1";
constexpr char kListDeliveries[] = VOUCH_DELIVERY_COLUMNS
    "WHERE (CAST($1 AS BIGINT) = 0 OR webhook_id = CAST($1 AS BIGINT)) "
    "AND (COALESCE(CAST($2 AS TEXT), '') = '' OR state = CAST($2 AS TEXT)) "
    "AND (CAST($3 AS BIGINT) = 0 OR id < CAST($3 AS BIGINT)) "
    "ORDER BY id DESC LIMIT $4";
#undef VOUCH_DELIVERY_COLUMNS
constexpr char kUpdateDelivery[] =
    "UPDATE deliveries SET state = $2, attempts = $3, next_attempt_ms = $4, finished_ms = $5, "
    "last_status = $6, last_latency_ms = $7, last_response = $8, last_error = $9 WHERE id = $1";

// The claim: the live, active subscription whose head (oldest pending delivery) is due and that no
// claim holds, least recently served first.
#define VOUCH_CLAIM_WEBHOOK(LOCK)                                                          \
  "UPDATE webhooks SET claimed_by = $1, claim_until_ms = $3 WHERE id = ("                  \
  "SELECT w.id FROM webhooks w WHERE w.deleted_ms IS NULL AND w.status = 'active' "        \
  "AND w.claim_until_ms <= $2 AND (SELECT d.next_attempt_ms FROM deliveries d "            \
  "WHERE d.webhook_id = w.id AND d.state = 'pending' ORDER BY d.event_seq LIMIT 1) <= $2 " \
  "ORDER BY w.claim_until_ms, w.id LIMIT 1" LOCK ") RETURNING id"
constexpr char kClaimWebhook[] = VOUCH_CLAIM_WEBHOOK("");
constexpr char kClaimWebhookLocked[] = VOUCH_CLAIM_WEBHOOK(" FOR UPDATE SKIP LOCKED");
#undef VOUCH_CLAIM_WEBHOOK
constexpr char kRenewWebhookClaim[] =
    "UPDATE webhooks SET claim_until_ms = $3 WHERE id = $1 AND claimed_by = $2";

constexpr char kInsertAttempt[] =
    "INSERT INTO delivery_attempts (delivery_id, attempt, server, started_ms, latency_ms, status, "
    "response, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr char kUpdateAttempt[] =
    "UPDATE delivery_attempts SET latency_ms = $3, status = $4, response = $5, error = $6 "
    "WHERE delivery_id = $1 AND attempt = $2";
constexpr char kListAttempts[] =
    "SELECT delivery_id, attempt, server, started_ms, latency_ms, status, response, error "
    "FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt";

constexpr char kRedeliverDead[] =
    "UPDATE deliveries SET state = 'pending', next_attempt_ms = $2, finished_ms = NULL "
    "WHERE webhook_id = $1 AND state = 'dead'";

// Retention: finished deliveries first, then the outbox rows none of whose deliveries is left (a
// dead delivery keeps its event's payload, for a redelivery).
constexpr char kPruneAttempts[] =
    "DELETE FROM delivery_attempts WHERE delivery_id IN ("
    "SELECT id FROM deliveries WHERE finished_ms < $1)";
constexpr char kPruneDeliveries[] = "DELETE FROM deliveries WHERE finished_ms < $1";
constexpr char kPruneOutbox[] =
    "DELETE FROM outbox WHERE delivered_ms < $1 AND NOT EXISTS ("
    "SELECT 1 FROM deliveries d WHERE d.event_seq = outbox.event_seq)";

constexpr char kCountDeliveries[] = "SELECT state, COUNT(*) FROM deliveries GROUP BY state";

Result<WebhookRecord> ReadWebhook(const sql::Rows& r) {
  WebhookRecord w;
  w.id = r.Int(0);
  w.name = r.Text(1);
  w.description = r.Text(2);
  w.url = r.Text(3);
  w.events = r.Text(4);
  w.model_pattern = r.Text(5);
  w.format = r.Text(6);
  w.email_to = r.Text(7);
  w.secret = r.Text(8);
  auto status = ParseWebhookStatus(r.Text(9));
  if (!status.ok()) return Internal("stored webhook status is unknown: " + r.Text(9));
  w.status = *status;
  w.owner_id = r.Int(10);
  w.after_seq = r.Int(11);
  w.created_ms = r.Int(12);
  w.updated_ms = r.Int(13);
  w.deleted_ms = r.OptionalInt(14);
  return w;
}

std::optional<int> OptionalInt32(const sql::Rows& r, int col) {
  std::optional<int64_t> v = r.OptionalInt(col);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<int64_t> Widen(std::optional<int> v) {
  if (!v) return std::nullopt;
  return *v;
}

Result<DeliveryRecord> ReadDelivery(const sql::Rows& r) {
  DeliveryRecord d;
  d.id = r.Int(0);
  d.uid = r.Text(1);
  d.webhook_id = r.Int(2);
  d.event_seq = r.Int(3);
  d.action = r.Text(4);
  auto state = ParseDeliveryState(r.Text(5));
  if (!state.ok()) return Internal("stored delivery state is unknown: " + r.Text(5));
  d.state = *state;
  d.attempts = static_cast<int>(r.Int(6));
  d.next_attempt_ms = r.Int(7);
  d.created_ms = r.Int(8);
  d.finished_ms = r.OptionalInt(9);
  d.last_status = OptionalInt32(r, 10);
  d.last_latency_ms = r.OptionalInt(11);
  d.last_response = r.Text(12);
  d.last_error = r.Text(13);
  return d;
}

}  // namespace

Result<std::vector<WebhookRecord>> SqlTx::QueryWebhooks(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  std::vector<WebhookRecord> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    VOUCH_ASSIGN_OR_RETURN(WebhookRecord w, ReadWebhook(*rows));
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<DeliveryRecord>> SqlTx::QueryDeliveries(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  std::vector<DeliveryRecord> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    VOUCH_ASSIGN_OR_RETURN(DeliveryRecord d, ReadDelivery(*rows));
    out.push_back(std::move(d));
  }
  return out;
}

Status SqlTx::InsertWebhook(WebhookRecord& w) {
  VOUCH_ASSIGN_OR_RETURN(
      auto rows,
      c_.Query(kInsertWebhook, {w.name, w.description, w.url, w.events, w.model_pattern, w.format,
                                w.email_to, w.secret, WebhookStatusName(w.status), w.owner_id,
                                w.after_seq, w.created_ms, w.updated_ms, w.deleted_ms}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return Internal("inserting a webhook returned no id");
  w.id = rows->Int(0);
  return OkStatus();
}

Result<std::optional<WebhookRecord>> SqlTx::FindWebhook(int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryWebhooks(kFindWebhook, {id}));
  if (found.empty()) return std::optional<WebhookRecord>();
  return std::optional<WebhookRecord>(std::move(found.front()));
}

Result<bool> SqlTx::UpdateWebhook(const WebhookRecord& w) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t changed,
      c_.Exec(kUpdateWebhook,
              {w.id, w.name, w.description, w.url, w.events, w.model_pattern, w.format, w.email_to,
               w.secret, WebhookStatusName(w.status), w.updated_ms, w.deleted_ms}));
  if (changed == 0) return false;
  if (w.deleted_ms) {
    VOUCH_TRY(c_.Exec(kSkipPendingOfDeleted, {w.id, *w.deleted_ms}).status());
  }
  return true;
}

Result<std::vector<WebhookRecord>> SqlTx::ListWebhooks(const WebhookFilter& f) {
  return QueryWebhooks(kListWebhooks, {f.owner_id, static_cast<int64_t>(f.include_deleted ? 1 : 0),
                                       f.after_id, static_cast<int64_t>(f.limit)});
}

Result<std::vector<WebhookRecord>> SqlTx::WebhooksFor(int64_t event_seq) {
  return QueryWebhooks(kWebhooksFor, {event_seq});
}

Result<std::vector<OutboxRow>> SqlTx::NextOutboxRows(int limit) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(lock_rows_ ? kNextOutboxRowsLocked : kNextOutboxRows,
                                             {static_cast<int64_t>(limit)}));
  std::vector<OutboxRow> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    out.push_back(OutboxRow{.id = rows->Int(0),
                            .event_seq = rows->Int(1),
                            .topic = rows->Text(2),
                            .payload = rows->Text(3),
                            .created_ms = rows->Int(4)});
  }
  return out;
}

Status SqlTx::MarkOutboxFannedOut(int64_t id, TimeMs when) {
  return c_.Exec(kMarkOutboxFannedOut, {id, when}).status();
}

Result<std::optional<int64_t>> SqlTx::OldestUnfannedSeq() {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kOldestUnfanned));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->Int(0));
}

Result<bool> SqlTx::InsertDelivery(DeliveryRecord& d) {
  VOUCH_ASSIGN_OR_RETURN(
      auto rows,
      c_.Query(kInsertDelivery,
               {d.uid, d.webhook_id, d.event_seq, d.action, DeliveryStateName(d.state),
                static_cast<int64_t>(d.attempts), d.next_attempt_ms, d.created_ms, d.finished_ms,
                Widen(d.last_status), d.last_latency_ms, d.last_response, d.last_error}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return false;
  d.id = rows->Int(0);
  return true;
}

Result<std::optional<int64_t>> SqlTx::ClaimWebhook(std::string_view server, TimeMs now,
                                                   TimeMs until) {
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(lock_rows_ ? kClaimWebhookLocked : kClaimWebhook, {server, now, until}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(rows->Int(0));
}

Result<bool> SqlTx::RenewWebhookClaim(int64_t webhook_id, std::string_view server, TimeMs until) {
  VOUCH_ASSIGN_OR_RETURN(int64_t changed, c_.Exec(kRenewWebhookClaim, {webhook_id, server, until}));
  return changed > 0;
}

Result<std::optional<DeliveryRecord>> SqlTx::HeadDelivery(int64_t webhook_id) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryDeliveries(kHeadDelivery, {webhook_id}));
  if (found.empty()) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(std::move(found.front()));
}

Result<std::optional<DeliveryRecord>> SqlTx::FindDelivery(int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryDeliveries(kFindDelivery, {id}));
  if (found.empty()) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(std::move(found.front()));
}

Result<std::optional<DeliveryRecord>> SqlTx::FindDeliveryByUid(std::string_view uid) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryDeliveries(kFindDeliveryByUid, {uid}));
  if (found.empty()) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(std::move(found.front()));
}

Result<bool> SqlTx::UpdateDelivery(const DeliveryRecord& d) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t changed,
      c_.Exec(kUpdateDelivery, {d.id, DeliveryStateName(d.state), static_cast<int64_t>(d.attempts),
                                d.next_attempt_ms, d.finished_ms, Widen(d.last_status),
                                d.last_latency_ms, d.last_response, d.last_error}));
  return changed > 0;
}

Result<std::vector<DeliveryRecord>> SqlTx::ListDeliveries(const DeliveryFilter& f) {
  std::string_view state = f.state ? DeliveryStateName(*f.state) : std::string_view();
  return QueryDeliveries(kListDeliveries,
                         {f.webhook_id, state, f.before_id, static_cast<int64_t>(f.limit)});
}

Status SqlTx::InsertAttempt(const DeliveryAttempt& a) {
  return c_
      .Exec(kInsertAttempt, {a.delivery_id, static_cast<int64_t>(a.attempt), a.server, a.started_ms,
                             a.latency_ms, Widen(a.status), a.response, a.error})
      .status();
}

Result<bool> SqlTx::UpdateAttempt(const DeliveryAttempt& a) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t changed,
      c_.Exec(kUpdateAttempt, {a.delivery_id, static_cast<int64_t>(a.attempt), a.latency_ms,
                               Widen(a.status), a.response, a.error}));
  return changed > 0;
}

Result<std::vector<DeliveryAttempt>> SqlTx::ListAttempts(int64_t delivery_id) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kListAttempts, {delivery_id}));
  std::vector<DeliveryAttempt> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    out.push_back(DeliveryAttempt{.delivery_id = rows->Int(0),
                                  .attempt = static_cast<int>(rows->Int(1)),
                                  .server = rows->Text(2),
                                  .started_ms = rows->Int(3),
                                  .latency_ms = rows->OptionalInt(4),
                                  .status = OptionalInt32(*rows, 5),
                                  .response = rows->Text(6),
                                  .error = rows->Text(7)});
  }
  return out;
}

Result<int64_t> SqlTx::RedeliverDead(int64_t webhook_id, TimeMs now) {
  return c_.Exec(kRedeliverDead, {webhook_id, now});
}

Result<int64_t> SqlTx::PruneNotifications(TimeMs cutoff) {
  VOUCH_ASSIGN_OR_RETURN(int64_t attempts, c_.Exec(kPruneAttempts, {cutoff}));
  VOUCH_ASSIGN_OR_RETURN(int64_t deliveries, c_.Exec(kPruneDeliveries, {cutoff}));
  VOUCH_ASSIGN_OR_RETURN(int64_t outbox, c_.Exec(kPruneOutbox, {cutoff}));
  return attempts + deliveries + outbox;
}

Result<std::vector<int64_t>> SqlTx::CountDeliveries() {
  std::vector<int64_t> counts(4, 0);
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kCountDeliveries));
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    auto state = ParseDeliveryState(rows->Text(0));
    if (!state.ok()) return Internal("stored delivery state is unknown: " + rows->Text(0));
    counts[static_cast<size_t>(*state)] = rows->Int(1);
  }
  return counts;
}

}  // namespace vouch::store

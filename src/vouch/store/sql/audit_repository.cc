// The audit log and the outbox. How the next sequence number is taken (max + 1 under SQLite's one
// writer, or PostgreSQL's audit_head row lock) is the dialect's.
#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sql/wait_timer.h"

namespace vouch::store {
namespace {

constexpr char kInsertAudit[] =
    "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, model_id, model_name, "
    "version, outcome, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

// The side index of approval requests (migration 0017).
constexpr char kIndexAuditRequest[] =
    "INSERT INTO audit_request_index (request_id, seq) VALUES ($1, $2)";

constexpr char kEnqueueOutbox[] =
    "INSERT INTO outbox (event_seq, topic, payload, created_ms, next_attempt_ms) "
    "VALUES ($1, $2, $3, $4, $4)";
constexpr char kCountPendingOutbox[] = "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL";
constexpr char kOutboxPayload[] = "SELECT payload FROM outbox WHERE event_seq = $1";

}  // namespace

Result<int64_t> SqlTx::AppendAuditEvent(
    const AuditEvent& e, const std::function<Result<std::string>(int64_t seq)>& body_for) {
  int64_t seq;
  {
    sql::WaitTimer timer(lock_rows_ && waits_ != nullptr ? &waits_->audit_head_us : nullptr);
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(d_.take_audit_seq));
    timer.Stop();
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return Internal("no next audit sequence number (is the audit_head row missing?)");
    seq = rows->Int(0);
  }
  Result<std::string> body = body_for(seq);
  if (!body.ok()) {
    // The number goes back, so that a caller that carries on and commits leaves no gap.
    if (d_.give_back_audit_seq != nullptr) {
      VOUCH_TRY(c_.Exec(d_.give_back_audit_seq, {seq}).status());
    }
    return body.status();
  }
  VOUCH_TRY(c_.Exec(kInsertAudit,
                    {seq, e.time_ms, e.actor_id, e.actor_name, e.action, e.model_id, e.model_name,
                     e.version, e.outcome == Outcome::kDone ? "done" : "denied", *body})
                .status());
  for (int64_t request : ApprovalRequestIds(e)) {
    VOUCH_TRY(c_.Exec(kIndexAuditRequest, {request, seq}).status());
  }
  return seq;
}

Result<std::vector<StoredAuditEvent>> SqlTx::ListAuditEvents(const AuditFilter& f) {
  const char* statement = f.request_id != 0 ? (f.newest_first ? d_.list_audit_by_request_desc
                                                              : d_.list_audit_by_request)
                                            : (f.newest_first ? d_.list_audit_desc : d_.list_audit);
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(statement, {f.after_seq, f.model, f.version, f.actor, f.action,
                                      f.since_ms, f.until_ms, f.limit, f.model_id, f.outcome,
                                      f.before_seq, f.request_id}));
  std::vector<StoredAuditEvent> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    out.push_back({rows->Int(0), rows->Text(1)});
  }
}

Result<int64_t> SqlTx::AuditHeadSeq() {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(d_.audit_head));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return Internal("the audit_head row is missing");
  return rows->Int(0);
}

Status SqlTx::EnqueueOutbox(int64_t event_seq, std::string_view topic, std::string_view payload,
                            TimeMs created_ms) {
  return c_.Exec(kEnqueueOutbox, {event_seq, topic, payload, created_ms}).status();
}

Result<int64_t> SqlTx::CountPendingOutbox() {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kCountPendingOutbox));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  return row ? rows->Int(0) : 0;
}

Result<std::optional<std::string>> SqlTx::OutboxPayload(int64_t event_seq) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kOutboxPayload, {event_seq}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(rows->Text(0));
}

}  // namespace vouch::store

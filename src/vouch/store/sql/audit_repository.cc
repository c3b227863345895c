// The audit log, its Merkle tree and the outbox. How the next sequence number is taken (max + 1
// under SQLite's one writer, or PostgreSQL's audit_head row lock) and where the tree's right edge
// lives (SQLite's audit_tree row, PostgreSQL's audit_head row) is the dialect's.
#include <fmt/format.h>

#include <bit>

#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sql/wait_timer.h"
#include "vouch/tlog/tiles.h"

namespace vouch::store {
namespace {

constexpr char kInsertAudit[] =
    "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, model_id, model_name, "
    "version, outcome, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

constexpr char kInsertAuditHash[] =
    "INSERT INTO audit_hashes (level, idx, hash) VALUES ($1, $2, $3)";
constexpr char kAuditHashes[] =
    "SELECT hash FROM audit_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
constexpr char kAuditBodiesAfter[] =
    "SELECT seq, body FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

constexpr char kTreeOffMessage[] =
    "the audit tree of this store was switched off (a benchmark's --bench-audit-tree-off): its "
    "log cannot be verified, and no server may use it";

// The tree's size and right edge as stored: -1 and nothing when tree updates were off.
Result<tlog::RightEdge> ParseEdge(int64_t size, std::string_view bytes) {
  if (size < 0) return FailedPrecondition(kTreeOffMessage);
  const size_t roots = static_cast<size_t>(std::popcount(static_cast<uint64_t>(size)));
  if (bytes.size() != roots * tlog::kHashBytes) {
    return Status(StatusCode::kDataLoss,
                  fmt::format("the audit tree's stored right edge is {} bytes; a tree of {} leaves "
                              "has {} roots of {}",
                              bytes.size(), size, roots, tlog::kHashBytes));
  }
  std::vector<tlog::Hash> hashes;
  hashes.reserve(roots);
  for (size_t i = 0; i < roots; ++i) {
    VOUCH_ASSIGN_OR_RETURN(
        tlog::Hash h, tlog::HashFromBytes(bytes.substr(i * tlog::kHashBytes, tlog::kHashBytes)));
    hashes.push_back(h);
  }
  return tlog::RightEdge::FromHashes(static_cast<uint64_t>(size), std::move(hashes));
}

std::string EdgeBytes(const tlog::RightEdge& edge) {
  std::string out;
  out.reserve(edge.roots().size() * tlog::kHashBytes);
  for (const tlog::Hash& h : edge.roots())
    out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

sql::Value HashValue(const tlog::Hash& h) {
  return sql::Value::Blob(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

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
  int64_t tree_size = 0;
  std::string tree_edge;
  {
    sql::WaitTimer timer(lock_rows_ && waits_ != nullptr ? &waits_->audit_head_us : nullptr);
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(d_.take_audit_seq));
    timer.Stop();
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return Internal("no next audit sequence number (is the audit_head row missing?)");
    seq = rows->Int(0);
    if (d_.take_audit_seq_yields_edge) {
      tree_size = rows->Int(1);
      tree_edge = rows->Blob(2);
    }
  }
  Result<std::string> body = body_for(seq);
  if (!body.ok()) {
    // The number goes back, so that a caller that carries on and commits leaves no gap. The tree
    // is untouched: it is written only below.
    if (d_.give_back_audit_seq != nullptr) {
      VOUCH_TRY(c_.Exec(d_.give_back_audit_seq, {seq}).status());
    }
    return body.status();
  }
  const std::vector<sql::Value> event_values = {
      seq,          e.time_ms, e.actor_id,
      e.actor_name, e.action,  e.model_id,
      e.model_name, e.version, e.outcome == Outcome::kDone ? "done" : "denied",
      *body};
  if (!audit_tree_) {
    VOUCH_TRY(c_.Exec(kInsertAudit, event_values).status());
    VOUCH_TRY(IndexAuditRequests(e, seq));
    return seq;
  }
  if (!d_.take_audit_seq_yields_edge) {
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(d_.audit_tree_edge));
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return Internal("the audit_tree row is missing");
    tree_size = rows->Int(0);
    tree_edge = rows->Blob(1);
  }
  VOUCH_ASSIGN_OR_RETURN(tlog::RightEdge edge, ParseEdge(tree_size, tree_edge));
  if (edge.size() != static_cast<uint64_t>(seq - 1)) {
    return FailedPrecondition(fmt::format(
        "the audit tree holds {} events but the log {}: it is built at start (vouch serve)",
        edge.size(), seq - 1));
  }
  const std::vector<tlog::StoredHash> stored = StoredAuditHashes(edge, *body);
  if (d_.append_audit_event_with_leaf != nullptr && stored.size() == 1) {
    // 255 appends in 256: the event, its leaf hash and the new edge in one round trip, inside the
    // window in which every append from every server waits for audit_head's row lock.
    // Values hold their bytes by reference: the edge's bytes live here until the statement ran.
    const std::string edge_bytes = EdgeBytes(edge);
    std::vector<sql::Value> values = event_values;
    values.insert(values.end(), {stored[0].level, static_cast<int64_t>(stored[0].index),
                                 HashValue(stored[0].hash), static_cast<int64_t>(edge.size()),
                                 sql::Value::Blob(edge_bytes)});
    VOUCH_TRY(c_.Exec(d_.append_audit_event_with_leaf, values).status());
    VOUCH_TRY(IndexAuditRequests(e, seq));
    return seq;
  }
  VOUCH_TRY(c_.Exec(kInsertAudit, event_values).status());
  VOUCH_TRY(IndexAuditRequests(e, seq));
  VOUCH_TRY(InsertAuditHashes(stored));
  VOUCH_TRY(WriteAuditTreeEdge(edge));
  return seq;
}

Status SqlTx::IndexAuditRequests(const AuditEvent& e, int64_t seq) {
  for (int64_t request : ApprovalRequestIds(e)) {
    VOUCH_TRY(c_.Exec(kIndexAuditRequest, {request, seq}).status());
  }
  return OkStatus();
}

std::vector<tlog::StoredHash> SqlTx::StoredAuditHashes(tlog::RightEdge& edge,
                                                       std::string_view body) {
  std::vector<tlog::StoredHash> stored;
  for (const tlog::StoredHash& h : edge.Append(tlog::LeafHash(body))) {
    if (h.level % tlog::kTileHeight == 0) stored.push_back(h);  // the rest: from the tile below
  }
  return stored;
}

Status SqlTx::InsertAuditHashes(const std::vector<tlog::StoredHash>& stored) {
  for (const tlog::StoredHash& h : stored) {
    VOUCH_TRY(c_.Exec(kInsertAuditHash, {h.level, static_cast<int64_t>(h.index), HashValue(h.hash)})
                  .status());
  }
  return OkStatus();
}

Status SqlTx::AppendAuditLeaf(tlog::RightEdge& edge, std::string_view body) {
  return InsertAuditHashes(StoredAuditHashes(edge, body));
}

Status SqlTx::WriteAuditTreeEdge(const tlog::RightEdge& edge) {
  const std::string bytes = EdgeBytes(edge);
  return c_
      .Exec(d_.set_audit_tree_edge, {static_cast<int64_t>(edge.size()), sql::Value::Blob(bytes)})
      .status();
}

Result<tlog::RightEdge> SqlTx::ReadAuditTreeEdge(bool lock) {
  auto read = c_.Query(lock && lock_rows_ ? d_.lock_audit_tree_edge : d_.audit_tree_edge);
  if (!read.ok()) {
    // A read-only store opened on a file older than migration 0015 has no tree yet.
    VOUCH_ASSIGN_OR_RETURN(auto has, c_.Query(d_.has_audit_tree));
    VOUCH_ASSIGN_OR_RETURN(bool row, has->Next());
    if (row && has->Int(0) == 0) {
      return NotFound(
          "this store's schema predates the audit tree (migration 15): the next `vouch serve` "
          "builds it");
    }
    return read.status();
  }
  std::unique_ptr<sql::Rows> rows = std::move(read).value();
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return Internal("the audit tree's head row is missing");
  return ParseEdge(rows->Int(0), rows->Blob(1));
}

Result<uint64_t> SqlTx::AuditTreeSize() {
  VOUCH_ASSIGN_OR_RETURN(tlog::RightEdge edge, ReadAuditTreeEdge(false));
  return edge.size();
}

Result<std::vector<tlog::Hash>> SqlTx::AuditTreeEdge() {
  VOUCH_ASSIGN_OR_RETURN(tlog::RightEdge edge, ReadAuditTreeEdge(false));
  return edge.roots();
}

Result<std::vector<tlog::Hash>> SqlTx::AuditTreeHashes(int level, uint64_t first, int count) {
  if (level < 0 || level % tlog::kTileHeight != 0 || level > 63 || count < 0) {
    return InvalidArgument(fmt::format(
        "stored audit tree hashes are kept at levels 0, 8, 16, ...; not {} hashes at level {}",
        count, level));
  }
  std::vector<tlog::Hash> out;
  if (count == 0) return out;
  out.reserve(static_cast<size_t>(count));
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kAuditHashes, {level, static_cast<int64_t>(first),
                                                            static_cast<int64_t>(first + count)}));
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    Result<tlog::Hash> h = tlog::HashFromBytes(rows->Blob(0));
    if (!h.ok()) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("a stored audit tree hash at level {} is not 32 bytes", level));
    }
    out.push_back(*h);
  }
}

Result<uint64_t> SqlTx::ExtendAuditTree(int max_events) {
  VOUCH_ASSIGN_OR_RETURN(tlog::RightEdge edge, ReadAuditTreeEdge(true));
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(kAuditBodiesAfter, {static_cast<int64_t>(edge.size()), max_events}));
  std::vector<std::pair<int64_t, std::string>> events;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) break;
    events.emplace_back(rows->Int(0), rows->Text(1));
  }
  rows.reset();  // its statement is released before the inserts run
  for (const auto& [seq, body] : events) {
    if (static_cast<uint64_t>(seq) != edge.size() + 1) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("the audit log has no event {} (the next is {}): it has a gap",
                                edge.size() + 1, seq));
    }
    VOUCH_TRY(AppendAuditLeaf(edge, body));
  }
  if (!events.empty()) VOUCH_TRY(WriteAuditTreeEdge(edge));
  return edge.size();
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

Status SqlTx::MarkAuditTreeOff() {
  return c_.Exec(d_.set_audit_tree_edge, {int64_t{-1}, sql::Value::Blob("")}).status();
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

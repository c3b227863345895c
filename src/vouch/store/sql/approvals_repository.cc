// Approvals (issue 12; store.h "Approvals", migration 0011): published policy versions and their
// per-name head rows, approval requests, reviews, checks and comments.
//
// Locking. A policy's next version number comes from one upsert of its head row, which on
// PostgreSQL holds that row's lock until commit: two publishers of one name queue and take
// consecutive numbers. LockRequest reads a request FOR UPDATE where the dialect locks rows, so
// every change of one request (twenty approvals arriving at once) runs one after the other and
// sees the state the previous one committed. SQLite's single writer needs neither.
//
// Optional filters bind one parameter each and compare it with CAST so that PostgreSQL, which
// receives untyped parameters, reads them as the column's type on both databases; an empty text
// filter may arrive as NULL (SQLite binds an empty view without data so), hence the COALESCE.
#include <fmt/format.h>

#include <algorithm>

#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sql/wait_timer.h"

namespace vouch::store {
namespace {

// Policies: the columns ReadPolicy reads, in its order.
#define VOUCH_POLICY_COLUMNS                                                                  \
  "SELECT p.id, p.name, p.version, p.target, p.body, p.digest, p.source_yaml, p.created_ms, " \
  "p.created_by_id, h.retired_ms, h.retired_by_id FROM policy_versions p "                    \
  "JOIN policies h ON h.name = p.name "
constexpr char kBumpPolicyHead[] =
    "INSERT INTO policies (name, last_version, created_ms) VALUES ($1, 1, $2) "
    "ON CONFLICT (name) DO UPDATE SET last_version = policies.last_version + 1, "
    "retired_ms = NULL, retired_by_id = 0 RETURNING last_version";
constexpr char kInsertPolicyVersion[] =
    "INSERT INTO policy_versions (name, version, target, body, digest, source_yaml, created_ms, "
    "created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
constexpr char kLatestPolicy[] =
    VOUCH_POLICY_COLUMNS "WHERE p.name = $1 AND p.version = h.last_version";
constexpr char kPolicyVersion[] = VOUCH_POLICY_COLUMNS "WHERE p.name = $1 AND p.version = $2";
constexpr char kListPolicies[] =
    VOUCH_POLICY_COLUMNS "WHERE p.version = h.last_version ORDER BY p.name";
constexpr char kListLivePolicies[] = VOUCH_POLICY_COLUMNS
    "WHERE p.version = h.last_version AND h.retired_ms IS NULL ORDER BY p.name";
constexpr char kPolicyHistory[] = VOUCH_POLICY_COLUMNS "WHERE p.name = $1 ORDER BY p.version";
#undef VOUCH_POLICY_COLUMNS
constexpr char kRetirePolicy[] =
    "UPDATE policies SET retired_ms = $2, retired_by_id = $3 "
    "WHERE name = $1 AND retired_ms IS NULL";

// Requests: the columns ReadRequest reads, in its order.
#define VOUCH_REQUEST_COLUMNS                                                                  \
  "SELECT id, model_id, version, target, state, requester_id, comment, policy_name, "          \
  "policy_version, fingerprint, break_glass, break_glass_reason, followup_state, created_ms, " \
  "updated_ms, approved_ms, applied_ms, closed_ms, expires_ms, followup_closed_ms, "           \
  "reminded_ms FROM approval_requests "
// An open or approved request that clashes inserts nothing (a failed statement would abort a
// PostgreSQL transaction); InsertRequest reports ALREADY_EXISTS.
constexpr char kInsertRequest[] =
    "INSERT INTO approval_requests (model_id, version, target, state, requester_id, comment, "
    "policy_name, policy_version, fingerprint, break_glass, break_glass_reason, followup_state, "
    "created_ms, updated_ms, approved_ms, applied_ms, closed_ms, expires_ms, followup_closed_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19) ON CONFLICT (model_id, version, target) WHERE state IN ('open', 'approved') "
    "DO NOTHING RETURNING id";
constexpr char kFindRequest[] = VOUCH_REQUEST_COLUMNS "WHERE id = $1";
constexpr char kFindRequestForUpdate[] = VOUCH_REQUEST_COLUMNS "WHERE id = $1 FOR UPDATE";
// Reopening a request beside another active one for the same version and target changes nothing
// (rather than failing the statement); UpdateRequest then tells NOT_FOUND from ALREADY_EXISTS.
constexpr char kUpdateRequest[] =
    "UPDATE approval_requests SET state = $2, followup_state = $3, updated_ms = $4, "
    "approved_ms = $5, applied_ms = $6, closed_ms = $7, expires_ms = $8, followup_closed_ms = $9 "
    "WHERE id = $1 AND (CAST($2 AS TEXT) NOT IN ('open', 'approved') OR NOT EXISTS ("
    "SELECT 1 FROM approval_requests o WHERE o.model_id = approval_requests.model_id "
    "AND o.version = approval_requests.version AND o.target = approval_requests.target "
    "AND o.state IN ('open', 'approved') AND o.id <> $1))";
constexpr char kRequestExists[] = "SELECT 1 FROM approval_requests WHERE id = $1";
constexpr char kListRequests[] = VOUCH_REQUEST_COLUMNS
    "WHERE (CAST($1 AS BIGINT) = 0 OR model_id = CAST($1 AS BIGINT)) "
    "AND (CAST($2 AS BIGINT) = 0 OR version = CAST($2 AS BIGINT)) "
    "AND (COALESCE(CAST($3 AS TEXT), '') = '' OR state = CAST($3 AS TEXT)) "
    "AND (CAST($4 AS BIGINT) = 0 OR requester_id = CAST($4 AS BIGINT)) "
    "AND (COALESCE(CAST($5 AS TEXT), '') = '' OR target = CAST($5 AS TEXT)) "
    "AND (CAST($6 AS BIGINT) = 0 OR id < CAST($6 AS BIGINT)) "
    "ORDER BY id DESC LIMIT $7";
constexpr char kNewestRequestFor[] = VOUCH_REQUEST_COLUMNS
    "WHERE model_id = $1 AND version = $2 AND target = $3 ORDER BY id DESC LIMIT 1";
#undef VOUCH_REQUEST_COLUMNS
// Request timers (migration 0012): the partial index approval_requests_timer serves DueRequests.
constexpr char kSetRequestTimer[] = "UPDATE approval_requests SET timer_ms = $2 WHERE id = $1";
// Request reminders (migration 0014).
constexpr char kSetRequestReminded[] =
    "UPDATE approval_requests SET reminded_ms = $2 WHERE id = $1";
constexpr char kDueRequests[] =
    "SELECT id FROM approval_requests WHERE state = 'open' AND timer_ms <= $1 "
    "ORDER BY timer_ms, id LIMIT $2";

constexpr char kInsertReview[] =
    "INSERT INTO approval_reviews (request_id, reviewer_id, printed_name, decision, meaning, "
    "comment, fingerprint, created_ms, dismissed_ms, dismissed_reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
constexpr char kListReviews[] =
    "SELECT id, request_id, reviewer_id, printed_name, decision, meaning, comment, fingerprint, "
    "created_ms, dismissed_ms, dismissed_reason FROM approval_reviews WHERE request_id = $1 "
    "ORDER BY id";
constexpr char kDismissReviews[] =
    "UPDATE approval_reviews SET dismissed_ms = $3, dismissed_reason = $4 "
    "WHERE request_id = $1 AND dismissed_ms IS NULL "
    "AND (COALESCE(CAST($2 AS TEXT), '') = '' OR fingerprint <> CAST($2 AS TEXT)) RETURNING id";

#define VOUCH_CHECK_COLUMNS                                                                    \
  "SELECT c.id, c.model_id, c.version, c.name, c.state, c.url, c.description, c.fingerprint, " \
  "c.poster_id, c.created_ms FROM version_checks c "
constexpr char kNewestCheck[] = VOUCH_CHECK_COLUMNS
    "WHERE c.model_id = $1 AND c.version = $2 AND c.name = $3 ORDER BY c.id DESC LIMIT 1";
constexpr char kCheckHistory[] = VOUCH_CHECK_COLUMNS
    "WHERE c.model_id = $1 AND c.version = $2 AND c.name = $3 ORDER BY c.id DESC";
constexpr char kListChecks[] = VOUCH_CHECK_COLUMNS
    "WHERE c.model_id = $1 AND c.version = $2 AND c.id = (SELECT MAX(o.id) FROM version_checks o "
    "WHERE o.model_id = c.model_id AND o.version = c.version AND o.name = c.name) "
    "ORDER BY c.name";
#undef VOUCH_CHECK_COLUMNS
constexpr char kInsertCheck[] =
    "INSERT INTO version_checks (model_id, version, name, state, url, description, fingerprint, "
    "poster_id, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

#define VOUCH_COMMENT_COLUMNS                                                                      \
  "SELECT id, request_id, model_id, version, author_id, text, created_ms, updated_ms, deleted_ms " \
  "FROM request_comments "
constexpr char kFindComment[] = VOUCH_COMMENT_COLUMNS "WHERE id = $1";
constexpr char kListComments[] =
    VOUCH_COMMENT_COLUMNS "WHERE model_id = $1 AND version = $2 AND deleted_ms IS NULL ORDER BY id";
#undef VOUCH_COMMENT_COLUMNS
constexpr char kInsertComment[] =
    "INSERT INTO request_comments (request_id, model_id, version, author_id, text, created_ms, "
    "updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
constexpr char kUpdateComment[] =
    "UPDATE request_comments SET text = $2, updated_ms = $3 WHERE id = $1 AND deleted_ms IS NULL";
constexpr char kDeleteComment[] =
    "UPDATE request_comments SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL";

Result<FollowupState> ParseFollowupState(std::string_view s) {
  for (FollowupState f : {FollowupState::kNone, FollowupState::kOpen, FollowupState::kClosed}) {
    if (FollowupStateName(f) == s) return f;
  }
  return Internal(fmt::format("stored follow-up state is unknown: '{}'", s));
}

PolicyRecord ReadPolicy(const sql::Rows& r) {
  PolicyRecord p;
  p.id = r.Int(0);
  p.name = r.Text(1);
  p.version = r.Int(2);
  p.target = r.Text(3);
  p.body = r.Text(4);
  p.digest = r.Text(5);
  p.source_yaml = r.Text(6);
  p.created_ms = r.Int(7);
  p.created_by_id = r.Int(8);
  p.retired_ms = r.OptionalInt(9);
  p.retired_by_id = r.Int(10);
  return p;
}

Result<ApprovalRequest> ReadRequest(const sql::Rows& r) {
  ApprovalRequest q;
  q.id = r.Int(0);
  q.model_id = r.Int(1);
  q.version = r.Int(2);
  q.target = r.Text(3);
  auto state = ParseRequestState(r.Text(4));
  if (!state.ok()) return Internal("stored request state is unknown: " + r.Text(4));
  q.state = *state;
  q.requester_id = r.Int(5);
  q.comment = r.Text(6);
  q.policy_name = r.Text(7);
  q.policy_version = r.Int(8);
  q.fingerprint = r.Text(9);
  q.break_glass = r.Int(10) != 0;
  q.break_glass_reason = r.Text(11);
  VOUCH_ASSIGN_OR_RETURN(q.followup_state, ParseFollowupState(r.Text(12)));
  q.created_ms = r.Int(13);
  q.updated_ms = r.Int(14);
  q.approved_ms = r.OptionalInt(15);
  q.applied_ms = r.OptionalInt(16);
  q.closed_ms = r.OptionalInt(17);
  q.expires_ms = r.OptionalInt(18);
  q.followup_closed_ms = r.OptionalInt(19);
  q.reminded_ms = r.OptionalInt(20);
  return q;
}

Result<ApprovalReview> ReadReview(const sql::Rows& r) {
  ApprovalReview v;
  v.id = r.Int(0);
  v.request_id = r.Int(1);
  v.reviewer_id = r.Int(2);
  v.printed_name = r.Text(3);
  const std::string decision = r.Text(4);
  if (decision == ReviewDecisionName(ReviewDecision::kApprove)) {
    v.decision = ReviewDecision::kApprove;
  } else if (decision == ReviewDecisionName(ReviewDecision::kReject)) {
    v.decision = ReviewDecision::kReject;
  } else {
    return Internal("stored review decision is unknown: " + decision);
  }
  v.meaning = r.Text(5);
  v.comment = r.Text(6);
  v.fingerprint = r.Text(7);
  v.created_ms = r.Int(8);
  v.dismissed_ms = r.OptionalInt(9);
  v.dismissed_reason = r.Text(10);
  return v;
}

Result<VersionCheck> ReadCheck(const sql::Rows& r) {
  VersionCheck c;
  c.id = r.Int(0);
  c.model_id = r.Int(1);
  c.version = r.Int(2);
  c.name = r.Text(3);
  auto state = ParseCheckState(r.Text(4));
  if (!state.ok()) return Internal("stored check state is unknown: " + r.Text(4));
  c.state = *state;
  c.url = r.Text(5);
  c.description = r.Text(6);
  c.fingerprint = r.Text(7);
  c.poster_id = r.Int(8);
  c.created_ms = r.Int(9);
  return c;
}

RequestComment ReadComment(const sql::Rows& r) {
  RequestComment c;
  c.id = r.Int(0);
  c.request_id = r.OptionalInt(1).value_or(0);
  c.model_id = r.Int(2);
  c.version = r.Int(3);
  c.author_id = r.Int(4);
  c.text = r.Text(5);
  c.created_ms = r.Int(6);
  c.updated_ms = r.Int(7);
  c.deleted_ms = r.OptionalInt(8);
  return c;
}

// Every row `rows` yields, read by `read` (returning T or Result<T>).
template <typename T, typename Read>
Result<std::vector<T>> ReadAll(sql::Rows& rows, Read read) {
  std::vector<T> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows.Next());
    if (!row) return out;
    if constexpr (std::is_same_v<decltype(read(rows)), T>) {
      out.push_back(read(rows));
    } else {
      VOUCH_ASSIGN_OR_RETURN(T item, read(rows));
      out.push_back(std::move(item));
    }
  }
}

// The id an INSERT … RETURNING id yielded.
Result<int64_t> ReturnedId(sql::Rows& rows, std::string_view what) {
  VOUCH_ASSIGN_OR_RETURN(bool row, rows.Next());
  if (!row) return Internal(fmt::format("inserting {} returned no id", what));
  return rows.Int(0);
}

template <typename T>
std::optional<T> First(std::vector<T> items) {
  if (items.empty()) return std::nullopt;
  return std::optional<T>(std::move(items.front()));
}

}  // namespace

Result<std::vector<PolicyRecord>> SqlTx::QueryPolicies(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  return ReadAll<PolicyRecord>(*rows, ReadPolicy);
}

Result<std::vector<ApprovalRequest>> SqlTx::QueryRequests(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  return ReadAll<ApprovalRequest>(*rows, ReadRequest);
}

Result<std::vector<VersionCheck>> SqlTx::QueryChecks(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  return ReadAll<VersionCheck>(*rows, ReadCheck);
}

Result<std::vector<RequestComment>> SqlTx::QueryComments(const char* sql, Params params) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(sql, params));
  return ReadAll<RequestComment>(*rows, ReadComment);
}

// ---- Policies.

Status SqlTx::PublishPolicy(PolicyRecord& p) {
  {
    sql::WaitTimer timer(RowLockCounter());
    VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kBumpPolicyHead, {p.name, p.created_ms}));
    VOUCH_ASSIGN_OR_RETURN(p.version, ReturnedId(*rows, "a policy's head"));
  }
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(kInsertPolicyVersion, {p.name, p.version, p.target, p.body, p.digest,
                                                 p.source_yaml, p.created_ms, p.created_by_id}));
  VOUCH_ASSIGN_OR_RETURN(p.id, ReturnedId(*rows, "a policy version"));
  p.retired_ms.reset();
  p.retired_by_id = 0;
  return OkStatus();
}

Result<std::optional<PolicyRecord>> SqlTx::FindLatestPolicy(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryPolicies(kLatestPolicy, {name}));
  return First(std::move(found));
}

Result<std::optional<PolicyRecord>> SqlTx::FindPolicyVersion(std::string_view name,
                                                             int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryPolicies(kPolicyVersion, {name, version}));
  return First(std::move(found));
}

Result<std::vector<PolicyRecord>> SqlTx::ListPolicies(bool include_retired) {
  return QueryPolicies(include_retired ? kListPolicies : kListLivePolicies, {});
}

Result<std::vector<PolicyRecord>> SqlTx::PolicyHistory(std::string_view name) {
  return QueryPolicies(kPolicyHistory, {name});
}

Result<bool> SqlTx::RetirePolicy(std::string_view name, TimeMs when, int64_t by_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kRetirePolicy, {name, when, by_id}));
  return n > 0;
}

// ---- Requests.

Status SqlTx::InsertRequest(ApprovalRequest& q) {
  VOUCH_ASSIGN_OR_RETURN(
      q.id,
      InsertReturningId(
          kInsertRequest,
          {q.model_id, q.version, q.target, RequestStateName(q.state), q.requester_id, q.comment,
           q.policy_name, q.policy_version, q.fingerprint, q.break_glass ? 1 : 0,
           q.break_glass_reason, FollowupStateName(q.followup_state), q.created_ms, q.updated_ms,
           q.approved_ms, q.applied_ms, q.closed_ms, q.expires_ms, q.followup_closed_ms},
          fmt::format("an open request for version {} to {}", q.version, q.target)));
  return OkStatus();
}

Result<std::optional<ApprovalRequest>> SqlTx::FindRequest(int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryRequests(kFindRequest, {id}));
  return First(std::move(found));
}

Result<std::optional<ApprovalRequest>> SqlTx::LockRequest(int64_t id) {
  sql::WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(auto found,
                         QueryRequests(lock_rows_ ? kFindRequestForUpdate : kFindRequest, {id}));
  return First(std::move(found));
}

Status SqlTx::UpdateRequest(const ApprovalRequest& q) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t n,
      c_.Exec(kUpdateRequest,
              {q.id, RequestStateName(q.state), FollowupStateName(q.followup_state), q.updated_ms,
               q.approved_ms, q.applied_ms, q.closed_ms, q.expires_ms, q.followup_closed_ms}));
  if (n > 0) return OkStatus();
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kRequestExists, {q.id}));
  VOUCH_ASSIGN_OR_RETURN(bool exists, rows->Next());
  if (!exists) return NotFound(fmt::format("request {} does not exist", q.id));
  return AlreadyExists(
      fmt::format("version {} already has an open request to {}", q.version, q.target));
}

Result<std::vector<ApprovalRequest>> SqlTx::ListRequests(const RequestFilter& f) {
  const std::string_view state = f.state ? RequestStateName(*f.state) : std::string_view();
  return QueryRequests(kListRequests, {f.model_id, f.version, state, f.requester_id, f.target,
                                       f.before_id, static_cast<int64_t>(f.limit)});
}

Result<std::optional<ApprovalRequest>> SqlTx::NewestRequestFor(int64_t model_id, int64_t version,
                                                               std::string_view target) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryRequests(kNewestRequestFor, {model_id, version, target}));
  return First(std::move(found));
}

Status SqlTx::SetRequestTimer(int64_t id, std::optional<TimeMs> timer_ms) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kSetRequestTimer, {id, timer_ms}));
  if (n == 0) return NotFound(fmt::format("request {} does not exist", id));
  return OkStatus();
}

Status SqlTx::SetRequestReminded(int64_t id, TimeMs at) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kSetRequestReminded, {id, at}));
  if (n == 0) return NotFound(fmt::format("request {} does not exist", id));
  return OkStatus();
}

Result<std::vector<int64_t>> SqlTx::DueRequests(TimeMs now, int limit) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kDueRequests, {now, static_cast<int64_t>(limit)}));
  std::vector<int64_t> ids;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool more, rows->Next());
    if (!more) break;
    ids.push_back(rows->Int(0));
  }
  return ids;
}

// ---- Reviews.

Status SqlTx::InsertReview(ApprovalReview& v) {
  VOUCH_ASSIGN_OR_RETURN(
      auto rows,
      c_.Query(kInsertReview, {v.request_id, v.reviewer_id, v.printed_name,
                               ReviewDecisionName(v.decision), v.meaning, v.comment, v.fingerprint,
                               v.created_ms, v.dismissed_ms, v.dismissed_reason}));
  VOUCH_ASSIGN_OR_RETURN(v.id, ReturnedId(*rows, "a review"));
  return OkStatus();
}

Result<std::vector<ApprovalReview>> SqlTx::ListReviews(int64_t request_id) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kListReviews, {request_id}));
  return ReadAll<ApprovalReview>(*rows, ReadReview);
}

Result<std::vector<int64_t>> SqlTx::DismissReviews(int64_t request_id,
                                                   std::string_view keep_fingerprint, TimeMs when,
                                                   std::string_view reason) {
  VOUCH_ASSIGN_OR_RETURN(auto rows,
                         c_.Query(kDismissReviews, {request_id, keep_fingerprint, when, reason}));
  VOUCH_ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                         ReadAll<int64_t>(*rows, [](const sql::Rows& r) { return r.Int(0); }));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---- Checks.

Result<bool> SqlTx::PostCheck(VersionCheck& c) {
  VOUCH_ASSIGN_OR_RETURN(auto newest, QueryChecks(kNewestCheck, {c.model_id, c.version, c.name}));
  if (!newest.empty()) {
    const VersionCheck& n = newest.front();
    if (n.state == c.state && n.url == c.url && n.description == c.description &&
        n.fingerprint == c.fingerprint) {
      c.id = n.id;
      return false;
    }
  }
  VOUCH_ASSIGN_OR_RETURN(
      auto rows,
      c_.Query(kInsertCheck, {c.model_id, c.version, c.name, CheckStateName(c.state), c.url,
                              c.description, c.fingerprint, c.poster_id, c.created_ms}));
  VOUCH_ASSIGN_OR_RETURN(c.id, ReturnedId(*rows, "a check"));
  return true;
}

Result<std::vector<VersionCheck>> SqlTx::ListChecks(int64_t model_id, int64_t version) {
  return QueryChecks(kListChecks, {model_id, version});
}

Result<std::vector<VersionCheck>> SqlTx::CheckHistory(int64_t model_id, int64_t version,
                                                      std::string_view name) {
  return QueryChecks(kCheckHistory, {model_id, version, name});
}

// ---- Comments.

Status SqlTx::InsertComment(RequestComment& c) {
  const std::optional<int64_t> request =
      c.request_id != 0 ? std::optional<int64_t>(c.request_id) : std::nullopt;
  VOUCH_ASSIGN_OR_RETURN(
      auto rows, c_.Query(kInsertComment, {request, c.model_id, c.version, c.author_id, c.text,
                                           c.created_ms, c.updated_ms}));
  VOUCH_ASSIGN_OR_RETURN(c.id, ReturnedId(*rows, "a comment"));
  return OkStatus();
}

Result<std::optional<RequestComment>> SqlTx::FindComment(int64_t id) {
  VOUCH_ASSIGN_OR_RETURN(auto found, QueryComments(kFindComment, {id}));
  return First(std::move(found));
}

Result<bool> SqlTx::UpdateComment(int64_t id, std::string_view text, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kUpdateComment, {id, text, when}));
  return n > 0;
}

Result<bool> SqlTx::DeleteComment(int64_t id, TimeMs when) {
  VOUCH_ASSIGN_OR_RETURN(int64_t n, c_.Exec(kDeleteComment, {id, when}));
  return n > 0;
}

Result<std::vector<RequestComment>> SqlTx::ListComments(int64_t model_id, int64_t version) {
  return QueryComments(kListComments, {model_id, version});
}

}  // namespace vouch::store

// The one implementation of store::Tx, written once over the connection interface (sql_conn.h)
// for every backend. Its methods are defined in one file per aggregate, each with its SQL:
//   models_repository.cc    models, versions, their tags, metrics, params and aliases, search rows
//   identity_repository.cc  principals, tokens, groups, role grants, model permissions
//   secrets_repository.cc   sealed secrets and web sessions
//   audit_repository.cc     the audit log and the outbox
//   lease_repository.cc     leader leases' epochs
//   idempotency_repository.cc  Idempotency-Key claims and their kept answers
//   approvals_repository.cc  policies, approval requests, reviews, checks, comments
//   notifications_repository.cc  subscriptions, outbox fan-out, deliveries and their attempts
//   checkpoints_repository.cc  the audit log's signing keys, checkpoints and cosignatures
// A backend's Tx (SqliteTx, PostgresTx) is this over its connection and dialect. Used by one
// thread inside an open transaction.
//
// Locking, where the dialect has row locks (PostgreSQL), in a write transaction (READ COMMITTED):
// FindModel, FindModelRow and FindVersion lock the rows they return (FOR UPDATE), so that
// read-modify-write sequences on one model (next version number, stage moves) serialize across
// servers; AppendAuditEvent takes the next number from the one-row audit_head table, whose row
// lock orders appends from every server into one gapless sequence. SQLite runs one write
// transaction at a time (BEGIN IMMEDIATE) and needs none of it.
//
// Identity. Grants, memberships, groups, tokens and sessions need no locks: each write inserts or
// deletes one whole grant or sets one column, and the database settles conflicts (primary keys,
// unique indexes, ON CONFLICT, "WHERE revoked_ms IS NULL"). Two read-modify-write sequences do
// race across servers, and lock in a write transaction:
//  - FindPrincipal and FindPrincipalById lock the row they return (FOR UPDATE): UpdatePrincipal
//    writes back the whole row the caller read, so an unlocked read would let one admin's edit of
//    a display name undo another's disabling of the same principal.
//  - CountActiveAdmins first takes the dialect's admin-count lock (a transaction advisory lock):
//    two servers demoting, disabling or deleting two different admins would otherwise each count
//    two and both go ahead (write skew, which READ COMMITTED allows). The second waits for the
//    first to commit, then counts one. One lock rather than the admins' rows, so that callers
//    which locked their principal first (above) cannot deadlock over each other's rows.
//
// Inserts that may clash with a live row (a model, version, principal, token, group or session)
// use ON CONFLICT ... DO NOTHING and report ALREADY_EXISTS themselves: a failed statement would
// abort a whole PostgreSQL transaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>

#include "vouch/store/sql/sql_conn.h"
#include "vouch/store/store.h"

namespace vouch::store {

// Time a store's write transactions spend on statements that wait for locks other transactions
// (on this server or another) hold; /metrics reports them.
struct LockWaits {
  std::atomic<int64_t> audit_head_us{0};  // taking the audit head's row lock
  // SELECT … FOR UPDATE of a model, a version or a principal; CountActiveAdmins' lock
  std::atomic<int64_t> row_lock_us{0};
};

class SqlTx : public Tx {
 public:
  // `for_write`: a write transaction (rows are locked where the dialect locks rows). `waits`, when
  // given, accumulates the time spent waiting for locks.
  SqlTx(sql::Connection& conn, bool for_write, LockWaits* waits = nullptr)
      : c_(conn), d_(conn.dialect()), lock_rows_(for_write && d_.row_locks), waits_(waits) {}

  Result<std::optional<Model>> FindModel(std::string_view name) override;
  Result<std::optional<Model>> FindModelRow(std::string_view name) override;
  Status InsertModel(Model& model) override;
  Status UpdateModel(const Model& model) override;
  Status MarkModelDeleted(int64_t model_id, TimeMs when) override;
  Result<std::vector<Model>> ListModels(std::string_view after_name, int limit) override;
  Status SetModelTag(int64_t model_id, std::string_view key, std::string_view value) override;
  Status DeleteModelTag(int64_t model_id, std::string_view key) override;

  Result<std::optional<ModelVersion>> FindVersion(int64_t model_id, int64_t version) override;
  Status InsertVersion(ModelVersion& version) override;
  Status UpdateVersion(const ModelVersion& version) override;
  Status MarkVersionDeleted(int64_t version_id, TimeMs when) override;
  Result<std::vector<ModelVersion>> ListVersions(int64_t model_id, int64_t after_version,
                                                 int limit) override;
  Result<std::vector<ModelVersion>> VersionsInStage(int64_t model_id, Stage stage) override;
  Result<std::vector<ModelVersion>> ListAllVersions(int64_t after_id, int limit) override;
  Result<std::vector<Model>> ListModelRows(std::string_view after_name, int limit) override;
  Result<std::vector<ModelVersion>> ListVersionRows(int64_t model_id, int64_t after_version,
                                                    int limit) override;
  Result<std::vector<ModelVersion>> ListAllVersionRows(int64_t after_id, int limit) override;
  Result<std::vector<ModelVersion>> VersionRowsByRunId(std::string_view run_id) override;
  Status LoadModelDetails(Model& model) override { return FillModel(model); }
  Status LoadVersionDetails(ModelVersion& version) override { return FillVersion(version); }
  Status LoadVersionDetailsOf(std::span<ModelVersion> versions) override;
  Status LoadModelDetailsOf(std::span<Model> models) override;
  Result<std::vector<ModelVersion>> ListVersionRowsByUpdate(std::optional<int64_t> model_id,
                                                            std::optional<std::string_view> run_id,
                                                            TimeMs before_ms, int64_t before_id,
                                                            int limit) override;
  Result<std::vector<ModelVersion>> ListVersionRowsInOrder(int64_t model_id,
                                                           std::optional<std::string_view> run_id,
                                                           int64_t from_version, bool descending,
                                                           int limit) override;
  Result<std::vector<int64_t>> ModelIdsWithTag(std::string_view key,
                                               std::string_view value) override;
  Result<std::vector<int64_t>> VersionIdsWithTag(std::string_view key,
                                                 std::string_view value) override;
  Result<std::vector<ModelVersion>> VersionsByRunId(std::string_view run_id) override;
  Result<std::vector<std::pair<Stage, int64_t>>> LatestVersionPerStage(int64_t model_id) override;
  Status SetVersionTag(int64_t version_id, std::string_view key, std::string_view value) override;
  Status DeleteVersionTag(int64_t version_id, std::string_view key) override;
  Status SetVersionMetric(int64_t version_id, std::string_view key, double value) override;
  Status DeleteVersionMetric(int64_t version_id, std::string_view key) override;
  Status SetVersionParam(int64_t version_id, std::string_view key, std::string_view value) override;
  Status DeleteVersionParam(int64_t version_id, std::string_view key) override;

  Result<std::optional<int64_t>> FindAlias(int64_t model_id, std::string_view alias) override;
  Status SetAlias(int64_t model_id, std::string_view alias, int64_t version) override;
  Status DeleteAlias(int64_t model_id, std::string_view alias) override;
  Result<std::vector<std::string>> DeleteAliasesOf(int64_t model_id, int64_t version) override;

  Result<int64_t> CountPrincipals() override;
  Status InsertPrincipal(Principal& principal, TimeMs created_ms) override;
  Status InsertToken(TokenRecord& token) override;
  Result<std::optional<std::pair<TokenRecord, Principal>>> FindToken(
      std::string_view token_hash) override;

  Result<std::optional<Principal>> FindPrincipal(std::string_view name) override;
  Result<std::optional<Principal>> FindPrincipalById(int64_t id) override;
  Result<std::vector<Principal>> ListPrincipals(std::string_view after_name, int limit) override;
  Status UpdatePrincipal(const Principal& principal) override;
  Status MarkPrincipalDeleted(int64_t principal_id, TimeMs when) override;
  Result<int64_t> CountActiveAdmins() override;
  Result<std::string> PasswordHash(int64_t principal_id) override;
  Status SetPasswordHash(int64_t principal_id, std::string_view hash) override;

  Result<std::vector<TokenRecord>> ListTokens(int64_t principal_id) override;
  Result<std::optional<TokenRecord>> FindTokenById(int64_t token_id) override;
  Result<int64_t> RevokeToken(int64_t token_id, TimeMs when) override;
  Result<int64_t> RevokeTokensOf(int64_t principal_id, TimeMs when) override;
  Status TouchToken(int64_t token_id, TimeMs when) override;

  Status InsertGroup(Group& group) override;
  Result<std::optional<Group>> FindGroup(std::string_view name) override;
  Result<std::vector<Group>> ListGroups() override;
  Status MarkGroupDeleted(int64_t group_id, TimeMs when) override;
  Result<bool> AddGroupMember(int64_t group_id, int64_t principal_id) override;
  Result<bool> RemoveGroupMember(int64_t group_id, int64_t principal_id) override;
  Result<std::vector<Principal>> GroupMembers(int64_t group_id) override;
  Result<std::vector<Group>> GroupsOf(int64_t principal_id) override;

  Result<bool> GrantRole(const RoleGrant& grant) override;
  Result<bool> RevokeRole(const RoleGrant& grant) override;
  Result<std::vector<RoleGrant>> ListRoleGrants() override;
  Result<std::vector<std::string>> EffectiveRoles(int64_t principal_id) override;

  Status SetModelPermission(const ModelPermission& permission) override;
  Result<bool> DeleteModelPermission(int64_t model_id, const Grantee& grantee) override;
  Result<std::vector<ModelPermission>> ModelPermissions(int64_t model_id) override;
  Result<std::vector<ModelPermission>> PermissionsFor(int64_t principal_id) override;
  Result<std::vector<ModelPermission>> ModelPermissionsFor(int64_t model_id,
                                                           int64_t principal_id) override;
  Status DeleteGrantsOf(const Grantee& grantee) override;

  Status InsertSession(const WebSession& session) override;
  Result<std::optional<WebSession>> FindSession(std::string_view id_hash) override;
  Status RevokeSession(std::string_view id_hash, TimeMs when) override;

  Result<std::optional<SealedSecret>> FindSecret(std::string_view name) override;
  Result<bool> InsertSecret(const SealedSecret& secret) override;
  Result<int64_t> AppendAuditEvent(
      const AuditEvent& event,
      const std::function<Result<std::string>(int64_t seq)>& body_for) override;
  Result<std::vector<StoredAuditEvent>> ListAuditEvents(const AuditFilter& filter) override;
  Result<int64_t> AuditHeadSeq() override;
  Result<uint64_t> AuditTreeSize() override;
  Result<std::vector<tlog::Hash>> AuditTreeHashes(int level, uint64_t first, int count) override;
  Result<std::vector<tlog::Hash>> AuditTreeEdge() override;
  Result<uint64_t> ExtendAuditTree(int max_events) override;
  Status MarkAuditTreeOff() override;
  // Appends write no tree (benchmarks only: the store marks itself so that no later open accepts
  // it; see the stores' `audit_tree_off` option).
  void DisableAuditTree() { audit_tree_ = false; }

  Status EnqueueOutbox(int64_t event_seq, std::string_view topic, std::string_view payload,
                       TimeMs created_ms) override;
  Result<int64_t> CountPendingOutbox() override;
  Result<std::optional<std::string>> OutboxPayload(int64_t event_seq) override;
  // Leases: lease_repository.cc.
  Result<int64_t> LeaseEpoch(std::string_view name) override;
  Result<int64_t> TakeLease(std::string_view name, std::string_view holder, TimeMs now) override;
  // Idempotency keys: idempotency_repository.cc.
  Result<bool> InsertIdempotencyKey(const IdempotencyRecord& record) override;
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(int64_t principal_id,
                                                              std::string_view key) override;
  Result<bool> SetIdempotencyState(int64_t principal_id, std::string_view key, TimeMs created_ms,
                                   IdempotencyState state) override;
  Result<bool> CompleteIdempotencyKey(const IdempotencyRecord& record) override;
  Result<bool> DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                    TimeMs created_ms) override;
  Result<int64_t> PruneIdempotencyKeys(TimeMs now) override;
  // Approvals: approvals_repository.cc.
  Status PublishPolicy(PolicyRecord& policy) override;
  Result<std::optional<PolicyRecord>> FindLatestPolicy(std::string_view name) override;
  Result<std::optional<PolicyRecord>> FindPolicyVersion(std::string_view name,
                                                        int64_t version) override;
  Result<std::vector<PolicyRecord>> ListPolicies(bool include_retired) override;
  Result<std::vector<PolicyRecord>> PolicyHistory(std::string_view name) override;
  Result<bool> RetirePolicy(std::string_view name, TimeMs when, int64_t by_id) override;
  Status InsertRequest(ApprovalRequest& request) override;
  Result<std::optional<ApprovalRequest>> FindRequest(int64_t id) override;
  Result<std::optional<ApprovalRequest>> LockRequest(int64_t id) override;
  Status UpdateRequest(const ApprovalRequest& request) override;
  Result<std::vector<ApprovalRequest>> ListRequests(const RequestFilter& filter) override;
  Result<std::optional<ApprovalRequest>> NewestRequestFor(int64_t model_id, int64_t version,
                                                          std::string_view target) override;
  Status SetRequestTimer(int64_t id, std::optional<TimeMs> timer_ms) override;
  Status SetRequestReminded(int64_t id, TimeMs at) override;
  Result<std::vector<int64_t>> DueRequests(TimeMs now, int limit) override;
  Status InsertReview(ApprovalReview& review) override;
  Result<std::vector<ApprovalReview>> ListReviews(int64_t request_id) override;
  Result<std::vector<int64_t>> DismissReviews(int64_t request_id, std::string_view keep_fingerprint,
                                              TimeMs when, std::string_view reason) override;
  Result<bool> PostCheck(VersionCheck& check) override;
  Result<std::vector<VersionCheck>> ListChecks(int64_t model_id, int64_t version) override;
  Result<std::vector<VersionCheck>> CheckHistory(int64_t model_id, int64_t version,
                                                 std::string_view name) override;
  Status InsertComment(RequestComment& comment) override;
  Result<std::optional<RequestComment>> FindComment(int64_t id) override;
  Result<bool> UpdateComment(int64_t id, std::string_view text, TimeMs when) override;
  Result<bool> DeleteComment(int64_t id, TimeMs when) override;
  Result<std::vector<RequestComment>> ListComments(int64_t model_id, int64_t version) override;

  Status InsertWebhook(WebhookRecord& webhook) override;
  Result<std::optional<WebhookRecord>> FindWebhook(int64_t id) override;
  Result<bool> UpdateWebhook(const WebhookRecord& webhook) override;
  Result<std::vector<WebhookRecord>> ListWebhooks(const WebhookFilter& filter) override;
  Result<std::vector<WebhookRecord>> WebhooksFor(int64_t event_seq) override;
  Result<std::vector<OutboxRow>> NextOutboxRows(int limit) override;
  Status MarkOutboxFannedOut(int64_t id, TimeMs when) override;
  Result<std::optional<int64_t>> OldestUnfannedSeq() override;
  Result<bool> InsertDelivery(DeliveryRecord& delivery) override;
  Result<std::optional<int64_t>> ClaimWebhook(std::string_view server, TimeMs now,
                                              TimeMs until) override;
  Result<bool> RenewWebhookClaim(int64_t webhook_id, std::string_view server,
                                 TimeMs until) override;
  Result<std::optional<DeliveryRecord>> HeadDelivery(int64_t webhook_id) override;
  Result<std::optional<DeliveryRecord>> FindDelivery(int64_t id) override;
  Result<std::optional<DeliveryRecord>> FindDeliveryByUid(std::string_view uid) override;
  Result<bool> UpdateDelivery(const DeliveryRecord& delivery) override;
  Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& filter) override;
  Status InsertAttempt(const DeliveryAttempt& attempt) override;
  Result<bool> UpdateAttempt(const DeliveryAttempt& attempt) override;
  Result<std::vector<DeliveryAttempt>> ListAttempts(int64_t delivery_id) override;
  Result<int64_t> RedeliverDead(int64_t webhook_id, TimeMs now) override;
  Result<int64_t> PruneNotifications(TimeMs cutoff) override;
  Result<std::vector<int64_t>> CountDeliveries() override;

  Status InsertAuditSigningKey(AuditSigningKey& key) override;
  Result<std::vector<AuditSigningKey>> ListAuditSigningKeys() override;
  Result<bool> RetireAuditSigningKey(int64_t id, TimeMs when) override;
  Result<bool> InsertAuditCheckpoint(AuditCheckpointRow& checkpoint) override;
  Result<std::optional<AuditCheckpointRow>> LatestAuditCheckpoint() override;
  Result<std::optional<AuditCheckpointRow>> AuditCheckpointBySize(int64_t size) override;
  Result<std::vector<AuditCheckpointRow>> ListAuditCheckpoints(int64_t after_id,
                                                               int limit) override;
  Result<bool> InsertAuditCosignature(const AuditCosignatureRow& cosignature) override;
  Result<std::vector<AuditCosignatureRow>> ListAuditCosignatures(int64_t checkpoint_id) override;

 protected:
  sql::Connection& conn() { return c_; }

 private:
  using Params = std::initializer_list<sql::Value>;
  Status FillModel(Model& m);
  Status FillVersion(ModelVersion& v);
  Result<std::vector<ApprovalRequest>> QueryRequests(const char* sql, Params params);
  Result<std::vector<PolicyRecord>> QueryPolicies(const char* sql, Params params);
  Result<std::vector<VersionCheck>> QueryChecks(const char* sql, Params params);
  Result<std::vector<RequestComment>> QueryComments(const char* sql, Params params);
  Result<std::vector<WebhookRecord>> QueryWebhooks(const char* sql, Params params);
  Result<std::vector<DeliveryRecord>> QueryDeliveries(const char* sql, Params params);
  // The versions a query yields; with `details`, their tags, metrics, params and aliases too.
  // `expected_rows` (the statement's LIMIT) sizes the vector up front.
  Result<std::vector<ModelVersion>> QueryVersions(const char* sql, Params params,
                                                  bool details = true, int expected_rows = 0);
  Result<std::vector<Model>> QueryModels(const char* sql, Params params, bool details);
  Result<std::vector<int64_t>> QueryIds(const char* sql, std::string_view key,
                                        std::string_view value);
  // Runs an INSERT ... ON CONFLICT DO NOTHING RETURNING id; ALREADY_EXISTS ("<what> already
  // exists") when it inserted nothing.
  Result<int64_t> InsertReturningId(const char* sql, Params params, std::string_view what);
  // The audit tree (audit_repository.cc): the stored edge (with `lock`, audit_head's row lock on
  // PostgreSQL); appending one leaf's hash, inserting the tile-level hashes it made final; writing
  // the edge back.
  Result<tlog::RightEdge> ReadAuditTreeEdge(bool lock);
  Status AppendAuditLeaf(tlog::RightEdge& edge, std::string_view body);
  // Appends the leaf of `body` to `edge` and returns the hashes that are stored (tile levels).
  static std::vector<tlog::StoredHash> StoredAuditHashes(tlog::RightEdge& edge,
                                                         std::string_view body);
  Status InsertAuditHashes(const std::vector<tlog::StoredHash>& stored);
  Status IndexAuditRequests(const AuditEvent& e, int64_t seq);
  Status WriteAuditTreeEdge(const tlog::RightEdge& edge);
  // Where a FOR UPDATE lookup adds its time: none without row locks or without `waits`.
  std::atomic<int64_t>* RowLockCounter() const {
    return lock_rows_ && waits_ != nullptr ? &waits_->row_lock_us : nullptr;
  }

  sql::Connection& c_;
  const sql::Dialect& d_;
  const bool lock_rows_;
  LockWaits* const waits_;
  bool audit_tree_ = true;
};

}  // namespace vouch::store

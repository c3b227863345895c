// The storage interface. store/sqlite (and later store/postgres) implement it with the same
// semantics; one shared test suite (store_test_suite.h) holds every backend to them.
//
// Work happens in transactions: the service passes a function that receives a Tx. Read() runs it on
// a consistent snapshot; Write() runs it in a transaction that commits before Write() returns, and
// rolls back every change it made when it returns a non-OK Status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/domain/audit_event.h"
#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"
#include "vouch/store/approval_rows.h"
#include "vouch/store/audit_rows.h"
#include "vouch/store/webhook_rows.h"
#include "vouch/tlog/merkle.h"
#include "vouch/util/status.h"

namespace vouch::store {

class LeaseClaim;  // store/lease.h

struct TokenRecord {
  int64_t id = 0;
  int64_t principal_id = 0;
  std::string name;
  std::string token_hash;  // SHA-256 hex of the token; the token itself is never stored
  std::string scope = "full";
  TimeMs created_ms = 0;
  std::optional<TimeMs> expires_ms;
  std::optional<TimeMs> revoked_ms;
  std::optional<TimeMs> last_used_ms;
};

// A secret sealed under the master key (service/secrets.h); the store keeps only this.
struct SealedSecret {
  std::string name;
  std::string nonce;       // base64url
  std::string ciphertext;  // base64url, with the authentication tag
  TimeMs created_ms = 0;
};

// One figure a store reports for /metrics: a Prometheus counter or gauge.
struct StoreMetric {
  std::string name;  // "vouch_store_pool_waits_total"
  std::string help;
  std::string type;  // "counter" or "gauge"
  double value = 0;
};

struct AuditFilter {
  std::string model;  // events whose target model had this name, or is the live model of this name
  int64_t model_id = 0;  // 0: any; else only events of the model with this id (across renames)
  int64_t version = 0;   // 0: any
  std::string actor;
  std::string action;
  std::string outcome;     // "done", "denied"; empty: any
  int64_t request_id = 0;  // 0: any; else the events naming this approval request (side index)
  std::optional<TimeMs> since_ms;
  std::optional<TimeMs> until_ms;
  // Oldest first (seq ascending) from after_seq, or newest first (descending) from below
  // before_seq (0: from the newest).
  bool newest_first = false;
  int64_t after_seq = 0;
  int64_t before_seq = 0;
  int limit = 100;
};

struct StoredAuditEvent {
  int64_t seq = 0;
  std::string body;  // the canonical JSON bytes, exactly as stored
};

// ---- Idempotency keys (issue 10; service/idempotency.h). One row per (principal, key).
enum class IdempotencyState { kInFlight, kApplied, kDone };
std::string_view IdempotencyStateName(IdempotencyState s);  // "in_flight", "applied", "done"

struct IdempotencyRecord {
  int64_t principal_id = 0;
  std::string key;
  std::string request;      // "POST /api/v1/models": method and path
  std::string body_sha256;  // hex
  IdempotencyState state = IdempotencyState::kInFlight;
  int status = 0;  // the answer's HTTP status, once done
  std::string content_type;
  std::string response_nonce;  // base64url; the answer's body is sealed under the master key
  std::string response_body;   // base64url ciphertext with its tag
  TimeMs created_ms = 0;       // when this claim was made: it names the claim
  TimeMs expires_ms = 0;
};

// One transaction. Methods return UNAVAILABLE when the store fails underneath, INTERNAL for
// surprises; the specific codes are in each comment. A Tx is used by one thread.
class Tx {
 public:
  virtual ~Tx() = default;

  // Models. Only live (not deleted) models are found by name. In a write transaction the row is
  // locked until commit, so every write on a model starts here (or at FindModelRow).
  virtual Result<std::optional<Model>> FindModel(std::string_view name) = 0;
  // The same without tags, aliases and latest version, for calls that need only the row.
  virtual Result<std::optional<Model>> FindModelRow(std::string_view name) = 0;
  // Assigns model.id. ALREADY_EXISTS when a live model has that name.
  virtual Status InsertModel(Model& model) = 0;
  // Writes name, description, updated_ms, last_version. ALREADY_EXISTS on a name clash.
  virtual Status UpdateModel(const Model& model) = 0;
  virtual Status MarkModelDeleted(int64_t model_id, TimeMs when) = 0;
  // Live models ordered by name, strictly after `after_name`, at most `limit`.
  virtual Result<std::vector<Model>> ListModels(std::string_view after_name, int limit) = 0;
  virtual Status SetModelTag(int64_t model_id, std::string_view key, std::string_view value) = 0;
  virtual Status DeleteModelTag(int64_t model_id, std::string_view key) = 0;

  // Versions. Only live versions are found.
  virtual Result<std::optional<ModelVersion>> FindVersion(int64_t model_id, int64_t version) = 0;
  // Assigns version.id; writes tags, metrics and params too.
  virtual Status InsertVersion(ModelVersion& version) = 0;
  // Writes description, stage, status and updated_ms.
  virtual Status UpdateVersion(const ModelVersion& version) = 0;
  virtual Status MarkVersionDeleted(int64_t version_id, TimeMs when) = 0;
  // Live versions of a model, ascending number, strictly after `after_version`, at most `limit`.
  virtual Result<std::vector<ModelVersion>> ListVersions(int64_t model_id, int64_t after_version,
                                                         int limit) = 0;
  virtual Result<std::vector<ModelVersion>> VersionsInStage(int64_t model_id, Stage stage) = 0;
  // Cheap rows for searching: the same as ListModels, ListVersions, ListAllVersions and
  // VersionsByRunId but without tags, metrics, params, aliases and latest versions, which
  // LoadModelDetails and LoadVersionDetails add to the few rows that need them.
  virtual Result<std::vector<Model>> ListModelRows(std::string_view after_name, int limit) = 0;
  virtual Result<std::vector<ModelVersion>> ListVersionRows(int64_t model_id, int64_t after_version,
                                                            int limit) = 0;
  virtual Result<std::vector<ModelVersion>> ListAllVersionRows(int64_t after_id, int limit) = 0;
  // Live versions of live models (rows, as ListVersionRows), newest update first (then highest id),
  // strictly after (`before_ms`, `before_id`) in that order, at most `limit`: of every model, or
  // of `model_id`'s, or of its run `run_id`'s (run_id only with model_id). Through an index each.
  virtual Result<std::vector<ModelVersion>> ListVersionRowsByUpdate(
      std::optional<int64_t> model_id, std::optional<std::string_view> run_id, TimeMs before_ms,
      int64_t before_id, int limit) = 0;
  // Live versions of a model (rows, as ListVersionRows) in number order from `from_version`
  // (strictly past it): descending below it or ascending above it, at most `limit`; with `run_id`,
  // only that run's. A search walks these in its own
  // order and stops at its page.
  virtual Result<std::vector<ModelVersion>> ListVersionRowsInOrder(
      int64_t model_id, std::optional<std::string_view> run_id, int64_t from_version,
      bool descending, int limit) = 0;
  virtual Result<std::vector<ModelVersion>> VersionRowsByRunId(std::string_view run_id) = 0;
  virtual Status LoadModelDetails(Model& model) = 0;
  virtual Status LoadVersionDetails(ModelVersion& version) = 0;
  // LoadVersionDetails for each of `versions` (live or not, of any models) in four statements,
  // whatever their number; callers keep a call to some thousand versions.
  virtual Status LoadVersionDetailsOf(std::span<ModelVersion> versions) = 0;
  // A page of models' details in a few statements, whatever their number (callers keep a call to
  // some thousand models): for each of `models` what LoadModelDetails fills (tags, aliases, latest
  // live version), and `latest_versions`: for each stage holding a live version, the highest one
  // with its details (as LoadVersionDetails fills them), ordered by the lowest live version in each
  // stage, as LatestVersionPerStage orders them.
  virtual Status LoadModelDetailsOf(std::span<Model> models) = 0;
  // Internal ids of live models / versions that carry tag `key` with `value`.
  virtual Result<std::vector<int64_t>> ModelIdsWithTag(std::string_view key,
                                                       std::string_view value) = 0;
  virtual Result<std::vector<int64_t>> VersionIdsWithTag(std::string_view key,
                                                         std::string_view value) = 0;
  // Every live version of every live model, by internal id, strictly after `after_id`.
  virtual Result<std::vector<ModelVersion>> ListAllVersions(int64_t after_id, int limit) = 0;
  // Live versions of live models with this run id (uses the run_id index).
  virtual Result<std::vector<ModelVersion>> VersionsByRunId(std::string_view run_id) = 0;
  // For each stage holding a live version: the highest version in it. Ordered by the lowest live
  // version in each stage, the order MLflow's store reports them in.
  virtual Result<std::vector<std::pair<Stage, int64_t>>> LatestVersionPerStage(
      int64_t model_id) = 0;
  virtual Status SetVersionTag(int64_t version_id, std::string_view key,
                               std::string_view value) = 0;
  virtual Status DeleteVersionTag(int64_t version_id, std::string_view key) = 0;
  virtual Status SetVersionMetric(int64_t version_id, std::string_view key, double value) = 0;
  virtual Status DeleteVersionMetric(int64_t version_id, std::string_view key) = 0;
  virtual Status SetVersionParam(int64_t version_id, std::string_view key,
                                 std::string_view value) = 0;
  virtual Status DeleteVersionParam(int64_t version_id, std::string_view key) = 0;

  // Aliases.
  virtual Result<std::optional<int64_t>> FindAlias(int64_t model_id, std::string_view alias) = 0;
  virtual Status SetAlias(int64_t model_id, std::string_view alias, int64_t version) = 0;
  virtual Status DeleteAlias(int64_t model_id, std::string_view alias) = 0;
  // Removes every alias that points at `version`; returns the names removed.
  virtual Result<std::vector<std::string>> DeleteAliasesOf(int64_t model_id, int64_t version) = 0;

  // Principals and tokens.
  virtual Result<int64_t> CountPrincipals() = 0;
  virtual Status InsertPrincipal(Principal& principal, TimeMs created_ms) = 0;
  virtual Status InsertToken(TokenRecord& token) = 0;
  // The token with that hash and its owner; nullopt when none.
  virtual Result<std::optional<std::pair<TokenRecord, Principal>>> FindToken(
      std::string_view token_hash) = 0;

  // ---- Identity (issue 5).
  // Principals. Found by name only when live; by id also when deleted (`disabled` is then true).
  // InsertPrincipal (above) also writes display_name and email.
  virtual Result<std::optional<Principal>> FindPrincipal(std::string_view name) = 0;
  virtual Result<std::optional<Principal>> FindPrincipalById(int64_t id) = 0;
  // Live principals ordered by name, strictly after `after_name`, at most `limit`.
  virtual Result<std::vector<Principal>> ListPrincipals(std::string_view after_name, int limit) = 0;
  // Writes display_name, email, is_admin and disabled.
  virtual Status UpdatePrincipal(const Principal& principal) = 0;
  virtual Status MarkPrincipalDeleted(int64_t principal_id, TimeMs when) = 0;
  // Live principals that are admins and not disabled.
  virtual Result<int64_t> CountActiveAdmins() = 0;
  // The principal's password hash (an argon2id string); empty when it has none.
  virtual Result<std::string> PasswordHash(int64_t principal_id) = 0;
  virtual Status SetPasswordHash(int64_t principal_id, std::string_view hash) = 0;

  // Tokens, newest first; `principal_id` 0 lists every principal's.
  virtual Result<std::vector<TokenRecord>> ListTokens(int64_t principal_id) = 0;
  virtual Result<std::optional<TokenRecord>> FindTokenById(int64_t token_id) = 0;
  // Sets revoked_ms where it is not set yet; returns how many tokens that revoked.
  virtual Result<int64_t> RevokeToken(int64_t token_id, TimeMs when) = 0;
  virtual Result<int64_t> RevokeTokensOf(int64_t principal_id, TimeMs when) = 0;
  virtual Status TouchToken(int64_t token_id, TimeMs when) = 0;

  // Groups. Found by name only when live. ALREADY_EXISTS on a live name clash.
  virtual Status InsertGroup(Group& group) = 0;
  virtual Result<std::optional<Group>> FindGroup(std::string_view name) = 0;
  virtual Result<std::vector<Group>> ListGroups() = 0;  // live, by name
  virtual Status MarkGroupDeleted(int64_t group_id, TimeMs when) = 0;
  // False when the principal already was (or was not) a member.
  virtual Result<bool> AddGroupMember(int64_t group_id, int64_t principal_id) = 0;
  virtual Result<bool> RemoveGroupMember(int64_t group_id, int64_t principal_id) = 0;
  virtual Result<std::vector<Principal>> GroupMembers(int64_t group_id) = 0;
  virtual Result<std::vector<Group>> GroupsOf(int64_t principal_id) = 0;

  // Roles. GrantRole is false when the grant existed; RevokeRole when it did not.
  virtual Result<bool> GrantRole(const RoleGrant& grant) = 0;
  virtual Result<bool> RevokeRole(const RoleGrant& grant) = 0;
  virtual Result<std::vector<RoleGrant>> ListRoleGrants() = 0;
  // The roles granted to the principal directly or through one of its groups: sorted, unique.
  virtual Result<std::vector<std::string>> EffectiveRoles(int64_t principal_id) = 0;

  // Model permissions: one per (model, grantee); setting one replaces it.
  virtual Status SetModelPermission(const ModelPermission& permission) = 0;
  virtual Result<bool> DeleteModelPermission(int64_t model_id, const Grantee& grantee) = 0;
  virtual Result<std::vector<ModelPermission>> ModelPermissions(int64_t model_id) = 0;
  // The grants that apply to the principal, on every model: its own and its groups'.
  virtual Result<std::vector<ModelPermission>> PermissionsFor(int64_t principal_id) = 0;
  // The grants on one model that apply to the principal (its own and its groups').
  virtual Result<std::vector<ModelPermission>> ModelPermissionsFor(int64_t model_id,
                                                                   int64_t principal_id) = 0;
  // Removes every role grant, model permission and group membership of the grantee.
  virtual Status DeleteGrantsOf(const Grantee& grantee) = 0;

  // Web sessions (for the UI to come): only hashes are stored.
  virtual Status InsertSession(const WebSession& session) = 0;
  virtual Result<std::optional<WebSession>> FindSession(std::string_view id_hash) = 0;
  virtual Status RevokeSession(std::string_view id_hash, TimeMs when) = 0;

  // Secrets. InsertSecret writes nothing and returns false when one of that name exists (another
  // server made it first); the caller then reads the stored one.
  virtual Result<std::optional<SealedSecret>> FindSecret(std::string_view name) = 0;
  virtual Result<bool> InsertSecret(const SealedSecret& secret) = 0;

  // Audit log. Appends `event` with the next sequence number (gapless) and `body_for(seq)`,
  // the canonical bytes, which must embed that number. Returns the number.
  virtual Result<int64_t> AppendAuditEvent(
      const AuditEvent& event, const std::function<Result<std::string>(int64_t seq)>& body_for) = 0;
  // The events `filter` selects, in its order, at most its limit.
  virtual Result<std::vector<StoredAuditEvent>> ListAuditEvents(const AuditFilter& filter) = 0;
  virtual Result<int64_t> AuditHeadSeq() = 0;

  // ---- The audit log's Merkle tree (issue 14, migration 0015; audit/tree.h reads it). Leaf
  // seq - 1 is event seq's stored bytes; AppendAuditEvent extends the tree in the same
  // transaction. Stored hashes are kept at the tile levels (0, 8, 16, ...) only.
  // How many leaves the tree holds: AuditHeadSeq() once built. FAILED_PRECONDITION when the store
  // was written with tree updates off (the stores' `audit_tree_off` option, benchmarks only);
  // NOT_FOUND on a read-only SQLite store whose schema predates the tree (migration 15).
  virtual Result<uint64_t> AuditTreeSize() = 0;
  // The stored hashes at `level` (a multiple of 8) with indexes [first, first + count) that
  // exist, in index order. INVALID_ARGUMENT for another level or a negative count.
  virtual Result<std::vector<tlog::Hash>> AuditTreeHashes(int level, uint64_t first, int count) = 0;
  // The roots of the tree's right edge (one per bit set in its size), largest first. Codes as
  // AuditTreeSize.
  virtual Result<std::vector<tlog::Hash>> AuditTreeEdge() = 0;
  // Hashes up to `max_events` events the tree does not hold yet, in sequence order, into it (the
  // tree of a log written before migration 0015; a write transaction). Returns the tree's size
  // afterwards. Codes as AuditTreeSize.
  virtual Result<uint64_t> ExtendAuditTree(int max_events) = 0;
  // Benchmarks only: marks the tree as switched off (size -1), so that every later open refuses
  // the store and verification fails (store/audit_tree.h).
  virtual Status MarkAuditTreeOff() = 0;

  // Outbox: one row per notification, written in the change's transaction.
  virtual Status EnqueueOutbox(int64_t event_seq, std::string_view topic, std::string_view payload,
                               TimeMs created_ms) = 0;
  virtual Result<int64_t> CountPendingOutbox() = 0;
  // The payload of event `event_seq`'s outbox row; none when the event has none (a denial).
  virtual Result<std::optional<std::string>> OutboxPayload(int64_t event_seq) = 0;

  // ---- Idempotency keys (issue 10). The claim a row holds is named by its created_ms: the
  // update and delete methods touch the row only while it still holds that claim, and say whether
  // they did (false: another request took the key over, or it was pruned).
  // Inserts `record`; false (nothing written) when the principal already has a row for that key.
  virtual Result<bool> InsertIdempotencyKey(const IdempotencyRecord& record) = 0;
  virtual Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(int64_t principal_id,
                                                                      std::string_view key) = 0;
  // Sets the state only.
  virtual Result<bool> SetIdempotencyState(int64_t principal_id, std::string_view key,
                                           TimeMs created_ms, IdempotencyState state) = 0;
  // Sets state done and the answer (status, content type, sealed body) from `record`.
  virtual Result<bool> CompleteIdempotencyKey(const IdempotencyRecord& record) = 0;
  virtual Result<bool> DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                            TimeMs created_ms) = 0;
  // Deletes every row with expires_ms <= now; returns how many.
  virtual Result<int64_t> PruneIdempotencyKeys(TimeMs now) = 0;

  // Leader leases (store/lease.h, app/leader.h). The lease's epoch, 0 when it was never taken; in
  // a PostgreSQL write transaction its row stays locked until commit, so a singleton job that
  // compared it holds off a new holder until it is done. TakeLease raises the epoch by one for
  // `holder` and returns it; only a LeaseClaim calls it, and tests that play another server.
  virtual Result<int64_t> LeaseEpoch(std::string_view name);
  virtual Result<int64_t> TakeLease(std::string_view name, std::string_view holder, TimeMs now);

  // ---- Approvals (issue 12; rows in approval_rows.h, tables in migration 0011).
  // Policies. PublishPolicy stores `policy` as the next version of its name (1 for a new name),
  // taken under the name's head row lock so that concurrent publishers get consecutive numbers,
  // and clears the name's retired marker; it fills `policy.id` and `policy.version`. A published
  // version never changes (the database refuses it).
  virtual Status PublishPolicy(PolicyRecord& policy) = 0;
  // The newest version of `name` / that version; nullopt when there is none. Retired names are
  // found too, with retired_ms set.
  virtual Result<std::optional<PolicyRecord>> FindLatestPolicy(std::string_view name) = 0;
  virtual Result<std::optional<PolicyRecord>> FindPolicyVersion(std::string_view name,
                                                                int64_t version) = 0;
  // The newest version of every name, by name; retired names only with `include_retired`.
  virtual Result<std::vector<PolicyRecord>> ListPolicies(bool include_retired) = 0;
  // Every version of `name`, oldest first; empty for an unknown name.
  virtual Result<std::vector<PolicyRecord>> PolicyHistory(std::string_view name) = 0;
  // Marks `name` retired; false when it is unknown or already retired.
  virtual Result<bool> RetirePolicy(std::string_view name, TimeMs when, int64_t by_id) = 0;

  // Requests. InsertRequest fills `request.id`; ALREADY_EXISTS when `request` is open or approved
  // and the version already has an open or approved request for that target.
  virtual Status InsertRequest(ApprovalRequest& request) = 0;
  virtual Result<std::optional<ApprovalRequest>> FindRequest(int64_t id) = 0;
  // FindRequest that, in a write transaction, holds the request's row until commit (PostgreSQL:
  // FOR UPDATE; SQLite's one writer holds the whole database): a second transaction locking it
  // waits, then reads what the first committed. Every change of a request starts here.
  virtual Result<std::optional<ApprovalRequest>> LockRequest(int64_t id) = 0;
  // Writes state, followup_state, updated, approved, applied, closed, expires and followup_closed
  // times. NOT_FOUND for an unknown id; ALREADY_EXISTS when it would make a second open or
  // approved request for the version and target.
  virtual Status UpdateRequest(const ApprovalRequest& request) = 0;
  virtual Result<std::vector<ApprovalRequest>> ListRequests(const RequestFilter& filter) = 0;
  // The newest request (highest id) for the version and target, in any state; nullopt for none.
  virtual Result<std::optional<ApprovalRequest>> NewestRequestFor(int64_t model_id, int64_t version,
                                                                  std::string_view target) = 0;
  // Request timers (migration 0012): the next moment a timer may change the request (nullopt:
  // none). SetRequestTimer: NOT_FOUND for an unknown id. DueRequests: the ids of open requests
  // whose timer is at or before `now`, the earliest timer first, at most `limit`.
  virtual Status SetRequestTimer(int64_t id, std::optional<TimeMs> timer_ms) = 0;
  virtual Result<std::vector<int64_t>> DueRequests(TimeMs now, int limit) = 0;
  // Request reminders (migration 0014): records that request.reminder was recorded for the
  // request at `at` (its `reminded_ms`). NOT_FOUND for an unknown id.
  virtual Status SetRequestReminded(int64_t id, TimeMs at) = 0;

  // Reviews. InsertReview fills `review.id`. ListReviews: the request's reviews, dismissed ones
  // too, oldest first. DismissReviews dismisses the request's live reviews whose fingerprint is
  // not `keep_fingerprint` (every live one when it is empty) and returns their ids, ascending.
  virtual Status InsertReview(ApprovalReview& review) = 0;
  virtual Result<std::vector<ApprovalReview>> ListReviews(int64_t request_id) = 0;
  virtual Result<std::vector<int64_t>> DismissReviews(int64_t request_id,
                                                      std::string_view keep_fingerprint,
                                                      TimeMs when, std::string_view reason) = 0;

  // Checks. PostCheck appends `check` and fills its id, returning true; when the newest post of
  // that name on the version already says the same (state, URL, description, fingerprint), it
  // writes nothing, fills that post's id and returns false (a re-post is idempotent).
  virtual Result<bool> PostCheck(VersionCheck& check) = 0;
  // The newest post of each check name on the version, by name.
  virtual Result<std::vector<VersionCheck>> ListChecks(int64_t model_id, int64_t version) = 0;
  // Every post of one name on the version, newest first.
  virtual Result<std::vector<VersionCheck>> CheckHistory(int64_t model_id, int64_t version,
                                                         std::string_view name) = 0;

  // Comments. InsertComment fills `comment.id`. FindComment finds deleted ones too (deleted_ms
  // set). UpdateComment and DeleteComment change a live comment only, and say whether they did.
  // ListComments: the version's live comments (on it or on its requests), oldest first.
  virtual Status InsertComment(RequestComment& comment) = 0;
  virtual Result<std::optional<RequestComment>> FindComment(int64_t id) = 0;
  virtual Result<bool> UpdateComment(int64_t id, std::string_view text, TimeMs when) = 0;
  virtual Result<bool> DeleteComment(int64_t id, TimeMs when) = 0;
  virtual Result<std::vector<RequestComment>> ListComments(int64_t model_id, int64_t version) = 0;

  // ---- Notifications (issue 13; rows in webhook_rows.h, tables in migration 0013).
  // Subscriptions. InsertWebhook fills `webhook.id`. FindWebhook finds deleted ones too.
  // UpdateWebhook writes every field but id, owner_id, after_seq and created_ms (deleting is
  // setting deleted_ms), and says whether a live row had that id.
  virtual Status InsertWebhook(WebhookRecord& webhook) = 0;
  virtual Result<std::optional<WebhookRecord>> FindWebhook(int64_t id) = 0;
  virtual Result<bool> UpdateWebhook(const WebhookRecord& webhook) = 0;
  virtual Result<std::vector<WebhookRecord>> ListWebhooks(const WebhookFilter& filter) = 0;
  // Every live, active subscription with after_seq < `event_seq` (those that may receive it).
  virtual Result<std::vector<WebhookRecord>> WebhooksFor(int64_t event_seq) = 0;

  // Fan-out. The oldest outbox rows not yet fanned out (delivered_ms IS NULL; the backlog from
  // before migration 0013 is marked delivered), up to `limit`, oldest first. In a PostgreSQL
  // write transaction they are locked and rows another transaction holds are skipped (FOR
  // UPDATE SKIP LOCKED), so two servers fan out different rows.
  virtual Result<std::vector<OutboxRow>> NextOutboxRows(int limit) = 0;
  // Marks outbox row `id` fanned out at `when` (its delivered_ms).
  virtual Status MarkOutboxFannedOut(int64_t id, TimeMs when) = 0;
  // The event_seq of the oldest outbox row not yet fanned out, as committed (never locking: a row
  // another transaction is fanning out counts as not fanned out yet); none when all are.
  virtual Result<std::optional<int64_t>> OldestUnfannedSeq() = 0;
  // Inserts `delivery` and fills its id; false, nothing written, when that subscription already
  // has a delivery of that event.
  virtual Result<bool> InsertDelivery(DeliveryRecord& delivery) = 0;

  // Claims: one server at a time sends a subscription's deliveries, in event order. ClaimWebhook
  // takes a live, active subscription whose oldest pending delivery is due at `now` and that no
  // claim holds (claim_until_ms <= now), lets `server` hold it until `until`, and returns its id;
  // none when there is none. On PostgreSQL rows other transactions hold are skipped.
  virtual Result<std::optional<int64_t>> ClaimWebhook(std::string_view server, TimeMs now,
                                                      TimeMs until) = 0;
  // Sets the claim `server` holds on the subscription to last until `until`: later extends it, now
  // or earlier gives it back (and, since claims are taken oldest claim_until_ms first, puts the
  // subscription behind those served less recently). False when `server` does not hold it any
  // more (it ran out and another server took it).
  virtual Result<bool> RenewWebhookClaim(int64_t webhook_id, std::string_view server,
                                         TimeMs until) = 0;
  // The subscription's oldest pending delivery (lowest event_seq), if any.
  virtual Result<std::optional<DeliveryRecord>> HeadDelivery(int64_t webhook_id) = 0;
  virtual Result<std::optional<DeliveryRecord>> FindDelivery(int64_t id) = 0;
  virtual Result<std::optional<DeliveryRecord>> FindDeliveryByUid(std::string_view uid) = 0;
  // Writes state, attempts, next_attempt_ms, finished_ms and the last_* fields; false when no
  // delivery has that id.
  virtual Result<bool> UpdateDelivery(const DeliveryRecord& delivery) = 0;
  virtual Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& filter) = 0;
  // The ledger of attempts. InsertAttempt when one starts; UpdateAttempt writes its outcome
  // (latency, status, response, error) by (delivery_id, attempt) and says whether it was there.
  virtual Status InsertAttempt(const DeliveryAttempt& attempt) = 0;
  virtual Result<bool> UpdateAttempt(const DeliveryAttempt& attempt) = 0;
  // Oldest first.
  virtual Result<std::vector<DeliveryAttempt>> ListAttempts(int64_t delivery_id) = 0;
  // Puts every dead delivery of the subscription back to pending, due at `now`, keeping each
  // one's uid and attempt count; returns how many.
  virtual Result<int64_t> RedeliverDead(int64_t webhook_id, TimeMs now) = 0;
  // Retention: deletes the deliveries (and their attempts) that finished before `cutoff`, then
  // the outbox rows fanned out before `cutoff` of which no pending delivery is left; returns how
  // many rows it deleted. A pending delivery and its outbox row are never deleted.
  virtual Result<int64_t> PruneNotifications(TimeMs cutoff) = 0;
  // How many deliveries are in each state (for /metrics), in DeliveryState order.
  virtual Result<std::vector<int64_t>> CountDeliveries() = 0;

  // ---- Audit checkpoints (issue 14; rows in audit_rows.h, tables in migration 0016).
  // Signing keys. InsertAuditSigningKey fills `key.id`; ALREADY_EXISTS when a key has that
  // verifier key. ListAuditSigningKeys: every key, oldest first. RetireAuditSigningKey sets
  // retired_ms where it is not set yet and says whether it did.
  virtual Status InsertAuditSigningKey(AuditSigningKey& key) = 0;
  virtual Result<std::vector<AuditSigningKey>> ListAuditSigningKeys() = 0;
  virtual Result<bool> RetireAuditSigningKey(int64_t id, TimeMs when) = 0;
  // Checkpoints. InsertAuditCheckpoint fills `checkpoint.id` and returns true; false, nothing
  // written, when one of that size exists (another server made it). LatestAuditCheckpoint: the
  // largest; AuditCheckpointBySize: that size's; nullopt for none. ListAuditCheckpoints: oldest
  // first (ascending id, hence size), strictly after `after_id`, at most `limit`.
  virtual Result<bool> InsertAuditCheckpoint(AuditCheckpointRow& checkpoint) = 0;
  virtual Result<std::optional<AuditCheckpointRow>> LatestAuditCheckpoint() = 0;
  virtual Result<std::optional<AuditCheckpointRow>> AuditCheckpointBySize(int64_t size) = 0;
  virtual Result<std::vector<AuditCheckpointRow>> ListAuditCheckpoints(int64_t after_id,
                                                                       int limit) = 0;
  // Cosignatures. InsertAuditCosignature is false, nothing written, when that checkpoint already
  // has one by that witness key. ListAuditCosignatures: the checkpoint's, in the order received.
  virtual Result<bool> InsertAuditCosignature(const AuditCosignatureRow& cosignature) = 0;
  virtual Result<std::vector<AuditCosignatureRow>> ListAuditCosignatures(int64_t checkpoint_id) = 0;
};

// Runs a store job, turning an escaped exception (a bug, or bad_alloc) into INTERNAL so that one
// job cannot take a backend's thread down. Every backend runs jobs through it.
Status RunGuarded(const std::function<Status(Tx&)>& fn, Tx& tx);

class Store {
 public:
  virtual ~Store() = default;
  // Runs `fn` on a consistent read-only snapshot.
  virtual Status Read(const std::function<Status(Tx&)>& fn) = 0;
  // Runs `fn` in a write transaction; returns after the commit is durable, or with the error
  // (fn's own, or UNAVAILABLE when the commit failed), in which case nothing `fn` did remains.
  virtual Status Write(const std::function<Status(Tx&)>& fn) = 0;
  // OK when the store is open, its schema current and writes can work; UNAVAILABLE otherwise, with
  // a message fit for anyone to read (/ready shows it without a token: no paths, hosts or SQL).
  virtual Status Ready() = 0;
  // e.g. "sqlite /path/vouch.db".
  virtual std::string Describe() const = 0;
  // Runs `fn` while no other server sharing this store runs its own RunExclusive or applies
  // migrations (PostgreSQL: a session advisory lock on a connection of its own). For one-time
  // set-up that must happen once across servers: the bootstrap admin, the first secrets. `fn` may
  // use Read and Write. SQLite has one server per file, so it just runs `fn`.
  virtual Status RunExclusive(const std::function<Status()>& fn) { return fn(); }
  // Figures for /metrics (pool waits, lock waits, retries, commits); none by default.
  virtual std::vector<StoreMetric> Metrics() const { return {}; }
  // A claim on the leader lease `name` for `holder` (a name for logs and the leases table). The
  // default suits a store with one server: the claim takes nothing from anyone and holds the
  // lease at the epoch stored. PostgreSQL overrides it (pg_lease.h).
  virtual std::unique_ptr<LeaseClaim> ClaimLease(std::string_view name, std::string_view holder);
};

}  // namespace vouch::store

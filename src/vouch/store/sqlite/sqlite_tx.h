// The Tx interface over one SQLite connection. Used by one thread inside an open transaction.
#pragma once

#include "vouch/store/sqlite/sqlite_conn.h"
#include "vouch/store/store.h"

namespace vouch::store {

class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(Conn& conn) : c_(conn) {}

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

  Status EnqueueOutbox(int64_t event_seq, std::string_view topic, std::string_view payload,
                       TimeMs created_ms) override;
  Result<int64_t> CountPendingOutbox() override;

  Result<bool> InsertIdempotencyKey(const IdempotencyRecord& record) override;
  Result<std::optional<IdempotencyRecord>> FindIdempotencyKey(int64_t principal_id,
                                                              std::string_view key) override;
  Result<bool> SetIdempotencyState(int64_t principal_id, std::string_view key, TimeMs created_ms,
                                   IdempotencyState state) override;
  Result<bool> CompleteIdempotencyKey(const IdempotencyRecord& record) override;
  Result<bool> DeleteIdempotencyKey(int64_t principal_id, std::string_view key,
                                    TimeMs created_ms) override;
  Result<int64_t> PruneIdempotencyKeys(TimeMs now) override;

 private:
  Status FillModel(Model& m);
  Status FillVersion(ModelVersion& v);
  Result<std::vector<ModelVersion>> ReadVersions(Stmt& stmt);
  // The versions a statement yields; with `details`, their tags, metrics, params and aliases too.
  Result<std::vector<ModelVersion>> QueryVersions(Stmt stmt, bool details = true);
  Result<std::vector<Model>> QueryModels(Stmt stmt, bool details);
  Result<std::vector<int64_t>> QueryIds(const char* sql, std::string_view key,
                                        std::string_view value);
  Status RunKeyed(const char* sql, int64_t id, std::string_view key);
  // Runs `sql` with ?1 = a and ?2 = b; returns how many rows it changed.
  Result<int64_t> RunCounted(const char* sql, int64_t a, int64_t b);
  // Runs `sql` with ?1 = role, ?2 = principal id, ?3 = group id; returns the rows changed.
  Result<int64_t> RunGrant(const char* sql, const RoleGrant& grant);

  Conn& c_;
};

}  // namespace vouch::store

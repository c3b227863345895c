// Principals, tokens, groups, role grants and model permissions.
#include <fmt/format.h>

#include <functional>

#include "vouch/store/sql/sql_tx.h"
#include "vouch/store/sql/wait_timer.h"

namespace vouch::store {
namespace {

constexpr char kCountPrincipals[] = "SELECT COUNT(*) FROM principals";
constexpr char kInsertPrincipal[] =
    "INSERT INTO principals (name, kind, display_name, email, is_admin, disabled, created_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING "
    "RETURNING id";
constexpr char kInsertToken[] =
    "INSERT INTO tokens (principal_id, name, token_hash, scope, created_ms, expires_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) DO NOTHING RETURNING id";
constexpr char kFindToken[] =
    "SELECT t.id, t.principal_id, t.name, t.token_hash, t.scope, t.created_ms, t.expires_ms, "
    "t.revoked_ms, t.last_used_ms, "
    "p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM tokens t JOIN principals p ON p.id = t.principal_id "
    "WHERE t.token_hash = $1 AND p.deleted_ms IS NULL";

// Principals: the columns ReadPrincipal reads, in its order. A deleted principal reads as disabled.
constexpr char kFindPrincipal[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE name = $1 AND deleted_ms IS NULL";
constexpr char kFindPrincipalById[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, "
    "CASE WHEN deleted_ms IS NULL THEN disabled ELSE 1 END FROM principals WHERE id = $1";
// In a write transaction: the caller writes back the whole row it read (UpdatePrincipal), so the
// row stays locked until commit; otherwise a concurrent change (disabling it) could be undone.
constexpr char kFindPrincipalForUpdate[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE name = $1 AND deleted_ms IS NULL FOR UPDATE";
constexpr char kFindPrincipalByIdForUpdate[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, "
    "CASE WHEN deleted_ms IS NULL THEN disabled ELSE 1 END FROM principals WHERE id = $1 "
    "FOR UPDATE";
constexpr char kListPrincipals[] =
    "SELECT id, name, kind, display_name, email, created_ms, is_admin, disabled FROM principals "
    "WHERE deleted_ms IS NULL AND name > $1 ORDER BY name LIMIT $2";
constexpr char kUpdatePrincipal[] =
    "UPDATE principals SET display_name = $2, email = $3, is_admin = $4, disabled = $5 "
    "WHERE id = $1";
constexpr char kDeletePrincipal[] =
    "UPDATE principals SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL";
constexpr char kCountActiveAdmins[] =
    "SELECT COUNT(*) FROM principals "
    "WHERE deleted_ms IS NULL AND disabled = 0 AND is_admin <> 0";
constexpr char kPasswordHash[] = "SELECT password_hash FROM principals WHERE id = $1";
constexpr char kSetPasswordHash[] = "UPDATE principals SET password_hash = $2 WHERE id = $1";

// Tokens: the columns ReadToken reads, in its order.
constexpr char kListAllTokens[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens ORDER BY created_ms DESC, id DESC";
constexpr char kListTokensOf[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE principal_id = $1 ORDER BY created_ms DESC, id DESC";
constexpr char kFindTokenById[] =
    "SELECT id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms, "
    "last_used_ms FROM tokens WHERE id = $1";
constexpr char kRevokeToken[] =
    "UPDATE tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL";
constexpr char kRevokeTokensOf[] =
    "UPDATE tokens SET revoked_ms = $2 WHERE principal_id = $1 AND revoked_ms IS NULL";
// Never moves backwards: a slow request that touches late does not hide a later use.
constexpr char kTouchToken[] =
    "UPDATE tokens SET last_used_ms = $2 "
    "WHERE id = $1 AND (last_used_ms IS NULL OR last_used_ms < $2)";

// Groups. A live name clash inserts nothing (rather than failing the statement, which would abort
// the whole transaction); the caller reports ALREADY_EXISTS.
constexpr char kInsertGroup[] =
    "INSERT INTO principal_groups (name, description, created_ms) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) WHERE deleted_ms IS NULL DO NOTHING RETURNING id";
constexpr char kFindGroup[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE name = $1 AND deleted_ms IS NULL";
constexpr char kListGroups[] =
    "SELECT id, name, description, created_ms FROM principal_groups "
    "WHERE deleted_ms IS NULL ORDER BY name";
constexpr char kDeleteGroup[] =
    "UPDATE principal_groups SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL";
constexpr char kAddGroupMember[] =
    "INSERT INTO group_members (group_id, principal_id) VALUES ($1, $2) "
    "ON CONFLICT (group_id, principal_id) DO NOTHING";
constexpr char kRemoveGroupMember[] =
    "DELETE FROM group_members WHERE group_id = $1 AND principal_id = $2";
constexpr char kGroupMembers[] =
    "SELECT p.id, p.name, p.kind, p.display_name, p.email, p.created_ms, p.is_admin, p.disabled "
    "FROM group_members gm JOIN principals p ON p.id = gm.principal_id "
    "WHERE gm.group_id = $1 AND p.deleted_ms IS NULL ORDER BY p.name";
constexpr char kGroupsOf[] =
    "SELECT g.id, g.name, g.description, g.created_ms "
    "FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL ORDER BY g.name";

// Grants: a principal's own are (principal_id, group_id 0); its groups' are those whose group_id
// is one of its live groups.
constexpr char kGrantRole[] =
    "INSERT INTO role_grants (role, principal_id, group_id) VALUES ($1, $2, $3) "
    "ON CONFLICT (role, principal_id, group_id) DO NOTHING";
constexpr char kRevokeRole[] =
    "DELETE FROM role_grants WHERE role = $1 AND principal_id = $2 AND group_id = $3";
constexpr char kListRoleGrants[] =
    "SELECT role, principal_id, group_id FROM role_grants ORDER BY role, group_id, principal_id";
constexpr char kEffectiveRoles[] =
    "SELECT DISTINCT role FROM role_grants "
    "WHERE (group_id = 0 AND principal_id = $1) OR group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL) "
    "ORDER BY role";
constexpr char kSetModelPermission[] =
    "INSERT INTO model_permissions (model_id, principal_id, group_id, permission) "
    "VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (model_id, principal_id, group_id) DO UPDATE SET permission = excluded.permission";
constexpr char kDeleteModelPermission[] =
    "DELETE FROM model_permissions WHERE model_id = $1 AND principal_id = $2 AND group_id = $3";
constexpr char kModelPermissions[] =
    "SELECT model_id, principal_id, group_id, permission FROM model_permissions "
    "WHERE model_id = $1 ORDER BY group_id, principal_id";
constexpr char kPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE m.deleted_ms IS NULL AND ((mp.group_id = 0 AND mp.principal_id = $1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.model_id, mp.group_id, mp.principal_id";
constexpr char kModelPermissionsFor[] =
    "SELECT mp.model_id, mp.principal_id, mp.group_id, mp.permission "
    "FROM model_permissions mp JOIN models m ON m.id = mp.model_id "
    "WHERE mp.model_id = $2 AND m.deleted_ms IS NULL "
    "AND ((mp.group_id = 0 AND mp.principal_id = $1) OR mp.group_id IN "
    "  (SELECT gm.group_id FROM group_members gm JOIN principal_groups g ON g.id = gm.group_id "
    "   WHERE gm.principal_id = $1 AND g.deleted_ms IS NULL)) "
    "ORDER BY mp.group_id, mp.principal_id";
constexpr char kDeleteRoleGrantsOf[] =
    "DELETE FROM role_grants WHERE principal_id = $1 AND group_id = $2";
constexpr char kDeleteModelPermissionsOf[] =
    "DELETE FROM model_permissions WHERE principal_id = $1 AND group_id = $2";
constexpr char kDeleteMembershipsOf[] = "DELETE FROM group_members WHERE principal_id = $1";
constexpr char kDeleteMembersOf[] = "DELETE FROM group_members WHERE group_id = $1";

// Columns id, name, kind, display_name, email, created_ms, is_admin, disabled from `col` on.
Result<Principal> ReadPrincipal(const sql::Rows& r, int col) {
  Principal p;
  p.id = r.Int(col);
  p.name = r.Text(col + 1);
  std::string kind = r.Text(col + 2);
  if (kind == PrincipalKindName(PrincipalKind::kUser)) {
    p.kind = PrincipalKind::kUser;
  } else if (kind == PrincipalKindName(PrincipalKind::kServiceAccount)) {
    p.kind = PrincipalKind::kServiceAccount;
  } else {
    return Internal("stored principal kind is unknown: " + kind);
  }
  p.display_name = r.Text(col + 3);
  p.email = r.Text(col + 4);
  p.created_ms = r.Int(col + 5);
  p.is_admin = r.Int(col + 6) != 0;
  p.disabled = r.Int(col + 7) != 0;
  return p;
}

// Columns id, principal_id, name, token_hash, scope, created_ms, expires_ms, revoked_ms,
// last_used_ms.
TokenRecord ReadToken(const sql::Rows& r) {
  TokenRecord t;
  t.id = r.Int(0);
  t.principal_id = r.Int(1);
  t.name = r.Text(2);
  t.token_hash = r.Text(3);
  t.scope = r.Text(4);
  t.created_ms = r.Int(5);
  t.expires_ms = r.OptionalInt(6);
  t.revoked_ms = r.OptionalInt(7);
  t.last_used_ms = r.OptionalInt(8);
  return t;
}

Group ReadGroup(const sql::Rows& r) { return Group{r.Int(0), r.Text(1), r.Text(2), r.Int(3)}; }

// Columns model_id, principal_id, group_id, permission (stored by name).
Result<ModelPermission> ReadPermission(const sql::Rows& r) {
  std::string name = r.Text(3);
  Result<Permission> permission = ParsePermission(name);
  if (!permission.ok()) return Internal("stored permission is unknown: " + name);
  return ModelPermission{r.Int(0), Grantee{r.Int(1), r.Int(2)}, *permission};
}

// Every row `sql` yields, read by `read` (returning T or Result<T>).
template <typename T, typename Read>
Result<std::vector<T>> ReadAll(sql::Connection& c, const char* sql,
                               std::initializer_list<sql::Value> params, Read read) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c.Query(sql, params));
  std::vector<T> out;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
    if (!row) return out;
    Result<T> item = read(*rows);
    if (!item.ok()) return item.status();
    out.push_back(std::move(item).value());
  }
}

Result<Principal> ReadPrincipalRow(const sql::Rows& r) { return ReadPrincipal(r, 0); }

// The first of `found`, or nullopt.
template <typename T>
std::optional<T> First(std::vector<T> found) {
  if (found.empty()) return std::nullopt;
  return std::optional<T>(std::move(found[0]));
}

// The first column of the only row as a count; 0 when there is none.
Result<int64_t> CountOf(sql::Connection& c, const char* sql) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c.Query(sql));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  return row ? rows->Int(0) : 0;
}

}  // namespace

Result<int64_t> SqlTx::CountPrincipals() { return CountOf(c_, kCountPrincipals); }

Status SqlTx::InsertPrincipal(Principal& p, TimeMs created_ms) {
  VOUCH_ASSIGN_OR_RETURN(
      p.id, InsertReturningId(kInsertPrincipal,
                              {p.name, PrincipalKindName(p.kind), p.display_name, p.email,
                               int64_t{p.is_admin}, int64_t{p.disabled}, created_ms},
                              fmt::format("principal {}", p.name)));
  p.created_ms = created_ms;
  return OkStatus();
}

Status SqlTx::InsertToken(TokenRecord& t) {
  VOUCH_ASSIGN_OR_RETURN(t.id, InsertReturningId(kInsertToken,
                                                 {t.principal_id, t.name, t.token_hash, t.scope,
                                                  t.created_ms, t.expires_ms},
                                                 "a token with that hash"));
  return OkStatus();
}

Result<std::optional<std::pair<TokenRecord, Principal>>> SqlTx::FindToken(
    std::string_view token_hash) {
  using Found = std::pair<TokenRecord, Principal>;
  VOUCH_ASSIGN_OR_RETURN(
      std::vector<Found> found,
      ReadAll<Found>(c_, kFindToken, {token_hash}, [](const sql::Rows& r) -> Result<Found> {
        VOUCH_ASSIGN_OR_RETURN(Principal p, ReadPrincipal(r, 9));
        return Found(ReadToken(r), std::move(p));
      }));
  return First(std::move(found));
}

Result<std::optional<Principal>> SqlTx::FindPrincipal(std::string_view name) {
  sql::WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(
      std::vector<Principal> found,
      ReadAll<Principal>(c_, lock_rows_ ? kFindPrincipalForUpdate : kFindPrincipal, {name},
                         ReadPrincipalRow));
  return First(std::move(found));
}

Result<std::optional<Principal>> SqlTx::FindPrincipalById(int64_t id) {
  sql::WaitTimer timer(RowLockCounter());
  VOUCH_ASSIGN_OR_RETURN(
      std::vector<Principal> found,
      ReadAll<Principal>(c_, lock_rows_ ? kFindPrincipalByIdForUpdate : kFindPrincipalById, {id},
                         ReadPrincipalRow));
  return First(std::move(found));
}

Result<std::vector<Principal>> SqlTx::ListPrincipals(std::string_view after_name, int limit) {
  return ReadAll<Principal>(c_, kListPrincipals, {after_name, limit}, ReadPrincipalRow);
}

Status SqlTx::UpdatePrincipal(const Principal& p) {
  return c_
      .Exec(kUpdatePrincipal,
            {p.id, p.display_name, p.email, int64_t{p.is_admin}, int64_t{p.disabled}})
      .status();
}

Status SqlTx::MarkPrincipalDeleted(int64_t principal_id, TimeMs when) {
  return c_.Exec(kDeletePrincipal, {principal_id, when}).status();
}

Result<int64_t> SqlTx::CountActiveAdmins() {
  if (lock_rows_ && d_.lock_admin_count != nullptr) {
    // A statement of its own: READ COMMITTED takes the count's snapshot after the lock is held, so
    // it sees what the previous holder committed.
    sql::WaitTimer timer(RowLockCounter());
    VOUCH_TRY(c_.Exec(d_.lock_admin_count).status());
  }
  return CountOf(c_, kCountActiveAdmins);
}

Result<std::string> SqlTx::PasswordHash(int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(auto rows, c_.Query(kPasswordHash, {principal_id}));
  VOUCH_ASSIGN_OR_RETURN(bool row, rows->Next());
  if (!row) return NotFound(fmt::format("principal {} not found", principal_id));
  return rows->Text(0);
}

Status SqlTx::SetPasswordHash(int64_t principal_id, std::string_view hash) {
  VOUCH_ASSIGN_OR_RETURN(int64_t changed, c_.Exec(kSetPasswordHash, {principal_id, hash}));
  if (changed == 0) return NotFound(fmt::format("principal {} not found", principal_id));
  return OkStatus();
}

Result<std::vector<TokenRecord>> SqlTx::ListTokens(int64_t principal_id) {
  auto read = [](const sql::Rows& r) -> Result<TokenRecord> { return ReadToken(r); };
  if (principal_id == 0) return ReadAll<TokenRecord>(c_, kListAllTokens, {}, read);
  return ReadAll<TokenRecord>(c_, kListTokensOf, {principal_id}, read);
}

Result<std::optional<TokenRecord>> SqlTx::FindTokenById(int64_t token_id) {
  VOUCH_ASSIGN_OR_RETURN(
      std::vector<TokenRecord> found,
      ReadAll<TokenRecord>(c_, kFindTokenById, {token_id},
                           [](const sql::Rows& r) -> Result<TokenRecord> { return ReadToken(r); }));
  return First(std::move(found));
}

Result<int64_t> SqlTx::RevokeToken(int64_t token_id, TimeMs when) {
  return c_.Exec(kRevokeToken, {token_id, when});
}

Result<int64_t> SqlTx::RevokeTokensOf(int64_t principal_id, TimeMs when) {
  return c_.Exec(kRevokeTokensOf, {principal_id, when});
}

Status SqlTx::TouchToken(int64_t token_id, TimeMs when) {
  return c_.Exec(kTouchToken, {token_id, when}).status();
}

Status SqlTx::InsertGroup(Group& g) {
  VOUCH_ASSIGN_OR_RETURN(g.id,
                         InsertReturningId(kInsertGroup, {g.name, g.description, g.created_ms},
                                           fmt::format("group {}", g.name)));
  return OkStatus();
}

Result<std::optional<Group>> SqlTx::FindGroup(std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> found,
                         ReadAll<Group>(c_, kFindGroup, {name}, ReadGroup));
  return First(std::move(found));
}

Result<std::vector<Group>> SqlTx::ListGroups() {
  return ReadAll<Group>(c_, kListGroups, {}, ReadGroup);
}

Status SqlTx::MarkGroupDeleted(int64_t group_id, TimeMs when) {
  return c_.Exec(kDeleteGroup, {group_id, when}).status();
}

Result<bool> SqlTx::AddGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t added, c_.Exec(kAddGroupMember, {group_id, principal_id}));
  return added > 0;
}

Result<bool> SqlTx::RemoveGroupMember(int64_t group_id, int64_t principal_id) {
  VOUCH_ASSIGN_OR_RETURN(int64_t removed, c_.Exec(kRemoveGroupMember, {group_id, principal_id}));
  return removed > 0;
}

Result<std::vector<Principal>> SqlTx::GroupMembers(int64_t group_id) {
  return ReadAll<Principal>(c_, kGroupMembers, {group_id}, ReadPrincipalRow);
}

Result<std::vector<Group>> SqlTx::GroupsOf(int64_t principal_id) {
  return ReadAll<Group>(c_, kGroupsOf, {principal_id}, ReadGroup);
}

Result<bool> SqlTx::GrantRole(const RoleGrant& grant) {
  VOUCH_ASSIGN_OR_RETURN(int64_t added, c_.Exec(kGrantRole, {grant.role, grant.grantee.principal_id,
                                                             grant.grantee.group_id}));
  return added > 0;
}

Result<bool> SqlTx::RevokeRole(const RoleGrant& grant) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t removed,
      c_.Exec(kRevokeRole, {grant.role, grant.grantee.principal_id, grant.grantee.group_id}));
  return removed > 0;
}

Result<std::vector<RoleGrant>> SqlTx::ListRoleGrants() {
  return ReadAll<RoleGrant>(c_, kListRoleGrants, {}, [](const sql::Rows& r) -> Result<RoleGrant> {
    return RoleGrant{r.Text(0), Grantee{r.Int(1), r.Int(2)}};
  });
}

Result<std::vector<std::string>> SqlTx::EffectiveRoles(int64_t principal_id) {
  return ReadAll<std::string>(c_, kEffectiveRoles, {principal_id},
                              [](const sql::Rows& r) -> Result<std::string> { return r.Text(0); });
}

Status SqlTx::SetModelPermission(const ModelPermission& p) {
  return c_
      .Exec(kSetModelPermission,
            {p.model_id, p.grantee.principal_id, p.grantee.group_id, PermissionName(p.permission)})
      .status();
}

Result<bool> SqlTx::DeleteModelPermission(int64_t model_id, const Grantee& grantee) {
  VOUCH_ASSIGN_OR_RETURN(
      int64_t removed,
      c_.Exec(kDeleteModelPermission, {model_id, grantee.principal_id, grantee.group_id}));
  return removed > 0;
}

Result<std::vector<ModelPermission>> SqlTx::ModelPermissions(int64_t model_id) {
  return ReadAll<ModelPermission>(c_, kModelPermissions, {model_id}, ReadPermission);
}

Result<std::vector<ModelPermission>> SqlTx::PermissionsFor(int64_t principal_id) {
  return ReadAll<ModelPermission>(c_, kPermissionsFor, {principal_id}, ReadPermission);
}

Result<std::vector<ModelPermission>> SqlTx::ModelPermissionsFor(int64_t model_id,
                                                                int64_t principal_id) {
  return ReadAll<ModelPermission>(c_, kModelPermissionsFor, {principal_id, model_id},
                                  ReadPermission);
}

Status SqlTx::DeleteGrantsOf(const Grantee& grantee) {
  VOUCH_TRY(c_.Exec(kDeleteRoleGrantsOf, {grantee.principal_id, grantee.group_id}).status());
  VOUCH_TRY(c_.Exec(kDeleteModelPermissionsOf, {grantee.principal_id, grantee.group_id}).status());
  if (grantee.is_group()) return c_.Exec(kDeleteMembersOf, {grantee.group_id}).status();
  return c_.Exec(kDeleteMembershipsOf, {grantee.principal_id}).status();
}

}  // namespace vouch::store

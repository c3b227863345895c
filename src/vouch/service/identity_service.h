// Identity administration: users and service accounts, their passwords and API tokens, groups,
// roles and per-model permissions. Every door (native API, CLI, MLflow's auth API, the UI to come)
// goes through here, so the rules hold everywhere:
//   - only admins create, change, disable or delete principals, groups and role grants, and only
//     admins make someone an admin; the last enabled admin can be neither demoted, disabled nor
//     deleted (FAILED_PRECONDITION);
//   - a principal may read itself, change its own display name, e-mail and password (giving the
//     current one), and issue, list and revoke its own tokens;
//   - model permissions are granted and revoked by whoever has MANAGE on the model (admins have it
//     everywhere);
//   - every change is one change through the mutation executor (executor.h) with its audit event
//     (before and after; never a password, a token or a hash); once it commits, a post-commit hook
//     clears the credential caches (auth_service.h).
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vouch/domain/identity.h"
#include "vouch/domain/principal.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/executor.h"
#include "vouch/store/store.h"

namespace vouch::service {

struct UserArgs {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string display_name;
  std::string email;
  std::string password;  // optional; service accounts usually have none
  bool is_admin = false;
};

struct UserUpdate {
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<bool> is_admin;
  std::optional<bool> disabled;
};

// The longest a token may live: 10 years (3650 days). Bounded so that no expiry beyond what a
// JSON number holds exactly (2^53 ms) is ever stored, answered or logged.
inline constexpr TimeMs kMaxTokenLifetimeMs = int64_t{3650} * 86'400'000;

struct TokenArgs {
  std::string owner;  // empty: the caller
  std::string name;
  std::string scope = "full";  // "full" or "read"
  std::optional<TimeMs> expires_ms;
};

struct IssuedToken {
  store::TokenRecord record;
  std::string owner;
  std::string token;  // shown once; only its hash is stored
};

// A grantee by name: exactly one of the two is set.
struct GranteeName {
  std::string user;
  std::string group;
};

struct PermissionView {
  std::string model;
  std::string grantee_kind;  // "user" or "group"
  std::string grantee;
  int64_t grantee_id = 0;
  Permission permission = Permission::kRead;
};

struct RoleGrantView {
  std::string role;
  std::string grantee_kind;  // "user" or "group"
  std::string grantee;
};

struct GroupView {
  Group group;
  std::vector<Principal> members;
  std::vector<std::string> roles;
};

class IdentityService {
 public:
  // Changes run through `executor`, shared with the other services (given a store, it makes its
  // own); either way it gains the hook that clears `auth`'s credential caches after a committed
  // change to principals, tokens, groups, roles or model permissions.
  IdentityService(MutationExecutor& executor, AuthService& auth, Authorizer authz);
  IdentityService(store::Store& store, AuthService& auth, Authorizer authz);

  // Principals. ALREADY_EXISTS for a live name; INVALID_ARGUMENT for bad fields.
  Result<Principal> CreateUser(const RequestContext& ctx, const UserArgs& args);
  // Self, admins and auditors. NOT_FOUND "user X not found". Roles and groups filled in.
  Result<Principal> GetUser(const RequestContext& ctx, std::string_view name);
  // Admins and auditors; live principals by name.
  Result<std::vector<Principal>> ListUsers(const RequestContext& ctx);
  Result<Principal> UpdateUser(const RequestContext& ctx, std::string_view name,
                               const UserUpdate& update);
  // Admins set anyone's password; a principal sets its own only with the right current one
  // (PERMISSION_DENIED otherwise).
  Status SetPassword(const RequestContext& ctx, std::string_view name, std::string_view password,
                     std::optional<std::string_view> current_password);
  // Soft delete: the id is never reused; its tokens are revoked and its grants removed.
  Status DeleteUser(const RequestContext& ctx, std::string_view name);

  // Tokens: a principal's own, or anyone's for admins. INVALID_ARGUMENT for an expiry not in the
  // future or more than kMaxTokenLifetimeMs away.
  Result<IssuedToken> CreateToken(const RequestContext& ctx, const TokenArgs& args);
  // `owner` empty: the caller's; "*": everyone's (admins and auditors).
  Result<std::vector<std::pair<store::TokenRecord, std::string>>> ListTokens(
      const RequestContext& ctx, std::string_view owner);
  // NOT_FOUND for a token that is not the caller's (unless admin) or does not exist.
  Status RevokeToken(const RequestContext& ctx, int64_t token_id);

  // Groups (admins; auditors may read).
  Result<Group> CreateGroup(const RequestContext& ctx, std::string_view name,
                            std::string_view description);
  Result<std::vector<Group>> ListGroups(const RequestContext& ctx);
  Result<GroupView> GetGroup(const RequestContext& ctx, std::string_view name);
  Status DeleteGroup(const RequestContext& ctx, std::string_view name);
  Status AddMember(const RequestContext& ctx, std::string_view group, std::string_view user);
  Status RemoveMember(const RequestContext& ctx, std::string_view group, std::string_view user);

  // Roles (admins; auditors may list). The admin role is the admin flag (UpdateUser).
  Status GrantRole(const RequestContext& ctx, std::string_view role, const GranteeName& to);
  Status RevokeRole(const RequestContext& ctx, std::string_view role, const GranteeName& from);
  Result<std::vector<RoleGrantView>> ListRoles(const RequestContext& ctx);

  // Model permissions: MANAGE on the model.
  Result<PermissionView> SetModelPermission(const RequestContext& ctx, std::string_view model,
                                            const GranteeName& to, Permission permission);
  // NOT_FOUND when the grantee has no grant on the model.
  Status DeleteModelPermission(const RequestContext& ctx, std::string_view model,
                               const GranteeName& from);
  Result<std::vector<PermissionView>> ListModelPermissions(const RequestContext& ctx,
                                                           std::string_view model);
  // The grant a user has on a model (NOT_FOUND when it has none of its own).
  Result<PermissionView> GetModelPermission(const RequestContext& ctx, std::string_view model,
                                            std::string_view user);
  // What the caller may do on a model, all rules applied (authorizer.h).
  Result<Permission> EffectivePermission(const RequestContext& ctx, std::string_view model);

 private:
  void InvalidateCachesAfterChanges();
  Result<Grantee> ResolveGrantee(store::Tx& tx, const GranteeName& g) const;
  // A model the caller manages, a grantee on it, and the grantee's own grant there, if any.
  struct GrantOnModel {
    Model model;
    Grantee grantee;
    std::optional<Permission> current;
  };
  Result<GrantOnModel> ManagedGrant(store::Tx& tx, const RequestContext& ctx,
                                    std::string_view model, const GranteeName& who) const;
  // Self, or admins / auditors (for reads).
  Status RequireSelfOrReader(const RequestContext& ctx, std::string_view name) const;

  std::unique_ptr<MutationExecutor> own_executor_;  // when not given one
  MutationExecutor& executor_;
  store::Store& store_;
  AuthService& auth_;
  const Authorizer authz_;
};

}  // namespace vouch::service

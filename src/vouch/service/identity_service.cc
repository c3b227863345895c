#include "vouch/service/identity_service.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"
#include "vouch/service/lookups.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

using audit::Action;

json::object GranteeJson(const GranteeName& g) {
  return g.group.empty() ? json::object{{"user", g.user}} : json::object{{"group", g.group}};
}

Status GroupNotFound(std::string_view name) {
  return NotFound(fmt::format("group {} not found", name));
}

// The target of a grant's audit event: its kind and subject, and the grantee.
json::object GrantTarget(std::string_view type, std::string_view key, std::string_view value,
                         const GranteeName& g) {
  json::object target{{"type", type}, {key, value}};
  for (auto& [k, v] : GranteeJson(g)) target[k] = v;
  return target;
}

Status ValidateGranteeName(const GranteeName& g) {
  if (g.user.empty() == g.group.empty()) {
    return InvalidArgument("name exactly one grantee: a user or a group");
  }
  return g.user.empty() ? ValidatePrincipalName("group", g.group)
                        : ValidatePrincipalName("user", g.user);
}

// Whether committed events change who someone is or what they may do: then the credential caches
// (which hold principals with their roles and groups) are cleared.
bool ChangesIdentity(std::span<const AuditEvent> events) {
  for (const AuditEvent& e : events) {
    std::optional<Action> action = audit::FindAction(e.action);
    if (!action) continue;
    switch (audit::Describe(*action).target) {
      case audit::TargetKind::kPrincipal:
      case audit::TargetKind::kToken:
      case audit::TargetKind::kGroup:
      case audit::TargetKind::kRole:
      case audit::TargetKind::kModelPermission:
        return true;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

IdentityService::IdentityService(MutationExecutor& executor, AuthService& auth, Authorizer authz)
    : executor_(executor), store_(executor.store()), auth_(auth), authz_(authz) {
  InvalidateCachesAfterChanges();
}

IdentityService::IdentityService(store::Store& store, AuthService& auth, Authorizer authz)
    : own_executor_(std::make_unique<MutationExecutor>(store)),
      executor_(*own_executor_),
      store_(store),
      auth_(auth),
      authz_(authz) {
  InvalidateCachesAfterChanges();
}

void IdentityService::InvalidateCachesAfterChanges() {
  executor_.AddPostCommitHook(
      [&auth = auth_](const RequestContext&, std::span<const AuditEvent> committed) {
        if (ChangesIdentity(committed)) auth.Invalidate();
      });
}

Result<Grantee> IdentityService::ResolveGrantee(store::Tx& tx, const GranteeName& g) const {
  if (!g.group.empty()) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> group, tx.FindGroup(g.group));
    if (!group) return GroupNotFound(g.group);
    return Grantee{.group_id = group->id};
  }
  VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, g.user));
  return Grantee{.principal_id = p.id};
}

Status IdentityService::RequireSelfOrReader(const RequestContext& ctx,
                                            std::string_view name) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (ctx.principal->name == name || Authorizer::MayReadWholeAudit(ctx)) return OkStatus();
  return PermissionDenied(
      fmt::format("{} may read only itself; reading other principals needs the admin or auditor "
                  "role",
                  ctx.principal->name));
}

Result<Principal> IdentityService::CreateUser(const RequestContext& ctx, const UserArgs& args) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  VOUCH_TRY(ValidatePrincipalName("username", args.name));
  VOUCH_TRY(ValidateDisplayName(args.display_name));
  VOUCH_TRY(ValidateEmail(args.email));
  std::string hash;
  if (!args.password.empty()) {
    VOUCH_ASSIGN_OR_RETURN(hash, auth_.HashPassword(args.password));
  }
  Principal out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> existing, tx.FindPrincipal(args.name));
    if (existing) return AlreadyExists(fmt::format("user {} already exists", args.name));
    Principal p{.name = args.name,
                .kind = args.kind,
                .is_admin = args.is_admin,
                .display_name = args.display_name,
                .email = args.email,
                .created_ms = ctx.Now()};
    VOUCH_TRY(tx.InsertPrincipal(p, ctx.Now()));
    if (!hash.empty()) VOUCH_TRY(tx.SetPasswordHash(p.id, hash));
    AuditEvent e = NewEvent(ctx, Action::kPrincipalCreated);
    e.target = PrincipalTarget(p);
    e.before = nullptr;
    json::object after = PrincipalSnapshot(p);
    after["password_set"] = !hash.empty();
    e.after = std::move(after);
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(p);
    return OkStatus();
  }));
  return out;
}

Result<Principal> IdentityService::GetUser(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(RequireSelfOrReader(ctx, name));
  Principal out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, RequireUser(tx, name));
    VOUCH_ASSIGN_OR_RETURN(out.roles, tx.EffectiveRoles(out.id));
    VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.GroupsOf(out.id));
    out.group_ids.clear();
    for (const auto& g : groups) out.group_ids.push_back(g.id);
    return OkStatus();
  }));
  return out;
}

Result<std::vector<Principal>> IdentityService::ListUsers(const RequestContext& ctx) {
  if (!Authorizer::MayReadWholeAudit(ctx)) {
    return PermissionDenied("listing principals needs the admin or auditor role");
  }
  std::vector<Principal> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    std::string after;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> batch, tx.ListPrincipals(after, 500));
      for (auto& p : batch) out.push_back(std::move(p));
      if (batch.size() < 500) break;
      after = out.back().name;
    }
    return OkStatus();
  }));
  return out;
}

Result<Principal> IdentityService::UpdateUser(const RequestContext& ctx, std::string_view name,
                                              const UserUpdate& update) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  const bool self = ctx.principal->name == name;
  const bool privileged = update.is_admin.has_value() || update.disabled.has_value();
  if (!ctx.principal->is_admin && (!self || privileged)) {
    // The message becomes the denial's recorded reason: it names the caller, never the name
    // typed, which may be a credential in the wrong field.
    return PermissionDenied(
        privileged ? std::string("only admins change whether a principal is an admin or disabled")
                   : fmt::format("{} may change only its own details", ctx.principal->name));
  }
  if (update.display_name) VOUCH_TRY(ValidateDisplayName(*update.display_name));
  if (update.email) VOUCH_TRY(ValidateEmail(*update.email));
  Principal out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, name));
    const Principal before = p;
    if (update.display_name) p.display_name = *update.display_name;
    if (update.email) p.email = *update.email;
    if (update.is_admin) p.is_admin = *update.is_admin;
    if (update.disabled) p.disabled = *update.disabled;
    const bool was_active_admin = before.is_admin && !before.disabled;
    const bool is_active_admin = p.is_admin && !p.disabled;
    if (was_active_admin && !is_active_admin) {
      VOUCH_ASSIGN_OR_RETURN(int64_t admins, tx.CountActiveAdmins());
      if (admins <= 1) {
        return FailedPrecondition(
            fmt::format("{} is the last enabled admin; make another admin first", before.name));
      }
    }
    json::object b, a;
    const json::object snap_before = PrincipalSnapshot(before), snap_after = PrincipalSnapshot(p);
    for (const auto& [k, v] : snap_after) {
      if (snap_before.at(k) != v) {
        b[k] = snap_before.at(k);
        a[k] = v;
      }
    }
    if (a.empty()) {
      out = std::move(p);
      return change.Unchanged();  // nothing changed: nothing to record
    }
    VOUCH_TRY(tx.UpdatePrincipal(p));
    const Action action =
        update.disabled && *update.disabled != before.disabled
            ? (p.disabled ? Action::kPrincipalDisabled : Action::kPrincipalEnabled)
            : Action::kPrincipalUpdated;
    AuditEvent e = NewEvent(ctx, action);
    e.target = PrincipalTarget(p);
    e.before = std::move(b);
    e.after = std::move(a);
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(p);
    return OkStatus();
  }));
  return out;
}

Status IdentityService::SetPassword(const RequestContext& ctx, std::string_view name,
                                    std::string_view password,
                                    std::optional<std::string_view> current_password) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  const bool self = ctx.principal->name == name;
  if (!ctx.principal->is_admin && !self) {
    return PermissionDenied(fmt::format("only admins set another principal's password"));
  }
  VOUCH_TRY(ValidatePassword(password));
  if (!ctx.principal->is_admin) {
    // Self-service: prove it is still you.
    std::string stored;
    VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(stored, tx.PasswordHash(ctx.principal->id));
      return OkStatus();
    }));
    if (!stored.empty() &&
        (!current_password || !auth_.VerifyPassword(stored, *current_password))) {
      return PermissionDenied("changing your own password needs your current password");
    }
  }
  VOUCH_ASSIGN_OR_RETURN(std::string hash, auth_.HashPassword(password));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, name));
    VOUCH_ASSIGN_OR_RETURN(std::string old, tx.PasswordHash(p.id));
    VOUCH_TRY(tx.SetPasswordHash(p.id, hash));
    AuditEvent e = NewEvent(ctx, Action::kPrincipalPasswordSet);
    e.target = PrincipalTarget(p);
    e.before = json::object{{"password_set", !old.empty()}};
    e.after = json::object{{"password_set", true}};
    return change.Record(std::move(e));
  });
}

Status IdentityService::DeleteUser(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, name));
    if (p.is_admin && !p.disabled) {
      VOUCH_ASSIGN_OR_RETURN(int64_t admins, tx.CountActiveAdmins());
      if (admins <= 1) {
        return FailedPrecondition(
            fmt::format("{} is the last enabled admin and cannot be deleted", p.name));
      }
    }
    VOUCH_ASSIGN_OR_RETURN(int64_t revoked, tx.RevokeTokensOf(p.id, ctx.Now()));
    VOUCH_TRY(tx.DeleteGrantsOf(Grantee{.principal_id = p.id}));
    VOUCH_TRY(tx.MarkPrincipalDeleted(p.id, ctx.Now()));
    AuditEvent e = NewEvent(ctx, Action::kPrincipalDeleted);
    e.target = PrincipalTarget(p);
    e.before = PrincipalSnapshot(p);
    e.after = nullptr;
    e.comment = fmt::format("{} token(s) revoked, grants removed", revoked);
    return change.Record(std::move(e));
  });
}

Result<IssuedToken> IdentityService::CreateToken(const RequestContext& ctx, const TokenArgs& args) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  const std::string owner = args.owner.empty() ? ctx.principal->name : args.owner;
  if (owner != ctx.principal->name && !ctx.principal->is_admin) {
    return PermissionDenied("only admins issue tokens for another principal");
  }
  VOUCH_TRY(ValidateTokenName(args.name));
  VOUCH_TRY(ValidateScope(args.scope));
  if (args.expires_ms && *args.expires_ms <= ctx.Now()) {
    return InvalidArgument("expires_at must be in the future");
  }
  if (args.expires_ms && *args.expires_ms - ctx.Now() > kMaxTokenLifetimeMs) {
    return InvalidArgument(
        fmt::format("a token lives at most {} days (10 years); expires_at or "
                    "expires_in is further away",
                    kMaxTokenLifetimeMs / 86'400'000));
  }
  IssuedToken out{.owner = owner, .token = AuthService::NewToken()};
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, owner));
    out.record = store::TokenRecord{.principal_id = p.id,
                                    .name = args.name,
                                    .token_hash = Sha256Hex(out.token),
                                    .scope = args.scope,
                                    .created_ms = ctx.Now(),
                                    .expires_ms = args.expires_ms};
    VOUCH_TRY(tx.InsertToken(out.record));
    AuditEvent e = NewEvent(ctx, Action::kTokenCreated);
    e.target = {{"type", "token"}, {"id", out.record.id}, {"principal", p.name}};
    e.before = nullptr;
    json::object after{{"name", args.name}, {"scope", args.scope}};
    if (args.expires_ms) after["expires_at"] = FormatRfc3339Ms(*args.expires_ms);
    e.after = std::move(after);
    return change.Record(std::move(e));
  }));
  return out;
}

Result<std::vector<std::pair<store::TokenRecord, std::string>>> IdentityService::ListTokens(
    const RequestContext& ctx, std::string_view owner) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  const bool all = owner == "*";
  std::string who = owner.empty() ? ctx.principal->name : std::string(owner);
  if (!all) VOUCH_TRY(RequireSelfOrReader(ctx, who));
  if (all && !Authorizer::MayReadWholeAudit(ctx)) {
    return PermissionDenied("listing every token needs the admin or auditor role");
  }
  std::vector<std::pair<store::TokenRecord, std::string>> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    int64_t id = 0;
    if (!all) {
      VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, who));
      id = p.id;
    }
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::TokenRecord> tokens, tx.ListTokens(id));
    for (auto& t : tokens) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipalById(t.principal_id));
      out.emplace_back(std::move(t), p ? p->name : "");
    }
    return OkStatus();
  }));
  return out;
}

Status IdentityService::RevokeToken(const RequestContext& ctx, int64_t token_id) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::TokenRecord> t, tx.FindTokenById(token_id));
    // Someone else's token is "not found", so that ids cannot be probed.
    if (!t || (t->principal_id != ctx.principal->id && !ctx.principal->is_admin)) {
      return NotFound(fmt::format("token {} not found", token_id));
    }
    if (t->revoked_ms) return change.Unchanged();  // already revoked
    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> owner, tx.FindPrincipalById(t->principal_id));
    VOUCH_TRY(tx.RevokeToken(token_id, ctx.Now()).status());
    AuditEvent e = NewEvent(ctx, Action::kTokenRevoked);
    e.target = {{"type", "token"}, {"id", token_id}, {"principal", owner ? owner->name : ""}};
    e.before = json::object{{"name", t->name}, {"revoked", false}};
    e.after = json::object{{"revoked", true}};
    return change.Record(std::move(e));
  });
}

Result<Group> IdentityService::CreateGroup(const RequestContext& ctx, std::string_view name,
                                           std::string_view description) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  VOUCH_TRY(ValidatePrincipalName("group", name));
  VOUCH_TRY(ValidateDisplayName(description));
  Group out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    Group g{.name = std::string(name),
            .description = std::string(description),
            .created_ms = ctx.Now()};
    Status inserted = tx.InsertGroup(g);
    if (inserted.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("group {} already exists", name));
    }
    VOUCH_TRY(inserted);
    AuditEvent e = NewEvent(ctx, Action::kGroupCreated);
    e.target = {{"type", "group"}, {"group", g.name}, {"id", g.id}};
    e.before = nullptr;
    e.after = json::object{{"name", g.name}, {"description", g.description}};
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(g);
    return OkStatus();
  }));
  return out;
}

Result<std::vector<Group>> IdentityService::ListGroups(const RequestContext& ctx) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  std::vector<Group> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, tx.ListGroups());
    return OkStatus();
  }));
  return out;
}

Result<GroupView> IdentityService::GetGroup(const RequestContext& ctx, std::string_view name) {
  if (!ctx.principal) return Unauthenticated("authentication required");
  GroupView out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(name));
    if (!g) return GroupNotFound(name);
    out.group = *g;
    VOUCH_ASSIGN_OR_RETURN(out.members, tx.GroupMembers(g->id));
    VOUCH_ASSIGN_OR_RETURN(std::vector<RoleGrant> grants, tx.ListRoleGrants());
    out.roles.clear();
    for (const auto& r : grants) {
      if (r.grantee.group_id == g->id) out.roles.push_back(r.role);
    }
    return OkStatus();
  }));
  return out;
}

Status IdentityService::DeleteGroup(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(name));
    if (!g) return GroupNotFound(name);
    VOUCH_TRY(tx.DeleteGrantsOf(Grantee{.group_id = g->id}));
    VOUCH_TRY(tx.MarkGroupDeleted(g->id, ctx.Now()));
    AuditEvent e = NewEvent(ctx, Action::kGroupDeleted);
    e.target = {{"type", "group"}, {"group", g->name}, {"id", g->id}};
    e.before = json::object{{"name", g->name}, {"description", g->description}};
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Status IdentityService::AddMember(const RequestContext& ctx, std::string_view group,
                                  std::string_view user) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(group));
    if (!g) return GroupNotFound(group);
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, user));
    VOUCH_ASSIGN_OR_RETURN(bool added, tx.AddGroupMember(g->id, p.id));
    if (!added) return change.Unchanged();
    AuditEvent e = NewEvent(ctx, Action::kGroupMemberAdded);
    e.target = {{"type", "group"}, {"group", g->name}, {"id", g->id}};
    e.before = nullptr;
    e.after = json::object{{"member", p.name}, {"member_id", p.id}};
    return change.Record(std::move(e));
  });
}

Status IdentityService::RemoveMember(const RequestContext& ctx, std::string_view group,
                                     std::string_view user) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(group));
    if (!g) return GroupNotFound(group);
    VOUCH_ASSIGN_OR_RETURN(Principal p, RequireUser(tx, user));
    VOUCH_ASSIGN_OR_RETURN(bool removed, tx.RemoveGroupMember(g->id, p.id));
    if (!removed) return change.Unchanged();
    AuditEvent e = NewEvent(ctx, Action::kGroupMemberRemoved);
    e.target = {{"type", "group"}, {"group", g->name}, {"id", g->id}};
    e.before = json::object{{"member", p.name}, {"member_id", p.id}};
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Status IdentityService::GrantRole(const RequestContext& ctx, std::string_view role,
                                  const GranteeName& to) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  VOUCH_TRY(ValidateRoleName(role));
  VOUCH_TRY(ValidateGranteeName(to));
  if (role == kRoleAdmin) {
    return InvalidArgument("admin is not granted as a role: make a user an admin (is_admin)");
  }
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Grantee g, ResolveGrantee(tx, to));
    VOUCH_ASSIGN_OR_RETURN(bool granted, tx.GrantRole(RoleGrant{std::string(role), g}));
    if (!granted) return change.Unchanged();
    AuditEvent e = NewEvent(ctx, Action::kRoleGranted);
    e.target = GrantTarget("role", "role", role, to);
    e.before = nullptr;
    e.after = json::object{{"role", std::string(role)}, {"grantee", GranteeJson(to)}};
    return change.Record(std::move(e));
  });
}

Status IdentityService::RevokeRole(const RequestContext& ctx, std::string_view role,
                                   const GranteeName& from) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  VOUCH_TRY(ValidateRoleName(role));
  VOUCH_TRY(ValidateGranteeName(from));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Grantee g, ResolveGrantee(tx, from));
    VOUCH_ASSIGN_OR_RETURN(bool revoked, tx.RevokeRole(RoleGrant{std::string(role), g}));
    if (!revoked) return change.Unchanged();
    AuditEvent e = NewEvent(ctx, Action::kRoleRevoked);
    e.target = GrantTarget("role", "role", role, from);
    e.before = json::object{{"role", std::string(role)}, {"grantee", GranteeJson(from)}};
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Result<std::vector<RoleGrantView>> IdentityService::ListRoles(const RequestContext& ctx) {
  if (!Authorizer::MayReadWholeAudit(ctx)) {
    return PermissionDenied("listing role grants needs the admin or auditor role");
  }
  std::vector<RoleGrantView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    VOUCH_ASSIGN_OR_RETURN(std::vector<RoleGrant> grants, tx.ListRoleGrants());
    VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.ListGroups());
    for (const auto& r : grants) {
      RoleGrantView v{.role = r.role};
      if (r.grantee.is_group()) {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& g) { return g.id == r.grantee.group_id; });
        if (it == groups.end()) continue;
        v.grantee_kind = "group";
        v.grantee = it->name;
      } else {
        VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p,
                               tx.FindPrincipalById(r.grantee.principal_id));
        if (!p || p->disabled) continue;
        v.grantee_kind = "user";
        v.grantee = p->name;
      }
      out.push_back(std::move(v));
    }
    // Admins hold the admin role by their flag.
    std::string after;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> batch, tx.ListPrincipals(after, 500));
      for (const auto& p : batch) {
        if (p.is_admin) out.push_back({std::string(kRoleAdmin), "user", p.name});
      }
      if (batch.size() < 500) break;
      after = batch.back().name;
    }
    return OkStatus();
  }));
  return out;
}

Result<IdentityService::GrantOnModel> IdentityService::ManagedGrant(store::Tx& tx,
                                                                    const RequestContext& ctx,
                                                                    std::string_view model,
                                                                    const GranteeName& who) const {
  VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kManage, true));
  GrantOnModel out{.model = std::move(m)};
  VOUCH_ASSIGN_OR_RETURN(out.grantee, ResolveGrantee(tx, who));
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelPermission> existing, tx.ModelPermissions(out.model.id));
  for (const auto& p : existing) {
    if (p.grantee.principal_id == out.grantee.principal_id &&
        p.grantee.group_id == out.grantee.group_id) {
      out.current = p.permission;
    }
  }
  return out;
}

Result<PermissionView> IdentityService::SetModelPermission(const RequestContext& ctx,
                                                           std::string_view model,
                                                           const GranteeName& to,
                                                           Permission permission) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_TRY(ValidateGranteeName(to));
  PermissionView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(GrantOnModel g, ManagedGrant(tx, ctx, model, to));
    out = {.model = g.model.name,
           .grantee_kind = to.group.empty() ? "user" : "group",
           .grantee = to.group.empty() ? to.user : to.group,
           .grantee_id = g.grantee.is_group() ? g.grantee.group_id : g.grantee.principal_id,
           .permission = permission};
    if (g.current == permission) return change.Unchanged();
    VOUCH_TRY(tx.SetModelPermission(
        {.model_id = g.model.id, .grantee = g.grantee, .permission = permission}));
    AuditEvent e = NewEvent(ctx, Action::kPermissionGranted);
    e.model_id = g.model.id;
    e.model_name = g.model.name;
    e.target = GrantTarget("model_permission", "model", g.model.name, to);
    e.before = g.current ? json::value(json::object{{"permission", PermissionName(*g.current)}})
                         : json::value(nullptr);
    e.after = json::object{{"permission", PermissionName(permission)}};
    return change.Record(std::move(e));
  }));
  return out;
}

Status IdentityService::DeleteModelPermission(const RequestContext& ctx, std::string_view model,
                                              const GranteeName& from) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_TRY(ValidateGranteeName(from));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(GrantOnModel g, ManagedGrant(tx, ctx, model, from));
    if (!g.current) {
      return NotFound(fmt::format("no permission on model {} for {}", g.model.name,
                                  from.group.empty() ? from.user : from.group));
    }
    VOUCH_TRY(tx.DeleteModelPermission(g.model.id, g.grantee).status());
    AuditEvent e = NewEvent(ctx, Action::kPermissionRevoked);
    e.model_id = g.model.id;
    e.model_name = g.model.name;
    e.target = GrantTarget("model_permission", "model", g.model.name, from);
    e.before = json::object{{"permission", PermissionName(*g.current)}};
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Result<std::vector<PermissionView>> IdentityService::ListModelPermissions(const RequestContext& ctx,
                                                                          std::string_view model) {
  std::vector<PermissionView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(std::vector<ModelPermission> grants, tx.ModelPermissions(m.id));
    VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.ListGroups());
    for (const auto& g : grants) {
      PermissionView v{.model = m.name, .permission = g.permission};
      if (g.grantee.is_group()) {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& x) { return x.id == g.grantee.group_id; });
        if (it == groups.end()) continue;
        v.grantee_kind = "group";
        v.grantee = it->name;
        v.grantee_id = it->id;
      } else {
        VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p,
                               tx.FindPrincipalById(g.grantee.principal_id));
        if (!p || p->disabled) continue;
        v.grantee_kind = "user";
        v.grantee = p->name;
        v.grantee_id = p->id;
      }
      out.push_back(std::move(v));
    }
    return OkStatus();
  }));
  return out;
}

Result<PermissionView> IdentityService::GetModelPermission(const RequestContext& ctx,
                                                           std::string_view model,
                                                           std::string_view user) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<PermissionView> all, ListModelPermissions(ctx, model));
  for (auto& v : all) {
    if (v.grantee_kind == "user" && v.grantee == user) return std::move(v);
  }
  return NotFound(fmt::format("Registered model permission with name={} and username={} not found",
                              model, user));
}

Result<Permission> IdentityService::EffectivePermission(const RequestContext& ctx,
                                                        std::string_view model) {
  Permission out = Permission::kNone;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelRow(tx, model));
    VOUCH_ASSIGN_OR_RETURN(out, authz_.Effective(tx, ctx, m));
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service

// The identity routes of the native API: users and service accounts, their passwords and tokens,
// groups, roles and per-model permissions. Each handler reads the request into IdentityService's
// arguments and writes its answer back; who may do what is the service's to decide.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"

namespace vouch::api::native {
namespace {

using service::GranteeName;
using service::IdentityService;

json::array Strings(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return a;
}

// The names of the groups with these ids, in the order of the group list (by name).
Result<std::vector<std::string>> GroupNames(IdentityService& identity, const RequestContext& ctx,
                                            const std::vector<int64_t>& ids) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, identity.ListGroups(ctx));
  std::vector<std::string> names;
  for (const auto& g : groups) {
    if (std::find(ids.begin(), ids.end(), g.id) != ids.end()) names.push_back(g.name);
  }
  return names;
}

Result<PrincipalKind> ParseKind(std::string_view text) {
  if (text == "user") return PrincipalKind::kUser;
  if (text == "service_account") return PrincipalKind::kServiceAccount;
  return InvalidArgument(fmt::format("kind must be user or service_account, got '{}'", text));
}

json::object PermissionJson(const service::PermissionView& v) {
  return {{"model", v.model},
          {"grantee_kind", v.grantee_kind},
          {"grantee", v.grantee},
          {"permission", PermissionName(v.permission)}};
}

// expires_at (RFC 3339) or expires_in ("30d"), at most one; nullopt for a token that never expires.
Result<std::optional<TimeMs>> Expiry(const json::object& body, TimeMs now) {
  VOUCH_ASSIGN_OR_RETURN(auto at, OptionalString(body, "expires_at"));
  VOUCH_ASSIGN_OR_RETURN(auto in, OptionalString(body, "expires_in"));
  if (at && in) return InvalidArgument("give expires_at or expires_in, not both");
  if (at) {
    VOUCH_ASSIGN_OR_RETURN(TimeMs t, ParseRfc3339(*at));
    return std::optional<TimeMs>(t);
  }
  if (in) {
    Result<TimeMs> d = ParseDurationMs(*in);
    if (!d.ok()) return d.status().WithContext("expires_in");
    if (*d > std::numeric_limits<TimeMs>::max() - now) {
      return InvalidArgument(fmt::format("expires_in '{}' is too far in the future", *in));
    }
    return std::optional<TimeMs>(now + *d);
  }
  return std::optional<TimeMs>();
}

GranteeName User(const Call& c) { return {.user = c.path.at("user")}; }
GranteeName GroupOf(const Call& c) { return {.group = c.path.at("group")}; }

// Users and service accounts.

Result<HttpResponse> CreateUser(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"name", "kind", "display_name", "email",
                                                     "password", "is_admin"}));
  service::UserArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(std::string kind, RequiredString(body, "kind"));
  VOUCH_ASSIGN_OR_RETURN(args.kind, ParseKind(kind));
  VOUCH_ASSIGN_OR_RETURN(auto display_name, OptionalString(body, "display_name"));
  VOUCH_ASSIGN_OR_RETURN(auto email, OptionalString(body, "email"));
  VOUCH_ASSIGN_OR_RETURN(auto password, OptionalString(body, "password"));
  VOUCH_ASSIGN_OR_RETURN(auto is_admin, OptionalBool(body, "is_admin"));
  args.display_name = display_name.value_or("");
  args.email = email.value_or("");
  args.password = password.value_or("");
  args.is_admin = is_admin.value_or(false);
  VOUCH_ASSIGN_OR_RETURN(Principal p, id.CreateUser(c.ctx, args));
  return Ok(UserJson(p, nullptr), 201);
}

Result<HttpResponse> ListUsers(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> users, id.ListUsers(c.ctx));
  json::array items;
  for (const auto& p : users) items.push_back(UserJson(p, nullptr));
  return Ok({{"users", std::move(items)}});
}

Result<HttpResponse> GetUser(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(Principal p, id.GetUser(c.ctx, c.path.at("name")));
  VOUCH_ASSIGN_OR_RETURN(std::vector<std::string> groups, GroupNames(id, c.ctx, p.group_ids));
  return Ok(UserJson(p, &groups));
}

Result<HttpResponse> UpdateUser(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"display_name", "email", "is_admin", "disabled"}));
  service::UserUpdate update;
  VOUCH_ASSIGN_OR_RETURN(update.display_name, OptionalString(body, "display_name"));
  VOUCH_ASSIGN_OR_RETURN(update.email, OptionalString(body, "email"));
  VOUCH_ASSIGN_OR_RETURN(update.is_admin, OptionalBool(body, "is_admin"));
  VOUCH_ASSIGN_OR_RETURN(update.disabled, OptionalBool(body, "disabled"));
  VOUCH_ASSIGN_OR_RETURN(Principal p, id.UpdateUser(c.ctx, c.path.at("name"), update));
  return Ok(UserJson(p, nullptr));
}

Result<HttpResponse> SetUserPassword(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"password", "current_password"}));
  VOUCH_ASSIGN_OR_RETURN(std::string password, RequiredString(body, "password"));
  VOUCH_ASSIGN_OR_RETURN(auto current, OptionalString(body, "current_password"));
  std::optional<std::string_view> current_view;
  if (current) current_view = *current;
  return Empty(id.SetPassword(c.ctx, c.path.at("name"), password, current_view));
}

Result<HttpResponse> DeleteUser(IdentityService& id, const Call& c) {
  return Empty(id.DeleteUser(c.ctx, c.path.at("name")));
}

// Tokens.

Result<HttpResponse> CreateToken(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"name", "scope", "expires_at", "expires_in", "owner"}));
  service::TokenArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(auto scope, OptionalString(body, "scope"));
  VOUCH_ASSIGN_OR_RETURN(auto owner, OptionalString(body, "owner"));
  VOUCH_ASSIGN_OR_RETURN(args.expires_ms, Expiry(body, c.ctx.Now()));
  if (scope) args.scope = *scope;
  args.owner = owner.value_or("");
  VOUCH_ASSIGN_OR_RETURN(service::IssuedToken issued, id.CreateToken(c.ctx, args));
  json::object o = TokenJson(issued.record, issued.owner);
  o["token"] = issued.token;
  return Ok(o, 201);
}

Result<HttpResponse> ListTokens(IdentityService& id, const Call& c) {
  const std::string* owner = c.query.First("owner");
  VOUCH_ASSIGN_OR_RETURN(auto tokens, id.ListTokens(c.ctx, owner ? *owner : ""));
  json::array items;
  for (const auto& [record, name] : tokens) items.push_back(TokenJson(record, name));
  return Ok({{"tokens", std::move(items)}});
}

Result<HttpResponse> RevokeToken(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t token_id, ParseInt("token id", c.path.at("id")));
  return Empty(id.RevokeToken(c.ctx, token_id));
}

// Groups.

Result<HttpResponse> CreateGroup(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"name", "description"}));
  VOUCH_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  VOUCH_ASSIGN_OR_RETURN(Group g, id.CreateGroup(c.ctx, name, description.value_or("")));
  return Ok(GroupJson(g), 201);
}

Result<HttpResponse> ListGroups(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, id.ListGroups(c.ctx));
  json::array items;
  for (const auto& g : groups) items.push_back(GroupJson(g));
  return Ok({{"groups", std::move(items)}});
}

Result<HttpResponse> GetGroup(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(service::GroupView v, id.GetGroup(c.ctx, c.path.at("group")));
  json::object o = GroupJson(v.group);
  json::array members;
  for (const auto& p : v.members) members.emplace_back(p.name);
  o["members"] = std::move(members);
  o["roles"] = Strings(v.roles);
  return Ok(o);
}

Result<HttpResponse> DeleteGroup(IdentityService& id, const Call& c) {
  return Empty(id.DeleteGroup(c.ctx, c.path.at("group")));
}

Result<HttpResponse> AddMember(IdentityService& id, const Call& c) {
  return Empty(id.AddMember(c.ctx, c.path.at("group"), c.path.at("user")));
}

Result<HttpResponse> RemoveMember(IdentityService& id, const Call& c) {
  return Empty(id.RemoveMember(c.ctx, c.path.at("group"), c.path.at("user")));
}

// Roles.

Result<HttpResponse> ListRoles(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<service::RoleGrantView> grants, id.ListRoles(c.ctx));
  json::array items;
  for (const auto& g : grants) {
    items.push_back(
        json::object{{"role", g.role}, {"grantee_kind", g.grantee_kind}, {"grantee", g.grantee}});
  }
  return Ok({{"roles", std::move(items)}});
}

// PUT and DELETE /roles/{role}/{users|groups}/{grantee}.
template <GranteeName (*kGrantee)(const Call&)>
Result<HttpResponse> GrantRole(IdentityService& id, const Call& c) {
  return Empty(id.GrantRole(c.ctx, c.path.at("role"), kGrantee(c)));
}

template <GranteeName (*kGrantee)(const Call&)>
Result<HttpResponse> RevokeRole(IdentityService& id, const Call& c) {
  return Empty(id.RevokeRole(c.ctx, c.path.at("role"), kGrantee(c)));
}

// Per-model permissions.

Result<HttpResponse> ListModelPermissions(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<service::PermissionView> grants,
                         id.ListModelPermissions(c.ctx, c.path.at("name")));
  json::array items;
  for (const auto& v : grants) items.push_back(PermissionJson(v));
  return Ok({{"permissions", std::move(items)}});
}

Result<HttpResponse> MyModelPermission(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(Permission p, id.EffectivePermission(c.ctx, c.path.at("name")));
  return Ok({{"model", c.path.at("name")},
             {"user", c.ctx.principal->name},
             {"permission", PermissionName(p)}});
}

// PUT …/permissions/{users|groups}/{grantee} with {"permission"}.
template <GranteeName (*kGrantee)(const Call&)>
Result<HttpResponse> SetModelPermission(IdentityService& id, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"permission"}));
  VOUCH_ASSIGN_OR_RETURN(std::string text, RequiredString(body, "permission"));
  VOUCH_ASSIGN_OR_RETURN(Permission permission, ParsePermission(text));
  VOUCH_ASSIGN_OR_RETURN(service::PermissionView v,
                         id.SetModelPermission(c.ctx, c.path.at("name"), kGrantee(c), permission));
  return Ok(PermissionJson(v));
}

template <GranteeName (*kGrantee)(const Call&)>
Result<HttpResponse> DeleteModelPermission(IdentityService& id, const Call& c) {
  return Empty(id.DeleteModelPermission(c.ctx, c.path.at("name"), kGrantee(c)));
}

struct Endpoint {
  std::string_view method;
  std::string_view path;  // below kPrefix
  Access access;
  Result<HttpResponse> (*handler)(IdentityService&, const Call&);
};

// Who may do what is the service's to decide; each route declares it for docs/openapi.yaml's
// x-vouch-access. A principal may read and change itself, so only creating, listing and deleting
// users are declared for admins; tokens are one's own (admins: anyone's); anyone may read groups.
constexpr Endpoint kEndpoints[] = {
    // Users and service accounts.
    {"POST", "/users", Access::kAdmin, CreateUser},
    {"GET", "/users", Access::kAdmin, ListUsers},
    {"GET", "/users/{name}", Access::kAuthenticated, GetUser},
    {"PATCH", "/users/{name}", Access::kAuthenticated, UpdateUser},
    {"PUT", "/users/{name}/password", Access::kAuthenticated, SetUserPassword},
    {"DELETE", "/users/{name}", Access::kAdmin, DeleteUser},
    // Tokens.
    {"POST", "/tokens", Access::kAuthenticated, CreateToken},
    {"GET", "/tokens", Access::kAuthenticated, ListTokens},
    {"DELETE", "/tokens/{id}", Access::kAuthenticated, RevokeToken},
    // Groups.
    {"POST", "/groups", Access::kAdmin, CreateGroup},
    {"GET", "/groups", Access::kAuthenticated, ListGroups},
    {"GET", "/groups/{group}", Access::kAuthenticated, GetGroup},
    {"DELETE", "/groups/{group}", Access::kAdmin, DeleteGroup},
    {"PUT", "/groups/{group}/members/{user}", Access::kAdmin, AddMember},
    {"DELETE", "/groups/{group}/members/{user}", Access::kAdmin, RemoveMember},
    // Roles.
    {"GET", "/roles", Access::kAdmin, ListRoles},
    {"PUT", "/roles/{role}/users/{user}", Access::kAdmin, GrantRole<User>},
    {"DELETE", "/roles/{role}/users/{user}", Access::kAdmin, RevokeRole<User>},
    {"PUT", "/roles/{role}/groups/{group}", Access::kAdmin, GrantRole<GroupOf>},
    {"DELETE", "/roles/{role}/groups/{group}", Access::kAdmin, RevokeRole<GroupOf>},
    // Per-model permissions. What the caller may do ("me"): any principal may ask, even one the
    // model is closed to.
    {"GET", "/models/{name}/permissions", Access::kModelRead, ListModelPermissions},
    {"GET", "/models/{name}/permissions/me", Access::kAuthenticated, MyModelPermission},
    {"PUT", "/models/{name}/permissions/users/{user}", Access::kModelManage,
     SetModelPermission<User>},
    {"PUT", "/models/{name}/permissions/groups/{group}", Access::kModelManage,
     SetModelPermission<GroupOf>},
    {"DELETE", "/models/{name}/permissions/users/{user}", Access::kModelManage,
     DeleteModelPermission<User>},
    {"DELETE", "/models/{name}/permissions/groups/{group}", Access::kModelManage,
     DeleteModelPermission<GroupOf>},
};

}  // namespace

json::object UserJson(const Principal& p, const std::vector<std::string>* groups) {
  json::object o{{"id", p.id},
                 {"name", p.name},
                 {"kind", PrincipalKindName(p.kind)},
                 {"display_name", p.display_name},
                 {"email", p.email},
                 {"is_admin", p.is_admin},
                 {"disabled", p.disabled},
                 {"creation_timestamp", p.created_ms}};
  if (groups != nullptr) {
    o["roles"] = Strings(p.roles);
    o["groups"] = Strings(*groups);
  }
  return o;
}

json::object TokenJson(const store::TokenRecord& t, std::string_view owner) {
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"owner", owner},
                 {"scope", t.scope},
                 {"creation_timestamp", t.created_ms}};
  if (t.expires_ms) o["expiration_timestamp"] = *t.expires_ms;
  if (t.last_used_ms) o["last_used_timestamp"] = *t.last_used_ms;
  if (t.revoked_ms) o["revocation_timestamp"] = *t.revoked_ms;
  return o;
}

json::object GroupJson(const Group& g) {
  return {{"id", g.id},
          {"name", g.name},
          {"description", g.description},
          {"creation_timestamp", g.created_ms}};
}

Result<HttpResponse> WhoamiResult(const Call& c, IdentityService* identity) {
  const Principal& p = *c.ctx.principal;
  json::object o{{"id", p.id},
                 {"name", p.name},
                 {"kind", PrincipalKindName(p.kind)},
                 {"display_name", p.display_name},
                 {"email", p.email},
                 {"is_admin", p.is_admin},
                 {"auth", AuthMethodName(c.ctx.auth)},
                 {"roles", Strings(p.roles)}};
  if (identity != nullptr) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<std::string> groups,
                           GroupNames(*identity, c.ctx, p.group_ids));
    o["groups"] = Strings(groups);
  }
  if (c.ctx.auth == AuthMethod::kToken) {
    o["token_scope"] = c.ctx.read_only ? kScopeRead : kScopeFull;
  }
  return Ok(o);
}

void RegisterIdentityRoutes(Router& router, IdentityService& identity) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&identity, handler](const Call& c) { return handler(identity, c); });
  }
}

}  // namespace vouch::api::native

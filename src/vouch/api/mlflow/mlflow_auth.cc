#include "vouch/api/mlflow/mlflow_auth.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <span>

#include "vouch/api/mlflow/mlflow_api.h"
#include "vouch/api/mlflow/request_fields.h"
#include "vouch/util/text.h"

namespace vouch::api::mlflow {
namespace {

using service::GranteeName;
using service::IdentityService;
using service::PermissionView;

constexpr std::string_view kV2Prefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};
constexpr std::string_view kV3Prefixes[] = {"/api/3.0/mlflow", "/ajax-api/3.0/mlflow"};

constexpr FieldSpec kUsername{"username", FieldType::kString, true};
constexpr FieldSpec kPassword{"password", FieldType::kString, true, true};
constexpr FieldSpec kCurrentPassword{"current_password", FieldType::kString, false, true};
constexpr FieldSpec kIsAdmin{"is_admin", FieldType::kBool, true};
constexpr FieldSpec kModelName{"name", FieldType::kString, true};
constexpr FieldSpec kPermission{"permission", FieldType::kString, true};
constexpr FieldSpec kResourceType{"resource_type", FieldType::kString, true};
constexpr FieldSpec kResourceId{"resource_id", FieldType::kString, true};

constexpr std::string_view kRegisteredModel = "registered_model";

// The resource types MLflow 3.x knows (mlflow/server/auth/permissions.py TYPE) that are not models.
constexpr std::string_view kOtherMlflowTypes[] = {"experiment",
                                                  "prompt",
                                                  "scorer",
                                                  "gateway_secret",
                                                  "gateway_endpoint",
                                                  "gateway_model_definition",
                                                  "mcp_server",
                                                  "run",
                                                  "trace",
                                                  "assessment",
                                                  "logged_model",
                                                  "review_queue",
                                                  "registered_model_version",
                                                  "prompt_version",
                                                  "scorer_version",
                                                  "mcp_server_version"};

HttpResponse Ok(const json::object& o) { return HttpResponse::Json(200, SerializeJson(o)); }

Result<HttpResponse> Empty(const Status& s) {
  if (!s.ok()) return s;
  return Ok({});
}

// Users.

Result<HttpResponse> CreateUser(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kUsername, kPassword}));
  VOUCH_ASSIGN_OR_RETURN(Principal p, ids.CreateUser(c.ctx, {.name = f.String("username"),
                                                             .password = f.String("password")}));
  return Ok({{"user", UserJson(p)}});
}

Result<HttpResponse> GetUser(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kUsername}));
  VOUCH_ASSIGN_OR_RETURN(Principal p, ids.GetUser(c.ctx, f.String("username")));
  return Ok({{"user", UserJson(p)}});
}

Result<HttpResponse> UpdatePassword(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kUsername, kPassword, kCurrentPassword}));
  const std::string current = f.String("current_password");
  std::optional<std::string_view> given;
  if (f.Has("current_password")) given = current;
  return Empty(ids.SetPassword(c.ctx, f.String("username"), f.String("password"), given));
}

Result<HttpResponse> UpdateAdmin(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kUsername, kIsAdmin}));
  return Empty(
      ids.UpdateUser(c.ctx, f.String("username"), {.is_admin = f.Bool("is_admin")}).status());
}

Result<HttpResponse> DeleteUser(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kUsername}));
  return Empty(ids.DeleteUser(c.ctx, f.String("username")));
}

// Per-model grants.

// Gives `user` its own grant on `model` when it has none. When it has one, the answer is
// ALREADY_EXISTS (MLflow's create and grant do not overwrite) — but only after the service has
// judged the caller: setting the grant to what it already is changes nothing and records nothing,
// and is refused to a caller that may not manage the model, so the door decides nothing itself.
Result<PermissionView> CreateGrant(IdentityService& ids, const RequestContext& ctx,
                                   const std::string& model, const std::string& user,
                                   Permission permission, std::string exists_message) {
  Result<PermissionView> existing = ids.GetModelPermission(ctx, model, user);
  if (existing.ok()) {
    VOUCH_TRY(ids.SetModelPermission(ctx, model, {.user = user}, existing->permission).status());
    return AlreadyExists(std::move(exists_message));
  }
  // NOT_FOUND: no grant yet, or no such model or user, which the service names below.
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  return ids.SetModelPermission(ctx, model, {.user = user}, permission);
}

Result<HttpResponse> CreateModelPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kModelName, kUsername, kPermission}));
  VOUCH_ASSIGN_OR_RETURN(Permission permission, ParsePermission(f.String("permission")));
  const std::string model = f.String("name"), user = f.String("username");
  VOUCH_ASSIGN_OR_RETURN(
      PermissionView v,
      CreateGrant(ids, c.ctx, model, user, permission,
                  fmt::format("Registered model permission (name={}, username={}) already exists.",
                              model, user)));
  return Ok({{"registered_model_permission", ModelPermissionJson(v)}});
}

Result<HttpResponse> GetModelPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kModelName, kUsername}));
  VOUCH_ASSIGN_OR_RETURN(PermissionView v,
                         ids.GetModelPermission(c.ctx, f.String("name"), f.String("username")));
  return Ok({{"registered_model_permission", ModelPermissionJson(v)}});
}

// MLflow's update changes an existing grant only (RESOURCE_DOES_NOT_EXIST otherwise).
Result<HttpResponse> UpdateModelPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kModelName, kUsername, kPermission}));
  VOUCH_ASSIGN_OR_RETURN(Permission permission, ParsePermission(f.String("permission")));
  const std::string model = f.String("name"), user = f.String("username");
  VOUCH_TRY(ids.GetModelPermission(c.ctx, model, user).status());
  return Empty(ids.SetModelPermission(c.ctx, model, {.user = user}, permission).status());
}

Result<HttpResponse> DeleteModelPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kModelName, kUsername}));
  return Empty(ids.DeleteModelPermission(c.ctx, f.String("name"), {.user = f.String("username")}));
}

// The 3.x per-user API.

Result<HttpResponse> GrantUserPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f, RequestFields::Read(c, {kUsername, kResourceType,
                                                                  kResourceId, kPermission}));
  const std::string user = f.String("username"), type = f.String("resource_type"),
                    model = f.String("resource_id");
  VOUCH_TRY(CheckResourceType(type, model));
  VOUCH_ASSIGN_OR_RETURN(Permission permission, ParseGrantPermission(f.String("permission")));
  return Empty(CreateGrant(ids, c.ctx, model, user, permission,
                           fmt::format("Permission for user={} on resource_type={}, "
                                       "resource_id={} already exists.",
                                       user, type, model))
                   .status());
}

Result<HttpResponse> RevokeUserPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kUsername, kResourceType, kResourceId}));
  const std::string model = f.String("resource_id");
  VOUCH_TRY(CheckResourceType(f.String("resource_type"), model));
  return Empty(ids.DeleteModelPermission(c.ctx, model, {.user = f.String("username")}));
}

// What the user may do on the model, every rule applied: the service's answer for a context that
// is that user. Reading another user takes what GetUser takes (the admin or auditor role).
Result<HttpResponse> GetUserPermission(IdentityService& ids, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(RequestFields f,
                         RequestFields::Read(c, {kUsername, kResourceType, kResourceId}));
  const std::string model = f.String("resource_id");
  VOUCH_TRY(CheckResourceType(f.String("resource_type"), model));
  VOUCH_ASSIGN_OR_RETURN(Principal user, ids.GetUser(c.ctx, f.String("username")));
  RequestContext as_user = c.ctx;
  as_user.principal = std::move(user);
  as_user.read_only = false;
  VOUCH_ASSIGN_OR_RETURN(Permission p, ids.EffectivePermission(as_user, model));
  // `allowed` is MLflow's can_use: USE or more.
  return Ok({{"allowed", Allows(p, Permission::kUse)}, {"permission", PermissionName(p)}});
}

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  Result<HttpResponse> (*handler)(IdentityService&, const Call&);
};

// Paths below /api/2.0/mlflow and /ajax-api/2.0/mlflow (auth/routes.py), with what each needs in
// the service: admins administer users; a user reads itself and changes its own password; grants
// are made and removed by whoever has MANAGE on the model, and read with READ on it.
constexpr Endpoint kV2Endpoints[] = {
    {"POST", "users/create", Access::kAdmin, CreateUser},
    {"GET", "users/get", Access::kAuthenticated, GetUser},
    {"PATCH", "users/update-password", Access::kAuthenticated, UpdatePassword},
    {"PATCH", "users/update-admin", Access::kAdmin, UpdateAdmin},
    {"DELETE", "users/delete", Access::kAdmin, DeleteUser},
    {"POST", "registered-models/permissions/create", Access::kModelManage, CreateModelPermission},
    {"GET", "registered-models/permissions/get", Access::kModelRead, GetModelPermission},
    {"PATCH", "registered-models/permissions/update", Access::kModelManage, UpdateModelPermission},
    {"DELETE", "registered-models/permissions/delete", Access::kModelManage, DeleteModelPermission},
};

// Below /api/3.0/mlflow and /ajax-api/3.0/mlflow. Reading a user's permission is for itself, and
// for admins and auditors.
constexpr Endpoint kV3Endpoints[] = {
    {"POST", "users/permissions/grant", Access::kModelManage, GrantUserPermission},
    {"POST", "users/permissions/revoke", Access::kModelManage, RevokeUserPermission},
    {"GET", "users/permissions/get", Access::kAuthenticated, GetUserPermission},
};

void AddAll(Router& router, IdentityService& identity, std::string_view prefix,
            std::span<const Endpoint> endpoints) {
  for (const Endpoint& e : endpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}/{}", prefix, e.path), e.access, Door::kMlflow,
               [&identity, handler](const Call& c) { return handler(identity, c); });
  }
}

}  // namespace

json::object UserJson(const Principal& p) {
  return {{"id", p.id},
          {"username", p.name},
          {"is_admin", p.is_admin},
          {"experiment_permissions", json::array()},
          {"registered_model_permissions", json::array()}};
}

json::object ModelPermissionJson(const PermissionView& v) {
  return {
      {"name", v.model}, {"user_id", v.grantee_id}, {"permission", PermissionName(v.permission)}};
}

Status CheckResourceType(std::string_view resource_type, std::string_view resource_id) {
  if (resource_type == kRegisteredModel) {
    if (resource_id == "*") {
      return Status(StatusCode::kUnimplemented,
                    "vouch has no wildcard grants (resource_id '*'): a model on which a user has "
                    "no grant of its own or through a group gets the server's "
                    "--default-permission");
    }
    return OkStatus();
  }
  if (resource_type == "workspace") {
    return InvalidArgument(
        "resource_type 'workspace' is not supported by the per-user permission convenience "
        "APIs.");
  }
  if (std::find(std::begin(kOtherMlflowTypes), std::end(kOtherMlflowTypes), resource_type) !=
      std::end(kOtherMlflowTypes)) {
    return Status(StatusCode::kUnimplemented,
                  fmt::format("resource_type '{}' is not served by vouch, a model registry: "
                              "permissions exist only for resource_type 'registered_model'",
                              resource_type));
  }
  return InvalidArgument(fmt::format(
      "Invalid resource type '{}'. vouch serves permissions for resource_type 'registered_model'.",
      resource_type));
}

Result<Permission> ParseGrantPermission(std::string_view text) {
  if (EqualsIgnoreCase(text, "DENY")) return Permission::kNone;
  Result<Permission> p = ParsePermission(text);
  if (!p.ok()) {
    return InvalidArgument(
        fmt::format("Invalid permission '{}'. Valid permissions are: READ, USE, EDIT, MANAGE, DENY "
                    "(NO_PERMISSIONS is taken for DENY)",
                    text));
  }
  return p;
}

void RegisterAuthRoutes(Router& router, IdentityService& identity) {
  // The v2 prefixes are RegisterRoutes' too; declaring them twice is harmless (the first wins).
  router.AddDoor(MlflowDoor({kV2Prefixes[0], kV2Prefixes[1], kV3Prefixes[0], kV3Prefixes[1]}));
  for (std::string_view prefix : kV2Prefixes) AddAll(router, identity, prefix, kV2Endpoints);
  for (std::string_view prefix : kV3Prefixes) AddAll(router, identity, prefix, kV3Endpoints);
}

}  // namespace vouch::api::mlflow

#include "vouch/service/authorizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace vouch::service {
namespace {

bool IsAuditor(const RequestContext& ctx) { return ctx.principal->HasRole(kRoleAuditor); }

}  // namespace

Permission Authorizer::FromGrants(const RequestContext& ctx,
                                  const std::vector<ModelPermission>& grants) const {
  std::optional<Permission> own;
  std::optional<Permission> best_group;
  for (const auto& g : grants) {
    if (!g.grantee.is_group() && g.grantee.principal_id == ctx.principal->id) {
      own = g.permission;
    } else if (g.grantee.is_group()) {
      if (!best_group || Allows(g.permission, *best_group)) best_group = g.permission;
    }
  }
  Permission p = own ? *own : best_group ? *best_group : default_;
  if (IsAuditor(ctx) && !Allows(p, Permission::kRead)) p = Permission::kRead;
  return p;
}

Result<Permission> Authorizer::Effective(store::Tx& tx, const RequestContext& ctx,
                                         const Model& model) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (ctx.principal->is_admin) return Permission::kManage;
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelPermission> grants,
                         tx.ModelPermissionsFor(model.id, ctx.principal->id));
  return FromGrants(ctx, grants);
}

Status Authorizer::Require(store::Tx& tx, const RequestContext& ctx, const Model& model,
                           Permission need) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (ctx.read_only && !Allows(Permission::kRead, need)) {
    return PermissionDenied(
        fmt::format("this token is read-only; {} on model '{}' needs a token of scope full",
                    PermissionName(need), model.name));
  }
  VOUCH_ASSIGN_OR_RETURN(Permission have, Effective(tx, ctx, model));
  if (!Allows(have, need)) {
    return PermissionDenied(fmt::format("{} needs {} permission on model '{}' (has {})",
                                        ctx.principal->name, PermissionName(need), model.name,
                                        PermissionName(have)));
  }
  return OkStatus();
}

Result<std::function<bool(int64_t)>> Authorizer::ReadableModels(store::Tx& tx,
                                                                const RequestContext& ctx) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (ctx.principal->is_admin || IsAuditor(ctx)) {
    return std::function<bool(int64_t)>([](int64_t) { return true; });
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelPermission> grants, tx.PermissionsFor(ctx.principal->id));
  std::map<int64_t, std::vector<ModelPermission>> by_model;
  for (auto& g : grants) by_model[g.model_id].push_back(std::move(g));
  std::map<int64_t, bool> decided;
  for (const auto& [model_id, list] : by_model) {
    decided[model_id] = Allows(FromGrants(ctx, list), Permission::kRead);
  }
  const bool by_default = Allows(default_, Permission::kRead);
  return std::function<bool(int64_t)>([decided = std::move(decided), by_default](int64_t id) {
    auto it = decided.find(id);
    return it == decided.end() ? by_default : it->second;
  });
}

Status Authorizer::RequireWrite(const RequestContext& ctx) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  if (ctx.read_only) {
    return PermissionDenied("this token is read-only; the change needs a token of scope full");
  }
  return OkStatus();
}

Status Authorizer::RequireAdmin(const RequestContext& ctx) const {
  VOUCH_TRY(RequireWrite(ctx));
  if (!ctx.principal->is_admin) {
    return PermissionDenied(
        fmt::format("{} is not an admin; only admins manage identities", ctx.principal->name));
  }
  return OkStatus();
}

bool Authorizer::MayReadWholeAudit(const RequestContext& ctx) {
  return ctx.principal && (ctx.principal->is_admin || IsAuditor(ctx));
}

}  // namespace vouch::service

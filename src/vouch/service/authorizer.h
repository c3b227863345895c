// Who may do what: the one place vouch's permission rules live. Every door reaches them through
// the service, so the MLflow door, the native API, the CLI and the UI answer alike.
//
// A principal's permission on a model:
//   - admins (is_admin) have MANAGE on every model;
//   - otherwise its own grant on the model, when it has one (NO_PERMISSIONS included: an own grant
//     overrides what its groups have);
//   - otherwise the highest grant any of its groups has on the model;
//   - otherwise the server's default for authenticated principals (--default-permission, READ
//     unless set), the same as MLflow's auth app;
//   - auditors have at least READ.
// A token of scope "read" allows nothing above READ, whatever its owner may do.
// Thread-safe (immutable).
#pragma once

#include <functional>
#include <string_view>

#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"
#include "vouch/store/store.h"

namespace vouch::service {

class Authorizer {
 public:
  explicit Authorizer(Permission default_permission = Permission::kRead)
      : default_(default_permission) {}

  Permission default_permission() const { return default_; }

  // The caller's permission on `model` (the rules above).
  Result<Permission> Effective(store::Tx& tx, const RequestContext& ctx, const Model& model) const;

  // OK when the caller has `need` on `model`; PERMISSION_DENIED naming the model and the level
  // otherwise (or UNAUTHENTICATED without a principal).
  Status Require(store::Tx& tx, const RequestContext& ctx, const Model& model,
                 Permission need) const;

  // For searches and lists: whether the caller may READ a model, by id, decided from the caller's
  // grants read once. Admins and auditors read everything.
  Result<std::function<bool(int64_t model_id)>> ReadableModels(store::Tx& tx,
                                                               const RequestContext& ctx) const;

  // For changes that are not on one model (creating a model): an authenticated principal whose
  // token may write. PERMISSION_DENIED for a read-scoped token.
  Status RequireWrite(const RequestContext& ctx) const;

  // Identity administration: admins only. PERMISSION_DENIED otherwise (also for read tokens).
  Status RequireAdmin(const RequestContext& ctx) const;

  // The whole audit log: admins and auditors.
  static bool MayReadWholeAudit(const RequestContext& ctx);

 private:
  Permission FromGrants(const RequestContext& ctx,
                        const std::vector<ModelPermission>& grants) const;

  const Permission default_;
};

}  // namespace vouch::service

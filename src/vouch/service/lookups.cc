#include "vouch/service/lookups.h"

#include <fmt/format.h>

#include <optional>

namespace vouch::service {

Status ModelNotFound(std::string_view name) {
  return NotFound(fmt::format("Registered Model with name={} not found", name));
}

Status VersionNotFound(std::string_view name, int64_t version) {
  return NotFound(fmt::format("Model Version (name={}, version={}) not found", name, version));
}

Result<Model> ModelRow(store::Tx& tx, std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(name));
  if (!m) return ModelNotFound(name);
  return std::move(*m);
}

Result<Model> ModelFor(store::Tx& tx, const Authorizer& authz, const RequestContext& ctx,
                       std::string_view name, Permission need, bool row_only) {
  VOUCH_ASSIGN_OR_RETURN(Model m, ModelRow(tx, name));
  VOUCH_TRY(authz.Require(tx, ctx, m, need));
  if (!row_only) VOUCH_TRY(tx.LoadModelDetails(m));
  return m;
}

Result<ModelVersion> RequireVersion(store::Tx& tx, const Model& m, int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, tx.FindVersion(m.id, version));
  if (!v) return VersionNotFound(m.name, version);
  return std::move(*v);
}

Result<Principal> RequireUser(store::Tx& tx, std::string_view name) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipal(name));
  if (!p) return NotFound(fmt::format("user {} not found", name));
  return std::move(*p);
}

}  // namespace vouch::service

// Lookups every service shares, with the errors MLflow's clients match on: a model by name (once
// the caller is found to have the permission it needs), a version of it, a principal by name.
#pragma once

#include <cstdint>
#include <string_view>

#include "vouch/domain/identity.h"
#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"
#include "vouch/service/authorizer.h"
#include "vouch/store/store.h"

namespace vouch::service {

// NOT_FOUND "Registered Model with name=X not found".
Status ModelNotFound(std::string_view name);
// NOT_FOUND "Model Version (name=X, version=N) not found".
Status VersionNotFound(std::string_view name, int64_t version);

// The live model `name` (ModelNotFound), once `authz` finds that the caller has `need` on it
// (PERMISSION_DENIED). The row is read first, so that a denied caller never has the model's
// details loaded for it; `row_only` skips them (tags, aliases) for the allowed caller too.
Result<Model> ModelFor(store::Tx& tx, const Authorizer& authz, const RequestContext& ctx,
                       std::string_view name, Permission need, bool row_only);
// The live model `name`'s row, without a permission check (ModelNotFound).
Result<Model> ModelRow(store::Tx& tx, std::string_view name);
// Live version `version` of `m` (VersionNotFound).
Result<ModelVersion> RequireVersion(store::Tx& tx, const Model& m, int64_t version);
// The live principal `name`: NOT_FOUND "user X not found".
Result<Principal> RequireUser(store::Tx& tx, std::string_view name);

}  // namespace vouch::service

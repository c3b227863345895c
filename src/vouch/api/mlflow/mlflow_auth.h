// MLflow's basic-auth app API (mlflow/server/auth: routes.py, client.py) on vouch's identity
// service, so that `mlflow.server.get_app_client("basic-auth", …)` works against vouch:
//   - users: create, get, update-password, update-admin, delete (/api/2.0/mlflow/users/…);
//   - per-model grants as MLflow 2.x names them (/api/2.0/mlflow/registered-models/permissions/
//     create, get, update, delete) and as the 3.x client does (/api/3.0/mlflow/users/permissions/
//     grant, revoke, get, for resource_type "registered_model");
// each also under /ajax-api/. A translation and nothing more: who may do what, validation and the
// audit events are the service's (identity_service.h). Errors are MLflow's {"error_code",
// "message"} (mlflow_api.h MlflowError).
#pragma once

#include <string_view>

#include "vouch/api/router.h"
#include "vouch/domain/identity.h"
#include "vouch/service/identity_service.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {

// RegisterAuthRoutes (the routes below) is declared in mlflow_api.h beside RegisterRoutes.

// A user as both MLflow clients read it (auth/entities.py User.from_json): id, username, is_admin,
// and the empty experiment_permissions and registered_model_permissions the 2.x client requires.
json::object UserJson(const Principal& p);

// A grant as MLflow's RegisteredModelPermission.to_json writes it: name, user_id, permission.
json::object ModelPermissionJson(const service::PermissionView& v);

// The 3.x per-user API's resource: OK for resource_type "registered_model" with a model name.
// INVALID_ARGUMENT for "workspace" and for a type MLflow does not know; UNIMPLEMENTED (501) for a
// type MLflow knows and vouch does not serve (experiment, prompt, scorer, …) and for the wildcard
// resource_id "*" (vouch has no wildcard grants: --default-permission is the rule for models
// without one).
Status CheckResourceType(std::string_view resource_type, std::string_view resource_id);

// A permission for the 3.x grant: READ, USE, EDIT, MANAGE, and DENY (an explicit nothing: vouch's
// NO_PERMISSIONS, which overrides the default and group grants) or NO_PERMISSIONS itself.
// INVALID_ARGUMENT otherwise, naming the accepted values.
Result<Permission> ParseGrantPermission(std::string_view text);

}  // namespace vouch::api::mlflow

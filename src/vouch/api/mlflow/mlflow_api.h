// The MLflow-compatible REST door: every Model Registry endpoint of MLflow's REST API under
// /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/, so that mlflow.MlflowClient pointed at vouch works
// unchanged. Translates MLflow's wire format (proto JSON) to service calls and back; holds no
// rules of its own (docs/design.md invariant 7). Errors are {"error_code","message"} with MLflow's
// statuses from the one error table.
#pragma once

#include <initializer_list>
#include <string_view>

#include "vouch/api/router.h"
#include "vouch/service/registry.h"
#include "vouch/util/json_writer.h"

namespace vouch::service {
class IdentityService;
}  // namespace vouch::service

namespace vouch::api::mlflow {

// Registers the registry endpoints under both prefixes, authenticated, and the MLflow error
// renderer for both prefixes. `registry` must outlive the router.
void RegisterRoutes(Router& router, service::RegistryService& registry);

// Registers MLflow's basic-auth app API (users and model permissions) on `identity`, and the MLflow
// error renderer for the /api/3.0/mlflow prefixes; see mlflow_auth.h. `identity` must outlive the
// router.
void RegisterAuthRoutes(Router& router, service::IdentityService& identity);

// The MLflow door for paths under `prefixes`: errors by MlflowError, credentials in the
// Authorization header (Basic, as MLflow's auth app takes them, or a vouch token as Bearer).
DoorSpec MlflowDoor(std::initializer_list<std::string_view> prefixes);

// The MLflow error body and status for `status` (shared with tests). A 401 carries
// `WWW-Authenticate: Basic realm="mlflow"`, as MLflow's auth app answers.
HttpResponse MlflowError(const Status& status, const RequestContext& ctx);

// The proto-JSON forms MLflow's server emits (mlflow/entities/model_registry/*.py to_proto):
// unset fields left out; `version` a string; timestamps numbers.
// `with_aliases`: MLflow lists a version's aliases in single-version answers, not inside search
// results or a model's latest_versions.
// Each writes one object into `w` as the value in place (after a Key, or in an array).
void WriteVersion(JsonWriter& w, const ModelVersion& v, bool with_aliases);
void WriteModel(JsonWriter& w, const Model& m, const std::vector<ModelVersion>& latest_versions);

}  // namespace vouch::api::mlflow

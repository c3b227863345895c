// The native REST API under /api/v1 (docs/api.md, docs/openapi.yaml), plus /health and /ready.
// Translates JSON and paths to service calls and back; holds no rules of its own.
#pragma once

#include <functional>

#include "vouch/api/router.h"
#include "vouch/service/registry.h"

namespace vouch::api::native {

// Registers every native route and the native error renderer. `ready` reports the store's state.
void RegisterRoutes(Router& router, service::RegistryService& registry,
                    std::function<Status()> ready);

// GET /metrics for any authenticated principal: `metrics()` in Prometheus' text format.
void RegisterMetricsRoute(Router& router, std::function<std::vector<store::StoreMetric>()> metrics);

// The JSON forms of the domain objects (shared with tests).
json::object ModelJson(const Model& m);
json::object VersionJson(const ModelVersion& v);

}  // namespace vouch::api::native

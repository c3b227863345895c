// The native REST API under /api/v1 (docs/api.md, docs/openapi.yaml), plus /health and /ready.
// Translates JSON and paths to service calls and back; holds no rules of its own.
#pragma once

#include <functional>

#include "vouch/api/router.h"
#include "vouch/service/approvals.h"
#include "vouch/service/checkpoints.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/registry.h"
#include "vouch/service/webhook_delivery.h"
#include "vouch/service/webhooks.h"
#include "vouch/util/json_writer.h"

namespace vouch::api::native {

// Registers every native route and the native error renderer. `ready` reports the store's state.
// With `identity`, also the identity routes (RegisterIdentityRoutes), and whoami names the
// caller's groups; without it (tests of the registry routes alone) whoami leaves groups out.
void RegisterRoutes(Router& router, service::RegistryService& registry,
                    std::function<Status()> ready, service::IdentityService* identity = nullptr);

// Users, tokens, groups, roles and per-model permissions under /api/v1 (identity_routes.cc).
void RegisterIdentityRoutes(Router& router, service::IdentityService& identity);

// Policies, approval requests, checks and gate status under /api/v1 (approval_routes.cc).
void RegisterApprovalRoutes(Router& router, service::ApprovalService& approvals);

// Comments on versions under /api/v1 (comment_routes.cc).
void RegisterCommentRoutes(Router& router, service::ApprovalService& approvals);

// Notification subscriptions under /api/v1/webhooks (webhook_routes.cc).
void RegisterWebhookRoutes(Router& router, service::WebhookService& webhooks);

// GET /metrics for any authenticated principal: `metrics()` in Prometheus' text format.
// Webhook deliveries (issue 13): test, the ledger, redelivery (delivery_routes.cc).
void RegisterDeliveryRoutes(Router& router, service::WebhookDelivery& delivery);

void RegisterMetricsRoute(Router& router, std::function<std::vector<store::StoreMetric>()> metrics);

// The audit log's checkpoints and signing keys (issue 14; checkpoint_routes.cc): the tlog-tiles
// `checkpoint`, the checkpoint list, the public keys (public), and the on-demand checkpoint and
// key rotation (admins).
void RegisterCheckpointRoutes(Router& router, service::CheckpointService& checkpoints);

// The JSON forms of the domain objects, each written as one object into `w` (shared with tests).
void WriteModel(JsonWriter& w, const Model& m);
void WriteVersion(JsonWriter& w, const ModelVersion& v);
// A principal; never a password or its hash. With `groups` (the names of its groups) also its
// roles and groups, as a single read shows them; lists leave both out.
json::object UserJson(const Principal& p, const std::vector<std::string>* groups);
// A token's record: never the token or its hash.
json::object TokenJson(const store::TokenRecord& t, std::string_view owner);
json::object GroupJson(const Group& g);
// A request as GET /api/v1/requests/{id} answers it (approval_routes.cc).
json::object RequestViewJson(const service::RequestView& v);
// A subscription as GET /api/v1/webhooks/{id} answers it (webhook_routes.cc): never its secret.
json::object WebhookJson(const service::WebhookView& v);

}  // namespace vouch::api::native

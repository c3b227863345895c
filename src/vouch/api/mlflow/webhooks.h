// MLflow's webhook API (/api/2.0/mlflow/webhooks, MLflow 3.3+) on the MLflow door, onto
// service::WebhookService: MLflow's Webhook entity and its events [{entity, action}] (webhooks.cc).
#pragma once

#include "vouch/api/router.h"
#include "vouch/service/webhooks.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {

// Registers create, list, get, update (PATCH) and delete under both MLflow prefixes. `webhooks`
// must outlive the router.
void RegisterWebhookRoutes(Router& router, service::WebhookService& webhooks);

// MLflow's Webhook: webhook_id (the id as text), name, description, url, events
// [{"entity": "MODEL_VERSION", "action": "CREATED"}] (proto enum names), status ACTIVE|DISABLED,
// creation_timestamp, last_updated_timestamp. Never the secret.
json::object MlflowWebhookJson(const service::WebhookView& v);

}  // namespace vouch::api::mlflow

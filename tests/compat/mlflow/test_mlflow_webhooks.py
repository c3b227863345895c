"""MLflow's webhook API (MLflow 3.3+; mlflow/protos/webhooks.proto) driven by the real client's
create_webhook, list_webhooks, get_webhook, update_webhook and delete_webhook against vouch, where
an MLflow webhook is a registry-wide subscription in format `mlflow` (docs/mlflow.md, "Webhooks").
Deliveries themselves are the delivery engine's tests."""

from __future__ import annotations

import pytest
import requests
from mlflow.entities.webhook import (WebhookAction, WebhookEntity, WebhookEvent, WebhookStatus)

from compat_lib import audit_events, unique
from mlflow_asserts import error_body, raises_mlflow

pytestmark = [pytest.mark.vouch_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

SECRET = "mlflow-webhook-secret-0123"
MV_CREATED = WebhookEvent(WebhookEntity.MODEL_VERSION, WebhookAction.CREATED)
RM_CREATED = WebhookEvent(WebhookEntity.REGISTERED_MODEL, WebhookAction.CREATED)
TAG_SET = WebhookEvent(WebhookEntity.MODEL_VERSION_TAG, WebhookAction.SET)


def events_of(webhook) -> set[tuple[str, str]]:
    return {(e.entity.value, e.action.value) for e in webhook.events}


def test_the_client_creates_gets_lists_updates_and_deletes_a_webhook(client, registry):
    name = unique("hook")
    made = client.create_webhook(name=name, url="https://hooks.example.com/mlflow",
                                 events=[MV_CREATED, RM_CREATED], description="ci",
                                 secret=SECRET)
    assert made.name == name and made.url == "https://hooks.example.com/mlflow"
    assert made.description == "ci" and made.status == WebhookStatus.ACTIVE
    assert events_of(made) == {("model_version", "created"), ("registered_model", "created")}
    assert made.creation_timestamp > 0
    assert not hasattr(made, "secret") or not getattr(made, "secret", None)

    got = client.get_webhook(made.webhook_id)
    assert (got.webhook_id, got.name, events_of(got)) == (made.webhook_id, name, events_of(made))
    listed = client.list_webhooks(max_results=1000)
    assert made.webhook_id in [w.webhook_id for w in listed]

    updated = client.update_webhook(made.webhook_id, status=WebhookStatus.DISABLED,
                                    events=[TAG_SET], description="tags only")
    assert updated.status == WebhookStatus.DISABLED and updated.description == "tags only"
    assert events_of(updated) == {("model_version_tag", "set")}
    assert updated.last_updated_timestamp >= made.last_updated_timestamp

    client.delete_webhook(made.webhook_id)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_webhook, made.webhook_id,
                  message=f"Webhook with ID {made.webhook_id} not found.")

    # The same subscription, seen through vouch's own API: format mlflow, registry-wide, and the
    # secret recorded only as set.
    created = [e for e in audit_events(registry.base, registry.token, action="webhook.created")
               if e["target"]["webhook"] == int(made.webhook_id)]
    assert len(created) == 1
    after = created[0]["after"]
    assert (after["format"], after["model"], after["secret"]) == ("mlflow", "", "set")
    assert created[0]["source"]["door"] == "mlflow"
    everything = requests.get(registry.base + "/api/v1/audit", params={"limit": 1000},
                              headers={"Authorization": f"Bearer {registry.token}"}, timeout=30)
    assert SECRET not in everything.text


def test_list_webhooks_pages_with_the_clients_token(client):
    ids = {client.create_webhook(name=unique("page"), url="https://hooks.example.com/p",
                                 events=[MV_CREATED]).webhook_id for _ in range(3)}
    seen, token = [], None
    while True:
        page = client.list_webhooks(max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [w.webhook_id for w in page]
        token = page.token
        if not token:
            break
    assert ids <= set(seen) and len(seen) == len(set(seen))
    raises_mlflow("INVALID_PARAMETER_VALUE", client.list_webhooks, max_results=1001)


def test_a_secret_shorter_than_16_bytes_is_refused(client):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.create_webhook, name=unique("weak"),
                  url="https://hooks.example.com/w", events=[MV_CREATED], secret="short",
                  contains="secret: at least 16 bytes")


def test_bad_input_gets_mlflows_error_shape_and_changes_nothing(client, rest, registry):
    before = len(audit_events(registry.base, registry.token, action="webhook.created"))
    raises_mlflow("INVALID_PARAMETER_VALUE", client.create_webhook, name=unique("bad"),
                  url="ftp://hooks.example.com/", events=[MV_CREATED], contains="url: ")
    prompt = WebhookEvent(WebhookEntity.PROMPT, WebhookAction.CREATED)
    raises_mlflow("INVALID_PARAMETER_VALUE", client.create_webhook, name=unique("bad"),
                  url="https://hooks.example.com/", events=[prompt], contains="prompts")
    r = rest.post("/webhooks", {"name": "x", "url": "https://hooks.example.com/"})
    assert r.status_code == 400 and error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'events'" in error_body(r)["message"]
    r = rest.post("/webhooks", {"name": "x", "url": "https://hooks.example.com/",
                                "events": [{"entity": "MODEL_VERSION", "action": "DELETED"}]})
    assert r.status_code == 400 and error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"
    assert rest.get("/webhooks/999999").status_code == 404
    assert rest.get("/webhooks/not-a-number").status_code == 404
    assert len(audit_events(registry.base, registry.token, action="webhook.created")) == before


def test_a_subscription_of_another_format_is_not_an_mlflow_webhook(client, registry):
    r = requests.post(registry.base + "/api/v1/webhooks", timeout=30,
                      headers={"Authorization": f"Bearer {registry.token}"},
                      json={"name": "native", "url": "https://hooks.example.com/n",
                            "events": ["request.*"], "format": "vouch"})
    assert r.status_code == 201, r.text
    wid = str(r.json()["id"])
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_webhook, wid)
    assert wid not in [w.webhook_id for w in client.list_webhooks(max_results=1000)]

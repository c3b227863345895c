"""Notification formats (issue 13; docs/webhook-formats.md), verified with code no one here wrote.

Real events are made on a server (a model, a version, its tags, an alias, a request opened under a
policy), their outbox payloads are read from the store as the delivery worker reads them, and each is
rendered by `vouch dev webhook-render` through every format that can express it. Then:
- vouch and cloudevents: the `standardwebhooks` package's `Webhook(secret).verify(body, headers)`
  (with a `whsec_` secret and with a plain one), and a tampered body refused;
- cloudevents: the CloudEvents SDK parses the structured event (the strict 1.0 reader and the
  v1 `from_http`);
- mlflow: the signature MLflow's own delivery code computes (`_generate_hmac_signature`), the
  event MLflow's `WebhookEvent` accepts, and the data keys of MLflow's payload classes;
- slack: Block Kit's shape, read back and validated by Slack's own SDK (`slack_sdk.models.blocks`)
  and checked structurally, with Slack's control characters escaped;
- no format sends the client's address or user agent.
Store-agnostic: the outbox is read with `server.sql`, which works on SQLite and PostgreSQL.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time

import pytest
from cloudevents.core.bindings import http as ce_http
from cloudevents.v1.http import from_http as ce_from_http_v1
from mlflow.entities.webhook import WebhookEvent
from mlflow.webhooks.delivery import _generate_hmac_signature
from mlflow.webhooks.types import get_example_payload_for_event, get_payload_class_for_event
from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, SectionBlock
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from vouch_testlib import make_person, require_binary, unique

PUBLIC_URL = "https://vouch.example.com"
COMMENT = '<!channel> & <b>bold</b> "quoted"\nsecond line — ✓'

POLICY = """policies:
  - name: {name}
    target: stage:Production
    match: {{models: ["{prefix}*"]}}
    approvals:
      - {{from: [{{role: ml-engineer}}], count: 1}}
"""


def render(payload: dict, fmt: str, *, secret: str | None = None, delivery_id: str | None = None,
           public_url: str | None = None, expect_ok: bool = True) -> dict | subprocess.CompletedProcess:
    cmd = [str(require_binary()), "dev", "webhook-render", "--format", fmt,
           "--timestamp-ms", str(int(time.time() * 1000))]
    if secret is not None:
        cmd += ["--secret", secret]
    if delivery_id is not None:
        cmd += ["--delivery-id", delivery_id]
    if public_url is not None:
        cmd += ["--public-url", public_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    r = subprocess.run(cmd, input=json.dumps(payload), capture_output=True, text=True, timeout=60,
                       env=env)
    if not expect_ok:
        return r
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"headers", "body"}
    assert all(isinstance(h, list) and len(h) == 2 for h in out["headers"])
    return out


def headers_of(rendered: dict) -> dict[str, str]:
    return {name: value for name, value in rendered["headers"]}


@pytest.fixture(scope="module")
def payloads(server, api) -> dict[str, dict]:
    """One real outbox payload per action, keyed by action."""
    prefix = unique("wf") + "-"
    name = prefix + "fraud"
    reviewer = make_person(api, "eli", "ml-engineer", "Eli Q.")
    api.call("POST", "/api/v1/policies", json_body={"yaml": POLICY.format(name=unique("pol"),
                                                                          prefix=prefix)},
             expect=200)
    first = api.max_seq()
    api.create_model(name, description="fraud & <risk>", tags={"team": "risk"})
    api.create_version(name, source="s3://bucket/fraud/1", run_id="0123456789abcdef",
                       description="", tags={"commit": "abc"})
    api.call("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}",
             path={"name": name, "n": 1, "key": "note"}, json_body={"value": COMMENT}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/versions/{n}/tags/{key}",
             path={"name": name, "n": 1, "key": "note"}, expect=200)
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champion"},
             json_body={"version": 1}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/aliases/{alias}",
             path={"name": name, "alias": "champion"}, expect=204)
    api.call("POST", "/api/v1/requests", expect=201,
             json_body={"model": name, "version": 1, "target": "stage:Production",
                        "comment": COMMENT})
    rows = server.sql(f"SELECT event_seq, topic, payload FROM outbox WHERE event_seq > {first} "
                      "ORDER BY event_seq")
    out = {}
    for _seq, topic, payload in rows:
        out.setdefault(topic, json.loads(payload))
    expected = {"model.created", "model_version.created", "model_version.tag_set",
                "model_version.tag_deleted", "model_alias.set", "model_alias.deleted",
                "request.opened"}
    assert expected <= set(out), sorted(out)
    opened = out["request.opened"]
    assert opened["recipients"][0]["could_approve"] == [reviewer.name], opened["recipients"]
    # What must not leave the server is in the stored payloads (or the test below proves nothing).
    for p in out.values():
        assert p["source"]["address"] and p["source"]["user_agent"], p["source"]
    return out


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.mark.parametrize("fmt", ["vouch", "cloudevents"])
def test_standard_webhooks_verifies_vouch_and_cloudevents_signatures(payloads, fmt):
    for action, payload in payloads.items():
        secret = whsec()
        r = render(payload, fmt, secret=secret, delivery_id=f"msg_{unique('d')}")
        parsed = Webhook(secret).verify(r["body"], headers_of(r))
        assert parsed["data"]["seq"] == payload["seq"], action
        # A secret that is not whsec_: its UTF-8 bytes are the key (the library takes base64).
        plain = "a plain secret of some length"
        r = render(payload, fmt, secret=plain, delivery_id="msg_plain")
        Webhook(base64.b64encode(plain.encode()).decode()).verify(r["body"], headers_of(r))
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(r["body"], headers_of(r))
        with pytest.raises(WebhookVerificationError):
            tampered = r["body"].replace(str(payload["seq"]), str(payload["seq"] + 1), 1)
            Webhook(base64.b64encode(plain.encode()).decode()).verify(tampered, headers_of(r))


def test_vouch_envelope_has_type_timestamp_data_delivery_and_links(payloads):
    payload = payloads["request.opened"]
    r = render(payload, "vouch", secret=whsec(), delivery_id="msg_1", public_url=PUBLIC_URL)
    h = headers_of(r)
    assert h["Content-Type"] == "application/json"
    assert h["webhook-id"] == "msg_1"
    assert h["webhook-signature"].startswith("v1,")
    body = json.loads(r["body"])
    assert body["type"] == "request.opened"
    assert body["timestamp"] == payload["time"]
    assert body["data"]["comment"] == COMMENT
    assert body["data"]["door"] == payload["source"]["door"]
    assert body["data"]["recipients"] == payload["recipients"]
    assert body["delivery"]["id"] == "msg_1" and body["delivery"]["attempt"] == 1
    request_id = payload["target"]["request"]
    assert body["links"]["request"] == f"{PUBLIC_URL}/api/v1/requests/{request_id}"
    unsigned = render(payload, "vouch")
    assert "webhook-signature" not in headers_of(unsigned)
    assert "links" not in json.loads(unsigned["body"])


def test_cloudevents_sdk_parses_the_structured_event(payloads):
    for action, payload in payloads.items():
        r = render(payload, "cloudevents", delivery_id=f"ce-{payload['seq']}", public_url=PUBLIC_URL)
        h = headers_of(r)
        assert h["Content-Type"].startswith("application/cloudevents+json")
        event = ce_http.from_http_event(ce_http.HTTPMessage(headers=h, body=r["body"].encode()))
        assert event.get_specversion() == "1.0"
        assert event.get_id() == f"ce-{payload['seq']}"
        assert event.get_type() == f"io.vouch.{action}"
        assert event.get_source() == PUBLIC_URL
        assert event.get_extension("vouchseq") == payload["seq"]
        assert event.get_data()["action"] == action
        assert event.get_data()["target"] == payload["target"]
        legacy = ce_from_http_v1(h, r["body"])
        assert legacy["type"] == f"io.vouch.{action}"
        assert legacy.data["seq"] == payload["seq"]
    model = payloads["model_version.created"]["target"]["model"]
    r = render(payloads["model_version.created"], "cloudevents", delivery_id="x")
    event = ce_http.from_http_event(ce_http.HTTPMessage(headers=headers_of(r),
                                                        body=r["body"].encode()))
    assert event.get_subject() == f"models/{model}/versions/1"
    assert event.get_source() == "vouch"


MLFLOW_EVENTS = {
    "model.created": ("registered_model", "created"),
    "model_version.created": ("model_version", "created"),
    "model_version.tag_set": ("model_version_tag", "set"),
    "model_version.tag_deleted": ("model_version_tag", "deleted"),
    "model_alias.set": ("model_version_alias", "created"),
    "model_alias.deleted": ("model_version_alias", "deleted"),
}


def test_mlflow_payloads_are_signed_and_shaped_as_mlflows_own_code_makes_them(payloads):
    secret = "mlflow-secret-" + secrets.token_hex(8)
    for action, (entity, mlflow_action) in MLFLOW_EVENTS.items():
        payload = payloads[action]
        r = render(payload, "mlflow", secret=secret, delivery_id=f"mlflow-{payload['seq']}")
        h = headers_of(r)
        assert h["Content-Type"] == "application/json"
        assert h["X-MLflow-Delivery-Id"] == f"mlflow-{payload['seq']}"
        assert abs(int(h["X-MLflow-Timestamp"]) - time.time()) < 300
        # The signature MLflow's delivery code would send for these bytes.
        assert h["X-MLflow-Signature"] == _generate_hmac_signature(
            secret, h["X-MLflow-Delivery-Id"], h["X-MLflow-Timestamp"], r["body"])
        body = json.loads(r["body"])
        assert set(body) == {"entity", "action", "timestamp", "data"}
        event = WebhookEvent(body["entity"], body["action"])  # MLflow refuses unknown pairs
        assert (body["entity"], body["action"]) == (entity, mlflow_action)
        payload_class = get_payload_class_for_event(event)
        assert set(body["data"]) == set(payload_class.__annotations__), action
        assert set(body["data"]) == set(get_example_payload_for_event(event)), action
        assert body["data"]["name"] == payload["target"]["model"]
        assert "+00:00" in body["timestamp"]
        unsigned = render(payload, "mlflow")
        assert "X-MLflow-Signature" not in headers_of(unsigned)
    created = json.loads(render(payloads["model_version.created"], "mlflow")["body"])["data"]
    assert created["version"] == "1" and created["run_id"] == "0123456789abcdef"
    assert created["source"] == "s3://bucket/fraud/1" and created["description"] is None
    tag = json.loads(render(payloads["model_version.tag_set"], "mlflow")["body"])["data"]
    assert tag["key"] == "note" and tag["value"] == COMMENT


def test_mlflow_format_refuses_what_mlflow_has_no_event_for(payloads):
    r = render(payloads["request.opened"], "mlflow", expect_ok=False)
    assert r.returncode == 1
    assert "cannot express" in r.stderr


SLACK_BLOCK_TYPES = {"section", "context", "actions", "divider", "header"}


def test_slack_message_has_text_and_blocks_with_slacks_characters_escaped(payloads):
    for action, payload in payloads.items():
        r = render(payload, "slack", secret=whsec(), public_url=PUBLIC_URL)
        h = headers_of(r)
        assert h == {"Content-Type": "application/json"}, "Slack verifies no signature"
        body = json.loads(r["body"])
        assert set(body) == {"text", "blocks"}
        assert isinstance(body["text"], str) and body["text"] and "\n" not in body["text"]
        assert len(body["blocks"]) <= 50
        # Slack's SDK reads every block as a known kind, finds nothing out of its limits, and
        # writes each back unchanged (no member it does not know).
        parsed = Block.parse_all(body["blocks"])
        assert [type(b) for b in parsed] == [SectionBlock, ContextBlock, ActionsBlock], action
        for block, sent in zip(parsed, body["blocks"]):
            block.validate_json()
            assert block.to_dict() == sent, action
        for block in body["blocks"]:
            assert block["type"] in SLACK_BLOCK_TYPES, block
            if block["type"] == "section":
                assert block["text"]["type"] in {"mrkdwn", "plain_text"}
                assert 0 < len(block["text"]["text"]) <= 3000
            if block["type"] == "context":
                assert 0 < len(block["elements"]) <= 10
                assert all(e["type"] in {"mrkdwn", "plain_text", "image"} for e in block["elements"])
            if block["type"] == "actions":
                for e in block["elements"]:
                    assert e["type"] == "button"
                    assert e["text"]["type"] == "plain_text" and len(e["text"]["text"]) <= 75
                    assert e["url"].startswith(PUBLIC_URL + "/api/v1/") and len(e["url"]) <= 3000
    opened = json.loads(render(payloads["request.opened"], "slack", public_url=PUBLIC_URL)["body"])
    section = opened["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in section
    assert "<!channel>" not in json.dumps(opened, ensure_ascii=False)
    request_id = payloads["request.opened"]["target"]["request"]
    assert opened["blocks"][-1]["elements"][0]["url"] == f"{PUBLIC_URL}/api/v1/requests/{request_id}"
    assert f"request #{request_id}" in opened["text"]


def test_no_format_sends_the_clients_address_or_user_agent(payloads):
    for action, payload in payloads.items():
        address, agent = payload["source"]["address"], payload["source"]["user_agent"]
        for fmt in ("vouch", "cloudevents", "slack", "mlflow"):
            if fmt == "mlflow" and action not in MLFLOW_EVENTS:
                continue
            r = render(payload, fmt, secret=whsec(), public_url=PUBLIC_URL)
            sent = r["body"] + json.dumps(r["headers"])
            assert address not in sent, (fmt, action)
            assert agent not in sent, (fmt, action)
            assert "user_agent" not in sent, (fmt, action)

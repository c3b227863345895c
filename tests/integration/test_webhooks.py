"""Notification subscriptions through the `vouch webhooks` CLI and /api/v1/webhooks (issue 13;
docs/notifications.md): each field refused with a message naming it and nothing made, MANAGE on
what a model glob matches and admin for a registry-wide one, the owner or an admin for the rest,
secrets sealed and never shown or recorded, each change audited. Store-agnostic: everything goes
through HTTP and the CLI."""
from __future__ import annotations

import json
import subprocess

import pytest

from vouch_testlib import clean_env, require_binary, unique

SECRET = "whsec-integration-0123456789"


def person(api, prefix: str) -> tuple[str, str]:
    name = unique(prefix)
    api.call("POST", "/api/v1/users", expect=201, json_body={"name": name, "kind": "user"})
    token = api.call("POST", "/api/v1/tokens", json_body={"name": "t", "owner": name},
                     expect=201).json()["token"]
    return name, token


def cli(server, token: str, *args: str, expect: int = 0, stdin: str | None = None):
    cmd = [str(require_binary()), "--server", server.base, "--token", token, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=clean_env(),
                       input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
    assert r.returncode == expect, (args, r.returncode, r.stdout, r.stderr)
    return r


def audit_events(api, action: str) -> list[dict]:
    return api.call("GET", "/api/v1/audit", params={"action": action, "limit": 1000},
                    expect=200).json()["events"]


def body(**fields) -> dict:
    b = {"name": "hook", "url": "https://hooks.example.com/in", "events": ["request.*"],
         "model": unique("nomodel") + "-*"}
    b.update(fields)
    return b


def test_cli_creates_a_subscription_with_a_secret_from_stdin_and_never_shows_it(api, server):
    model = unique("fraud")
    api.create_model(model)
    made = json.loads(cli(server, server.token, "webhooks", "create", "--name", "ci",
                          "--url", "https://hooks.example.com/ci",
                          "--events", "request.*, model_version.stage_changed",
                          "--model", model[:-1] + "*", "--secret-stdin", "-o", "json",
                          stdin=SECRET + "\n").stdout)
    assert made["secret_set"] is True and made["model"] == model[:-1] + "*"
    assert made["events"] == ["request.*", "model_version.stage_changed"]
    assert made["format"] == "vouch" and made["status"] == "active"
    wid = str(made["id"])

    table = cli(server, server.token, "webhooks", "get", wid).stdout
    assert "ci" in table and SECRET not in table
    listed = json.loads(cli(server, server.token, "webhooks", "list", "-o", "json").stdout)
    assert wid in [str(w["id"]) for w in listed]
    disabled = json.loads(cli(server, server.token, "webhooks", "disable", wid, "-o",
                              "json").stdout)
    assert disabled["status"] == "disabled"
    enabled = json.loads(cli(server, server.token, "webhooks", "enable", wid, "-o", "json").stdout)
    assert enabled["status"] == "active"
    updated = json.loads(cli(server, server.token, "webhooks", "update", wid, "--format", "slack",
                             "--no-secret", "-o", "json").stdout)
    assert (updated["format"], updated["secret_set"]) == ("slack", False)
    assert "Deleted webhook" in cli(server, server.token, "webhooks", "delete", wid).stdout
    cli(server, server.token, "webhooks", "get", wid, expect=1)
    cli(server, server.token, "webhooks", "get", "x", expect=2)

    created = [e for e in audit_events(api, "webhook.created")
               if e["target"]["webhook"] == made["id"]]
    assert len(created) == 1 and created[0]["after"]["secret"] == "set"
    changes = [e["after"] for e in audit_events(api, "webhook.updated")
               if e["target"]["webhook"] == made["id"]]
    assert [c.get("status") for c in changes] == ["disabled", "active", None]
    assert changes[2] == {"format": "slack", "secret": "removed"}
    assert len([e for e in audit_events(api, "webhook.deleted")
                if e["target"]["webhook"] == made["id"]]) == 1
    everything = api.call("GET", "/api/v1/audit", params={"limit": 1000}, expect=200).text
    assert SECRET not in everything


def test_cli_lists_the_events_a_subscription_may_name(server):
    events = json.loads(cli(server, server.token, "webhooks", "events", "-o", "json").stdout)
    names = [e["name"] for e in events]
    assert "request.opened" in names and "request.reminder" in names
    assert not any(n.startswith(("token.", "webhook.", "access.")) for n in names)


@pytest.mark.parametrize("fields,field", [
    ({"name": ""}, "name"),
    ({"url": "ftp://hooks.example.com/"}, "url"),
    ({"url": "http://hooks.example.com/"}, "url"),
    ({"url": "https://"}, "url"),
    ({"events": ["model.exploded"]}, "events"),
    ({"events": []}, "events"),
    ({"events": ["token.created"]}, "events"),
    ({"format": "xml"}, "format"),
    ({"secret": "short"}, "secret"),
    ({"email_to": ["reviewers"]}, "email_to"),
    ({"model": "bad\u0001glob"}, "model"),
])
def test_a_bad_field_is_refused_naming_it_and_nothing_is_made(api, fields, field):
    before = len(audit_events(api, "webhook.created"))
    listed = api.call("GET", "/api/v1/webhooks", params={"limit": 1000}, expect=200).json()
    r = api.call("POST", "/api/v1/webhooks", json_body=body(**fields), expect=400,
                 code="INVALID_ARGUMENT")
    assert r.json()["error"]["message"].startswith(field + ": "), r.text
    assert len(audit_events(api, "webhook.created")) == before
    assert api.call("GET", "/api/v1/webhooks", params={"limit": 1000},
                    expect=200).json() == listed


def test_a_cli_refusal_names_the_field(server):
    r = cli(server, server.token, "webhooks", "create", "--name", "x", "--url",
            "https://hooks.example.com/", "--events", "nothing.*", expect=1)
    assert "INVALID_ARGUMENT" in r.stderr and "events:" in r.stderr


def test_a_model_glob_needs_manage_on_what_it_matches_and_registry_wide_needs_admin(api, server):
    prefix = unique("glob")
    for suffix in ("a", "b"):
        api.create_model(f"{prefix}-{suffix}")
    ann, ann_token = person(api, "ann")
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": f"{prefix}-a", "user": ann}, json_body={"permission": "MANAGE"},
             expect=200)
    r = api.call("POST", "/api/v1/webhooks", json_body=body(model=f"{prefix}-*"), token=ann_token,
                 expect=403, code="PERMISSION_DENIED")
    assert f"{prefix}-b" in r.json()["error"]["message"]
    api.call("POST", "/api/v1/webhooks", json_body=body(model=""), token=ann_token, expect=403,
             code="PERMISSION_DENIED")
    denials = api.call("GET", "/api/v1/audit", params={"actor": ann, "limit": 100},
                       expect=200).json()["events"]
    assert [e["action"] for e in denials] == ["access.denied", "access.denied"]
    assert all(e["outcome"] == "denied" for e in denials)

    mine = api.call("POST", "/api/v1/webhooks", json_body=body(model=f"{prefix}-a"),
                    token=ann_token, expect=201).json()
    assert mine["owner"] == ann
    # Someone else neither sees nor changes it; the admin does both.
    bob, bob_token = person(api, "bob")
    api.call("GET", "/api/v1/webhooks/{id}", path={"id": mine["id"]}, token=bob_token,
             expect=403, code="PERMISSION_DENIED")
    api.call("DELETE", "/api/v1/webhooks/{id}", path={"id": mine["id"]}, token=bob_token,
             expect=403, code="PERMISSION_DENIED")
    assert api.call("GET", "/api/v1/webhooks", token=bob_token, expect=200).json() == {
        "webhooks": []}
    assert [w["id"] for w in api.call("GET", "/api/v1/webhooks", token=ann_token,
                                      expect=200).json()["webhooks"]] == [mine["id"]]
    api.call("PATCH", "/api/v1/webhooks/{id}", path={"id": mine["id"]},
             json_body={"model": f"{prefix}-*"}, token=ann_token, expect=403,
             code="PERMISSION_DENIED")
    api.call("PATCH", "/api/v1/webhooks/{id}", path={"id": mine["id"]},
             json_body={"description": "by the admin"}, expect=200)


def test_lists_are_paged_and_a_forged_token_is_refused(api):
    made = [api.call("POST", "/api/v1/webhooks", json_body=body(), expect=201).json()["id"]
            for _ in range(3)]
    seen, token = [], None
    while True:
        params = {"limit": 2}
        if token:
            params["page_token"] = token
        page = api.call("GET", "/api/v1/webhooks", params=params, expect=200).json()
        seen += [w["id"] for w in page["webhooks"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert set(made) <= set(seen) and seen == sorted(seen)
    api.call("GET", "/api/v1/webhooks", params={"page_token": "forged"}, expect=400,
             code="INVALID_ARGUMENT")

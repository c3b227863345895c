"""Issue 11, item 7: a refused request names the model (and version) it was refused on, so that the
model's filters find it — `vouch audit log --model NAME`, `GET /api/v1/audit?model=NAME` (for admins
by name, for the model's owner by its id) — through the native door (the CLI) and the MLflow door
(raw REST here; tests/compat/mlflow/test_mlflow_auth.py does it with the MLflow client). And the
audit table's columns: TARGET naming the object, CHANGE from → to, DOOR, COMMENT (a denial's
reason). Store-agnostic: HTTP and the CLI only."""

from __future__ import annotations

import json

import pytest
import requests

from vouch_testlib import Api, unique

STAGE = "/api/v1/models/{name}/versions/{n}/stage"


def create_user(api: Api) -> tuple[str, str]:
    name = unique("alice")
    api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user"}, expect=201)
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": name}).json()["token"]
    return name, token


def cli_events(server, *args, token=None) -> list[dict]:
    """`vouch audit log … --output json`: one JSON document or JSON Lines, whichever this CLI
    prints."""
    kw = {} if token is None else {"token": token}
    r = server.cli("audit", "log", *args, "--output", "json", **kw)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    if out.startswith("["):
        return json.loads(out)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def denials(events: list[dict]) -> list[dict]:
    return [e for e in events if e["action"] == "access.denied"]


@pytest.fixture(scope="module")
def scene(server, api):
    """fraud-detector-… with version 1, owned by `owner` (who created it), and alice, who may only
    read it; alice is refused a stage change through the CLI and one through the MLflow door."""
    owner, owner_token = create_user(api)
    alice, alice_token = create_user(api)
    model = unique("fraud-detector")
    api.call("POST", "/api/v1/models", json_body={"name": model}, token=owner_token, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://bucket/model.tar.gz"}, token=owner_token, expect=201)
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": model, "user": alice}, json_body={"permission": "READ"}, expect=200)

    r = server.cli("stage", "set", model, "1", "Production", "--comment", "ship it",
                   token=alice_token)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "PERMISSION_DENIED" in r.stderr or "permission" in r.stderr.lower(), r.stderr

    mlflow = requests.post(f"{server.base}/api/2.0/mlflow/model-versions/transition-stage",
                           json={"name": model, "version": "1", "stage": "Staging",
                                 "archive_existing_versions": False},
                           headers={"Authorization": f"Bearer {alice_token}"}, timeout=30)
    assert mlflow.status_code == 403, mlflow.text
    assert mlflow.json()["error_code"] == "PERMISSION_DENIED"
    return {"model": model, "alice": alice, "alice_token": alice_token, "owner": owner,
            "owner_token": owner_token}


def test_both_refused_stage_changes_are_found_by_the_models_filter(api, scene):
    model, alice = scene["model"], scene["alice"]
    refused = denials(api.events(model=model))
    assert [e["source"]["door"] for e in refused] == ["native", "mlflow"], refused
    for e in refused:
        assert e["actor"]["name"] == alice
        assert e["outcome"] == "denied"
        assert e["target"]["model"] == model and e["target"]["version"] == 1, e
        assert e["target"]["type"] == "request"
        assert f"on model '{model}'" in e["reason"]
    assert refused[0]["target"]["path"] == f"/api/v1/models/{model}/versions/1/stage"
    assert refused[1]["target"]["path"] == "/api/2.0/mlflow/model-versions/transition-stage"
    assert refused[0]["target"]["method"] == refused[1]["target"]["method"] == "POST"
    # The version filter finds them too; nothing changed.
    assert denials(api.events(model=model, version=1)) == refused
    assert denials(api.events(model=model, version=2)) == []
    v1 = api.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": model, "n": 1},
                  expect=200).json()
    assert v1["stage"] == "None"


def test_the_models_owner_sees_who_was_refused_on_it(api, scene):
    # A non-admin reads a model's history by its id (test_audit_by_model.py): the denials carry it.
    mine = api.call("GET", "/api/v1/audit", params={"model": scene["model"]},
                    token=scene["owner_token"], expect=200).json()["events"]
    assert [e["actor"]["name"] for e in denials(mine)] == [scene["alice"]] * 2


def test_cli_audit_log_model_filter_finds_the_denials(server, scene):
    refused = denials(cli_events(server, "--model", scene["model"]))
    assert [(e["source"]["door"], e["actor"]["name"]) for e in refused] == [
        ("native", scene["alice"]), ("mlflow", scene["alice"])]


def test_the_audit_table_shows_door_target_change_and_comment(server, scene):
    model, alice = scene["model"], scene["alice"]
    r = server.cli("audit", "log", "--model", model)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = lines[0].split()
    assert header == ["SEQ", "TIME", "ACTOR", "DOOR", "ACTION", "TARGET", "CHANGE", "OUTCOME",
                      "COMMENT"], lines[0]
    refused = [line for line in lines if "access.denied" in line]
    assert len(refused) == 2, r.stdout
    for line, door in zip(refused, ["native", "mlflow"]):
        assert f" {alice} " in line and f" {door} " in line, line
        assert f"{model} v1" in line and " denied " in line, line
        assert f"needs EDIT permission on model '{model}'" in line, line


def test_the_audit_table_names_groups_roles_and_shows_stage_moves(server, api):
    model = unique("table")
    group = unique("grp")
    user, _ = create_user(api)
    api.create_model(model)
    api.create_version(model)
    api.call("POST", STAGE, path={"name": model, "n": 1},
             json_body={"stage": "Staging", "comment": "looks good"}, expect=200)
    api.call("POST", "/api/v1/groups", json_body={"name": group}, expect=201)
    api.call("PUT", "/api/v1/groups/{group}/members/{user}", path={"group": group, "user": user},
             expect=204)
    api.call("PUT", "/api/v1/roles/{role}/groups/{group}", path={"role": "reviewer",
                                                                   "group": group}, expect=204)
    since = api.events(model=model)[0]["time"]

    r = server.cli("audit", "log", "--model", model)
    assert r.returncode == 0, r.stderr
    stage = next(line for line in r.stdout.splitlines() if "model_version.stage_changed" in line)
    assert f"{model} v1" in stage and "None \u2192 Staging" in stage, stage
    assert " native " in stage and stage.rstrip().endswith("looks good"), stage

    r = server.cli("audit", "log", "--since", since)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    added = next(line for line in lines if "group.member_added" in line and group in line)
    assert f"group {group}" in added and f"+{user}" in added, added
    granted = next(line for line in lines if "role.granted" in line and group in line)
    assert f"role reviewer: group {group}" in granted, granted


def test_a_refused_create_names_the_model_it_would_have_made_without_an_id(server, api):
    name, _ = create_user(api)
    read_only = api.call("POST", "/api/v1/tokens", expect=201,
                         json_body={"name": unique("t"), "owner": name, "scope": "read"}
                         ).json()["token"]
    model = unique("never")
    api.call("POST", "/api/v1/models", json_body={"name": model}, token=read_only, expect=403)
    refused = denials(api.events(model=model))
    assert len(refused) == 1, refused
    assert refused[0]["target"] == {"type": "request", "method": "POST",
                                    "path": "/api/v1/models", "model": model}
    # A model made under the name afterwards is a new model: its readers do not inherit the denial
    # (they filter by its id); admins and auditors, filtering by name, still see it.
    api.create_model(model)
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": model, "user": name}, json_body={"permission": "READ"}, expect=200)
    full = api.call("POST", "/api/v1/tokens", expect=201,
                    json_body={"name": unique("t"), "owner": name}).json()["token"]
    theirs = api.call("GET", "/api/v1/audit", params={"model": model}, token=full,
                      expect=200).json()["events"]
    assert denials(theirs) == []
    assert len(denials(api.events(model=model))) == 1


def test_mlflow_3_permission_calls_name_their_resource_id(server, api):
    # A model and user of its own, so that the scene's denials stay the scene's.
    model = unique("granted")
    api.create_model(model)
    bob, bob_token = create_user(api)
    r = requests.post(f"{server.base}/api/3.0/mlflow/users/permissions/grant",
                      json={"username": bob, "resource_type": "registered_model",
                            "resource_id": model, "permission": "MANAGE"},
                      headers={"Authorization": f"Bearer {bob_token}"}, timeout=30)
    assert r.status_code == 403, r.text
    refused = denials(api.events(model=model))
    assert len(refused) == 1, refused
    assert refused[0]["target"] == {"type": "request", "method": "POST",
                                    "path": "/api/3.0/mlflow/users/permissions/grant",
                                    "model": model}
    assert refused[0]["actor"]["name"] == bob and refused[0]["source"]["door"] == "mlflow"

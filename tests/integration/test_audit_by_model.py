"""A model's history for those who read it through a model grant: `GET /api/v1/audit?model=NAME`
means that model (its events since it was created, across its renames), never an earlier model
that had the name, whose history is for admins and auditors only. Store-agnostic: HTTP only."""

from __future__ import annotations

import json

import pytest

from vouch_testlib import Api, unique


def create_user(api: Api) -> tuple[str, str]:
    """A new user and a token of its own."""
    name = unique("u")
    api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user"}, expect=201)
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": name}).json()["token"]
    return name, token


def history(api: Api, model: str, token: str, expect: int = 200, **params) -> list[dict]:
    r = api.call("GET", "/api/v1/audit", params={"model": model, **params}, token=token,
                 expect=expect)
    return r.json().get("events", []) if expect == 200 else []


@pytest.fixture(scope="module")
def auditor(api) -> str:
    name, token = create_user(api)
    api.call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": "auditor", "user": name},
             expect=204)
    return token


@pytest.mark.parametrize("how", ["deleted", "renamed"])
def test_a_reused_name_shows_a_grantee_only_the_new_models_history(api, auditor, how):
    # The probe: a model bob may not read, its name freed, bob creates a model of that name.
    name = unique("gone")
    api.create_model(name, description="old-description-secret", tags={"old-tag": "old-value"})
    api.create_version(name, source="s3://old-bucket/secret-model")
    bob, bob_token = create_user(api)
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": name, "user": bob}, json_body={"permission": "NO_PERMISSIONS"},
             expect=200)
    history(api, name, bob_token, expect=403)
    if how == "deleted":
        api.call("DELETE", "/api/v1/models/{name}", path={"name": name}, expect=204)
    else:
        api.call("POST", "/api/v1/models/{name}/rename", path={"name": name},
                 json_body={"new_name": unique("moved")}, expect=200)
    history(api, name, bob_token, expect=404)
    api.call("POST", "/api/v1/models", json_body={"name": name, "description": "bob-made"},
             token=bob_token, expect=201)

    mine = history(api, name, bob_token)
    assert [e["action"] for e in mine] == ["model.created"], mine
    assert mine[0]["actor"]["name"] == bob and mine[0]["after"]["description"] == "bob-made"
    text = json.dumps(mine)
    for old in ("old-description-secret", "old-tag", "s3://old-bucket/secret-model",
                "NO_PERMISSIONS"):
        assert old not in text, f"the earlier model's {old!r} leaked through the reused name"
    assert history(api, name, bob_token, version=1) == []

    # Admins and auditors still see every event that ever carried the name.
    for token in (api.token, auditor):
        actions = [e["action"] for e in history(api, name, token)]
        assert actions[:4] == ["model.created", "model_version.created", "permission.granted",
                               "model.deleted" if how == "deleted" else "model.renamed"], actions
        assert actions[-1] == "model.created" and len(actions) == 5, actions
        assert "old-description-secret" in json.dumps(history(api, name, token))


def test_a_grantee_follows_a_models_history_across_its_renames(api):
    first, second = unique("first"), unique("second")
    bob, bob_token = create_user(api)
    api.create_model(first)
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": first, "user": bob}, json_body={"permission": "READ"}, expect=200)
    api.call("POST", "/api/v1/models/{name}/rename", path={"name": first},
             json_body={"new_name": second}, expect=200)
    api.create_version(second)
    evs = history(api, second, bob_token)
    assert [e["action"] for e in evs] == ["model.created", "permission.granted", "model.renamed",
                                          "model_version.created"], evs
    assert [e["action"] for e in history(api, second, bob_token, version=1)] == [
        "model_version.created"]
    # The old name names no model now: nothing to read through it.
    history(api, first, bob_token, expect=404)

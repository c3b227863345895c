"""The character U+0000 in text, on every store.

JSON can carry "\\u0000"; SQLite stores it, PostgreSQL text cannot. Whatever the store, a value with
it is either refused (400, nothing changed) or stored and read back exactly; and a name with it never
reaches another model (a store that cut "prod\\0-scratch" at the NUL would delete "prod").
"""

from __future__ import annotations

import pytest
import requests

from vouch_testlib import Api, snapshot, unique


@pytest.fixture
def victim(api: Api) -> str:
    """A model with one version in Staging, an alias and a tag: what a cut name would hit."""
    name = unique("victim")
    api.create_model(name, description="keep me", tags={"team": "risk"})
    api.create_version(name)
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 1},
             json_body={"stage": "Staging"}, expect=200)
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champ"},
             json_body={"version": 1}, expect=200)
    return name


NATIVE_BY_NAME = [
    ("GET", "/api/v1/models/{name}", None),
    ("DELETE", "/api/v1/models/{name}", None),
    ("PATCH", "/api/v1/models/{name}", {"description": "changed"}),
    ("POST", "/api/v1/models/{name}/rename", {"new_name": "renamed-by-nul"}),
    ("GET", "/api/v1/models/{name}/versions", None),
    ("POST", "/api/v1/models/{name}/versions", {"source": "s3://b/x"}),
    ("GET", "/api/v1/models/{name}/versions/{n}", None),
    ("DELETE", "/api/v1/models/{name}/versions/{n}", None),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"stage": "Production"}),
    ("PUT", "/api/v1/models/{name}/tags/{key}", {"value": "v"}),
    ("DELETE", "/api/v1/models/{name}/tags/{key}", None),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"version": 1}),
    ("DELETE", "/api/v1/models/{name}/aliases/{alias}", None),
]


@pytest.mark.parametrize("method, template, body", NATIVE_BY_NAME,
                         ids=[f"{m} {t}" for m, t, _ in NATIVE_BY_NAME])
def test_a_name_with_nul_never_reaches_the_model_it_starts_with(api, victim, method, template,
                                                                 body):
    before = snapshot(api, victim)
    kw = {"json_body": body} if body is not None else {}
    r = api.call(method, template,
                 path={"name": victim + "\x00-scratch", "n": 1, "key": "team", "alias": "champ"},
                 **kw)
    assert r.status_code in (400, 404), f"{r.status_code}: {r.text[:300]}"
    assert r.json()["error"]["code"] in ("INVALID_ARGUMENT", "NOT_FOUND")
    assert snapshot(api, victim) == before, "a request for another name changed this model"


MLFLOW_BY_NAME = [
    ("GET", "registered-models/get", {}),
    ("DELETE", "registered-models/delete", {}),
    ("POST", "registered-models/rename", {"new_name": "renamed-by-nul-mlflow"}),
    ("PATCH", "registered-models/update", {"description": "changed"}),
    ("POST", "model-versions/create", {"source": "s3://b/x"}),
    ("POST", "model-versions/transition-stage", {"version": "1", "stage": "Production",
                                                 "archive_existing_versions": True}),
    ("POST", "registered-models/alias", {"alias": "champ", "version": "1"}),
    ("DELETE", "registered-models/alias", {"alias": "champ"}),
]


@pytest.mark.parametrize("method, path, extra", MLFLOW_BY_NAME,
                         ids=[f"{m} {p}" for m, p, _ in MLFLOW_BY_NAME])
def test_a_name_with_nul_never_reaches_the_model_through_the_mlflow_door(api, victim, method,
                                                                          path, extra):
    before = snapshot(api, victim)
    body = {"name": victim + "\x00-scratch", **extra}
    url = f"{api.base}/api/2.0/mlflow/{path}"
    headers = {"Authorization": f"Bearer {api.token}"}
    if method == "GET":
        r = requests.get(url, params=body, headers=headers, timeout=30)
    else:
        r = requests.request(method, url, json=body, headers=headers, timeout=30)
    assert r.status_code in (400, 404), f"{r.status_code}: {r.text[:300]}"
    assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    assert snapshot(api, victim) == before, "a request for another name changed this model"


def test_an_audit_filter_with_nul_finds_nothing_of_the_model_it_starts_with(api, victim):
    r = api.call("GET", "/api/v1/audit", params={"model": victim + "\x00"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.json()["events"] == []
    else:
        assert r.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert api.events(model=victim), "the model's own events are found without the NUL"


VALUES = [
    ("model description", "PATCH", "/api/v1/models/{name}", {"description": "a\x00b"},
     lambda api, m: api.get_model(m).json()["description"], "a\x00b"),
    ("model tag", "PUT", "/api/v1/models/{name}/tags/{key}", {"value": "a\x00b"},
     lambda api, m: api.get_model(m).json()["tags"].get("k"), "a\x00b"),
    ("version description", "PATCH", "/api/v1/models/{name}/versions/{n}", {"description": "v\x00"},
     lambda api, m: api.get_version(m, 1).json()["description"], "v\x00"),
    ("version tag", "PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", {"value": "\x00x"},
     lambda api, m: api.get_version(m, 1).json()["tags"].get("k"), "\x00x"),
    ("version param", "PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", {"value": "p\x00q"},
     lambda api, m: api.get_version(m, 1).json()["params"].get("k"), "p\x00q"),
]


@pytest.mark.parametrize("label, method, template, body, read, want", VALUES,
                         ids=[v[0] for v in VALUES])
def test_a_value_with_nul_is_refused_or_kept_exactly(api, label, method, template, body, read,
                                                      want):
    name = unique("nulval")
    api.create_model(name, description="plain")
    api.create_version(name)
    before = snapshot(api, name)
    r = api.call(method, template, path={"name": name, "n": 1, "key": "k"}, json_body=body)
    if r.status_code == 400:
        assert r.json()["error"]["code"] == "INVALID_ARGUMENT"
        assert snapshot(api, name) == before, "a refused value changed state"
    else:
        assert r.status_code == 200, r.text
        assert read(api, name) == want, f"{label} was not kept exactly"


def test_a_new_model_with_nul_in_its_description_is_refused_or_kept_exactly(api):
    name = unique("nulnew")
    r = api.call("POST", "/api/v1/models", json_body={"name": name, "description": "x\x00y"})
    if r.status_code == 400:
        api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=404)
    else:
        assert r.status_code == 201, r.text
        assert api.get_model(name).json()["description"] == "x\x00y"

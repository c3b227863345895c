"""Search and list answers (streamed by JsonWriter) carry each model and version in exactly the
bytes a single read of it answers, on both doors, with awkward text and numbers intact."""

from __future__ import annotations

import json
import uuid

# Quotes, backslashes, named and other control characters, multi-byte UTF-8, U+2028, markup.
AWKWARD = 'q"uote \\ back\x01\x1f\t\n caf\u00e9 \u65e5\u672c \U0001f680 line\u2028sep </script>'
# Keys and sources may hold no control characters.
KEY = 'k"ey \\ caf\u00e9 \U0001f680 </b>'
METRICS = {"sum": 0.1 + 0.2, "big": 1e21, "tiny": 5e-324, "max": 1.7976931348623157e308,
           "neg": -2.5, "int": 3.0}


def make_model(api) -> str:
    name = f"search-answers-{uuid.uuid4().hex[:8]}"
    api.create_model(name, description=AWKWARD, tags={KEY: AWKWARD, "plain": "v"})
    api.create_version(name, source="s3://b/" + KEY, description=AWKWARD,
                       tags={KEY: AWKWARD}, params={KEY: AWKWARD},
                       metrics=METRICS)
    api.create_version(name, source="s3://b/two")
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champ"},
             json_body={"version": 2}, expect=200)
    return name


def mlflow_get(api, path: str, **params):
    r = api.raw("GET", "/api/2.0/mlflow/" + path, params=params)
    assert r.status_code == 200, r.text
    return r


def test_native_lists_carry_the_bytes_of_single_reads(api):
    name = make_model(api)
    model = api.get_model(name)
    models = api.call("GET", "/api/v1/models", params={"limit": 1000}, expect=200)
    assert model.text in models.text
    version = api.get_version(name, 1)
    versions = api.call("GET", "/api/v1/models/{name}/versions", path={"name": name}, expect=200)
    assert version.text in versions.text
    v = version.json()
    assert v["description"] == AWKWARD and v["source"] == "s3://b/" + KEY
    assert v["tags"] == {KEY: AWKWARD} and v["params"] == {KEY: AWKWARD}
    assert v["metrics"] == METRICS
    assert model.json()["tags"] == {KEY: AWKWARD, "plain": "v"}


def test_mlflow_searches_carry_the_bytes_of_single_reads(api):
    name = make_model(api)
    get = mlflow_get(api, "registered-models/get", name=name)
    prefix = '{"registered_model":'
    assert get.text.startswith(prefix) and get.text.endswith("}")
    search = mlflow_get(api, "registered-models/search", filter=f"name = '{name}'")
    assert search.text == '{"registered_models":[' + get.text[len(prefix):-1] + "]}"
    m = search.json()["registered_models"][0]
    assert m["description"] == AWKWARD
    assert {"key": KEY, "value": AWKWARD} in m["tags"]
    assert m["aliases"] == [{"alias": "champ", "version": "2"}]

    # Version 1 has no alias, so its single read (which lists aliases) and a search (which does not)
    # write the same object.
    one = mlflow_get(api, "model-versions/get", name=name, version="1")
    prefix = '{"model_version":'
    assert one.text.startswith(prefix)
    versions = mlflow_get(api, "model-versions/search", filter=f"name = '{name}'")
    assert one.text[len(prefix):-1] in versions.text
    body = versions.json()
    assert [v["version"] for v in body["model_versions"]] == ["2", "1"]
    v1 = body["model_versions"][1]
    assert v1["description"] == AWKWARD and v1["source"] == "s3://b/" + KEY
    assert v1["tags"] == [{"key": KEY, "value": AWKWARD}]
    assert "aliases" not in body["model_versions"][0]
    assert json.loads(versions.text) == body

"""Odd but valid names survive the trip through percent-encoded path segments, REST and CLI."""

from __future__ import annotations

import json
import uuid

import pytest

from vouch_testlib import json_lines

ODD = {
    "latin-accents": "héllo wörld",
    "cjk": "模型-检测",
    "space": "with space",
    "slash": "a/b",
    "dot-segments": "a/b/../c",
    "dotdot": "..",
    "dot": ".",
    "double-quote": 'quo"te',
    "single-quote": "it's",
    "percent": "percent%20sign",
    "plus": "plus+sign",
    "question": "question?mark",
    "hash": "hash#tag",
    "amp-eq": "amp&eq=",
    "backslash": "back\\slash",
    "semicolon": "semi;colon",
    "emoji": "🚀 rocket",
    "leading-trailing-space": " leading and trailing ",
    "200-two-byte-chars": "ü" * 200,
    "256-two-byte-chars": "é" * 256,
}


def odd_name(base: str) -> str:
    # Unique per run, keeping the odd part intact (and within 256 characters).
    if len(base) >= 250:
        return base
    return f"{base}-{uuid.uuid4().hex[:4]}" if base not in (".", "..") else base


@pytest.mark.parametrize("base", list(ODD.values()), ids=list(ODD))
def test_odd_model_name_round_trips(api, base):
    name = odd_name(base)
    created = api.create_model(name)
    assert created["name"] == name
    assert api.get_model(name).json()["name"] == name
    v = api.create_version(name)
    assert v["model"] == name and v["version"] == 1
    assert api.get_version(name, 1).json()["model"] == name
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "prod-1"},
             json_body={"version": 1}, expect=200)
    assert name in [m["name"] for m in api.list_models()]
    events = api.events(model=name)
    assert [e["action"] for e in events] == ["model.created", "model_version.created",
                                             "model_alias.set"]
    assert all(e["target"]["model"] == name for e in events)
    api.call("DELETE", "/api/v1/models/{name}", path={"name": name}, expect=204)
    assert api.get_model(name).status_code == 404


@pytest.mark.parametrize("key", ["a/b c", "ключ", "x?y#z", "100%", "dots.in.key", "..",
                                 'q"uote'], ids=repr)
def test_odd_tag_metric_and_param_keys_round_trip(api, key):
    name = odd_name("keys")
    api.create_model(name)
    api.create_version(name)
    m = api.call("PUT", "/api/v1/models/{name}/tags/{key}", path={"name": name, "key": key},
                 json_body={"value": "v/ü"}, expect=200).json()
    assert m["tags"] == {key: "v/ü"}
    vpath = {"name": name, "n": 1, "key": key}
    v = api.call("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", path=vpath,
                 json_body={"value": "1"}, expect=200).json()
    assert v["tags"] == {key: "1"}
    v = api.call("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", path=vpath,
                 json_body={"value": 0.5}, expect=200).json()
    assert v["metrics"] == {key: 0.5}
    v = api.call("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", path=vpath,
                 json_body={"value": "p"}, expect=200).json()
    assert v["params"] == {key: "p"}
    api.call("DELETE", "/api/v1/models/{name}/tags/{key}", path={"name": name, "key": key},
             expect=200)
    for kind in ("tags", "metrics", "params"):
        v = api.call("DELETE", f"/api/v1/models/{{name}}/versions/{{n}}/{kind}/{{key}}",
                     path=vpath, expect=200).json()
        assert key not in v[kind]


def test_names_differing_only_in_encoding_are_distinct(api):
    tag = uuid.uuid4().hex[:6]
    a, b = f"x/y-{tag}", f"x%2Fy-{tag}"
    api.create_model(a)
    api.create_model(b)
    assert api.get_model(a).json()["name"] == a
    assert api.get_model(b).json()["name"] == b


def test_rename_to_odd_name(api):
    old = odd_name("plain")
    new = odd_name("now/with spaces & ünïcode")
    api.create_model(old)
    api.create_version(old)
    r = api.call("POST", "/api/v1/models/{name}/rename", path={"name": old},
                 json_body={"new_name": new}, expect=200).json()
    assert r["name"] == new
    assert api.get_version(new, 1).json()["model"] == new


@pytest.mark.parametrize("base", ["a/b", "with space", "模型", 'q"uote', "semi;colon"], ids=repr)
def test_odd_names_through_the_cli(server, api, base):
    name = odd_name(base)
    r = server.cli("--output", "json", "models", "create", name, "--description", "from cli")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == name
    r = server.cli("--output", "json", "models", "get", name)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == name
    r = server.cli("--output", "json", "versions", "create", name, "--source", "s3://b/m")
    assert r.returncode == 0, r.stderr
    r = server.cli("--output", "jsonl", "versions", "list", name)
    assert r.returncode == 0, r.stderr
    assert [v["model"] for v in json_lines(r.stdout)] == [name]
    assert api.get_model(name).json()["description"] == "from cli"

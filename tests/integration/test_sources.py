"""Model-version sources through the native API, checked as MLflow 3.17's server checks them
(issue 9, section 9): path traversal, `runs:/` sources against run_id, and `models:/` lineage (the
run id copied, an alias or stage stored as the version it names, a different run id refused).
The same rules on the MLflow door are in tests/compat/mlflow/test_mlflow_sources.py."""

from __future__ import annotations

import pytest

from vouch_testlib import snapshot, unique

RELATIVE = ("Invalid model version source: '{}'. If supplying a source as an http, https, local "
            "file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "
            "provided without relative path references present. Please provide an absolute path.")
NOT_CONTAINED = ("Invalid model version source: '{}'. The {} request parameter must identify the "
                 "resource that contains the source.")
MISMATCH = ("Invalid model version source: '{}'. The run_id and model_id request parameters must "
            "match the referenced model version.")


@pytest.fixture(scope="module")
def src(api) -> str:
    """A model: version 1 (run r1, alias champ, Production), version 2 (no run id)."""
    name = unique("src")
    api.create_model(name)
    api.create_version(name, "s3://bucket/one", run_id="r1")
    api.create_version(name, "s3://bucket/two")
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champ"},
             json_body={"version": 1}, expect=200)
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 1},
             json_body={"stage": "Production"}, expect=200)
    return name


def refused_cases(src: str) -> list[tuple[dict, int, str, str]]:
    """(body, HTTP status, error code, message) for each refused source."""
    bad = 400, "INVALID_ARGUMENT"
    return [
        ({"source": "s3://bucket/a/../b"}, *bad, RELATIVE.format("s3://bucket/a/../b")),
        ({"source": "s3://bucket/a/%2e%2e/b"}, *bad, RELATIVE.format("s3://bucket/a/%2e%2e/b")),
        ({"source": "/data/../etc/passwd"}, *bad, RELATIVE.format("/data/../etc/passwd")),
        ({"source": "runs:/r1/model"}, *bad, NOT_CONTAINED.format("runs:/r1/model", "run_id")),
        ({"source": "runs:/r1/model", "run_id": "r2"}, *bad,
         NOT_CONTAINED.format("runs:/r1/model", "run_id")),
        ({"source": "runs://host/r1/model", "run_id": "r1"}, *bad,
         NOT_CONTAINED.format("runs://host/r1/model", "run_id")),
        ({"source": f"models:/{src}/1", "run_id": "r2"}, *bad, MISMATCH.format(f"models:/{src}/1")),
        ({"source": f"models:/{src}/1", "run_id": ""}, *bad, MISMATCH.format(f"models:/{src}/1")),
        ({"source": f"models:/{src}@champ", "run_id": "r2"}, *bad,
         MISMATCH.format(f"models:/{src}@champ")),
        ({"source": f"models:/{src}/2", "run_id": "r1"}, *bad, MISMATCH.format(f"models:/{src}/2")),
        ({"source": f"models:/{src}/9"}, 404, "NOT_FOUND",
         f"Model Version (name={src}, version=9) not found"),
        ({"source": f"models:/{src}@nope"}, *bad, "Registered model alias nope not found."),
        ({"source": f"models:/{src}/Staging"}, 404, "NOT_FOUND",
         f"No versions of model with name '{src}' and stage 'Staging' found"),
        ({"source": "models:/no-such-model/1"}, 404, "NOT_FOUND",
         "Registered Model with name=no-such-model not found"),
        ({"source": "models:/m-abc"}, *bad, NOT_CONTAINED.format("models:/m-abc", "model_id")),
    ]


def test_each_refused_source_gets_mlflows_message_and_changes_nothing(api, src):
    dst = unique("dst")
    api.create_model(dst)
    before = snapshot(api, dst)
    for body, status, code, message in refused_cases(src):
        r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": dst}, json_body=body,
                     expect=status, code=code)
        assert r.json()["error"]["message"] == message, body
    assert snapshot(api, dst) == before
    # No version number was used up.
    assert api.create_version(dst)["version"] == 1


def test_a_models_source_copies_the_run_id_and_is_stored_as_the_version_it_names(api, src):
    dst = unique("dst")
    api.create_model(dst)
    seq = api.max_seq()
    cases = [(f"models:/{src}/1", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}@champ", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/production", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/latest", {}, f"models:/{src}/2", ""),
             (f"models:/{src}/1", {"run_id": "r1"}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/2", {"run_id": ""}, f"models:/{src}/2", "")]
    for n, (source, extra, stored, run_id) in enumerate(cases, start=1):
        v = api.create_version(dst, source, **extra)
        assert (v["version"], v["source"], v.get("run_id", "")) == (n, stored, run_id), source
        got = api.get_version(dst, n).json()
        assert (got["source"], got.get("run_id", "")) == (stored, run_id)
    created = api.events_after(seq, model=dst)
    assert [e["action"] for e in created] == ["model_version.created"] * len(cases)
    assert [(e["after"]["source"], e["after"]["run_id"]) for e in created] == [
        (stored, run_id) for _, _, stored, run_id in cases]
    # The copy keeps pointing at the version it named when the alias moves on.
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": src, "alias": "champ"},
             json_body={"version": 2}, expect=200)
    assert api.get_version(dst, 2).json()["source"] == f"models:/{src}/1"
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": src, "alias": "champ"},
             json_body={"version": 1}, expect=200)


def test_sources_vouch_does_not_read_are_kept_as_given(api):
    # MLflow refuses these because its server would read or serve them (docs/mlflow.md).
    dst = unique("dst")
    api.create_model(dst)
    for source in ("/tmp/model", "file:///tmp/model", "mlflow-artifacts:/x",
                   "https://example.com/model", "hdfs://namenode/model",
                   "runs:/r1/model"):
        extra = {"run_id": "r1"} if source.startswith("runs:") else {}
        assert api.create_version(dst, source, **extra)["source"] == source


def test_a_models_source_reveals_nothing_of_a_model_the_caller_cannot_read(api, src):
    user = unique("u")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user"}, expect=201)
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": user, "scope": "full"}).json()["token"]
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": src, "user": user}, json_body={"permission": "NO_PERMISSIONS"},
             expect=200)
    dst = unique("dst")
    api.call("POST", "/api/v1/models", json_body={"name": dst}, token=token, expect=201)
    direct = api.call("GET", "/api/v1/models/{name}", path={"name": src}, token=token, expect=403,
                      code="PERMISSION_DENIED").json()["error"]["message"]
    before = snapshot(api, dst)
    # The same answer as a direct read, whether the version or alias exists and whatever run id.
    for source in (f"models:/{src}/1", f"models:/{src}/9", f"models:/{src}@champ",
                   f"models:/{src}@nope", f"models:/{src}/latest", f"models:/{src}/Staging"):
        for extra in ({}, {"run_id": "r1"}, {"run_id": "r2"}):
            r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": dst},
                         json_body={"source": source, **extra}, token=token, expect=403,
                         code="PERMISSION_DENIED")
            assert r.json()["error"]["message"] == direct, source
    after = snapshot(api, dst)
    # Nothing changed but the denials, each recorded as one.
    denials = api.events_after(before["max_seq"])
    assert len(denials) == 18 and {e["action"] for e in denials} == {"access.denied"}
    assert all(e["outcome"] == "denied" and e["actor"]["name"] == user for e in denials)
    assert {k: v for k, v in after.items() if k != "max_seq"} == {
        k: v for k, v in before.items() if k != "max_seq"}
    assert api.create_version(dst)["version"] == 1

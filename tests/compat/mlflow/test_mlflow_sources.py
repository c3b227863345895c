"""Model-version sources as MLflow 3.17's server checks them (issue 9, section 9), through the real
client: path traversal, `runs:/` sources against run_id, `models:/` lineage. Passes against vouch
and against a real `mlflow server` (COMPAT_TARGET=mlflow) alike, but for the tests marked
vouch_only (what vouch deliberately does otherwise: docs/mlflow.md)."""

from __future__ import annotations

import pytest

from compat_lib import audit_events, unique
from mlflow_asserts import error_body, raises_mlflow

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

RELATIVE = ("Invalid model version source: '{}'. If supplying a source as an http, https, local "
            "file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "
            "provided without relative path references present. Please provide an absolute path.")
NOT_CONTAINED = ("Invalid model version source: '{}'. The {} request parameter must identify the "
                 "resource that contains the source.")
MISMATCH = ("Invalid model version source: '{}'. The run_id and model_id request parameters must "
            "match the referenced model version.")


@pytest.fixture(scope="module")
def src(module_client) -> str:
    """A model: version 1 (run r1, alias champ, Production), version 2 (no run id)."""
    name = unique("src")
    module_client.create_registered_model(name)
    module_client.create_model_version(name, "s3://bucket/one", run_id="r1")
    module_client.create_model_version(name, "s3://bucket/two")
    module_client.set_registered_model_alias(name, "champ", "1")
    module_client.transition_model_version_stage(name, "1", "Production")
    return name


def refused(src: str) -> list[tuple[str, dict, str, str]]:
    """(source, create_model_version keywords, error_code, message)."""
    bad = "INVALID_PARAMETER_VALUE"
    return [
        ("s3://bucket/a/../b", {}, bad, RELATIVE.format("s3://bucket/a/../b")),
        ("s3://bucket/a/%2e%2e/b", {}, bad, RELATIVE.format("s3://bucket/a/%2e%2e/b")),
        ("gs://bucket/a/./b", {}, bad, RELATIVE.format("gs://bucket/a/./b")),
        ("runs:/r1/model", {}, bad, NOT_CONTAINED.format("runs:/r1/model", "run_id")),
        ("runs:/r1/model", {"run_id": "r2"}, bad, NOT_CONTAINED.format("runs:/r1/model", "run_id")),
        ("runs://host/r1/model", {"run_id": "r1"}, bad,
         NOT_CONTAINED.format("runs://host/r1/model", "run_id")),
        ("runs:/r1/model", {"run_id": "r1", "model_id": "m-1"}, bad,
         NOT_CONTAINED.format("runs:/r1/model", "model_id")),
        (f"models:/{src}/1", {"run_id": "r2"}, bad, MISMATCH.format(f"models:/{src}/1")),
        (f"models:/{src}@champ", {"run_id": "r2"}, bad, MISMATCH.format(f"models:/{src}@champ")),
        (f"models:/{src}/2", {"run_id": "r1"}, bad, MISMATCH.format(f"models:/{src}/2")),
        (f"models:/{src}/9", {}, "RESOURCE_DOES_NOT_EXIST",
         f"Model Version (name={src}, version=9) not found"),
        (f"models:/{src}@nope", {}, bad, "Registered model alias nope not found."),
        (f"models:/{src}/Bogus", {}, bad,
         "Invalid Model Version stage: Bogus. Value must be one of None, Staging, Production, "
         "Archived."),
        ("models:/no-such-model-9/1", {}, "RESOURCE_DOES_NOT_EXIST",
         "Registered Model with name=no-such-model-9 not found"),
        (f"models:/{src}/1/extra", {}, bad, NOT_CONTAINED.format(f"models:/{src}/1/extra",
                                                                  "model_id")),
        ("models://host/m/1", {}, bad,
         "Invalid model version source: 'models://host/m/1'. Registered model sources must use "
         "the active model registry."),
        ("models:/m-abc", {}, bad, NOT_CONTAINED.format("models:/m-abc", "model_id")),
        ("models:/m-abc", {"model_id": "m-xyz"}, bad,
         NOT_CONTAINED.format("models:/m-abc", "model_id")),
    ]


def test_refused_sources_get_mlflows_error_and_change_nothing(client, src):
    dst = unique("dst")
    client.create_registered_model(dst)
    for source, kwargs, code, message in refused(src):
        raises_mlflow(code, client.create_model_version, dst, source, message=message, **kwargs)
    assert client.search_model_versions(f"name = '{dst}'") == []
    # No version number was used up.
    assert client.create_model_version(dst, "s3://bucket/x").version == "1"


def test_refused_sources_answer_400_or_404_on_the_wire(rest, src):
    dst = unique("dst")
    assert rest.post("/registered-models/create", {"name": dst}).status_code == 200
    for body, status, code in [
            ({"source": "s3://bucket/a/../b"}, 400, "INVALID_PARAMETER_VALUE"),
            # run_id sent empty is a run_id that differs from version 1's.
            ({"source": f"models:/{src}/1", "run_id": ""}, 400, "INVALID_PARAMETER_VALUE"),
            ({"source": f"models:/{src}/9"}, 404, "RESOURCE_DOES_NOT_EXIST")]:
        r = rest.post("/model-versions/create", {"name": dst, **body})
        assert r.status_code == status, r.text
        assert error_body(r)["error_code"] == code
    r = rest.get("/model-versions/search", {"filter": f"name = '{dst}'"})
    assert r.status_code == 200 and not r.json().get("model_versions"), r.text


def test_a_models_source_is_stored_as_the_version_it_names_with_its_run_id(client, src):
    dst = unique("dst")
    client.create_registered_model(dst)
    cases = [(f"models:/{src}/1", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}@champ", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/production", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/latest", {}, f"models:/{src}/2", ""),
             (f"models:/{src}/01", {}, f"models:/{src}/1", "r1"),
             (f"models:/{src}/1", {"run_id": "r1"}, f"models:/{src}/1", "r1"),
             ("runs:/r7/model", {"run_id": "r7"}, "runs:/r7/model", "r7")]
    for n, (source, kwargs, stored, run_id) in enumerate(cases, start=1):
        mv = client.create_model_version(dst, source, **kwargs)
        assert (mv.version, mv.source, mv.run_id or "") == (str(n), stored, run_id), source
        got = client.get_model_version(dst, str(n))
        assert (got.source, got.run_id or "") == (stored, run_id), source
    assert client.get_model_version_download_uri(dst, "2") == "s3://bucket/one"
    assert client.get_model_version_download_uri(dst, "4") == "s3://bucket/two"


@pytest.mark.vouch_only
def test_the_audit_event_holds_what_was_stored_and_refusals_leave_none(registry, client, src):
    dst = unique("dst")
    client.create_registered_model(dst)
    for source, kwargs, code, _ in refused(src):
        raises_mlflow(code, client.create_model_version, dst, source, **kwargs)
    client.create_model_version(dst, f"models:/{src}@champ")
    created = [e for e in audit_events(registry.base, registry.token, model=dst)
               if e["action"] == "model_version.created"]
    assert len(created) == 1
    assert created[0]["after"]["source"] == f"models:/{src}/1"
    assert created[0]["after"]["run_id"] == "r1"
    assert created[0]["source"]["door"] == "mlflow"


@pytest.mark.vouch_only
def test_what_vouch_answers_otherwise(client, src):
    # MLflow answers 500 INTERNAL_ERROR for a stage no version holds; vouch a 404.
    dst = unique("dst")
    client.create_registered_model(dst)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.create_model_version, dst,
                  f"models:/{src}/Staging",
                  message=f"No versions of model with name '{src}' and stage 'Staging' found")
    # MLflow refuses these because its server would read or serve them; vouch reads no source.
    for source in ("/tmp/model", "file:///tmp/model", "mlflow-artifacts:/x",
                   "https://example.com/model", "hdfs://namenode/model", "s3://bucket"):
        assert client.create_model_version(dst, source).source == source
    # A local path is still refused when it climbs out (MLflow refuses every local path).
    raises_mlflow("INVALID_PARAMETER_VALUE", client.create_model_version, dst, "/data/../etc",
                  message=RELATIVE.format("/data/../etc"))


@pytest.mark.vouch_only
def test_random_sources_get_mlflows_verdict_where_no_tracking_store_is_needed(rest):
    """Seeded random sources, judged by MLflow's own check (handlers._validate_source_run, run in
    this process) and by vouch. vouch never refuses what MLflow accepts, refuses with MLflow's
    message, and refuses every runs:/ source MLflow refuses and every relative path reference but
    the differences docs/mlflow.md lists (an empty or relative path, symbolic links on MLflow's
    disk). Local paths, mlflow-artifacts and models:/ sources are left out: they need a tracking
    store or a registry, and are tested above."""
    import posixpath
    import random
    import re
    import urllib.parse

    from mlflow.exceptions import MlflowException
    from mlflow.server import handlers
    from mlflow.utils.uri import is_local_uri

    pieces = ["s3://b", "gs://bucket", "dbfs:", "runs:/", "runs://h/", "RUNS:/", "runs:", "r1",
              "r2", "/", "//", "..", ".", "%2e", "%2E%2e", "%252e%252E", "%2f", "%00", "a", "lib",
              "?", "#", "+", ";", "x=1", "-"]
    rng = random.Random(20261206)
    dst = unique("fuzz")
    assert rest.post("/registered-models/create", {"name": dst}).status_code == 200
    checked = 0
    for _ in range(600):
        source = "".join(rng.choice(pieces) for _ in range(rng.randint(2, 8)))
        run_id = rng.choice([None, "", "r1", "r2"])
        try:
            if is_local_uri(source) or handlers._is_mlflow_artifact_source(source):
                continue
            scheme = urllib.parse.urlparse(source).scheme
        except (ValueError, MlflowException):
            continue
        if scheme == "models":
            continue
        try:
            handlers._validate_source_run(source, run_id or "")
            mlflow_says = None
        except MlflowException as e:
            mlflow_says = e.message
        body = {"name": dst, "source": source}
        if run_id is not None:
            body["run_id"] = run_id
        r = rest.post("/model-versions/create", body)
        assert r.status_code in (200, 400), (source, r.text)
        vouch_says = None if r.status_code == 200 else error_body(r)["message"]
        checked += 1

        relative = RELATIVE.format(source)
        decoded = source
        while (unquoted := urllib.parse.unquote_plus(decoded)) != decoded:
            decoded = unquoted
        path = re.sub(r"/+", "/", urllib.parse.urlparse(decoded).path.rstrip("/"))
        path_is_absolute = path.startswith("/")
        lexical = (any(p == ".." for p in decoded.split("/")) or "\x00" in path
                   or any(p == "." for p in path.split("/")))
        if vouch_says is not None:
            assert mlflow_says is not None, f"vouch refused {source!r} ({vouch_says}); MLflow not"
            # MLflow refuses an empty or relative path, or one through a symbolic link on its
            # disk, first; vouch then refuses such a runs:/ source for its run id.
            assert vouch_says == mlflow_says or (
                mlflow_says == relative and not lexical and scheme == "runs"), (
                source, vouch_says, mlflow_says)
        if mlflow_says is not None and mlflow_says != relative:
            assert vouch_says == mlflow_says, (source, run_id, vouch_says, mlflow_says)
        if mlflow_says == relative and (lexical or (path_is_absolute and
                                                    posixpath.normpath(path) != path)):
            assert vouch_says == relative, (source, vouch_says)
    assert checked > 150

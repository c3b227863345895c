"""Failure cases: the exact `error_code` (and, where client code matches on it, the message) that the
MLflow client sees, and the raw HTTP status and body behind it."""

from __future__ import annotations

import base64
import json

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException

from compat_lib import apply_env, mlflow_env, unique
from mlflow_asserts import error_body, raises_mlflow

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def model(module_client):
    """A model with versions 1 (Staging) and 2, and alias champion -> 1."""
    name = unique("err")
    module_client.create_registered_model(name)
    module_client.create_model_version(name, "s3://bucket/1")
    module_client.create_model_version(name, "s3://bucket/2")
    module_client.transition_model_version_stage(name, "1", "Staging")
    module_client.set_registered_model_alias(name, "champion", "1")
    return name


# ---------------------------------------------------------------------------------------------
# missing things -> RESOURCE_DOES_NOT_EXIST


def test_missing_model(client):
    name = unique("nope")
    msg = f"Registered Model with name={name} not found"
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, name, message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.update_registered_model, name, "d",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.delete_registered_model, name, message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.rename_registered_model, name, unique("x"),
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.set_registered_model_tag, name, "k", "v",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_latest_versions, name, message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.create_model_version, name, "s3://b/x",
                  message=msg)


def test_missing_model_version(client, model):
    msg = f"Model Version (name={model}, version=99) not found"
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_model_version, model, "99", message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.update_model_version, model, "99", "d",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.delete_model_version, model, "99",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.transition_model_version_stage, model, "99",
                  "Staging", message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_model_version_download_uri, model, "99",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.set_model_version_tag, model, "99", "k", "v",
                  message=msg)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.set_registered_model_alias, model, "a", "99",
                  message=msg)


def test_missing_model_raw_status(rest):
    name = unique("nope")
    r = rest.get("/registered-models/get", {"name": name})
    assert r.status_code == 404, r.text
    body = error_body(r)
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert body["message"] == f"Registered Model with name={name} not found"


# ---------------------------------------------------------------------------------------------
# duplicates -> RESOURCE_ALREADY_EXISTS (HTTP 400, not 409)


def test_duplicate_name(client, rest, model):
    e = raises_mlflow("RESOURCE_ALREADY_EXISTS", client.create_registered_model, model,
                      message=f"Registered Model (name={model}) already exists.")
    assert e.get_http_status_code() == 400
    r = rest.post("/registered-models/create", {"name": model})
    assert r.status_code == 400, r.text
    assert error_body(r)["error_code"] == "RESOURCE_ALREADY_EXISTS"


def test_rename_onto_existing_name(client, model):
    other = unique("other")
    client.create_registered_model(other)
    # MLflow appends the database's error text to this one; the sentence itself is what matters.
    raises_mlflow("RESOURCE_ALREADY_EXISTS", client.rename_registered_model, other, model,
                  contains=f"Registered Model (name={model}) already exists.")
    assert client.get_registered_model(other).name == other


# ---------------------------------------------------------------------------------------------
# bad input -> INVALID_PARAMETER_VALUE


@pytest.mark.parametrize("stage", ["Prod", "deleted_internal", "Stagingg"])
def test_bad_stage(client, model, stage):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.transition_model_version_stage, model, "2",
                  stage, contains="Invalid Model Version stage")
    assert client.get_model_version(model, "2").current_stage == "None"


def test_bad_stage_in_latest_versions(rest, model):
    r = rest.post("/registered-models/get-latest-versions", {"name": model, "stages": ["Prod"]})
    assert r.status_code == 400, r.text
    assert error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("flt", [
    "foo = 'x'",                      # unknown key
    "name = x",                       # value not quoted
    "name = 'a' OR name = 'b'",       # OR is not in the grammar
    "name ~ 'a'",                     # unknown comparator
    "tags.k IN ('a')",                # IN only for run_id (and not for models at all)
])
def test_bad_filter_registered_models(client, flt):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.search_registered_models, flt)


@pytest.mark.parametrize("flt", [
    "foo = 'x'",
    "version_number > 'abc'",          # numeric key, string value
    "version_number LIKE '1%'",        # LIKE on a number
    "run_id IN ()",                    # empty list
    "source_path = 's3://a' OR name = 'b'",
])
def test_bad_filter_model_versions(client, flt):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.search_model_versions, flt)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "bad alias", "a/b", "x" * 256])
def test_bad_alias(client, model, alias):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.set_registered_model_alias, model, alias, "1")
    assert client.get_registered_model(model).aliases == {"champion": "1"}


def test_missing_alias(client, model):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.get_model_version_by_alias, model, "ghost",
                  message="Registered model alias ghost not found.")


def test_bad_page_token(client, rest, registry):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.search_registered_models,
                  page_token="not-a-token")
    raises_mlflow("INVALID_PARAMETER_VALUE", client.search_model_versions,
                  page_token="not-a-token")
    if not registry.is_vouch:
        return  # MLflow's tokens are plain base64 offsets and it accepts this one.
    # A well-formed but forged token is refused too: vouch's tokens are tamper-checked.
    forged = base64.b64encode(json.dumps({"offset": -5}).encode()).decode()
    r = rest.get("/registered-models/search", {"page_token": forged})
    assert r.status_code == 400, r.text
    assert error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("max_results", [1001, 50000])
def test_bad_max_results_registered_models(client, max_results):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.search_registered_models,
                  max_results=max_results)


@pytest.mark.parametrize("version", ["abc", "1.5", "one"])
def test_non_integer_version(client, model, version):
    raises_mlflow("INVALID_PARAMETER_VALUE", client.get_model_version, model, version,
                  message=f"Parameter 'version' must be an integer, got '{version}'.")


def test_non_integer_version_raw(rest, model):
    for path in ("/model-versions/get", "/model-versions/get-download-uri"):
        r = rest.get(path, {"name": model, "version": "x1"})
        assert r.status_code == 400, r.text
        body = error_body(r)
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert body["message"] == "Parameter 'version' must be an integer, got 'x1'."


def test_missing_required_field(rest):
    r = rest.post("/registered-models/create", {})
    assert r.status_code == 400, r.text
    assert error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"
    r = rest.post("/model-versions/create", {"name": unique("x")})
    assert r.status_code == 400, r.text
    assert error_body(r)["error_code"] == "INVALID_PARAMETER_VALUE"


def test_failed_requests_change_nothing(client, model):
    before = client.get_registered_model(model)
    for fn, args in [
        (client.transition_model_version_stage, (model, "2", "Prod")),
        (client.set_registered_model_alias, (model, "latest", "2")),
        (client.get_model_version, (model, "abc")),
        (client.create_registered_model, (model,)),
    ]:
        with pytest.raises(MlflowException):
            fn(*args)
    after = client.get_registered_model(model)
    assert after.last_updated_timestamp == before.last_updated_timestamp
    assert after.aliases == before.aliases
    assert sorted((v.current_stage, v.version) for v in after.latest_versions) == sorted(
        (v.current_stage, v.version) for v in before.latest_versions)


# ---------------------------------------------------------------------------------------------
# credentials (vouch only: a plain `mlflow server` has no authentication)


@pytest.mark.vouch_only
def test_no_credentials(registry, module_env, monkeypatch):
    apply_env(monkeypatch, mlflow_env(None))
    anon = mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)
    e = raises_mlflow("UNAUTHENTICATED", anon.search_registered_models)
    assert e.get_http_status_code() == 401
    raises_mlflow("UNAUTHENTICATED", anon.create_registered_model, unique("anon"))


@pytest.mark.vouch_only
def test_wrong_token(registry, module_env, monkeypatch):
    apply_env(monkeypatch, mlflow_env("vouch-not-a-real-token-0000000000000000"))
    bad = mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)
    raises_mlflow("UNAUTHENTICATED", bad.get_registered_model, unique("x"))


@pytest.mark.vouch_only
def test_no_credentials_raw(registry):
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        r = requests.get(registry.base + prefix + "/registered-models/search", timeout=10)
        assert r.status_code == 401, r.text
        assert r.headers.get("WWW-Authenticate"), "401 without WWW-Authenticate"
        assert error_body(r)["error_code"] == "UNAUTHENTICATED"

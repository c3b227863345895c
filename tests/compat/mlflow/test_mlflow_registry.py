"""Every Model Registry method of `mlflow.MlflowClient`, driven unchanged against the server."""

from __future__ import annotations

import time

import mlflow
import pytest
from mlflow.entities.model_registry import ModelVersion, RegisteredModel

from compat_lib import native_get, unique
from mlflow_asserts import raises_mlflow

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_client_is_mlflow_3():
    assert mlflow.__version__.startswith("3."), mlflow.__version__


# ---------------------------------------------------------------------------------------------
# registered models


def test_create_and_get_registered_model(client):
    name = unique("rm")
    rm = client.create_registered_model(name, tags={"team": "risk", "tier": "1"},
                                        description="fraud model")
    assert isinstance(rm, RegisteredModel)
    assert rm.name == name
    assert rm.description == "fraud model"
    assert rm.tags == {"team": "risk", "tier": "1"}
    assert rm.creation_timestamp > 0
    assert rm.last_updated_timestamp == rm.creation_timestamp
    assert rm.latest_versions == []
    assert rm.aliases == {}

    got = client.get_registered_model(name)
    assert got.name == name
    assert got.description == "fraud model"
    assert got.tags == {"team": "risk", "tier": "1"}
    assert got.creation_timestamp == rm.creation_timestamp
    assert got.latest_versions == []


def test_create_registered_model_minimal(client):
    name = unique("rm")
    rm = client.create_registered_model(name)
    assert rm.name == name
    assert rm.description in (None, "")
    assert rm.tags == {}


def test_rename_registered_model(client):
    old, new = unique("old"), unique("new")
    client.create_registered_model(old, tags={"k": "v"})
    client.create_model_version(old, "s3://bucket/a", run_id="r1")
    client.set_registered_model_alias(old, "champion", "1")

    client.rename_registered_model(old, new)

    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, old,
                  message=f"Registered Model with name={old} not found")
    got = client.get_registered_model(new)
    assert got.tags == {"k": "v"}
    assert got.aliases == {"champion": "1"}
    mv = client.get_model_version(new, "1")
    assert mv.name == new and mv.source == "s3://bucket/a"
    assert client.get_model_version_by_alias(new, "champion").version == "1"
    # The old name is free again.
    client.create_registered_model(old)


def test_update_registered_model_description(client):
    name = unique("rm")
    client.create_registered_model(name, description="first")
    rm = client.update_registered_model(name, description="second")
    assert rm.name == name
    assert rm.description == "second"
    assert client.get_registered_model(name).description == "second"


def test_delete_registered_model(client):
    name = unique("rm")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/a")
    client.delete_registered_model(name)
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_registered_model, name,
                  message=f"Registered Model with name={name} not found")
    assert client.search_registered_models(filter_string=f"name = '{name}'") == []
    assert client.search_model_versions(filter_string=f"name = '{name}'") == []
    # The name can be used again, and the new model starts empty.
    client.create_registered_model(name)
    assert client.get_registered_model(name).latest_versions == []


def test_search_registered_models_by_name(client):
    name = unique("rm")
    client.create_registered_model(name, description="d")
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    assert found[0].description == "d"
    assert not found.token


def test_registered_model_tags(client):
    name = unique("rm")
    client.create_registered_model(name, tags={"a": "1"})
    client.set_registered_model_tag(name, "b", "2")
    client.set_registered_model_tag(name, "a", "changed")
    # Values are sent as strings, whatever Python type they had.
    client.set_registered_model_tag(name, "n", 42)
    assert client.get_registered_model(name).tags == {"a": "changed", "b": "2", "n": "42"}
    client.delete_registered_model_tag(name, "b")
    assert client.get_registered_model(name).tags == {"a": "changed", "n": "42"}


def test_latest_versions_filled_per_stage(client):
    name = unique("rm")
    client.create_registered_model(name)
    for i in range(1, 5):
        client.create_model_version(name, f"s3://bucket/v{i}")
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")
    rm = client.get_registered_model(name)
    by_stage = {mv.current_stage: mv.version for mv in rm.latest_versions}
    assert by_stage == {"Production": "1", "Staging": "2", "None": "4"}


def test_get_latest_versions(client):
    name = unique("rm")
    client.create_registered_model(name)
    for i in range(1, 6):
        client.create_model_version(name, f"s3://bucket/v{i}")
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Staging")

    every = client.get_latest_versions(name)
    assert sorted((mv.current_stage, mv.version) for mv in every) == [
        ("None", "5"), ("Production", "2"), ("Staging", "3")]

    prod = client.get_latest_versions(name, stages=["Production"])
    assert [(mv.current_stage, mv.version) for mv in prod] == [("Production", "2")]
    assert prod[0].source == "s3://bucket/v2"

    two = client.get_latest_versions(name, stages=["staging", "None"])
    assert sorted((mv.current_stage, mv.version) for mv in two) == [("None", "5"), ("Staging", "3")]

    assert client.get_latest_versions(name, stages=["Archived"]) == []
    # Resolved through the client the way users spell it.
    uri = client.get_model_version_download_uri(name, prod[0].version)
    assert uri == "s3://bucket/v2"


def test_aliases(client):
    name = unique("rm")
    client.create_registered_model(name)
    for i in range(1, 4):
        client.create_model_version(name, f"s3://bucket/v{i}")
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", 3)

    mv = client.get_model_version_by_alias(name, "champion")
    assert isinstance(mv, ModelVersion)
    assert (mv.name, mv.version, mv.source) == (name, "2", "s3://bucket/v2")
    assert mv.aliases == ["champion"]

    rm = client.get_registered_model(name)
    assert rm.aliases == {"champion": "2", "challenger": "3"}
    assert client.get_model_version(name, "3").aliases == ["challenger"]

    # Moving an alias takes it off the old version.
    client.set_registered_model_alias(name, "champion", "3")
    assert sorted(client.get_model_version(name, "3").aliases) == ["challenger", "champion"]
    assert client.get_model_version(name, "2").aliases == []

    client.delete_registered_model_alias(name, "champion")
    raises_mlflow("INVALID_PARAMETER_VALUE", client.get_model_version_by_alias, name, "champion",
                  message="Registered model alias champion not found.")
    assert client.get_registered_model(name).aliases == {"challenger": "3"}

    # models:/NAME@alias resolves through the client.
    assert client.get_model_version_download_uri(name, "3") == "s3://bucket/v3"


def test_alias_removed_with_its_version(client):
    name = unique("rm")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/v1")
    client.create_model_version(name, "s3://bucket/v2")
    client.set_registered_model_alias(name, "champion", "1")
    client.delete_model_version(name, "1")
    assert client.get_registered_model(name).aliases == {}
    raises_mlflow("INVALID_PARAMETER_VALUE", client.get_model_version_by_alias, name, "champion",
                  message="Registered model alias champion not found.")


# ---------------------------------------------------------------------------------------------
# model versions


def test_create_and_get_model_version(client):
    name = unique("mv")
    client.create_registered_model(name)
    mv = client.create_model_version(name, "s3://bucket/model", run_id="run-abc",
                                     tags={"commit": "1a2b3c"}, run_link="http://ci/run/1",
                                     description="first cut")
    assert isinstance(mv, ModelVersion)
    assert mv.name == name
    assert mv.version == "1"
    assert mv.source == "s3://bucket/model"
    assert mv.run_id == "run-abc"
    assert mv.tags == {"commit": "1a2b3c"}
    assert mv.description == "first cut"
    assert mv.status == "READY"
    assert mv.current_stage == "None"
    assert mv.creation_timestamp > 0
    assert mv.last_updated_timestamp == mv.creation_timestamp
    assert mv.aliases == []

    got = client.get_model_version(name, "1")
    assert (got.name, got.version, got.source, got.run_id, got.description) == (
        name, "1", "s3://bucket/model", "run-abc", "first cut")
    assert got.tags == {"commit": "1a2b3c"}
    assert got.status == "READY"
    # An int version works as well as the string.
    assert client.get_model_version(name, 1).version == "1"

    mv2 = client.create_model_version(name, "s3://bucket/model2")
    assert mv2.version == "2"
    assert mv2.run_id in (None, "")
    assert mv2.tags == {}


def test_new_version_touches_model(client):
    name = unique("mv")
    rm = client.create_registered_model(name)
    mv = client.create_model_version(name, "s3://bucket/a")
    after_create = client.get_registered_model(name)
    assert after_create.last_updated_timestamp >= mv.creation_timestamp
    assert after_create.last_updated_timestamp >= rm.last_updated_timestamp
    assert after_create.latest_versions[0].version == "1"


def test_last_updated_timestamp_moves_as_mlflow_moves_it(client):
    """A new version, a stage change and a version's deletion touch the model; a version's
    description does not. Each change touches the version it changes."""
    name = unique("ts")

    def model_ts():
        return client.get_registered_model(name).last_updated_timestamp

    def tick():
        time.sleep(0.01)

    created = client.create_registered_model(name).last_updated_timestamp
    tick()
    client.create_model_version(name, "s3://bucket/1")
    client.create_model_version(name, "s3://bucket/2")
    after_version = model_ts()
    assert after_version > created
    tick()
    mv = client.update_model_version(name, "1", description="only the version")
    assert mv.last_updated_timestamp > mv.creation_timestamp
    assert model_ts() == after_version
    tick()
    mv = client.transition_model_version_stage(name, "1", "Staging")
    after_stage = model_ts()
    assert after_stage > after_version
    assert client.get_model_version(name, "1").last_updated_timestamp >= after_stage
    tick()
    client.delete_model_version(name, "2")
    after_delete = model_ts()
    assert after_delete > after_stage
    tick()
    client.update_registered_model(name, description="the model itself")
    assert model_ts() > after_delete


def test_update_model_version(client):
    name = unique("mv")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/a", description="old")
    mv = client.update_model_version(name, "1", description="new")
    assert (mv.name, mv.version, mv.description) == (name, "1", "new")
    got = client.get_model_version(name, "1")
    assert got.description == "new"
    assert got.source == "s3://bucket/a"


def test_delete_model_version_retires_number(client):
    name = unique("mv")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    client.create_model_version(name, "s3://bucket/2")
    client.delete_model_version(name, "2")
    raises_mlflow("RESOURCE_DOES_NOT_EXIST", client.get_model_version, name, "2",
                  message=f"Model Version (name={name}, version=2) not found")
    assert [m.version for m in client.search_model_versions(f"name = '{name}'")] == ["1"]
    # Numbers are never reused.
    assert client.create_model_version(name, "s3://bucket/3").version == "3"
    assert {mv.version for mv in client.get_latest_versions(name)} == {"3"}


def test_search_model_versions_by_name(client):
    name = unique("mv")
    client.create_registered_model(name)
    for i in range(1, 4):
        client.create_model_version(name, f"s3://bucket/{i}", run_id=f"run-{i}")
    found = client.search_model_versions(f"name = '{name}'")
    assert sorted(m.version for m in found) == ["1", "2", "3"]
    assert {m.version: m.run_id for m in found} == {"1": "run-1", "2": "run-2", "3": "run-3"}
    assert all(m.name == name for m in found)


def test_download_uri(client):
    name = unique("mv")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/path/to/model")
    assert client.get_model_version_download_uri(name, "1") == "s3://bucket/path/to/model"


def test_transition_stage(client):
    name = unique("st")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    mv = client.transition_model_version_stage(name, "1", "staging")
    assert mv.current_stage == "Staging"
    assert mv.version == "1"
    assert client.get_model_version(name, "1").current_stage == "Staging"
    mv = client.transition_model_version_stage(name, "1", "Production")
    assert mv.current_stage == "Production"
    mv = client.transition_model_version_stage(name, "1", "None")
    assert mv.current_stage == "None"


def test_transition_archive_existing_versions(client):
    name = unique("st")
    client.create_registered_model(name)
    for i in range(1, 5):
        client.create_model_version(name, f"s3://bucket/{i}")
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Staging")

    mv = client.transition_model_version_stage(name, "4", "Production",
                                               archive_existing_versions=True)
    assert (mv.version, mv.current_stage) == ("4", "Production")
    stages = {m.version: m.current_stage for m in client.search_model_versions(f"name = '{name}'")}
    # The others in Production are archived; the one in Staging is left alone.
    assert stages == {"1": "Archived", "2": "Archived", "3": "Staging", "4": "Production"}
    assert [m.version for m in client.get_latest_versions(name, ["Production"])] == ["4"]

    mv = client.transition_model_version_stage(name, "1", "Staging",
                                               archive_existing_versions=True)
    assert mv.current_stage == "Staging"
    stages = {m.version: m.current_stage for m in client.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Archived", "4": "Production"}


@pytest.mark.parametrize("stage", ["Archived", "None"])
def test_archive_existing_refused_for_inactive_stage(client, registry, stage):
    name = unique("st")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    client.create_model_version(name, "s3://bucket/2")
    client.transition_model_version_stage(name, "1", "Archived")
    # MLflow's own server raises a plain MlflowException here, which it answers as 500
    # INTERNAL_ERROR (and which the client then retries); vouch refuses it as the bad input it is.
    if registry.is_vouch:
        raises_mlflow("INVALID_PARAMETER_VALUE", client.transition_model_version_stage, name, "2",
                      stage, archive_existing_versions=True, contains="is not an Active stage")
    else:
        raises_mlflow("INTERNAL_ERROR", client.transition_model_version_stage, name, "2",
                      stage, archive_existing_versions=True)
    # Nothing changed.
    assert client.get_model_version(name, "2").current_stage == "None"
    assert client.get_model_version(name, "1").current_stage == "Archived"


def test_model_version_tags(client):
    name = unique("mv")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1", tags={"a": "1"})
    client.set_model_version_tag(name, "1", "b", "2")
    client.set_model_version_tag(name, "1", "a", "changed")
    client.set_model_version_tag(name, "1", "n", 7)
    assert client.get_model_version(name, "1").tags == {"a": "changed", "b": "2", "n": "7"}
    client.delete_model_version_tag(name, "1", "b")
    assert client.get_model_version(name, "1").tags == {"a": "changed", "n": "7"}
    # set_model_version_tag also takes a stage instead of a version.
    client.transition_model_version_stage(name, "1", "Staging")
    client.set_model_version_tag(name, key="via-stage", value="yes", stage="Staging")
    assert client.get_model_version(name, "1").tags["via-stage"] == "yes"


@pytest.mark.parametrize("by", ["version", "alias"])
def test_copy_model_version(client, by):
    src, dst = unique("src"), unique("dst")
    client.create_registered_model(src)
    client.create_model_version(src, "s3://bucket/original", run_id="run-1",
                                tags={"t": "v"}, description="orig")
    client.create_model_version(src, "s3://bucket/second")
    client.set_registered_model_alias(src, "champion", "1")
    uri = f"models:/{src}/1" if by == "version" else f"models:/{src}@champion"

    copy = client.copy_model_version(uri, dst)
    assert copy.name == dst
    assert copy.version == "1"
    assert copy.source == f"models:/{src}/1"
    assert copy.run_id == "run-1"
    assert copy.tags == {"t": "v"}
    assert copy.description == "orig"
    # The destination model was created, and the copy resolves to the original's artifacts.
    assert client.get_registered_model(dst).latest_versions[0].version == "1"
    assert client.get_model_version_download_uri(dst, copy.version) == "s3://bucket/original"

    # A second copy into the existing model makes version 2.
    copy2 = client.copy_model_version(f"models:/{src}/2", dst)
    assert copy2.version == "2"
    assert client.get_model_version_download_uri(dst, "2") == "s3://bucket/second"


def test_register_model(registry, module_env, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.base)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry.base)
    name = unique("reg")
    mv = mlflow.register_model("s3://bucket/registered", name, tags={"via": "register_model"})
    assert (mv.name, mv.version, mv.source) == (name, "1", "s3://bucket/registered")
    assert mv.tags == {"via": "register_model"}
    # Registering again under the same name tolerates the existing model and adds a version.
    mv2 = mlflow.register_model("s3://bucket/registered-2", name)
    assert mv2.version == "2"
    client = mlflow.MlflowClient()
    assert sorted(m.version for m in client.search_model_versions(f"name = '{name}'")) == ["1", "2"]
    assert client.get_model_version(name, "2").status == "READY"


# ---------------------------------------------------------------------------------------------
# What vouch fills that MLflow leaves empty


@pytest.mark.vouch_only
def test_user_id_is_the_vouch_principal(client, rest):
    name = unique("who")
    client.create_registered_model(name)
    mv = client.create_model_version(name, "s3://bucket/1")
    assert mv.user_id == "admin"
    assert client.get_model_version(name, "1").user_id == "admin"
    assert client.search_model_versions(f"name = '{name}'")[0].user_id == "admin"
    r = rest.get("/registered-models/get", {"name": name})
    assert r.status_code == 200, r.text
    body = r.json()["registered_model"]
    assert body["user_id"] == "admin"
    assert body["latest_versions"][0]["user_id"] == "admin"


@pytest.mark.vouch_only
def test_model_id_accepted_stored_and_returned(client, rest, vouch):
    name = unique("mid")
    client.create_registered_model(name)
    r = rest.post("/model-versions/create",
                  {"name": name, "source": "s3://bucket/lm", "model_id": "m-0123456789abcdef"})
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["model_id"] == "m-0123456789abcdef"
    r = rest.get("/model-versions/get", {"name": name, "version": "1"})
    assert r.json()["model_version"]["model_id"] == "m-0123456789abcdef"
    assert "model_params" not in r.json()["model_version"]
    assert "model_metrics" not in r.json()["model_version"]
    native = native_get(vouch, f"/api/v1/models/{name}/versions/1")
    assert native["model_id"] == "m-0123456789abcdef"

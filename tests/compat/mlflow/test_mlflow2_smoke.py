"""Smoke run with the last MLflow 2.x client (tests/requirements-mlflow2.txt, in .venv-mlflow2):
teams that have not moved to 3.x yet keep working. Run on its own:

    .venv-mlflow2/bin/python -m pytest -m mlflow2 tests/compat/mlflow/test_mlflow2_smoke.py
"""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from compat_lib import unique

pytestmark = [pytest.mark.mlflow2, pytest.mark.filterwarnings("ignore::FutureWarning")]


def test_client_is_mlflow_2():
    assert mlflow.__version__.startswith("2."), (
        f"this smoke run wants the MLflow 2.x client, not {mlflow.__version__}")


def test_create_get_search(client):
    name = unique("two")
    rm = client.create_registered_model(name, tags={"team": "risk"}, description="2.x")
    assert (rm.name, rm.description, rm.tags) == (name, "2.x", {"team": "risk"})
    mv = client.create_model_version(name, "s3://bucket/1", run_id="run-1", tags={"k": "v"})
    assert (mv.version, mv.source, mv.run_id, mv.status) == ("1", "s3://bucket/1", "run-1", "READY")
    client.create_model_version(name, "s3://bucket/2")
    got = client.get_registered_model(name)
    assert got.tags == {"team": "risk"}
    assert [v.version for v in got.latest_versions] == ["2"]
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    found = client.search_model_versions(f"name = '{name}' AND version_number > 1")
    assert [m.version for m in found] == ["2"]
    assert client.get_model_version(name, "1").tags == {"k": "v"}


def test_transition_and_latest(client):
    name = unique("two")
    client.create_registered_model(name)
    for i in (1, 2, 3):
        client.create_model_version(name, f"s3://bucket/{i}")
    client.transition_model_version_stage(name, "1", "Production")
    mv = client.transition_model_version_stage(name, "2", "Production",
                                               archive_existing_versions=True)
    assert mv.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert [m.version for m in client.get_latest_versions(name, ["Production"])] == ["2"]


def test_aliases(client):
    name = unique("two")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").source == "s3://bucket/1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException) as ei:
        client.get_model_version_by_alias(name, "champion")
    assert ei.value.error_code == "INVALID_PARAMETER_VALUE"


def test_errors(client):
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(unique("missing"))
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    name = unique("two")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as ei:
        client.create_registered_model(name)
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"

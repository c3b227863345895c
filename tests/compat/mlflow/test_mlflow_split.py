"""The split set-up teams run first: tracking (runs, logged models, artifacts) stays on their
`mlflow server`; the Model Registry is vouch (`mlflow.set_registry_uri`)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
import requests
from mlflow.pyfunc import PythonModel

from compat_lib import apply_env, audit_events, mlflow_env, native_get

pytestmark = [pytest.mark.mlflow_peer("split", default_artifact_root=False),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


class Doubler(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[float]:
        return [2 * float(x) for x in model_input["x"]]


@pytest.fixture
def split(registry, mlflow_peer, monkeypatch):
    if not registry.is_vouch:
        # Self-check of the test (COMPAT_TARGET=mlflow): an MLflow registry can only register
        # logged models of its own tracking store, so there the registry is the tracking server.
        registry = type(registry)("mlflow", mlflow_peer.base, None)
    apply_env(monkeypatch, mlflow_env(registry.token))
    # Keep log_model quick and offline: no requirement inference, no environment checks.
    monkeypatch.setenv("MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT", "5")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(mlflow_peer.base)
    mlflow.set_registry_uri(registry.base)
    yield registry, mlflow_peer
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_log_model_registers_into_vouch_and_loads_back(split, tmp_path):
    registry, tracking = split
    name = "split-model"
    mlflow.set_experiment("split-setup")
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="model", python_model=Doubler(),
                                       registered_model_name=name,
                                       pip_requirements=["mlflow"])
    assert str(info.registered_model_version) == "1"
    assert info.model_id and info.model_id.startswith("m-")

    client = mlflow.MlflowClient()  # tracking: the mlflow server; registry: vouch
    mv = client.get_model_version(name, "1")
    assert mv.source == f"models:/{info.model_id}"
    assert mv.status == "READY"
    # MLflow 3 registers `models:/<model_id>` and sends no run_id; MLflow's own server fills it
    # from the logged model in its tracking store. A registry apart from tracking cannot, and
    # leaves it empty, as the client sent it.
    if registry.is_vouch:
        assert mv.run_id in (None, "")
    else:
        assert mv.run_id == run.info.run_id

    if registry.is_vouch:
        # The version is in vouch, as the client sent it.
        native = native_get(registry, f"/api/v1/models/{name}/versions/1")
        assert native["source"] == f"models:/{info.model_id}"
        assert native["model_id"] == info.model_id
        assert not native.get("run_id")
        assert native["created_by"] == "admin"
        created = [e for e in audit_events(registry.base, registry.token, model=name)
                   if e["action"] == "model_version.created"]
        assert len(created) == 1 and created[0]["source"]["door"] == "mlflow"
        # ... and not in the tracking server's registry.
        r = requests.get(tracking.base + "/api/2.0/mlflow/registered-models/get",
                         params={"name": name}, timeout=10)
        assert r.status_code == 404, r.text

    client.set_registered_model_alias(name, "champion", "1")
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl2").mkdir()
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion",
                                      dst_path=str(tmp_path / "dl"))
    assert list(loaded.predict(pd.DataFrame({"x": [1, 2.5, -3]}))) == [2.0, 5.0, -6.0]
    # The same through the stage URI resolved via get-latest-versions.
    client.transition_model_version_stage(name, "1", "Production")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/Production",
                                      dst_path=str(tmp_path / "dl2"))
    assert list(loaded.predict(pd.DataFrame({"x": [4]}))) == [8.0]
    assert mlflow.models.get_model_info(f"models:/{name}/1").model_uuid == info.model_uuid

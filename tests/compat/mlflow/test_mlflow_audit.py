"""Each MLflow client call lands in vouch's audit log under its caller, through the `mlflow` door."""

from __future__ import annotations

import pytest
import requests

from compat_lib import audit_events, unique

pytestmark = [pytest.mark.vouch_only, pytest.mark.filterwarnings("ignore::FutureWarning")]


def events_for(vouch, *names: str) -> list[dict]:
    return [e for e in audit_events(vouch.base, vouch.token)
            if (e.get("target") or {}).get("model") in names]


def test_every_call_is_audited(client, vouch):
    name, new = unique("aud"), unique("aud-renamed")
    c = client
    c.create_registered_model(name, tags={"team": "risk"}, description="d0")
    c.create_model_version(name, "s3://bucket/1", run_id="r1")
    c.create_model_version(name, "s3://bucket/2", run_id="r2")
    c.set_registered_model_tag(name, "owner", "alice")
    c.delete_registered_model_tag(name, "team")
    c.update_registered_model(name, description="d1")
    c.set_model_version_tag(name, "1", "validated", "yes")
    c.delete_model_version_tag(name, "1", "validated")
    c.update_model_version(name, "1", description="v1 desc")
    c.transition_model_version_stage(name, "1", "Production")
    c.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    c.set_registered_model_alias(name, "champion", "2")
    c.delete_registered_model_alias(name, "champion")
    c.delete_model_version(name, "1")
    c.rename_registered_model(name, new)
    c.delete_registered_model(new)

    evs = events_for(vouch, name, new)
    actions = [e["action"] for e in evs]
    assert actions == [
        "model.created",
        "model_version.created",
        "model_version.created",
        "model.tag_set",
        "model.tag_deleted",
        "model.updated",
        "model_version.tag_set",
        "model_version.tag_deleted",
        "model_version.updated",
        "model_version.stage_changed",
        # archive_existing_versions: the target and each version it archived, in some order
        *sorted(["model_version.stage_changed", "model_version.stage_changed"]),
        "model_alias.set",
        "model_alias.deleted",
        "model_version.deleted",
        "model.renamed",
        "model.deleted",
    ], actions
    for e in evs:
        assert e["source"]["door"] == "mlflow", e
        assert e["actor"]["name"] == "admin", e
        assert e["outcome"] == "done", e
        assert e["source"].get("user_agent", "").startswith("mlflow-python-client/"), e
        assert e.get("request_id"), e

    stage = [e for e in evs if e["action"] == "model_version.stage_changed"]
    moves = sorted((e["target"]["version"], e["before"]["stage"], e["after"]["stage"])
                   for e in stage)
    assert moves == [(1, "None", "Production"), (1, "Production", "Archived"),
                     (2, "None", "Production")], stage
    # The single transition comes first; the archived one is part of the second call.
    assert (stage[0]["target"]["version"], stage[0]["after"]["stage"]) == (1, "Production")

    created = [e for e in evs if e["action"] == "model_version.created"]
    assert [e["target"]["version"] for e in created] == [1, 2]
    alias = next(e for e in evs if e["action"] == "model_alias.set")
    assert "champion" in str(alias["target"]) + str(alias.get("after"))
    renamed = next(e for e in evs if e["action"] == "model.renamed")
    assert name in str(renamed) and new in str(renamed)


def test_ajax_api_door_is_mlflow(registry, vouch):
    name = unique("ajax")
    r = requests.post(registry.base + "/ajax-api/2.0/mlflow/registered-models/create",
                      json={"name": name},
                      headers={"Authorization": f"Bearer {vouch.token}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["registered_model"]["name"] == name
    [e] = events_for(vouch, name)
    assert (e["action"], e["source"]["door"]) == ("model.created", "mlflow")


def test_failed_call_changes_nothing_in_the_log(client, vouch):
    name = unique("auderr")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    before = [e["seq"] for e in events_for(vouch, name)]
    from mlflow.exceptions import MlflowException
    with pytest.raises(MlflowException):
        client.transition_model_version_stage(name, "1", "NotAStage")
    with pytest.raises(MlflowException):
        client.create_registered_model(name)
    after = [e for e in events_for(vouch, name)]
    # No state change was recorded (a refusal may be recorded, as a denial).
    assert [e["seq"] for e in after if e["outcome"] == "done"] == before

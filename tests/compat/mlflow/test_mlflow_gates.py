"""Gates on the MLflow door (issue 12): the real MlflowClient's stage transition and alias set are
refused with 403 PERMISSION_DENIED on a gated target, naming the policy and recorded as
`access.denied`, and go through on an ungated one; a request approved for a manual apply is
finished by the client's transition."""

from __future__ import annotations

import pytest
import requests
from mlflow.exceptions import MlflowException

from compat_lib import audit_events, unique

pytestmark = [pytest.mark.vouch_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

POLICIES = """policies:
  - name: gated-production
    target: stage:Production
    match: {models: ["gated-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    on_approval: manual
  - name: gated-champion
    target: alias:champion
    match: {models: ["gated-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
"""


def native(vouch, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
    return requests.request(method, vouch.base + path, timeout=30,
                            headers={"Authorization": f"Bearer {token or vouch.token}"}, **kw)


@pytest.fixture(scope="module")
def gated(vouch) -> None:
    r = native(vouch, "POST", "/api/v1/policies", json={"yaml": POLICIES})
    assert r.status_code == 200, r.text


def new_model(client, prefix: str) -> str:
    name = unique(prefix)
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/1")
    return name


def test_a_transition_into_a_gated_stage_is_refused_and_an_ungated_one_goes_through(
        client, vouch, gated):
    name = new_model(client, "gated")
    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(name, "1", "Production")
    assert refused.value.get_http_status_code() == 403, str(refused.value)
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "gated-production" in str(refused.value)
    assert client.get_model_version(name, "1").current_stage == "None"
    assert client.transition_model_version_stage(name, "1", "Staging").current_stage == "Staging"
    with pytest.raises(MlflowException) as alias:
        client.set_registered_model_alias(name, "champion", "1")
    assert alias.value.error_code == "PERMISSION_DENIED"
    client.set_registered_model_alias(name, "challenger", "1")
    # A model no policy matches moves freely.
    free = new_model(client, "free")
    assert client.transition_model_version_stage(free, "1", "Production").current_stage == \
        "Production"
    denials = [e for e in audit_events(vouch.base, vouch.token, action="access.denied")
               if "gated-production" in e.get("reason", "")]
    assert denials and denials[-1]["source"]["door"] == "mlflow", denials


def test_an_approved_manual_request_is_finished_by_the_clients_transition(client, vouch, gated):
    name = new_model(client, "gated")
    eng = unique("eng")
    assert native(vouch, "POST", "/api/v1/users", json={"name": eng, "kind": "user"}).ok
    assert native(vouch, "PUT", f"/api/v1/roles/ml-engineer/users/{eng}").ok
    token = native(vouch, "POST", "/api/v1/tokens", json={"name": "t", "owner": eng}).json()["token"]
    req = native(vouch, "POST", "/api/v1/requests",
                 json={"model": name, "version": 1, "target": "stage:Production"})
    assert req.status_code == 201, req.text
    rid = req.json()["id"]
    approved = native(vouch, "POST", f"/api/v1/requests/{rid}/approve", token=token, json={})
    assert approved.json()["state"] == "approved", approved.text
    assert client.transition_model_version_stage(name, "1", "Production").current_stage == \
        "Production"
    assert native(vouch, "GET", f"/api/v1/requests/{rid}").json()["state"] == "applied"


LEAVING = """policies:
  - name: leaving-staging
    target: stage:Staging
    match: {models: ["leaving-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    gate_removal: true
"""


def engineer(vouch) -> str:
    eng = unique("eng")
    assert native(vouch, "POST", "/api/v1/users", json={"name": eng, "kind": "user"}).ok
    assert native(vouch, "PUT", f"/api/v1/roles/ml-engineer/users/{eng}").ok
    return native(vouch, "POST", "/api/v1/tokens", json={"name": "t", "owner": eng}).json()["token"]


def test_a_demotion_out_of_a_stage_gated_with_gate_removal_is_refused(client, vouch, gated):
    r = native(vouch, "POST", "/api/v1/policies", json={"yaml": LEAVING})
    assert r.status_code == 200, r.text
    name = new_model(client, "leaving")
    token = engineer(vouch)
    req = native(vouch, "POST", "/api/v1/requests",
                 json={"model": name, "version": 1, "target": "stage:Staging"})
    assert req.status_code == 201, req.text
    entered = native(vouch, "POST", f"/api/v1/requests/{req.json()['id']}/approve", token=token,
                     json={})
    assert entered.json()["state"] == "applied", entered.text
    assert client.get_model_version(name, "1").current_stage == "Staging"

    for stage in ("Archived", "None", "Production"):
        with pytest.raises(MlflowException) as refused:
            client.transition_model_version_stage(name, "1", stage)
        assert refused.value.get_http_status_code() == 403, str(refused.value)
        assert refused.value.error_code == "PERMISSION_DENIED"
        assert "leaving-staging" in str(refused.value) and "--leave" in str(refused.value)
    assert client.get_model_version(name, "1").current_stage == "Staging"
    denials = [e for e in audit_events(vouch.base, vouch.token, action="access.denied")
               if "leaving-staging" in e.get("reason", "")]
    assert denials and denials[-1]["source"]["door"] == "mlflow", denials

    leave = native(vouch, "POST", "/api/v1/requests",
                   json={"model": name, "version": 1, "target": "leave:stage:Staging"})
    assert leave.status_code == 201, leave.text
    left = native(vouch, "POST", f"/api/v1/requests/{leave.json()['id']}/approve", token=token,
                  json={})
    assert left.json()["state"] == "applied", left.text
    assert client.get_model_version(name, "1").current_stage == "Archived"

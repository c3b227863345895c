"""MLflow-world transition requests and comments (the Databricks Workspace Model Registry's
`/api/2.0/mlflow/transition-requests/*` and `/api/2.0/mlflow/comments/*`), mapped onto vouch's
approval requests (issue 12). MLflow's OSS client has no methods for them: raw REST with HTTP Basic
(the users' passwords, as MLflow's auth app takes them), and the Databricks SDK's own
ModelRegistryAPI, which is what sends these calls in the field. Shapes are databricks-sdk's
(service/ml.py: TransitionRequest, Activity, CommentObject)."""

from __future__ import annotations

import pytest
import requests

from compat_lib import audit_events, unique

pytestmark = [pytest.mark.vouch_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

PREFIX = "/api/2.0/mlflow"
POLICIES = """policies:
  - name: tr-production
    target: stage:Production
    match: {models: ["tr-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
"""


@pytest.fixture(scope="module")
def srv(auth_servers):
    server = auth_servers("READ")
    r = requests.post(server.base + "/api/v1/policies", json={"yaml": POLICIES}, timeout=30,
                      headers={"Authorization": f"Bearer {server.token}"})
    assert r.status_code == 200, r.text
    return server


class User:
    def __init__(self, srv, name: str, password: str):
        self.srv, self.name, self.password = srv, name, password

    def call(self, method: str, path: str, body: dict | None = None, *,
             params: dict | None = None, auth=...) -> requests.Response:
        url = self.srv.base + PREFIX + path
        creds = (self.name, self.password) if auth is ... else auth
        if method in ("GET", "DELETE") and body is None:
            return requests.request(method, url, params=params, auth=creds, timeout=30)
        return requests.request(method, url, json=body or {}, params=params, auth=creds,
                                timeout=30)


def admin_call(srv, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, srv.base + path, timeout=30,
                            headers={"Authorization": f"Bearer {srv.token}"}, **kw)


def new_user(srv, prefix: str, role: str | None = None) -> User:
    name = unique(prefix)
    password = f"pw-{name}-secret"
    r = admin_call(srv, "POST", PREFIX + "/users/create",
                   json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    if role:
        r = admin_call(srv, "PUT", f"/api/v1/roles/{role}/users/{name}")
        assert r.ok, r.text
    return User(srv, name, password)


@pytest.fixture(scope="module")
def people(srv):
    """A data scientist (creates the models, so MANAGE on them), two engineers who may approve,
    and a reader with no role."""
    return {"ds": new_user(srv, "ds"), "eng1": new_user(srv, "eng", "ml-engineer"),
            "eng2": new_user(srv, "eng", "ml-engineer"), "reader": new_user(srv, "reader")}


def new_model(owner: User, versions: int = 1) -> str:
    name = unique("tr-")
    assert owner.call("POST", "/registered-models/create", {"name": name}).status_code == 200
    for i in range(versions):
        r = owner.call("POST", "/model-versions/create",
                       {"name": name, "source": f"s3://bucket/{name}/{i + 1}"})
        assert r.status_code == 200, r.text
    return name


def stage_of(user: User, name: str, version: str = "1") -> str:
    r = user.call("GET", "/model-versions/get", params={"name": name, "version": version})
    assert r.status_code == 200, r.text
    return r.json()["model_version"]["current_stage"]


def listed(user: User, name: str, version: str = "1") -> list[dict]:
    r = user.call("GET", "/transition-requests/list", params={"name": name, "version": version})
    assert r.status_code == 200, r.text
    return r.json().get("requests", [])


def refused(r: requests.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.json()["error_code"] == code, r.text
    return r.json()["message"]


def test_two_engineers_approve_a_request_and_the_version_moves(srv, people):
    ds, eng1, eng2 = people["ds"], people["eng1"], people["eng2"]
    name = new_model(ds)
    r = ds.call("POST", "/transition-requests/create",
                {"name": name, "version": "1", "stage": "production", "comment": "ship it"})
    assert r.status_code == 200, r.text
    req = r.json()["request"]
    assert req["to_stage"] == "Production" and req["user_id"] == ds.name
    assert req["comment"] == "ship it" and isinstance(req["creation_timestamp"], int)
    assert req["available_actions"] == ["CANCEL_TRANSITION_REQUEST"]
    [pending] = listed(eng1, name)
    assert pending["activity_type"] == "REQUESTED_TRANSITION"
    assert (pending["from_stage"], pending["to_stage"]) == ("None", "Production")
    assert (pending["user_id"], pending["comment"]) == (ds.name, "ship it")
    # A second request for the same stage while one is open.
    refused(ds.call("POST", "/transition-requests/create",
                    {"name": name, "version": "1", "stage": "Production"}),
            400, "RESOURCE_ALREADY_EXISTS")
    # The requester may not approve their own request (separation of duties).
    approve = {"name": name, "version": "1", "stage": "Production",
               "archive_existing_versions": True, "comment": "lgtm"}
    refused(ds.call("POST", "/transition-requests/approve", approve), 403, "PERMISSION_DENIED")
    first = eng1.call("POST", "/transition-requests/approve", approve)
    assert first.status_code == 200, first.text
    activity = first.json()["activity"]
    assert activity["activity_type"] == "APPROVED_REQUEST" and activity["user_id"] == eng1.name
    assert activity["id"] == pending["id"] and activity["comment"] == "lgtm"
    assert activity["system_comment"].startswith(f"request {pending['id']} is open"), activity
    assert stage_of(ds, name) == "None"
    second = eng2.call("POST", "/transition-requests/approve", approve)
    assert second.status_code == 200, second.text
    assert "was applied" in second.json()["activity"]["system_comment"]
    assert stage_of(ds, name) == "Production"
    assert listed(eng1, name) == []
    applied = [e for e in audit_events(srv.base, srv.token, action="request.applied")
               if e["target"].get("model") == name]
    assert len(applied) == 1 and applied[0]["source"]["door"] == "mlflow", applied


def test_a_rejection_closes_the_request(people):
    ds, eng1 = people["ds"], people["eng1"]
    name = new_model(ds)
    assert ds.call("POST", "/transition-requests/create",
                   {"name": name, "version": "1", "stage": "Production"}).status_code == 200
    r = eng1.call("POST", "/transition-requests/reject",
                  {"name": name, "version": "1", "stage": "Production", "comment": "no tests"})
    assert r.status_code == 200, r.text
    activity = r.json()["activity"]
    assert (activity["activity_type"], activity["to_stage"]) == ("REJECTED_REQUEST", "Production")
    assert activity["comment"] == "no tests" and "system_comment" not in activity
    assert listed(ds, name) == []
    refused(eng1.call("POST", "/transition-requests/approve",
                      {"name": name, "version": "1", "stage": "Production",
                       "archive_existing_versions": False}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert stage_of(ds, name) == "None"


def test_delete_cancels_the_creators_request_only_for_the_creator_or_a_manager(people):
    ds, eng1 = people["ds"], people["eng1"]
    name = new_model(ds)
    assert ds.call("POST", "/transition-requests/create",
                   {"name": name, "version": "1", "stage": "Production"}).status_code == 200
    where = {"name": name, "version": "1", "stage": "Production"}
    # Databricks' clients send a DELETE's fields in the query string.
    refused(ds.call("DELETE", "/transition-requests/delete",
                    params={**where, "creator": eng1.name}), 404, "RESOURCE_DOES_NOT_EXIST")
    refused(eng1.call("DELETE", "/transition-requests/delete",
                      params={**where, "creator": ds.name}), 403, "PERMISSION_DENIED")
    assert len(listed(ds, name)) == 1
    r = ds.call("DELETE", "/transition-requests/delete",
                params={**where, "creator": ds.name, "comment": "too early"})
    assert r.status_code == 200, r.text
    activity = r.json()["activity"]
    assert activity["activity_type"] == "CANCELLED_REQUEST" and activity["user_id"] == ds.name
    assert listed(ds, name) == []
    # A JSON body works too.
    assert ds.call("POST", "/transition-requests/create", where).status_code == 200
    r = ds.call("DELETE", "/transition-requests/delete", {**where, "creator": ds.name})
    assert r.status_code == 200, r.text


def test_comments_are_made_changed_by_their_author_and_deleted_by_author_or_manager(srv, people):
    ds, eng1, eng2 = people["ds"], people["eng1"], people["eng2"]
    name = new_model(ds)
    r = eng1.call("POST", "/comments/create", {"name": name, "version": "1",
                                              "comment": "bias scan first"})
    assert r.status_code == 200, r.text
    comment = r.json()["comment"]
    assert (comment["user_id"], comment["comment"]) == (eng1.name, "bias scan first")
    assert comment["available_actions"] == ["EDIT_COMMENT", "DELETE_COMMENT"]
    cid = comment["id"]
    assert isinstance(cid, str) and cid.isdigit()
    refused(eng2.call("PATCH", "/comments/update", {"id": cid, "comment": "mine"}),
            403, "PERMISSION_DENIED")
    r = eng1.call("PATCH", "/comments/update", {"id": cid, "comment": "bias scan, then ship"})
    assert r.status_code == 200, r.text
    assert r.json()["comment"]["comment"] == "bias scan, then ship"
    # eng2 only reads the model; ds made it and manages it.
    refused(eng2.call("DELETE", "/comments/delete", params={"id": cid}), 403, "PERMISSION_DENIED")
    assert ds.call("DELETE", "/comments/delete", params={"id": cid}).status_code == 200
    refused(ds.call("DELETE", "/comments/delete", params={"id": cid}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(eng1.call("PATCH", "/comments/update", {"id": cid, "comment": "back"}),
            404, "RESOURCE_DOES_NOT_EXIST")
    events = [e for e in audit_events(srv.base, srv.token)
              if e["action"].startswith("comment.") and e["target"].get("model") == name]
    assert [e["action"] for e in events] == ["comment.created", "comment.updated",
                                             "comment.deleted"]
    assert [e["actor"]["name"] for e in events] == [eng1.name, eng1.name, ds.name]


@pytest.mark.parametrize("path,body,code,words", [
    ("/transition-requests/create", {"name": None, "version": "1", "stage": "Production"},
     "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'"),
    ("/transition-requests/create", {"version": "1"},
     "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'stage'"),
    ("/transition-requests/create", {"version": "x", "stage": "Production"},
     "INVALID_PARAMETER_VALUE", "Parameter 'version' must be an integer"),
    ("/transition-requests/create", {"version": 1, "stage": "Production"},
     "INVALID_PARAMETER_VALUE", "Invalid value 1 for parameter 'version'"),
    ("/transition-requests/create", {"version": "1", "stage": "Prod"},
     "INVALID_PARAMETER_VALUE", "Prod"),
    ("/transition-requests/create", {"version": "1", "stage": "Staging"},
     "INVALID_PARAMETER_VALUE", "no policy gates stage:Staging"),
    ("/transition-requests/create", {"version": "1", "stage": "Production", "comment": 5},
     "INVALID_PARAMETER_VALUE", "parameter 'comment'"),
    ("/transition-requests/approve", {"version": "1", "stage": "Production"},
     "INVALID_PARAMETER_VALUE", "'archive_existing_versions'"),
    ("/transition-requests/approve", {"version": "1", "stage": "Production",
                                      "archive_existing_versions": "maybe"},
     "INVALID_PARAMETER_VALUE", "'archive_existing_versions'"),
    ("/transition-requests/reject", {"version": "1", "stage": "Production"},
     "RESOURCE_DOES_NOT_EXIST", "no open request"),
    ("/comments/create", {"version": "1"},
     "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'comment'"),
    ("/comments/create", {"version": "1", "comment": ["a"]},
     "INVALID_PARAMETER_VALUE", "parameter 'comment'"),
])
def test_bad_input_gets_an_mlflow_shaped_error_and_changes_nothing(srv, people, path, body, code,
                                                                    words):
    ds = people["ds"]
    name = new_model(ds)
    # A None drops the field (the name, for the missing-name case).
    payload = {k: v for k, v in {"name": name, **body}.items() if v is not None}
    r = ds.call("POST", path, payload)
    status = 404 if code == "RESOURCE_DOES_NOT_EXIST" else 400
    assert words in refused(r, status, code)
    assert listed(ds, name) == []
    assert stage_of(ds, name) == "None"
    assert not [e for e in audit_events(srv.base, srv.token)
                if e["target"].get("model") == name and e["action"].startswith(("request.",
                                                                                 "comment."))]


def test_unknown_models_versions_and_comments_are_404s(people):
    ds = people["ds"]
    name = new_model(ds)
    refused(ds.call("POST", "/transition-requests/create",
                    {"name": unique("tr-none"), "version": "1", "stage": "Production"}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(ds.call("GET", "/transition-requests/list", params={"name": name, "version": "7"}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(ds.call("PATCH", "/comments/update", {"id": "999999", "comment": "x"}),
            404, "RESOURCE_DOES_NOT_EXIST")
    refused(ds.call("DELETE", "/comments/delete", params={"id": "abc"}),
            400, "INVALID_PARAMETER_VALUE")


def test_who_may_call_each_route(srv, people):
    """The authorization matrix of the new routes: no credentials is 401 everywhere; a reader may
    list, comment and review (a rule decides whether the review counts) but not request; a user
    with no permission on the model gets 403 from every route that names it."""
    ds, reader = people["ds"], people["reader"]
    name = new_model(ds)
    outsider = new_user(srv, "outsider")
    r = ds.call("POST", "/registered-models/permissions/create",
                {"name": name, "username": outsider.name, "permission": "NO_PERMISSIONS"})
    assert r.status_code == 200, r.text
    where = {"name": name, "version": "1"}
    routes = [
        ("POST", "/transition-requests/create", {**where, "stage": "Production"}),
        ("GET", "/transition-requests/list", None),
        ("POST", "/transition-requests/approve", {**where, "stage": "Production",
                                                  "archive_existing_versions": False}),
        ("POST", "/transition-requests/reject", {**where, "stage": "Production"}),
        ("DELETE", "/transition-requests/delete", {**where, "stage": "Production",
                                                   "creator": ds.name}),
        ("POST", "/comments/create", {**where, "comment": "hi"}),
    ]
    for method, path, body in routes:
        params = where if body is None else None
        r = outsider.call(method, path, body, params=params, auth=None)
        refused(r, 401, "UNAUTHENTICATED")
        refused(outsider.call(method, path, body, params=params), 403, "PERMISSION_DENIED")
    refused(reader.call("POST", "/transition-requests/create", {**where, "stage": "Production"}),
            403, "PERMISSION_DENIED")
    assert reader.call("GET", "/transition-requests/list", params=where).status_code == 200
    made = reader.call("POST", "/comments/create", {**where, "comment": "hi"})
    assert made.status_code == 200, made.text
    cid = made.json()["comment"]["id"]
    refused(outsider.call("PATCH", "/comments/update", {"id": cid, "comment": "x"}),
            403, "PERMISSION_DENIED")
    refused(outsider.call("DELETE", "/comments/delete", params={"id": cid}),
            403, "PERMISSION_DENIED")
    refused(outsider.call("PATCH", "/comments/update", {"id": cid, "comment": "x"}, auth=None),
            401, "UNAUTHENTICATED")


def test_the_databricks_sdk_drives_the_routes(srv, people):
    """databricks-sdk's ModelRegistryAPI, signed in with a user's password (HTTP Basic)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.ml import ActivityType

    ds, eng1, eng2 = people["ds"], people["eng1"], people["eng2"]
    name = new_model(ds)

    def client(user: User) -> WorkspaceClient:
        return WorkspaceClient(host=srv.base, username=user.name, password=user.password,
                               auth_type="basic")

    made = client(ds).model_registry.create_transition_request(name, "1", "Production",
                                                                comment="via the sdk")
    assert made.request.to_stage == "Production" and made.request.user_id == ds.name
    [pending] = list(client(eng1).model_registry.list_transition_requests(name, "1"))
    assert pending.activity_type == ActivityType.REQUESTED_TRANSITION
    for reviewer in (eng1, eng2):
        done = client(reviewer).model_registry.approve_transition_request(
            name, "1", "Production", archive_existing_versions=False, comment="ok")
        assert done.activity.activity_type == ActivityType.APPROVED_REQUEST
    assert stage_of(ds, name) == "Production"
    comment = client(eng1).model_registry.create_comment(name, "1", "shipped").comment
    assert comment.user_id == eng1.name
    assert client(eng1).model_registry.update_comment(comment.id, "shipped!").comment.comment == \
        "shipped!"
    client(eng1).model_registry.delete_comment(comment.id)
    assert ds.call("DELETE", "/comments/delete", params={"id": comment.id}).status_code == 404
    # A request and its cancellation (DELETE with the fields in the query string).
    assert ds.call("POST", "/model-versions/create",
                   {"name": name, "source": f"s3://bucket/{name}/2"}).status_code == 200
    client(ds).model_registry.create_transition_request(name, "2", "Production")
    gone = client(ds).model_registry.delete_transition_request(name, "2", "Production",
                                                               creator=ds.name, comment="later")
    assert gone.activity.activity_type == ActivityType.CANCELLED_REQUEST
    assert listed(ds, name, "2") == []

"""MLflow's basic-auth app against vouch, with the real clients: the auth client
(`mlflow.server.get_app_client("basic-auth", …)`) administers users and model permissions, and
`MlflowClient` signs in with MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (HTTP Basic).

Without `vouch_only`, a test holds for MLflow's own basic-auth app too (COMPAT_TARGET=mlflow runs it
against `mlflow server --app-name basic-auth`): the statuses and error codes the client reports, who
may read, change, delete and grant, search filtered to what the caller may read, the creator's
MANAGE. The `vouch_only` tests check what only vouch has: the audit trail, MLflow 2.x's
registered-models/permissions endpoints (the 3.17 server dropped them; raw REST here, as the 2.x
client sends them), vouch's wording and its limits.
"""

from __future__ import annotations

import json

import pytest
import requests
from mlflow.exceptions import MlflowException

from compat_lib import audit_events, unique, wait_until

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def srv(auth_servers):
    """Default permission READ, as MLflow's auth app ships."""
    return auth_servers("READ")


@pytest.fixture(scope="module")
def closed(auth_servers):
    """Default permission NO_PERMISSIONS: a user reads only what it was granted or made."""
    return auth_servers("NO_PERMISSIONS")


def refused(exc_info, status: int, code: str) -> None:
    """The client reported the refusal with this HTTP status and MLflow error code (a RestException
    for a JSON error body, an MlflowException for MLflow's plain-text 401 and 403)."""
    e = exc_info.value
    assert (e.get_http_status_code(), e.error_code) == (status, code), str(e)


def new_user(server, prefix: str = "user") -> tuple[str, str]:
    name = unique(prefix)
    password = f"pw-{name}-secret"
    with server.as_admin() as admin:
        admin.auth.create_user(name, password)
    return name, password


def new_model(server, versions: int = 1, name: str | None = None) -> str:
    name = name or unique("authm")
    with server.as_admin() as admin:
        admin.registry.create_registered_model(name)
        for i in range(versions):
            admin.registry.create_model_version(name, f"s3://bucket/{name}/{i + 1}")
    return name


def grant(server, user: str, model: str, permission: str) -> None:
    with server.as_admin() as admin:
        admin.auth.grant_user_permission(user, "registered_model", model, permission)


def permission_of(server, user: str, model: str) -> tuple[str, bool]:
    with server.as_admin() as admin:
        p = admin.auth.get_user_permission(user, "registered_model", model)
    return p.permission, p.allowed


# ---------------------------------------------------------------------------------------------
# Users


def test_admin_creates_gets_updates_and_deletes_users(srv):
    name, first, second = unique("user"), "first-password-1", "second-password-2"
    with srv.as_admin() as admin:
        user = admin.auth.create_user(name, first)
        assert (user.username, user.is_admin) == (name, False)
        assert isinstance(user.id, int)
        got = admin.auth.get_user(name)
        assert (got.id, got.username, got.is_admin) == (user.id, name, False)
        with pytest.raises(MlflowException) as e:
            admin.auth.create_user(name, "another-password-3")
        refused(e, 400, "RESOURCE_ALREADY_EXISTS")

        admin.auth.update_user_admin(name, True)
        assert admin.auth.get_user(name).is_admin is True
        admin.auth.update_user_admin(name, False)
        assert admin.auth.get_user(name).is_admin is False
        admin.auth.update_user_password(name, second)

    with srv.as_user(name, second) as me:
        assert me.auth.get_user(name).id == user.id
    with srv.as_user(name, first) as stale:
        with pytest.raises(MlflowException) as e:
            stale.auth.get_user(name)
        refused(e, 401, "UNAUTHENTICATED")

    with srv.as_admin() as admin:
        admin.auth.delete_user(name)
        with pytest.raises(MlflowException) as e:
            admin.auth.get_user(name)
        refused(e, 404, "RESOURCE_DOES_NOT_EXIST")
    with srv.as_user(name, second) as gone:
        with pytest.raises(MlflowException) as e:
            gone.registry.search_registered_models(max_results=1)
        refused(e, 401, "UNAUTHENTICATED")


def test_a_user_reads_itself_and_changes_only_its_own_password(srv):
    name, password = new_user(srv)
    with srv.as_user(name, password) as me:
        assert me.auth.get_user(name).username == name
        with pytest.raises(MlflowException) as e:
            me.auth.get_user(srv.admin)
        refused(e, 403, "PERMISSION_DENIED")
        with pytest.raises(MlflowException) as e:
            me.auth.create_user(unique("user"), "some-password-12")
        refused(e, 403, "PERMISSION_DENIED")
        with pytest.raises(MlflowException) as e:
            me.auth.update_user_admin(name, True)
        refused(e, 403, "PERMISSION_DENIED")
        with pytest.raises(MlflowException) as e:
            me.auth.update_user_password(srv.admin, "taken-over-password")
        refused(e, 403, "PERMISSION_DENIED")
        # Its own password only with the current one (MLflow: 400; vouch: 403).
        with pytest.raises(MlflowException) as e:
            me.auth.update_user_password(name, "new-password-123", current_password="wrong-one-123")
        assert e.value.get_http_status_code() in (400, 403), str(e.value)
        me.auth.update_user_password(name, "new-password-123", current_password=password)
    with srv.as_user(name, "new-password-123") as me:
        assert me.auth.get_user(name).is_admin is False
    with srv.as_admin() as admin:
        assert admin.auth.get_user(name).is_admin is False


def test_wrong_password_is_a_401_the_client_reports(srv):
    name, password = new_user(srv)
    model = new_model(srv)
    with srv.as_user(name, "not-the-password") as bad:
        with pytest.raises(MlflowException) as e:
            bad.registry.get_registered_model(model)
        refused(e, 401, "UNAUTHENTICATED")
        with pytest.raises(MlflowException) as e:
            bad.auth.get_user(name)
        refused(e, 401, "UNAUTHENTICATED")
    with srv.as_user(unique("nobody"), "whatever-password") as unknown:
        with pytest.raises(MlflowException) as e:
            unknown.registry.search_registered_models(max_results=1)
        refused(e, 401, "UNAUTHENTICATED")
    r = requests.get(srv.base + "/api/2.0/mlflow/registered-models/get", params={"name": model},
                     auth=(name, "not-the-password"), timeout=30)
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate") == 'Basic realm="mlflow"'
    with srv.as_user(name, password) as me:
        assert me.registry.get_registered_model(model).name == model


# ---------------------------------------------------------------------------------------------
# Permissions


def test_grant_get_and_revoke_through_the_auth_client(srv):
    model = new_model(srv)
    name, password = new_user(srv)
    assert permission_of(srv, name, model) == ("READ", False)  # the default; USE is "allowed"
    grant(srv, name, model, "EDIT")
    assert permission_of(srv, name, model) == ("EDIT", True)
    with srv.as_admin() as admin:
        with pytest.raises(MlflowException) as e:
            admin.auth.grant_user_permission(name, "registered_model", model, "MANAGE")
        refused(e, 400, "RESOURCE_ALREADY_EXISTS")
        admin.auth.revoke_user_permission(name, "registered_model", model)
        with pytest.raises(MlflowException) as e:
            admin.auth.revoke_user_permission(name, "registered_model", model)
        refused(e, 404, "RESOURCE_DOES_NOT_EXIST")
    assert permission_of(srv, name, model) == ("READ", False)
    grant(srv, name, model, "USE")
    assert permission_of(srv, name, model) == ("USE", True)

    with srv.as_user(name, password) as me:
        own = me.auth.get_user_permission(name, "registered_model", model)
        assert (own.permission, own.allowed) == ("USE", True)
        with pytest.raises(MlflowException) as e:
            me.auth.get_user_permission(srv.admin, "registered_model", model)
        refused(e, 403, "PERMISSION_DENIED")


def test_read_user_reads_but_may_not_change_delete_or_grant(srv):
    model = new_model(srv, versions=2)
    name, password = new_user(srv, "reader")
    grant(srv, name, model, "READ")
    with srv.as_user(name, password) as me:
        r = me.registry
        assert r.get_registered_model(model).name == model
        assert r.get_model_version(model, "1").source == f"s3://bucket/{model}/1"
        assert r.get_model_version_download_uri(model, "2") == f"s3://bucket/{model}/2"
        assert [m.name for m in r.search_registered_models(f"name = '{model}'")] == [model]
        assert sorted(v.version for v in r.search_model_versions(f"name = '{model}'")) == ["1", "2"]
        assert [v.version for v in r.get_latest_versions(model, stages=["None"])] == ["2"]
        for attempt in (lambda: r.transition_model_version_stage(model, "1", "Staging"),
                        lambda: r.set_registered_model_tag(model, "k", "v"),
                        lambda: r.update_registered_model(model, description="mine now"),
                        lambda: r.create_model_version(model, "s3://bucket/sneaky"),
                        lambda: r.delete_model_version(model, "2"),
                        lambda: r.delete_registered_model(model)):
            with pytest.raises(MlflowException) as e:
                attempt()
            refused(e, 403, "PERMISSION_DENIED")
        with pytest.raises(MlflowException) as e:
            me.auth.grant_user_permission(name, "registered_model", model, "EDIT")
        refused(e, 403, "PERMISSION_DENIED")
    with srv.as_admin() as admin:
        versions = admin.registry.search_model_versions(f"name = '{model}'")
        assert sorted((v.version, v.current_stage) for v in versions) == [("1", "None"),
                                                                          ("2", "None")]
        assert admin.registry.get_registered_model(model).tags == {}
    assert permission_of(srv, name, model) == ("READ", False)


def test_edit_user_transitions_but_may_not_delete_or_grant(srv):
    model = new_model(srv, versions=1)
    name, password = new_user(srv, "editor")
    other, _ = new_user(srv)
    grant(srv, name, model, "EDIT")
    with srv.as_user(name, password) as me:
        r = me.registry
        assert r.transition_model_version_stage(model, "1", "Staging").current_stage == "Staging"
        r.set_registered_model_tag(model, "team", "risk")
        r.update_model_version(model, "1", description="checked")
        assert r.create_model_version(model, f"s3://bucket/{model}/2").version == "2"
        r.set_registered_model_alias(model, "candidate", "2")
        for attempt in (lambda: r.delete_model_version(model, "1"),
                        lambda: r.delete_registered_model(model),
                        lambda: r.delete_registered_model_alias(model, "candidate")):
            with pytest.raises(MlflowException) as e:
                attempt()
            refused(e, 403, "PERMISSION_DENIED")
        for user, level in ((name, "MANAGE"), (other, "READ")):
            with pytest.raises(MlflowException) as e:
                me.auth.grant_user_permission(user, "registered_model", model, level)
            refused(e, 403, "PERMISSION_DENIED")
    assert permission_of(srv, name, model) == ("EDIT", True)
    assert permission_of(srv, other, model) == ("READ", False)
    with srv.as_admin() as admin:
        assert admin.registry.get_model_version(model, "1").current_stage == "Staging"
        assert admin.registry.get_model_version_by_alias(model, "candidate").version == "2"


def test_the_creator_of_a_model_manages_it(closed):
    owner, owner_pw = new_user(closed, "owner")
    other, other_pw = new_user(closed)
    model = unique("owned")
    with closed.as_user(owner, owner_pw) as me:
        me.registry.create_registered_model(model)
        me.registry.create_model_version(model, f"s3://bucket/{model}/1")
        p = me.auth.get_user_permission(owner, "registered_model", model)
        assert (p.permission, p.allowed) == ("MANAGE", True)
    with closed.as_user(other, other_pw) as them:
        with pytest.raises(MlflowException) as e:
            them.registry.get_registered_model(model)
        refused(e, 403, "PERMISSION_DENIED")
    with closed.as_user(owner, owner_pw) as me:
        me.auth.grant_user_permission(other, "registered_model", model, "EDIT")
    with closed.as_user(other, other_pw) as them:
        assert them.registry.transition_model_version_stage(model, "1", "Production").version == "1"
        with pytest.raises(MlflowException) as e:
            them.registry.delete_registered_model(model)
        refused(e, 403, "PERMISSION_DENIED")
    with closed.as_user(owner, owner_pw) as me:
        me.registry.delete_model_version(model, "1")
        me.registry.delete_registered_model(model)


def _all_pages(search, page_size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = search(max_results=page_size, page_token=token)
        pages.append(page)
        token = page.token
        if not token:
            return pages


def test_search_shows_only_readable_models_page_by_page(closed):
    prefix = unique("page")
    names = [f"{prefix}-{i:02d}" for i in range(9)]
    for n in names:
        new_model(closed, versions=1, name=n)
    readable = [names[i] for i in (0, 2, 3, 5, 8)]
    reader, password = new_user(closed, "reader")
    for n in readable:
        grant(closed, reader, n, "READ")

    with closed.as_user(reader, password) as me:
        r = me.registry
        pages = _all_pages(lambda **kw: r.search_registered_models(
            f"name LIKE '{prefix}%'", order_by=["name ASC"], **kw), 2)
        got = [[m.name for m in page] for page in pages]
        assert [n for page in got for n in page] == readable, got
        assert all(len(page) == 2 for page in got[:-1]) and 1 <= len(got[-1]) <= 2, got

        pages = _all_pages(lambda **kw: r.search_model_versions(
            f"name LIKE '{prefix}%'", order_by=["name ASC"], **kw), 2)
        got = [[v.name for v in page] for page in pages]
        assert [n for page in got for n in page] == readable, got
        if closed.is_vouch:
            # vouch skips unreadable versions before it cuts the page; MLflow filters each page
            # after the fact, so its version pages come short, even empty, in the middle.
            assert all(len(page) == 2 for page in got[:-1]) and len(got[-1]) >= 1, got

        with pytest.raises(MlflowException) as e:
            r.get_registered_model(names[1])
        refused(e, 403, "PERMISSION_DENIED")
        with pytest.raises(MlflowException) as e:
            r.get_model_version(names[4], "1")
        refused(e, 403, "PERMISSION_DENIED")

    with closed.as_admin() as admin:
        everything = admin.registry.search_registered_models(f"name LIKE '{prefix}%'",
                                                             max_results=100)
        assert sorted(m.name for m in everything) == names


def test_every_registry_call_works_with_basic_auth(srv):
    """The whole registry surface of MlflowClient, signed in with a username and password (the
    user made the model, so it manages it)."""
    name, password = new_user(srv)
    model, renamed = unique("basic"), unique("basic-renamed")
    with srv.as_user(name, password) as me:
        r = me.registry
        rm = r.create_registered_model(model, tags={"team": "risk"}, description="d0")
        assert rm.name == model
        r.update_registered_model(model, description="d1")
        r.set_registered_model_tag(model, "owner", name)
        r.delete_registered_model_tag(model, "team")
        # No run_id: MLflow's auth app would want READ on that run in its tracking store.
        v1 = r.create_model_version(model, f"s3://bucket/{model}/1", tags={"k": "v"},
                                    description="first")
        v2 = r.create_model_version(model, f"s3://bucket/{model}/2")
        assert (v1.version, v2.version) == ("1", "2")
        r.update_model_version(model, "1", description="first, checked")
        r.set_model_version_tag(model, "1", "validated", "yes")
        r.delete_model_version_tag(model, "1", "k")
        r.transition_model_version_stage(model, "1", "Production")
        mv = r.transition_model_version_stage(model, "2", "Production",
                                              archive_existing_versions=True)
        assert mv.current_stage == "Production"
        assert r.get_model_version(model, "1").current_stage == "Archived"
        assert [v.version for v in r.get_latest_versions(model, stages=["Production"])] == ["2"]
        r.set_registered_model_alias(model, "champion", "2")
        assert r.get_model_version_by_alias(model, "champion").version == "2"
        r.delete_registered_model_alias(model, "champion")
        assert r.get_model_version_download_uri(model, "1") == f"s3://bucket/{model}/1"
        got = r.get_registered_model(model)
        assert (got.description, got.tags) == ("d1", {"owner": name})
        assert [m.name for m in r.search_registered_models(f"name = '{model}'")] == [model]
        assert len(r.search_model_versions(f"name = '{model}'")) == 2
        r.delete_model_version(model, "1")
        r.rename_registered_model(model, renamed)
        assert r.get_registered_model(renamed).name == renamed
        if srv.is_vouch:
            # vouch records who made what; MLflow leaves user_id empty.
            assert r.get_model_version(renamed, "2").user_id == name
        r.delete_registered_model(renamed)
        with pytest.raises(MlflowException) as e:
            r.get_registered_model(renamed)
        refused(e, 404, "RESOURCE_DOES_NOT_EXIST")


# ---------------------------------------------------------------------------------------------
# vouch only: the audit trail, MLflow 2.x's endpoints, vouch's limits


def _events(server) -> list[dict]:
    return audit_events(server.base, server.token)


@pytest.mark.vouch_only
def test_identity_changes_and_refusals_are_audited(srv):
    name, password = new_user(srv, "audited")
    model = new_model(srv)
    with srv.as_admin() as admin:
        admin.auth.update_user_password(name, "changed-password-1")
        admin.auth.update_user_admin(name, True)
        admin.auth.update_user_admin(name, False)
        admin.auth.grant_user_permission(name, "registered_model", model, "READ")
    with srv.as_user(name, "changed-password-1") as me:
        with pytest.raises(MlflowException):
            me.registry.delete_registered_model(model)
    with srv.as_user(name, "not-the-password") as bad:
        with pytest.raises(MlflowException):
            bad.registry.get_registered_model(model)
    with srv.as_admin() as admin:
        admin.auth.revoke_user_permission(name, "registered_model", model)
        admin.auth.delete_user(name)

    def mine(events):
        return [e for e in events
                if (e.get("target") or {}).get("principal") == name
                or ((e.get("target") or {}).get("type") == "model_permission"
                    and (e.get("target") or {}).get("user") == name)]

    evs = mine(_events(srv))
    assert [e["action"] for e in evs] == [
        "principal.created", "principal.password_set", "principal.updated", "principal.updated",
        "permission.granted", "permission.revoked", "principal.deleted"], evs
    for e in evs:
        assert e["source"]["door"] == "mlflow", e
        assert e["actor"]["name"] == "admin", e
        assert e["outcome"] == "done", e
    assert evs[2]["after"] == {"is_admin": True} and evs[3]["after"] == {"is_admin": False}
    granted = evs[4]
    assert granted["target"]["model"] == model
    assert granted["after"] == {"permission": "READ"}

    # The 403 is recorded at once under the user; the refused sign-in within the denial window
    # (one second here), with the identity it tried.
    denied = [e for e in _events(srv) if e["action"] == "access.denied"
              and (e.get("actor") or {}).get("name") == name]
    assert denied and denied[0]["outcome"] == "denied", denied
    assert "MANAGE" in denied[0]["reason"], denied
    assert denied[0]["source"]["door"] == "mlflow"
    attempted = wait_until(
        lambda: [e for e in _events(srv) if e["action"] == "access.denied"
                 and (e.get("target") or {}).get("attempted") == name],
        timeout=15, what="the refused sign-in in the audit log")
    assert attempted[0]["outcome"] == "denied"

    trail = json.dumps(_events(srv))
    for secret in (password, "changed-password-1", "not-the-password"):
        assert secret not in trail


@pytest.mark.vouch_only
def test_a_refused_stage_change_is_found_by_the_models_audit_filter(srv):
    """Issue 11: a denial names the model and version it was refused on, so the model's history
    (the native filter and `vouch audit log --model`) shows who tried and was refused."""
    model = new_model(srv, versions=1)
    name, password = new_user(srv, "refused")
    grant(srv, name, model, "READ")
    with srv.as_user(name, password) as me:
        with pytest.raises(MlflowException) as e:
            me.registry.transition_model_version_stage(model, "1", "Production")
        refused(e, 403, "PERMISSION_DENIED")

    denied = [e for e in audit_events(srv.base, srv.token, model=model)
              if e["action"] == "access.denied"]
    assert len(denied) == 1, denied
    d = denied[0]
    assert (d["actor"]["name"], d["source"]["door"], d["outcome"]) == (name, "mlflow", "denied")
    assert d["target"] == {"type": "request", "method": "POST",
                           "path": "/api/2.0/mlflow/model-versions/transition-stage",
                           "model": model, "version": 1}, d
    assert f"model '{model}'" in d["reason"], d
    assert [e["seq"] for e in audit_events(srv.base, srv.token, model=model, version=1)
            if e["action"] == "access.denied"] == [d["seq"]]

    r = srv.server.cli("audit", "log", "--model", model)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if "access.denied" in x)
    assert name in line and " mlflow " in line and f"{model} v1" in line, line


def _rest(server, method: str, path: str, body=None, *, auth=None, prefix="/api/2.0/mlflow",
          **params):
    auth = auth or (server.admin, server.admin_password)
    url = server.base + prefix + path
    if method == "GET":
        return requests.get(url, params=params, auth=auth, timeout=30)
    return requests.request(method, url, data=json.dumps(body or {}), auth=auth, timeout=30,
                            headers={"Content-Type": "application/json"})


def _error(r: requests.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error_code"] == code, body
    return body["message"]


@pytest.mark.vouch_only
def test_mlflow2_user_and_registered_model_permission_endpoints(srv):
    name, password = unique("v2user"), "v2-user-password-1"
    r = _rest(srv, "POST", "/users/create", {"username": name, "password": password})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user == {"id": user["id"], "username": name, "is_admin": False,
                    "experiment_permissions": [], "registered_model_permissions": []}
    r = _rest(srv, "GET", "/users/get", username=name, prefix="/ajax-api/2.0/mlflow")
    assert r.json() == {"user": user}

    model = new_model(srv)
    expected = {"registered_model_permission": {"name": model, "user_id": user["id"],
                                                "permission": "READ"}}
    r = _rest(srv, "POST", "/registered-models/permissions/create",
              {"name": model, "username": name, "permission": "READ"})
    assert (r.status_code, r.json()) == (200, expected)
    r = _rest(srv, "POST", "/registered-models/permissions/create",
              {"name": model, "username": name, "permission": "EDIT"})
    assert _error(r, 400, "RESOURCE_ALREADY_EXISTS") == (
        f"Registered model permission (name={model}, username={name}) already exists.")
    r = _rest(srv, "GET", "/registered-models/permissions/get", name=model, username=name)
    assert (r.status_code, r.json()) == (200, expected)

    # A READ user may read grants but not make them, not even for itself.
    r = _rest(srv, "POST", "/registered-models/permissions/create",
              {"name": model, "username": name, "permission": "MANAGE"}, auth=(name, password))
    _error(r, 403, "PERMISSION_DENIED")
    r = _rest(srv, "PATCH", "/registered-models/permissions/update",
              {"name": model, "username": name, "permission": "MANAGE"}, auth=(name, password))
    _error(r, 403, "PERMISSION_DENIED")

    r = _rest(srv, "PATCH", "/registered-models/permissions/update",
              {"name": model, "username": name, "permission": "EDIT"})
    assert (r.status_code, r.json()) == (200, {})
    r = _rest(srv, "GET", "/registered-models/permissions/get", name=model, username=name)
    assert r.json()["registered_model_permission"]["permission"] == "EDIT"
    r = _rest(srv, "DELETE", "/registered-models/permissions/delete",
              {"name": model, "username": name})
    assert (r.status_code, r.json()) == (200, {})
    r = _rest(srv, "GET", "/registered-models/permissions/get", name=model, username=name)
    assert _error(r, 404, "RESOURCE_DOES_NOT_EXIST") == (
        f"Registered model permission with name={model} and username={name} not found")
    r = _rest(srv, "PATCH", "/registered-models/permissions/update",
              {"name": model, "username": name, "permission": "EDIT"})
    _error(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = _rest(srv, "DELETE", "/registered-models/permissions/delete",
              {"name": model, "username": name})
    _error(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = _rest(srv, "POST", "/registered-models/permissions/create",
              {"name": unique("missing"), "username": name, "permission": "READ"})
    _error(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = _rest(srv, "POST", "/registered-models/permissions/create",
              {"name": model, "username": name, "permission": "SUPER"})
    _error(r, 400, "INVALID_PARAMETER_VALUE")

    r = _rest(srv, "PATCH", "/users/update-admin", {"username": name, "is_admin": True})
    assert (r.status_code, r.json()) == (200, {})
    assert _rest(srv, "GET", "/users/get", username=name).json()["user"]["is_admin"] is True
    r = _rest(srv, "DELETE", "/users/delete", {"username": name})
    assert (r.status_code, r.json()) == (200, {})
    _error(_rest(srv, "GET", "/users/get", username=name), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.vouch_only
def test_bad_auth_requests_get_mlflow_errors_that_never_echo_a_password(srv):
    r = _rest(srv, "POST", "/users/create", {"username": unique("u")})
    assert "'password'" in _error(r, 400, "INVALID_PARAMETER_VALUE")
    r = _rest(srv, "POST", "/users/create", {"username": unique("u"), "password": 123456789012345})
    assert "123456789012345" not in _error(r, 400, "INVALID_PARAMETER_VALUE")
    r = _rest(srv, "POST", "/users/create", {"username": unique("u"), "password": "short"})
    _error(r, 400, "INVALID_PARAMETER_VALUE")
    r = _rest(srv, "POST", "/users/create", {"username": "no spaces", "password": "long-enough-pw"})
    _error(r, 400, "INVALID_PARAMETER_VALUE")
    r = _rest(srv, "PATCH", "/users/update-admin", {"username": unique("nobody"), "is_admin": True})
    _error(r, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.vouch_only
def test_per_user_api_serves_registered_models_only(srv):
    name, _ = new_user(srv)
    model = new_model(srv)
    with srv.as_admin() as admin:
        for resource_type, resource_id, status, code in (
                ("experiment", "1", 501, "NOT_IMPLEMENTED"),
                ("prompt", "p", 501, "NOT_IMPLEMENTED"),
                ("registered_model", "*", 501, "NOT_IMPLEMENTED"),
                ("workspace", "*", 400, "INVALID_PARAMETER_VALUE"),
                ("bogus", "x", 400, "INVALID_PARAMETER_VALUE")):
            with pytest.raises(MlflowException) as e:
                admin.auth.grant_user_permission(name, resource_type, resource_id, "READ")
            refused(e, status, code)
            with pytest.raises(MlflowException) as e:
                admin.auth.get_user_permission(name, resource_type, resource_id)
            refused(e, status, code)
        with pytest.raises(MlflowException) as e:
            admin.auth.grant_user_permission(name, "registered_model", model, "OWNER")
        refused(e, 400, "INVALID_PARAMETER_VALUE")
        with pytest.raises(MlflowException) as e:
            admin.auth.get_user_permission(name, "registered_model", unique("missing"))
        refused(e, 404, "RESOURCE_DOES_NOT_EXIST")
        # DENY is vouch's NO_PERMISSIONS: nothing, whatever the default.
        admin.auth.grant_user_permission(name, "registered_model", model, "DENY")
    assert permission_of(srv, name, model) == ("NO_PERMISSIONS", False)
    # The /api/3.0 prefix answers in MLflow's error shape too.
    r = requests.get(srv.base + "/api/3.0/mlflow/no-such-endpoint",
                     auth=(srv.admin, srv.admin_password), timeout=30)
    assert "no such endpoint" in _error(r, 404, "RESOURCE_DOES_NOT_EXIST")
    r = requests.get(srv.base + "/ajax-api/3.0/mlflow/users/permissions/get",
                     params={"username": name, "resource_type": "registered_model",
                             "resource_id": model}, timeout=30)
    _error(r, 401, "UNAUTHENTICATED")
    assert r.headers.get("WWW-Authenticate") == 'Basic realm="mlflow"'


@pytest.mark.vouch_only
def test_the_last_admin_can_be_neither_demoted_nor_deleted(srv):
    with srv.as_admin() as admin:
        with pytest.raises(MlflowException) as e:
            admin.auth.update_user_admin(srv.admin, False)
        refused(e, 400, "INVALID_PARAMETER_VALUE")
        with pytest.raises(MlflowException) as e:
            admin.auth.delete_user(srv.admin)
        refused(e, 400, "INVALID_PARAMETER_VALUE")
        assert admin.auth.get_user(srv.admin).is_admin is True


@pytest.mark.vouch_only
def test_a_token_and_a_password_are_the_same_user(srv):
    """The bootstrap admin signs in with its token (MLFLOW_TRACKING_TOKEN) or its password; both
    act as `admin`."""
    from compat_lib import signed_in

    model = unique("tok")
    with signed_in(srv.base, token=srv.token) as by_token:
        by_token.registry.create_registered_model(model)
        by_token.registry.create_model_version(model, f"s3://bucket/{model}/1")
        assert by_token.auth.get_user(srv.admin).is_admin is True
    with srv.as_admin() as by_password:
        assert by_password.registry.get_model_version(model, "1").user_id == srv.admin
        assert by_password.registry.create_model_version(model, "s3://b/2").user_id == srv.admin

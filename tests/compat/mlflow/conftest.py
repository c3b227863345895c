"""Fixtures for the MLflow compatibility suite.

- `vouch`: one real `vouch serve` per test module (as tests/integration starts it), with the
  bootstrap admin token, on SQLite or, with VOUCH_TEST_STORE=postgres, a fresh PostgreSQL database.
- `registry`: what the MlflowClient tests talk to. Normally vouch. With COMPAT_TARGET=mlflow the
  same tests run against a real `mlflow server` instead — a check of the tests themselves: a test
  that fails there asserts something MLflow does not do. Tests of what only vouch does (user_id,
  audit, credentials) are marked `vouch_only` and skipped in that mode.
- `client`: an `mlflow.MlflowClient` pointed at `registry`, with the module's credentials in the
  environment (no retries, short timeouts).
- `auth_servers`: servers with users and passwords for the auth tests, one per default permission:
  vouch, its bootstrap admin given a password through MLflow's auth API, or with
  COMPAT_TARGET=mlflow a real `mlflow server --app-name basic-auth`.
- `mlflow_peer`: a real `mlflow server` (SQLite backend) for the differential and split set-up tests.
  Every peer that the collected tests need is spawned when collection ends, so its slow start-up
  (database migrations, uvicorn) overlaps with the other tests; the fixture only waits for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from compat_lib import (ADMIN_TOKEN, MlflowServer, Rest, VouchServer, apply_env, mlflow_env,
                        signed_in)
from vouch_testlib import check_audit_logs_after_session, suite_store

TARGET = os.environ.get("COMPAT_TARGET", "vouch")


def pytest_configure(config):
    config.addinivalue_line("markers", "vouch_only: checks what only vouch does (skipped when "
                                       "COMPAT_TARGET=mlflow)")
    config.addinivalue_line("markers", "mlflow2: the smoke run with the last MLflow 2.x client "
                                       "(its own virtual environment and pytest invocation)")
    config.addinivalue_line("markers", "mlflow_peer(name, **options): the test uses the real "
                                       "`mlflow server` peer of that name")


def pytest_report_header(config):
    return f"vouch store: {suite_store()} (VOUCH_TEST_STORE)"


def pytest_collection_modifyitems(config, items):
    # Modules that need a real `mlflow server` run last, so its slow start-up (begun when
    # collection ends) overlaps with the rest. The sort is stable: each module stays together.
    items.sort(key=lambda item: item.get_closest_marker("mlflow_peer") is not None)
    if TARGET == "mlflow":
        skip = pytest.mark.skip(reason="vouch-only behaviour (COMPAT_TARGET=mlflow)")
        for item in items:
            if item.get_closest_marker("vouch_only"):
                item.add_marker(skip)


# ---------------------------------------------------------------------------------------------
# Real `mlflow server` peers, spawned early


_PEERS: dict[str, MlflowServer] = {}
_PEER_ROOT: Path | None = None


def _peer(name: str, **options) -> MlflowServer:
    """The peer of that name (made on first use; `options` go to MlflowServer)."""
    global _PEER_ROOT
    if name not in _PEERS:
        if _PEER_ROOT is None:
            _PEER_ROOT = Path(tempfile.mkdtemp(prefix="vouch-compat-mlflow-"))
        _PEERS[name] = MlflowServer(_PEER_ROOT / name, **options)
    return _PEERS[name]


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    wanted: dict[str, dict] = {}
    if TARGET == "mlflow":
        wanted["registry"] = {}
    for item in session.items:
        for mark in item.iter_markers("mlflow_peer"):
            if mark.args and mark.args[0] not in wanted:
                wanted[mark.args[0]] = dict(mark.kwargs)
    for name, options in wanted.items():
        _peer(name, **options).spawn()


def pytest_sessionfinish(session, exitstatus):
    for srv in _PEERS.values():
        srv.close()
    if _PEER_ROOT is not None:
        shutil.rmtree(_PEER_ROOT, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def audit_logs_verify_at_the_end(tmp_path_factory) -> Iterator[None]:
    """After the last test, `vouch audit verify` on every vouch data directory the session left
    under its temporary root (tests/integration/conftest.py does the same)."""
    yield
    check_audit_logs_after_session(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def mlflow_peer(request) -> MlflowServer:
    """The real `mlflow server` named by the module's `mlflow_peer` marker, ready."""
    mark = request.node.get_closest_marker("mlflow_peer")
    name = mark.args[0] if mark and mark.args else "default"
    srv = _peer(name, **(mark.kwargs if mark else {}))
    if srv.proc is None:
        srv.spawn()
    srv.wait_ready()
    return srv


# ---------------------------------------------------------------------------------------------
# vouch


@pytest.fixture(scope="module")
def vouch(tmp_path_factory) -> Iterator[VouchServer]:
    root = tmp_path_factory.mktemp("vouch")
    data = root / "data"
    data.mkdir()
    srv = VouchServer(data, root / "logs", token=ADMIN_TOKEN)
    srv.start()
    yield srv
    srv.close()


@dataclass
class Registry:
    """The registry server the client tests talk to."""
    kind: str           # "vouch" or "mlflow"
    base: str
    token: str | None

    @property
    def is_vouch(self) -> bool:
        return self.kind == "vouch"

    def rest(self, prefix: str = "/api/2.0/mlflow") -> Rest:
        return Rest(self.base, self.token, prefix)


@pytest.fixture(scope="module")
def registry(request) -> Registry:
    if TARGET == "mlflow":
        srv = _peer("registry")
        if srv.proc is None:
            srv.spawn()
        srv.wait_ready()
        return Registry("mlflow", srv.base, None)
    srv = request.getfixturevalue("vouch")
    return Registry("vouch", srv.base, srv.token)


@pytest.fixture(scope="module")
def module_env(registry) -> Iterator[None]:
    """The client's environment for the whole module (module-scoped fixtures create data too)."""
    mp = pytest.MonkeyPatch()
    apply_env(mp, mlflow_env(registry.token))
    yield
    mp.undo()


@pytest.fixture
def client(registry, module_env):
    import mlflow
    return mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)


@pytest.fixture(scope="module")
def module_client(registry, module_env):
    import mlflow
    return mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)


@pytest.fixture
def rest(registry) -> Rest:
    return registry.rest()


# ---------------------------------------------------------------------------------------------
# Servers with users (MLflow's basic-auth app, or vouch)


ADMIN_PASSWORD = "vouch-admin-password-1"


@dataclass
class AuthServer:
    """A server whose users sign in with passwords, and its admin's credentials."""
    kind: str                 # "vouch" or "mlflow"
    base: str
    admin: str
    admin_password: str
    token: str | None         # vouch's bootstrap admin token (native API); None for MLflow
    default_permission: str
    server: VouchServer | MlflowServer

    @property
    def is_vouch(self) -> bool:
        return self.kind == "vouch"

    def as_admin(self):
        return signed_in(self.base, self.admin, self.admin_password)

    def as_user(self, username: str, password: str):
        return signed_in(self.base, username, password)


@pytest.fixture(scope="module")
def auth_servers(tmp_path_factory) -> Iterator[Callable[[str], AuthServer]]:
    """`auth_servers(default_permission)`: the module's server with that --default-permission
    (READ, NO_PERMISSIONS, …), made on first use. vouch's gets a high --max-failed-logins (tests
    send wrong passwords on purpose) and a one-second --denial-window (so refused sign-ins reach
    the audit log quickly)."""
    made: dict[str, AuthServer] = {}
    own: list[VouchServer] = []

    def get(default_permission: str = "READ") -> AuthServer:
        if default_permission in made:
            return made[default_permission]
        if TARGET == "mlflow":
            srv = _peer(f"basic-auth-{default_permission.lower()}", basic_auth=default_permission)
            if srv.proc is None:
                srv.spawn()
            srv.wait_ready()
            made[default_permission] = AuthServer("mlflow", srv.base, MlflowServer.AUTH_ADMIN,
                                                  MlflowServer.AUTH_ADMIN_PASSWORD, None,
                                                  default_permission, srv)
            return made[default_permission]
        root = tmp_path_factory.mktemp("vouch-auth")
        (root / "data").mkdir()
        srv = VouchServer(root / "data", root / "logs", token=ADMIN_TOKEN,
                          args=["--default-permission", default_permission,
                                "--max-failed-logins", "1000", "--denial-window", "1s"])
        own.append(srv)
        srv.start()
        # The bootstrap admin has a token and no password: it sets one with its token, through
        # the auth client (MLFLOW_TRACKING_TOKEN), as an operator would.
        with signed_in(srv.base, token=srv.token) as c:
            c.auth.update_user_password("admin", ADMIN_PASSWORD)
        made[default_permission] = AuthServer("vouch", srv.base, "admin", ADMIN_PASSWORD,
                                              srv.token, default_permission, srv)
        return made[default_permission]

    yield get
    for srv in own:
        srv.close()

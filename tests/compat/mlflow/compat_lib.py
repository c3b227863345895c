"""Helpers for the MLflow compatibility suite: the real `mlflow server` as a peer process, raw MLflow
REST calls, and the normalisation used by the differential tests.

The vouch server itself comes from tests/integration/vouch_testlib.py (the black-box suite's
helpers), so both suites start the binary the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

_INTEGRATION = Path(__file__).resolve().parents[2] / "integration"
if str(_INTEGRATION) not in sys.path:
    sys.path.insert(0, str(_INTEGRATION))

from vouch_testlib import (  # noqa: E402  (re-exported for the test modules)
    ADMIN_TOKEN,
    REPO,
    VouchServer,
    clean_env,
    free_port,
    wait_until,
)

__all__ = [
    "ADMIN_TOKEN", "REPO", "VouchServer", "clean_env", "free_port", "wait_until", "MlflowServer",
    "Rest", "unique", "mv_dict", "rm_dict", "mlflow_env", "apply_env", "native_get",
    "audit_events", "signed_in", "Clients",
]

# Environment every MLflow client in this suite runs with: no retries (a failure shows at once and a
# create is never sent twice) and a short timeout.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    # Keep the client quiet and local.
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_TRACKING_AUTH": "",
}


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def mlflow_env(token: str | None, username: str | None = None,
               password: str | None = None) -> dict[str, str | None]:
    """The variables to set for a client talking to a server with `token`, or with `username` and
    `password` (HTTP Basic, which the client prefers); all None: no credentials."""
    env: dict[str, str | None] = dict(CLIENT_ENV)
    env["MLFLOW_TRACKING_TOKEN"] = token
    env["MLFLOW_TRACKING_USERNAME"] = username
    env["MLFLOW_TRACKING_PASSWORD"] = password
    env["MLFLOW_TRACKING_INSECURE_TLS"] = None
    return env


def apply_env(mp: pytest.MonkeyPatch, env: dict[str, str | None]) -> None:
    for k, v in env.items():
        if v is None or v == "":
            mp.delenv(k, raising=False)
        else:
            mp.setenv(k, v)


@dataclass
class Clients:
    """The two clients a user of MLflow's basic-auth app has: the registry and the auth app's."""
    registry: Any   # mlflow.MlflowClient
    auth: Any       # mlflow.server.auth.client.AuthServiceClient


@contextmanager
def signed_in(base: str, username: str | None = None, password: str | None = None, *,
              token: str | None = None) -> Iterator[Clients]:
    """Both clients of one identity, as MLflow users configure them: MLFLOW_TRACKING_USERNAME and
    MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN), read by the client at each request, so
    the environment holds them until the block ends."""
    import mlflow
    from mlflow.server import get_app_client

    mp = pytest.MonkeyPatch()
    apply_env(mp, mlflow_env(token, username, password))
    try:
        yield Clients(mlflow.MlflowClient(tracking_uri=base, registry_uri=base),
                      get_app_client("basic-auth", tracking_uri=base))
    finally:
        mp.undo()


# ---------------------------------------------------------------------------------------------
# The real MLflow server


def mlflow_cli() -> Path:
    """The `mlflow` command for peers: the pinned 3.x server in .venv (the 2.x smoke run's
    environment has only the client), else the one next to the running interpreter."""
    for p in (REPO / ".venv" / "bin" / "mlflow", Path(sys.executable).parent / "mlflow"):
        if p.exists():
            return p
    pytest.fail(f"no `mlflow` command next to {sys.executable} or in .venv; run scripts/python-env")


class MlflowServer:
    """One `mlflow server` process (SQLite backend) on a free loopback port.

    `basic_auth`: run MLflow's basic-auth app (`--app-name basic-auth`) with this default
    permission; its admin is `admin` with the password MLFLOW_AUTH_ADMIN_PASSWORD below."""

    AUTH_ADMIN = "admin"
    AUTH_ADMIN_PASSWORD = "mlflow-peer-admin-password"

    def __init__(self, root: Path, *, serve_artifacts: bool = True,
                 default_artifact_root: bool = True, basic_auth: str | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.serve_artifacts = serve_artifacts
        self.default_artifact_root = default_artifact_root
        self.basic_auth = basic_auth
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = self.root / "mlflow-server.log"
        self.started_at = 0.0
        self.ready = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        """Starts the process without waiting for it (see wait_ready)."""
        self.port = free_port()
        cmd = [str(mlflow_cli()), "server",
               "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        if self.default_artifact_root:
            cmd += ["--default-artifact-root", str(self.root / "art")]
        if self.serve_artifacts:
            cmd += ["--serve-artifacts", "--artifacts-destination", str(self.root / "artifacts")]
        else:
            cmd += ["--no-serve-artifacts"]
        env = clean_env({"PYTHONUNBUFFERED": "1"})
        for k in list(env):
            if k.startswith("MLFLOW_"):
                del env[k]
        if self.basic_auth:
            cmd += ["--app-name", "basic-auth"]
            ini = self.root / "basic_auth.ini"
            ini.write_text("[mlflow]\n"
                           f"default_permission = {self.basic_auth}\n"
                           f"database_uri = sqlite:///{self.root / 'basic_auth.db'}\n"
                           f"admin_username = {self.AUTH_ADMIN}\n"
                           "authorization_function = "
                           "mlflow.server.auth:authenticate_request_basic_auth\n")
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
            env["MLFLOW_AUTH_ADMIN_PASSWORD"] = self.AUTH_ADMIN_PASSWORD
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "vouch-compat-peer"
        self.started_at = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, cwd=self.root,
                                         start_new_session=True)

    def wait_ready(self, timeout: float = 180.0) -> "MlflowServer":
        """Waits until the server answers a registry search (its /health answers earlier)."""
        if self.ready:
            return self
        assert self.proc is not None, "spawn() first"
        deadline = self.started_at + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited with {self.proc.returncode}:\n{self.logs()}")
            auth = (self.AUTH_ADMIN, self.AUTH_ADMIN_PASSWORD) if self.basic_auth else None
            try:
                r = requests.get(self.base + "/api/2.0/mlflow/registered-models/search",
                                 params={"max_results": 1}, timeout=5, auth=auth)
                if r.status_code == 200:
                    self.ready = True
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.close()
                pytest.fail(f"mlflow server did not answer within {timeout}s:\n{self.logs()}")
            time.sleep(0.2)

    def start(self, timeout: float = 180.0) -> "MlflowServer":
        self.spawn()
        return self.wait_ready(timeout)

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # The server runs uvicorn workers in its own session; end that process group only.
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


# ---------------------------------------------------------------------------------------------
# Raw MLflow REST


class Rest:
    """Raw MLflow REST calls (`/api/2.0/mlflow/...`), for what the client hides: omitted-vs-empty
    fields, HTTP statuses, headers."""

    def __init__(self, base: str, token: str | None = None, prefix: str = "/api/2.0/mlflow"):
        self.base = base.rstrip("/")
        self.token = token
        self.prefix = prefix
        self.session = requests.Session()

    def headers(self, token: Any = ...) -> dict[str, str]:
        tok = self.token if token is ... else token
        return {"Authorization": f"Bearer {tok}"} if tok else {}

    def request(self, method: str, path: str, body: dict | None = None, *,
                params: dict | list | None = None, token: Any = ...) -> requests.Response:
        url = self.base + self.prefix + path
        h = self.headers(token)
        if method == "GET":
            return self.session.get(url, params=params if params is not None else body,
                                    headers=h, timeout=30)
        h["Content-Type"] = "application/json"
        return self.session.request(method, url, data=json.dumps(body or {}), headers=h,
                                    params=params, timeout=30)

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)


def native_get(server, path: str, **params) -> Any:
    """GET on vouch's native API with the server's token; asserts 200 and returns the JSON body."""
    r = requests.get(server.base + path, params=params or None,
                     headers={"Authorization": f"Bearer {server.token}"}, timeout=30)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:500]}"
    return r.json()


def audit_events(base: str, token: str, **filters) -> list[dict]:
    """Every vouch audit event matching the filters (native API), following page tokens."""
    out, page = [], None
    while True:
        params = {"limit": 1000, **{k: v for k, v in filters.items() if v is not None}}
        if page:
            params["page_token"] = page
        r = requests.get(base + "/api/v1/audit", params=params,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, f"GET /api/v1/audit: {r.status_code} {r.text[:500]}"
        body = r.json()
        out += body["events"]
        page = body.get("next_page_token")
        if not page:
            return out


# ---------------------------------------------------------------------------------------------
# Client objects as plain data (for the differential tests)


def mv_dict(mv) -> dict:
    """A ModelVersion entity as a dict of its public fields."""
    return {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "description": mv.description,
        "user_id": mv.user_id,
        "current_stage": mv.current_stage,
        "source": mv.source,
        "run_id": mv.run_id,
        "run_link": mv.run_link,
        "status": mv.status,
        "status_message": mv.status_message,
        "tags": dict(mv.tags),
        "aliases": sorted(mv.aliases or []),
    }


def rm_dict(rm) -> dict:
    """A RegisteredModel entity as a dict of its public fields."""
    return {
        "name": rm.name,
        "creation_timestamp": rm.creation_timestamp,
        "last_updated_timestamp": rm.last_updated_timestamp,
        "description": rm.description,
        "latest_versions": [mv_dict(v) for v in (rm.latest_versions or [])],
        "tags": dict(rm.tags),
        "aliases": dict(rm.aliases),
    }

"""Helpers for the black-box suite: start the real `vouch` binary, talk HTTP and CLI to it, and check
every response against docs/openapi.yaml.

Nothing here knows the server's internals; everything goes through the process, its flags, its
data directory and its sockets.
"""

from __future__ import annotations

import http.client
import atexit
import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import requests
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO / "docs" / "openapi.yaml"
API_MD_PATH = REPO / "docs" / "api.md"

# A token for servers started with VOUCH_BOOTSTRAP_TOKEN; long and random enough to be a real one.
ADMIN_TOKEN = "vouch-test-admin-" + uuid.uuid4().hex

SPEC_URI = "urn:vouch:openapi"
UNSET: Any = object()


def vouch_bin() -> Path:
    p = Path(os.environ.get("VOUCH_BIN", "build/release/vouch"))
    if not p.is_absolute():
        p = REPO / p
    return p


def require_binary() -> Path:
    p = vouch_bin()
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"vouch binary not found at {p} (set VOUCH_BIN or build it first)")
    return p


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def quote_segment(s: str | int) -> str:
    """One percent-encoded path segment: '/' and everything else outside unreserved is encoded.
    A segment of only dots is encoded too, or HTTP clients would resolve it as '.' or '..'."""
    q = urllib.parse.quote(str(s), safe="")
    if q and set(q) == {"."}:
        q = "%2E" * len(q)
    return q


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05,
               what: str = "condition") -> Any:
    """Polls `predicate` until it returns a truthy value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment without any VOUCH_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    env.update(extra or {})
    return env


# ---------------------------------------------------------------------------------------------
# OpenAPI


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class Spec:
    """docs/openapi.yaml, with helpers to validate live responses against it."""

    def __init__(self, path: Path = OPENAPI_PATH):
        self.doc = yaml.safe_load(path.read_text())
        resource = Resource(contents=self.doc, specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    # -- schema validation
    def validator(self, pointer: str) -> Draft202012Validator:
        v = self._validators.get(pointer)
        if v is None:
            frag = urllib.parse.quote(pointer, safe="/~")
            v = Draft202012Validator({"$ref": f"{SPEC_URI}#{frag}"}, registry=self.registry)
            self._validators[pointer] = v
        return v

    def validate_pointer(self, instance: Any, pointer: str) -> None:
        errors = sorted(self.validator(pointer).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            lines = [f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                     for e in errors[:10]]
            raise AssertionError(f"response does not match {pointer}:\n" + "\n".join(lines)
                                 + f"\ninstance: {json.dumps(instance)[:2000]}")

    def validate_schema(self, instance: Any, name: str) -> None:
        self.validate_pointer(instance, f"/components/schemas/{name}")

    # -- operations
    def operations(self) -> list[tuple[str, str]]:
        ops = []
        for path, item in self.doc["paths"].items():
            for method in ("get", "put", "post", "delete", "patch", "head", "options"):
                if method in item:
                    ops.append((method.upper(), path))
        return ops

    def _deref(self, obj: dict, pointer: str) -> tuple[dict, str]:
        while "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            pointer = ref[1:]
            obj = self.doc
            for part in pointer.lstrip("/").split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    def response_for(self, method: str, template: str, status: int) -> tuple[dict, str]:
        item = self.doc["paths"].get(template)
        assert item is not None, f"{template} is not in docs/openapi.yaml"
        op = item.get(method.lower())
        assert op is not None, f"{method} {template} is not in docs/openapi.yaml"
        responses = op["responses"]
        key = str(status)
        if key not in responses:
            raise AssertionError(
                f"{method} {template} answered {status}, which docs/openapi.yaml does not document "
                f"for it (documented: {sorted(responses)})")
        pointer = f"/paths/{_pointer_escape(template)}/{method.lower()}/responses/{key}"
        return self._deref(responses[key], pointer)

    def named_response(self, name: str) -> tuple[dict, str]:
        return self._deref(self.doc["components"]["responses"][name],
                           f"/components/responses/{name}")

    def check_response(self, resp: requests.Response | "RawResponse", response_obj: dict,
                       pointer: str) -> Any:
        """Validates headers and body of `resp` against one OpenAPI response object."""
        headers = resp.headers
        for hname, hobj in (response_obj.get("headers") or {}).items():
            hobj, hptr = self._deref(hobj, f"{pointer}/headers/{_pointer_escape(hname)}")
            value = headers.get(hname)
            if hobj.get("required"):
                assert value is not None, f"response lacks required header {hname}"
            if value is not None and "schema" in hobj:
                self.validate_pointer(value, f"{hptr}/schema")
        content = response_obj.get("content")
        body = resp.content
        if not content:
            assert body in (b"", None), f"expected no body, got {body[:200]!r}"
            return None
        ctype = headers.get("Content-Type", "")
        media = ctype.split(";")[0].strip()
        if media == "text/plain" and "text/plain" in content:
            text = body.decode()
            self.validate_pointer(text, f"{pointer}/content/text~1plain/schema")
            return text
        if media != "application/json" and media in content:
            # A binary answer (the audit log's tiles): the declared schema is a binary string, so
            # only its media type and its presence can be checked here.
            schema = content[media].get("schema", {})
            assert schema.get("type") == "string" and schema.get("format") == "binary", \
                f"{pointer}: {media} is declared but not as a binary string"
            return body
        assert media == "application/json", f"Content-Type {ctype!r}"
        data = json.loads(body)
        self.validate_pointer(data, f"{pointer}/content/application~1json/schema")
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            assert data["error"].get("request_id") == headers.get("X-Request-Id"), \
                "error.request_id differs from the X-Request-Id header"
        return data

    def check(self, resp, method: str, template: str) -> Any:
        obj, ptr = self.response_for(method, template, resp.status_code)
        return self.check_response(resp, obj, ptr)

    def check_named(self, resp, name: str) -> Any:
        obj, ptr = self.named_response(name)
        return self.check_response(resp, obj, ptr)


# ---------------------------------------------------------------------------------------------
# Raw HTTP, for requests that `requests` will not send (oversized, malformed, half-sent)


@dataclass
class RawResponse:
    status_code: int
    headers: http.client.HTTPMessage
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def raw_request(port: int, request_bytes: bytes, timeout: float = 15.0) -> RawResponse:
    """Sends bytes as they are and parses the first response. Tolerates the server closing the
    connection before it has read the whole body (it may answer 413 as soon as it sees the length)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(request_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return RawResponse(resp.status, resp.headers, body)
    finally:
        sock.close()


def build_request(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for k, v in headers.items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")



# ---------------------------------------------------------------------------------------------
# The store the suite runs on, and the PostgreSQL test cluster


def suite_store() -> str:
    """`sqlite` (vouch's default: a file in the data directory) or `postgres` (VOUCH_TEST_STORE):
    then every server gets a database of its own on the cluster of VOUCH_TEST_POSTGRES_DSN."""
    store = os.environ.get("VOUCH_TEST_STORE", "").strip().lower() or "sqlite"
    if store not in ("sqlite", "postgres"):
        raise ValueError(f"VOUCH_TEST_STORE={store!r}: use sqlite or postgres")
    return store


def postgres_admin_dsn() -> str | None:
    """The cluster's superuser DSN (scripts/pg-test-cluster prints it), or None."""
    return os.environ.get("VOUCH_TEST_POSTGRES_DSN") or None


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


class Postgres:
    """A PostgreSQL cluster reached through a superuser DSN, driven with `psql` (no Python driver
    needed). Database and role names given to it must be plain identifiers: they go into SQL."""

    def __init__(self, admin_dsn: str):
        u = urllib.parse.urlsplit(admin_dsn)
        if u.scheme not in ("postgresql", "postgres") or not u.hostname:
            raise ValueError("VOUCH_TEST_POSTGRES_DSN must be a postgresql://USER:PASS@HOST:PORT/DB "
                             "URI")
        self.user = urllib.parse.unquote(u.username or "")
        self.password = urllib.parse.unquote(u.password or "")
        self.host = u.hostname
        self.port = u.port or 5432
        self.database = u.path.lstrip("/") or self.user
        self.psql_bin = _find_psql()

    def dsn(self, database: str | None = None, user: str | None = None,
            password: str | None = UNSET, port: int | None = None,
            host: str | None = None) -> str:
        """A URI for `database` (default: the admin DSN's) as `user` (default: the admin)."""
        user = self.user if user is None else user
        password = self.password if (password is UNSET and user == self.user) else password
        password = None if password is UNSET else password
        auth = urllib.parse.quote(user, safe="")
        if password is not None:
            auth += ":" + urllib.parse.quote(password, safe="")
        return (f"postgresql://{auth}@{host or self.host}:{port or self.port}/"
                f"{urllib.parse.quote(database or self.database, safe='')}")

    def psql(self, sql: str, *, database: str | None = None, user: str | None = None,
             password: str | None = UNSET, check: bool = True,
             timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Runs `sql` (one or more statements, each in its own transaction: they are read from
        stdin, not -c) and returns the finished process; fails the test on an error unless
        check=False. Output is unaligned, tuples only, fields separated by a tab."""
        user = self.user if user is None else user
        if password is UNSET:
            password = self.password if user == self.user else None
        env = clean_env({"PGPASSWORD": password or "", "PGCONNECT_TIMEOUT": "10",
                         "PGAPPNAME": "vouch-tests"})
        for k in ("PGSERVICE", "PGSERVICEFILE", "PGPASSFILE", "PGOPTIONS"):
            env.pop(k, None)
        cmd = [self.psql_bin, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
               "-d", self.dsn(database, user, password=None)]
        r = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout,
                           env=env)
        if check and r.returncode != 0:
            pytest.fail(f"psql as {user} on {database or self.database} failed ({r.returncode}):"
                        f"\n{sql}\n{r.stderr}")
        return r

    def rows(self, sql: str, **kw) -> list[list[str]]:
        """The rows of one query, each a list of text fields."""
        out = self.psql(sql, **kw).stdout
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def value(self, sql: str, **kw) -> str:
        rows = self.rows(sql, **kw)
        assert len(rows) == 1 and len(rows[0]) == 1, f"expected one value from {sql!r}: {rows}"
        return rows[0][0]

    def dump(self, database: str) -> bytes:
        """pg_dump of the database's data (plain SQL), for tests that look for what must not be
        stored."""
        pg_dump = str(Path(self.psql_bin).with_name("pg_dump"))
        env = clean_env({"PGPASSWORD": self.password})
        r = subprocess.run([pg_dump, "--data-only", "-d", self.dsn(database, password=None)],
                           capture_output=True, timeout=60, env=env)
        if r.returncode != 0:
            pytest.fail(f"pg_dump {database} failed: {r.stderr.decode(errors='replace')}")
        return r.stdout

    def create_database(self, name: str, owner: str | None = None) -> None:
        sql = f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else "")
        self.psql(sql + ";")
        _made_databases.append((self, name))

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')


def _find_psql() -> str:
    """psql from the cluster's own installation when pg_config names one, else from PATH."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                    timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            bindir = ""
        if bindir and os.access(Path(bindir) / "psql", os.X_OK):
            return str(Path(bindir) / "psql")
    found = shutil.which("psql")
    if not found:
        pytest.fail("psql not found (install Debian's postgresql-client)")
    return found


_made_databases: list[tuple[Postgres, str]] = []
_cluster: Postgres | None = None
_cluster_lock = threading.Lock()


def postgres_cluster() -> Postgres:
    """The cluster of VOUCH_TEST_POSTGRES_DSN (fails the test when it is not set)."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            dsn = postgres_admin_dsn()
            if not dsn:
                pytest.fail("VOUCH_TEST_POSTGRES_DSN is not set (scripts/pg-test-cluster start "
                            "prints one)")
            _cluster = Postgres(dsn)
        return _cluster


def new_database_name(prefix: str = "vt") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@atexit.register
def _drop_made_databases() -> None:
    """Drops the databases this process made (one psql run), so a long-lived cluster does not fill
    up. Servers are stopped by then; WITH (FORCE) ends any connection a killed one left behind."""
    by_cluster: dict[int, tuple[Postgres, list[str]]] = {}
    for pg, name in _made_databases:
        by_cluster.setdefault(id(pg), (pg, []))[1].append(name)
    for pg, names in by_cluster.values():
        sql = "".join(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE);\n' for n in names)
        try:
            pg.psql(sql, check=False, timeout=120)
        except Exception:  # noqa: BLE001  (best effort at exit)
            pass


# The file in a data directory that ties it to its PostgreSQL database and master key, so that a
# restart on the same directory (after kill -9 too) finds the same store.
POSTGRES_STATE_FILE = "test-postgres.json"


def postgres_store_for(data_dir: Path) -> dict:
    """{"database", "dsn", "master_key"} of the data directory's own database, made on first use."""
    pg = postgres_cluster()
    state_path = Path(data_dir) / POSTGRES_STATE_FILE
    if state_path.exists():
        state = json.loads(state_path.read_text())
    else:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        state = {"database": new_database_name(), "master_key": new_master_key()}
        pg.create_database(state["database"])
        fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
    return {**state, "dsn": pg.dsn(state["database"])}


# ---------------------------------------------------------------------------------------------
# The audit log of every data directory a session left


# A file a test creates in a data directory that it damaged on purpose (a corrupted database, a
# rewritten audit event): the session's closing check does not verify that directory.
DAMAGED_MARKER = "DAMAGED"


def mark_damaged(data_dir: Path, why: str) -> None:
    """Tells the closing check (unverified_data_dirs) that `data_dir` was damaged on purpose."""
    (Path(data_dir) / DAMAGED_MARKER).write_text(why + "\n")


def data_dirs_under(root: Path) -> list[Path]:
    """The vouch data directories under `root`: those holding a SQLite store (vouch.db) or tied to
    a PostgreSQL test database (POSTGRES_STATE_FILE)."""
    found = {p.parent for name in ("vouch.db", POSTGRES_STATE_FILE)
             for p in Path(root).rglob(name) if p.is_file()}
    return sorted(found)


def verify_data_dir(data_dir: Path, timeout: float = 600.0) -> list[str]:
    """Runs `vouch audit verify` on each store of `data_dir` (its SQLite file, its PostgreSQL
    database); returns one line for each that does not verify, [] when all do."""
    data_dir = Path(data_dir)
    stores: list[tuple[str, list[str]]] = []
    if (data_dir / "vouch.db").is_file():
        stores.append(("sqlite", ["--data-dir", str(data_dir)]))
    state = data_dir / POSTGRES_STATE_FILE
    if state.is_file():
        database = json.loads(state.read_text())["database"]
        stores.append((f"postgresql database {database}",
                       ["--store", postgres_cluster().dsn(database)]))
    problems = []
    for what, args in stores:
        try:
            r = run_cli([str(require_binary()), "audit", "verify", *args], timeout=timeout)
        except subprocess.TimeoutExpired:
            problems.append(f"{data_dir} ({what}): `vouch audit verify` did not finish in {timeout}s")
            continue
        if r.returncode != 0:
            problems.append(f"{data_dir} ({what}): exit {r.returncode}: "
                            f"{(r.stderr or r.stdout).strip()[:500]}")
    return problems


def unverified_data_dirs(root: Path) -> list[str]:
    """`vouch audit verify` on every data directory under `root` except those marked DAMAGED;
    one line for each store that does not verify."""
    problems = []
    for d in data_dirs_under(root):
        if not (d / DAMAGED_MARKER).exists():
            problems += verify_data_dir(d)
    return problems


def check_audit_logs_after_session(root: Path) -> None:
    """The closing check of a black-box session: fails (naming them) when a data directory the
    session left under `root` does not verify. Every test's changes are audited and the log is the
    product, so no suite may end with a log that does not verify, unless a test damaged the
    directory on purpose and said so (mark_damaged)."""
    problems = unverified_data_dirs(root)
    if problems:
        pytest.fail("the audit log of these data directories does not verify (a test that "
                    f"damages one on purpose must create <data-dir>/{DAMAGED_MARKER}):\n  "
                    + "\n  ".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------------
# The server process


_server_counter = itertools.count(1)


class VouchServer:
    """One `vouch serve` process on a free loopback port.

    `store`: UNSET runs it on the suite's store (suite_store()): SQLite in the data directory, or,
    under VOUCH_TEST_STORE=postgres, a database of its own on the test cluster with a master key,
    both tied to the data directory (see postgres_store_for), so a restart on the same directory
    finds the same data. None: vouch's default (SQLite) whatever the suite's store. A string: given
    as --store as it is (the caller supplies any master key)."""

    def __init__(self, data_dir: Path, log_dir: Path, *, token: str | None = ADMIN_TOKEN,
                 args: Iterable[str] = (), env: dict[str, str] | None = None,
                 store: str | None = UNSET):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.bootstrap_token = token
        self.token = token
        self.args = list(args)
        self.extra_env = dict(env or {})
        if store is UNSET:
            store = "postgres" if suite_store() == "postgres" else None
            self._own_postgres = store is not None
        else:
            self._own_postgres = False
        self.store = store
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.stdout_path: Path | None = None
        self.stderr_path: Path | None = None
        # For a server given --tls-cert/--tls-key: scheme "https", and ca_file the CA that signed
        # its certificate (readiness polling verifies against it).
        self.scheme = "http"
        self.ca_file: Path | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def store_kind(self) -> str:
        """"sqlite" or "postgres": where this server's registry lives."""
        return "postgres" if (self._own_postgres or (self.store or "").startswith("postgres")) \
            else "sqlite"

    def postgres(self) -> dict:
        """This server's own test database ({"database", "dsn", "master_key"}); made on first use."""
        assert self._own_postgres, "the server runs on a store the test chose"
        return postgres_store_for(self.data_dir)

    def _store_args_and_env(self) -> tuple[list[str], dict[str, str]]:
        if self._own_postgres:
            pg = self.postgres()
            return ["--store", pg["dsn"]], {"VOUCH_MASTER_KEY": pg["master_key"]}
        if self.store is not None:
            return ["--store", self.store], {}
        return [], {}

    def command(self) -> list[str]:
        store_args, _ = self._store_args_and_env()
        return [str(require_binary()), "serve", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}", *store_args, *self.args]

    def spawn(self) -> subprocess.Popen:
        """Starts the process without waiting for readiness."""
        self.port = free_port()
        n = next(_server_counter)
        self.stdout_path = self.log_dir / f"server-{n}.stdout"
        self.stderr_path = self.log_dir / f"server-{n}.stderr"
        env = {}
        if self.bootstrap_token is not None:
            env["VOUCH_BOOTSTRAP_TOKEN"] = self.bootstrap_token
        env.update(self._store_args_and_env()[1])
        env.update(self.extra_env)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=clean_env(env))
        return self.proc

    def start(self, timeout: float = 30.0) -> "VouchServer":
        for attempt in range(3):
            self.spawn()
            try:
                self.wait_ready(timeout)
                return self
            except _ExitedEarly:
                # The free port may have been taken between our probe and the server's bind.
                if attempt < 2 and "in use" in self.logs().lower():
                    continue
                pytest.fail(f"vouch serve exited with {self.proc.returncode} before it was "
                            f"ready:\n{self.logs()}")
        raise AssertionError("unreachable")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise _ExitedEarly()
            try:
                r = requests.get(self.base + "/ready", timeout=1,
                                 verify=str(self.ca_file) if self.ca_file else True)
                # The start-up report ends with "listening on"; wait for it too, so that a test
                # reading the log right after start finds the whole report.
                if r.status_code == 200 and "listening on http" in self.stderr():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"vouch serve was not ready after {timeout}s:\n{self.logs()}")
            time.sleep(0.02)

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def logs(self) -> str:
        return f"--- stdout\n{self.stdout()[-4000:]}\n--- stderr\n{self.stderr()[-4000:]}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code (fails the test if it does not exit)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"vouch serve did not exit within {timeout}s of SIGTERM:\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, timeout: float = 30.0) -> "VouchServer":
        if self.running():
            self.terminate()
        return self.start(timeout)

    def close(self) -> None:
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    # -- the store underneath
    def sql(self, statement: str) -> list[tuple[str, ...]]:
        """Runs one SQL statement on this server's own store, behind its back (SQLite file or
        PostgreSQL database), commits, and returns the rows as text. For tests that tamper with
        the database on purpose."""
        if self.store_kind == "postgres":
            assert self._own_postgres, "the test chose the store; query it itself"
            pg = postgres_cluster()
            return [tuple(r) for r in pg.rows(statement, database=self.postgres()["database"])]
        import sqlite3
        con = sqlite3.connect(self.data_dir / "vouch.db")
        try:
            rows = con.execute(statement).fetchall()
            con.commit()
        finally:
            con.close()
        return [tuple("" if v is None else str(v) for v in r) for r in rows]

    def stored_bytes(self) -> bytes:
        """Everything the server keeps: the files of its data directory, and on PostgreSQL a dump
        of its database."""
        out = b"".join(p.read_bytes() for p in sorted(self.data_dir.iterdir()) if p.is_file())
        if self.store_kind == "postgres":
            out += postgres_cluster().dump(self.postgres()["database"])
        return out

    # -- clients
    def api(self, spec: Spec, token: str | None = UNSET) -> "Api":
        return Api(self, spec, self.token if token is UNSET else token)

    def cli(self, *args: str, token: str | None = UNSET, server: str | None = UNSET,
            env: dict[str, str] | None = None, timeout: float = 60.0,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        """Runs the `vouch` client with --server/--token set to this server (unless overridden)."""
        cmd = [str(require_binary())]
        srv = self.base if server is UNSET else server
        tok = self.token if token is UNSET else token
        if srv is not None:
            cmd += ["--server", srv]
        if tok is not None:
            cmd += ["--token", tok]
        cmd += list(args)
        return run_cli(cmd, env=env, timeout=timeout, cwd=cwd)


class _ExitedEarly(Exception):
    pass


def run_cli(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 60.0,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=clean_env(env), stdin=subprocess.DEVNULL, cwd=cwd)


def json_lines(text: str) -> list[dict]:
    """Parses CLI json output: one JSON object per non-empty line."""
    out = []
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line)
            assert isinstance(obj, dict), f"not a JSON object per line: {line!r}"
            out.append(obj)
    return out


# ---------------------------------------------------------------------------------------------
# The HTTP client


class Api:
    """A keep-alive HTTP client for one server, validating every answer against the spec."""

    def __init__(self, server: VouchServer, spec: Spec, token: str | None):
        self.server = server
        self.spec = spec
        self.token = token
        self.session = requests.Session()
        if server.ca_file:
            # trust_env off, or REQUESTS_CA_BUNDLE in the environment would override verify.
            self.session.verify = str(server.ca_file)
            self.session.trust_env = False

    @property
    def base(self) -> str:
        return self.server.base

    def headers(self, extra: dict[str, str] | None = None, token: str | None = UNSET) -> dict:
        h = {}
        tok = self.token if token is UNSET else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
        h.update(extra or {})
        return h

    def raw(self, method: str, path: str, *, json_body: Any = UNSET, data: bytes | str | None = None,
            params: dict | None = None, headers: dict | None = None, token: str | None = UNSET,
            timeout: float = 30.0) -> requests.Response:
        """One request to a literal path (already encoded), no validation."""
        h = self.headers(headers, token)
        kwargs: dict[str, Any] = {"params": params, "headers": h, "timeout": timeout}
        if json_body is not UNSET:
            kwargs["data"] = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        elif data is not None:
            kwargs["data"] = data.encode() if isinstance(data, str) else data
            h.setdefault("Content-Type", "application/json")
        return self.session.request(method, self.base + path, **kwargs)

    def call(self, method: str, template: str, *, path: dict | None = None,
             json_body: Any = UNSET, data: bytes | str | None = None, params: dict | None = None,
             headers: dict | None = None, token: str | None = UNSET,
             expect: int | None = None, code: str | None = None) -> requests.Response:
        """Fills the path template (each value percent-encoded as one segment), sends, validates
        status/headers/body against docs/openapi.yaml and, when given, the expected status and
        error code."""
        url_path = template
        for k, v in (path or {}).items():
            url_path = url_path.replace("{" + k + "}", quote_segment(v))
        assert "{" not in url_path, f"unfilled path parameter in {url_path}"
        r = self.raw(method, url_path, json_body=json_body, data=data, params=params,
                     headers=headers, token=token)
        body = self.spec.check(r, method, template)
        if expect is not None:
            assert r.status_code == expect, (
                f"{method} {url_path}: expected {expect}, got {r.status_code}: {r.text[:1000]}")
        if code is not None:
            assert isinstance(body, dict) and body.get("error", {}).get("code") == code, (
                f"{method} {url_path}: expected error {code}, got {r.status_code}: {r.text[:1000]}")
        return r

    # -- conveniences used by many tests
    def create_model(self, name: str, **fields) -> dict:
        return self.call("POST", "/api/v1/models", json_body={"name": name, **fields},
                         expect=201).json()

    def get_model(self, name: str) -> requests.Response:
        return self.call("GET", "/api/v1/models/{name}", path={"name": name})

    def create_version(self, name: str, source: str = "s3://bucket/model.tar.gz", **fields) -> dict:
        return self.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                         json_body={"source": source, **fields}, expect=201).json()

    def get_version(self, name: str, n: int) -> requests.Response:
        return self.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": n})

    def list_versions(self, name: str) -> list[dict]:
        out, token = [], None
        while True:
            params = {"limit": 1000}
            if token:
                params["page_token"] = token
            body = self.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                             params=params, expect=200).json()
            out += body["versions"]
            token = body.get("next_page_token")
            if not token:
                return out

    def list_models(self) -> list[dict]:
        out, token = [], None
        while True:
            params = {"limit": 1000}
            if token:
                params["page_token"] = token
            body = self.call("GET", "/api/v1/models", params=params, expect=200).json()
            out += body["models"]
            token = body.get("next_page_token")
            if not token:
                return out

    def events(self, **filters) -> list[dict]:
        """Every audit event matching the filters, following next_page_token to the end."""
        out, token = [], None
        while True:
            params = {"limit": 1000, **{k: v for k, v in filters.items() if v is not None}}
            if token:
                params["page_token"] = token
            body = self.call("GET", "/api/v1/audit", params=params, expect=200).json()
            out += body["events"]
            token = body.get("next_page_token")
            if not token:
                return out

    def max_seq(self) -> int:
        evs = self.events()
        return evs[-1]["seq"] if evs else 0

    def events_after(self, seq: int, **filters) -> list[dict]:
        return [e for e in self.events(**filters) if e["seq"] > seq]


@dataclass
class Person:
    """A principal the black-box tests act as: its (unique) name and an API token of its own."""
    name: str
    token: str


def make_person(api: Api, name: str, role: str, display_name: str, kind: str = "user") -> Person:
    """A new principal `unique(name)` of `kind`, granted `role` (none when empty), with a token."""
    user = unique(name)
    api.call("POST", "/api/v1/users", expect=201,
             json_body={"name": user, "kind": kind, "display_name": display_name})
    if role:
        api.call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": role, "user": user},
                 expect=204)
    token = api.call("POST", "/api/v1/tokens", json_body={"name": "t", "owner": user},
                     expect=201).json()["token"]
    return Person(user, token)


def snapshot(api: Api, model: str | None = None) -> dict:
    """Everything a refused request must leave unchanged: the audit log's head, the model list,
    and the model with its versions."""
    snap: dict[str, Any] = {"max_seq": api.max_seq(), "models": api.list_models()}
    if model is not None:
        r = api.get_model(model)
        snap["model"] = (r.status_code, r.json() if r.content else None)
        if r.status_code == 200:
            snap["versions"] = api.list_versions(model)
    return snap


def parse_rfc3339_ms(s: str) -> int:
    from datetime import datetime
    dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    from datetime import timezone
    return int(round(dt.replace(tzinfo=timezone.utc).timestamp() * 1000))


def now_ms() -> int:
    return int(time.time() * 1000)


# What the server logs once a SIGTERM (15) has stopped it accepting and it waits for the requests
# in flight (HttpServer::WaitForSignal).
DRAINING_LINE = "received signal 15, draining in-flight requests"


def creates_through_sigterm(srv: "VouchServer", spec: "Spec", clients: int,
                            want: int) -> tuple["Api", dict[int, str]]:
    """Creates versions of a new model from `clients` threads until `want` are acknowledged, then
    sends SIGTERM while they go on. Asserts the server exits 0, that every answer was 201 or a
    well-formed 503, and, after a restart, that every acknowledged create is stored and that every
    stored one was answered (the drain dropped nothing in flight). Returns the restarted server's
    client and the acknowledged versions with their sources."""
    api = srv.api(spec)
    name = unique("drain")
    api.create_model(name)
    url = f"{srv.base}/api/v1/models/{quote_segment(name)}/versions"
    acked: dict[int, str] = {}
    statuses: list[int] = []
    bad: list[str] = []
    lock = threading.Lock()

    def client(cid: int) -> None:
        s = requests.Session()
        if srv.ca_file:
            s.verify = str(srv.ca_file)
            s.trust_env = False  # or REQUESTS_CA_BUNDLE would override verify
        s.headers["Authorization"] = f"Bearer {api.token}"
        for i in range(5000):
            source = f"s3://b/{cid}/{i}"
            try:
                r = s.post(url, json={"source": source}, timeout=30)
            except requests.ConnectionError:
                return  # refused or closed: the server stopped taking requests
            except requests.RequestException as e:
                bad.append(repr(e))
                return
            with lock:
                statuses.append(r.status_code)
            if r.status_code == 201:
                with lock:
                    acked[r.json()["version"]] = source
                continue
            if r.status_code == 503:
                try:
                    spec.check(r, "POST", "/api/v1/models/{name}/versions")
                except AssertionError as e:
                    bad.append(str(e))
            else:
                bad.append(f"{r.status_code} {r.text[:200]}")
            return

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= want, timeout=60, what=f"{want} acknowledged creates")
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(30)
    finally:
        for t in threads:
            t.join(60)
    assert code == 0, f"exit code {code} after SIGTERM\n{srv.logs()}"
    assert DRAINING_LINE in srv.stderr(), srv.logs()
    assert not bad, bad[:5]
    assert set(statuses) <= {201, 503}

    srv.start()
    api = srv.api(spec)
    stored = {v["version"]: v["source"] for v in api.list_versions(name)}
    assert {n: stored.get(n) for n in acked} == acked, "an acknowledged create was lost"
    unanswered = sorted(set(stored) - set(acked))
    assert not unanswered, (
        f"versions {unanswered[:10]} were committed but their clients got no answer: the drain "
        "dropped in-flight requests")
    return api, acked


def pg_cluster_dir() -> Path:
    """The test cluster's directory (VOUCH_TEST_POSTGRES_DIR, from scripts/pg-test-cluster); skips
    the test when it is not set, since PostgreSQL cannot then be stopped and started."""
    d = os.environ.get("VOUCH_TEST_POSTGRES_DIR")
    if not d:
        pytest.skip("VOUCH_TEST_POSTGRES_DIR (the cluster directory from scripts/pg-test-cluster) "
                    "is not set: cannot stop and start PostgreSQL")
    return Path(d)


def pg_ctl(cluster_dir: Path, action: str) -> None:
    """Runs scripts/pg-test-cluster ACTION (halt, resume, restart, ...) on the test cluster."""
    r = subprocess.run([str(REPO / "scripts" / "pg-test-cluster"), action, str(cluster_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"pg-test-cluster {action}: {r.stderr}"

"""Start-up and process contract: bootstrap token, migrations and a too-new schema, WAL, request ids,
request logs, flags and exit codes of `vouch serve`."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import stat
import subprocess
import time

import pytest

from vouch_testlib import (ADMIN_TOKEN, clean_env, quote_segment, require_binary, unique,
                           wait_until)


def db_path(srv):
    return srv.data_dir / "vouch.db"


def test_bootstrap_token_is_written_0600_printed_once_and_works(server_factory, spec, tmp_path):
    data = tmp_path / "fresh" / "vouch-data"  # does not exist yet, as for `make run`
    srv = server_factory(token=None, data_dir=data, start=False)
    srv.start()
    token_file = data / "admin-token"
    assert token_file.is_file(), "no admin-token file on a fresh data directory"
    mode = stat.S_IMODE(token_file.stat().st_mode)
    assert mode == 0o600, f"admin-token has mode {oct(mode)}"
    token = token_file.read_text().strip()
    assert len(token) >= 20
    assert token in srv.stdout(), "the bootstrap token is not printed"

    srv.token = token
    api = srv.api(spec)
    me = api.call("GET", "/api/v1/whoami", expect=200).json()
    assert me["name"] == "admin" and me["is_admin"] is True
    api.call("GET", "/api/v1/whoami", token=token + "x", expect=401, code="UNAUTHENTICATED")

    srv.terminate()
    srv.start()
    assert token not in srv.stdout(), "the token was printed again on restart"
    assert token_file.read_text().strip() == token
    assert srv.api(spec).call("GET", "/api/v1/whoami", expect=200).json()["name"] == "admin"


def test_bootstrap_token_from_environment(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    assert api.call("GET", "/api/v1/whoami", expect=200).json()["name"] == "admin"
    api.call("GET", "/api/v1/whoami", token="vouch-test-wrong", expect=401, code="UNAUTHENTICATED")


def test_tokens_are_stored_only_as_hashes(server_factory, spec):
    srv = server_factory()
    name = unique("hash")
    srv.api(spec).create_model(name)

    def check_stored():
        stored = srv.stored_bytes()
        assert name.encode() in stored, "the store's bytes were not found (nothing checked)"
        assert ADMIN_TOKEN.encode() not in stored, "the admin token is stored in clear"

    check_stored()
    srv.terminate()
    check_stored()


@pytest.mark.sqlite_only
def test_database_is_sqlite_wal_with_a_schema_migrations_table(server_factory, spec):
    srv = server_factory()
    srv.api(spec).create_model(unique("wal"))
    assert srv.terminate() == 0
    con = sqlite3.connect(db_path(srv))
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        cols = [r[1] for r in con.execute("PRAGMA table_info(schema_migrations)")]
        assert {"version", "name", "applied_ms"} <= set(cols)
        rows = con.execute("SELECT version, name, applied_ms FROM schema_migrations "
                           "ORDER BY version").fetchall()
    finally:
        con.close()
    assert rows, "no migration recorded"
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "migrations are not numbered 1.."
    assert all(r[1] for r in rows)
    assert all(abs(r[2] - time.time() * 1000) < 3600_000 for r in rows)


def test_database_from_a_newer_binary_is_refused(server_factory, spec):
    srv = server_factory()
    name = unique("future")
    srv.api(spec).create_model(name)
    assert srv.terminate() == 0
    ((current,),) = srv.sql("SELECT max(version) FROM schema_migrations")
    future = int(current) + 1000
    srv.sql(f"INSERT INTO schema_migrations(version, name, applied_ms) "
            f"VALUES ({future}, 'from_a_newer_vouch', {int(time.time() * 1000)})")

    proc = srv.spawn()
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        srv.kill()
        pytest.fail("vouch serve started on a database from a newer binary")
    assert code != 0
    out = srv.stdout() + srv.stderr()
    assert str(future) in out or "newer" in out.lower(), f"no clear message:\n{out}"

    # The refusal changed nothing: without the future row the same data directory works.
    assert srv.sql(f"SELECT count(*) FROM schema_migrations WHERE version = {future}") == [("1",)]
    srv.sql(f"DELETE FROM schema_migrations WHERE version = {future}")
    srv.start()
    assert srv.api(spec).get_model(name).status_code == 200


def test_request_id_is_echoed_when_sane_and_replaced_otherwise(api):
    sane = ["abc", "A.b_c-9", "x" * 128, "cli-0123456789abcdef01234567"]
    for rid in sane:
        for path in ("/health", "/ready", "/api/v1/whoami", "/api/v1/models/no-such-model"):
            r = api.raw("GET", path, headers={"X-Request-Id": rid})
            assert r.headers.get("X-Request-Id") == rid, (path, rid)
    for rid in ["x" * 129, "has space", "semi;colon", "quote\"d", "ünï"]:
        r = api.raw("GET", "/health", headers={"X-Request-Id": rid.encode()})
        got = r.headers.get("X-Request-Id")
        assert got and got != rid and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", got), (rid, got)
    r = api.raw("GET", "/health")
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", r.headers.get("X-Request-Id", ""))


def test_one_log_line_per_request_in_text_format(server, api):
    rid = "logline-" + unique("r")
    path = f"/api/v1/models/{quote_segment('no-such-model')}"
    assert api.raw("GET", path, headers={"X-Request-Id": rid}).status_code == 404

    def line():
        return next((ln for ln in server.stderr().splitlines() if rid in ln), None)

    ln = wait_until(line, timeout=10, what="the request's log line")
    assert "GET" in ln and "/api/v1/models/no-such-model" in ln and "404" in ln, ln
    assert re.search(r"latenc|\d+(\.\d+)?\s*(ms|us|µs|ns|s)\b", ln), f"no latency in: {ln}"
    assert sum(rid in x for x in server.stderr().splitlines()) == 1
    assert ADMIN_TOKEN not in server.stderr(), "the token leaked into the log"


def test_log_format_json(server_factory, spec):
    srv = server_factory(args=["--log-format", "json"])
    api = srv.api(spec)
    rid = "jsonlog-" + unique("r")
    api.raw("POST", "/api/v1/models", json_body={"name": unique("jl")},
            headers={"X-Request-Id": rid})

    def line():
        return next((ln for ln in srv.stderr().splitlines() if rid in ln), None)

    ln = wait_until(line, timeout=10, what="the request's log line")
    obj = json.loads(ln)
    values = json.dumps(obj)
    assert "POST" in values and "/api/v1/models" in values and "201" in values, obj
    srv.terminate()
    for other in srv.stderr().splitlines():
        if other.strip():
            json.loads(other)  # every line is JSON with --log-format json


def test_max_body_bytes_flag(server_factory, spec):
    srv = server_factory(args=["--max-body-bytes", "1024"])
    api = srv.api(spec)
    small = unique("small")
    api.call("POST", "/api/v1/models", json_body={"name": small, "description": "d" * 900},
             expect=201)
    big = unique("big")
    api.call("POST", "/api/v1/models", json_body={"name": big, "description": "d" * 2000},
             expect=413, code="RESOURCE_EXHAUSTED")
    assert api.get_model(big).status_code == 404


def test_ready_and_health_need_no_token(api):
    r = api.call("GET", "/health", token=None, expect=200)
    assert r.json() == {"status": "ok"}
    r = api.call("GET", "/ready", token=None, expect=200)
    assert r.json() == {"status": "ready"}


def test_unknown_serve_flag_is_a_usage_error(tmp_path):
    r = subprocess.run([str(require_binary()), "serve", "--data-dir", str(tmp_path),
                        "--no-such-flag"], capture_output=True, text=True, timeout=30,
                       env=clean_env(), stdin=subprocess.DEVNULL)
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_listen_address_in_use_fails_start_up(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([str(require_binary()), "serve", "--data-dir", str(tmp_path / "d"),
                            "--listen", f"127.0.0.1:{port}"], capture_output=True, text=True,
                           timeout=30, env=clean_env({"VOUCH_BOOTSTRAP_TOKEN": ADMIN_TOKEN}),
                           stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip() or r.stdout.strip()


def test_data_survives_a_clean_restart(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("restart")
    api.create_model(name)
    api.create_version(name)
    events = api.events()
    assert srv.terminate() == 0
    srv.start()
    api = srv.api(spec)
    assert api.get_version(name, 1).status_code == 200
    assert api.events() == events
    # Restarting on a non-empty data directory bootstraps nothing new.
    assert api.max_seq() == events[-1]["seq"]


def test_options_from_environment_and_flags_win(server_factory, spec):
    body = {"name": "", "description": "d" * 2000}
    from_env = server_factory(env={"VOUCH_MAX_BODY_BYTES": "1024"},
                              args=["--workers", "3", "--threads", "1"])
    api = from_env.api(spec)
    api.call("POST", "/api/v1/models", json_body={**body, "name": unique("env")}, expect=413,
             code="RESOURCE_EXHAUSTED")
    flag_wins = server_factory(env={"VOUCH_MAX_BODY_BYTES": "1024"},
                               args=["--max-body-bytes", "4096"])
    flag_wins.api(spec).call("POST", "/api/v1/models", json_body={**body, "name": unique("flag")},
                             expect=201)

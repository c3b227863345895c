"""`vouch migrate`: a registry made through the API on SQLite (models, versions with tags, metrics
and params, aliases, stage moves, deletes, denials) copied whole into an empty PostgreSQL database;
the digests `vouch audit verify` prints on both sides equal the one migrate printed; a second
migrate into the now non-empty database is refused; and a server on the PostgreSQL copy serves the
same registry and continues numbering after it.

Needs VOUCH_TEST_POSTGRES_DSN (scripts/pg-test-cluster start prints one) and psql; each test makes
a database of its own next to the DSN's and drops it at the end."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

from vouch_testlib import require_binary, run_cli, unique

DSN = os.environ.get("VOUCH_TEST_POSTGRES_DSN", "")
# The source is a SQLite file; the PostgreSQL pass has none.
pytestmark = [pytest.mark.skipif(not DSN, reason="VOUCH_TEST_POSTGRES_DSN is not set"),
              pytest.mark.sqlite_only]

SUMMARY = re.compile(r"(\d+) events, Merkle root ([0-9a-f]{64})")


def vouch(*args: str | Path, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return run_cli([str(require_binary()), *map(str, args)], timeout=timeout)


def summary(text: str) -> tuple[int, str]:
    m = SUMMARY.search(text)
    assert m, f"no 'N events, Merkle root HEX' in:\n{text}"
    return int(m.group(1)), m.group(2)


def verify(*store_args: str | Path) -> tuple[int, str]:
    r = vouch("audit", "verify", *store_args)
    assert r.returncode == 0, r.stderr
    return summary(r.stdout)


def with_database(dsn: str, name: str) -> str:
    if "://" in dsn:
        return urllib.parse.urlunsplit(urllib.parse.urlsplit(dsn)._replace(path="/" + name))
    return f"{dsn} dbname={name}"


def psql(dsn: str, sql: str) -> None:
    subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   capture_output=True, timeout=60)


@pytest.fixture
def fresh_database():
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    name = "vouch_migrate_" + uuid.uuid4().hex[:12]
    psql(DSN, f'CREATE DATABASE "{name}"')
    yield with_database(DSN, name)
    psql(DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_registry(api) -> list[str]:
    """Everything the registry holds, made through the API. Returns the model names."""
    a, b, gone = unique("mig-a"), unique("mig-b"), unique("mig-gone")
    for name in (a, b, gone):
        api.create_model(name, description=f"model {name}",
                         tags={"team": "risk", "quote": "it's \"quoted\", é"})
    for name in (a, b):
        for i in range(1, 5):
            api.create_version(name, source=f"s3://b/{name}/{i}", run_id=f"run-{i}",
                               metrics={"auc": 0.9303381542885225, "loss": 1e-300, "n": i},
                               params={"lr": "0.1"}, tags={"commit": f"c{i}"})

    def stage(name, n, to, archive=False):
        body = {"stage": to, **({"archive_existing": True} if archive else {})}
        api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": n},
                 json_body=body, expect=200)

    def alias(name, al, n):
        api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": al},
                 json_body={"version": n}, expect=200)

    stage(a, 1, "Staging")
    stage(a, 2, "Production")
    stage(a, 3, "Production", archive=True)
    alias(a, "champion", 3)
    alias(b, "challenger", 2)
    alias(b, "challenger", 4)
    api.call("PUT", "/api/v1/models/{name}/tags/{key}", path={"name": b, "key": "owner"},
             json_body={"value": "bob"}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/tags/{key}", path={"name": b, "key": "quote"},
             expect=200)
    for kind, value in (("tags", "x"), ("params", "y"), ("metrics", 0.25)):
        api.call("PUT", f"/api/v1/models/{{name}}/versions/{{n}}/{kind}/{{key}}",
                 path={"name": a, "n": 2, "key": "extra"}, json_body={"value": value}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
             path={"name": a, "n": 2, "key": "loss"}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": b, "n": 1}, expect=204)
    api.call("DELETE", "/api/v1/models/{name}", path={"name": gone}, expect=204)
    # Denials: a bad token (recorded, aggregated, when the server stops) and a duplicate name.
    r = requests.get(f"{api.base}/api/v1/models", headers={"Authorization": "Bearer nope"},
                     timeout=10)
    assert r.status_code == 401
    api.call("POST", "/api/v1/models", json_body={"name": a}, expect=409)
    return [a, b, gone]


def registry_state(api, names: list[str]) -> dict:
    state = {"models": api.list_models()}
    for name in names:
        r = api.get_model(name)
        if r.status_code == 200:
            state[name] = (r.json(), api.list_versions(name))
        else:
            state[name] = (r.status_code, r.json()["error"]["code"])
    return state


def test_migrate_copies_the_registry_and_its_log_and_refuses_a_second_time(server_factory, spec,
                                                                           fresh_database):
    srv = server_factory()
    api = srv.api(spec)
    names = build_registry(api)
    before = registry_state(api, names)
    events_before = api.events()
    srv.terminate()  # flushes the aggregated denial into the log

    source = f"sqlite://{srv.data_dir / 'vouch.db'}"
    r = vouch("migrate", "--from", source, "--to", fresh_database)
    assert r.returncode == 0, r.stdout + r.stderr
    count, digest = summary(r.stdout)
    assert count > len(events_before), "the denial flushed at shutdown is not in the copied log"
    assert "(the same on both sides)" in r.stdout
    counts = {m.group(1): (int(m.group(2)), int(m.group(3)))
              for m in re.finditer(r"^\s+(\w+)\s+(\d+)\s+(\d+)$", r.stdout, flags=re.M)}
    assert counts, r.stdout
    for table in ("models", "model_versions", "version_metrics", "model_aliases", "audit_events",
                  "principals", "tokens"):
        assert table in counts, f"{table} missing from:\n{r.stdout}"
        assert counts[table][0] == counts[table][1] > 0, (table, counts[table])
    assert counts["audit_events"] == (count, count)
    assert counts["models"][0] == 3  # the deleted one is kept, as in SQLite
    # The copied tables have planner statistics: a server started at once plans with them.
    unanalysed = subprocess.run(
        ["psql", fresh_database, "-Atc",
         "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL "
         "AND relname IN ('models', 'model_versions', 'audit_events') ORDER BY relname"],
        check=True, capture_output=True, text=True).stdout.split()
    assert unanalysed == [], f"not analysed after the copy: {unanalysed}"

    assert verify("--store", source) == (count, digest)
    assert verify("--data-dir", srv.data_dir) == (count, digest)
    assert verify("--store", fresh_database) == (count, digest)

    again = vouch("migrate", "--from", source, "--to", fresh_database)
    assert again.returncode == 1, again.stdout
    assert "not empty" in again.stderr, again.stderr
    assert verify("--store", fresh_database) == (count, digest)

    serve_help = run_cli([str(require_binary()), "serve", "--help"]).stdout
    if "--store" not in serve_help:
        return  # `vouch serve --store` is not in this build yet
    pg = server_factory(args=["--store", fresh_database,
                              "--master-key-file", str(srv.data_dir / "master-key")])
    pg_api = pg.api(spec)
    assert registry_state(pg_api, names) == before
    events = pg_api.events()
    assert events[:len(events_before)] == events_before
    assert len(events) == count

    # It continues after the copy: version numbers, ids and the audit sequence.
    a, b, _ = names
    assert pg_api.create_version(a)["version"] == 5
    assert pg_api.create_version(b)["version"] == 5
    pg_api.create_model(unique("after"))
    assert [e["seq"] for e in pg_api.events()] == list(range(1, count + 4))
    assert verify("--store", fresh_database)[0] == count + 3


def test_migrate_refuses_what_it_cannot_do(server_factory, spec, tmp_path, fresh_database):
    # Not a vouch database: nothing is copied (the target may have been migrated, holding no rows).
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    r = vouch("migrate", "--from", f"sqlite://{other}", "--to", fresh_database)
    assert r.returncode == 1 and "not a vouch database" in r.stderr, r.stderr

    r = vouch("migrate", "--from", f"sqlite://{tmp_path / 'missing.db'}", "--to", fresh_database)
    assert r.returncode == 1, r.stderr
    assert not (tmp_path / "missing.db").exists()

    # Wrong directions and kinds are usage errors.
    r = vouch("migrate", "--from", fresh_database, "--to", f"sqlite://{other}")
    assert r.returncode == 2, r.stderr

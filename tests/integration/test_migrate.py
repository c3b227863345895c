"""`vouch migrate`: a registry made through the API on SQLite (models, versions with tags, metrics
and params, aliases, stage moves, deletes, denials, signed checkpoints by two keys) copied whole
into an empty PostgreSQL database; the digests `vouch audit verify` prints on both sides equal the
one migrate printed, and so does the latest checkpoint, which a server on the copy serves as the
SQLite server did; a second migrate into the now non-empty database is refused, as is a source
whose latest checkpoint is not its tree's; and a server on the PostgreSQL copy serves the same
registry and continues numbering after it.

Needs VOUCH_TEST_POSTGRES_DSN (scripts/pg-test-cluster start prints one) and psql; each test makes
a database of its own next to the DSN's and drops it at the end."""

from __future__ import annotations

import base64
import json
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

from vouch_testlib import mark_damaged, require_binary, run_cli, unique

DSN = os.environ.get("VOUCH_TEST_POSTGRES_DSN", "")
# The source is a SQLite file; the PostgreSQL pass has none.
pytestmark = [pytest.mark.skipif(not DSN, reason="VOUCH_TEST_POSTGRES_DSN is not set"),
              pytest.mark.sqlite_only]

SUMMARY = re.compile(r"(\d+) events, Merkle root ([0-9a-f]{64})")
CHECKPOINT_LINE = re.compile(
    r"^audit log: latest checkpoint at size (\d+), root ([A-Za-z0-9+/]{43}=) \(the same on both "
    r"sides, signatures and cosignatures alike; the root of the first \1 events on each\)$",
    flags=re.M)
# No leader checkpoint while a test runs: the ones it makes are the only ones (none but on demand).
QUIET_CHECKPOINTS = ["--checkpoint-interval", "24h", "--checkpoint-events", "1000000"]


def vouch(*args: str | Path, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return run_cli([str(require_binary()), *map(str, args)], timeout=timeout)


def checkpoint_line(text: str) -> tuple[int, str]:
    m = CHECKPOINT_LINE.search(text)
    assert m, f"no 'audit log: latest checkpoint at size N, root B64 ...' line in:\n{text}"
    return int(m.group(1)), m.group(2)


def served_checkpoint(api) -> str:
    return api.call("GET", "/api/v1/audit/log/checkpoint", token=None, expect=200).text


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
    srv = server_factory(args=QUIET_CHECKPOINTS)
    api = srv.api(spec)
    names = build_registry(api)
    # Checkpoints by two keys: one on demand, then a rotation's (signed by the old key), then the
    # latest, by the new key, on demand; the log grows after it (and at shutdown).
    assert srv.cli("audit", "checkpoint").returncode == 0
    old_key = api.call("GET", "/api/v1/audit/keys", token=None, expect=200).json()["keys"][0]
    assert srv.cli("audit", "rotate-key").returncode == 0
    api.create_model(unique("mig-signed"))
    latest = srv.cli("audit", "checkpoint")
    assert latest.returncode == 0, latest.stderr
    assert served_checkpoint(api) == latest.stdout
    keys = api.call("GET", "/api/v1/audit/keys", token=None, expect=200).json()["keys"]
    assert [k["verifier_key"] for k in keys][0] == old_key["verifier_key"] and len(keys) == 2
    api.create_model(unique("mig-after"))
    before = registry_state(api, names)
    events_before = api.events()
    srv.terminate()  # flushes the aggregated denial into the log

    source = f"sqlite://{srv.data_dir / 'vouch.db'}"
    r = vouch("migrate", "--from", source, "--to", fresh_database)
    assert r.returncode == 0, r.stdout + r.stderr
    count, digest = summary(r.stdout)
    assert count > len(events_before), "the denial flushed at shutdown is not in the copied log"
    assert "(the same on both sides)" in r.stdout
    # The latest checkpoint, as the SQLite server served it: its size and root.
    size, root = checkpoint_line(r.stdout)
    assert latest.stdout.split("\n")[1:3] == [str(size), root]
    assert size < count
    counts = {m.group(1): (int(m.group(2)), int(m.group(3)))
              for m in re.finditer(r"^\s+(\w+)\s+(\d+)\s+(\d+)$", r.stdout, flags=re.M)}
    assert counts, r.stdout
    for table in ("models", "model_versions", "version_metrics", "model_aliases", "audit_events",
                  "principals", "tokens", "audit_signing_keys", "audit_checkpoints"):
        assert table in counts, f"{table} missing from:\n{r.stdout}"
        assert counts[table][0] == counts[table][1] > 0, (table, counts[table])
    assert counts["audit_events"] == (count, count)
    assert counts["models"][0] == 5  # the deleted one is kept, as in SQLite; two made here
    assert counts["audit_signing_keys"] == (2, 2)
    assert counts["audit_checkpoints"][0] >= 3  # and any the leader made before the first
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
    # verify on the copy checks every copied checkpoint against the copied events, with both keys.
    j = vouch("-o", "json", "audit", "verify", "--store", fresh_database)
    assert j.returncode == 0, j.stdout + j.stderr
    checked = json.loads(j.stdout)
    assert checked["latest_checkpoint"] == size
    assert checked["checkpoints"] == checked["checkpoints_verified"] == \
        counts["audit_checkpoints"][1]
    with_keys = vouch("audit", "verify", "--store", fresh_database,
                      *[arg for k in keys for arg in ("--key", k["verifier_key"])])
    assert with_keys.returncode == 0, with_keys.stdout + with_keys.stderr
    assert f"(the latest at size {size})" in with_keys.stdout

    again = vouch("migrate", "--from", source, "--to", fresh_database)
    assert again.returncode == 1, again.stdout
    assert "not empty" in again.stderr, again.stderr
    assert verify("--store", fresh_database) == (count, digest)

    serve_help = run_cli([str(require_binary()), "serve", "--help"]).stdout
    if "--store" not in serve_help:
        return  # `vouch serve --store` is not in this build yet
    pg = server_factory(args=["--store", fresh_database,
                              "--master-key-file", str(srv.data_dir / "master-key"),
                              *QUIET_CHECKPOINTS])
    pg_api = pg.api(spec)
    # The copy serves the checkpoint the SQLite server served, byte for byte, and the same keys.
    assert served_checkpoint(pg_api) == latest.stdout
    assert pg_api.call("GET", "/api/v1/audit/keys", token=None, expect=200).json()["keys"] == keys
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


def test_migrate_refuses_a_source_whose_latest_checkpoint_is_not_its_tree(server_factory, spec,
                                                                           tmp_path,
                                                                           fresh_database):
    srv = server_factory(args=QUIET_CHECKPOINTS)
    api = srv.api(spec)
    for i in range(3):
        api.create_model(unique(f"mig-bad{i}"))
    made = srv.cli("audit", "checkpoint")
    assert made.returncode == 0, made.stderr
    size, signed_root = made.stdout.split("\n")[1:3]
    api.create_model(unique("mig-bad-after"))
    srv.terminate()

    # A copy of the data directory whose latest checkpoint row says another root (the append-only
    # trigger dropped first): what a store damaged underneath, or edited by hand, holds.
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    mark_damaged(damaged, "its latest checkpoint's root was rewritten")
    with sqlite3.connect(srv.data_dir / "vouch.db") as src, \
            sqlite3.connect(damaged / "vouch.db") as dst:
        src.backup(dst)
    other_root = base64.b64encode(bytes(range(32))).decode()
    assert other_root != signed_root
    db = sqlite3.connect(damaged / "vouch.db")
    db.executescript(f"""
        DROP TRIGGER audit_checkpoints_no_update;
        UPDATE audit_checkpoints SET root = '{other_root}' WHERE size = {size};
    """)
    db.close()

    r = vouch("migrate", "--from", f"sqlite://{damaged / 'vouch.db'}", "--to", fresh_database)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"the latest checkpoint (size {size})" in r.stderr, r.stderr
    assert "no rows were written" in r.stderr, r.stderr
    rows = subprocess.run(
        ["psql", fresh_database, "-Atc",
         "SELECT (SELECT COUNT(*) FROM audit_checkpoints) + (SELECT COUNT(*) FROM audit_events) "
         "+ (SELECT COUNT(*) FROM models) + (SELECT COUNT(*) FROM audit_signing_keys)"],
        check=True, capture_output=True, text=True).stdout.strip()
    assert rows == "0"

    # The untouched source migrates, and prints the checkpoint the server signed.
    r = vouch("migrate", "--from", f"sqlite://{srv.data_dir / 'vouch.db'}", "--to",
              fresh_database)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checkpoint_line(r.stdout) == (int(size), signed_root)

"""Storage faults are loud, never a silent new or shorter registry (issue 9, §5).

- a SQLite data directory whose database is missing or empty beside its master key and admin
  token is refused at start, unless `--init`;
- a missing master key beside a database is refused in one line, and nothing is written;
- garbage in database pages is refused at start (PRAGMA quick_check); with `--skip-check` a write
  that meets it answers 503 and /ready answers 503;
- a write-ahead log truncated after kill -9 is refused, naming the log's length and the
  acknowledged one, unless `--accept-shorter-log`;
- a clean SIGTERM leaves every commit in vouch.db alone;
- a full disk answers writes 503 and /ready 503 while reads go on, and both recover when space is
  freed (a small tmpfs, mounted by the test as root);
- kill -9 under load losing no acknowledged create is test_durability.py's (the restart there
  also proves the acknowledged head does not refuse a log that lost nothing).

Every data directory damaged on purpose gets a `DAMAGED` file, so the post-suite `audit verify`
leaves it alone.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from vouch_testlib import postgres_cluster, require_binary, run_cli, unique, wait_until

sqlite_only = pytest.mark.sqlite_only


def mark_damaged(data_dir: Path, why: str) -> None:
    (Path(data_dir) / "DAMAGED").write_text(why + "\n")


def refused_start(srv, *args: str) -> str:
    """Starts `srv` with extra flags, expects exit 1 before it is ready, returns its stderr."""
    saved = srv.args
    srv.args = [*saved, *args]
    try:
        proc = srv.spawn()
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            srv.kill()
            pytest.fail(f"vouch serve {' '.join(args)} did not refuse to start:\n{srv.logs()}")
    finally:
        srv.args = saved
    assert code == 1, f"exit {code}\n{srv.logs()}"
    return srv.stderr()


def audit_verify(srv) -> subprocess.CompletedProcess:
    if srv.store_kind == "postgres":
        target = ["--store", srv.postgres()["dsn"]]
    else:
        target = ["--data-dir", str(srv.data_dir)]
    return run_cli([str(require_binary()), "audit", "verify", *target])


def verified_count(srv) -> int:
    r = audit_verify(srv)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.match(r"ok: (\d+) events", r.stdout)
    assert m, r.stdout
    return int(m.group(1))


def files_of(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(data_dir).iterdir()) if p.is_file()}


def with_versions(api, n: int) -> str:
    name = unique("faults")
    api.create_model(name)
    for i in range(n):
        api.create_version(name, source=f"s3://b/{i}", description=f"version {i} " + "x" * 200)
    return name


# ---------------------------------------------------------------------------------------------
# A registry that is gone is not silently replaced


@sqlite_only
@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_missing_or_empty_database_beside_key_and_token_is_refused_unless_init(
        server_factory, spec, how):
    srv = server_factory(store=None, token=None)  # the admin token goes to <data-dir>/admin-token
    token_file = srv.data_dir / "admin-token"
    srv.token = token_file.read_text().strip()
    api = srv.api(spec)
    old = unique("old")
    api.create_model(old)
    assert srv.terminate() == 0
    key = (srv.data_dir / "master-key").read_bytes()
    db = srv.data_dir / "vouch.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if how == "empty":
        db.write_bytes(b"")

    err = refused_start(srv)
    assert "refusing to start" in err and "--init" in err, err
    assert f"is {how}" in err and "master-key" in err and "admin-token" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert db.exists() == (how == "empty") and (not db.exists() or db.stat().st_size == 0)
    assert srv.stdout() == ""

    # --init makes the new registry on purpose: the key is kept, a new admin token is written.
    srv.args = ["--init"]
    srv.start()
    new_token = token_file.read_text().strip()
    assert new_token != srv.token
    assert (srv.data_dir / "master-key").read_bytes() == key
    srv.token = new_token
    api = srv.api(spec)
    api.call("GET", "/api/v1/models/{name}", path={"name": old}, expect=404)
    assert srv.terminate() == 0

    # --init is a one-off: beside a database it is refused.
    err = refused_start(srv)
    assert "refusing --init" in err, err
    srv.args = []
    srv.start()
    assert verified_count(srv) >= 1


@sqlite_only
def test_a_missing_master_key_beside_a_database_is_refused_in_one_line_writing_nothing(
        server_factory, spec):
    srv = server_factory(store=None)
    api = srv.api(spec)
    name = unique("keyed")
    api.create_model(name)
    assert srv.terminate() == 0
    key_file = srv.data_dir / "master-key"
    key = key_file.read_bytes()
    key_file.unlink()
    before = files_of(srv.data_dir)

    err = refused_start(srv)
    assert len(err.strip().splitlines()) == 1, err
    assert "master key" in err and "missing" in err and str(key_file) in err, err
    assert files_of(srv.data_dir) == before, "a refused start wrote to the data directory"

    key_file.write_bytes(key)
    key_file.chmod(0o600)
    srv.start()
    srv.api(spec).call("GET", "/api/v1/models/{name}", path={"name": name}, expect=200)


# ---------------------------------------------------------------------------------------------
# Garbage in database pages


def corrupt_table_root(db: Path, table: str) -> None:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE type='table' AND name=?",
                           (table,)).fetchone()[0]
    finally:
        con.close()
    assert root > 1
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x5a" * page_size)


@sqlite_only
def test_garbage_in_database_pages_is_refused_and_with_skip_check_writes_and_ready_are_503(
        server_factory, spec):
    srv = server_factory(store=None)
    api = srv.api(spec)
    for _ in range(20):
        api.create_model(unique("page"), description="y" * 300)
    assert srv.terminate() == 0  # checkpointed: every page is in vouch.db
    mark_damaged(srv.data_dir, "models table root page overwritten on purpose")
    corrupt_table_root(srv.data_dir / "vouch.db", "models")

    err = refused_start(srv)
    assert "damaged" in err and "quick_check" in err and "--skip-check" in err, err

    srv.args = ["--skip-check"]
    srv.start()
    api = srv.api(spec)
    api.call("POST", "/api/v1/models", json_body={"name": unique("after")}, expect=503,
             code="UNAVAILABLE")
    r = api.raw("POST", "/api/2.0/mlflow/registered-models/create",
                json_body={"name": unique("after")})
    assert r.status_code == 503 and r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE", r.text
    ready = api.call("GET", "/ready", token=None, expect=503)
    assert "damaged" in ready.json()["error"]["message"]
    # What the damage does not touch is still read.
    api.call("GET", "/api/v1/audit", params={"limit": 5}, expect=200)
    assert "is damaged" in srv.stderr()
    assert " 500 " not in srv.stderr()


# ---------------------------------------------------------------------------------------------
# A committed tail lost from the write-ahead log


def live_wal_commits(wal: Path) -> list[int]:
    """The end offsets of the commit frames of the write-ahead log's current
    generation: the frames whose salts match the header's. Frames past them are an older
    generation that a checkpoint left in the file (SQLite rewinds the log without truncating it)."""
    data = wal.read_bytes()
    page_size = int.from_bytes(data[8:12], "big")
    salts = data[16:24]
    frame = 24 + page_size
    commits, at = [], 32
    while at + frame <= len(data) and data[at + 8:at + 16] == salts:
        if int.from_bytes(data[at + 4:at + 8], "big"):
            commits.append(at + frame)
        at += frame
    return commits


@sqlite_only
def test_a_wal_truncated_after_kill_9_is_refused_naming_both_lengths_unless_accepted(
        server_factory, spec):
    srv = server_factory(store=None)
    # A clean stop empties the log (the first start's migrations and tree fill most of a log's
    # 1,000 pages), so the writes below are the log's one generation, never checkpointed away.
    assert srv.terminate() == 0
    srv.start()
    api = srv.api(spec)
    with_versions(api, 30)
    acknowledged = api.max_seq()
    srv.kill()
    wal = srv.data_dir / "vouch.db-wal"
    commits = live_wal_commits(wal)
    assert len(commits) > 30, f"the WAL's live generation holds only {len(commits)} commits"
    mark_damaged(srv.data_dir, "vouch.db-wal truncated on purpose")
    with open(wal, "r+b") as f:
        f.truncate(commits[len(commits) // 2] + 100)  # half the commits, and a torn frame
    (srv.data_dir / "vouch.db-shm").unlink(missing_ok=True)

    err = refused_start(srv)
    m = re.search(r"holds (\d+) events, but (\d+) were acknowledged", err)
    assert m, err
    kept, acked = int(m.group(1)), int(m.group(2))
    assert acked == acknowledged and kept < acked, err
    assert "--accept-shorter-log" in err
    r = audit_verify(srv)
    assert r.returncode == 1 and f"{acked} were acknowledged" in r.stderr, r.stdout + r.stderr

    srv.args = ["--accept-shorter-log"]
    srv.start()
    assert srv.api(spec).max_seq() == kept
    assert f"{kept + 1}..{acked} are lost" in srv.stderr()
    assert srv.terminate() == 0
    assert verified_count(srv) == kept
    srv.args = []
    srv.start()  # the head was reset to the shorter log


# ---------------------------------------------------------------------------------------------
# Clean shutdown


@sqlite_only
def test_a_clean_sigterm_leaves_every_commit_in_vouch_db_alone(server_factory, spec, tmp_path):
    srv = server_factory(store=None)
    api = srv.api(spec)
    name = with_versions(api, 20)
    events = api.max_seq()
    assert srv.terminate() == 0
    wal = srv.data_dir / "vouch.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert "checkpointed" in srv.stderr()

    copy = tmp_path / "only-the-db"
    copy.mkdir()
    shutil.copyfile(srv.data_dir / "vouch.db", copy / "vouch.db")
    r = run_cli([str(require_binary()), "audit", "verify", "--store", f"sqlite://{copy}/vouch.db"])
    assert r.returncode == 0 and r.stdout.startswith(f"ok: {events} events"), r.stdout + r.stderr
    con = sqlite3.connect(copy / "vouch.db")
    try:
        n = con.execute("SELECT COUNT(*) FROM model_versions v JOIN models m ON m.id = v.model_id "
                        "WHERE m.name = ?", (name,)).fetchone()[0]
    finally:
        con.close()
    assert n == 20


# ---------------------------------------------------------------------------------------------
# A full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs mounted at tmp_path/disk (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path) -> None:
    """Writes `path` until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
        for size in (4096, 512, 1):
            while True:
                try:
                    f.write(b"\0" * size)
                except OSError:
                    break


@sqlite_only
def test_a_full_disk_answers_writes_and_ready_503_and_recovers_when_space_is_freed(
        server_factory, spec, small_disk):
    data = small_disk / "data"
    data.mkdir()
    srv = server_factory(store=None, data_dir=data)
    api = srv.api(spec)
    name = unique("full")
    api.create_model(name)
    api.create_version(name)
    filler = small_disk / "filler"
    fill(filler)

    statuses = []
    for i in range(500):
        r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                     json_body={"source": f"s3://b/{i}", "description": "z" * 4000})
        statuses.append(r.status_code)
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "UNAVAILABLE"
            break
        assert r.status_code == 201, r.text
    assert statuses[-1] == 503, f"no write failed on a full disk in {len(statuses)} tries"
    api.call("GET", "/ready", token=None, expect=503)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
             json_body={"source": "s3://b/again"}, expect=503, code="UNAVAILABLE")
    api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=200)
    stored = api.list_versions(name)
    assert len(stored) == statuses.count(201) + 1
    assert "fail" in srv.stderr() and " 500 " not in srv.stderr()

    filler.unlink()
    # /ready probes with a write at most once a second: await its recovery.
    wait_until(lambda: api.call("GET", "/ready", token=None).status_code == 200, timeout=30,
               what="/ready 200 after space was freed")
    v = api.create_version(name, source="s3://b/after")
    assert v["version"] == len(stored) + 1
    assert verified_count(srv) == api.max_seq()
    assert srv.terminate() == 0


# ---------------------------------------------------------------------------------------------
# PostgreSQL: /ready says whether writes work


def test_postgres_ready_is_503_while_the_database_cannot_write_and_recovers_by_itself(
        server_factory, spec):
    srv = server_factory()
    if srv.store_kind != "postgres":
        pytest.skip("a PostgreSQL database made read-only (VOUCH_TEST_STORE=postgres)")
    api = srv.api(spec)
    name = unique("pgro")
    api.create_model(name)
    pg = postgres_cluster()
    db = srv.postgres()["database"]
    kick = (f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}' "
            "AND pid <> pg_backend_pid();")
    # As after a fail-over to a standby: every new session is read-only.
    pg.psql(f'ALTER DATABASE "{db}" SET default_transaction_read_only = on;\n' + kick)

    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
             json_body={"source": "s3://b/ro"}, expect=503, code="UNAVAILABLE")
    ready = api.call("GET", "/ready", token=None, expect=503)
    assert "writes to the database fail" in ready.json()["error"]["message"]
    api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=200)
    assert "read-only transaction" in srv.stderr() and " 500 " not in srv.stderr()

    pg.psql(f'ALTER DATABASE "{db}" RESET default_transaction_read_only;\n' + kick)
    # /ready probes with a write at most once a second: await its recovery.
    wait_until(lambda: api.call("GET", "/ready", token=None).status_code == 200, timeout=30,
               what="/ready 200 once the database is writable again")
    assert api.create_version(name)["version"] == 1
    events = api.max_seq()
    assert srv.terminate() == 0
    assert verified_count(srv) == events

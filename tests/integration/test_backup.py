"""`vouch backup`, `vouch restore` and `vouch audit verify` against a live server: a backup taken
while clients keep writing is one consistent, verified copy; restored into a fresh data directory it
serves the same registry and the same audit log; restore refuses a running server, a damaged file
and an existing database; backup never overwrites by accident; two servers cannot share a data
directory."""

from __future__ import annotations

import pytest
import re
import shutil
import sqlite3
import stat
import subprocess
import threading
from pathlib import Path

import requests

from vouch_testlib import (mark_damaged, quote_segment, require_binary, run_cli, unique,
                           wait_until)

# The SQLite file is what these tests copy; the PostgreSQL pass has none.
pytestmark = pytest.mark.sqlite_only

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
    assert r.stdout.startswith("ok: "), r.stdout
    return summary(r.stdout)


def backup(data_dir: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return vouch("backup", "--data-dir", data_dir, "--out", out, *extra)


def files_of(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def fill(api, n_models: int = 3) -> list[str]:
    names = []
    for _ in range(n_models):
        name = unique("bk")
        api.create_model(name, description="kept", tags={"team": "risk"})
        for i in range(3):
            api.create_version(name, source=f"s3://b/{name}/{i}", metrics={"auc": 0.9 + i / 100},
                               params={"lr": "0.1"}, tags={"commit": "1a2b"})
        api.call("PUT", "/api/v1/models/{name}/aliases/{alias}",
                 path={"name": name, "alias": "champion"}, json_body={"version": 2}, expect=200)
        names.append(name)
    return names


class Writer:
    """Threads that keep creating models and versions until stopped; counts acknowledged writes."""

    def __init__(self, srv, token: str, threads: int = 2):
        self.base, self.token = srv.base, token
        self.acked = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(t,)) for t in range(threads)]

    def run(self, tid: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        i = 0
        while not self.stop.is_set():
            name = f"load-{tid}-{i}-{unique('w')}"
            i += 1
            r = s.post(f"{self.base}/api/v1/models", json={"name": name}, timeout=30)
            if r.status_code == 201:
                r = s.post(f"{self.base}/api/v1/models/{quote_segment(name)}/versions",
                           json={"source": "s3://b/x", "metrics": {"auc": 0.5}}, timeout=30)
            with self.lock:
                if r.status_code == 201:
                    self.acked += 1
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
                    return

    def count(self) -> int:
        with self.lock:
            return self.acked

    def __enter__(self) -> "Writer":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def test_a_backup_taken_under_load_verifies_and_restores_the_same_registry(server_factory, spec,
                                                                          tmp_path):
    srv = server_factory()
    api = srv.api(spec)
    names = fill(api)
    out = tmp_path / "backups" / "vouch-backup.db"
    out.parent.mkdir()

    with Writer(srv, api.token) as writer:
        wait_until(lambda: writer.count() >= 20, timeout=60, what="writes before the backup")
        r = backup(srv.data_dir, out)
        at_backup = writer.count()
        wait_until(lambda: writer.count() >= at_backup + 10, timeout=60,
                   what="writes after the backup")
    assert not writer.errors, writer.errors[:3]
    assert r.returncode == 0, r.stderr
    count, digest = summary(r.stdout)
    assert f"backup {out}" in r.stdout
    assert "master key" in r.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in out.parent.iterdir()] == [out.name], "temporary files left behind"
    assert verify("--store", f"sqlite://{out}") == (count, digest)

    # The server went on writing: its log is longer, and the backup's is a prefix of it.
    live_count, live_digest = verify("--data-dir", srv.data_dir)
    assert live_count > count and live_digest != digest
    live_events = api.events()

    fresh = tmp_path / "restored"
    r = vouch("restore", "--from", out, "--data-dir", fresh)
    assert r.returncode == 0, r.stderr
    assert summary(r.stdout) == (count, digest)
    assert "master key" in r.stdout
    assert verify("--data-dir", fresh) == (count, digest)
    # The master key is kept with the backup; the restored server needs it for its secrets.
    shutil.copy(srv.data_dir / "master-key", fresh / "master-key")

    srv2 = server_factory(data_dir=fresh)
    api2 = srv2.api(spec)
    events = api2.events()
    assert events == live_events[:count], "the restored audit log differs from the backup's"
    mentioned = {e["target"]["model"] for e in events
                 if e["action"] == "model.created" and e["outcome"] == "done"}
    assert set(names) <= mentioned
    for name in mentioned:
        assert api2.get_model(name).status_code == 200, name
    created = {(e["target"]["model"], e["target"]["version"]) for e in events
               if e["action"] == "model_version.created"}
    for name in names:
        assert [v["version"] for v in api2.list_versions(name)] == [1, 2, 3]
        assert api.list_versions(name) == api2.list_versions(name)
        assert api.get_model(name).json() == api2.get_model(name).json()
        assert api2.call("GET", "/api/v1/models/{name}/aliases/{alias}",
                         path={"name": name, "alias": "champion"},
                         expect=200).json()["version"] == 2
    live_models = {m["name"] for m in api2.list_models()}
    assert live_models == mentioned, "models in the restored registry that its log never created"
    for name, n in created:
        assert api2.get_version(name, n).status_code == 200

    # Not while a server runs on the directory, not even with --force; nothing changes.
    before = files_of(fresh)
    r = vouch("restore", "--from", out, "--data-dir", fresh, "--force")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "another vouch server is using" in r.stderr
    assert sorted(files_of(fresh)) == sorted(before), "restore left files behind"
    assert api2.events() == events

    # Stopped, the same restore goes through with --force and the server starts on it again.
    srv2.terminate()
    r = vouch("restore", "--from", out, "--data-dir", fresh)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    r = vouch("restore", "--from", out, "--data-dir", fresh, "--force")
    assert r.returncode == 0, r.stderr
    assert not (fresh / "vouch.db-wal").exists()
    srv2.start()
    assert srv2.api(spec).events() == events


def corrupt_in_the_middle(path: Path) -> None:
    """Damages the stored audit event body nearest the middle of the file: bytes SQLite's
    integrity check does not read (it checks pages and indexes, not table values). Outbox payloads
    hold the same bytes, so each candidate is tried on a copy until one lands in audit_events."""
    data = path.read_bytes()
    starts = sorted((m.start() for m in re.finditer(rb'\{"action":"', data)),
                    key=lambda s: abs(s - len(data) // 2))
    assert starts, "no audit event body found in the file"
    probe = path.with_name(path.name + ".probe")
    for start in starts:
        damaged = data[:start + 1] + b"\xff\xfe" + data[start + 3:]
        probe.write_bytes(damaged)
        db = sqlite3.connect(probe)
        hit = db.execute("SELECT COUNT(*) FROM audit_events WHERE body NOT LIKE '{\"action\":%'"
                         ).fetchone()[0]
        db.close()
        probe.unlink()
        if hit:
            path.write_bytes(damaged)
            return
    raise AssertionError("no audit event body could be damaged")


def test_restore_refuses_a_corrupted_backup_and_changes_nothing(server_factory, spec, tmp_path):
    srv = server_factory()
    api = srv.api(spec)
    fill(api, 5)
    out = tmp_path / "backup.db"
    r = backup(srv.data_dir, out)
    assert r.returncode == 0, r.stderr
    srv.terminate()
    corrupt_in_the_middle(out)

    r = vouch("audit", "verify", "--store", f"sqlite://{out}")
    assert r.returncode == 1, r.stdout
    assert re.search(r"audit event \d+:", r.stderr), r.stderr

    before = files_of(srv.data_dir)
    r = vouch("restore", "--from", out, "--data-dir", srv.data_dir, "--force")
    assert r.returncode == 1, r.stdout
    assert "refusing to restore" in r.stderr and "nothing was changed" in r.stderr, r.stderr
    assert files_of(srv.data_dir) == before

    missing = tmp_path / "never-made"
    r = vouch("restore", "--from", out, "--data-dir", missing)
    assert r.returncode == 1
    assert not missing.exists()

    # Not a database at all.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database " * 1000)
    r = vouch("restore", "--from", junk, "--data-dir", srv.data_dir, "--force")
    assert r.returncode == 1 and "nothing was changed" in r.stderr, r.stderr
    assert files_of(srv.data_dir) == before


def test_audit_verify_names_the_first_altered_event(server_factory, spec, tmp_path):
    srv = server_factory()
    fill(srv.api(spec), 2)
    out = tmp_path / "backup.db"
    assert backup(srv.data_dir, out).returncode == 0
    count, _ = verify("--store", str(out))
    assert count >= 10
    # Rewrite event 4 as a forger with SQL access would (the append-only trigger dropped first),
    # leaving it JSON but not in canonical form.
    db = sqlite3.connect(out)
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET body = replace(body, '{\"', '{ \"') WHERE seq = 4")
    db.commit()
    db.close()
    r = vouch("audit", "verify", "--store", f"sqlite://{out}")
    assert r.returncode == 1
    assert "audit event 4: " in r.stderr and "canonical" in r.stderr, r.stderr


def audit_bodies(db_file: Path) -> list[str]:
    db = sqlite3.connect(db_file)
    try:
        return [r[0] for r in db.execute("SELECT body FROM audit_events ORDER BY seq")]
    finally:
        db.close()


def test_a_log_that_does_not_verify_is_backed_up_and_restored_only_with_unverified(
        server_factory, spec, tmp_path):
    srv = server_factory()
    fill(srv.api(spec), 1)
    assert srv.terminate() == 0
    db = sqlite3.connect(srv.data_dir / "vouch.db")
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET body = replace(body, '{\"', '{ \"') WHERE seq = 3")
    db.commit()
    db.close()
    mark_damaged(srv.data_dir, "audit event 3 rewritten by test_backup")
    source = audit_bodies(srv.data_dir / "vouch.db")

    # Refused without the flag: nothing written.
    out = tmp_path / "backups" / "b.db"
    out.parent.mkdir()
    r = backup(srv.data_dir, out)
    assert r.returncode == 1, r.stdout
    assert "does not verify, so no backup was written" in r.stderr, r.stderr
    assert "audit event 3: " in r.stderr and "--unverified" in r.stderr, r.stderr
    assert list(out.parent.iterdir()) == []

    # With it: written, and said loudly on stderr; the copy holds the same events, byte for byte.
    r = backup(srv.data_dir, out, "--unverified")
    assert r.returncode == 0, r.stderr
    assert "WARNING: UNVERIFIED BACKUP" in r.stderr and "audit event 3: " in r.stderr, r.stderr
    assert "UNVERIFIED" in r.stdout and f"backup {out}" in r.stdout, r.stdout
    assert summary(r.stdout)[0] == len(source)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert audit_bodies(out) == source
    assert [p.name for p in out.parent.iterdir()] == [out.name], "temporary files left behind"
    r = vouch("audit", "verify", "--store", f"sqlite://{out}")
    assert r.returncode == 1 and "audit event 3: " in r.stderr, r.stderr

    # --force keeps meaning "replace FILE".
    r = backup(srv.data_dir, out, "--unverified")
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    assert backup(srv.data_dir, out, "--unverified", "--force").returncode == 0

    # Restore: refused without the flag, nothing made; with it, the same events, said loudly.
    fresh = tmp_path / "restored"
    r = vouch("restore", "--from", out, "--data-dir", fresh)
    assert r.returncode == 1, r.stdout
    assert "refusing to restore" in r.stderr and "--unverified" in r.stderr, r.stderr
    assert not fresh.exists()
    r = vouch("restore", "--from", out, "--data-dir", fresh, "--unverified")
    assert r.returncode == 0, r.stderr
    mark_damaged(fresh, "restored, unverified, from a backup whose audit event 3 was rewritten")
    assert "WARNING: UNVERIFIED RESTORE" in r.stderr and "audit event 3: " in r.stderr, r.stderr
    assert "UNVERIFIED" in r.stdout, r.stdout
    assert audit_bodies(fresh / "vouch.db") == source

    # A file that is no database is refused with the flag too.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database " * 1000)
    r = vouch("restore", "--from", junk, "--data-dir", fresh, "--force", "--unverified")
    assert r.returncode == 1 and "nothing was changed" in r.stderr, r.stderr
    assert audit_bodies(fresh / "vouch.db") == source


def test_backup_refuses_to_overwrite_a_file_unless_forced(server_factory, spec, tmp_path):
    srv = server_factory()
    [name] = fill(srv.api(spec), 1)
    out = tmp_path / "backup.db"
    out.write_bytes(b"an older backup")
    r = backup(srv.data_dir, out)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    assert out.read_bytes() == b"an older backup"
    r = backup(srv.data_dir, out, "--force")
    assert r.returncode == 0, r.stderr
    assert verify("--store", f"sqlite://{out}") == summary(r.stdout)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Never over the database itself, --force or not.
    r = backup(srv.data_dir, srv.data_dir / "vouch.db", "--force")
    assert r.returncode == 2 and "the database itself" in r.stderr, r.stderr
    assert srv.api(spec).get_model(name).status_code == 200


def test_backup_and_verify_of_a_missing_store_fail_cleanly(tmp_path):
    r = backup(tmp_path / "nothing-here", tmp_path / "b.db")
    assert r.returncode == 1, r.stdout
    assert not (tmp_path / "b.db").exists()
    assert list(tmp_path.iterdir()) == [], "backup left files behind"
    r = vouch("audit", "verify", "--data-dir", tmp_path / "nothing-here")
    assert r.returncode == 1
    assert not (tmp_path / "nothing-here").exists()


def test_backup_of_a_postgresql_store_points_at_its_own_tools(tmp_path):
    r = vouch("backup", "--store", "postgresql://vouch@127.0.0.1:1/vouch", "--out", tmp_path / "x")
    assert r.returncode == 2
    assert "pg_dump" in r.stderr and "docs/operations.md" in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()


def test_usage_errors_exit_2(tmp_path):
    assert vouch("backup", "--data-dir", tmp_path).returncode == 2  # no --out
    assert vouch("backup", "--data-dir", tmp_path, "--store", "x.db",
                 "--out", tmp_path / "b").returncode == 2
    assert vouch("restore", "--from", tmp_path / "b").returncode == 2  # no --data-dir
    assert vouch("audit", "verify").returncode == 2
    assert vouch("migrate", "--from", "sqlite://x.db", "--to", "sqlite://y.db").returncode == 2


def test_a_second_server_on_the_same_data_directory_is_refused(server_factory):
    first = server_factory()
    second = server_factory(data_dir=first.data_dir, start=False)
    proc = second.spawn()
    assert proc.wait(30) != 0
    assert "another vouch server is using" in second.stderr() + second.stdout(), second.logs()
    assert first.running()
    first.terminate()
    second.start()

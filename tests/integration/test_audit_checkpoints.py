"""Signed checkpoints of the audit log (issue 14): made by the leader's job and on demand, verified
from the stored events alone with the published key (`vouch dev tlog verify`, which recomputes
the Merkle root from the leaves), key rotation, and the start checks: a log shorter than its latest
checkpoint, and an older copy of the whole database that only the checkpoint file outside the
data directory reveals."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

import vouch_testlib
from vouch_testlib import mark_damaged, postgres_cluster, require_binary, run_cli, unique, \
    wait_until

sqlite_only = pytest.mark.sqlite_only

# A signature line of an unknown key (a witness's), as the store keeps it.
COSIGNATURE = "\u2014 witness.example/w AQIDBAUG"


def checkpoint_size(note: str) -> int:
    return int(note.split("\n")[1])


def latest_note(api) -> str | None:
    r = api.call("GET", "/api/v1/audit/log/checkpoint", token=None)
    if r.status_code == 404:
        return None
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.text
    return r.text


def keys(api) -> dict:
    return api.call("GET", "/api/v1/audit/keys", token=None, expect=200).json()


def leaves(srv, size: int) -> list[str]:
    """The first `size` events' stored bytes, read behind the server's back."""
    rows = srv.sql(f"SELECT body FROM audit_events WHERE seq <= {size} ORDER BY seq")
    assert len(rows) == size
    return [r[0] for r in rows]


def verify_with_key(srv, note: str, vkey: str, tmp_path: Path, origin: str) -> subprocess.CompletedProcess:
    """`vouch dev tlog verify`: the note opens with `vkey` and its root is the one the stored
    events make."""
    d = tmp_path / ("tlog-" + uuid.uuid4().hex[:8])
    d.mkdir()
    (d / "checkpoint").write_text(note)
    (d / "leaves").write_text("".join(line + "\n" for line in leaves(srv, checkpoint_size(note))))
    return run_cli([str(require_binary()), "dev", "tlog", "verify", "--vkey", vkey, "--dir", str(d),
                    "--origin", origin])


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
            pytest.fail(f"vouch serve did not refuse to start:\n{srv.logs()}")
    finally:
        srv.args = saved
    assert code == 1, f"exit {code}\n{srv.logs()}"
    return srv.stderr()


def test_the_leader_signs_a_checkpoint_of_a_grown_log_that_verifies_from_its_events(
        server_factory, spec, tmp_path):
    srv = server_factory(args=["--checkpoint-interval", "200ms",
                               "--public-url", "https://registry.example:8443/"])
    api = srv.api(spec)
    api.create_model(unique("ckpt"))
    head = api.max_seq()
    note = wait_until(lambda: (n := latest_note(api)) and checkpoint_size(n) >= head and n, 30,
                      what="the leader's checkpoint")
    k = keys(api)
    assert k["origin"] == "registry.example:8443/api/v1/audit/log"
    assert note.startswith(k["origin"] + "\n")
    assert len(k["keys"]) == 1 and k["keys"][0]["signing"] is True
    r = verify_with_key(srv, note, k["keys"][0]["verifier_key"], tmp_path, k["origin"])
    assert r.returncode == 0, r.stdout + r.stderr
    # The text form of the keys is what note verifiers take.
    text = api.call("GET", "/api/v1/audit/keys", token=None, params={"format": "text"},
                    expect=200).text
    assert text == k["keys"][0]["verifier_key"] + "\n"
    # An idle log gets no new checkpoint: the job writes no event of its own.
    size = checkpoint_size(note)
    listed = api.call("GET", "/api/v1/audit/checkpoints", token=None, expect=200).json()
    assert [c["size"] for c in listed["checkpoints"]][-1] == size
    assert api.max_seq() == size


def test_an_admin_makes_one_on_demand_only_when_the_log_grew(server_factory, spec, tmp_path):
    srv = server_factory()
    api = srv.api(spec)
    api.create_model(unique("ondemand"))
    made = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    assert made["size"] == api.max_seq()
    again = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    assert again == made
    assert api.max_seq() == made["size"]
    by_size = api.call("GET", "/api/v1/audit/checkpoints", token=None,
                       params={"size": made["size"]}, expect=200).json()["checkpoints"]
    assert by_size == [made]
    api.call("GET", "/api/v1/audit/checkpoints", token=None, params={"size": made["size"] + 7},
             expect=404, code="NOT_FOUND")
    api.call("GET", "/api/v1/audit/checkpoints", token=None, params={"size": 0}, expect=400,
             code="INVALID_ARGUMENT")
    # The CLI prints the signed note.
    api.create_model(unique("ondemand"))
    r = srv.cli("audit", "checkpoint")
    assert r.returncode == 0, r.stderr
    assert checkpoint_size(r.stdout) == api.max_seq() and r.stdout == latest_note(api)
    k = keys(api)
    assert verify_with_key(srv, r.stdout, k["keys"][0]["verifier_key"], tmp_path,
                           k["origin"]).returncode == 0


def test_a_rotation_is_covered_by_the_old_keys_checkpoint_and_the_new_key_signs_after(
        server_factory, spec, tmp_path):
    srv = server_factory()
    api = srv.api(spec)
    old = keys(api)["keys"][0]["verifier_key"]
    r = srv.cli("audit", "rotate-key")
    assert r.returncode == 0, r.stderr
    k = keys(api)
    assert [x["verifier_key"] for x in k["keys"]][0] == old and len(k["keys"]) == 2
    retired, new = k["keys"]
    assert "retired_timestamp" in retired and retired["signing"] is False
    assert new["signing"] is True and "retired_timestamp" not in new
    assert new["verifier_key"] in r.stdout and old in r.stdout
    rotated = api.events(action="audit.key_rotated")
    assert len(rotated) == 1 and rotated[0]["after"]["verifier_key"] == new["verifier_key"]

    # The checkpoint covering the rotation: the old key's, not the new one's.
    note = latest_note(api)
    assert checkpoint_size(note) == rotated[0]["seq"]
    assert verify_with_key(srv, note, old, tmp_path, k["origin"]).returncode == 0
    assert verify_with_key(srv, note, new["verifier_key"], tmp_path, k["origin"]).returncode == 1

    api.create_model(unique("after-rotation"))
    made = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    assert made["key_id"] == new["key_id"]
    assert verify_with_key(srv, made["checkpoint"], new["verifier_key"], tmp_path,
                           k["origin"]).returncode == 0
    assert verify_with_key(srv, made["checkpoint"], old, tmp_path, k["origin"]).returncode == 1
    # Only admins rotate and make checkpoints; a refusal changes nothing.
    person = vouch_testlib.make_person(api, unique("nobody"), "", "No Body")
    api.call("POST", "/api/v1/audit/keys/rotate", token=person.token, expect=403,
             code="PERMISSION_DENIED")
    api.call("POST", "/api/v1/audit/checkpoints", token=person.token, expect=403,
             code="PERMISSION_DENIED")
    assert len(keys(api)["keys"]) == 2
    # A restart keeps the keys and the origin.
    srv.restart()
    assert keys(api) == {**k, "keys": keys(api)["keys"]} and len(keys(api)["keys"]) == 2


@sqlite_only
def test_a_log_cut_below_its_latest_checkpoint_is_refused_naming_both_sizes(server_factory,
                                                                           spec):
    srv = server_factory(store=None)
    api = srv.api(spec)
    for _ in range(3):
        api.create_model(unique("cut"))
    size = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()["size"]
    assert srv.terminate() == 0
    mark_damaged(srv.data_dir, "audit events deleted past a checkpoint on purpose")
    keep = size - 2
    srv.sql("DROP TRIGGER audit_events_no_delete")
    srv.sql(f"DELETE FROM outbox WHERE event_seq > {keep}")
    srv.sql(f"DELETE FROM audit_events WHERE seq > {keep}")
    # The acknowledged head refuses it first; told to accept the shorter log, the checkpoint
    # still refuses it, and on every later start too.
    err = refused_start(srv)
    assert "were acknowledged" in err, err
    err = refused_start(srv, "--accept-shorter-log")
    assert re.search(rf"ends at event {keep}\b.*latest checkpoint \(size {size}\) covers {size}",
                     err), err
    err = refused_start(srv)
    assert f"latest checkpoint (size {size})" in err, err


def copy_database(srv, side: Path) -> str | None:
    """An older copy of the whole store (the server stopped): the SQLite files, or a PostgreSQL
    database made from this one as template. Returns the copy's database name on PostgreSQL."""
    if srv.store_kind == "postgres":
        pg = postgres_cluster()
        name = vouch_testlib.new_database_name("old")
        pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{srv.postgres()["database"]}";')
        vouch_testlib._made_databases.append((pg, name))
        return name
    side.mkdir()
    for f in ("vouch.db", "vouch.db-head"):
        (side / f).write_bytes((srv.data_dir / f).read_bytes())
    return None


def put_back(srv, side: Path, database: str | None) -> None:
    if database is not None:
        state_path = srv.data_dir / vouch_testlib.POSTGRES_STATE_FILE
        state = json.loads(state_path.read_text())
        state["database"] = database
        state_path.write_text(json.dumps(state))
        return
    for f in ("vouch.db-wal", "vouch.db-shm"):
        (srv.data_dir / f).unlink(missing_ok=True)
    for f in ("vouch.db", "vouch.db-head"):
        (srv.data_dir / f).write_bytes((side / f).read_bytes())


def test_the_checkpoint_file_reveals_an_older_copy_of_the_whole_database(server_factory, spec,
                                                                         tmp_path):
    outside = tmp_path / "checkpoints"
    srv = server_factory(args=["--checkpoint-file", str(outside)])
    api = srv.api(spec)
    api.create_model(unique("file"))
    first = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    assert outside.read_text() == first["checkpoint"]
    assert srv.terminate() == 0
    older = copy_database(srv, tmp_path / "older")

    srv.start()
    api.create_model(unique("file"))
    second = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    assert outside.read_text() == first["checkpoint"] + "\n" + second["checkpoint"]
    assert srv.terminate() == 0

    # Restarting on the same store passes; the older copy, with its own checkpoints and head
    # file, does not.
    srv.start()
    assert srv.terminate() == 0
    put_back(srv, tmp_path / "older", older)
    err = refused_start(srv)
    assert f"the last checkpoint in the checkpoint file {outside} (size {second['size']})" in err, \
        err
    assert f"ends at event {first['size']}," in err, err


def test_the_checkpoint_file_is_refused_inside_the_data_directory(server_factory):
    srv = server_factory(start=False)
    err = refused_start(srv, "--checkpoint-file", str(srv.data_dir / "checkpoints"))
    assert "is inside the data directory" in err, err


def test_checkpoints_and_keys_cannot_be_rewritten_behind_the_server(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    made = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    attempts = ["UPDATE audit_checkpoints SET root = 'x'",
                "DELETE FROM audit_checkpoints",
                "UPDATE audit_signing_keys SET verifier_key = 'x'",
                "DELETE FROM audit_signing_keys",
                f"INSERT INTO audit_cosignatures VALUES ({made['id']}, 'witness.example/w', '01020304', "
                f"'{COSIGNATURE}', 1)",
                f"DELETE FROM audit_cosignatures WHERE checkpoint_id = {made['id']}"]
    for sql in attempts[:4]:
        if srv.store_kind == "postgres":
            r = postgres_cluster().psql(sql, database=srv.postgres()["database"], check=False)
            assert r.returncode != 0 and ("append-only" in r.stderr or "kept as made" in r.stderr), \
                (sql, r.stderr)
        else:
            import sqlite3
            with pytest.raises(sqlite3.DatabaseError, match="append-only|kept as made"):
                srv.sql(sql)
    assert api.call("GET", "/api/v1/audit/checkpoints", token=None,
                    params={"size": made["size"]}, expect=200).json()["checkpoints"] == [made]
    # A witness's cosignature, once stored, stays (WITNESS stores them; here behind the server).
    srv.sql(attempts[4])
    if srv.store_kind == "postgres":
        r = postgres_cluster().psql(attempts[5], database=srv.postgres()["database"], check=False)
        assert r.returncode != 0 and "append-only" in r.stderr, r.stderr
    else:
        import sqlite3
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            srv.sql(attempts[5])
    note = latest_note(api)
    assert note == made["checkpoint"] + COSIGNATURE + "\n"

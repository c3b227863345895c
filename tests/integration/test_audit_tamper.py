"""Tampering with a stored audit log behind the server's back (issue 14): with the append-only
triggers dropped, an event row edited (its bytes still canonical, its own seq: only the Merkle
tree tells), deleted, two rows' events swapped, or the log cut short — `vouch audit verify`
names the event, exits 1; so does `vouch audit verify --server` against the server restarted on the
edited store (its entries are the edited rows, its tiles the tree stored before). On both stores (the SQLite file, or the server's PostgreSQL database);
each damaged data directory is marked DAMAGED for the session's closing check."""

from __future__ import annotations

import json

import pytest

from vouch_testlib import mark_damaged, require_binary, run_cli, unique


def store_args(srv) -> list[str]:
    if srv.store_kind == "postgres":
        return ["--store", srv.postgres()["dsn"]]
    return ["--data-dir", str(srv.data_dir)]


def verify(srv, *extra: str):
    return run_cli([str(require_binary()), "audit", "verify", *store_args(srv), *extra],
                   timeout=120)


@pytest.fixture
def stopped(server_factory, spec):
    """A server that made a few dozen events, then stopped; its log verifies."""
    srv = server_factory()
    api = srv.api(spec)
    for i in range(4):
        name = unique(f"tamper{i}")
        api.create_model(name, description="before")
        for _ in range(3):
            api.create_version(name)
    assert srv.terminate() == 0
    r = verify(srv)
    assert r.returncode == 0 and r.stdout.startswith("ok: "), r.stdout + r.stderr
    yield srv


def tamper(srv, *statements: str, why: str) -> None:
    mark_damaged(srv.data_dir, why)
    on = " ON audit_events" if srv.store_kind == "postgres" else ""
    srv.sql(f"DROP TRIGGER audit_events_no_update{on}")
    srv.sql(f"DROP TRIGGER audit_events_no_delete{on}")
    if srv.store_kind == "postgres":
        srv.sql("DELETE FROM outbox")  # its rows refer to the events (a foreign key)
    for statement in statements:
        srv.sql(statement)


def refused(srv) -> str:
    r = verify(srv)
    assert r.returncode == 1, r.stdout + r.stderr
    return r.stdout + r.stderr


def body_of(srv, seq: int) -> dict:
    return json.loads(srv.sql(f"SELECT body FROM audit_events WHERE seq = {seq}")[0][0])


def test_an_edited_event_still_canonical_is_named_as_altered(stopped):
    tamper(stopped, "UPDATE audit_events SET body = REPLACE(body, '\"comment\":\"\"', "
                    "'\"comment\":\"x\"') WHERE seq = 6", why="event 6 edited")
    assert body_of(stopped, 6)["comment"] == "x"
    out = refused(stopped)
    assert "event 6 altered: its bytes are not the leaf the tree stored at index 5" in out
    assert "does not verify" in out


def test_a_deleted_event_is_named_as_missing(stopped):
    tamper(stopped, "DELETE FROM audit_events WHERE seq = 7", why="event 7 deleted")
    out = refused(stopped)
    assert "event 7 missing" in out
    assert "(the first: event 7 missing)" in out


def test_two_events_swapped_are_named(stopped):
    tamper(stopped, "UPDATE audit_events SET seq = -3 WHERE seq = 3",
           "UPDATE audit_events SET seq = 3 WHERE seq = 4",
           "UPDATE audit_events SET seq = 4 WHERE seq = -3", why="events 3 and 4 swapped")
    out = refused(stopped)
    assert "event 3 holds the body of event 4: appended out of order" in out
    assert "event 4 holds the body of event 3: appended out of order" in out
    assert "event 3 reordered" in out


def test_a_log_cut_short_is_named_as_truncated(stopped):
    last = int(stopped.sql("SELECT MAX(seq) FROM audit_events")[0][0])
    tamper(stopped, f"DELETE FROM audit_events WHERE seq > {last - 3}", why="log truncated")
    out = refused(stopped)
    assert "log truncated" in out or f"the stored audit tree holds {last} events" in out
    assert f"the log {last - 3}" in out or f"ends at event {last - 3}" in out


def test_an_edited_event_served_by_a_restarted_server_is_named_by_verify_server(stopped, spec):
    tamper(stopped, "UPDATE audit_events SET body = REPLACE(body, '\"comment\":\"\"', "
                    "'\"comment\":\"x\"') WHERE seq = 6", why="event 6 edited, then served")
    stopped.start()
    api = stopped.api(spec)
    size = api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()["size"]
    assert size >= 6
    r = stopped.cli("audit", "verify", "--server", stopped.base, server=None, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "event 6 altered: its bytes are not the leaf the tree stored at index 5" in out
    assert f"checkpoint served at /api/v1/audit/log/checkpoint (size {size}," in out
    assert "the first event altered is 6" in out
    assert "does not verify" in r.stderr

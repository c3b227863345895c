"""The closing check of every black-box session (conftest.py): `vouch audit verify` on each data
directory the session left, on its store (SQLite file or PostgreSQL database), except those a test
damaged on purpose and marked DAMAGED. Here it is shown to catch a log that does not verify."""

from __future__ import annotations

import pytest

from vouch_testlib import (check_audit_logs_after_session, data_dirs_under, mark_damaged,
                           unique, unverified_data_dirs)


def rewrite_first_event(srv) -> None:
    """What a forger with SQL access does: the append-only trigger dropped, event 1 altered."""
    on = " ON audit_events" if srv.store_kind == "postgres" else ""
    srv.sql(f"DROP TRIGGER audit_events_no_update{on}")
    srv.sql("UPDATE audit_events SET body = body || ' ' WHERE seq = 1")


def test_a_data_directory_whose_log_does_not_verify_fails_the_check_until_marked_damaged(
        server_factory, spec):
    srv = server_factory()
    srv.api(spec).create_model(unique("closing"))
    root = srv.data_dir.parent  # this test's own tmp_path
    assert data_dirs_under(root) == [srv.data_dir]
    assert unverified_data_dirs(root) == []
    assert srv.terminate() == 0
    try:
        rewrite_first_event(srv)
        problems = unverified_data_dirs(root)
        assert len(problems) == 1, problems
        assert str(srv.data_dir) in problems[0] and "audit event 1: " in problems[0], problems
        with pytest.raises(pytest.fail.Exception) as failed:
            check_audit_logs_after_session(root)
        assert str(srv.data_dir) in str(failed.value) and "DAMAGED" in str(failed.value)
    finally:
        mark_damaged(srv.data_dir, "this test rewrote audit event 1 to show the check catches it")
    assert unverified_data_dirs(root) == []

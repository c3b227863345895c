"""Fixtures for the black-box suite.

- `spec`: docs/openapi.yaml, loaded once.
- `server` / `api`: one server per test module (fast); a module that needs different flags defines
  its own `server_args` fixture.
- `server_factory`: fresh servers for one test (kill -9, SIGTERM, start-up checks); each is stopped
  at the end of the test.
- At the end of the session every data directory left under the session's temporary root must pass
  `vouch audit verify`, unless a test marked it DAMAGED (vouch_testlib.mark_damaged).

Every server runs on the suite's store: SQLite by default, or with VOUCH_TEST_STORE=postgres and
VOUCH_TEST_POSTGRES_DSN a fresh PostgreSQL database per data directory (vouch_testlib.VouchServer).
Tests marked `sqlite_only` open the SQLite file themselves and are skipped there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from vouch_testlib import (UNSET, ADMIN_TOKEN, Api, Spec, VouchServer,
                           check_audit_logs_after_session, postgres_admin_dsn, suite_store)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: reads or writes the SQLite file itself "
                                       "(skipped under VOUCH_TEST_STORE=postgres)")
    if suite_store() == "postgres" and not postgres_admin_dsn():
        raise pytest.UsageError("VOUCH_TEST_STORE=postgres needs VOUCH_TEST_POSTGRES_DSN (the "
                                "first line of `scripts/pg-test-cluster start`)")


def pytest_report_header(config):
    return f"vouch store: {suite_store()}"


def pytest_collection_modifyitems(config, items):
    if suite_store() == "postgres":
        skip = pytest.mark.skip(reason="inspects the SQLite file (VOUCH_TEST_STORE=postgres)")
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def audit_logs_verify_at_the_end(tmp_path_factory) -> Iterator[None]:
    """After the last test (its servers stopped), `vouch audit verify` on every data directory the
    session left under its temporary root, except those marked DAMAGED; an error naming each one
    that does not verify. Data directories live under tmp_path / tmp_path_factory, which pytest
    keeps until a later session."""
    yield
    check_audit_logs_after_session(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec()


@pytest.fixture(scope="module")
def server_args() -> list[str]:
    """Extra `vouch serve` flags for the module's shared server."""
    return []


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_args) -> Iterator[VouchServer]:
    root = tmp_path_factory.mktemp("vouch")
    data = root / "data"
    data.mkdir()
    srv = VouchServer(data, root / "logs", token=ADMIN_TOKEN, args=server_args)
    srv.start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def api(server, spec) -> Api:
    return server.api(spec)


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., VouchServer]]:
    """Makes fresh servers (not started unless start=True) on their own data directories."""
    made: list[VouchServer] = []
    counter = iter(range(1, 1000))

    def make(*, args=(), token: str | None = ADMIN_TOKEN, env=None, data_dir: Path | None = None,
             start: bool = True, store=UNSET) -> VouchServer:
        """`store` as VouchServer's: the suite's store by default; None for SQLite always (a
        test of what only the SQLite file does)."""
        n = next(counter)
        d = data_dir if data_dir is not None else tmp_path / f"data{n}"
        if data_dir is None:
            d.mkdir()
        srv = VouchServer(d, tmp_path / f"logs{n}", token=token, args=args, env=env, store=store)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        srv.close()

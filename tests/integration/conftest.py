"""Fixtures for the black-box suite.

- `spec`: docs/openapi.yaml, loaded once.
- `server` / `api`: one server per test module (fast); a module that needs different flags defines
  its own `server_args` fixture.
- `server_factory`: fresh servers for one test (kill -9, SIGTERM, start-up checks); each is stopped
  at the end of the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from vouch_testlib import ADMIN_TOKEN, Api, Spec, VouchServer


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
             start: bool = True) -> VouchServer:
        n = next(counter)
        d = data_dir if data_dir is not None else tmp_path / f"data{n}"
        if data_dir is None:
            d.mkdir()
        srv = VouchServer(d, tmp_path / f"logs{n}", token=token, args=args, env=env)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        srv.close()

"""The leader lease (issue 10): with several `vouch serve` on one PostgreSQL database, exactly one
holds the lease and runs the singleton jobs.

Each test starts three servers on a fresh database of VOUCH_TEST_POSTGRES_DSN's cluster (skipped
without it) and reads `vouch_leader` from every server's /metrics:

- exactly one leads; killed with SIGKILL, another takes over within a few seconds, at a higher
  epoch in the `leases` row, and says so in its log;
- PostgreSQL stopped and started again (VOUCH_TEST_POSTGRES_DIR, the cluster's directory, is
  needed): all three are polled continuously through the outage, no two ever report leading at
  once, and one leads again afterwards.

A server's token is checked once and then trusted for an hour (--auth-cache-ttl), so /metrics keeps
answering while the database is down.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests

from vouch_testlib import (ADMIN_TOKEN, REPO, VouchServer, new_database_name, new_master_key,
                           postgres_admin_dsn, postgres_cluster, wait_until)

pytestmark = pytest.mark.skipif(not postgres_admin_dsn(),
                                reason="VOUCH_TEST_POSTGRES_DSN is not set")

SERVERS = 3
# A holder's death is seen by PostgreSQL at once; the others poll every second and a new holder
# settles 3.5 s before it leads: well within this.
TAKEOVER_DEADLINE = 20.0


@pytest.fixture
def cluster(tmp_path) -> Iterator[list[VouchServer]]:
    """Three servers on one fresh database, started together; stopped at the end."""
    pg = postgres_cluster()
    database = new_database_name("lease")
    pg.create_database(database)
    key = new_master_key()
    servers = []
    for i in range(SERVERS):
        data = tmp_path / f"srv{i}-{uuid.uuid4().hex[:6]}"
        servers.append(VouchServer(data, tmp_path / f"logs{i}", token=ADMIN_TOKEN,
                                   args=("--auth-cache-ttl", "1h"),
                                   env={"VOUCH_MASTER_KEY": key}, store=pg.dsn(database)))
    for srv in servers:
        srv.spawn()
    for srv in servers:
        try:
            srv.wait_ready(60)
        except Exception:  # noqa: BLE001  (an early exit: say why)
            pytest.fail(f"server on :{srv.port} did not start:\n{srv.logs()}")
    yield servers
    for srv in servers:
        srv.close()


def leading(srv: VouchServer) -> bool | None:
    """What the server's /metrics says of the lease; None when it does not answer."""
    if not srv.running():
        return None
    try:
        r = requests.get(srv.base + "/metrics",
                         headers={"Authorization": f"Bearer {srv.token}"}, timeout=5)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    values = [line.split()[1] for line in r.text.splitlines() if line.startswith("vouch_leader ")]
    assert len(values) == 1, r.text
    assert values[0] in ("0", "1"), r.text
    return values[0] == "1"


def leaders(servers: list[VouchServer]) -> list[int]:
    return [i for i, srv in enumerate(servers) if leading(srv)]


class Watcher:
    """Polls every server's /metrics in rounds until stopped; remembers each round's leaders."""

    def __init__(self, servers: list[VouchServer]):
        self.servers = servers
        self.rounds: list[tuple[float, list[int], int]] = []  # (time, leaders, servers answering)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Watcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            states = [leading(srv) for srv in self.servers]
            self.rounds.append((time.monotonic(), [i for i, s in enumerate(states) if s],
                                sum(s is not None for s in states)))

    def overlaps(self) -> list[tuple[float, list[int], int]]:
        return [r for r in self.rounds if len(r[1]) > 1]


def lease_row(srv: VouchServer) -> tuple[int, str]:
    pg = postgres_cluster()
    database = srv.store.rsplit("/", 1)[1].split("?", 1)[0]
    rows = pg.rows("SELECT epoch, holder FROM leases WHERE name = 'leader'", database=database)
    assert len(rows) == 1, rows
    return int(rows[0][0]), rows[0][1]


def test_one_of_three_servers_leads_and_another_takes_over_when_it_is_killed(cluster):
    with Watcher(cluster) as watcher:
        first = wait_until(lambda: leaders(cluster), TAKEOVER_DEADLINE, what="a leader")
        assert len(first) == 1, first
        holder = cluster[first[0]]
        epoch, name = lease_row(holder)
        assert name.endswith(f":{holder.proc.pid}"), name
        # Logged at the poll after it starts leading.
        wait_until(lambda: "leader lease 'leader' acquired" in holder.stderr(), 5,
                   what="the holder's log line")

        killed_at = time.monotonic()
        holder.kill()
        second = wait_until(lambda: leaders(cluster), TAKEOVER_DEADLINE,
                            what="another server to take the lease over")
        took = time.monotonic() - killed_at
    assert len(second) == 1 and second[0] != first[0], (first, second)
    successor = cluster[second[0]]
    new_epoch, new_name = lease_row(successor)
    assert new_epoch > epoch
    assert new_name.endswith(f":{successor.proc.pid}"), new_name
    wait_until(lambda: "leader lease 'leader' acquired" in successor.stderr(), 5,
               what="the successor's log line")
    assert not watcher.overlaps(), watcher.overlaps()[:5]
    print(f"took over {took:.1f}s after the kill; {len(watcher.rounds)} rounds watched")


def test_a_database_outage_never_gives_two_leaders_and_one_leads_after_it(cluster):
    cluster_dir = _cluster_dir()
    with Watcher(cluster) as watcher:
        first = wait_until(lambda: leaders(cluster), TAKEOVER_DEADLINE, what="a leader")
        assert len(first) == 1, first
        # Every token checked once, so that /metrics answers from the cache through the outage.
        assert all(leading(srv) is not None for srv in cluster)
        halted = False
        try:
            _pg_ctl(cluster_dir, "halt")
            halted = True
            # The holder's session is gone: it notices at its next poll.
            wait_until(lambda: not leaders(cluster), TAKEOVER_DEADLINE,
                       what="the holder to notice it lost the lease")
            _pg_ctl(cluster_dir, "resume")
            halted = False
        finally:
            if halted:
                _pg_ctl(cluster_dir, "resume")
        after = wait_until(lambda: leaders(cluster), 2 * TAKEOVER_DEADLINE,
                           what="a leader after the outage")
        assert len(after) == 1, after
    assert not watcher.overlaps(), watcher.overlaps()[:5]
    # The watcher saw the servers through the outage, not just before and after it.
    assert sum(1 for _, _, answering in watcher.rounds if answering == SERVERS) > 10
    assert any(not lead for _, lead, _ in watcher.rounds)
    print(f"{len(watcher.rounds)} rounds watched; leader before {first}, after {after}")


def _cluster_dir() -> Path:
    d = os.environ.get("VOUCH_TEST_POSTGRES_DIR")
    if not d:
        pytest.skip("VOUCH_TEST_POSTGRES_DIR (the cluster directory from scripts/pg-test-cluster) "
                    "is not set: cannot stop and start PostgreSQL")
    return Path(d)


def _pg_ctl(cluster_dir: Path, action: str) -> None:
    r = subprocess.run([str(REPO / "scripts" / "pg-test-cluster"), action, str(cluster_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"pg-test-cluster {action}: {r.stderr}"

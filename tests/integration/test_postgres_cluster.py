"""Many `vouch serve` processes on one PostgreSQL database (issue 4).

Each test gets a fresh database on the cluster of VOUCH_TEST_POSTGRES_DSN (skipped without it):

- three servers under load from 24 client threads keep every invariant, checked afterwards through
  SQL, the HTTP API and the CLI: version numbers unique and gapless and one created event each, one
  gapless audit sequence, never two holders of Production (or Staging) at any commit, the state
  equal to the audit log replayed, aliases on existing versions, page tokens good on every server;
- the same under faults: one server killed with SIGKILL, PostgreSQL stopped and started, then
  restarted, under load (VOUCH_TEST_POSTGRES_DIR, the cluster's directory, is needed for that one): nothing a client
  was told succeeded is lost, nothing is half written, the answers are 2xx or 503 only, and /ready
  goes 503 and back to 200 without a restart of vouch;
- the owner and application roles, --migrate-as and `vouch migrate-schema`, and what the
  application role may do to the audit log (nothing but read and append);
- start-up failures: one line on stderr, exit 1, never the password.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pytest
import requests

from vouch_testlib import (ADMIN_TOKEN, REPO, pg_cluster_dir, pg_ctl, Api, Postgres, VouchServer, clean_env, free_port,
                           json_lines, new_database_name, new_master_key, postgres_admin_dsn,
                           postgres_cluster, quote_segment, require_binary, unique, wait_until)

pytestmark = pytest.mark.skipif(not postgres_admin_dsn(),
                                reason="VOUCH_TEST_POSTGRES_DSN is not set")

SERVERS = 3
THREADS_PER_SERVER = 8
LOAD_SECONDS = 4
ALIASES = ("champion", "challenger")
ACTIVE_STAGES = ("Production", "Staging")
METRICS = ("vouch_store_pool_waits_total", "vouch_store_pool_wait_seconds_total",
           "vouch_store_audit_head_wait_seconds_total", "vouch_store_write_retries_total")


@pytest.fixture
def pg() -> Postgres:
    return postgres_cluster()


@pytest.fixture
def database(pg) -> str:
    """A fresh, empty database (dropped when the test process exits)."""
    name = new_database_name("vc")
    pg.create_database(name)
    return name


@pytest.fixture
def servers_on(tmp_path) -> Iterator:
    """Makes servers on a store the test chooses; stops them at the end of the test."""
    made: list[VouchServer] = []

    def make(dsn: str, master_key: str, *, args=(), env=None, n: int | None = None) -> VouchServer:
        i = len(made) + 1 if n is None else n
        data = tmp_path / f"srv{i}-{uuid.uuid4().hex[:6]}"
        srv = VouchServer(data, tmp_path / f"logs{i}", token=ADMIN_TOKEN, args=args,
                          env={"VOUCH_MASTER_KEY": master_key, **(env or {})}, store=dsn)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()


def start_together(servers: list[VouchServer]) -> None:
    """Spawns every server before waiting for any, so one-time set-up and migrations race."""
    for srv in servers:
        srv.spawn()
    for srv in servers:
        try:
            srv.wait_ready(60)
        except Exception:  # noqa: BLE001  (an early exit: say why)
            pytest.fail(f"server on :{srv.port} did not start:\n{srv.logs()}")


# ---------------------------------------------------------------------------------------------
# Load: 8 client threads per server creating versions on shared models, moving stages with
# archive_existing (native and MLflow doors), setting aliases. Every answer is recorded.


@dataclass
class Outcome:
    server: int
    kind: str                  # create | stage | alias
    model: str
    request_id: str
    door: str                  # native | mlflow
    status: int | None         # None: no HTTP answer (connection refused, reset, timeout)
    error: str = ""            # the exception, when there was no answer
    version: int | None = None  # created, moved or aliased version
    stage: str | None = None
    alias: str | None = None
    source: str | None = None
    wrong: str = ""            # a 2xx whose body contradicts the request, or a bad error body
    t: float = 0.0             # time.monotonic() when the answer (or the error) came

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Load:
    def __init__(self, servers: list[VouchServer], models: list[str], token: str = ADMIN_TOKEN,
                 threads_per_server: int = THREADS_PER_SERVER, seed: int = 4):
        self.servers = servers
        self.models = models
        self.token = token
        self.threads_per_server = threads_per_server
        self.seed = seed
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.known: dict[str, list[int]] = {m: [] for m in models}  # acknowledged versions
        self.threads: list[threading.Thread] = []

    def start(self) -> "Load":
        for s in range(len(self.servers)):
            for t in range(self.threads_per_server):
                th = threading.Thread(target=self._run, args=(s, t), daemon=True)
                th.start()
                self.threads.append(th)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for th in self.threads:
            th.join(60)
        assert not any(th.is_alive() for th in self.threads), "a client thread did not finish"

    def count(self, *, kind: str | None = None, servers: Iterable[int] | None = None,
              after: float = 0.0) -> int:
        """Acknowledged requests (of a kind, to some servers, answered after a time)."""
        wanted = set(servers) if servers is not None else None
        with self.lock:
            return sum(1 for o in self.outcomes if o.ok and o.t >= after
                       and (kind is None or o.kind == kind)
                       and (wanted is None or o.server in wanted))

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)

    def _run(self, s: int, t: int) -> None:
        rng = random.Random(f"{self.seed}-{s}-{t}")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        i = 0
        while not self.stop_event.is_set():
            i += 1
            model = rng.choice(self.models)
            with self.lock:
                known = list(self.known[model])
            roll = rng.random()
            rid = f"load-{s}-{t}-{i}"
            if not known or roll < 0.5:
                o = self._create(session, s, model, rid)
            elif roll < 0.8:
                o = self._stage(session, s, model, rng.choice(known[-6:]),
                                rng.choice(ACTIVE_STAGES), rid, rng.random() < 0.5)
            else:
                o = self._alias(session, s, model, rng.choice(known[-6:]), rng.choice(ALIASES),
                                rid)
            with self.lock:
                self.outcomes.append(o)
                if o.ok and o.kind == "create" and o.version is not None:
                    self.known[model].append(o.version)
            if o.status is None:
                # The server is gone (killed); try again a little later rather than spin.
                self.stop_event.wait(0.05)

    def _send(self, session, s: int, method: str, path: str, body: dict, rid: str, o: Outcome):
        url = self.servers[s].base + path
        try:
            r = session.request(method, url, json=body, headers={"X-Request-Id": rid}, timeout=30)
        except requests.RequestException as e:
            o.error = f"{type(e).__name__}: {e}"[:300]
            o.t = time.monotonic()
            return None
        o.t = time.monotonic()
        o.status = r.status_code
        if r.status_code == 503:
            try:
                body = r.json()
            except ValueError:
                body = None
            if o.door == "mlflow":
                good = isinstance(body, dict) and body.get("error_code") == "TEMPORARILY_UNAVAILABLE"
            else:
                good = isinstance(body, dict) and body.get("error", {}).get("code") == "UNAVAILABLE"
            if not good:
                o.wrong = f"503 with body {r.text[:200]}"
            return None
        if not o.ok:
            o.wrong = f"{r.status_code}: {r.text[:300]}"
            return None
        if r.headers.get("X-Request-Id") != rid:
            o.wrong = f"X-Request-Id {r.headers.get('X-Request-Id')!r} for {rid!r}"
        try:
            return r.json()
        except ValueError:
            o.wrong = f"{r.status_code} with a body that is not JSON: {r.text[:200]}"
            return None

    def _create(self, session, s, model, rid) -> Outcome:
        source = f"s3://bucket/{rid}"
        o = Outcome(s, "create", model, rid, "native", None, source=source)
        body = self._send(session, s, "POST", f"/api/v1/models/{quote_segment(model)}/versions",
                          {"source": source}, rid, o)
        if body is not None:
            o.version = body.get("version")
            if body.get("model") != model or body.get("source") != source \
                    or not isinstance(o.version, int) or body.get("stage") != "None":
                o.wrong = f"create answered {body}"
        return o

    def _stage(self, session, s, model, version, stage, rid, via_mlflow) -> Outcome:
        o = Outcome(s, "stage", model, rid, "mlflow" if via_mlflow else "native", None,
                    version=version, stage=stage)
        if via_mlflow:
            body = self._send(session, s, "POST",
                              "/api/2.0/mlflow/model-versions/transition-stage",
                              {"name": model, "version": str(version), "stage": stage,
                               "archive_existing_versions": True}, rid, o)
            if body is not None:
                mv = body.get("model_version", {})
                if mv.get("version") != str(version) or mv.get("current_stage") != stage:
                    o.wrong = f"transition-stage answered {body}"
        else:
            body = self._send(session, s, "POST",
                              f"/api/v1/models/{quote_segment(model)}/versions/{version}/stage",
                              {"stage": stage, "archive_existing": True}, rid, o)
            if body is not None and (body.get("version") != version or body.get("stage") != stage):
                o.wrong = f"stage answered {body}"
        return o

    def _alias(self, session, s, model, version, alias, rid) -> Outcome:
        o = Outcome(s, "alias", model, rid, "native", None, version=version, alias=alias)
        body = self._send(session, s, "PUT",
                          f"/api/v1/models/{quote_segment(model)}/aliases/{alias}",
                          {"version": version}, rid, o)
        if body is not None and (body.get("version") != version
                                 or alias not in body.get("aliases", [])):
            o.wrong = f"alias answered {body}"
        return o


# ---------------------------------------------------------------------------------------------
# What must hold afterwards


def replay(events: list[dict]) -> tuple[dict, dict]:
    """Folds the audit log in seq order, one transaction (a run of events with one request id) at
    a time. Asserts that every stage change and alias move starts from the state the log had built
    so far, that no request id appears in two runs (a transaction's events are contiguous), and
    that after every transaction a model has at most one version in Production and one in Staging.
    Returns (stage of each (model, version), version of each (model, alias))."""
    stages: dict[tuple[str, int], str] = {}
    aliases: dict[tuple[str, str], int] = {}
    runs: list[list[dict]] = []
    for e in events:
        rid = e["request_id"]
        if runs and rid and runs[-1][0]["request_id"] == rid:
            runs[-1].append(e)
        else:
            runs.append([e])
    seen_rids = Counter(run[0]["request_id"] for run in runs if run[0]["request_id"])
    split = [rid for rid, n in seen_rids.items() if n > 1]
    assert not split, f"events of one request are not contiguous in the log: {split[:5]}"

    for run in runs:
        touched: set[str] = set()
        for e in run:
            action, target = e["action"], e["target"]
            model = target.get("model")
            if action == "model_version.created":
                key = (model, target["version"])
                assert key not in stages, f"version created twice: {key} (seq {e['seq']})"
                stages[key] = "None"
            elif action == "model_version.stage_changed":
                key = (model, target["version"])
                assert key in stages, f"stage change of a version never created: {e}"
                assert e["before"]["stage"] == stages[key], (
                    f"seq {e['seq']}: {key} moved from {e['before']['stage']} but the log had it "
                    f"in {stages[key]}: a move decided on a stale read")
                stages[key] = e["after"]["stage"]
                touched.add(model)
            elif action == "model_alias.set":
                key = (model, target["alias"])
                before = e["before"]["version"] if e["before"] else None
                assert before == aliases.get(key), (
                    f"seq {e['seq']}: alias {key} was {aliases.get(key)} in the log, the event "
                    f"says {before}")
                assert (model, e["after"]["version"]) in stages, f"alias to a missing version: {e}"
                aliases[key] = e["after"]["version"]
        for model in touched:
            for stage in ACTIVE_STAGES:
                holders = sorted(v for (m, v), st in stages.items() if m == model and st == stage)
                assert len(holders) <= 1, (
                    f"after seq {run[-1]['seq']} (request {run[-1]['request_id']}) versions "
                    f"{holders} of {model} were all in {stage}")
    return stages, aliases


def check_cluster(pg: Postgres, database: str, servers: list[VouchServer], spec, load: Load,
                  *, faults: bool) -> dict:
    """Every invariant, read back through SQL, the API (server 1), the CLI (server 2)."""
    outcomes = load.snapshot()
    reader = servers[1 % len(servers)]
    api = reader.api(spec)
    cli_server = servers[2 % len(servers)]

    # One gapless audit sequence, the same through SQL, the API and the CLI.
    events = api.events()
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "the audit log has gaps or is out of order"
    sql_seqs = [int(r[0]) for r in pg.rows("SELECT seq FROM audit_events ORDER BY seq",
                                           database=database)]
    assert sql_seqs == seqs
    assert int(pg.value("SELECT next_seq FROM audit_head", database=database)) == len(seqs) + 1
    r = cli_server.cli("audit", "log", "--output", "jsonl", timeout=120)
    assert r.returncode == 0, r.stderr
    cli_events = json_lines(r.stdout)
    assert [(e["seq"], e["action"], e["request_id"]) for e in cli_events] == \
        [(e["seq"], e["action"], e["request_id"]) for e in events]

    # One-time set-up happened once, whichever servers started and restarted: the first admin, and
    # each secret vouch makes at initialisation (the page-token key and the audit signing key).
    actions = Counter(e["action"] for e in events)
    assert actions["principal.created"] == 1, actions
    secrets = Counter(e["target"]["name"] for e in events if e["action"] == "secret.created")
    assert secrets == {"page-token-key": 1, "audit-signing-key": 1}, secrets

    created_by_rid = {e["request_id"]: (e["target"]["model"], e["target"]["version"])
                      for e in events if e["action"] == "model_version.created"}
    assert len(created_by_rid) == actions["model_version.created"], "two creates with one id"
    sent = {o.request_id: o for o in outcomes}
    sql_versions = defaultdict(dict)
    for name, version, source, stage in pg.rows(
            "SELECT m.name, v.version, v.source, v.stage FROM model_versions v "
            "JOIN models m ON m.id = v.model_id WHERE v.deleted_ms IS NULL "
            "ORDER BY m.name, v.version", database=database):
        sql_versions[name][int(version)] = (source, stage)
    last_version = {name: int(n) for name, n in pg.rows(
        "SELECT name, last_version FROM models WHERE deleted_ms IS NULL", database=database)}

    stages, aliases = replay(events)

    for model in load.models:
        listed = api.list_versions(model)
        numbers = [v["version"] for v in listed]
        assert numbers == list(range(1, len(numbers) + 1)), f"{model}: numbers {numbers}"
        assert {v["version"]: (v["source"], v["stage"]) for v in listed} == sql_versions[model]
        assert last_version[model] == len(numbers)
        r = cli_server.cli("versions", "list", model, "--output", "jsonl", timeout=60)
        assert r.returncode == 0, r.stderr
        assert [v["version"] for v in json_lines(r.stdout)] == numbers

        # One created event per version, and each names the request that made it.
        event_versions = sorted(v for (m, v) in created_by_rid.values() if m == model)
        assert event_versions == numbers, f"{model}: versions and created events disagree"
        acked = [o for o in outcomes if o.kind == "create" and o.model == model and o.ok]
        for o in acked:
            assert created_by_rid.get(o.request_id) == (model, o.version), (
                f"acknowledged create {o.request_id} ({model} v{o.version}) has no event")
            assert sql_versions[model][o.version][0] == o.source, f"{model} v{o.version}"
        if not faults:
            assert len(numbers) == len(acked), f"{model}: {len(numbers)} versions, " \
                                               f"{len(acked)} acknowledged creates"
        else:
            assert len(numbers) >= len(acked)
        for rid, (m, v) in created_by_rid.items():
            if m != model:
                continue
            o = sent.get(rid)
            assert o is not None and o.kind == "create" and o.model == model, (
                f"{model} v{v} was made by request {rid!r}, which no client sent")
            assert sql_versions[model][v][0] == o.source, f"{model} v{v} has another's source"

        # The state is the log replayed; never two live holders now either.
        for v, (_source, stage) in sql_versions[model].items():
            assert stages[(model, v)] == stage, f"{model} v{v}: {stage} but the log says " \
                                                f"{stages[(model, v)]}"
        for stage in ACTIVE_STAGES:
            holders = [v for v, (_s, st) in sql_versions[model].items() if st == stage]
            assert len(holders) <= 1, f"{model}: {holders} in {stage}"

    # Aliases: the log replayed, each on an existing live version.
    sql_aliases = {(m, a): int(v) for m, a, v in pg.rows(
        "SELECT m.name, a.alias, a.version FROM model_aliases a JOIN models m ON m.id = a.model_id",
        database=database)}
    assert sql_aliases == aliases
    dangling = pg.rows("SELECT a.alias, a.version FROM model_aliases a LEFT JOIN model_versions v "
                       "ON v.model_id = a.model_id AND v.version = a.version "
                       "AND v.deleted_ms IS NULL WHERE v.id IS NULL", database=database)
    assert dangling == [], f"aliases on versions that do not exist: {dangling}"
    for (model, alias), version in aliases.items():
        got = api.call("GET", "/api/v1/models/{name}/aliases/{alias}",
                       path={"name": model, "alias": alias}, expect=200).json()
        assert got["version"] == version

    # Every acknowledged move and alias is in the log under its request id.
    moved = {e["request_id"] for e in events if e["action"] == "model_version.stage_changed"}
    aliased = {e["request_id"] for e in events if e["action"] == "model_alias.set"}
    for kind, logged in (("stage", moved), ("alias", aliased)):
        acked = {o.request_id for o in outcomes if o.kind == kind and o.ok}
        tried = {o.request_id for o in outcomes if o.kind == kind}
        assert acked <= logged, f"acknowledged {kind} requests missing from the log: " \
                                f"{sorted(acked - logged)[:5]}"
        assert logged - {""} <= tried, f"{kind} events for requests nobody sent"
        if not faults:
            assert logged == acked
    for e in events:
        if e["action"] == "model_version.stage_changed" and e["request_id"] in sent:
            o = sent[e["request_id"]]
            assert o.kind == "stage", e
    return {"events": len(events), "versions": sum(len(v) for v in sql_versions.values())}


def metrics(srv: VouchServer) -> dict[str, float]:
    r = requests.get(srv.base + "/metrics", headers={"Authorization": f"Bearer {srv.token}"},
                     timeout=10)
    assert r.status_code == 200, r.text
    out = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def shared_models(api: Api, n: int = 3) -> list[str]:
    return [api.create_model(unique("shared"))["name"] for _ in range(n)]


def summarize(outcomes: list[Outcome]) -> str:
    c = Counter((o.server, o.kind, o.status) for o in outcomes)
    return ", ".join(f"s{s}/{k}/{st}:{n}" for (s, k, st), n in sorted(c.items(), key=str))


# ---------------------------------------------------------------------------------------------
# Three servers, one database


def test_three_servers_under_load_keep_every_invariant(pg, database, servers_on, spec):
    key = new_master_key()
    dsn = pg.dsn(database)
    servers = [servers_on(dsn, key) for _ in range(SERVERS)]
    start_together(servers)
    apis = [s.api(spec) for s in servers]
    models = shared_models(apis[0])

    load = Load(servers, models).start()
    started = time.monotonic()
    try:
        wait_until(lambda: load.count(kind="create") >= 300 and load.count(kind="stage") >= 100
                   and load.count(kind="alias") >= 50
                   and time.monotonic() - started >= LOAD_SECONDS, timeout=90, interval=0.2,
                   what=f"{LOAD_SECONDS}s of load with 300 creates, 100 stage moves and 50 "
                        "aliases acknowledged")
        # Every server took part.
        wait_until(lambda: all(load.count(servers=[s]) >= 50 for s in range(SERVERS)),
                   timeout=30, what="50 acknowledged requests on every server")
    finally:
        load.stop()
    outcomes = load.snapshot()
    bad = [o for o in outcomes if not o.ok or o.wrong]
    assert not bad, f"{len(bad)} answers were not a right 2xx, e.g. {bad[:3]}\n" \
                    f"{summarize(outcomes)}"

    counts = check_cluster(pg, database, servers, spec, load, faults=False)
    print(f"{len(outcomes)} requests in {time.monotonic() - started:.1f}s: {summarize(outcomes)}; "
          f"{counts}")
    assert counts["versions"] == load.count(kind="create")

    # Page tokens are sealed with a key in the store: one server's token works on the others.
    first = apis[0].call("GET", "/api/v1/models/{name}/versions", path={"name": models[0]},
                         params={"limit": 5}, expect=200).json()
    token = first["next_page_token"]
    for other in apis[1:]:
        page = other.call("GET", "/api/v1/models/{name}/versions", path={"name": models[0]},
                          params={"limit": 5, "page_token": token}, expect=200).json()
        assert [v["version"] for v in page["versions"]] == [6, 7, 8, 9, 10]
    audit_page = apis[2].call("GET", "/api/v1/audit", params={"limit": 3}, expect=200).json()
    page = apis[1].call("GET", "/api/v1/audit",
                        params={"limit": 3, "page_token": audit_page["next_page_token"]},
                        expect=200).json()
    assert [e["seq"] for e in page["events"]] == [4, 5, 6]
    bad_token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    apis[1].call("GET", "/api/v1/models/{name}/versions", path={"name": models[0]},
                 params={"limit": 5, "page_token": bad_token}, expect=400,
                 code="INVALID_ARGUMENT")

    # Pool and audit-head metrics, and every acknowledged write was a write transaction.
    per_server = [metrics(s) for s in servers]
    for m in per_server:
        missing = [name for name in METRICS if name not in m]
        assert not missing, f"/metrics lacks {missing}"
        assert m["vouch_store_audit_head_wait_seconds_total"] > 0
    writes = sum(m["vouch_store_writes_total"] for m in per_server)
    assert writes >= len(outcomes), (writes, len(outcomes))


def test_a_killed_server_and_a_database_restart_lose_nothing_acknowledged(pg, database,
                                                                          servers_on, spec):
    cluster_dir = pg_cluster_dir()
    key = new_master_key()
    dsn = pg.dsn(database)
    servers = [servers_on(dsn, key) for _ in range(SERVERS)]
    start_together(servers)
    models = shared_models(servers[0].api(spec))
    survivors = [0, 1]
    pids = {i: servers[i].proc.pid for i in survivors}
    victim = 2

    load = Load(servers, models).start()
    marks: dict[str, float] = {}
    ready_seen: dict[int, list[int]] = {i: [] for i in survivors}
    try:
        wait_until(lambda: load.count() >= 200, timeout=90, interval=0.1,
                   what="200 acknowledged requests")

        marks["killed"] = time.monotonic()
        servers[victim].kill()
        wait_until(lambda: load.count(servers=survivors, after=marks["killed"]) >= 100,
                   timeout=60, interval=0.1, what="100 acknowledged after the kill")

        marks["halted"] = time.monotonic()
        pg_ctl(cluster_dir, "halt")
        for i in survivors:
            wait_until(lambda: _ready(servers[i], ready_seen[i]) == 503, timeout=30,
                       what=f"/ready 503 on server {i} while PostgreSQL is down")
        wait_until(lambda: all(any(o.status == 503 and o.server == i and o.t > marks["halted"]
                                   for o in load.snapshot()) for i in survivors),
                   timeout=30, interval=0.1, what="a 503 to clients of each server")

        pg_ctl(cluster_dir, "resume")
        marks["resumed"] = time.monotonic()
        for i in survivors:
            wait_until(lambda: _ready(servers[i], ready_seen[i]) == 200, timeout=60,
                       what=f"/ready 200 on server {i} after PostgreSQL came back")
        marks["ready_again"] = time.monotonic()
        wait_until(lambda: all(load.count(servers=[i], after=marks["ready_again"]) >= 50
                               for i in survivors),
                   timeout=60, interval=0.1, what="50 acknowledged per server after the outage")

        servers[victim].start()
        marks["victim_back"] = time.monotonic()
        wait_until(lambda: load.count(servers=[victim], after=marks["victim_back"]) >= 30,
                   timeout=60, interval=0.1, what="30 acknowledged by the restarted server")

        # And a plain restart (pg_ctl restart -m fast) under load: every server carries on.
        marks["restarting"] = time.monotonic()
        pg_ctl(cluster_dir, "restart")
        marks["restarted"] = time.monotonic()
        wait_until(lambda: all(load.count(servers=[i], after=marks["restarted"]) >= 30
                               for i in range(SERVERS)),
                   timeout=60, interval=0.1, what="30 acknowledged per server after a restart")
        marks["restart_served"] = time.monotonic()
    finally:
        load.stop()
        if "halted" in marks and "resumed" not in marks:
            pg_ctl(cluster_dir, "resume")

    outcomes = load.snapshot()
    summary = summarize(outcomes)
    # The survivors are the processes they were: service came back without a restart.
    for i in survivors:
        assert servers[i].running() and servers[i].proc.pid == pids[i], servers[i].logs()
        # /ready kept answering: 503 while the database was down, then 200 again.
        assert 503 in ready_seen[i] and ready_seen[i][-1] == 200 and 0 not in ready_seen[i], \
            ready_seen[i]
    # Answers: 2xx, or 503 around the outage, or no answer from the killed server while it was
    # down. Never a 500, never a wrong body.
    wrong = [o for o in outcomes if o.wrong]
    assert not wrong, f"wrong answers: {wrong[:3]}\n{summary}"
    for o in outcomes:
        if o.ok:
            continue
        if o.status == 503:
            outages = [(marks["halted"], marks["ready_again"] + 5),
                       (marks["restarting"], marks["restart_served"])]
            assert any(a <= o.t <= b for a, b in outages), (
                f"a 503 outside the outages: {o}\n{summary}")
        elif o.status is None:
            assert o.server == victim and marks["killed"] <= o.t <= marks["victim_back"] + 1, (
                f"no answer from a server that was up: {o}\n{summary}")
        else:
            pytest.fail(f"answer {o.status} under faults: {o}\n{summary}")
    assert any(o.status is None for o in outcomes), "the kill was not seen by any client"

    counts = check_cluster(pg, database, servers, spec, load, faults=True)
    assert counts["versions"] >= load.count(kind="create")
    print(f"{len(outcomes)} requests: {summary}; {counts}; /ready seen {ready_seen}")


def _ready(srv: VouchServer, seen: list[int]) -> int:
    """GET /ready; remembers each change of status in `seen`."""
    try:
        status = requests.get(srv.base + "/ready", timeout=5).status_code
    except requests.RequestException:
        status = 0
    if not seen or seen[-1] != status:
        seen.append(status)
    return status


# ---------------------------------------------------------------------------------------------
# Roles: a schema owner and an application role that owns nothing


@pytest.fixture
def roles(pg) -> Iterator[dict]:
    """vouch_owner_* (owns a fresh database) and vouch_app_* LOGIN roles, unique to the test so a
    long-lived cluster can run it again; dropped with the database afterwards."""
    suffix = uuid.uuid4().hex[:8]
    r = {"owner": f"vouch_owner_{suffix}", "app": f"vouch_app_{suffix}",
         "owner_pw": "own-" + uuid.uuid4().hex, "app_pw": "app-" + uuid.uuid4().hex,
         "database": new_database_name("vr")}
    pg.psql(f"CREATE ROLE {r['owner']} LOGIN PASSWORD '{r['owner_pw']}';\n"
            f"CREATE ROLE {r['app']} LOGIN PASSWORD '{r['app_pw']}';\n")
    pg.create_database(r["database"], owner=r["owner"])
    r["owner_dsn"] = pg.dsn(r["database"], user=r["owner"], password=r["owner_pw"])
    r["app_dsn"] = pg.dsn(r["database"], user=r["app"], password=r["app_pw"])
    yield r
    pg.drop_database(r["database"])
    pg.psql(f"DROP ROLE IF EXISTS {r['app']};\nDROP ROLE IF EXISTS {r['owner']};\n", check=False)


def run_serve(args: list[str], tmp_path: Path, env: dict[str, str] | None = None,
              timeout: float = 30) -> tuple[subprocess.CompletedProcess, float]:
    """`vouch serve ARGS` expected to fail at start-up: (the finished process, seconds taken)."""
    data = tmp_path / f"serve-{uuid.uuid4().hex[:8]}"
    cmd = [str(require_binary()), "serve", "--data-dir", str(data),
           "--listen", f"127.0.0.1:{free_port()}", *args]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=clean_env({"VOUCH_BOOTSTRAP_TOKEN": ADMIN_TOKEN, **(env or {})}),
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"vouch serve {args} kept running (expected it to refuse to start): "
                    f"{e.stderr}")
    return r, time.monotonic() - t0


def psql_error(pg: Postgres, sql: str, **kw) -> str:
    """Runs `sql`, which must fail; returns psql's error text."""
    r = pg.psql(sql, check=False, **kw)
    assert r.returncode != 0, f"{kw.get('user')} was allowed: {sql}"
    return r.stderr


def test_the_application_role_migrates_only_through_the_owner_and_cannot_rewrite_the_log(
        pg, roles, servers_on, spec, tmp_path):
    key = new_master_key()
    app = {"user": roles["app"], "password": roles["app_pw"], "database": roles["database"]}
    owner = {"user": roles["owner"], "password": roles["owner_pw"],
             "database": roles["database"]}

    # On the empty database the application role cannot create the tables: a clear refusal.
    r, took = run_serve(["--store", roles["app_dsn"]], tmp_path, {"VOUCH_MASTER_KEY": key})
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "vouch migrate-schema" in r.stderr and "--migrate-as" in r.stderr, r.stderr
    assert roles["app_pw"] not in r.stderr + r.stdout
    assert pg.value("SELECT to_regclass('public.audit_events') IS NULL", **owner) == "t", \
        "the refused start left tables behind"

    # With --migrate-as the owner migrates and grants; the server runs as the application role.
    srv = servers_on(roles["app_dsn"], key, args=["--migrate-as", roles["owner_dsn"]])
    srv.start()
    api = srv.api(spec)
    name = unique("roles")
    api.create_model(name)
    api.create_version(name)
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 1},
             json_body={"stage": "Production", "archive_existing": True}, expect=200)
    assert pg.value("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events'",
                    **owner) == roles["owner"]
    assert srv.terminate() == 0
    log_before = pg.rows("SELECT seq, md5(body) FROM audit_events ORDER BY seq", **owner)
    assert len(log_before) >= 4

    # What the privileges allow the application role on the audit log: read and append only.
    privileges = {p: pg.value(f"SELECT has_table_privilege('audit_events', '{p}')", **app)
                  for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")}
    assert privileges == {"SELECT": "t", "INSERT": "t", "UPDATE": "f", "DELETE": "f",
                          "TRUNCATE": "f"}, privileges
    assert int(pg.value("SELECT count(*) FROM audit_events", **app)) == len(log_before)
    pg.psql("BEGIN;\n"
            "INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, outcome, body) "
            "VALUES (999999, 0, 0, 'x', 'model.created', 'done', '{}');\n"
            "ROLLBACK;\n", **app)
    for sql in ("UPDATE audit_events SET actor_name = 'mallory';",
                "DELETE FROM audit_events;",
                "TRUNCATE audit_events;"):
        err = psql_error(pg, sql, **app)
        assert "permission denied for table audit_events" in err, (sql, err)
    err = psql_error(pg, "CREATE TABLE x (i int);", **app)
    assert "permission denied for schema public" in err, err
    for sql in ("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (999, 'x', 0);",
                "UPDATE schema_migrations SET name = 'x';"):
        err = psql_error(pg, sql, **app)
        assert "permission denied for table schema_migrations" in err, (sql, err)
    err = psql_error(pg, "DROP TABLE model_versions;", **app)
    assert "must be owner" in err, err

    # The owner holds every privilege, and the triggers still refuse to rewrite the log.
    for sql in ("UPDATE audit_events SET actor_name = 'mallory';",
                "DELETE FROM audit_events WHERE seq = 1;",
                "TRUNCATE audit_events CASCADE;"):  # CASCADE: past the outbox's foreign key
        err = psql_error(pg, sql, **owner)
        assert "append-only" in err, (sql, err)
    assert pg.rows("SELECT seq, md5(body) FROM audit_events ORDER BY seq", **owner) == log_before

    # A current schema needs no owner: the application role alone starts and serves.
    srv.args = []
    srv.start()
    assert srv.api(spec).get_version(name, 1).json()["stage"] == "Production"


def test_migrate_schema_prepares_a_fresh_database_for_the_application_role(
        pg, roles, servers_on, spec, tmp_path):
    binary = str(require_binary())
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    if "migrate-schema" not in help_text:
        pytest.skip("this vouch has no migrate-schema command")
    owner = {"user": roles["owner"], "password": roles["owner_pw"],
             "database": roles["database"]}

    def migrate(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary, "migrate-schema", "--store", roles["owner_dsn"], *extra],
                              capture_output=True, text=True, timeout=60, env=clean_env(),
                              stdin=subprocess.DEVNULL)

    unknown = migrate("--app-role", "no_such_role_" + uuid.uuid4().hex[:6])
    assert unknown.returncode != 0 and "no_such_role_" in unknown.stderr, unknown.stderr
    assert roles["owner_pw"] not in unknown.stderr + unknown.stdout

    for attempt in range(2):  # the second run finds nothing to apply and grants again
        r = migrate("--app-role", roles["app"])
        assert r.returncode == 0, (attempt, r.stdout, r.stderr)
        assert roles["owner_pw"] not in r.stderr + r.stdout
    versions = [int(v) for (v,) in pg.rows("SELECT version FROM schema_migrations ORDER BY 1",
                                           **owner)]
    assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 6, versions

    srv = servers_on(roles["app_dsn"], new_master_key())
    srv.start()
    name = unique("migrated")
    srv.api(spec).create_model(name)
    assert pg.value(f"SELECT count(*) FROM models WHERE name = '{name}'", **owner) == "1"


# ---------------------------------------------------------------------------------------------
# Start-up failures


def _assert_one_clean_line(r: subprocess.CompletedProcess, took: float, secrets: list[str],
                           names: str | None = None) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert took < 5, f"took {took:.1f}s to give up"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{r.stderr}"
    assert lines[0].startswith("vouch serve: "), lines[0]
    for secret in secrets:
        assert secret not in r.stderr + r.stdout, f"the password leaked: {lines[0]}"
    if names is not None:
        assert names in lines[0], f"{names!r} not named in: {lines[0]}"
    return lines[0]


def test_start_up_failures_are_one_line_without_the_password(pg, database, tmp_path,
                                                             servers_on, spec):
    key = {"VOUCH_MASTER_KEY": new_master_key()}
    password = pg.password
    where = f"{pg.user}@{pg.host}:{pg.port}"
    wrong = "wrong-pw-" + uuid.uuid4().hex

    r, took = run_serve(["--store", pg.dsn(database, password=wrong)], tmp_path, key)
    line = _assert_one_clean_line(r, took, [wrong, password], f"{where}/{database}")
    assert "password authentication failed" in line, line

    closed = free_port()
    r, took = run_serve(["--store", pg.dsn(database, port=closed)], tmp_path, key)
    _assert_one_clean_line(r, took, [password], f"{pg.user}@{pg.host}:{closed}/{database}")

    missing = "no_such_db_" + uuid.uuid4().hex[:8]
    r, took = run_serve(["--store", pg.dsn(missing)], tmp_path, key)
    line = _assert_one_clean_line(r, took, [password], f"{where}/{missing}")
    assert "does not exist" in line, line

    for garbage in (f"postgresql://{pg.user}:{password}@[::1/{database}",
                    f"postgresql://{pg.user}:{password}%zz@{pg.host}:{pg.port}/{database}",
                    f"postgresql://{pg.user}:{password}@{pg.host}:notaport/{database}",
                    f"postgresql://{pg.user}:{password}@{pg.host}:{pg.port}/{database}?bogus=1"):
        r, took = run_serve(["--store", garbage], tmp_path, key)
        _assert_one_clean_line(r, took, [password])

    # No master key: the options that give one are named.
    r, took = run_serve(["--store", pg.dsn(database)], tmp_path, {})
    line = _assert_one_clean_line(r, took, [password])
    assert "--master-key-file" in line and "VOUCH_MASTER_KEY" in line, line

    # A server given another master key than the one the secrets were sealed with.
    first = servers_on(pg.dsn(database), key["VOUCH_MASTER_KEY"])
    first.start()
    first.api(spec).create_model(unique("sealed"))
    r, took = run_serve(["--store", pg.dsn(database)], tmp_path,
                        {"VOUCH_MASTER_KEY": new_master_key()})
    line = _assert_one_clean_line(r, took, [password])
    assert "master key" in line, line
    # ... and its refusal changed nothing for the servers that hold the right key.
    assert first.running()
    second = servers_on(pg.dsn(database), key["VOUCH_MASTER_KEY"])
    second.start()
    assert second.api(spec).max_seq() == first.api(spec).max_seq()


# ---------------------------------------------------------------------------------------------
# Waits: the statement timeout and the pool


class HeldLock:
    """A psql session that runs `sql` in an open transaction and holds it until closed."""

    def __init__(self, pg: Postgres, database: str, sql: str):
        env = clean_env({"PGPASSWORD": pg.password})
        self.proc = subprocess.Popen(
            [pg.psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
             pg.dsn(database, password=None)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env)
        self.proc.stdin.write(f"BEGIN;\n{sql}\n\\echo held\n")
        self.proc.stdin.flush()
        while True:  # psql echoes the marker once the statement holds its locks
            line = self.proc.stdout.readline()
            if line == "":
                pytest.fail(f"psql exited before holding the lock: {self.proc.stderr.read()}")
            if line.strip() == "held":
                return

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("ROLLBACK;\n")
            self.proc.stdin.close()
            self.proc.wait(30)


def test_a_write_held_up_past_the_statement_timeout_is_a_503_that_changes_nothing(
        pg, database, servers_on, spec):
    srv = servers_on(pg.dsn(database), new_master_key(), args=["--pg-statement-timeout", "500ms"])
    srv.start()
    api = srv.api(spec)
    name = unique("timeout")
    api.create_model(name)
    api.create_version(name)
    seq = api.max_seq()

    holder = HeldLock(pg, database, "SELECT next_seq FROM audit_head FOR UPDATE;")
    try:
        t0 = time.monotonic()
        api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                 json_body={"source": "s3://b/late"}, expect=503, code="UNAVAILABLE")
        took = time.monotonic() - t0
        assert 0.4 <= took < 5, f"answered after {took:.2f}s with a 500ms statement timeout"
        late = unique("late")
        r = api.raw("POST", "/api/2.0/mlflow/registered-models/create", json_body={"name": late})
        assert r.status_code == 503 and r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE", r.text
        # Reads do not queue on the audit head.
        assert [v["version"] for v in api.list_versions(name)] == [1]
        api.call("GET", "/ready", token=None, expect=200)
    finally:
        holder.release()

    assert api.create_version(name, source="s3://b/after")["version"] == 2, \
        "a refused create took a version number"
    events = api.events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len(events) == seq + 1, "a refused write left an audit event"
    assert late not in {e["target"].get("model", "") for e in events}
    api.call("GET", "/api/v1/models/{name}", path={"name": late}, expect=404)


def test_a_small_pool_makes_requests_wait_not_fail(pg, database, servers_on, spec):
    srv = servers_on(pg.dsn(database), new_master_key(), args=["--pg-pool-size", "2"])
    srv.start()
    models = shared_models(srv.api(spec), 2)
    load = Load([srv], models, threads_per_server=12)
    load.start()
    try:
        wait_until(lambda: load.count() >= 300, timeout=90, interval=0.1,
                   what="300 acknowledged requests")
    finally:
        load.stop()
    outcomes = load.snapshot()
    bad = [o for o in outcomes if not o.ok or o.wrong]
    assert not bad, f"{summarize(outcomes)}: {bad[:3]}"
    m = metrics(srv)
    assert m["vouch_store_pool_connections"] <= 2
    assert m["vouch_store_pool_waits_total"] > 0 and m["vouch_store_pool_wait_seconds_total"] > 0, m
    check_cluster(pg, database, [srv], spec, load, faults=False)

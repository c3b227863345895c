"""A page costs about its page (issue 9, section 10): on a registry of 20,000 models (one tag each)
and one model `big` with 100,000 versions, every list and search route of both doors answers a full
page with 200 within 10 s while the server runs under `ulimit -v 4000000` (RLIMIT_AS), and its
resident memory stays under 1 GiB.

The registry is seeded with `vouch dev seed` (every row made through the registry service with its
audit event, in large transactions), and the seeded store's audit log verifies. It runs on the
suite's store, so on PostgreSQL too. docs/benchmarks.md ("Memory on a large registry") records the
peak resident memory this test measures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from vouch_testlib import VouchServer, require_binary, run_cli

MODELS = 20_000
VERSIONS = 100_000
# `ulimit -v 4000000`: KiB, as the shell's ulimit counts.
ADDRESS_SPACE_LIMIT = 4_000_000 * 1024
RSS_LIMIT = 1 << 30
ANSWER_SECONDS = 10.0
MLFLOW = "/api/2.0/mlflow"


class LimitedServer(VouchServer):
    """`vouch serve` under an address-space limit: prlimit sets it and executes the server in its
    own process, so the pid polled for memory is the server's."""

    def command(self) -> list[str]:
        return ["prlimit", f"--as={ADDRESS_SPACE_LIMIT}", "--", *super().command()]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class Probe:
    """Sends requests to the large server and holds each to the time and memory bounds."""

    def __init__(self, srv: LimitedServer, spec):
        self.srv = srv
        self.api = srv.api(spec)
        self.timings: list[tuple[str, float, int]] = []

    def send(self, method: str, path: str, *, params=None, json_body=None,
             template: str | None = None, tpath: dict | None = None):
        started = time.monotonic()
        if template is not None:
            r = self.api.call(method, template, path=tpath, params=params)
        elif json_body is not None:
            r = self.api.raw(method, path, json_body=json_body, timeout=60)
        else:
            r = self.api.raw(method, path, params=params, timeout=60)
        took = time.monotonic() - started
        rss = status_kib(self.srv.proc.pid, "VmRSS")
        label = f"{method} {template or path} {params or json_body or ''}"
        self.timings.append((label, took, rss))
        assert r.status_code == 200, f"{label}: {r.status_code} {r.text[:500]}"
        assert took < ANSWER_SECONDS, f"{label} took {took:.1f} s"
        assert rss * 1024 < RSS_LIMIT, f"{label}: resident memory {rss} KiB"
        return r.json()

    def mlflow(self, route: str, **params):
        return self.send("GET", f"{MLFLOW}/{route}", params=params)


@pytest.fixture(scope="module")
def large(tmp_path_factory, spec):
    root = tmp_path_factory.mktemp("large")
    data = root / "data"
    data.mkdir()
    srv = LimitedServer(data, root / "logs")
    if srv.store_kind == "postgres":
        target = ["--store", srv.postgres()["dsn"]]
    else:
        target = ["--data-dir", str(data)]
    started = time.monotonic()
    seeded = run_cli([str(require_binary()), "dev", "seed", *target, "--models", str(MODELS),
                      "--versions", str(VERSIONS), "--quiet"], timeout=600)
    seconds = time.monotonic() - started
    assert seeded.returncode == 0, seeded.stderr
    print(f"\nseeded in {seconds:.1f} s: {seeded.stdout.strip()}")
    srv.start(timeout=60)
    probe = Probe(srv, spec)
    yield probe
    print(f"\n{'request':<110} {'s':>6} {'VmRSS MiB':>10}")
    for label, took, rss in probe.timings:
        print(f"{label[:110]:<110} {took:6.2f} {rss / 1024:10.1f}")
    if srv.running():
        print(f"peak resident memory (VmHWM): {status_kib(srv.proc.pid, 'VmHWM') / 1024:.1f} MiB")
    srv.close()


def test_the_seeded_registry_has_every_row_and_its_audit_event(large):
    api = large.api
    srv = large.srv
    target = (["--store", srv.postgres()["dsn"]] if srv.store_kind == "postgres"
              else ["--data-dir", str(srv.data_dir)])
    verified = run_cli([str(require_binary()), "audit", "verify", *target], timeout=300)
    assert verified.returncode == 0, verified.stderr
    # One model.created per model (the big one too), one model_version.created per version; the
    # server's start-up (admin, secrets) adds a few of its own.
    events = int(verified.stdout.split("ok: ")[1].split(" events")[0])
    assert events >= MODELS + 1 + VERSIONS
    first = api.call("GET", "/api/v1/models", params={"limit": 2}, expect=200).json()["models"]
    assert [m["name"] for m in first] == ["big", "m00000"]
    assert first[1]["tags"] == {"group": "g0"}
    last = api.call("GET", "/api/v1/models/{name}/versions/{n}",
                    path={"name": "big", "n": VERSIONS}, expect=200).json()
    assert last["source"] == f"s3://seed/big/{VERSIONS}"
    history = api.call("GET", "/api/v1/audit",
                       params={"model": "big", "version": VERSIONS, "limit": 10},
                       expect=200).json()["events"]
    assert [e["action"] for e in history] == ["model_version.created"]
    assert history[0]["after"]["source"] == f"s3://seed/big/{VERSIONS}"


def names(models: list[dict]) -> list[str]:
    return [m["name"] for m in models]


def test_mlflow_model_search_answers_a_full_page_in_bounded_memory(large):
    first = large.mlflow("registered-models/search", max_results=50)
    assert names(first["registered_models"]) == ["big"] + [f"m{i:05d}" for i in range(49)]
    big = first["registered_models"][0]
    assert [v["version"] for v in big["latest_versions"]] == [str(VERSIONS)]
    second = large.mlflow("registered-models/search", max_results=50,
                          page_token=first["next_page_token"])
    assert names(second["registered_models"]) == [f"m{i:05d}" for i in range(49, 99)]

    like_all = large.mlflow("registered-models/search", filter="name LIKE '%'", max_results=5)
    assert names(like_all["registered_models"]) == ["big", "m00000", "m00001", "m00002", "m00003"]
    assert "next_page_token" in like_all

    most = large.mlflow("registered-models/search", max_results=1000)
    assert len(most["registered_models"]) == 1000
    # Deep in the registry: the page token of a later page.
    token = most["next_page_token"]
    for _ in range(3):
        page = large.mlflow("registered-models/search", max_results=1000, page_token=token)
        token = page["next_page_token"]
    assert names(page["registered_models"])[0] == "m02999"

    newest = large.mlflow("registered-models/search", max_results=50,
                          order_by=["last_updated_timestamp DESC"])
    assert len(newest["registered_models"]) == 50
    assert newest["registered_models"][0]["name"] == "big"
    by_name_desc = large.mlflow("registered-models/search", max_results=50, order_by=["name DESC"])
    assert names(by_name_desc["registered_models"])[:2] == ["m19999", "m19998"]
    after = large.mlflow("registered-models/search", max_results=50, order_by=["name DESC"],
                         page_token=by_name_desc["next_page_token"])
    assert names(after["registered_models"])[0] == "m19949"

    tagged = large.mlflow("registered-models/search", filter="tags.group = 'g7'", max_results=50)
    assert names(tagged["registered_models"]) == [f"m{i:05d}" for i in range(7, 5000, 100)]
    tagged_later = large.mlflow("registered-models/search", filter="tags.group = 'g7'",
                                max_results=50, page_token=tagged["next_page_token"])
    assert names(tagged_later["registered_models"])[0] == "m05007"

    assert names(large.mlflow("registered-models/search", filter="name = 'big'")[
        "registered_models"]) == ["big"]
    assert names(large.mlflow("registered-models/search", filter="name LIKE 'm0001%'")[
        "registered_models"]) == [f"m{i:05d}" for i in range(10, 20)]
    assert len(large.mlflow("registered-models/search", filter="name LIKE 'b%'")[
        "registered_models"]) == 1


def test_mlflow_version_search_answers_a_full_page_in_bounded_memory(large):
    newest = large.mlflow("model-versions/search", max_results=50)
    assert [v["version"] for v in newest["model_versions"]][:1] == [str(VERSIONS)]
    assert len(newest["model_versions"]) == 50
    later = large.mlflow("model-versions/search", max_results=50,
                         page_token=newest["next_page_token"])
    assert len(later["model_versions"]) == 50
    assert int(later["model_versions"][0]["version"]) < int(newest["model_versions"][-1]["version"])

    big = large.mlflow("model-versions/search", filter="name = 'big'", max_results=1000,
                       order_by=["version_number ASC"])
    assert [int(v["version"]) for v in big["model_versions"]] == list(range(1, 1001))
    big_later = large.mlflow("model-versions/search", filter="name = 'big'", max_results=1000,
                             order_by=["version_number ASC"], page_token=big["next_page_token"])
    assert int(big_later["model_versions"][0]["version"]) == 1001

    assert len(large.mlflow("model-versions/search", filter="name LIKE '%'", max_results=100)[
        "model_versions"]) == 100
    tagged = large.mlflow("model-versions/search", filter="tags.group = 'g7'", max_results=100)
    assert len(tagged["model_versions"]) == 100
    assert all(int(v["version"]) % 100 == 7 for v in tagged["model_versions"])
    one_run = large.mlflow("model-versions/search", filter=f"run_id = '{12345:032x}'")
    assert [v["version"] for v in one_run["model_versions"]] == ["12345"]
    top = large.mlflow("model-versions/search",
                       filter=f"name = 'big' AND version_number > {VERSIONS - 10}")
    assert len(top["model_versions"]) == 10
    assert len(large.mlflow("model-versions/search", max_results=10_000)["model_versions"]) \
        == 10_000


def test_mlflow_default_version_page_of_every_version_answers_in_bounded_memory(large):
    # MLflow's default page is 200,000 versions: here every version of `big` in one answer of
    # some 31 MB, which must cost about that, not a multiple of it.
    everything = large.mlflow("model-versions/search", filter="name = 'big'")
    assert len(everything["model_versions"]) == VERSIONS
    assert "next_page_token" not in everything
    assert everything["model_versions"][0]["version"] == str(VERSIONS)


def test_mlflow_latest_versions_answer_in_bounded_memory(large):
    got = large.mlflow("registered-models/get-latest-versions", name="big")
    assert [v["version"] for v in got["model_versions"]] == [str(VERSIONS)]
    posted = large.send("POST", f"{MLFLOW}/registered-models/get-latest-versions",
                        json_body={"name": "big", "stages": ["None"]})
    assert [v["version"] for v in posted["model_versions"]] == [str(VERSIONS)]


def test_native_lists_answer_a_full_page_in_bounded_memory(large):
    models = large.send("GET", "", template="/api/v1/models", params={"limit": 1000})
    assert len(models["models"]) == 1000
    later = large.send("GET", "", template="/api/v1/models",
                       params={"limit": 1000, "page_token": models["next_page_token"]})
    assert later["models"][0]["name"] == "m00999"

    versions = large.send("GET", "", template="/api/v1/models/{name}/versions",
                          tpath={"name": "big"}, params={"limit": 1000})
    assert [v["version"] for v in versions["versions"]] == list(range(1, 1001))
    token = versions["next_page_token"]
    for _ in range(5):
        versions = large.send("GET", "", template="/api/v1/models/{name}/versions",
                              tpath={"name": "big"}, params={"limit": 1000, "page_token": token})
        token = versions["next_page_token"]
    assert versions["versions"][0]["version"] == 5001

    events = large.send("GET", "", template="/api/v1/audit", params={"limit": 1000})
    assert len(events["events"]) == 1000
    later_events = large.send("GET", "", template="/api/v1/audit",
                              params={"limit": 1000, "page_token": events["next_page_token"]})
    assert later_events["events"][0]["seq"] == events["events"][-1]["seq"] + 1
    about_big = large.send("GET", "", template="/api/v1/audit",
                           params={"model": "big", "limit": 1000})
    assert len(about_big["events"]) == 1000
    created = large.send("GET", "", template="/api/v1/audit",
                         params={"action": "model_version.created", "limit": 1000})
    assert len(created["events"]) == 1000


def test_resident_memory_peaked_under_a_gibibyte(large):
    # After every other test of the module (pytest runs them in file order).
    peak = status_kib(large.srv.proc.pid, "VmHWM")
    assert peak * 1024 < RSS_LIMIT, f"peak resident memory {peak / 1024:.1f} MiB"
    assert large.srv.running()

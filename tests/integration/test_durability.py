"""An acknowledged write survives kill -9: restart on the same data directory, read everything back,
and find the audit log intact and gapless."""

from __future__ import annotations

import threading

import requests

from vouch_testlib import quote_segment, unique, wait_until


def assert_log_consistent(api, model: str) -> list[dict]:
    events = api.events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "audit log has gaps"
    created = [e["target"]["version"] for e in events
               if e["action"] == "model_version.created" and e["target"].get("model") == model]
    live = [v["version"] for v in api.list_versions(model)]
    assert sorted(created) == live, "versions and their audit events disagree"
    return events


def test_quiescent_writes_survive_kill_9(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("durable")
    api.create_model(name, description="before the crash")
    for i in range(30):
        api.create_version(name, source=f"s3://b/{i}", metrics={"i": i})
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 7},
             json_body={"stage": "Production"}, expect=200)
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champ"},
             json_body={"version": 7}, expect=200)
    before_versions = api.list_versions(name)
    before_events = api.events()

    srv.kill()
    srv.start()
    api = srv.api(spec)

    assert api.get_model(name).json()["description"] == "before the crash"
    assert api.list_versions(name) == before_versions
    assert api.events() == before_events
    assert_log_consistent(api, name)
    assert api.call("GET", "/api/v1/models/{name}/aliases/{alias}",
                    path={"name": name, "alias": "champ"}, expect=200).json()["version"] == 7
    assert api.create_version(name)["version"] == 31


def test_writes_acknowledged_under_load_survive_kill_9(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("crash")
    api.create_model(name)
    url = f"{srv.base}/api/v1/models/{quote_segment(name)}/versions"
    acked: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(tid: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {api.token}"
        for i in range(2000):
            if stop.is_set():
                return
            source = f"s3://b/t{tid}/{i}"
            try:
                r = s.post(url, json={"source": source}, timeout=30)
            except requests.RequestException:
                return  # the server died under us
            if r.status_code != 201:
                return
            with lock:
                acked[r.json()["version"]] = source

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(acked) >= 150, timeout=60, what="150 acknowledged creates")
        srv.kill()
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    with lock:
        acked_now = dict(acked)

    srv.start()  # not refused: the log is at least as long as the acknowledged head (vouch.db-head)
    api = srv.api(spec)
    versions = {v["version"]: v for v in api.list_versions(name)}
    missing = sorted(set(acked_now) - set(versions))
    assert not missing, f"acknowledged versions lost after kill -9: {missing[:20]}"
    for n, source in acked_now.items():
        assert versions[n]["source"] == source, n
    top = max(versions)
    assert sorted(versions) == list(range(1, top + 1)), "version numbers have a hole"
    assert_log_consistent(api, name)
    assert api.create_version(name)["version"] == top + 1

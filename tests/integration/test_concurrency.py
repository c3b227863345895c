"""8 clients x 200 concurrent version creates on one model: numbers 1..1600 exactly once each, and
exactly 1600 model_version.created events."""

from __future__ import annotations

import threading
from collections import Counter

import requests

from vouch_testlib import quote_segment, unique

CLIENTS = 8
PER_CLIENT = 200


def test_concurrent_version_creates_get_unique_gapless_numbers(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("race")
    api.create_model(name)
    seq0 = api.max_seq()
    url = f"{srv.base}/api/v1/models/{quote_segment(name)}/versions"
    results: list[list[tuple[int, str, str]]] = [[] for _ in range(CLIENTS)]
    errors: list[str] = []
    barrier = threading.Barrier(CLIENTS)

    def client(cid: int) -> None:
        s = requests.Session()  # keep-alive: one connection per client
        s.headers["Authorization"] = f"Bearer {api.token}"
        barrier.wait()
        for i in range(PER_CLIENT):
            rid = f"c{cid}-{i}"
            try:
                r = s.post(url, json={"source": f"s3://b/{cid}/{i}"},
                           headers={"X-Request-Id": rid}, timeout=60)
            except requests.RequestException as e:
                errors.append(f"{rid}: {e!r}")
                return
            if r.status_code != 201:
                errors.append(f"{rid}: {r.status_code} {r.text[:200]}")
                return
            body = r.json()
            results[cid].append((body["version"], body["source"], r.headers.get("X-Request-Id")))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "clients still running after 300 s"
    assert not errors, errors[:10]

    total = CLIENTS * PER_CLIENT
    numbers = [n for res in results for n, _, _ in res]
    dup = [n for n, c in Counter(numbers).items() if c > 1]
    assert not dup, f"numbers given twice: {dup[:20]}"
    assert sorted(numbers) == list(range(1, total + 1))
    # Each client's own creates were numbered in the order it sent them.
    for res in results:
        ns = [n for n, _, _ in res]
        assert ns == sorted(ns)

    by_number = {n: src for res in results for n, src, _ in res}
    listed = api.list_versions(name)
    assert [v["version"] for v in listed] == list(range(1, total + 1))
    assert all(v["source"] == by_number[v["version"]] for v in listed)
    assert api.get_model(name).json()["latest_version"] == total

    events = api.events_after(seq0)
    created = [e for e in events if e["action"] == "model_version.created"]
    assert len(created) == total == len(events)
    assert sorted(e["target"]["version"] for e in created) == list(range(1, total + 1))
    assert [e["seq"] for e in events] == list(range(seq0 + 1, seq0 + total + 1))
    rid_of = {n: rid for res in results for n, _, rid in res}
    assert all(e["request_id"] == rid_of[e["target"]["version"]] for e in created)

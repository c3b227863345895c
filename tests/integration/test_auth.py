"""Authentication: missing or wrong tokens get 401 UNAUTHENTICATED with WWW-Authenticate, change
nothing, and add only the aggregated `access.denied` event (per client address and window)."""

from __future__ import annotations

import time

import pytest

from vouch_testlib import quote_segment, unique, wait_until

WINDOW = ["--denial-window", "1s"]


@pytest.fixture(scope="module")
def server_args():
    return WINDOW


def non_denials_after(api, seq):
    return [e for e in api.events_after(seq) if e["action"] != "access.denied"]


BAD_AUTH = [
    ("missing", None),
    ("wrong token", "Bearer not-the-token"),
    ("empty bearer", "Bearer "),
    ("bearer only", "Bearer"),
    ("basic scheme", "Basic YWRtaW46YWRtaW4="),
    ("admin token plus a character", "Bearer {token}x"),
    ("token without scheme", "{token}"),
]


@pytest.mark.parametrize("label,header", BAD_AUTH, ids=[b[0] for b in BAD_AUTH])
def test_bad_token_is_401_and_changes_nothing(api, spec, label, header):
    name = unique("unauth")
    seq = api.max_seq()
    models = api.list_models()
    h = {} if header is None else {"Authorization": header.replace("{token}", api.token)}
    r = api.raw("POST", "/api/v1/models", json_body={"name": name}, headers=h, token=None)
    assert r.status_code == 401, r.text
    body = spec.check(r, "POST", "/api/v1/models")
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get_model(name).status_code == 404
    assert api.list_models() == models
    assert non_denials_after(api, seq) == [], "a refused request recorded more than its denial"


@pytest.mark.parametrize("method,template", [
    ("GET", "/api/v1/whoami"), ("GET", "/api/v1/models"), ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/models/{name}"), ("DELETE", "/api/v1/models/{name}"),
    ("POST", "/api/v1/models/{name}/versions"),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage"),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}"),
    ("GET", "/metrics"),
])
def test_every_api_route_needs_a_token(api, spec, method, template):
    name = unique("guarded")
    api.create_model(name)
    api.create_version(name)
    before = (api.get_model(name).json(), api.list_versions(name))
    seq = api.max_seq()
    path = (template.replace("{name}", quote_segment(name)).replace("{n}", "1")
            .replace("{alias}", "champion"))
    body = {"stage": "Production"} if "stage" in template else (
        {"version": 1} if "aliases" in template else {"source": "s"})
    kw = {"json_body": body} if method in ("POST", "PUT") else {}
    r = api.raw(method, path, token=None, **kw)
    assert r.status_code == 401, r.text
    assert spec.check(r, method, template)["error"]["code"] == "UNAUTHENTICATED"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert (api.get_model(name).json(), api.list_versions(name)) == before
    assert non_denials_after(api, seq) == []


def test_probes_need_no_token(api):
    assert api.call("GET", "/health", token=None, expect=200).json() == {"status": "ok"}
    assert api.call("GET", "/ready", token=None, expect=200).json() == {"status": "ready"}
    # A wrong token on a probe is not a denial either: probes do not look at it.
    assert api.call("GET", "/health", token="wrong", expect=200).json() == {"status": "ok"}


def test_unauthenticated_attempts_are_aggregated_into_denial_events(server_factory, spec):
    srv = server_factory(args=WINDOW)
    api = srv.api(spec)
    seq = api.max_seq()
    n = 12
    t0 = time.monotonic()
    for i in range(n):
        h = {"Authorization": "Bearer wrong"} if i % 2 else {}
        r = api.raw("GET", "/api/v1/models", headers=h, token=None)
        assert r.status_code == 401
    elapsed = time.monotonic() - t0

    def denied_count():
        evs = api.events_after(seq)
        total = sum(e.get("count", 1) for e in evs if e["action"] == "access.denied")
        return evs if total >= n else None

    evs = wait_until(denied_count, timeout=15, interval=0.1, what=f"{n} counted denials")
    assert all(e["action"] == "access.denied" for e in evs), [e["action"] for e in evs]
    assert sum(e.get("count", 1) for e in evs) == n
    for e in evs:
        assert e["outcome"] == "denied" and e["reason"]
        assert e["source"]["address"] == "127.0.0.1"
        assert isinstance(e.get("count"), int) and e["count"] >= 1, e
    if elapsed < 0.5:
        # Twelve attempts inside half a second span at most two one-second windows.
        assert len(evs) <= 2, f"{len(evs)} denial events for {n} attempts in {elapsed:.2f}s"
    assert [e["seq"] for e in evs] == list(range(seq + 1, seq + 1 + len(evs)))

    # A later burst, after the window has closed, is a new event with its own count.
    seq2 = evs[-1]["seq"]
    for _ in range(3):
        assert api.raw("GET", "/api/v1/whoami", token=None).status_code == 401

    def second():
        new = [e for e in api.events_after(seq2) if e["action"] == "access.denied"]
        return new if sum(e.get("count", 1) for e in new) >= 3 else None

    new = wait_until(second, timeout=15, interval=0.1, what="the second burst's denial")
    assert sum(e.get("count", 1) for e in new) == 3
    # Nothing further appears once the windows have been flushed. Absence cannot be awaited, but
    # a drain flushes every pending denial: after a graceful stop, the log has all it will ever get.
    last = api.max_seq()
    assert srv.terminate(timeout=60) == 0, srv.logs()
    srv.start()
    assert srv.api(spec).max_seq() == last


def test_cli_without_or_with_a_wrong_token_exits_1(server):
    r = server.cli("models", "list", token=None)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip()
    r = server.cli("whoami", token="vouch-test-wrong")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "UNAUTHENTICATED" in r.stderr or "token" in r.stderr.lower() or "auth" in r.stderr.lower()

"""`GET /api/v1/requests/{id}/wait` and `vouch requests wait` (issue 12; docs/ci.md): a held waiter
woken by the approval that applies the request, a hold that times out with the unchanged request,
bad parameters refused, the CLI's exit codes (0 applied, 10 still pending at --timeout, 11
rejected), a server that drains with waiters held, and (PostgreSQL) a waiter on one server woken by
a change made through another server on the same database.

No sleeps: a test that needs its waiter parked before it acts waits for the server's
`vouch_request_waiters` gauge to say so (polling /metrics against a deadline).
"""
from __future__ import annotations

import subprocess
import threading
import time

import pytest
import requests

from vouch_testlib import Api, Person, make_person, require_binary, suite_store, unique

POLICY = """policies:
  - name: wait-production
    target: stage:Production
    match: {models: ["wait-*"]}
    approvals: [{from: [{role: ml-engineer}], count: 1}]
"""


@pytest.fixture(scope="module")
def server_args():
    return ["--default-permission", "EDIT"]


def make_people(api: Api) -> dict[str, Person]:
    out = {}
    for name, role in [("dana", "data-scientist"), ("eli", "ml-engineer")]:
        out[name] = make_person(api, name, role, f"{name.title()} W.")
    return out


def apply_policy(api: Api) -> None:
    api.call("POST", "/api/v1/policies", data=POLICY, headers={"Content-Type": "application/yaml"},
             expect=200)


@pytest.fixture(scope="module")
def people(api) -> dict[str, Person]:
    apply_policy(api)
    return make_people(api)


def open_request(api: Api, dana: Person) -> dict:
    model = unique("wait")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://b/wait"}, expect=201)
    return api.call("POST", "/api/v1/requests", token=dana.token, expect=201,
                    json_body={"model": model, "version": 1, "target": "stage:Production"}).json()


def held(api: Api) -> int:
    text = api.raw("GET", "/metrics").text
    for line in text.splitlines():
        if line.startswith("vouch_request_waiters "):
            return int(float(line.split()[1]))
    raise AssertionError("no vouch_request_waiters in /metrics")


def await_held(api: Api, n: int, deadline_s: float = 20.0) -> None:
    """Returns once the server holds at least `n` waiters (fails after `deadline_s`)."""
    end = time.monotonic() + deadline_s
    while held(api) < n:
        assert time.monotonic() < end, f"the server never held {n} waiter(s)"


class Waiter(threading.Thread):
    """One long poll on its own thread; `response` once it returns."""

    def __init__(self, api: Api, rid: int, token: str, **params):
        super().__init__(daemon=True)
        self.api, self.rid, self.token, self.params = api, rid, token, params
        self.response: requests.Response | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = self.api.call("GET", "/api/v1/requests/{id}/wait",
                                          path={"id": self.rid}, params=self.params,
                                          token=self.token)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            self.error = e

    def result(self) -> requests.Response:
        self.join(60)
        assert not self.is_alive(), "the waiter did not return"
        if self.error:
            raise self.error
        assert self.response is not None
        return self.response


def test_a_held_waiter_is_answered_by_the_approval_that_applies_the_request(api, people):
    req = open_request(api, people["dana"])
    before = held(api)
    w = Waiter(api, req["id"], people["dana"].token, timeout=25)
    w.start()
    await_held(api, before + 1)
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": req["id"]},
             token=people["eli"].token, json_body={"comment": "ok"}, expect=200)
    r = w.result()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == req["id"] and body["state"] == "applied"
    assert api.get_version(req["model"], 1).json()["stage"] == "Production"


def test_a_wait_answers_at_once_when_the_request_is_not_in_the_state_the_client_saw(api, people):
    req = open_request(api, people["dana"])
    r = api.call("GET", "/api/v1/requests/{id}/wait", path={"id": req["id"]},
                 params={"state": "approved", "timeout": 25}, token=people["dana"].token,
                 expect=200)
    assert r.json()["state"] == "open"
    r = api.call("GET", "/api/v1/requests/{id}/wait", path={"id": req["id"]},
                 params={"state": "open", "since": req["last_updated_timestamp"] - 1,
                         "timeout": 25}, token=people["dana"].token, expect=200)
    assert r.json()["state"] == "open"


def test_a_hold_that_times_out_answers_200_with_the_unchanged_request(api, people):
    req = open_request(api, people["dana"])
    r = api.call("GET", "/api/v1/requests/{id}/wait", path={"id": req["id"]},
                 params={"timeout": 1, "state": "open",
                         "since": req["last_updated_timestamp"]},
                 token=people["dana"].token, expect=200)
    body = r.json()
    assert body["state"] == "open"
    assert body["last_updated_timestamp"] == req["last_updated_timestamp"]


@pytest.mark.parametrize("params", [{"timeout": 0}, {"timeout": 26}, {"timeout": "soon"},
                                    {"state": "pending"}, {"since": -1}, {"since": "x"}])
def test_bad_wait_parameters_are_refused_with_400(api, people, params):
    req = open_request(api, people["dana"])
    api.call("GET", "/api/v1/requests/{id}/wait", path={"id": req["id"]}, params=params,
             token=people["dana"].token, expect=400, code="INVALID_ARGUMENT")


def test_waiting_on_an_unknown_request_is_404(api, people):
    api.call("GET", "/api/v1/requests/{id}/wait", path={"id": 987654321},
             token=people["dana"].token, expect=404, code="NOT_FOUND")


def cli_wait(server, who: Person, rid: int, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(require_binary()), "--server", server.base, "--token", who.token, "requests",
         "wait", str(rid), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def test_the_cli_exits_10_when_the_request_is_still_open_at_its_timeout(server, api, people):
    req = open_request(api, people["dana"])
    p = cli_wait(server, people["dana"], req["id"], "--timeout", "1s")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 10, (out, err)
    assert f"request {req['id']} is still open after 1s" in err


def test_the_cli_exits_0_once_a_held_wait_sees_the_request_applied(server, api, people):
    req = open_request(api, people["dana"])
    before = held(api)
    p = cli_wait(server, people["dana"], req["id"], "--timeout", "5m", "-o", "json")
    await_held(api, before + 1)
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": req["id"]},
             token=people["eli"].token, json_body={"comment": "ok"}, expect=200)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, (out, err)
    assert '"state": "applied"' in out or '"state":"applied"' in out


def test_the_cli_exits_11_when_the_request_is_rejected(server, api, people):
    req = open_request(api, people["dana"])
    before = held(api)
    p = cli_wait(server, people["dana"], req["id"])
    await_held(api, before + 1)
    api.call("POST", "/api/v1/requests/{id}/reject", path={"id": req["id"]},
             token=people["eli"].token, json_body={"comment": "no model card"}, expect=200)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 11, (out, err)
    assert "rejected" in out


def test_a_server_that_drains_answers_its_held_waiters_503_and_exits_cleanly(server_factory,
                                                                             spec):
    srv = server_factory(args=["--default-permission", "EDIT"])
    api = Api(srv, spec, srv.token)
    apply_policy(api)
    people = make_people(api)
    req = open_request(api, people["dana"])
    waiters = [Waiter(api, req["id"], people["dana"].token, timeout=25) for _ in range(3)]
    for w in waiters:
        w.start()
    await_held(api, 3)
    assert srv.terminate() == 0, srv.logs()
    for w in waiters:
        r = w.result()
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "UNAVAILABLE"


@pytest.mark.skipif(suite_store() != "postgres", reason="several servers need PostgreSQL")
def test_a_change_made_through_another_server_wakes_a_waiter(server_factory, spec):
    first = server_factory(args=["--default-permission", "EDIT"])
    pg = first.postgres()
    second = server_factory(args=["--default-permission", "EDIT"], store=pg["dsn"],
                            env={"VOUCH_MASTER_KEY": pg["master_key"]})
    api1, api2 = Api(first, spec, first.token), Api(second, spec, second.token)
    apply_policy(api1)
    people = make_people(api1)
    req = open_request(api1, people["dana"])
    w = Waiter(api1, req["id"], people["dana"].token, timeout=25)
    w.start()
    await_held(api1, 1)
    assert held(api2) == 0
    api2.call("POST", "/api/v1/requests/{id}/approve", path={"id": req["id"]},
              token=people["eli"].token, json_body={"comment": "ok"}, expect=200)
    r = w.result()
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "applied"

"""Webhook delivery (issue 13), black-box: a real server delivering to loopback receivers
(webhook_receiver.py), on the suite's store.

- a subscription receives the events committed after it, in order, each with its delivery id
  (`webhook-id`, the ledger's `uid`) and attempt number (`X-Vouch-Delivery-Attempt`);
- a receiver failing for a while (500s, a timeout, 429 with Retry-After) gets every event once it
  recovers, in order (duplicates on the wire allowed, deduplicated by delivery id);
- dead letter after --webhook-max-attempts, the next events going on; redelivery of one and of all
  dead ones (CLI), audited;
- an owner who lost READ on the model: the delivery is skipped, with the reason, and never sent;
- kill -9 after a change committed and before its delivery: delivered after the restart;
- three servers on one PostgreSQL database, one killed mid-run: every event arrives, and no
  (delivery id, attempt) pair arrives twice.

Waits poll the receiver or the ledger with a deadline; nothing sleeps for what can be awaited.
"""
from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests

from vouch_testlib import (ADMIN_TOKEN, VouchServer, make_person, new_database_name,
                           new_master_key, postgres_admin_dsn, postgres_cluster, unique,
                           wait_until)
from webhook_receiver import Receiver, Reply, receiver  # noqa: F401  (a fixture)

ATTEMPT_HEADER = "x-vouch-delivery-attempt"
DEADLINE = 60.0

# Fast retries so the suite runs in seconds; loopback receivers allowed.
FAST = ["--webhook-allow-private", "--webhook-first-retry", "200ms", "--webhook-max-backoff", "1s",
        "--webhook-timeout", "1s", "--webhook-connect-timeout", "1s", "--webhook-poll", "100ms"]


@pytest.fixture(scope="module")
def server_args() -> list[str]:
    return FAST


def subscribe(api, url: str, events: list[str], model: str | None = None,
              token: str | None = None, name: str | None = None) -> int:
    body = {"name": name or unique("hook"), "url": url, "events": events, "format": "vouch"}
    if model is not None:
        body["model"] = model
    kwargs = {} if token is None else {"token": token}
    r = api.call("POST", "/api/v1/webhooks", json_body=body, expect=201, **kwargs)
    return r.json()["id"]


def deliveries(api, webhook: int, state: str | None = None) -> list[dict]:
    """The subscription's ledger, oldest first."""
    out, token = [], None
    while True:
        params = {"limit": 1000}
        if state:
            params["state"] = state
        if token:
            params["page_token"] = token
        body = api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": webhook},
                        params=params, expect=200).json()
        out += body["deliveries"]
        token = body.get("next_page_token")
        if not token:
            return list(reversed(out))


def describe(api, model: str, text: str) -> None:
    api.call("PATCH", "/api/v1/models/{name}", path={"name": model},
             json_body={"description": text}, expect=200)


def delivered_uids(got) -> list[str]:
    """The delivery ids answered with a 2xx, in the order of their first such answer."""
    seen: list[str] = []
    for r in got:
        uid = r.header("webhook-id")
        if r.answered is not None and 200 <= r.answered < 300 and uid not in seen:
            seen.append(uid)
    return seen


def test_a_subscription_receives_the_events_after_it_in_order(api, receiver):
    model = unique("fanout")
    api.create_model(model)
    describe(api, model, "before the subscription")
    hook = subscribe(api, receiver.url, ["model.updated"], model=model)
    describe(api, model, "one")
    api.create_model(model + "-other")  # model.created: not subscribed
    describe(api, model, "two")
    describe(api, model, "three")

    got = receiver.wait_for(lambda g: len(delivered_uids(g)) >= 3, DEADLINE)
    ledger = wait_until(lambda: (d := deliveries(api, hook)) and
                        all(x["state"] == "delivered" for x in d) and d, DEADLINE,
                        what="the ledger to say delivered")
    assert [d["action"] for d in ledger] == ["model.updated"] * 3
    seqs = [d["event_seq"] for d in ledger]
    assert seqs == sorted(seqs)
    # Sent in event order, each once, as its first attempt.
    assert delivered_uids(got) == [d["uid"] for d in ledger]
    assert [r.header(ATTEMPT_HEADER) for r in got] == ["1", "1", "1"]
    assert all(d["attempts"] == 1 and d["last_status"] == 200 for d in ledger)
    # The ledger shows one attempt each, from this server.
    one = api.call("GET", "/api/v1/deliveries/{id}", path={"id": ledger[0]["uid"]},
                   expect=200).json()
    assert one["webhook_name"] and one["attempt_log"][0]["status"] == 200
    assert one["attempt_log"][0]["latency_ms"] >= 0


def test_a_receiver_that_fails_for_a_while_gets_every_event_in_order(api, receiver):
    model = unique("flaky")
    api.create_model(model)
    hook = subscribe(api, receiver.url, ["model.updated"], model=model)
    receiver.script(Reply(500), Reply(500), Reply(hang=3.0), Reply(503, body=b"busy"),
                    Reply(429, headers={"Retry-After": "1"}))
    for i in range(4):
        describe(api, model, f"v{i}")

    got = receiver.wait_for(lambda g: len(delivered_uids(g)) >= 4, DEADLINE)
    ledger = wait_until(lambda: (d := deliveries(api, hook)) and len(d) == 4 and
                        all(x["state"] == "delivered" for x in d) and d, DEADLINE,
                        what="every delivery delivered")
    assert delivered_uids(got) == [d["uid"] for d in ledger]
    # The first delivery took six attempts (five failures); the next went at once, each once.
    assert ledger[0]["attempts"] == 6
    assert [d["attempts"] for d in ledger[1:]] == [1, 1, 1]
    first = [r for r in got if r.header("webhook-id") == ledger[0]["uid"]]
    assert [r.header(ATTEMPT_HEADER) for r in first] == ["1", "2", "3", "4", "5", "6"]
    # Retry-After: 1 was honoured: the sixth came at least a second after the fifth.
    assert first[5].at - first[4].at >= 1.0
    log = api.call("GET", "/api/v1/deliveries/{id}", path={"id": ledger[0]["id"]},
                   expect=200).json()["attempt_log"]
    assert [a.get("status") for a in log] == [500, 500, None, 503, 429, 200]
    assert log[2]["error"]  # the timeout, in words


def test_dead_letter_lets_later_events_go_on_and_redelivery_sends_them_again(
        server_factory, spec, receiver):
    srv = server_factory(args=[*FAST, "--webhook-max-attempts", "2"])
    api = srv.api(spec)
    model = unique("dead")
    api.create_model(model)
    hook = subscribe(api, receiver.url, ["model.updated"], model=model)
    receiver.set_default(Reply(500))
    describe(api, model, "one")
    describe(api, model, "two")
    ledger = wait_until(lambda: (d := deliveries(api, hook, "dead")) and len(d) == 2 and d,
                        DEADLINE, what="both dead")
    assert all(d["attempts"] == 2 for d in ledger)
    assert "dead after 2 attempts" in ledger[0]["last_error"]
    assert "finished_timestamp" in ledger[0]

    receiver.set_default(Reply(200))
    before = api.max_seq()
    r = srv.cli("webhooks", "redeliver", ledger[0]["uid"])
    assert r.returncode == 0, r.stderr
    wait_until(lambda: deliveries(api, hook, "delivered"), DEADLINE, what="one redelivered")
    r = srv.cli("webhooks", "redeliver", "--webhook", str(hook), "--all-dead", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["redelivered"] == 1
    done = wait_until(lambda: (d := deliveries(api, hook, "delivered")) and len(d) == 2 and d,
                      DEADLINE, what="both delivered")
    # The same delivery ids, attempts counted on.
    assert [d["uid"] for d in done] == [d["uid"] for d in ledger]
    assert all(d["attempts"] == 3 for d in done)
    answered = [r for r in receiver.requests if r.answered == 200]
    assert [r.header(ATTEMPT_HEADER) for r in answered] == ["3", "3"]
    events = api.events_after(before, action="delivery.redelivered")
    assert len(events) == 2
    assert events[0]["target"]["type"] == "webhook"
    # Nothing pending: a redeliver of a delivered one is allowed again, a pending one is 409.
    r = srv.cli("webhooks", "deliveries", str(hook), "--state", "dead", "-o", "json")
    assert r.returncode == 0, r.stderr


def test_an_owner_who_lost_read_has_the_event_skipped_and_recorded(api, receiver):
    model = unique("private")
    api.create_model(model)
    ana = make_person(api, "ana", "", "Ana")
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": model, "user": ana.name}, json_body={"permission": "MANAGE"},
             expect=200)
    hook = subscribe(api, receiver.url, ["model.updated"], model=model, token=ana.token)
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": model, "user": ana.name}, json_body={"permission": "NO_PERMISSIONS"},
             expect=200)
    describe(api, model, "not for ana")
    ledger = wait_until(lambda: (d := deliveries(api, hook)) and d[0]["state"] != "pending" and d,
                        DEADLINE, what="the delivery decided")
    assert ledger[0]["state"] == "skipped"
    assert ledger[0]["attempts"] == 0
    assert f"can no longer read model '{model}'" in ledger[0]["last_error"]
    assert receiver.requests == []
    # Ana still sees her own ledger; another user does not.
    bob = make_person(api, "bob", "", "Bob")
    api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook}, token=ana.token,
             expect=200)
    api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook}, token=bob.token,
             expect=403, code="PERMISSION_DENIED")
    api.call("GET", "/api/v1/deliveries/{id}", path={"id": ledger[0]["uid"]}, token=bob.token,
             expect=403, code="PERMISSION_DENIED")


def test_an_event_committed_before_a_kill_9_is_delivered_after_the_restart(
        server_factory, spec, receiver):
    # No delivery workers: the change commits and nothing can send it before the kill.
    srv = server_factory(args=[*FAST, "--webhook-workers", "0"])
    api = srv.api(spec)
    model = unique("crash")
    api.create_model(model)
    hook = subscribe(api, receiver.url, ["model.updated"], model=model)
    describe(api, model, "committed, not yet delivered")
    srv.kill()
    assert receiver.requests == []

    srv.args = [*FAST]
    srv.start()
    api = srv.api(spec)
    got = receiver.wait_for(lambda g: len(delivered_uids(g)) >= 1, DEADLINE)
    ledger = wait_until(lambda: (d := deliveries(api, hook)) and d[0]["state"] == "delivered" and d,
                        DEADLINE, what="delivered")
    assert delivered_uids(got) == [ledger[0]["uid"]]


def test_the_test_route_sends_a_sample_now_and_records_nothing(api, receiver):
    hook = subscribe(api, receiver.url, ["model.updated"], model=unique("t"))
    r = api.call("POST", "/api/v1/webhooks/{id}/test", path={"id": hook}, expect=200).json()
    assert r["delivered"] is True and r["status"] == 200
    assert len(receiver.requests) == 1
    assert receiver.requests[0].header(ATTEMPT_HEADER) == "1"
    assert deliveries(api, hook) == []
    receiver.set_default(Reply(500, body=b"nope"))
    r = api.call("POST", "/api/v1/webhooks/{id}/test", path={"id": hook}, expect=200).json()
    assert r["delivered"] is False and r["status"] == 500 and r["response"] == "nope"


def test_metrics_report_deliveries_by_state(api, receiver):
    model = unique("metrics")
    api.create_model(model)
    hook = subscribe(api, receiver.url, ["model.updated"], model=model)
    describe(api, model, "x")
    wait_until(lambda: deliveries(api, hook, "delivered"), DEADLINE, what="delivered")
    text = api.raw("GET", "/metrics").text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith("vouch_webhook_")}
    assert values["vouch_webhook_deliveries_delivered"] >= 1
    assert values["vouch_webhook_attempts_total"] >= 1
    assert "vouch_webhook_oldest_pending_seconds" in values


def test_bad_delivery_requests_are_refused_and_change_nothing(api):
    api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": 999999},
             expect=404, code="NOT_FOUND")
    api.call("GET", "/api/v1/deliveries/{id}", path={"id": "no-such-delivery"},
             expect=404, code="NOT_FOUND")
    api.raw("GET", "/api/v1/deliveries/a%20b")  # not a delivery id: 400 (spec-checked below)
    r = api.raw("GET", "/api/v1/deliveries/a%20b")
    assert r.status_code == 400
    hook = subscribe(api, "http://127.0.0.1:9/hook", ["model.updated"], model=unique("bad"))
    api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook},
             params={"state": "lost"}, expect=400, code="INVALID_ARGUMENT")
    api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook},
             params={"page_token": "12"}, expect=200)
    r = api.raw("GET", f"/api/v1/webhooks/{hook}/deliveries", params={"page_token": "x"})
    assert r.status_code == 400
    api.call("POST", "/api/v1/webhooks/{id}/redeliver", path={"id": hook}, expect=200)
    r = api.raw("POST", f"/api/v1/webhooks/{hook}/redeliver", json_body={"all": True})
    assert r.status_code == 400


# ---------------------------------------------------------------------------------------------
# Three servers on one PostgreSQL database

SERVERS = 3
EVENTS = 40


@pytest.mark.skipif(not postgres_admin_dsn(), reason="VOUCH_TEST_POSTGRES_DSN is not set")
def test_three_servers_deliver_one_stream_once_per_attempt_with_one_killed(tmp_path, spec):
    pg = postgres_cluster()
    database = new_database_name("hooks")
    pg.create_database(database)
    key = new_master_key()
    servers = [VouchServer(tmp_path / f"srv{i}-{uuid.uuid4().hex[:6]}", tmp_path / f"logs{i}",
                           token=ADMIN_TOKEN, args=[*FAST, "--auth-cache-ttl", "1h"],
                           env={"VOUCH_MASTER_KEY": key}, store=pg.dsn(database))
               for i in range(SERVERS)]
    # Each answer takes a little while, so attempts are in flight when a server dies.
    with Receiver(default=Reply(hang=0.05)) as rcv:
        try:
            for srv in servers:
                srv.spawn()
            for srv in servers:
                srv.wait_ready(60)
            api = servers[0].api(spec)
            model = unique("cluster")
            api.create_model(model)
            hook = subscribe(api, rcv.url, ["model.updated"], model=model)

            errors: list[str] = []

            def write(srv: VouchServer, n: int) -> None:
                for i in range(n):
                    try:
                        r = requests.patch(f"{srv.base}/api/v1/models/{model}",
                                           json={"description": f"{srv.port}-{i}"},
                                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                           timeout=30)
                        if r.status_code != 200:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                    except requests.RequestException as e:  # the killed one's
                        errors.append(str(e))
                        return

            writers = [threading.Thread(target=write, args=(servers[0], EVENTS // 2)),
                       threading.Thread(target=write, args=(servers[2], EVENTS // 2))]
            for w in writers:
                w.start()
            # Kill the middle server once deliveries are flowing.
            rcv.wait_for(lambda g: len(g) >= 5, DEADLINE)
            servers[1].kill()
            for w in writers:
                w.join()
            assert errors == []

            ledger = wait_until(lambda: (d := deliveries(api, hook)) and len(d) == EVENTS and
                                all(x["state"] == "delivered" for x in d) and d, 120,
                                what="every event delivered")
            got = rcv.wait_for(lambda g: len(delivered_uids(g)) >= EVENTS, DEADLINE)
            # Every event arrived, in event order (first successful answers).
            assert delivered_uids(got) == [d["uid"] for d in ledger]
            # No attempt was sent twice.
            pairs = [(r.header("webhook-id"), r.header(ATTEMPT_HEADER)) for r in got]
            assert len(pairs) == len(set(pairs)), sorted(pairs)
        finally:
            for srv in servers:
                srv.close()

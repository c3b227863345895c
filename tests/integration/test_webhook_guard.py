"""The private-address guard and the https rule for webhook receivers (issue 13), black-box.

- when a subscription is made, its URL is checked as text: a malformed URL, a scheme other than
  https (plain http only with --webhook-allow-private), a user name or password, a literal private
  address or the name localhost are refused with INVALID_ARGUMENT naming the field (`url: …`), and
  nothing is created; a public https URL is accepted without resolving its name;
- at delivery the address actually connected to is judged: a subscription made while private
  receivers were allowed, to a NAME that resolves to loopback, is refused once the server runs
  without --webhook-allow-private; the delivery is dead-lettered at once (a refusal is final),
  with the address and its range in the ledger, and nothing reaches the receiver.

docs/operations.md, "Webhook receivers", states the rules.
"""
from __future__ import annotations

import pytest

from vouch_testlib import unique, wait_until
from webhook_receiver import Receiver  # noqa: F401

DEADLINE = 60.0
FAST = ["--webhook-first-retry", "200ms", "--webhook-max-backoff", "1s", "--webhook-timeout", "2s",
        "--webhook-connect-timeout", "1s", "--webhook-poll", "100ms"]


def subscription_body(url: str, model: str) -> dict:
    return {"name": unique("hook"), "url": url, "events": ["model.updated"], "model": model,
            "format": "vouch"}


def webhook_names(api) -> list[str]:
    body = api.call("GET", "/api/v1/webhooks", params={"limit": 1000}, expect=200).json()
    return [w["name"] for w in body["webhooks"]]


REFUSED = [
    ("http://127.0.0.1:9/hook", "url: must use https://"),
    ("https://127.0.0.1:9/hook", "url: 127.0.0.1 is loopback (127.0.0.0/8); private receivers "
                                 "are allowed only with --webhook-allow-private"),
    ("https://localhost/hook", "url: localhost is loopback"),
    ("https://[::1]/hook", "url: ::1 is loopback"),
    ("https://169.254.169.254/latest/meta-data/", "url: 169.254.169.254 is link-local"),
    ("https://10.1.2.3/hook", "url: 10.1.2.3 is private (10.0.0.0/8)"),
    ("https://[fd00::1]/hook", "url: fd00::1 is unique local"),
    ("https://2130706433/hook", "url: the host \"2130706433\" looks like an address"),
    ("https://user:secret@hooks.example.com/in", "url: must not hold a user name or password"),
    ("ftp://hooks.example.com/in", "url: the scheme must be https, not ftp"),
    ("hooks.example.com/in", "is not an absolute URL"),
]


@pytest.mark.parametrize("url,says", REFUSED, ids=[u for u, _ in REFUSED])
def test_a_url_that_is_private_plain_or_malformed_is_refused_naming_the_field(
        api, url, says):
    model = unique("guard")
    before = webhook_names(api)
    r = api.call("POST", "/api/v1/webhooks", json_body=subscription_body(url, model),
                 expect=400, code="INVALID_ARGUMENT")
    message = r.json()["error"]["message"]
    assert message.startswith("url: "), message
    assert says in message, message
    assert webhook_names(api) == before


def test_a_public_https_url_is_accepted_without_resolving_its_name(api):
    # .invalid never resolves (RFC 6761): accepted, because names are judged when connecting.
    body = subscription_body("https://hooks.receiver.invalid/in", unique("nomatch") + "-*")
    r = api.call("POST", "/api/v1/webhooks", json_body=body, expect=201)
    assert r.json()["url"] == "https://hooks.receiver.invalid/in"


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(server_factory, spec):
    with Receiver() as receiver:
        # Made while private receivers are allowed ...
        srv = server_factory(args=[*FAST, "--webhook-allow-private"])
        api = srv.api(spec)
        model = unique("rebind")
        api.create_model(model)
        url = f"http://localhost:{receiver.port}/hook"
        hook = api.call("POST", "/api/v1/webhooks", json_body=subscription_body(url, model),
                        expect=201).json()["id"]
        srv.terminate()
        # ... and sent by a server that no longer allows them: the NAME passes no check at
        # delivery; the address it resolves to does not.
        srv.args = FAST
        srv.start()
        api = srv.api(spec)
        api.call("PATCH", "/api/v1/models/{name}", path={"name": model},
                 json_body={"description": "to a name that resolves to loopback"}, expect=200)

        def decided():
            body = api.call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook},
                            expect=200).json()
            d = body["deliveries"]
            return d if d and d[0]["state"] != "pending" else None

        ledger = wait_until(decided, DEADLINE, what="the delivery decided")
        assert len(ledger) == 1
        assert ledger[0]["state"] == "dead"
        assert ledger[0]["attempts"] == 1, "a refusal is final: no retry"
        error = ledger[0]["last_error"]
        assert "127.0.0.1 is loopback (127.0.0.0/8)" in error, error
        assert "--webhook-allow-private" in error, error
        assert receiver.requests == []

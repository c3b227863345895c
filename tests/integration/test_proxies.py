"""The client address in the audit log behind a load balancer (--trusted-proxies): `Forwarded` and
`X-Forwarded-For` are believed only when the TCP peer is a trusted proxy, and then the address is
the nearest hop that is not one; from any other peer the headers are ignored and the peer is
recorded, so a client cannot put another address into the log."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from vouch_testlib import ADMIN_TOKEN, Api, VouchServer, unique, wait_until

PEER = "127.0.0.1"  # every request in this module comes from the loopback


def _start(tmp_path_factory, args: list[str]) -> VouchServer:
    root = tmp_path_factory.mktemp("proxy")
    srv = VouchServer(root / "data", root / "logs", token=ADMIN_TOKEN, args=args)
    return srv.start()


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, VouchServer]]:
    made = {
        "untrusted": _start(tmp_path_factory, []),
        "trusted": _start(tmp_path_factory, ["--trusted-proxies", "127.0.0.1,10.0.0.0/8"]),
        "other_proxy": _start(tmp_path_factory, ["--trusted-proxies", "10.0.0.0/8"]),
    }
    yield made
    for srv in made.values():
        srv.close()


def recorded_address(api: Api, headers: dict[str, str]) -> str:
    """Creates a model with `headers` on the request and returns the address its event names."""
    name = unique("proxy")
    api.call("POST", "/api/v1/models", json_body={"name": name}, headers=headers, expect=201)
    events = api.events(model=name)
    assert [e["action"] for e in events] == ["model.created"], events
    return events[0]["source"]["address"]


# (headers sent, address recorded when 127.0.0.1 and 10.0.0.0/8 are trusted)
CASES = [
    pytest.param({}, PEER, id="no header"),
    pytest.param({"X-Forwarded-For": "203.0.113.7"}, "203.0.113.7", id="xff one hop"),
    pytest.param({"X-Forwarded-For": "203.0.113.7:5555"}, "203.0.113.7", id="xff with port"),
    pytest.param({"X-Forwarded-For": "198.51.100.66, 203.0.113.7"}, "203.0.113.7",
                 id="xff spoofed left hop ignored"),
    pytest.param({"X-Forwarded-For": "203.0.113.7, 10.1.2.3, 127.0.0.1"}, "203.0.113.7",
                 id="xff trusted hops skipped"),
    pytest.param({"Forwarded": "for=198.51.100.9"}, "198.51.100.9", id="forwarded"),
    pytest.param({"Forwarded": 'for="[2001:db8::17]:4711";proto=https'}, "2001:db8::17",
                 id="forwarded ipv6 quoted with port"),
    pytest.param({"Forwarded": "for=198.51.100.9;proto=https, For=10.0.0.5"}, "198.51.100.9",
                 id="forwarded two elements"),
    pytest.param({"Forwarded": "for=198.51.100.9", "X-Forwarded-For": "203.0.113.7"},
                 "198.51.100.9", id="forwarded wins over xff"),
    pytest.param({"Forwarded": "for=unknown"}, "unknown", id="forwarded unknown"),
]


@pytest.mark.parametrize("headers, expected", CASES)
def test_a_trusted_proxy_names_the_client(servers, spec, headers, expected):
    api = servers["trusted"].api(spec)
    assert recorded_address(api, headers) == expected


@pytest.mark.parametrize("headers, _expected", CASES)
def test_without_trusted_proxies_the_headers_are_ignored(servers, spec, headers, _expected):
    api = servers["untrusted"].api(spec)
    assert recorded_address(api, headers) == PEER


@pytest.mark.parametrize("headers, _expected", CASES)
def test_a_peer_outside_the_trusted_ranges_is_recorded_itself(servers, spec, headers, _expected):
    api = servers["other_proxy"].api(spec)
    assert recorded_address(api, headers) == PEER


def test_a_forged_hop_is_kept_short_and_valid_utf8(servers, spec):
    api = servers["trusted"].api(spec)
    # Latin-1 bytes on the wire (obs-text, allowed in a header value) that are not UTF-8.
    forged = "evil" + "\u00e9" * 300
    address = recorded_address(api, {"X-Forwarded-For": forged})
    # Each byte 0xE9 becomes U+FFFD (3 bytes), cut at 64 bytes on a character boundary.
    assert address == "evil" + "\ufffd" * 20, address


@pytest.mark.parametrize("flag", ["127.0.0.1/33", "not-a-cidr", "10.0.0.0/8,bogus", "::1/129"])
def test_a_bad_trusted_proxies_value_fails_start_up(server_factory, flag):
    srv = server_factory(args=["--trusted-proxies", flag], start=False)
    proc = srv.spawn()

    def exited_or_serving():
        if proc.poll() is not None:
            return "exited"
        try:
            if requests.get(srv.base + "/health", timeout=1).status_code == 200:
                return "serving"
        except requests.RequestException:
            pass
        return None

    outcome = wait_until(exited_or_serving, timeout=30, what="vouch serve to exit or serve")
    assert outcome == "exited", f"vouch serve accepted --trusted-proxies {flag!r}"
    assert proc.returncode == 1, srv.logs()
    assert "--trusted-proxies" in srv.stderr(), srv.logs()

"""SIGTERM drains: requests in flight complete, the process exits 0, and nothing acknowledged or
committed is lost or left unanswered."""

from __future__ import annotations

import json
import signal
import socket

from vouch_testlib import DRAINING_LINE, creates_through_sigterm, unique, wait_until


def test_sigterm_on_idle_server_with_keepalive_connection_exits_0(server_factory, spec):
    # A drain timeout far beyond terminate()'s wait: were the idle connection counted as in
    # flight, the drain would wait it out and terminate() would fail.
    srv = server_factory(args=["--drain-timeout", "3600s"])
    api = srv.api(spec)
    api.call("GET", "/api/v1/whoami", expect=200)  # leaves an idle keep-alive connection open
    assert srv.terminate(timeout=60) == 0, srv.logs()
    assert DRAINING_LINE in srv.stderr(), srv.logs()
    assert "still in flight" not in srv.stderr(), srv.logs()


def test_sigterm_the_moment_the_server_is_ready_drains_and_exits_0(server_factory):
    # The server answers /ready only once SIGTERM is its own to handle: a signal that arrived
    # between the two killed it with its default action (exit -15, requests in flight dropped).
    # The window was short, so try it a few times.
    for _ in range(3):
        srv = server_factory()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(60) == 0, srv.logs()
        assert DRAINING_LINE in srv.stderr(), srv.logs()


def test_sigterm_during_load_completes_in_flight_requests_and_exits_0(server_factory, spec):
    srv = server_factory()
    api, _ = creates_through_sigterm(srv, spec, clients=8, want=100)
    events = api.events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_sigterm_lets_a_request_whose_body_is_still_arriving_finish(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("slow")
    body = json.dumps({"name": name, "description": "x" * 2000}).encode()
    head = (f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"
            f"Connection: close\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        sock.sendall(head)
        # "100 Continue" says the server has read the header and taken the request on: from here
        # SIGTERM must let it finish.
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = sock.recv(4096)
            assert chunk, "the server closed before answering 100 Continue"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim[:200]
        sock.sendall(body[:100])
        srv.proc.send_signal(signal.SIGTERM)
        # The server says when it has stopped accepting and waits for the requests in flight;
        # the rest of the body then arrives during the drain.
        wait_until(lambda: DRAINING_LINE in srv.stderr(), timeout=60, what="the drain to begin")
        assert srv.running(), "the server exited with a request half received"
        sock.sendall(body[100:])
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    status_line = data.split(b"\r\n", 1)[0]
    assert b" 201 " in status_line + b" ", (data[:300], srv.logs())
    assert srv.proc.wait(30) == 0, srv.logs()
    # The drain waited for the request, not for its own timeout.
    assert "still in flight" not in srv.stderr(), srv.logs()
    srv.start()
    assert srv.api(spec).get_model(name).status_code == 200

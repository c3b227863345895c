"""SIGTERM drains: requests in flight complete, the process exits 0, and nothing acknowledged or
committed is lost or left unanswered."""

from __future__ import annotations

import json
import signal
import socket
import time

from vouch_testlib import creates_through_sigterm, unique


def test_sigterm_on_idle_server_with_keepalive_connection_exits_0(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    api.call("GET", "/api/v1/whoami", expect=200)  # leaves an idle keep-alive connection open
    t0 = time.monotonic()
    assert srv.terminate(timeout=15) == 0, srv.logs()
    assert time.monotonic() - t0 < 10, "an idle keep-alive connection delayed shutdown"


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
        time.sleep(0.3)
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
    assert b" 201 " in status_line + b" ", data[:300]
    assert srv.proc.wait(30) == 0
    srv.start()
    assert srv.api(spec).get_model(name).status_code == 200

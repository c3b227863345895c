"""SIGTERM drains: requests in flight complete, the process exits 0, and nothing acknowledged or
committed is lost or left unanswered."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import requests

from vouch_testlib import quote_segment, unique, wait_until


def test_sigterm_on_idle_server_with_keepalive_connection_exits_0(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    api.call("GET", "/api/v1/whoami", expect=200)  # leaves an idle keep-alive connection open
    t0 = time.monotonic()
    assert srv.terminate(timeout=15) == 0, srv.logs()
    assert time.monotonic() - t0 < 10, "an idle keep-alive connection delayed shutdown"


def test_sigterm_during_load_completes_in_flight_requests_and_exits_0(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    name = unique("drain")
    api.create_model(name)
    url = f"{srv.base}/api/v1/models/{quote_segment(name)}/versions"
    acked: dict[int, str] = {}
    statuses: list[int] = []
    bad: list[str] = []
    lock = threading.Lock()

    def client(cid: int) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {api.token}"
        for i in range(5000):
            source = f"s3://b/{cid}/{i}"
            try:
                r = s.post(url, json={"source": source}, timeout=30)
            except requests.ConnectionError:
                return  # refused or closed: the server stopped taking requests
            except requests.RequestException as e:
                bad.append(repr(e))
                return
            with lock:
                statuses.append(r.status_code)
            if r.status_code == 201:
                with lock:
                    acked[r.json()["version"]] = source
                continue
            if r.status_code == 503:
                try:
                    spec.check(r, "POST", "/api/v1/models/{name}/versions")
                except AssertionError as e:
                    bad.append(str(e))
            else:
                bad.append(f"{r.status_code} {r.text[:200]}")
            return

    threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= 100, timeout=60, what="100 acknowledged creates")
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(30)
    finally:
        for t in threads:
            t.join(60)
    assert code == 0, f"exit code {code} after SIGTERM\n{srv.logs()}"
    assert not bad, bad[:5]
    assert set(statuses) <= {201, 503}

    srv.start()
    api = srv.api(spec)
    stored = {v["version"]: v["source"] for v in api.list_versions(name)}
    assert {n: stored.get(n) for n in acked} == acked, "an acknowledged create was lost"
    unanswered = sorted(set(stored) - set(acked))
    assert not unanswered, (
        f"versions {unanswered[:10]} were committed but their clients got no answer: the drain "
        "dropped in-flight requests")
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

"""A scriptable loopback webhook receiver for the black-box suites (issue 13).

`Receiver` listens on 127.0.0.1 on a free port in a thread of its own and answers each request with
the next `Reply` of its script (then with its default, 200 unless changed): a status with headers
and a body, after hanging for a while if asked (longer than the server's --webhook-timeout makes a
timeout), or a connection closed without an answer. Every request is recorded, with its headers
(lower-cased names) and body, whatever it was answered.

    from webhook_receiver import Receiver, Reply, receiver   # `receiver` is a pytest fixture

    def test_x(receiver):
        receiver.script(Reply(500), Reply(429, headers={"Retry-After": "1"}))
        ...
        receiver.wait_for(lambda got: len(got) >= 3, timeout=30)

Waiting is a poll with a deadline over what arrived (`wait_for`), never a sleep.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: float = 0.0   # seconds to wait before answering (ends early when the receiver closes)
    close: bool = False  # close the connection without answering


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float                # time.monotonic() when it arrived
    answered: int | None     # the status it was answered with; None: hung up or closed

    def json(self):
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class Receiver:
    """Thread-safe. Use as a context manager, or call close()."""

    def __init__(self, default: Reply | None = None):
        self._lock = threading.Condition()
        self._script: list[Reply] = []
        self._default = default or Reply()
        self._got: list[Received] = []
        self._closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                receiver._handle(self)

            do_PUT = do_POST
            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def script(self, *replies: Reply) -> None:
        """Queues replies: each request takes the next; the default follows."""
        with self._lock:
            self._script.extend(replies)

    def set_default(self, reply: Reply) -> None:
        with self._lock:
            self._default = reply

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._got)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> list[Received]:
        """Waits until predicate(requests so far) holds; AssertionError with what arrived if it does
        not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self._got)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the receiver did not get what was awaited within {timeout} s; got "
                        f"{[(r.header('webhook-id'), r.answered) for r in self._got]}")
                self._lock.wait(min(left, 0.5))
            return list(self._got)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        with self._lock:
            reply = self._script.pop(0) if self._script else self._default
        received = Received(method=h.command, path=h.path,
                            headers={k.lower(): v for k, v in h.headers.items()}, body=body,
                            at=time.monotonic(), answered=None)
        with self._lock:
            self._got.append(received)  # in arrival order, answered or not
            self._lock.notify_all()
        if reply.hang > 0 and self._closing.wait(reply.hang):
            reply = Reply(close=True)
        if not reply.close:
            with self._lock:
                received.answered = reply.status
                self._lock.notify_all()
        if reply.close:
            h.close_connection = True
            return
        try:
            h.send_response(reply.status)
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(reply.body)))
            h.end_headers()
            h.wfile.write(reply.body)
        except OSError:
            pass  # the sender gave up (its timeout) before the answer


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r

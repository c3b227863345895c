"""A local SMTP server for the e-mail tests: aiosmtpd on a free loopback port, in a thread of its
own, keeping every message it accepts (envelope and parsed message) for the test to await.

Recipients whose local part starts with "refuse" are refused at RCPT (550), so a test can show that
one refused recipient does not cost the others their copy.
"""
from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller

from vouch_testlib import free_port


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    def part(self, subtype: str) -> str:
        """The decoded text of the text/<subtype> part."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_type() == f"text/{subtype}", self.raw[:2000]
        return body.get_content()


class Inbox:
    """Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._mails: list[Mail] = []

    # aiosmtpd's handler hooks.
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@", 1)[0].startswith("refuse"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self._mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                    message))
            self._lock.notify_all()
        return "250 2.0.0 queued"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def wait_for(self, predicate: Callable[[list[Mail]], bool], timeout: float) -> list[Mail]:
        """Waits until predicate(mails so far) holds; AssertionError with what arrived if it does
        not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self._mails)):
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(m.rcpt_tos, m.message["Subject"]) for m in self._mails]
                    raise AssertionError(f"no such mail within {timeout} s; got {got}")
                self._lock.wait(left)
            return list(self._mails)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails() if address in m.rcpt_tos]


class SmtpSink:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()

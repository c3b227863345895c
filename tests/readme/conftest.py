"""Fixtures for the README walk-through (tests/readme/README.md). The server comes from
tests/integration/vouch_testlib.py, started as the other black-box suites start it; at the end of
the session every data directory left behind must pass `vouch audit verify`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

_INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(_INTEGRATION) not in sys.path:
    sys.path.insert(0, str(_INTEGRATION))

from vouch_testlib import check_audit_logs_after_session  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def audit_logs_verify_at_the_end(tmp_path_factory) -> Iterator[None]:
    yield
    check_audit_logs_after_session(tmp_path_factory.getbasetemp())

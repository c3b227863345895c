"""Small assertion helpers shared by the compatibility tests (no fixtures here)."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from mlflow.exceptions import MlflowException, RestException


def raises_mlflow(code: str, fn: Callable, *args, message: str | None = None,
                  contains: str | None = None, **kwargs) -> MlflowException:
    """Calls fn and asserts it raises an MlflowException with that error_code; when given, the
    server's message (the `message` of the JSON body) must equal `message` or contain `contains`."""
    with pytest.raises(MlflowException) as ei:
        fn(*args, **kwargs)
    e = ei.value
    assert e.error_code == code, f"expected {code}, got {e.error_code}: {e.message}"
    server_message = e.json.get("message") if isinstance(e, RestException) else e.message
    if message is not None:
        assert server_message == message, f"message {server_message!r} != {message!r}"
    if contains is not None:
        assert contains in (server_message or ""), f"{contains!r} not in {server_message!r}"
    return e


def error_body(resp) -> dict[str, Any]:
    """The MLflow error body of a raw response: exactly error_code and message (strings)."""
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", (
        f"error answered with Content-Type {ctype!r}: {resp.text[:300]}")
    body = resp.json()
    assert isinstance(body.get("error_code"), str) and isinstance(body.get("message"), str), body
    return body

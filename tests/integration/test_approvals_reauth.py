"""Re-authentication for signatures (`reauth: true`, issue 12; docs/approvals.md): the CLI signs
with a password read by --password-stdin and says what to do without one; the native API answers
401 REAUTH_REQUIRED to a token alone, 401 REAUTH_FAILED to a wrong password (recorded as a denial,
throttled like a sign-in: 429), accepts HTTP Basic as re-authenticated, refuses a signer without a
display name; and the password is nowhere in what the server keeps (database files or the
PostgreSQL dump, the Idempotency-Key rows included) or logs. Store-agnostic.
"""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from dataclasses import dataclass

import pytest

from vouch_testlib import clean_env, require_binary, unique

POLICY = """policies:
  - name: signed
    target: stage:Production
    match: {models: ["signed-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    reauth: true
"""


@pytest.fixture(scope="module")
def server_args():
    # Everyone may EDIT (open requests); the policy decides who may approve.
    return ["--default-permission", "EDIT", "--max-failed-logins", "3"]


@dataclass
class Person:
    name: str
    token: str
    password: str


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def policy(server, tmp_path_factory):
    path = tmp_path_factory.mktemp("policies") / "policies.yaml"
    path.write_text(POLICY)
    r = server.cli("policy", "apply", "-f", str(path))
    assert r.returncode == 0, r.stderr


def person(api, role: str, display_name: str | None = "A. Signer") -> Person:
    name = unique("p")
    password = f"pw of {name} !"
    body = {"name": name, "kind": "user", "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    api.call("POST", "/api/v1/users", json_body=body, expect=201)
    if role:
        api.call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": role, "user": name},
                 expect=204)
    token = api.call("POST", "/api/v1/tokens", json_body={"name": "t", "owner": name},
                     expect=201).json()["token"]
    return Person(name, token, password)


def open_request(api, policy) -> tuple[str, int]:
    """A signed-* model with one version and an open request for stage:Production."""
    requester = person(api, "data-scientist")
    model = unique("signed")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://b/signed"}, expect=201)
    r = api.call("POST", "/api/v1/requests", token=requester.token, expect=201,
                 json_body={"model": model, "version": 1, "target": "stage:Production"})
    return model, r.json()["id"]


def cli_with_stdin(server, who: Person, stdin: str | None, *args: str):
    cmd = [str(require_binary()), "--server", server.base, "--token", who.token, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=clean_env(),
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def approve(api, rid: int, who: Person, *, expect: int, code: str | None = None, **body):
    return api.call("POST", "/api/v1/requests/{id}/approve", path={"id": rid}, token=who.token,
                    json_body={"comment": "signed", **body}, expect=expect, code=code)


def state_of(api, rid: int) -> dict:
    return api.call("GET", "/api/v1/requests/{id}", path={"id": rid}, expect=200).json()


def test_the_cli_signs_with_a_password_read_from_standard_input(server, api, policy):
    eli = person(api, "ml-engineer", "Eli Whitney")
    model, rid = open_request(api, policy)
    r = cli_with_stdin(server, eli, eli.password + "\n", "requests", "approve", str(rid),
                       "--comment", "reviewed the card", "--password-stdin", "-o", "json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert json.loads(r.stdout)["state"] == "applied"
    assert eli.password not in r.stdout + r.stderr
    shown = state_of(api, rid)
    assert [x["printed_name"] for x in shown["reviews"]] == ["Eli Whitney"]
    reviewed = [e for e in api.events(model=model) if e["action"] == "request.reviewed"]
    assert reviewed[0]["after"]["printed_name"] == "Eli Whitney"


def test_the_cli_without_a_terminal_says_to_give_the_password_and_signs_nothing(server, api,
                                                                                 policy):
    eli = person(api, "ml-engineer")
    _, rid = open_request(api, policy)
    r = cli_with_stdin(server, eli, None, "requests", "reject", str(rid), "--comment", "no")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "REAUTH_REQUIRED" in r.stderr and "--password-stdin" in r.stderr, r.stderr
    assert state_of(api, rid)["state"] == "open"
    # With the password, the rejection is signed.
    r = cli_with_stdin(server, eli, eli.password + "\n", "requests", "reject", str(rid),
                       "--comment", "no", "--password-stdin", "-o", "json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert state_of(api, rid)["state"] == "rejected"


def test_a_token_alone_gets_reauth_required_and_a_wrong_password_reauth_failed(server, api,
                                                                               policy):
    eli = person(api, "ml-engineer")
    model, rid = open_request(api, policy)
    r = approve(api, rid, eli, expect=401, code="REAUTH_REQUIRED")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "requires re-authentication" in r.json()["error"]["message"]
    r = approve(api, rid, eli, expect=401, code="REAUTH_FAILED", password="not the password")
    assert "not the password" not in r.text
    assert state_of(api, rid)["state"] == "open"
    # The wrong password is a denial, recorded under the signer at once; REAUTH_REQUIRED is not.
    denied = [e for e in api.events(action="access.denied") if e["actor"]["name"] == eli.name]
    assert len(denied) == 1 and "re-authentication failed" in denied[0]["reason"], denied
    approve(api, rid, eli, expect=200, password=eli.password)
    assert state_of(api, rid)["state"] == "applied"
    assert [e["action"] for e in api.events(model=model)].count("request.reviewed") == 1


def until_refused(attempt, most: int) -> int:
    """Repeats `attempt` (a failing sign-in or signature) until it is refused unchecked (429): the
    number of 401s before it. The backoff doubles with each failure, so this awaits the refusal
    rather than counting on the next request being quick."""
    for failures in range(most):
        r = attempt()
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "RESOURCE_EXHAUSTED", r.text
            return failures
        assert r.status_code == 401, r.text
    raise AssertionError(f"no 429 after {most} failures")


def test_wrong_passwords_back_off_like_sign_ins(server, api, policy):
    eli = person(api, "ml-engineer")
    _, rid = open_request(api, policy)

    def wrong_signature():
        return approve(api, rid, eli, expect=None, password="wrong password")

    def wrong_sign_in():
        return api.call("GET", "/api/v1/whoami", token=None, headers=basic(eli.name, "wrong!"))

    # --max-failed-logins 3: the third wrong signature starts the backoff.
    assert until_refused(wrong_signature, 10) >= 3
    # The same count holds sign-ins back: fewer failures than a fresh username needs.
    assert until_refused(wrong_sign_in, 10) < 3
    assert state_of(api, rid)["state"] == "open"


def test_http_basic_is_a_re_authentication_in_this_very_call(server, api, policy):
    eli = person(api, "ml-engineer")
    _, rid = open_request(api, policy)
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": rid}, token=None,
             headers=basic(eli.name, eli.password), json_body={"comment": "ok"}, expect=200)
    assert state_of(api, rid)["state"] == "applied"


def test_a_signer_without_a_display_name_is_told_to_set_one(server, api, policy):
    ivo = person(api, "ml-engineer", display_name=None)
    _, rid = open_request(api, policy)
    r = approve(api, rid, ivo, expect=400, code="FAILED_PRECONDITION", password=ivo.password)
    assert f"vouch users update {ivo.name} --display-name" in r.json()["error"]["message"]
    api.call("PATCH", "/api/v1/users/{name}", path={"name": ivo.name}, token=ivo.token,
             json_body={"display_name": "Ivo A."}, expect=200)
    approve(api, rid, ivo, expect=200, password=ivo.password)
    assert [x["printed_name"] for x in state_of(api, rid)["reviews"]] == ["Ivo A."]


def test_the_password_is_nowhere_in_what_the_server_keeps_or_logs(server, api, policy):
    eli = person(api, "ml-engineer")
    _, rid = open_request(api, policy)
    body = {"comment": "signed", "password": eli.password}
    # Under an Idempotency-Key, whose row keeps a digest of the body: not a bare SHA-256 of it.
    raw = json.dumps(body)
    r = api.call("POST", "/api/v1/requests/{id}/approve", path={"id": rid}, token=eli.token,
                 data=raw, headers={"Idempotency-Key": unique("k")}, expect=200)
    assert eli.password not in r.text
    kept = server.stored_bytes()
    assert b"request.reviewed" in kept  # the bytes searched hold the log
    assert eli.password.encode() not in kept
    assert hashlib.sha256(raw.encode()).hexdigest().encode() not in kept
    assert eli.password not in server.stdout() + server.stderr()

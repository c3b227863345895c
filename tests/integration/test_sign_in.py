"""Failed sign-ins: what their denial events may keep (never a credential, even one typed into the
wrong field), and how they are slowed down (per username and client address, with a much higher
ceiling per username, backing off rather than locking anyone out). Each test has its own server."""

from __future__ import annotations

import base64
import json
import re

from vouch_testlib import Api, unique, wait_until

PASSWORD = "sign-in test password 1"
# Several client addresses: the test's requests come from the loopback, a trusted proxy.
PROXIED = ["--trusted-proxies", "127.0.0.1"]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def create_user(api: Api, **fields) -> str:
    name = unique("u")
    api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user", **fields},
             expect=201)
    return name


def token_for(api: Api, owner: str) -> str:
    return api.call("POST", "/api/v1/tokens", expect=201,
                    json_body={"name": unique("t"), "owner": owner}).json()["token"]


def test_no_credential_typed_into_any_field_is_kept_in_the_log(server_factory, spec):
    srv = server_factory(args=["--max-failed-logins", "1000", "--denial-window", "1s"])
    api = srv.api(spec)
    alice = create_user(api, password=PASSWORD)
    token = token_for(api, alice)
    bob = create_user(api)
    bob_token = token_for(api, bob)
    secrets = {"token": token, "token body": token[4:], "password": PASSWORD}

    native, mlflow = "/api/v1/whoami", "/api/2.0/mlflow/registered-models/search"
    wrong_fields = [
        basic(token, ""),                   # curl -u "$TOKEN:"
        basic(token, PASSWORD),
        basic(PASSWORD, ""),                # the password typed as the username
        basic(PASSWORD, token),
        basic(alice, token),                # a token as the password: attempted is alice
        basic(alice + "x", PASSWORD),       # a mistyped name
        {"Authorization": f"Bearer {PASSWORD}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Token {token}"},
    ]
    for headers in wrong_fields:
        for path in (native, mlflow):
            r = api.raw("GET", path, headers=headers, token=None)
            assert r.status_code == 401, (headers, r.text)
            assert token not in r.text and PASSWORD not in r.text
    # MLflow's auth endpoints, the secrets in their fields: refused for bob (403, recorded at
    # once under bob), and for a credential typed wrongly (401).
    auth = "/api/2.0/mlflow/users"
    calls = [("POST", f"{auth}/create", {"username": token, "password": PASSWORD}),
             ("PATCH", f"{auth}/update-password", {"username": alice, "password": token}),
             ("PATCH", f"{auth}/update-admin", {"username": token, "is_admin": True}),
             ("DELETE", f"{auth}/delete", {"username": PASSWORD})]
    for method, path, body in calls:
        r = api.raw(method, path, json_body=body, token=bob_token)
        assert r.status_code == 403, (path, r.text)
        r = api.raw(method, path, json_body=body, headers=basic(token, PASSWORD), token=None)
        assert r.status_code == 401, (path, r.text)
    r = api.raw("GET", f"{auth}/get", params={"username": token}, token=bob_token)
    assert r.status_code in (403, 404), r.text

    # A graceful stop writes every pending aggregated denial; then the whole log and everything
    # the server keeps (database files, or the PostgreSQL dump) and logs are searched.
    srv.restart()
    events = api.events()
    denied = [e for e in events if e["action"] == "access.denied"]
    attempted = {e["target"].get("attempted") for e in denied}
    assert alice in attempted, attempted
    unknown = {a for a in attempted if a and a.startswith("(unknown user ")}
    # The token, the password and the mistyped name as usernames: three distinct keyed hashes.
    assert len(unknown) == 3, attempted
    assert sum(e.get("count", 1) for e in denied if e["actor"]["id"] == 0) >= \
        len(wrong_fields) * 2 + len(calls)
    assert [e["actor"]["name"] for e in denied if e["actor"]["id"] != 0] == [bob] * 5
    trail = json.dumps(events)
    kept = srv.stored_bytes()
    logs = srv.stdout() + srv.stderr()
    leaks = [f"{what} in {where}" for what, s in secrets.items()
             for where, text in (("the audit log", trail), ("the server log", logs))
             if s in text]
    leaks += [f"{what} in the stored bytes" for what, s in secrets.items() if s.encode() in kept]
    assert leaks == [], json.dumps([e for e in events if token in json.dumps(e) or PASSWORD in json.dumps(e)])
    # The bytes searched were the ones that hold the log.
    assert b"access.denied" in kept


def until_refused(attempt, most: int) -> tuple[int, dict]:
    """Repeats `attempt` (a failing sign-in) until it is refused unchecked (429): the number of
    401s before it, and the 429's body. Refusal comes once a limit is reached and lasts a backoff
    that doubles, so the loop awaits it rather than counting on the next request being quick."""
    for failures in range(most):
        r = attempt()
        if r.status_code == 429:
            return failures, r.json()
        assert r.status_code == 401, r.text
    raise AssertionError(f"no 429 after {most} failed sign-ins")


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(server_factory, spec):
    srv = server_factory(args=["--max-failed-logins", "2", *PROXIED])
    api = srv.api(spec)
    victim = create_user(api, password=PASSWORD)

    def sign_in(password: str, address: str, path: str = "/api/v1/whoami"):
        return api.raw("GET", path, token=None,
                       headers={**basic(victim, password), "X-Forwarded-For": address})

    attacker, owner = "203.0.113.66", "198.51.100.7"
    failures, body = until_refused(lambda: sign_in("guess", attacker), most=8)
    assert failures >= 2, "refused before --max-failed-logins failures"
    assert body["error"]["code"] == "RESOURCE_EXHAUSTED"
    # A backoff of seconds, not a lock (the first waits are 1 s, 2 s, 4 s ...).
    assert re.fullmatch(r"too many failed sign-ins; retry in \d s", body["error"]["message"]), body
    # The owner, from its own address, is not locked out, on either door.
    assert sign_in(PASSWORD, owner).status_code == 200
    r = sign_in(PASSWORD, owner, "/api/2.0/mlflow/registered-models/search")
    assert r.status_code == 200, r.text
    # Once the attacker's backoff is over, its attempts are checked again (awaited, not slept).
    wait_until(lambda: sign_in(PASSWORD, attacker).status_code == 200, timeout=90, interval=0.2,
               what="the attacker's backoff to end")


def test_a_username_backs_off_everywhere_only_past_a_much_higher_ceiling(server_factory, spec):
    srv = server_factory(args=["--max-failed-logins", "2", *PROXIED])
    api = srv.api(spec)
    victim = create_user(api, password=PASSWORD)
    other = create_user(api, password=PASSWORD)
    addresses = (f"198.51.100.{i}" for i in range(1, 255))

    def sign_in(user: str, password: str, address: str):
        return api.raw("GET", "/api/v1/whoami", token=None,
                       headers={**basic(user, password), "X-Forwarded-For": address})

    # Ten times --max-failed-logins, spread over addresses that each stay under their own limit.
    ceiling = 2 * 10
    for _ in range(ceiling - 1):
        assert sign_in(victim, "spray", next(addresses)).status_code == 401
    assert sign_in(victim, PASSWORD, "192.0.2.1").status_code == 200
    # Past the ceiling the username is refused unchecked from addresses that never failed.
    failures, body = until_refused(lambda: sign_in(victim, "spray", next(addresses)), most=10)
    assert failures >= 1
    assert body["error"]["code"] == "RESOURCE_EXHAUSTED"
    # Other users, from the same addresses, and tokens are not affected.
    assert sign_in(other, PASSWORD, next(addresses)).status_code == 200
    api.call("GET", "/api/v1/whoami", expect=200)
    wait_until(lambda: sign_in(victim, PASSWORD, "192.0.2.1").status_code == 200, timeout=90,
               interval=0.2, what="the username's backoff to end")

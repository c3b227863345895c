"""The identity commands of the `vouch` client end to end: users, groups, roles, permissions,
tokens, whoami, HTTP Basic from flags and environment, and `vouch login` / `vouch logout` with the
credentials file they keep (HOME pointed at a temporary directory)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from vouch_testlib import clean_env, free_port, json_lines, require_binary, unique

PASSWORD = "cli password 1"


@pytest.fixture(scope="module")
def server_args():
    return ["--max-failed-logins", "100000"]


def ok(r) -> str:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def one_json(r) -> dict:
    return json.loads(ok(r).strip())


def vouch(server, *args: str, home: Path, token: str | None = None, stdin: str | None = None,
          env: dict[str, str] | None = None, server_url: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    """The client with HOME at `home` (and no XDG_CONFIG_HOME), no token unless given, and `stdin`
    piped in (not a terminal)."""
    e = clean_env({"HOME": str(home)})
    e.pop("XDG_CONFIG_HOME", None)
    e.update(env or {})
    cmd = [str(require_binary()), "--server", server_url or server.base]
    if token is not None:
        cmd += ["--token", token]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env=e, input=stdin if stdin is not None else "",
                          cwd=str(home))


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def credentials(home: Path) -> Path:
    return home / ".config" / "vouch" / "credentials"


def test_users_groups_roles_permissions_and_tokens_through_the_cli(server, api):
    cli = server.cli
    name = unique("cli-user")
    made = one_json(cli("users", "create", name, "--display-name", "Zoë Example", "--email",
                        "zoe@example.com", "-o", "json"))
    assert made["name"] == name and made["display_name"] == "Zoë Example"
    assert made["kind"] == "user" and made["is_admin"] is False
    bot = unique("cli-bot")
    assert one_json(cli("users", "create", bot, "--service-account", "-o", "json"))["kind"] == \
        "service_account"
    table = ok(cli("users", "list"))
    assert table.splitlines()[0].split() == ["NAME", "KIND", "ADMIN", "DISABLED", "DISPLAY_NAME",
                                             "EMAIL"]
    assert name in table and "Zoë Example" in table
    rows = list(csv.DictReader(io.StringIO(ok(cli("users", "list", "-o", "csv")))))
    assert {r["name"] for r in rows} >= {"admin", name, bot}
    assert [u["name"] for u in json_lines(ok(cli("users", "list", "-o", "jsonl")))] == \
        sorted(r["name"] for r in rows)

    ok(cli("users", "update", name, "--email", "zoe@elsewhere.example"))
    assert api.call("GET", "/api/v1/users/{name}", path={"name": name},
                    expect=200).json()["email"] == "zoe@elsewhere.example"
    # An admin sets it; the new password is one line of standard input.
    ok(subprocess.run([str(require_binary()), "--server", server.base, "--token", server.token,
                       "users", "set-password", name], input=PASSWORD + "\n", text=True,
                      capture_output=True, env=clean_env(), timeout=60))
    r = server.cli("whoami", "-o", "json", token=None,
                   env={"VOUCH_USERNAME": name, "VOUCH_PASSWORD": PASSWORD})
    assert one_json(r)["auth"] == "password"

    group = unique("cli-group")
    ok(cli("groups", "create", group, "--description", "CLI group"))
    ok(cli("groups", "add-member", group, name))
    ok(cli("roles", "grant", "auditor", "--group", group))
    ok(cli("roles", "grant", "ml-engineer", "--user", name))
    detail = one_json(cli("groups", "get", group, "-o", "json"))
    assert detail["members"] == [name] and detail["roles"] == ["auditor"]
    assert group in ok(cli("groups", "list"))
    got = one_json(cli("users", "get", name, "-o", "json"))
    assert got["roles"] == ["auditor", "ml-engineer"] and got["groups"] == [group]
    roles = json_lines(ok(cli("roles", "list", "-o", "jsonl")))
    assert {"role": "auditor", "grantee_kind": "group", "grantee": group} in roles
    ok(cli("roles", "revoke", "ml-engineer", "--user", name))
    ok(cli("roles", "revoke", "auditor", "--group", group))
    ok(cli("groups", "remove-member", group, name))
    assert one_json(cli("groups", "get", group, "-o", "json"))["members"] == []

    model = unique("cli-perm")
    ok(cli("models", "create", model))
    granted = one_json(cli("permissions", "grant", model, "--user", name, "edit", "-o", "json"))
    assert granted == {"model": model, "grantee_kind": "user", "grantee": name,
                       "permission": "EDIT"}
    ok(cli("permissions", "grant", model, "--group", group, "READ"))
    listed = ok(cli("permissions", "list", model))
    assert listed.splitlines()[0].split() == ["MODEL", "KIND", "GRANTEE", "PERMISSION"]
    assert any(line.split() == [model, "user", name, "EDIT"] for line in listed.splitlines())
    ok(cli("permissions", "revoke", model, "--user", name))
    ok(cli("permissions", "revoke", model, "--group", group))
    perms = json_lines(ok(cli("permissions", "list", model, "-o", "jsonl")))
    assert [p["grantee"] for p in perms] == ["admin"]

    issued = one_json(cli("tokens", "create", "cli test", "--owner", name, "--scope", "read",
                          "--expires-in", "7d", "-o", "json"))
    assert issued["token"].startswith("vch_") and issued["scope"] == "read"
    me = one_json(server.cli("whoami", "-o", "json", token=issued["token"]))
    assert me["name"] == name and me["token_scope"] == "read" and me["auth"] == "token"
    assert me["display_name"] == "Zoë Example" and me["email"] == "zoe@elsewhere.example"
    assert me["roles"] == [] and me["groups"] == []
    # A read-scoped token is refused a change: exit 1 with the server's reason.
    r = server.cli("models", "create", unique("ro"), token=issued["token"])
    assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr
    tokens = json_lines(ok(cli("tokens", "list", "--owner", name, "-o", "jsonl")))
    assert [t["id"] for t in tokens] == [issued["id"]] and "token" not in tokens[0]
    assert str(issued["id"]) in ok(cli("tokens", "list", "--all"))
    ok(cli("tokens", "revoke", str(issued["id"])))
    assert server.cli("whoami", token=issued["token"]).returncode == 1

    ok(cli("users", "disable", name))
    assert server.cli("whoami", token=None, env={"VOUCH_USERNAME": name,
                                                 "VOUCH_PASSWORD": PASSWORD}).returncode == 1
    assert one_json(cli("users", "enable", name, "-o", "json"))["disabled"] is False
    ok(cli("groups", "delete", group))
    ok(cli("users", "delete", name))
    assert cli("users", "get", name).returncode == 1


def test_refusals_usage_errors_and_unreachable_servers_exit_1_2_and_3(server, api):
    plain = unique("cli-plain")
    api.call("POST", "/api/v1/users", json_body={"name": plain, "kind": "user",
                                                 "password": PASSWORD}, expect=201)
    env = {"VOUCH_USERNAME": plain, "VOUCH_PASSWORD": PASSWORD}
    r = server.cli("users", "create", unique("nope"), token=None, env=env)
    assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr, r.stderr
    r = server.cli("users", "update", plain, "--admin", token=None, env=env)
    assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr
    r = server.cli("whoami", token=None, env={"VOUCH_USERNAME": plain,
                                              "VOUCH_PASSWORD": "wrong password"})
    assert r.returncode == 1 and "UNAUTHENTICATED" in r.stderr
    for args in (["users", "create"], ["roles", "grant", "auditor"],
                 ["roles", "grant", "auditor", "--user", "a", "--group", "b"],
                 ["permissions", "grant", "m", "--user", "a"], ["tokens", "revoke", "x"],
                 ["users", "update", plain], ["tokens", "create", "t", "--expires-in", "1d",
                                              "--expires-at", "2030-01-01T00:00:00Z"]):
        r = server.cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
    # --username without a password and no terminal to ask at.
    r = server.cli("whoami", "--username", plain, token=None)
    assert r.returncode == 2 and "password" in r.stderr.lower()
    r = server.cli("users", "list", server=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 3


def test_login_saves_a_private_token_and_later_commands_use_it(server, api, home):
    user = unique("cli-login")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user",
                                                 "password": PASSWORD}, expect=201)
    # Without a token and without a login: refused.
    assert vouch(server, "whoami", home=home).returncode == 1

    r = vouch(server, "login", "--username", user, "-o", "json", home=home,
              stdin=PASSWORD + "\n")
    out = one_json(r)
    assert out["server"] == server.base and out["username"] == user
    assert "token" not in out and PASSWORD not in r.stdout + r.stderr
    path = credentials(home)
    assert out["credentials"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert PASSWORD not in path.read_text()
    entry = saved["servers"][server.base]
    assert entry["username"] == user and entry["token"].startswith("vch_")
    assert [p.name for p in path.parent.iterdir()] == ["credentials"], "a temporary file was left"

    tokens = api.call("GET", "/api/v1/tokens", params={"owner": user}, expect=200).json()["tokens"]
    assert [t["id"] for t in tokens] == [entry["token_id"]]
    assert tokens[0]["name"].startswith("cli on ")

    # Commands without --token now act as the user, through the saved token.
    me = one_json(vouch(server, "whoami", "-o", "json", home=home))
    assert me["name"] == user and me["auth"] == "token"
    model = unique("cli-login-m")
    ok(vouch(server, "models", "create", model, home=home))
    assert api.get_model(model).json()["created_by"] == user
    # Not for another server URL, and not over an explicit token.
    other = vouch(server, "whoami", home=home, server_url=f"http://localhost:{server.port}")
    assert other.returncode == 1
    assert one_json(vouch(server, "whoami", "-o", "json", home=home,
                          token=server.token))["name"] == "admin"
    # XDG_CONFIG_HOME is honoured: there is no login there.
    xdg = home / "xdg"
    assert vouch(server, "whoami", home=home, env={"XDG_CONFIG_HOME": str(xdg)}).returncode == 1

    r = vouch(server, "logout", "-o", "json", home=home)
    assert one_json(r)["revoked"] is True
    assert not path.exists()
    revoked = api.call("GET", "/api/v1/tokens", params={"owner": user}, expect=200).json()
    assert "revocation_timestamp" in revoked["tokens"][0]
    assert api.raw("GET", "/api/v1/whoami", token=entry["token"]).status_code == 401
    assert vouch(server, "whoami", home=home).returncode == 1
    assert vouch(server, "logout", home=home).returncode == 1


def test_a_failed_login_saves_nothing_and_logging_in_again_replaces_the_token(server, api,
                                                                             home):
    user = unique("cli-relogin")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user",
                                                 "password": PASSWORD}, expect=201)
    r = vouch(server, "login", "--username", user, home=home, stdin="wrong password\n")
    assert r.returncode == 1 and "UNAUTHENTICATED" in r.stderr
    assert not credentials(home).exists()
    r = vouch(server, "login", home=home, stdin=f"{user}\n{PASSWORD}\n")
    assert r.returncode == 2 and "--username" in r.stderr, "no terminal to ask the username at"
    r = vouch(server, "login", "--username", user, home=home, stdin="")
    assert r.returncode == 2

    first = ok(vouch(server, "login", "--username", user, home=home, stdin=PASSWORD + "\n"))
    old = json.loads(credentials(home).read_text())["servers"][server.base]
    ok(vouch(server, "login", home=home, stdin=PASSWORD + "\n", env={"VOUCH_USERNAME": user}))
    new = json.loads(credentials(home).read_text())["servers"][server.base]
    assert new["token_id"] != old["token_id"] and first
    assert api.raw("GET", "/api/v1/whoami", token=old["token"]).status_code == 401
    assert api.raw("GET", "/api/v1/whoami", token=new["token"]).status_code == 200
    # A credentials file others may read is not used.
    os.chmod(credentials(home), 0o644)
    r = vouch(server, "whoami", home=home)
    assert r.returncode == 2 and "chmod 600" in r.stderr
    os.chmod(credentials(home), 0o600)
    ok(vouch(server, "logout", home=home))


def test_set_password_of_ones_own_needs_the_current_one(server, api, home):
    user = unique("cli-self")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user",
                                                 "password": PASSWORD}, expect=201)
    env = {"VOUCH_USERNAME": user, "VOUCH_PASSWORD": PASSWORD}
    r = vouch(server, "users", "set-password", user, home=home, env=env,
              stdin="a brand new password\n")
    assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr
    ok(vouch(server, "users", "set-password", user, "--current", home=home, env=env,
             stdin=f"{PASSWORD}\na brand new password\n"))
    assert vouch(server, "whoami", home=home, env=env).returncode == 1
    ok(vouch(server, "whoami", home=home, env={"VOUCH_USERNAME": user,
                                               "VOUCH_PASSWORD": "a brand new password"}))
    # The password went through stdin, never the command line or the output.
    assert "brand new" not in r.stdout + r.stderr

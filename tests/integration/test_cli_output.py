"""The `vouch` client's conventions end to end (docs/cli.md): one output convention for every
command (-o table, json = one document, jsonl, csv with the JSON field names and ISO times), every
write printing what it did, the credential order shown by whoami and --verbose, the warning
`vouch login` gives when an environment credential will win, and what whoami says after logout."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vouch_testlib import clean_env, require_binary, unique

PASSWORD = "cli output password 1"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TRICKY = 'fraud, "card" scoring\nsecond line'


def ok(r) -> str:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def vouch(server, *args: str, home: Path, token: str | None = None, stdin: str = "",
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The client with HOME at `home`, no VOUCH_* variable but those in `env`, --token only when
    given, and `stdin` piped in (not a terminal)."""
    e = clean_env({"HOME": str(home)})
    e.pop("XDG_CONFIG_HOME", None)
    e.update(env or {})
    cmd = [str(require_binary()), "--server", server.base]
    if token is not None:
        cmd += ["--token", token]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, env=e,
                          input=stdin, cwd=str(home))


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def model(api) -> str:
    name = unique("cli-out")
    api.create_model(name, description=TRICKY)
    api.create_version(name, source="s3://b/one", description=TRICKY)
    api.create_version(name, source="s3://b/two")
    return name


def new_user(api) -> str:
    user = unique("cli-out-u")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user",
                                                 "password": PASSWORD}, expect=201)
    return user


def test_json_is_one_document_for_lists_and_single_things(server, model):
    for args in (["models", "list"], ["versions", "list", model],
                 ["audit", "log", "--model", model]):
        out = ok(server.cli(*args, "-o", "json"))
        doc = json.loads(out)  # the whole output, one document
        assert isinstance(doc, list) and all(isinstance(x, dict) for x in doc), args
        assert doc, args
        # python3 -m json.tool accepts it, as the issue asked.
        tool = subprocess.run([sys.executable, "-m", "json.tool"], input=out, text=True,
                              capture_output=True)
        assert tool.returncode == 0, tool.stderr
    versions = json.loads(ok(server.cli("versions", "list", model, "-o", "json")))
    assert [v["version"] for v in versions] == [1, 2]
    assert isinstance(versions[0]["creation_timestamp"], int), "JSON keeps the API's fields"
    got = json.loads(ok(server.cli("versions", "get", model, "1", "-o", "json")))
    assert isinstance(got, dict) and got["description"] == TRICKY
    assert json.loads(ok(server.cli("models", "get", model, "-o", "json")))["name"] == model
    empty = unique("cli-out-empty")
    ok(server.cli("models", "create", empty))
    assert json.loads(ok(server.cli("versions", "list", empty, "-o", "json"))) == []


def test_jsonl_is_one_object_per_line(server, model):
    lines = ok(server.cli("versions", "list", model, "-o", "jsonl")).splitlines()
    assert [json.loads(line)["version"] for line in lines] == [1, 2]
    one = ok(server.cli("models", "get", model, "-o", "jsonl")).splitlines()
    assert len(one) == 1 and json.loads(one[0])["name"] == model


def test_csv_headers_are_json_names_times_are_iso_and_list_and_get_agree(server, model):
    listed = ok(server.cli("versions", "list", model, "-o", "csv"))
    got = ok(server.cli("versions", "get", model, "1", "-o", "csv"))
    assert listed.splitlines()[0] == got.splitlines()[0], "one header for list and get"
    header = listed.splitlines()[0].split(",")
    api_fields = set(json.loads(ok(server.cli("versions", "get", model, "1", "-o", "json"))))
    assert set(header) <= api_fields, f"not JSON field names: {set(header) - api_fields}"
    rows = csv_rows(listed)
    assert csv_rows(got) == rows[:1], "the same cells for the same version"
    assert [r["version"] for r in rows] == ["1", "2"]
    assert all(ISO_UTC.match(r["creation_timestamp"]) for r in rows), rows
    raw = subprocess.run([str(require_binary()), "--server", server.base, "--token", server.token,
                          "versions", "list", model, "-o", "csv"], capture_output=True,
                         env=clean_env(), timeout=60).stdout
    assert raw.count(b"\r\n") == 3 and raw.count(b"\n") == 3, "RFC 4180: CRLF line ends"

    # A description with a comma, quotes and a line break survives the round trip.
    models = {r["name"]: r for r in csv_rows(ok(server.cli("models", "list", "-o", "csv")))}
    assert models[model]["description"] == TRICKY
    assert ISO_UTC.match(models[model]["last_updated_timestamp"])
    one = csv_rows(ok(server.cli("models", "get", model, "-o", "csv")))
    assert one == [models[model]]
    # An object with no list of its own (whoami) has every field, times in ISO.
    me = csv_rows(ok(server.cli("whoami", "-o", "csv")))
    assert me[0]["name"] == "admin" and me[0]["credential"] == "--token"


def test_table_shows_times_in_iso(server, model):
    table = ok(server.cli("versions", "list", model))
    assert table.splitlines()[0].split()[:2] == ["VERSION", "STAGE"]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", table), table


def test_writes_print_what_they_did(server, api):
    user = new_user(api)
    group = unique("cli-out-g")
    ok(server.cli("groups", "create", group))
    assert ok(server.cli("groups", "add-member", group, user)) == \
        f"Added {user} to group {group}.\n"
    assert user in api.call("GET", "/api/v1/groups/{group}", path={"group": group},
                            expect=200).json()["members"]
    assert json.loads(ok(server.cli("groups", "remove-member", group, user, "-o", "json"))) == \
        {"group": group, "member": user, "removed": True}
    assert ok(server.cli("roles", "grant", "auditor", "--user", user)) == \
        f"Granted role auditor to user {user}.\n"
    assert "auditor" in api.call("GET", "/api/v1/users/{name}", path={"name": user},
                                 expect=200).json()["roles"]
    assert json.loads(ok(server.cli("roles", "revoke", "auditor", "--user", user, "-o",
                                    "json"))) == \
        {"role": "auditor", "grantee_kind": "user", "grantee": user, "revoked": True}
    rows = csv_rows(ok(server.cli("groups", "delete", group, "-o", "csv")))
    assert rows == [{"group": group, "deleted": "true"}]
    name = unique("cli-out-del")
    api.create_model(name)
    api.create_version(name)
    assert ok(server.cli("versions", "delete", name, "1")) == f"Deleted version 1 of model {name}.\n"
    assert ok(server.cli("models", "delete", name)) == f"Deleted model {name}.\n"


def test_login_warns_when_vouch_token_is_set_and_not_when_it_is_empty(server, api, home):
    user = new_user(api)
    r = vouch(server, "login", "--username", user, home=home, stdin=PASSWORD + "\n",
              env={"VOUCH_TOKEN": server.token})
    ok(r)
    assert "VOUCH_TOKEN" in r.stderr and "unset VOUCH_TOKEN" in r.stderr, r.stderr
    # The environment token wins, and whoami says so.
    me = json.loads(ok(vouch(server, "whoami", "-o", "json", home=home,
                             env={"VOUCH_TOKEN": server.token})))
    assert me["name"] == "admin" and me["credential"] == "VOUCH_TOKEN (environment)"
    # An empty VOUCH_TOKEN counts as unset: no warning, and the saved login is used.
    r = vouch(server, "login", "--username", user, home=home, stdin=PASSWORD + "\n",
              env={"VOUCH_TOKEN": ""})
    ok(r)
    assert "VOUCH_TOKEN" not in r.stderr, r.stderr
    me = json.loads(ok(vouch(server, "whoami", "-o", "json", home=home,
                             env={"VOUCH_TOKEN": ""})))
    assert me["name"] == user
    assert me["credential"].startswith("saved by `vouch login` in ")
    assert me["credential"].endswith(str(home / ".config" / "vouch" / "credentials"))
    ok(vouch(server, "logout", home=home))


def test_whoami_and_verbose_name_the_credential_source(server, api, home):
    user = new_user(api)
    ok(vouch(server, "login", "--username", user, home=home, stdin=PASSWORD + "\n"))
    # An explicit --token beats VOUCH_TOKEN, which beats the saved login.
    table = ok(vouch(server, "whoami", home=home, token=server.token,
                     env={"VOUCH_TOKEN": "vch_not-a-token"}))
    assert re.search(r"^credential\s+--token$", table, re.M), table
    table = ok(vouch(server, "whoami", home=home, env={"VOUCH_USERNAME": user,
                                                       "VOUCH_PASSWORD": PASSWORD}))
    assert re.search(rf"^credential\s+VOUCH_USERNAME={user} \(environment, password\)$", table,
                     re.M), table
    table = ok(vouch(server, "whoami", home=home))
    assert re.search(r"^credential\s+saved by `vouch login` in ", table, re.M), table
    r = vouch(server, "--verbose", "models", "list", home=home, env={"VOUCH_TOKEN": server.token})
    ok(r)
    assert r.stderr == "vouch: credential: VOUCH_TOKEN (environment)\n"
    ok(vouch(server, "logout", home=home))


def test_after_logout_whoami_suggests_vouch_login(server, api, home):
    user = new_user(api)
    ok(vouch(server, "login", "--username", user, home=home, stdin=PASSWORD + "\n"))
    ok(vouch(server, "logout", home=home))
    for args in (["whoami"], ["models", "list"]):
        r = vouch(server, *args, home=home)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stdout == ""
        assert "not logged in" in r.stderr and "vouch login" in r.stderr, r.stderr
        assert "UNAUTHENTICATED" not in r.stderr, "not the raw protocol message"


def test_help_lists_serve_and_audit_verify_help_names_its_inputs(server):
    r = subprocess.run([str(require_binary()), "--help"], capture_output=True, text=True,
                       env=clean_env(), timeout=60)
    out = ok(r)
    assert re.search(r"^  serve\s+\S", out, re.M), out
    assert "jsonl" in out and "VOUCH_TOKEN" in out
    r = subprocess.run([str(require_binary()), "audit", "verify", "--help"], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    out = ok(r)
    assert "--data-dir" in out and "--store" in out and "Merkle" in out

"""The CLI session of issue 2, end to end through the `vouch` client subprocess, plus its output
formats and exit codes (0 ok, 1 server refused, 2 usage, 3 unreachable)."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from vouch_testlib import free_port, json_lines, require_binary, run_cli, unique

DIGEST = "sha256:" + "1f" * 32


def ok(r) -> str:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def one_json(r) -> dict:
    out = ok(r).strip()
    return json.loads(out)


def test_full_cli_session(server, api, tmp_path):
    cli = server.cli
    name = "fraud-detector"

    me = one_json(cli("whoami", "--output", "json"))
    assert me["name"] == "admin" and me["is_admin"] is True

    created = one_json(cli("models", "create", name, "--description", "Flags risky payments",
                           "--tag", "team=risk", "--output", "json"))
    assert created["name"] == name and created["tags"] == {"team": "risk"}
    assert name in ok(cli("models", "list"))
    assert name in [m["name"] for m in json_lines(ok(cli("models", "list", "--output", "jsonl")))]
    got = one_json(cli("models", "get", name, "--output", "json"))
    assert got["description"] == "Flags risky payments"

    ok(cli("models", "update", name, "--description", "Flags risky card payments"))
    assert api.get_model(name).json()["description"] == "Flags risky card payments"
    ok(cli("tags", "set", name, "owner", "alice"))
    assert api.get_model(name).json()["tags"] == {"team": "risk", "owner": "alice"}

    v1 = one_json(cli("versions", "create", name, "--source", "s3://bucket/model.tar.gz",
                      "--run-id", "abc123", "--metric", "auc=0.93", "--param", "lr=0.1",
                      "--tag", "commit=1a2b3c", "--artifact-digest", DIGEST, "--output", "json"))
    assert v1["version"] == 1 and v1["run_id"] == "abc123"
    assert v1["metrics"] == {"auc": 0.93} and v1["params"] == {"lr": "0.1"}
    assert v1["tags"] == {"commit": "1a2b3c"} and v1["artifact_digest"] == DIGEST

    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"not really a tarball\n" * 1000)
    want = "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()
    v2 = one_json(cli("versions", "create", name, "--source", "s3://bucket/model2.tar.gz",
                      "--metric", "auc=0.95", "--artifact", str(artifact), "--output", "json"))
    assert v2["version"] == 2 and v2["artifact_digest"] == want

    listed = json_lines(ok(cli("versions", "list", name, "--output", "jsonl")))
    assert [v["version"] for v in listed] == [1, 2]
    assert one_json(cli("versions", "get", name, "1", "--output", "json"))["source"] == \
        "s3://bucket/model.tar.gz"
    ok(cli("versions", "update", name, "1", "--description", "first"))
    assert api.get_version(name, 1).json()["description"] == "first"

    ok(cli("tags", "set", name, "1", "reviewed", "yes"))
    assert api.get_version(name, 1).json()["tags"] == {"commit": "1a2b3c", "reviewed": "yes"}
    ok(cli("tags", "delete", name, "1", "reviewed"))
    ok(cli("metrics", "set", name, "1", "f1", "0.8"))
    assert api.get_version(name, 1).json()["metrics"] == {"auc": 0.93, "f1": 0.8}
    ok(cli("metrics", "delete", name, "1", "f1"))
    ok(cli("params", "set", name, "1", "depth", "7"))
    assert api.get_version(name, 1).json()["params"] == {"lr": "0.1", "depth": "7"}
    ok(cli("params", "delete", name, "1", "depth"))

    ok(cli("stage", "set", name, "1", "Production", "--comment", "first release"))
    ok(cli("stage", "set", name, "2", "production", "--archive-existing", "--comment", "better"))
    assert [(v["version"], v["stage"]) for v in api.list_versions(name)] == [
        (1, "Archived"), (2, "Production")]

    ok(cli("alias", "set", name, "champion", "2"))
    assert one_json(cli("alias", "get", name, "champion", "--output", "json"))["version"] == 2
    ok(cli("alias", "delete", name, "champion"))
    ok(cli("versions", "delete", name, "1"))
    ok(cli("tags", "delete", name, "owner"))

    log = json_lines(ok(cli("audit", "log", "--model", name, "--output", "jsonl")))
    for line in log:
        assert {"seq", "time", "actor", "action", "target", "before", "after", "comment",
                "request_id", "outcome", "schema"} <= set(line)
        assert line["actor"]["name"] == "admin" and line["outcome"] == "done"
    actions = [x["action"] for x in log]
    expected_head = ["model.created", "model.updated", "model.tag_set",
                     "model_version.created", "model_version.created",
                     "model_version.updated", "model_version.tag_set",
                     "model_version.tag_deleted", "model_version.metric_set",
                     "model_version.metric_deleted", "model_version.param_set",
                     "model_version.param_deleted", "model_version.stage_changed"]
    assert actions[:len(expected_head)] == expected_head
    archive_step = log[len(expected_head):len(expected_head) + 2]
    assert sorted((x["target"]["version"], x["before"]["stage"], x["after"]["stage"])
                  for x in archive_step) == [(1, "Production", "Archived"),
                                             (2, "None", "Production")]
    assert actions[len(expected_head) + 2:] == ["model_alias.set", "model_alias.deleted",
                                                "model_version.deleted", "model.tag_deleted"]
    seqs = [x["seq"] for x in log]
    assert seqs == sorted(seqs)


def test_cli_rename_and_delete(server, api):
    a, b = unique("cli-ren"), unique("cli-ren2")
    ok(server.cli("models", "create", a))
    ok(server.cli("models", "rename", a, b))
    assert server.cli("models", "get", a).returncode == 1
    assert one_json(server.cli("models", "get", b, "--output", "json"))["name"] == b
    ok(server.cli("models", "delete", b))
    assert api.get_model(b).status_code == 404


def test_cli_output_formats(server, api):
    odd = unique('comma, "quote"')
    ok(server.cli("models", "create", odd, "--description", "line one"))
    table = ok(server.cli("models", "list"))
    assert odd in table
    rows = list(csv.DictReader(io.StringIO(ok(server.cli("models", "list", "--output", "csv")))))
    rows = [{k.lower(): v for k, v in row.items()} for row in rows]  # header case is free
    assert "name" in rows[0]
    assert odd in [row["name"] for row in rows], "csv does not quote names with commas or quotes"
    lines = json_lines(ok(server.cli("models", "list", "--output", "jsonl")))
    assert len(lines) == len(api.list_models())
    assert all("name" in x for x in lines)


def test_cli_global_flags_after_the_subcommand_and_from_environment(server, api):
    name = unique("cli-env")
    bin_ = str(require_binary())
    r = run_cli([bin_, "models", "create", name, "--server", server.base, "--token", server.token,
                 "--output", "json"])
    assert json.loads(ok(r).strip())["name"] == name
    r = run_cli([bin_, "models", "get", name, "--output", "json"],
                env={"VOUCH_SERVER": server.base, "VOUCH_TOKEN": server.token})
    assert json.loads(ok(r).strip())["name"] == name


def test_exit_code_1_when_the_server_refuses(server):
    name = unique("cli-refused")
    r = server.cli("models", "get", name)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip(), "the server's message belongs on stderr"
    assert "not found" in r.stderr.lower() or "NOT_FOUND" in r.stderr
    ok(server.cli("models", "create", name))
    r = server.cli("models", "create", name)
    assert r.returncode == 1 and r.stderr.strip()
    r = server.cli("stage", "set", name, "7", "Staging")
    assert r.returncode == 1 and r.stderr.strip()


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["models"],
    ["models", "frobnicate"],
    ["models", "get"],
    ["versions", "create", "cli-usage"],
    ["versions", "get", "cli-usage", "not-a-number"],
    ["versions", "create", "cli-usage", "--source", "s", "--metric", "auc"],
    ["--output", "xml", "models", "list"],
    ["stage", "set", "cli-usage", "1"],
    ["models", "list", "--no-such-flag"],
], ids=lambda a: " ".join(a) or "(nothing)")
def test_exit_code_2_on_usage_errors(server, api, args):
    seq = api.max_seq()
    r = server.cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip(), "a usage error says what is wrong"
    assert api.max_seq() == seq


def test_exit_code_2_for_a_malformed_server_url(server):
    r = server.cli("models", "list", server="not a url")
    assert r.returncode == 2, (r.stdout, r.stderr)


def test_exit_code_3_when_the_server_is_unreachable(server):
    closed = f"http://127.0.0.1:{free_port()}"
    r = server.cli("models", "list", server=closed)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stderr.strip()
    r = server.cli("models", "create", unique("x"), server=closed)
    assert r.returncode == 3


def test_help_exits_0(server):
    bin_ = str(require_binary())
    for args in (["--help"], ["models", "--help"], ["serve", "--help"]):
        r = run_cli([bin_, *args])
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.strip()
    serve_help = run_cli([bin_, "serve", "--help"]).stdout
    for flag in ("--data-dir", "--listen", "--workers", "--log-format", "--denial-window",
                 "--max-body-bytes"):
        assert flag in serve_help, f"`vouch serve --help` does not document {flag}"

"""Break glass and its follow-up through the `vouch` CLI (issue 12; docs/approvals.md "Break
glass"): someone on call breaks the glass with a reason and the version enters at once, flagged; an
admin who is not listed is refused; `gate check` says the version holds the target by break glass;
someone else who could have approved closes the follow-up, the one who broke the glass cannot;
leaving a target gated with `gate_removal` needs a request. Store-agnostic: everything goes through HTTP and the CLI.
"""
from __future__ import annotations

import json

import pytest

from vouch_testlib import Person, make_person, unique

POLICIES = """policies:
  - name: glass-production
    target: stage:Production
    match: {models: ["glass-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
    conditions: ["metrics.auc >= 0.9"]
    break_glass: [{group: GROUP}]
    gate_removal: true
  - name: glass-champion
    target: alias:champion
    match: {models: ["glass-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    gate_removal: true
"""


@pytest.fixture(scope="module")
def server_args():
    return ["--default-permission", "EDIT"]


@pytest.fixture(scope="module")
def people(api, server, tmp_path_factory) -> dict[str, Person]:
    group = unique("oncall")
    api.call("POST", "/api/v1/groups", json_body={"name": group}, expect=201)
    out = {}
    for name, role in [("dana", "data-scientist"), ("eli", "ml-engineer"), ("gus", "ml-engineer"),
                       ("sam", "")]:
        out[name] = make_person(api, name, role, f"{name.title()} Q.")
    api.call("PUT", "/api/v1/groups/{group}/members/{user}",
             path={"group": group, "user": out["sam"].name}, expect=204)
    path = tmp_path_factory.mktemp("policies") / "policies.yaml"
    path.write_text(POLICIES.replace("GROUP", group))
    r = server.cli("policy", "apply", "-f", str(path))
    assert r.returncode == 0, r.stderr
    return out


def cli(server, who: Person | None, *args: str, expect: int = 0):
    r = server.cli(*args, **({} if who is None else {"token": who.token}))
    assert r.returncode == expect, (args, r.returncode, r.stdout, r.stderr)
    return r


def cli_json(server, who: Person | None, *args: str, expect: int = 0):
    return json.loads(cli(server, who, *args, "-o", "json", expect=expect).stdout)


def glass_model(api) -> str:
    """A glass-* model whose version 1 does not meet the entry condition (auc 0.5)."""
    name = unique("glass")
    api.call("POST", "/api/v1/models", json_body={"name": name}, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name}, expect=201,
             json_body={"source": "s3://b/glass", "metrics": {"auc": 0.5}})
    return name


def stage_of(api, model: str, version: int = 1) -> str:
    return api.call("GET", "/api/v1/models/{name}/versions/{n}",
                    path={"name": model, "n": version}, expect=200).json()["stage"]


def events(api, model: str, action: str) -> list[dict]:
    return [e for e in api.events(model=model) if e["action"] == action]


def test_break_glass_applies_at_once_and_someone_else_closes_the_follow_up(server, api, people):
    dana, eli, sam = people["dana"], people["eli"], people["sam"]
    model = glass_model(api)
    # --break-glass needs --reason (a usage error), and the reason may not be blank.
    cli(server, sam, "requests", "create", model, "1", "--to", "stage:Production",
        "--break-glass", expect=2)
    blank = cli(server, sam, "requests", "create", model, "1", "--to", "stage:Production",
                "--break-glass", "--reason", "  ", expect=1)
    assert "INVALID_ARGUMENT" in blank.stderr
    # The admin is not named in break_glass: refused, and recorded as a denial.
    refused = cli(server, None, "requests", "create", model, "1", "--to", "stage:Production",
                  "--break-glass", "--reason", "I am admin", expect=1)
    assert "PERMISSION_DENIED" in refused.stderr and "glass-production" in refused.stderr
    assert stage_of(api, model) == "None"
    assert any("break glass" in e.get("reason", "") and model in e.get("reason", "")
               for e in api.events(action="access.denied"))

    req = cli_json(server, sam, "requests", "create", model, "1", "--to", "stage:Production",
                   "--break-glass", "--reason", "INC-42: fraud spike")
    rid = str(req["id"])
    assert req["state"] == "applied" and req["break_glass"] is True
    assert req["break_glass_reason"] == "INC-42: fraud spike" and req["followup"] == "open"
    assert stage_of(api, model) == "Production"
    gate = cli_json(server, dana, "gate", "check", model, "1", "--to", "stage:Production")
    assert gate["status"] == "holds" and gate["break_glass"] is True
    text = cli(server, dana, "gate", "check", model, "1", "--to", "stage:Production").stdout
    assert "by break glass" in text
    bypassed = events(api, model, "gate.bypassed")
    assert len(bypassed) == 1
    assert bypassed[0]["after"]["reason"] == "INC-42: fraud spike"
    assert bypassed[0]["after"]["request"] == req["id"]
    assert bypassed[0]["after"]["policy"] == "glass-production"

    followups = cli_json(server, eli, "requests", "list", "--followups", "--model", model)
    assert [r["id"] for r in followups] == [req["id"]]
    # The one who broke the glass cannot review it; someone no rule names cannot either.
    mine = cli(server, sam, "requests", "approve", rid, "--comment", "fine", expect=1)
    assert "someone else" in mine.stderr
    cli(server, dana, "requests", "approve", rid, "--comment", "fine", expect=1)
    closed = cli_json(server, eli, "requests", "approve", rid, "--comment", "incident checked")
    assert closed["state"] == "applied" and closed["followup"] == "closed"
    assert "followup_closed_timestamp" in closed
    assert stage_of(api, model) == "Production"
    done = events(api, model, "followup.closed")
    assert len(done) == 1 and done[0]["after"]["decision"] == "approve"
    assert done[0]["comment"] == "incident checked"
    assert cli_json(server, eli, "requests", "list", "--followups", "--model", model) == []
    cli(server, eli, "requests", "reject", rid, "--comment", "again", expect=1)


def test_gate_removal_refuses_a_demotion_until_a_removal_request_is_applied(server, api, people):
    dana, eli, gus, sam = people["dana"], people["eli"], people["gus"], people["sam"]
    model = glass_model(api)
    cli(server, sam, "requests", "create", model, "1", "--to", "stage:Production",
        "--break-glass", "--reason", "INC-43")
    refused = cli(server, dana, "stage", "set", model, "1", "Archived", expect=1)
    assert "PERMISSION_DENIED" in refused.stderr
    assert f"vouch requests create {model} 1 --leave stage:Production" in refused.stderr
    assert stage_of(api, model) == "Production"
    cli(server, dana, "requests", "create", model, "1", "--to", "stage:Production", "--leave",
        "stage:Production", expect=2)  # --to and --leave exclude each other
    leave = cli_json(server, dana, "requests", "create", model, "1", "--leave", "stage:Production",
                     "--comment", "auc dropped")
    assert leave["state"] == "open" and leave["target"] == "leave:stage:Production"
    # Two engineers, as for entering; the entry condition (auc >= 0.9) does not judge leaving.
    assert cli_json(server, eli, "requests", "approve", str(leave["id"]), "--comment", "agreed")[
        "state"] == "open"
    assert stage_of(api, model) == "Production"
    applied = cli_json(server, gus, "requests", "approve", str(leave["id"]), "--comment", "agreed")
    assert applied["state"] == "applied"
    assert stage_of(api, model) == "Archived"


def test_gate_removal_refuses_deleting_a_protected_alias_without_a_request(server, api, people):
    dana, eli = people["dana"], people["eli"]
    model = glass_model(api)
    rid = cli_json(server, dana, "requests", "create", model, "1", "--to", "alias:champion")["id"]
    cli(server, eli, "requests", "approve", str(rid), "--comment", "ok")
    refused = cli(server, None, "alias", "delete", model, "champion", expect=1)
    assert "PERMISSION_DENIED" in refused.stderr and "glass-champion" in refused.stderr
    leave = cli_json(server, dana, "requests", "create", model, "1", "--leave", "alias:champion")
    cli(server, eli, "requests", "approve", str(leave["id"]), "--comment", "ok")
    got = api.call("GET", "/api/v1/models/{name}/aliases/{alias}",
                   path={"name": model, "alias": "champion"}, expect=None)
    assert got.status_code in (400, 404), got.text
    assert events(api, model, "model_alias.deleted")

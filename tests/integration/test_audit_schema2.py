"""Audit schema 2 (issue 12; docs/approvals.md "Audit"): a move applied by a request carries its
`gate` in its own event and the version it archives says why in its `after`; every request, review
and check event is found by `audit log --model`, through the API and the CLI; `policy.applied`
records the diff `vouch policy diff` shows; and a data directory holding the old code's schema-1
events still reads (validated against docs/openapi.yaml) and verifies. Both stores.
"""
from __future__ import annotations

import json

import pytest

from vouch_testlib import unique, verify_data_dir

POLICY = """policies:
  - name: NAME
    target: stage:Production
    match: {models: ["GLOB"]}
    approvals:
      - {from: [{role: ml-engineer}], count: COUNT}
    checks: [ci/tests]
    archive_existing: true
"""


@pytest.fixture(scope="module")
def server_args():
    return ["--default-permission", "EDIT"]


def user(api, name: str, role: str) -> tuple[str, str]:
    username = unique(name)
    api.call("POST", "/api/v1/users", expect=201,
             json_body={"name": username, "kind": "user", "display_name": f"{name.title()} Q."})
    api.call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": role, "user": username},
             expect=204)
    token = api.call("POST", "/api/v1/tokens", json_body={"name": "t", "owner": username},
                     expect=201).json()["token"]
    return username, token


def cli(server, *args: str, token=None, expect: int = 0):
    r = server.cli(*args, **({} if token is None else {"token": token}))
    assert r.returncode == expect, (args, r.returncode, r.stdout, r.stderr)
    return r


def apply_policy(server, tmp_path, name: str, glob: str, count: int) -> None:
    path = tmp_path / f"{name}-{count}.yaml"
    path.write_text(POLICY.replace("NAME", name).replace("GLOB", glob)
                    .replace("COUNT", str(count)))
    cli(server, "policy", "apply", "-f", str(path))


def request(api, token: str, model: str, version: int) -> int:
    return api.call("POST", "/api/v1/requests", expect=201, token=token,
                    json_body={"model": model, "version": version,
                               "target": "stage:Production"}).json()["id"]


def test_a_request_applied_move_names_its_gate_and_every_event_is_found_by_model(
        server, api, tmp_path):
    policy, model = unique("prod"), unique("gated")
    apply_policy(server, tmp_path, policy, model, 1)
    _, dana = user(api, "dana", "data-scientist")
    eli, eli_token = user(api, "eli", "ml-engineer")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    for _ in range(2):
        api.call("POST", "/api/v1/models/{name}/versions", path={"name": model}, expect=201,
                 json_body={"source": "s3://b/m"})
    ids = {}
    for version in (1, 2):
        ids[version] = request(api, dana, model, version)
        cli(server, "checks", "post", model, str(version), "ci/tests", "success", token=dana)
        cli(server, "requests", "approve", str(ids[version]), "--comment", "fine",
            token=eli_token)
        assert api.call("GET", "/api/v1/requests/{id}", path={"id": ids[version]},
                        expect=200).json()["state"] == "applied"

    events = api.events(model=model)  # each validated against docs/openapi.yaml
    assert all(e["schema"] == 2 for e in events)
    moves = [e for e in events if e["action"] == "model_version.stage_changed"]
    assert [(e["target"]["version"], e["after"]) for e in moves] == [
        (1, {"stage": "Production"}),
        (1, {"stage": "Archived", "cause": "superseded", "by_version": 2}),
        (2, {"stage": "Production"})]
    applied = {e["target"]["request"]: e for e in events if e["action"] == "request.applied"}
    for version, move in ((1, moves[0]), (2, moves[2])):
        gate = applied[ids[version]]["after"]["gate"]
        assert move["gate"] == {**gate, "via": "request"}
        assert gate["policy"] == policy and gate["request"] == ids[version]
    assert "gate" not in moves[1]

    # Every request, review and check event names the model and version it is about.
    kinds = {e["action"] for e in events}
    assert {"request.opened", "request.reviewed", "request.approved", "request.applied",
            "check.posted"} <= kinds
    for e in events:
        if e["action"].startswith(("request.", "check.")):
            assert e["target"]["model"] == model and e["target"]["version"] in (1, 2), e
    for version in (1, 2):
        by_version = {e["action"] for e in api.events(model=model, version=version)}
        assert {"request.opened", "request.reviewed", "check.posted"} <= by_version
    reviewed = [e for e in events if e["action"] == "request.reviewed"]
    assert [(e["after"]["printed_name"], e["after"]["meaning"]) for e in reviewed] == [
        ("Eli Q.", "approved")] * 2
    # The CLI reads the same events.
    r = cli(server, "audit", "log", "--model", model, "-o", "json")
    assert [e["seq"] for e in json.loads(r.stdout)] == [e["seq"] for e in events]


def test_policy_applied_records_the_diff_policy_diff_shows(server, api, tmp_path):
    policy = unique("diffed")
    apply_policy(server, tmp_path, policy, unique("nomatch"), 1)
    apply_policy(server, tmp_path, policy, unique("nomatch"), 3)
    applied = [e for e in api.events(action="policy.applied") if e["target"]["policy"] == policy]
    assert [e["target"]["version"] for e in applied] == [1, 2]
    assert "diff" not in applied[0]["after"]
    recorded = applied[1]["after"]["diff"]
    assert [c["path"] for c in recorded] == ["/approvals/0/count", "/match/models/0"]
    assert (recorded[0]["before"], recorded[0]["after"]) == (1, 3)

    shown = api.call("GET", "/api/v1/policies/{policy}/diff", path={"policy": policy},
                     params={"from": 1, "to": 2}, expect=200).json()
    assert shown["changes"] == recorded
    assert (shown["from"]["version"], shown["to"]["version"]) == (1, 2)
    assert shown["to"]["digest"] == applied[1]["after"]["digest"]
    out = json.loads(cli(server, "policy", "diff", policy, "1", "2", "-o", "json").stdout)
    assert out == shown
    text = cli(server, "policy", "diff", policy, "1", "2").stdout
    assert "/approvals/0/count: 1 -> 3" in text
    assert "no change" in cli(server, "policy", "diff", policy, "2", "2").stdout

    for params, status, code in [({"from": 1, "to": 3}, 404, "NOT_FOUND"),
                                 ({"from": 0, "to": 2}, 400, "INVALID_ARGUMENT"),
                                 ({"from": 1}, 400, "INVALID_ARGUMENT"),
                                 ({"from": "x", "to": 2}, 400, "INVALID_ARGUMENT")]:
        r = api.call("GET", "/api/v1/policies/{policy}/diff", path={"policy": policy},
                     params=params, expect=status)
        assert r.json()["error"]["code"] == code, params
    api.call("GET", "/api/v1/policies/{policy}/diff", path={"policy": unique("absent")},
             params={"from": 1, "to": 2}, expect=404)
    cli(server, "policy", "diff", policy, "1", "9", expect=1)
    cli(server, "policy", "diff", policy, "0", "2", expect=2)


def test_a_data_directory_of_schema_one_events_still_reads_and_verifies(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    api.create_model(unique("new"))
    srv.terminate()
    # The bytes the schema-1 writer stored for a model.created (before issue 12).
    seq = int(srv.sql("SELECT MAX(seq) FROM audit_events")[0][0]) + 1
    old = unique("old")
    body = {"action": "model.created", "actor": {"auth": "token", "id": 1, "name": "admin"},
            "after": {"description": "", "name": old, "tags": {}}, "before": None, "comment": "",
            "outcome": "done", "request_id": "cd644737f72897d2034ab070", "schema": 1, "seq": seq,
            "source": {"address": "127.0.0.1", "door": "native", "user_agent": "old"},
            "target": {"model": old, "type": "model"}, "time": "2026-12-06T04:35:56.544Z",
            "time_ms": 1796531756544}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    srv.sql("INSERT INTO audit_events (seq, time_ms, actor_id, actor_name, action, model_id, "
            f"model_name, version, outcome, body) VALUES ({seq}, 1796531756544, 1, 'admin', "
            f"'model.created', 0, '{old}', 0, 'done', '{text}')")
    if srv.store_kind == "postgres":
        srv.sql(f"UPDATE audit_head SET next_seq = {seq + 1} WHERE id = 1")
    # The old writer kept no Merkle tree: its event is outside the stored tree until the next
    # start takes it in, as an upgrade past migration 15 does with a whole schema-1 log.
    before = verify_data_dir(srv.data_dir)
    assert len(before) == 1 and "not in the stored tree" in before[0], before
    srv.start()
    read = api.events(model=old)  # validated against docs/openapi.yaml's AuditEvent
    assert [(e["seq"], e["schema"]) for e in read] == [(seq, 1)]
    assert read[0] == body
    api.create_model(unique("after"))
    schemas = [e["schema"] for e in api.events()]
    assert set(schemas) == {1, 2} and schemas[-1] == 2
    r = srv.cli("audit", "log", "--model", old, "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [body]
    srv.terminate()
    assert verify_data_dir(srv.data_dir) == []

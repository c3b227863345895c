"""The audit query (issue 14): outcome, approval request id (the side index), newest first and
cursor paging in either order, through the route and `vouch audit log`; and the 65,535-byte event
limit: the field limits and the record limit refuse, in each door's shape, a change whose event
would not fit one tlog-tiles entry, and change nothing.

The module has its own server. Store-agnostic: everything goes through HTTP and the CLI.
"""
from __future__ import annotations

import json

import pytest
import requests

from vouch_testlib import make_person, unique

MLFLOW = "/api/2.0/mlflow"

POLICIES = """policies:
  - name: champion
    target: alias:champion
    match: {models: ["query-*"]}
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
"""


@pytest.fixture(scope="module")
def server_args():
    return ["--default-permission", "EDIT"]


@pytest.fixture(scope="module")
def scene(server, api, tmp_path_factory) -> dict:
    """A model of three versions, a request that an engineer approves (and so applies), a second
    request left open, and a refused change by a reader."""
    path = tmp_path_factory.mktemp("policies") / "policies.yaml"
    path.write_text(POLICIES)
    r = server.cli("policy", "apply", "-f", str(path))
    assert r.returncode == 0, r.stderr
    eli = make_person(api, "eli", "ml-engineer", "Eli Q.")
    model = unique("query")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    for _ in range(3):
        api.call("POST", "/api/v1/models/{name}/versions", path={"name": model}, expect=201,
                 json_body={"source": "s3://b/q"})
    rid = api.call("POST", "/api/v1/requests", expect=201,
                   json_body={"model": model, "version": 1, "target": "alias:champion",
                              "comment": "ship"}).json()["id"]
    other = api.call("POST", "/api/v1/requests", expect=201,
                     json_body={"model": model, "version": 2, "target": "alias:champion"}
                     ).json()["id"]
    api.call("POST", "/api/v1/requests/{id}/approve", path={"id": rid}, token=eli.token,
             json_body={"comment": "ok"}, expect=200)
    # A refused change, recorded as a denial on the model.
    reader = make_person(api, "rita", "", "Rita Q.")
    api.call("PUT", "/api/v1/models/{name}/permissions/users/{user}",
             path={"name": model, "user": reader.name}, json_body={"permission": "READ"},
             expect=200)
    r = requests.patch(f"{server.base}/api/v1/models/{model}", json={"description": "mine"},
                       headers={"Authorization": f"Bearer {reader.token}"}, timeout=30)
    assert r.status_code == 403, r.text
    return {"model": model, "rid": rid, "other": other, "reader": reader.name}


def seqs(events: list[dict]) -> list[int]:
    return [e["seq"] for e in events]


def names_request(event: dict, rid: int) -> bool:
    gate = event.get("gate") or (event.get("after") or {}).get("gate") or {}
    return rid in (event["target"].get("request"), gate.get("request"),
                   (event.get("after") or {}).get("request"))


def test_the_request_filter_finds_every_event_of_a_request_and_only_those(api, scene):
    rid = scene["rid"]
    events = api.events(request=rid)
    actions = [e["action"] for e in events]
    assert actions[0] == "request.opened", actions
    assert "request.applied" in actions and "model_alias.set" in actions, actions
    assert all(names_request(e, rid) for e in events), events
    # The gated move the request let in carries it in its gate.
    moved = [e for e in events if e["action"] == "model_alias.set"]
    assert moved[0]["gate"]["request"] == rid
    other = api.events(request=scene["other"])
    assert [e["action"] for e in other] == ["request.opened"] or all(
        names_request(e, scene["other"]) for e in other), other
    assert not set(seqs(events)) & {e["seq"] for e in other if e["action"] == "request.opened"}
    assert api.events(request=999_999) == []


def test_the_outcome_filter_separates_denials(api, scene):
    denied = api.events(model=scene["model"], outcome="denied")
    assert denied and all(e["outcome"] == "denied" for e in denied), denied
    assert scene["reader"] in [e["actor"]["name"] for e in denied]
    done = api.events(model=scene["model"], outcome="done")
    assert all(e["outcome"] == "done" for e in done)
    everything = api.events(model=scene["model"])
    assert sorted(seqs(denied) + seqs(done)) == seqs(everything)


def test_newest_first_pages_back_through_the_log_and_a_token_keeps_its_order(api, scene):
    oldest_first = seqs(api.events(model=scene["model"]))
    newest_first, token, pages = [], None, 0
    while True:
        params = {"model": scene["model"], "order": "desc", "limit": 2}
        if token:
            params["page_token"] = token
        body = api.call("GET", "/api/v1/audit", params=params, expect=200).json()
        newest_first += seqs(body["events"])
        token = body.get("next_page_token")
        pages += 1
        if pages == 1:
            # A newest-first token does not page oldest first.
            r = api.call("GET", "/api/v1/audit", expect=400,
                         params={"model": scene["model"], "page_token": token})
            assert r.json()["error"]["code"] == "INVALID_ARGUMENT"
        if not token:
            break
    assert newest_first == list(reversed(oldest_first))
    assert pages == (len(oldest_first) + 1) // 2
    desc_request = seqs(api.events(request=scene["rid"], order="desc"))
    assert desc_request == sorted(desc_request, reverse=True)


@pytest.mark.parametrize("params", [{"outcome": "failed"}, {"order": "newest"},
                                    {"request": "0"}, {"request": "x"}], ids=repr)
def test_bad_query_parameters_are_400(api, params):
    r = api.call("GET", "/api/v1/audit", params=params, expect=400)
    assert r.json()["error"]["code"] == "INVALID_ARGUMENT"


def test_cli_audit_log_filters_by_outcome_and_request_newest_first(server, api, scene):
    def cli_events(*args: str) -> list[dict]:
        r = server.cli("audit", "log", *args, "--output", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    rid = str(scene["rid"])
    assert seqs(cli_events("--request", rid)) == seqs(api.events(request=scene["rid"]))
    newest = cli_events("--request", rid, "--newest-first", "--limit", "2")
    assert seqs(newest) == list(reversed(seqs(api.events(request=scene["rid"]))))[:2]
    denied = cli_events("--model", scene["model"], "--outcome", "denied")
    assert denied and all(e["outcome"] == "denied" for e in denied)
    # Every event of the log, newest first, across the CLI's pages.
    assert seqs(cli_events("--newest-first")) == list(reversed(seqs(api.events())))
    bad = server.cli("audit", "log", "--outcome", "maybe")
    assert bad.returncode == 2, (bad.returncode, bad.stderr)


# ---- The event limit -------------------------------------------------------------------------

def test_a_description_over_5000_characters_is_refused_by_both_doors(server, api):
    name = unique("limits")
    head = api.max_seq()
    r = api.call("POST", "/api/v1/models", json_body={"name": name, "description": "d" * 5001},
                 expect=400)
    assert r.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert "description" in r.json()["error"]["message"]
    r = api.raw("POST", MLFLOW + "/registered-models/create",
                json_body={"name": name, "description": "d" * 5001})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert api.max_seq() == head
    api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=404)
    api.call("POST", "/api/v1/models", json_body={"name": name, "description": "d" * 5000},
             expect=201)
    # Control characters are text, as MLflow takes them: accepted; the record's limit counts
    # their escaped bytes (the 32 KiB test below).
    other = unique("limits")
    r = api.raw("POST", MLFLOW + "/registered-models/create",
                json_body={"name": other, "tags": [{"key": "k", "value": "bell\x07"}]})
    assert r.status_code == 200, r.text
    assert r.json()["registered_model"]["tags"] == [{"key": "k", "value": "bell\x07"}]


def test_a_version_whose_record_would_pass_32_kib_is_refused_and_changes_nothing(api):
    name = unique("limits")
    api.call("POST", "/api/v1/models", json_body={"name": name}, expect=201)
    params = {f"p{i}": "v" * 6000 for i in range(6)}  # 36,000 bytes of values
    head = api.max_seq()
    r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": name}, expect=400,
                 json_body={"source": "s3://b/x", "params": params})
    err = r.json()["error"]
    assert err["code"] == "INVALID_ARGUMENT"
    assert f"version 1 of model '{name}'" in err["message"]
    assert "over the limit of 32768 bytes" in err["message"]
    r = api.raw("POST", MLFLOW + "/model-versions/create",
                json_body={"name": name, "source": "s3://b/x",
                           "tags": [{"key": f"t{i}", "value": "v" * 5000} for i in range(7)]})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    assert "over the limit of 32768 bytes" in r.json()["message"]
    assert api.max_seq() == head
    assert api.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                    expect=200).json()["versions"] == []
    # Grown one tag at a time, the version is refused at the tag that would pass the limit.
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name}, expect=201,
             json_body={"source": "s3://b/x"})
    refused = None
    for i in range(10):
        r = api.call("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}",
                     path={"name": name, "n": 1, "key": f"t{i}"}, json_body={"value": "v" * 5000},
                     expect=None)
        if r.status_code != 200:
            refused = i
            assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_ARGUMENT", r.text
            break
    assert refused == 6, refused
    tags = api.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1},
                    expect=200).json()["tags"]
    assert sorted(tags) == [f"t{i}" for i in range(6)]
    # Deleting the largest version there can be is recorded whole.
    api.call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1},
             expect=204)
    deleted = api.events(model=name, action="model_version.deleted")
    assert len(deleted) == 1 and len(json.dumps(deleted[0])) < 65_535

"""Comments on versions through the `vouch` CLI and the native API (issue 12): anyone who reads the
model comments, the author changes the text, the author or MANAGE deletes, each change audited.
The same comments MLflow's comments/* routes make (tests/compat/mlflow/test_mlflow_transition_requests.py).
Store-agnostic: everything goes through HTTP and the CLI."""
from __future__ import annotations

import json

import pytest

from vouch_testlib import unique


@pytest.fixture(scope="module")
def server_args():
    return ["--default-permission", "READ"]


def person(api, prefix: str) -> tuple[str, str]:
    name = unique(prefix)
    api.call("POST", "/api/v1/users", expect=201, json_body={"name": name, "kind": "user"})
    token = api.call("POST", "/api/v1/tokens", json_body={"name": "t", "owner": name},
                     expect=201).json()["token"]
    return name, token


def cli(server, token: str, *args: str, expect: int = 0):
    r = server.cli(*args, token=token)
    assert r.returncode == expect, (args, r.returncode, r.stdout, r.stderr)
    return r


def test_a_reader_comments_the_author_edits_and_a_manager_deletes(api, server):
    model = unique("cm")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model}, expect=201,
             json_body={"source": "s3://b/cm"})
    ann, ann_token = person(api, "ann")
    bob, bob_token = person(api, "bob")
    made = json.loads(cli(server, ann_token, "comments", "add", model, "1", "bias scan first",
                          "-o", "json").stdout)
    assert (made["author"], made["text"], made["version"]) == (ann, "bias scan first", 1)
    cid = str(made["id"])
    # Only the author changes the text; a reader without MANAGE cannot delete it.
    assert "only the author" in cli(server, bob_token, "comments", "edit", cid, "mine",
                                    expect=1).stderr
    cli(server, bob_token, "comments", "delete", cid, expect=1)
    edited = json.loads(cli(server, ann_token, "comments", "edit", cid, "bias scan done",
                            "-o", "json").stdout)
    assert edited["text"] == "bias scan done"
    listed = json.loads(cli(server, bob_token, "comments", "list", model, "1", "-o", "json").stdout)
    assert [c["text"] for c in listed] == ["bias scan done"]
    # The admin manages every model.
    cli(server, server.token, "comments", "delete", cid)
    assert json.loads(cli(server, bob_token, "comments", "list", model, "1", "-o",
                          "json").stdout) == []
    cli(server, ann_token, "comments", "edit", cid, "back", expect=1)
    cli(server, ann_token, "comments", "edit", "x", "back", expect=2)
    events = api.call("GET", "/api/v1/audit", params={"model": model, "limit": 1000},
                      expect=200).json()["events"]
    comments = [(e["action"], e["actor"]["name"]) for e in events
                if e["action"].startswith("comment.")]
    assert comments == [("comment.created", ann), ("comment.updated", ann),
                        ("comment.deleted", "admin")]


def test_bad_comment_bodies_are_400s_and_change_nothing(api):
    model = unique("cm")
    api.call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model}, expect=201,
             json_body={"source": "s3://b/cm"})
    v1 = {"name": model, "n": 1}
    for body in ({}, {"text": ""}, {"text": 5}, {"text": "x" * 5001}, {"text": "x", "extra": 1}):
        api.call("POST", "/api/v1/models/{name}/versions/{n}/comments", path=v1, json_body=body,
                 expect=400, code="INVALID_ARGUMENT")
    api.call("POST", "/api/v1/models/{name}/versions/{n}/comments", path={"name": model, "n": 2},
             json_body={"text": "x"}, expect=404, code="NOT_FOUND")
    assert api.call("GET", "/api/v1/models/{name}/versions/{n}/comments", path=v1,
                    expect=200).json()["comments"] == []

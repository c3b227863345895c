"""Every route of docs/api.md on its happy path, each response validated against docs/openapi.yaml."""

from __future__ import annotations

import pytest
import requests

from vouch_testlib import Api, now_ms, unique, wait_until
from webhook_receiver import Receiver, Reply

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def server_args() -> list[str]:
    # deliveries_happy_path: a loopback receiver, and a failed delivery is dead at once.
    return ["--webhook-allow-private", "--webhook-max-attempts", "1"]


class Recorder:
    """Wraps Api.call and remembers which documented operations answered with success."""

    def __init__(self, api: Api):
        self.api = api
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, method, template, **kw) -> requests.Response:
        r = self.api.call(method, template, **kw)
        if 200 <= r.status_code < 300:
            self.seen.add((method, template))
        return r


def test_every_route_happy_path_matches_openapi(api, spec):
    call = Recorder(api)
    t0 = now_ms()

    # Probes: no token.
    assert call("GET", "/health", token=None, expect=200).json() == {"status": "ok"}
    assert call("GET", "/ready", token=None, expect=200).json() == {"status": "ready"}

    metrics = call("GET", "/metrics", expect=200).text
    assert "# TYPE vouch_store_writes_total counter" in metrics
    assert any(line.startswith("vouch_store_writes_total ") for line in metrics.splitlines())

    me = call("GET", "/api/v1/whoami", expect=200).json()
    assert me["name"] == "admin" and me["is_admin"] is True
    assert me["kind"] == "user" and me["auth"] == "token"

    name = unique("route")
    model = call("POST", "/api/v1/models", expect=201,
                 json_body={"name": name, "description": "first", "tags": {"team": "risk"}}).json()
    assert model["name"] == name and model["description"] == "first"
    assert model["tags"] == {"team": "risk"} and model["created_by"] == "admin"
    assert "latest_version" not in model
    assert t0 - 5000 <= model["creation_timestamp"] <= now_ms() + 5000
    assert model["last_updated_timestamp"] >= model["creation_timestamp"]

    listed = call("GET", "/api/v1/models", params={"limit": 1000}, expect=200).json()
    assert name in [m["name"] for m in listed["models"]]
    got = call("GET", "/api/v1/models/{name}", path={"name": name}, expect=200).json()
    assert got == model

    upd = call("PATCH", "/api/v1/models/{name}", path={"name": name},
               json_body={"description": "second"}, expect=200).json()
    assert upd["description"] == "second"
    assert upd["creation_timestamp"] == model["creation_timestamp"]
    assert upd["last_updated_timestamp"] >= model["last_updated_timestamp"]

    tagged = call("PUT", "/api/v1/models/{name}/tags/{key}", path={"name": name, "key": "env"},
                  json_body={"value": "prod"}, expect=200).json()
    assert tagged["tags"] == {"team": "risk", "env": "prod"}
    untagged = call("DELETE", "/api/v1/models/{name}/tags/{key}",
                    path={"name": name, "key": "env"}, expect=200).json()
    assert untagged["tags"] == {"team": "risk"}

    body = {"source": "s3://bucket/model.tar.gz", "run_id": "abc123", "model_id": "m-42",
            "description": "v1", "tags": {"commit": "1a2b3c"}, "metrics": {"auc": 0.93},
            "params": {"lr": "0.1"}, "artifact_digest": DIGEST}
    v1 = call("POST", "/api/v1/models/{name}/versions", path={"name": name}, json_body=body,
              expect=201).json()
    for k, v in body.items():
        assert v1[k] == v, k
    assert v1["model"] == name and v1["version"] == 1
    assert v1["status"] == "READY" and v1["stage"] == "None" and v1["aliases"] == []
    assert v1["created_by"] == "admin"

    assert call("GET", "/api/v1/models/{name}", path={"name": name},
                expect=200).json()["latest_version"] == 1

    vl = call("GET", "/api/v1/models/{name}/versions", path={"name": name}, expect=200).json()
    assert [v["version"] for v in vl["versions"]] == [1] and "next_page_token" not in vl
    assert call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1},
                expect=200).json() == v1

    vpath = {"name": name, "n": 1}
    vu = call("PATCH", "/api/v1/models/{name}/versions/{n}", path=vpath,
              json_body={"description": "v1 again"}, expect=200).json()
    assert vu["description"] == "v1 again"

    vt = call("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", path={**vpath, "key": "k"},
              json_body={"value": "v"}, expect=200).json()
    assert vt["tags"] == {"commit": "1a2b3c", "k": "v"}
    vt = call("DELETE", "/api/v1/models/{name}/versions/{n}/tags/{key}",
              path={**vpath, "key": "k"}, expect=200).json()
    assert vt["tags"] == {"commit": "1a2b3c"}

    vm = call("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
              path={**vpath, "key": "f1"}, json_body={"value": -1.5e-3}, expect=200).json()
    assert vm["metrics"] == {"auc": 0.93, "f1": -1.5e-3}
    vm = call("DELETE", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
              path={**vpath, "key": "f1"}, expect=200).json()
    assert vm["metrics"] == {"auc": 0.93}

    vp = call("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}",
              path={**vpath, "key": "depth"}, json_body={"value": "7"}, expect=200).json()
    assert vp["params"] == {"lr": "0.1", "depth": "7"}
    vp = call("DELETE", "/api/v1/models/{name}/versions/{n}/params/{key}",
              path={**vpath, "key": "depth"}, expect=200).json()
    assert vp["params"] == {"lr": "0.1"}

    st = call("POST", "/api/v1/models/{name}/versions/{n}/stage", path=vpath,
              json_body={"stage": "staging", "comment": "ready for QA"}, expect=200).json()
    assert st["stage"] == "Staging"

    apath = {"name": name, "alias": "champion"}
    al = call("PUT", "/api/v1/models/{name}/aliases/{alias}", path=apath,
              json_body={"version": 1, "comment": "best so far"}, expect=200).json()
    assert al["version"] == 1 and al["aliases"] == ["champion"]
    assert call("GET", "/api/v1/models/{name}/aliases/{alias}", path=apath,
                expect=200).json()["version"] == 1
    call("DELETE", "/api/v1/models/{name}/aliases/{alias}", path=apath, expect=204)
    call("GET", "/api/v1/models/{name}/aliases/{alias}", path=apath, expect=400,
         code="INVALID_ARGUMENT")

    ev = call("GET", "/api/v1/audit", params={"model": name}, expect=200).json()
    assert ev["events"] and all(e["target"]["model"] == name for e in ev["events"])

    v2 = call("POST", "/api/v1/models/{name}/versions", path={"name": name},
              json_body={"source": "s3://b/2"}, expect=201).json()
    assert v2["version"] == 2
    call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 2}, expect=204)
    call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 2}, expect=404,
         code="NOT_FOUND")

    new_name = unique("renamed")
    rn = call("POST", "/api/v1/models/{name}/rename", path={"name": name},
              json_body={"new_name": new_name}, expect=200).json()
    assert rn["name"] == new_name and rn["creation_timestamp"] == model["creation_timestamp"]
    call("GET", "/api/v1/models/{name}", path={"name": name}, expect=404, code="NOT_FOUND")
    moved = call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": new_name, "n": 1},
                 expect=200).json()
    assert moved["model"] == new_name and moved["source"] == body["source"]

    call("DELETE", "/api/v1/models/{name}", path={"name": new_name}, expect=204)
    call("GET", "/api/v1/models/{name}", path={"name": new_name}, expect=404, code="NOT_FOUND")

    deliveries_happy_path(call)

    identity_happy_path(call)
    approvals_happy_path(call)
    webhooks_happy_path(call)
    checkpoints_happy_path(call)
    audit_proofs_happy_path(call)

    missing = set(spec.operations()) - call.seen
    assert not missing, f"operations never exercised on their happy path: {sorted(missing)}"


def identity_happy_path(call: Recorder) -> None:
    """Users, tokens, groups, roles and model permissions, each route once on its happy path."""
    t0 = now_ms()
    uname = unique("user")
    user = call("POST", "/api/v1/users", expect=201, json_body={
        "name": uname, "kind": "user", "display_name": "Ann Example", "email": "ann@example.com",
        "password": "first password"}).json()
    assert user["name"] == uname and user["kind"] == "user" and user["is_admin"] is False
    assert user["display_name"] == "Ann Example" and user["email"] == "ann@example.com"
    assert user["disabled"] is False and t0 - 5000 <= user["creation_timestamp"] <= now_ms() + 5000
    assert "roles" not in user and "password" not in user
    listed = call("GET", "/api/v1/users", expect=200).json()["users"]
    assert [u for u in listed if u["name"] == uname] == [user]
    assert [u["name"] for u in listed] == sorted(u["name"] for u in listed)
    got = call("GET", "/api/v1/users/{name}", path={"name": uname}, expect=200).json()
    assert got == {**user, "roles": [], "groups": []}
    upd = call("PATCH", "/api/v1/users/{name}", path={"name": uname},
               json_body={"display_name": "Ann B. Example"}, expect=200).json()
    assert upd == {**user, "display_name": "Ann B. Example"}
    call("PUT", "/api/v1/users/{name}/password", path={"name": uname},
         json_body={"password": "second password"}, expect=204)

    issued = call("POST", "/api/v1/tokens", expect=201, json_body={
        "name": "ci on build-7", "owner": uname, "scope": "read", "expires_in": "30d"}).json()
    assert issued["owner"] == uname and issued["scope"] == "read"
    assert issued["token"].startswith("vch_") and issued["name"] == "ci on build-7"
    assert 29 * 86_400_000 < issued["expiration_timestamp"] - issued["creation_timestamp"] \
        <= 30 * 86_400_000
    me = call("GET", "/api/v1/whoami", token=issued["token"], expect=200).json()
    assert me["name"] == uname and me["token_scope"] == "read"
    tokens = call("GET", "/api/v1/tokens", params={"owner": uname}, expect=200).json()["tokens"]
    assert [t["id"] for t in tokens] == [issued["id"]]
    assert "token" not in tokens[0] and tokens[0]["last_used_timestamp"] >= t0
    call("DELETE", "/api/v1/tokens/{id}", path={"id": issued["id"]}, expect=204)
    revoked = call("GET", "/api/v1/tokens", params={"owner": uname}, expect=200).json()["tokens"]
    assert revoked[0]["revocation_timestamp"] >= t0

    gname = unique("group")
    group = call("POST", "/api/v1/groups", json_body={"name": gname, "description": "ML"},
                 expect=201).json()
    assert group["name"] == gname and group["description"] == "ML"
    assert gname in [g["name"] for g in call("GET", "/api/v1/groups", expect=200).json()["groups"]]
    gpath = {"group": gname, "user": uname}
    call("PUT", "/api/v1/groups/{group}/members/{user}", path=gpath, expect=204)
    call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": "ml-engineer", "user": uname},
         expect=204)
    call("PUT", "/api/v1/roles/{role}/groups/{group}", path={"role": "auditor", "group": gname},
         expect=204)
    detail = call("GET", "/api/v1/groups/{group}", path={"group": gname}, expect=200).json()
    assert detail == {**group, "members": [uname], "roles": ["auditor"]}
    got = call("GET", "/api/v1/users/{name}", path={"name": uname}, expect=200).json()
    assert got["roles"] == ["auditor", "ml-engineer"] and got["groups"] == [gname]
    grants = call("GET", "/api/v1/roles", expect=200).json()["roles"]
    assert {"role": "ml-engineer", "grantee_kind": "user", "grantee": uname} in grants
    assert {"role": "auditor", "grantee_kind": "group", "grantee": gname} in grants
    assert {"role": "admin", "grantee_kind": "user", "grantee": "admin"} in grants
    call("DELETE", "/api/v1/roles/{role}/users/{user}",
         path={"role": "ml-engineer", "user": uname}, expect=204)
    call("DELETE", "/api/v1/roles/{role}/groups/{group}", path={"role": "auditor", "group": gname},
         expect=204)

    model = unique("perm")
    call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    mpath = {"name": model, "user": uname}
    p = call("PUT", "/api/v1/models/{name}/permissions/users/{user}", path=mpath,
             json_body={"permission": "edit"}, expect=200).json()
    assert p == {"model": model, "grantee_kind": "user", "grantee": uname, "permission": "EDIT"}
    g = call("PUT", "/api/v1/models/{name}/permissions/groups/{group}",
             path={"name": model, "group": gname}, json_body={"permission": "MANAGE"},
             expect=200).json()
    assert g["grantee_kind"] == "group" and g["permission"] == "MANAGE"
    perms = call("GET", "/api/v1/models/{name}/permissions", path={"name": model},
                 expect=200).json()["permissions"]
    assert p in perms and g in perms
    mine = call("GET", "/api/v1/models/{name}/permissions/me", path={"name": model},
                expect=200).json()
    assert mine == {"model": model, "user": "admin", "permission": "MANAGE"}
    call("DELETE", "/api/v1/models/{name}/permissions/users/{user}", path=mpath, expect=204)
    call("DELETE", "/api/v1/models/{name}/permissions/groups/{group}",
         path={"name": model, "group": gname}, expect=204)

    call("DELETE", "/api/v1/groups/{group}/members/{user}", path=gpath, expect=204)
    call("DELETE", "/api/v1/groups/{group}", path={"group": gname}, expect=204)
    call("GET", "/api/v1/groups/{group}", path={"group": gname}, expect=404, code="NOT_FOUND")
    call("DELETE", "/api/v1/users/{name}", path={"name": uname}, expect=204)
    call("GET", "/api/v1/users/{name}", path={"name": uname}, expect=404, code="NOT_FOUND")


def test_models_list_is_ordered_by_name_and_paged(api):
    prefix = unique("page")
    names = [f"{prefix}-{c}" for c in "dbeac"]
    for n in names:
        api.create_model(n)
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if token:
            params["page_token"] = token
        body = api.call("GET", "/api/v1/models", params=params, expect=200).json()
        assert len(body["models"]) <= 2
        seen += [m["name"] for m in body["models"]]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            break
    ours = [n for n in seen if n.startswith(prefix)]
    assert ours == sorted(names)
    assert seen == sorted(seen), "models are not ordered by name"
    assert len(seen) == len(set(seen)), "a model appeared on two pages"
    assert pages >= 3


def test_versions_list_ascending_and_no_token_on_exactly_full_last_page(api):
    name = unique("vpage")
    api.create_model(name)
    for _ in range(5):
        api.create_version(name)
    first = api.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                     params={"limit": 3}, expect=200).json()
    assert [v["version"] for v in first["versions"]] == [1, 2, 3]
    assert first.get("next_page_token")
    second = api.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                      params={"limit": 3, "page_token": first["next_page_token"]},
                      expect=200).json()
    assert [v["version"] for v in second["versions"]] == [4, 5]
    assert "next_page_token" not in second
    exact = api.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                     params={"limit": 5}, expect=200).json()
    assert [v["version"] for v in exact["versions"]] == [1, 2, 3, 4, 5]
    assert "next_page_token" not in exact, "next_page_token given although there is no next page"
    default = api.call("GET", "/api/v1/models/{name}/versions", path={"name": name},
                       expect=200).json()
    assert len(default["versions"]) == 5


def test_audit_list_is_paged_in_ascending_seq(api):
    name = unique("apage")
    api.create_model(name)
    for i in range(4):
        api.call("PATCH", "/api/v1/models/{name}", path={"name": name},
                 json_body={"description": f"d{i}"}, expect=200)
    seqs, token = [], None
    while True:
        params = {"model": name, "limit": 2}
        if token:
            params["page_token"] = token
        body = api.call("GET", "/api/v1/audit", params=params, expect=200).json()
        assert len(body["events"]) <= 2
        seqs += [e["seq"] for e in body["events"]]
        token = body.get("next_page_token")
        if not token:
            break
    assert len(seqs) == 5 and seqs == sorted(seqs) and len(set(seqs)) == 5


def test_metric_values_round_trip_as_numbers(api):
    name = unique("metrics")
    api.create_model(name)
    metrics = {"zero": 0, "one": 1, "neg": -2.5, "tiny": 1e-300, "huge": 1.7e308, "pi": 3.141592653589793}
    v = api.create_version(name, metrics=metrics)
    assert v["metrics"] == metrics
    got = api.get_version(name, v["version"]).json()
    assert got["metrics"] == metrics


def test_alias_moves_between_versions(api):
    name = unique("alias")
    api.create_model(name)
    api.create_version(name)
    api.create_version(name)
    apath = {"name": name, "alias": "champion"}
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path=apath,
             json_body={"version": 1}, expect=200)
    moved = api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path=apath,
                     json_body={"version": 2}, expect=200).json()
    assert moved["version"] == 2 and moved["aliases"] == ["champion"]
    assert api.get_version(name, 1).json()["aliases"] == []
    assert api.call("GET", "/api/v1/models/{name}/aliases/{alias}", path=apath,
                    expect=200).json()["version"] == 2


def test_deleting_a_version_removes_its_aliases(api):
    name = unique("alias-del")
    api.create_model(name)
    api.create_version(name)
    apath = {"name": name, "alias": "champion"}
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path=apath,
             json_body={"version": 1}, expect=200)
    api.call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1},
             expect=204)
    api.call("GET", "/api/v1/models/{name}/aliases/{alias}", path=apath, expect=400,
             code="INVALID_ARGUMENT")


def test_versions_of_a_deleted_model_are_gone(api):
    name = unique("gone")
    api.create_model(name)
    api.create_version(name)
    api.call("DELETE", "/api/v1/models/{name}", path={"name": name}, expect=204)
    api.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1},
             expect=404, code="NOT_FOUND")
    api.call("GET", "/api/v1/models/{name}/versions", path={"name": name}, expect=404,
             code="NOT_FOUND")
    assert name not in [m["name"] for m in api.list_models()]


def approvals_happy_path(call: Recorder) -> None:
    """Policies, requests and their reviews, checks and the gate, each route once on its happy
    path. The policies gate only models of a fresh name prefix, so nothing else here is gated."""
    me = call("GET", "/api/v1/whoami", expect=200).json()["name"]
    prefix, pname, manual = unique("rq"), unique("pol"), unique("pman")
    yaml = f"""policies:
  - name: {pname}
    target: stage:Production
    match: {{models: ["{prefix}-*"]}}
    approvals:
      - {{from: [{{role: route-approver}}], count: 1}}
    separation_of_duties: {{requester: false, author: false}}
    checks: [ci/tests]
  - name: {manual}
    target: alias:champion
    match: {{models: ["{prefix}-*"]}}
    approvals:
      - {{from: [{{role: route-approver}}], count: 1}}
    separation_of_duties: {{requester: false, author: false}}
    on_approval: manual
"""
    applied = call("POST", "/api/v1/policies", json_body={"yaml": yaml}, expect=200).json()
    assert [p["change"] for p in applied["policies"]] == ["created", "created"]
    again = call("POST", "/api/v1/policies", data=yaml.encode(), expect=200,
                 headers={"Content-Type": "application/yaml"}).json()
    assert [p["change"] for p in again["policies"]] == ["unchanged", "unchanged"]
    listed = call("GET", "/api/v1/policies", expect=200).json()
    assert listed["gated"] is True and pname in [p["name"] for p in listed["policies"]]
    got = call("GET", "/api/v1/policies/{policy}", path={"policy": pname}, expect=200).json()
    assert got["version"] == 1 and got["policy"]["name"] == pname and got["yaml"] == yaml
    history = call("GET", "/api/v1/policies/{policy}/versions", path={"policy": pname},
                   expect=200).json()
    assert [v["version"] for v in history["versions"]] == [1]
    assert call("GET", "/api/v1/policies/{policy}/versions/{n}", path={"policy": pname, "n": 1},
                expect=200).json()["digest"] == got["digest"]

    model = f"{prefix}-m"
    call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
    for _ in range(2):
        call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://b/m"}, expect=201)
    call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": "route-approver", "user": me},
         expect=204)
    v1 = {"name": model, "n": 1}
    tested = call("POST", "/api/v1/policy-test", expect=200, json_body={
        "yaml": yaml, "model": model, "version": 1, "target": "stage:Production"}).json()
    assert tested["gated"] is True and tested["evaluation"]["outcome"] == "pending"
    gate = call("GET", "/api/v1/models/{name}/versions/{n}/gate", path=v1,
                params={"to": "stage:Production"}, expect=200).json()
    assert gate["status"] == "no_request" and gate["policy"] == pname

    req = call("POST", "/api/v1/requests", expect=201, json_body={
        "model": model, "version": 1, "target": "stage:Production", "comment": "ship"}).json()
    assert req["state"] == "open" and req["requester"] == me and req["policy"] == pname
    assert [r["id"] for r in call("GET", "/api/v1/requests", params={"model": model},
                                  expect=200).json()["requests"]] == [req["id"]]
    call("POST", "/api/v1/models/{name}/versions/{n}/checks", path=v1, expect=200,
         json_body={"name": "ci/tests", "state": "failure", "url": "https://ci/1"})
    ap = call("POST", "/api/v1/requests/{id}/approve", path={"id": req["id"]}, expect=200,
              json_body={"comment": "ok", "meaning": "approved"}).json()
    assert ap["state"] == "open"
    call("POST", "/api/v1/models/{name}/versions/{n}/checks", path=v1, expect=200,
         json_body={"name": "ci/tests", "state": "success"})
    # The long poll answers at once for a request no longer in the state the client saw.
    waited = call("GET", "/api/v1/requests/{id}/wait", path={"id": req["id"]}, expect=200,
                  params={"state": "open", "timeout": 1}).json()
    assert waited["state"] == "applied"
    shown = call("GET", "/api/v1/requests/{id}", path={"id": req["id"]}, expect=200).json()
    assert shown["state"] == "applied" and shown["reviews"][0]["printed_name"]
    checks = call("GET", "/api/v1/models/{name}/versions/{n}/checks", path=v1,
                  expect=200).json()["checks"]
    assert [(c["name"], c["state"]) for c in checks] == [("ci/tests", "success")]

    # A manual policy: approved, then applied on request.
    alias = call("POST", "/api/v1/requests", expect=201, json_body={
        "model": model, "version": 1, "target": "alias:champion"}).json()
    assert call("POST", "/api/v1/requests/{id}/approve", path={"id": alias["id"]}, expect=200,
                json_body={}).json()["state"] == "approved"
    assert call("POST", "/api/v1/requests/{id}/apply", path={"id": alias["id"]},
                expect=200).json()["state"] == "applied"

    # Rejected, then asked again and cancelled.
    v2 = {"model": model, "version": 2, "target": "stage:Production"}
    rej = call("POST", "/api/v1/requests", json_body=v2, expect=201).json()
    assert call("POST", "/api/v1/requests/{id}/reject", path={"id": rej["id"]}, expect=200,
                json_body={"comment": "no"}).json()["state"] == "rejected"
    again = call("POST", "/api/v1/requests", json_body=v2, expect=201).json()
    assert call("POST", "/api/v1/requests/{id}/cancel", path={"id": again["id"]}, expect=200,
                json_body={"comment": "later"}).json()["state"] == "cancelled"

    # A second version of the policy, and the diff between the two.
    call("POST", "/api/v1/policies", expect=200,
         json_body={"yaml": yaml.replace("checks: [ci/tests]", "checks: [ci/tests, bias-scan]")})
    diff = call("GET", "/api/v1/policies/{policy}/diff", path={"policy": pname}, expect=200,
                params={"from": 1, "to": 2}).json()
    assert diff["changes"] and all(c["path"].startswith("/") for c in diff["changes"])

    for name in (pname, manual):
        assert call("POST", "/api/v1/policies/{policy}/retire", path={"policy": name},
                    expect=200).json()["retired"] is True

    # Comments on a version (the ones MLflow's comments/* routes make).
    made = call("POST", "/api/v1/models/{name}/versions/{n}/comments", path=v1, expect=201,
                json_body={"text": "bias scan first"}).json()
    assert (made["model"], made["version"], made["author"]) == (model, 1, me)
    changed = call("PATCH", "/api/v1/comments/{id}", path={"id": made["id"]}, expect=200,
                   json_body={"text": "bias scan done"}).json()
    assert changed["text"] == "bias scan done"
    assert changed["last_updated_timestamp"] >= made["creation_timestamp"]
    comments = call("GET", "/api/v1/models/{name}/versions/{n}/comments", path=v1,
                    expect=200).json()["comments"]
    assert comments == [changed]
    call("DELETE", "/api/v1/comments/{id}", path={"id": made["id"]}, expect=204)
    assert call("GET", "/api/v1/models/{name}/versions/{n}/comments", path=v1,
                expect=200).json()["comments"] == []


def webhooks_happy_path(call: Recorder) -> None:
    """Notification subscriptions (docs/notifications.md), each route once on its happy path."""
    events = call("GET", "/api/v1/webhooks/events", expect=200).json()["events"]
    names = [e["name"] for e in events]
    assert "request.opened" in names and "model_version.stage_changed" in names
    assert all(e["meaning"] for e in events)
    assert "token.created" not in names and "webhook.created" not in names
    secret = "route-secret-0123456789"
    made = call("POST", "/api/v1/webhooks", expect=201, json_body={
        "name": "route hook", "url": "https://hooks.example.com/route",
        "events": ["request.*", "model_version.stage_changed"], "model": unique("route") + "-*",
        "format": "cloudevents", "secret": secret, "description": "happy path"}).json()
    assert made["secret_set"] is True and secret not in str(made)
    assert (made["format"], made["status"], made["owner"]) == ("cloudevents", "active", "admin")
    assert made["events"] == ["request.*", "model_version.stage_changed"]
    got = call("GET", "/api/v1/webhooks/{id}", path={"id": made["id"]}, expect=200).json()
    assert got == made
    listed = call("GET", "/api/v1/webhooks", params={"limit": 1000}, expect=200).json()
    assert made["id"] in [w["id"] for w in listed["webhooks"]]
    changed = call("PATCH", "/api/v1/webhooks/{id}", path={"id": made["id"]}, expect=200,
                   json_body={"status": "disabled", "secret": ""}).json()
    assert (changed["status"], changed["secret_set"]) == ("disabled", False)
    call("DELETE", "/api/v1/webhooks/{id}", path={"id": made["id"]}, expect=204)
    call("GET", "/api/v1/webhooks/{id}", path={"id": made["id"]}, expect=404, code="NOT_FOUND")


def test_approval_routes_refuse_exactly_what_their_schemas_refuse(api):
    # Found by the schema fuzz: each of these was answered otherwise than docs/openapi.yaml says.
    model = unique("schema")
    api.create_model(model)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": model},
             json_body={"source": "s3://b/m"}, expect=201)
    v1 = {"name": model, "n": 1}
    api.call("GET", "/api/v1/requests", params={"model": ""}, expect=400, code="INVALID_ARGUMENT")
    api.call("GET", "/api/v1/models/{name}/versions/{n}/gate", path=v1, expect=400,
             code="INVALID_ARGUMENT")
    api.call("GET", "/api/v1/models/{name}/versions/{n}/gate", path=v1,
             params={"to": "Production"}, expect=400, code="INVALID_ARGUMENT")
    api.call("POST", "/api/v1/models/{name}/versions/{n}/checks", path=v1, expect=400,
             code="INVALID_ARGUMENT", json_body={"name": "ci\x7ftests", "state": "success"})
    # A name's bound counts characters, as the schema's maxLength does, not UTF-8 bytes.
    posted = api.call("POST", "/api/v1/models/{name}/versions/{n}/checks", path=v1, expect=200,
                      json_body={"name": "é" * 100, "state": "success"}).json()
    assert posted["name"] == "é" * 100
    api.call("POST", "/api/v1/models/{name}/versions/{n}/checks", path=v1, expect=400,
             code="INVALID_ARGUMENT", json_body={"name": "é" * 101, "state": "success"})
    # env: targets are reserved for deployments: no request names one (RequestTarget), though a
    # gate check may ask about one (Target), and nothing gates it.
    api.call("POST", "/api/v1/requests", expect=400, code="INVALID_ARGUMENT",
             json_body={"model": model, "version": 1, "target": "env:prod"})
    assert api.call("GET", "/api/v1/models/{name}/versions/{n}/gate", path=v1,
                    params={"to": "env:prod"}, expect=200).json()["gated"] is False
    api.call("POST", "/api/v1/requests/{id}/apply", path={"id": 2**53}, expect=400,
             code="INVALID_ARGUMENT")
    # A policy may be called `test`: the policy test is not under /policies/.
    api.call("GET", "/api/v1/policies/{policy}", path={"policy": "test"}, expect=404,
             code="NOT_FOUND")


def checkpoints_happy_path(call: Recorder) -> None:
    """The audit log's checkpoints and keys (issue 14): made on demand, read back publicly, and a
    key rotation, each route once on its happy path."""
    made = call("POST", "/api/v1/audit/checkpoints", expect=200).json()
    note = call("GET", "/api/v1/audit/log/checkpoint", token=None, expect=200).text
    assert note == made["checkpoint"] and note.split("\n")[1] == str(made["size"])
    listed = call("GET", "/api/v1/audit/checkpoints", token=None, params={"limit": 1000},
                  expect=200).json()["checkpoints"]
    assert listed[-1] == made
    keys = call("GET", "/api/v1/audit/keys", token=None, expect=200).json()
    assert note.startswith(keys["origin"] + "\n")
    rotated = call("POST", "/api/v1/audit/keys/rotate", expect=200).json()
    assert rotated["retired_key"]["key_id"] == made["key_id"]
    assert rotated["checkpoint"]["key_id"] == made["key_id"]
    assert rotated["checkpoint"]["size"] > made["size"]
    after = call("GET", "/api/v1/audit/keys", token=None, expect=200).json()["keys"]
    assert [k["key_id"] for k in after][-2:] == [made["key_id"], rotated["key"]["key_id"]]


def audit_proofs_happy_path(call: Recorder) -> None:
    """The Merkle log's tiles and proofs (issue 14), each route once on its happy path, against the
    checkpoint made just before."""
    note = call("GET", "/api/v1/audit/log/checkpoint", token=None, expect=200).text
    size = int(note.split("\n")[1])
    w = size % 256
    index = f"{size // 256:03d}.p/{w}" if w else f"{size // 256 - 1:03d}"
    tile = call("GET", "/api/v1/audit/log/tile/{level}/{index}", path={"level": 0, "index": index}, token=None,
                expect=200)
    assert len(tile.content) == 32 * (w or 256)
    bundle = call("GET", "/api/v1/audit/log/tile/entries/{index}", path={"index": index}, expect=200)
    assert int.from_bytes(bundle.content[:2], "big") > 0
    inc = call("GET", "/api/v1/audit/proof/inclusion", params={"seq": size}, expect=200).json()
    assert inc["index"] == size - 1 and inc["size"] == size and inc["checkpoint"] == note
    con = call("GET", "/api/v1/audit/proof/consistency", params={"from": 1, "to": size},
               token=None, expect=200).json()
    assert con["from"] == 1 and con["to"] == size


def deliveries_happy_path(call: Recorder) -> None:
    """Webhook deliveries (issue 13): a test attempt, the ledger, one delivery with its attempts,
    and redelivery, each route once on its happy path."""
    with Receiver() as receiver:
        model = unique("hooked")
        hook = call("POST", "/api/v1/webhooks", expect=201, json_body={
            "name": "deliveries", "url": receiver.url, "events": ["model.updated"],
            "model": model}).json()["id"]
        tested = call("POST", "/api/v1/webhooks/{id}/test", path={"id": hook}, expect=200).json()
        assert tested["delivered"] is True and tested["status"] == 200
        receiver.script(Reply(500))  # the first delivery fails: dead (--webhook-max-attempts 1)
        call("POST", "/api/v1/models", json_body={"name": model}, expect=201)
        call("PATCH", "/api/v1/models/{name}", path={"name": model},
             json_body={"description": "hooked"}, expect=200)

        def dead():
            got = call("GET", "/api/v1/webhooks/{id}/deliveries", path={"id": hook},
                       params={"state": "dead"}, expect=200).json()["deliveries"]
            return got and got[0]
        first = wait_until(dead, 60, what="a dead delivery")
        assert first["action"] == "model.updated" and first["last_status"] == 500
        shown = call("GET", "/api/v1/deliveries/{id}", path={"id": first["uid"]},
                     expect=200).json()
        assert shown["id"] == first["id"] and shown["attempt_log"][0]["status"] == 500
        again = call("POST", "/api/v1/deliveries/{id}/redeliver", path={"id": first["id"]},
                     expect=200).json()
        assert again["state"] == "pending" and again["uid"] == first["uid"]
        wait_until(lambda: call("GET", "/api/v1/deliveries/{id}", path={"id": first["uid"]},
                                expect=200).json()["state"] == "delivered", 60,
                   what="redelivered")
        assert call("POST", "/api/v1/webhooks/{id}/redeliver", path={"id": hook},
                    expect=200).json() == {"redelivered": 0}

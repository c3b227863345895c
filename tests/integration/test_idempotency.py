"""Idempotency-Key through both doors (docs/api.md "Idempotency keys"): the same key and body get the
first answer again with no second change or audit event; another body is 422 and changes nothing;
another principal's same key is independent; a key expires (a server with a 1 s TTL); a refused
request keeps nothing; a malformed key is 400. A key in flight (409) is tested in
src/vouch/service/idempotency_test.cc, where it can be made deterministic.

Store-agnostic: everything goes through HTTP.
"""

from __future__ import annotations

import json

from vouch_testlib import Api, unique, wait_until

MLFLOW = "/api/2.0/mlflow"


def key() -> str:
    return unique("idem-key-")


def create_model(api: Api, name: str, k: str, **fields):
    return api.call("POST", "/api/v1/models", json_body={"name": name, **fields},
                    headers={"Idempotency-Key": k})


def model_events(api: Api, name: str) -> list[dict]:
    return api.events(model=name)


def new_principal(api: Api) -> Api:
    user = unique("u")
    api.call("POST", "/api/v1/users", json_body={"name": user, "kind": "user"}, expect=201)
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": user}).json()["token"]
    return Api(api.server, api.spec, token)


def test_the_same_key_and_body_get_the_first_answer_without_a_second_change(api):
    name, k = unique("m"), key()
    first = create_model(api, name, k, description="one")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    head = api.max_seq()
    again = create_model(api, name, k, description="one")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert api.max_seq() == head
    assert [e["action"] for e in model_events(api, name)] == ["model.created"]


def test_a_version_created_twice_with_one_key_is_one_version(api):
    name, k = unique("m"), key()
    api.create_model(name)
    body = {"source": "s3://bucket/model.tar.gz", "run_id": "r1"}
    for _ in range(3):
        r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                     json_body=body, headers={"Idempotency-Key": k}, expect=201)
        assert r.json()["version"] == 1
    assert [v["version"] for v in api.list_versions(name)] == [1]
    assert [e["action"] for e in model_events(api, name)] == ["model.created",
                                                              "model_version.created"]


def test_another_body_or_path_with_the_key_is_422_and_changes_nothing(api):
    name, k = unique("m"), key()
    create_model(api, name, k, description="one")
    head = api.max_seq()
    models = api.list_models()
    # Bodies are compared byte for byte: the same JSON spaced differently is another body.
    spaced = json.dumps({"name": name, "description": "one"}, indent=1)
    for r in [create_model(api, name, k, description="two"),
              create_model(api, unique("m"), k),
              api.call("POST", "/api/v1/models", data=spaced, headers={"Idempotency-Key": k}),
              api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                       json_body={"source": "s3://b/m"}, headers={"Idempotency-Key": k})]:
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert "Idempotent-Replayed" not in r.headers
    assert api.max_seq() == head
    assert api.list_models() == models
    # The first answer is still there for the first request.
    assert create_model(api, name, k, description="one").headers["Idempotent-Replayed"] == "true"


def test_another_principals_same_key_is_independent(api):
    k = key()
    other = new_principal(api)
    mine, theirs = unique("m"), unique("m")
    assert create_model(api, mine, k).status_code == 201
    r = create_model(other, theirs, k)
    assert r.status_code == 201, r.text
    assert "Idempotent-Replayed" not in r.headers
    assert r.json()["name"] == theirs
    assert api.get_model(theirs).status_code == 200


def test_a_refused_request_keeps_nothing_so_the_key_can_be_used_again(api):
    name, k = unique("m"), key()
    api.create_model(name)
    # ALREADY_EXISTS: refused, so not kept.
    r = create_model(api, name, k)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_EXISTS"
    other = unique("m")
    r = create_model(api, other, k)
    assert r.status_code == 201, r.text
    assert "Idempotent-Replayed" not in r.headers


def test_a_token_create_is_replayed_with_the_same_token(api):
    k = key()
    body = {"name": unique("t")}
    first = api.call("POST", "/api/v1/tokens", json_body=body, headers={"Idempotency-Key": k},
                     expect=201)
    again = api.call("POST", "/api/v1/tokens", json_body=body, headers={"Idempotency-Key": k},
                     expect=201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["token"] == first.json()["token"]
    tokens = api.call("GET", "/api/v1/tokens", expect=200).json()["tokens"]
    assert [t["name"] for t in tokens].count(body["name"]) == 1


def test_a_malformed_key_is_400_and_changes_nothing(api):
    name = unique("m")
    for bad in ["x" * 256, ""]:
        r = api.call("POST", "/api/v1/models", json_body={"name": name},
                     headers={"Idempotency-Key": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert api.get_model(name).status_code == 404
    assert create_model(api, name, "~" * 255).status_code == 201


def test_other_methods_ignore_the_key(api):
    name, k = unique("m"), key()
    api.create_model(name)
    for value in ["a", "b"]:
        r = api.call("PUT", "/api/v1/models/{name}/tags/{key}", path={"name": name, "key": "t"},
                     json_body={"value": value}, headers={"Idempotency-Key": k})
        assert r.status_code in (200, 204), r.text
        assert "Idempotent-Replayed" not in r.headers


def mlflow(api: Api, path: str, body: dict, k: str):
    return api.raw("POST", MLFLOW + path, json_body=body, headers={"Idempotency-Key": k})


def test_the_mlflow_door_replays_and_refuses_alike(api):
    name, k = unique("m"), key()
    first = mlflow(api, "/registered-models/create", {"name": name}, k)
    assert first.status_code == 200, first.text
    head = api.max_seq()
    again = mlflow(api, "/registered-models/create", {"name": name}, k)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert api.max_seq() == head

    vk = key()
    body = {"name": name, "source": "s3://bucket/model"}
    v1 = mlflow(api, "/model-versions/create", body, vk)
    v2 = mlflow(api, "/model-versions/create", body, vk)
    assert v1.status_code == v2.status_code == 200
    assert v2.content == v1.content
    assert [v["version"] for v in api.list_versions(name)] == [1]

    head = api.max_seq()
    r = mlflow(api, "/model-versions/create", {**body, "source": "s3://bucket/other"}, vk)
    assert r.status_code == 422, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert api.max_seq() == head
    assert [v["version"] for v in api.list_versions(name)] == [1]
    assert [e["action"] for e in model_events(api, name)] == ["model.created",
                                                              "model_version.created"]


def test_a_key_expires_after_the_ttl(server_factory, spec):
    srv = server_factory(args=["--idempotency-ttl", "1s"])
    api = srv.api(spec)
    name, k = unique("m"), key()
    assert create_model(api, name, k).status_code == 201
    # Within the TTL another body is refused; once it has passed, the key is new again.
    other = unique("m")

    def fresh() -> bool:
        r = create_model(api, other, k)
        assert r.status_code in (201, 422), r.text
        return r.status_code == 201

    wait_until(fresh, timeout=30)
    assert api.get_model(other).status_code == 200
    r = create_model(api, name, k)
    assert r.status_code == 422 and r.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_cli_sends_a_fresh_key_with_each_create(server_factory, spec):
    srv = server_factory()
    api = srv.api(spec)
    names = [unique("m"), unique("m")]
    for name in names:
        r = srv.cli("models", "create", name)
        assert r.returncode == 0, r.stderr
    rows = srv.sql("SELECT key, request, state, status FROM idempotency_keys ORDER BY created_ms")
    assert len(rows) == 2, rows
    assert rows[0][0] != rows[1][0]
    for key_, request, state, status in rows:
        assert key_.startswith("cli-") and len(key_) == 36
        assert (request, state, status) == ("POST /api/v1/models", "done", "201")
    assert {m["name"] for m in api.list_models()} >= set(names)

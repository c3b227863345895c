"""docs/openapi.yaml is a valid OpenAPI 3.1 document and says what docs/api.md says.

These tests need no server: they keep the two documents from drifting apart.
"""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate

from vouch_testlib import API_MD_PATH

API_MD = API_MD_PATH.read_text()


def api_md_routes() -> set[tuple[str, str]]:
    routes = set()
    for m in re.finditer(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \|", API_MD, re.M):
        routes.add((m.group(1), m.group(2)))
    return routes


def api_md_json_blocks() -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", API_MD, re.S)]


def test_openapi_document_is_valid_openapi_3_1(spec):
    assert spec.doc["openapi"].startswith("3.1")
    validate(spec.doc)


def test_every_route_in_api_md_is_in_openapi_and_nothing_else(spec):
    documented = api_md_routes()
    assert len(documented) >= 25, "could not read the route table of docs/api.md"
    assert set(spec.operations()) == documented


def test_audit_actions_match_api_md(spec):
    section = API_MD.split("Actions:", 1)[1].split("## Routes", 1)[0]
    actions = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", section))
    assert actions == set(spec.doc["components"]["schemas"]["AuditAction"]["enum"])


def test_error_codes_and_statuses_match_api_md(spec):
    rows = re.findall(r"^\| ([A-Z_]+) \| (\d{3}) \|", API_MD, re.M)
    assert len(rows) >= 10
    assert {c for c, _ in rows} == set(spec.doc["components"]["schemas"]["ErrorCode"]["enum"])
    # Every (code, status) pair of the table is reachable through a documented response.
    pairs = set()
    for name, resp in spec.doc["components"]["responses"].items():
        status = {"BadRequest": "400", "Unauthenticated": "401", "Reauthentication": "401",
                  "PermissionDenied": "403",
                  "NotFound": "404", "MethodNotAllowed": "405", "Conflict": "409",
                  "PayloadTooLarge": "413", "IdempotencyKeyReused": "422", "EntryTooLarge": "422",
                  "TooManyRequests": "429", "Internal": "500", "Unavailable": "503"}[name]
        code_schema = resp["content"]["application/json"]["schema"]["allOf"][1]["properties"][
            "error"]["properties"]["code"]
        for code in code_schema.get("enum", [code_schema.get("const")]):
            pairs.add((code, status))
    assert {(c, s) for c, s in rows} == pairs


def test_every_api_operation_documents_auth_request_id_and_body_errors(spec):
    for method, path in spec.operations():
        op = spec.doc["paths"][path][method.lower()]
        for status in op["responses"]:
            obj, _ = spec.response_for(method, path, int(status))
            assert "X-Request-Id" in obj.get("headers", {}), f"{method} {path} {status}"
        # Public routes (probes, the audit log's checkpoints and keys) ask for no token.
        if op.get("x-vouch-access") != "public":
            assert "security" not in op, f"{method} {path} must use the global bearer security"
            assert "401" in op["responses"], f"{method} {path}"
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), f"{method} {path}"
        else:
            assert op.get("security") == [], f"{method} {path} needs no token"
    assert spec.doc["security"] == [{"bearer": []}, {"basic": []}]
    schemes = spec.doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["basic"] == {**schemes["basic"], "type": "http", "scheme": "basic"}


ACCESS_LEVELS = {"public", "authenticated", "READ", "EDIT", "MANAGE", "admin"}


def api_md_access() -> dict[tuple[str, str], str]:
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| ([A-Za-z]+) \|", API_MD,
                      re.M)
    return {(m, p): a for m, p, a in rows}


def test_every_operation_declares_its_access_and_api_md_agrees(spec):
    declared = {}
    for method, path in spec.operations():
        op = spec.doc["paths"][path][method.lower()]
        access = op.get("x-vouch-access")
        assert access in ACCESS_LEVELS, f"{method} {path}: x-vouch-access {access!r}"
        declared[(method, path)] = access
        # Public exactly where no credentials are asked for.
        assert (access == "public") == (op.get("security") == []), f"{method} {path}"
        # A route on a model's permission level names the model.
        if access in ("READ", "EDIT", "MANAGE"):
            assert path.startswith("/api/v1/models/{name}"), f"{method} {path}"
        # Refusals are documented where they can happen.
        if access not in ("public",) and method != "GET":
            assert "403" in op["responses"], f"{method} {path}: a read-only token gets 403"
        if access in ("READ", "EDIT", "MANAGE", "admin"):
            assert "403" in op["responses"], f"{method} {path}"
    assert api_md_access() == declared


@pytest.mark.parametrize("index,schema", [(0, "Model"), (1, "Version"), (2, "AuditEvent"),
                                          (3, "User"), (4, "Token"), (5, "Group"),
                                          (6, "ModelPermission")])
def test_api_md_examples_match_the_schemas(spec, index, schema):
    example = api_md_json_blocks()[index]
    # Placeholders in the prose examples.
    if "artifact_digest" in example:
        example["artifact_digest"] = "sha256:" + "0" * 64
    if example.get("request_id") == "…":
        example["request_id"] = "req-1"
    spec.validate_schema(example, schema)


@pytest.mark.parametrize("schema,instance", [
    ("ModelName", ""),
    ("ModelName", "a\x01b"),
    ("ModelName", "a\x7fb"),
    ("ModelName", "   "),
    ("ModelName", "x" * 257),
    ("AliasName", "latest"),
    ("AliasName", "LaTeSt"),
    ("AliasName", "v12"),
    ("AliasName", "has space"),
    ("ArtifactDigest", "sha256:" + "A" * 64),
    ("Stage", "staging"),
    ("AuditEvent", {"schema": 1}),
    ("PrincipalName", ""),
    ("PrincipalName", "-alice"),
    ("PrincipalName", "al ice"),
    ("PrincipalName", "ålice"),
    ("PrincipalName", "a\x01"),
    ("PrincipalName", "a" * 65),
    ("RoleName", "Auditor"),
    ("RoleName", "1st"),
    ("PermissionName", "read"),
    ("TokenScope", "write"),
    ("DisplayName", "line\nbreak"),
    ("Email", "no-at-sign"),
    ("Email", "a@b@c"),
    ("User", {"id": 1, "name": "a", "kind": "user", "display_name": "", "email": "",
              "is_admin": False, "disabled": False, "creation_timestamp": 1,
              "password_hash": "x"}),
    ("Token", {"id": 1, "name": "t", "owner": "a", "scope": "full", "creation_timestamp": 1,
               "token": "vch_" + "a" * 43}),
])
def test_schemas_reject_what_api_md_forbids(spec, schema, instance):
    with pytest.raises(AssertionError):
        spec.validate_schema(instance, schema)


@pytest.mark.parametrize("schema,instance", [
    ("ModelName", "x" * 256),
    ("ModelName", "é" * 256),
    ("ModelName", "a/b \"quoted\" 模型"),
    ("AliasName", "champion"),
    ("AliasName", "v1x"),
    ("ArtifactDigest", "sha256:" + "a" * 64),
    ("PrincipalName", "a" * 64),
    ("PrincipalName", "ci-bot@example.com"),
    ("PrincipalName", "7.seven_"),
    ("RoleName", "ml-engineer"),
    ("Email", ""),
    ("DisplayName", "Zoë Ünïcode 模型"),
])
def test_schemas_accept_what_api_md_allows(spec, schema, instance):
    spec.validate_schema(instance, schema)


class FakeResponse:
    """Just enough of a response for Spec.check, to prove the validator is not vacuous."""

    def __init__(self, status: int, body, headers: dict | None = None):
        from requests.structures import CaseInsensitiveDict
        self.status_code = status
        self.content = b"" if body is None else json.dumps(body).encode()
        h = {"X-Request-Id": "rid-1"}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        self.headers = CaseInsensitiveDict(h)


MODEL = {"name": "m", "tags": {}, "creation_timestamp": 1, "last_updated_timestamp": 1,
         "created_by": "admin"}


def test_validator_accepts_a_good_response(spec):
    spec.check(FakeResponse(200, MODEL), "GET", "/api/v1/models/{name}")
    spec.check(FakeResponse(204, None), "DELETE", "/api/v1/models/{name}")
    err = {"error": {"code": "NOT_FOUND", "message": "no", "request_id": "rid-1"}}
    spec.check(FakeResponse(404, err), "GET", "/api/v1/models/{name}")


@pytest.mark.parametrize("resp,method,path", [
    (FakeResponse(418, MODEL), "GET", "/api/v1/models/{name}"),
    (FakeResponse(200, {**MODEL, "extra": 1}), "GET", "/api/v1/models/{name}"),
    (FakeResponse(200, {k: v for k, v in MODEL.items() if k != "tags"}), "GET",
     "/api/v1/models/{name}"),
    (FakeResponse(200, MODEL, {"X-Request-Id": "bad id"}), "GET", "/api/v1/models/{name}"),
    (FakeResponse(200, MODEL, {"Content-Type": "text/plain"}), "GET", "/api/v1/models/{name}"),
    (FakeResponse(204, MODEL), "DELETE", "/api/v1/models/{name}"),
    (FakeResponse(404, {"error": {"code": "NOT_FOUND", "message": "no", "request_id": "other"}}),
     "GET", "/api/v1/models/{name}"),
    (FakeResponse(404, {"error": {"code": "INTERNAL", "message": "no", "request_id": "rid-1"}}),
     "GET", "/api/v1/models/{name}"),
    (FakeResponse(401, {"error": {"code": "UNAUTHENTICATED", "message": "no",
                                  "request_id": "rid-1"}}), "GET", "/api/v1/whoami"),
], ids=["undocumented-status", "extra-field", "missing-field", "bad-request-id", "content-type",
        "body-on-204", "request-id-mismatch", "wrong-code-for-status", "401-without-www-auth"])
def test_validator_rejects_a_bad_response(spec, resp, method, path):
    with pytest.raises(AssertionError):
        spec.check(resp, method, path)

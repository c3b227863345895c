"""Bad input gets the exact status and error code, and changes nothing.

Each case compares a snapshot before and after: the audit log's highest seq, every live model, and
the model under test with all of its versions. (Authentication failures are in test_auth.py: they
add a denial event, which must not disturb the snapshots here.)
"""

from __future__ import annotations

import json

import pytest

from vouch_testlib import Api, Spec, build_request, quote_segment, raw_request, snapshot, unique

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def base(api: Api) -> str:
    """A model with two versions (v1 Staging with alias champion, v2 None) and a tag."""
    name = unique("base")
    api.create_model(name, description="base model", tags={"team": "risk"})
    api.create_version(name, tags={"t": "1"}, metrics={"auc": 0.9}, params={"lr": "0.1"})
    api.create_version(name)
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 1},
             json_body={"stage": "Staging"}, expect=200)
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "champion"},
             json_body={"version": 1}, expect=200)
    return name


def refused(api: Api, model: str, status: int, code: str, send) -> dict:
    before = snapshot(api, model)
    r = send()
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip(), "the error message is empty"
    after = snapshot(api, model)
    assert after == before, "a refused request changed state"
    return body


def call_refused(api, model, status, code, method, template, path=None, **kw):
    return refused(api, model, status, code,
                   lambda: api.call(method, template, path=path, **kw))


# ---- malformed JSON ---------------------------------------------------------------------------

MALFORMED = [b'{"name": ', b"not json", b'{"name": "x",}', b"", b'{"name": "x"} trailing',
             b"{'name': 'x'}", b'{"name": "x"', b"\xef\xbb\xbf\x00"]


@pytest.mark.parametrize("body", MALFORMED, ids=lambda b: repr(b)[:24])
def test_malformed_json_create_model(api, base, body):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "POST", "/api/v1/models", data=body)


BODY_ROUTES = [
    ("POST", "/api/v1/models/{name}/versions", {}),
    ("PATCH", "/api/v1/models/{name}", {}),
    ("POST", "/api/v1/models/{name}/rename", {}),
    ("PUT", "/api/v1/models/{name}/tags/{key}", {"key": "k"}),
    ("PATCH", "/api/v1/models/{name}/versions/{n}", {"n": 1}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", {"n": 1, "key": "k"}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 1, "key": "k"}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", {"n": 1, "key": "k"}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1}),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"alias": "challenger"}),
]


@pytest.mark.parametrize("method,template,extra", BODY_ROUTES, ids=lambda x: str(x))
def test_malformed_json_on_every_route_with_a_body(api, base, method, template, extra):
    call_refused(api, base, 400, "INVALID_ARGUMENT", method, template,
                 path={"name": base, **extra}, data=b'{"value": ')


@pytest.mark.parametrize("body", [b'{"name": "\xff\xfe"}', b'{"name": "\xc0\xaf"}',
                                  b'{"name": "\\ud800"}'], ids=["ff-fe", "overlong", "lone-surrogate"])
def test_invalid_utf8_in_json_is_refused(api, base, body):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "POST", "/api/v1/models", data=body)


# ---- wrong types ------------------------------------------------------------------------------

WRONG_TYPES = [
    ("POST", "/api/v1/models", {}, {"name": 5}),
    ("POST", "/api/v1/models", {}, {"name": ["x"]}),
    ("POST", "/api/v1/models", {}, {"name": "wt-1", "tags": {"a": 1}}),
    ("POST", "/api/v1/models", {}, {"name": "wt-2", "tags": ["a"]}),
    ("POST", "/api/v1/models", {}, {"name": "wt-3", "description": 7}),
    ("POST", "/api/v1/models", {}, ["wt-4"]),
    ("POST", "/api/v1/models", {}, "wt-5"),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": 5}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "metrics": {"auc": "high"}}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "metrics": {"auc": True}}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "params": {"lr": 0.1}}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "tags": {"a": None}}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "run_id": 12}),
    ("PATCH", "/api/v1/models/{name}", {}, {"description": ["x"]}),
    ("PATCH", "/api/v1/models/{name}/versions/{n}", {"n": 1}, {"description": 3}),
    ("POST", "/api/v1/models/{name}/rename", {}, {"new_name": 3}),
    ("PUT", "/api/v1/models/{name}/tags/{key}", {"key": "k"}, {"value": 5}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", {"n": 1, "key": "k"}, {"value": {}}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 1, "key": "k"}, {"value": "0.5"}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 1, "key": "k"}, {"value": None}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", {"n": 1, "key": "k"}, {"value": 5}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1}, {"stage": 1}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1},
     {"stage": "Staging", "archive_existing": "yes"}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1}, {"stage": "Staging", "comment": 5}),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"alias": "challenger"}, {"version": "1"}),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"alias": "challenger"}, {"version": 1.5}),
]


@pytest.mark.parametrize("method,template,extra,body", WRONG_TYPES, ids=lambda x: str(x)[:60])
def test_wrong_types_are_invalid_argument(api, base, method, template, extra, body):
    call_refused(api, base, 400, "INVALID_ARGUMENT", method, template,
                 path={"name": base, **extra}, json_body=body)


@pytest.mark.parametrize("n", ["abc", "1.5", "0x1", "1e3", "99999999999999999999999", "0", "-1"])
def test_version_number_in_path_that_is_not_a_number(api, base, n):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "GET", "/api/v1/models/{name}/versions/{n}",
                 path={"name": base, "n": n})


UNKNOWN_FIELDS = [
    ("POST", "/api/v1/models", {}, {"name": "uf-1", "descripton": "typo"}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"source": "s", "metric": {"auc": 1}}),
    ("PATCH", "/api/v1/models/{name}", {}, {"description": "x", "name": "other"}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 2},
     {"stage": "Staging", "archive": True}),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"alias": "challenger"},
     {"version": 1, "force": True}),
]


@pytest.mark.parametrize("method,template,extra,body", UNKNOWN_FIELDS, ids=lambda x: str(x)[:60])
def test_unknown_fields_are_invalid_argument(api, base, method, template, extra, body):
    # The request schemas in docs/openapi.yaml have additionalProperties: false; a typo in a field
    # name must not be silently ignored.
    call_refused(api, base, 400, "INVALID_ARGUMENT", method, template,
                 path={"name": base, **extra}, json_body=body)


# ---- missing fields ---------------------------------------------------------------------------

MISSING = [
    ("POST", "/api/v1/models", {}, {}),
    ("POST", "/api/v1/models", {}, {"description": "no name"}),
    ("POST", "/api/v1/models/{name}/versions", {}, {}),
    ("POST", "/api/v1/models/{name}/versions", {}, {"run_id": "r"}),
    ("PATCH", "/api/v1/models/{name}", {}, {}),
    ("PATCH", "/api/v1/models/{name}/versions/{n}", {"n": 1}, {}),
    ("POST", "/api/v1/models/{name}/rename", {}, {}),
    ("PUT", "/api/v1/models/{name}/tags/{key}", {"key": "k"}, {}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", {"n": 1, "key": "k"}, {}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 1, "key": "k"}, {}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", {"n": 1, "key": "k"}, {}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1}, {}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 1}, {"comment": "no stage"}),
    ("PUT", "/api/v1/models/{name}/aliases/{alias}", {"alias": "challenger"}, {}),
]


@pytest.mark.parametrize("method,template,extra,body", MISSING, ids=lambda x: str(x)[:60])
def test_missing_fields_are_invalid_argument(api, base, method, template, extra, body):
    call_refused(api, base, 400, "INVALID_ARGUMENT", method, template,
                 path={"name": base, **extra}, json_body=body)


# ---- invalid names and values -----------------------------------------------------------------

BAD_NAMES = ["", "\x00", "a\x01b", "a\nb", "tab\there", "del\x7f", "x" * 257, "   "]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_invalid_model_name_on_create(api, base, bad):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "POST", "/api/v1/models",
                 json_body={"name": bad})


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_invalid_model_name_on_rename(api, base, bad):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "POST", "/api/v1/models/{name}/rename",
                 path={"name": base}, json_body={"new_name": bad})


BAD_VALUES = [
    ("tag key too long", "PUT", "/api/v1/models/{name}/tags/{key}", {"key": "k" * 251},
     {"value": "v"}),
    ("tag key control char", "PUT", "/api/v1/models/{name}/tags/{key}", {"key": "a\x01"},
     {"value": "v"}),
    ("tag value too long", "PUT", "/api/v1/models/{name}/tags/{key}", {"key": "k"},
     {"value": "v" * 5001}),
    ("version tag value too long", "PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}",
     {"n": 1, "key": "k"}, {"value": "v" * 5001}),
    ("metric key too long", "PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
     {"n": 1, "key": "m" * 251}, {"value": 1}),
    ("param key too long", "PUT", "/api/v1/models/{name}/versions/{n}/params/{key}",
     {"n": 1, "key": "p" * 251}, {"value": "1"}),
    ("param value too long", "PUT", "/api/v1/models/{name}/versions/{n}/params/{key}",
     {"n": 1, "key": "p"}, {"value": "1" * 6001}),
    ("model tags in body too long", "POST", "/api/v1/models", {},
     {"name": "tags-too-long", "tags": {"k" * 251: "v"}}),
    ("empty source", "POST", "/api/v1/models/{name}/versions", {}, {"source": ""}),
    ("source too long", "POST", "/api/v1/models/{name}/versions", {}, {"source": "s" * 4097}),
    ("version tag value in body too long", "POST", "/api/v1/models/{name}/versions", {},
     {"source": "s", "tags": {"k": "v" * 5001}}),
    ("metric key in body empty", "POST", "/api/v1/models/{name}/versions", {},
     {"source": "s", "metrics": {"": 1}}),
    ("digest uppercase", "POST", "/api/v1/models/{name}/versions", {},
     {"source": "s", "artifact_digest": "sha256:" + "A" * 64}),
    ("digest short", "POST", "/api/v1/models/{name}/versions", {},
     {"source": "s", "artifact_digest": "sha256:" + "a" * 63}),
    ("digest md5", "POST", "/api/v1/models/{name}/versions", {},
     {"source": "s", "artifact_digest": "md5:" + "a" * 32}),
]


@pytest.mark.parametrize("label,method,template,extra,body", BAD_VALUES, ids=lambda x: str(x)[:40])
def test_invalid_keys_and_values(api, base, label, method, template, extra, body):
    call_refused(api, base, 400, "INVALID_ARGUMENT", method, template,
                 path={"name": base, **extra}, json_body=body)


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_metric_is_refused(api, base, literal):
    data = ('{"value": %s}' % literal).encode()
    call_refused(api, base, 400, "INVALID_ARGUMENT", "PUT",
                 "/api/v1/models/{name}/versions/{n}/metrics/{key}",
                 path={"name": base, "n": 1, "key": "auc"}, data=data)


def test_boundary_lengths_are_accepted(api):
    name = unique("b") + "x" * (256 - 12)
    assert len(name) == 256
    api.create_model(name)
    api.call("PUT", "/api/v1/models/{name}/tags/{key}", path={"name": name, "key": "k" * 250},
             json_body={"value": "v" * 5000}, expect=200)
    v = api.create_version(name, source="s" * 4096, params={"p" * 250: "1" * 6000},
                           metrics={"m" * 250: 1.0})
    assert v["source"] == "s" * 4096 and v["params"] == {"p" * 250: "1" * 6000}


# ---- stages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["Prod", "", "production ", "DELETED", "Staging\x00"], ids=repr)
def test_unknown_stage(api, base, stage):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "POST",
                 "/api/v1/models/{name}/versions/{n}/stage", path={"name": base, "n": 2},
                 json_body={"stage": stage})


@pytest.mark.parametrize("stage", ["Archived", "None", "archived"])
def test_archive_existing_only_with_staging_or_production(api, base, stage):
    call_refused(api, base, 400, "FAILED_PRECONDITION", "POST",
                 "/api/v1/models/{name}/versions/{n}/stage", path={"name": base, "n": 2},
                 json_body={"stage": stage, "archive_existing": True})


# ---- aliases ----------------------------------------------------------------------------------

@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest", "v1", "v42", "V7", "has space",
                                   "a.b", "x" * 256, "ünï", "a/b"], ids=lambda a: repr(a)[:20])
def test_bad_alias_name(api, base, alias):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "PUT", "/api/v1/models/{name}/aliases/{alias}",
                 path={"name": base, "alias": alias}, json_body={"version": 1})


def test_alias_to_missing_version(api, base):
    call_refused(api, base, 404, "NOT_FOUND", "PUT", "/api/v1/models/{name}/aliases/{alias}",
                 path={"name": base, "alias": "challenger"}, json_body={"version": 99})


# ---- not found and conflicts ------------------------------------------------------------------

NOT_FOUND = [
    ("GET", "/api/v1/models/{name}", {"name": "no-such-model"}, None),
    ("PATCH", "/api/v1/models/{name}", {"name": "no-such-model"}, {"description": "x"}),
    ("DELETE", "/api/v1/models/{name}", {"name": "no-such-model"}, None),
    ("POST", "/api/v1/models/{name}/rename", {"name": "no-such-model"}, {"new_name": "zz"}),
    ("POST", "/api/v1/models/{name}/versions", {"name": "no-such-model"}, {"source": "s"}),
    ("GET", "/api/v1/models/{name}/versions", {"name": "no-such-model"}, None),
    ("PUT", "/api/v1/models/{name}/tags/{key}", {"name": "no-such-model", "key": "k"},
     {"value": "v"}),
    ("GET", "/api/v1/models/{name}/versions/{n}", {"n": 99}, None),
    ("PATCH", "/api/v1/models/{name}/versions/{n}", {"n": 99}, {"description": "x"}),
    ("DELETE", "/api/v1/models/{name}/versions/{n}", {"n": 99}, None),
    ("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}", {"n": 99, "key": "k"}, {"value": "v"}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 99, "key": "k"}, {"value": 1}),
    ("PUT", "/api/v1/models/{name}/versions/{n}/params/{key}", {"n": 99, "key": "k"}, {"value": "1"}),
    ("POST", "/api/v1/models/{name}/versions/{n}/stage", {"n": 99}, {"stage": "Staging"}),
    ("DELETE", "/api/v1/models/{name}/tags/{key}", {"name": "no-such-model", "key": "k"}, None),
    ("DELETE", "/api/v1/models/{name}/aliases/{alias}", {"name": "no-such-model", "alias": "a"},
     None),
]


@pytest.mark.parametrize("method,template,path,body", NOT_FOUND, ids=lambda x: str(x)[:50])
def test_not_found(api, base, method, template, path, body):
    kw = {} if body is None else {"json_body": body}
    call_refused(api, base, 404, "NOT_FOUND", method, template, path={"name": base, **path}, **kw)


def test_missing_alias_is_invalid_argument_as_mlflow_answers(api, base):
    body = call_refused(api, base, 400, "INVALID_ARGUMENT", "GET",
                        "/api/v1/models/{name}/aliases/{alias}",
                        path={"name": base, "alias": "nobody"})
    assert body["error"]["message"] == "Registered model alias nobody not found."


# Deleting what is not there changes nothing: it succeeds (as MLflow's deletes do) and adds no event.
ABSENT_DELETES = [
    ("/api/v1/models/{name}/tags/{key}", {"key": "no-such-tag"}, 200),
    ("/api/v1/models/{name}/versions/{n}/tags/{key}", {"n": 1, "key": "no-such-tag"}, 200),
    ("/api/v1/models/{name}/versions/{n}/metrics/{key}", {"n": 1, "key": "nope"}, 200),
    ("/api/v1/models/{name}/versions/{n}/params/{key}", {"n": 1, "key": "nope"}, 200),
    ("/api/v1/models/{name}/aliases/{alias}", {"alias": "nobody"}, 204),
]


@pytest.mark.parametrize("template,path,status", ABSENT_DELETES, ids=lambda x: str(x)[:50])
def test_deleting_what_is_absent_succeeds_and_records_nothing(api, base, template, path, status):
    before = snapshot(api, base)
    api.call("DELETE", template, path={"name": base, **path}, expect=status)
    assert snapshot(api, base) == before


def test_create_existing_model_is_already_exists(api, base):
    call_refused(api, base, 409, "ALREADY_EXISTS", "POST", "/api/v1/models",
                 json_body={"name": base})


def test_rename_onto_existing_model_is_already_exists(api, base):
    other = unique("other")
    api.create_model(other)
    call_refused(api, base, 409, "ALREADY_EXISTS", "POST", "/api/v1/models/{name}/rename",
                 path={"name": other}, json_body={"new_name": base})
    assert api.get_model(other).status_code == 200


# ---- paging and audit filters -----------------------------------------------------------------

def test_tampered_page_token(api, base):
    for _ in range(3):
        api.create_model(unique("tok"))
    token = api.call("GET", "/api/v1/models", params={"limit": 1}, expect=200).json()[
        "next_page_token"]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, token + "x", "!!!", "x" * 300):
        call_refused(api, base, 400, "INVALID_ARGUMENT", "GET", "/api/v1/models",
                     params={"limit": 1, "page_token": bad})


@pytest.mark.parametrize("limit", ["0", "1001", "-5", "abc"])
def test_limit_out_of_range(api, base, limit):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "GET", "/api/v1/models/{name}/versions",
                 path={"name": base}, params={"limit": limit})


@pytest.mark.parametrize("params", [{"version": "1"}, {"model": "m", "version": "x"},
                                    {"since": "yesterday"}, {"until": "2026-13-45T00:00:00Z"}],
                         ids=str)
def test_bad_audit_filters(api, base, params):
    call_refused(api, base, 400, "INVALID_ARGUMENT", "GET", "/api/v1/audit", params=params)


def constrained_query_params() -> list[tuple[str, str]]:
    """(path, parameter) for each query parameter of a GET without path parameters whose schema an
    empty value violates: an enum, a number, a boolean, or a minimum length."""
    spec = Spec()
    out = []
    for path, item in spec.doc["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        for param in item.get("parameters", []) + op.get("parameters", []):
            param, _ = spec._deref(param, "")
            schema = param.get("schema", {})
            if param.get("in") == "query" and (
                    "enum" in schema or schema.get("minLength", 0) > 0
                    or schema.get("type") in ("integer", "number", "boolean")):
                out.append((path, param["name"]))
    return out


@pytest.mark.parametrize("path,name", constrained_query_params(), ids=lambda x: str(x))
def test_an_empty_query_value_is_not_taken_for_an_absent_one(api, base, path, name):
    """`?state=` is not `state` left out: an empty value that the spec cannot accept is refused
    (schemathesis found GET /api/v1/requests?state= answered 200 with every request)."""
    r = api.call("GET", path, params={name: ""})
    assert r.status_code == 400, f"{path}?{name}= answered {r.status_code}: {r.text[:300]}"
    assert r.json()["error"]["code"] == "INVALID_ARGUMENT", r.text


# ---- body size, methods, paths ----------------------------------------------------------------

def padded_create(name: str, size: int) -> bytes:
    body = json.dumps({"name": name}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def test_body_over_1_mib_is_413(api, spec, server, base):
    name = unique("big")
    req = build_request("POST", "/api/v1/models", padded_create(name, MIB + 1),
                        {"Authorization": f"Bearer {api.token}",
                         "Content-Type": "application/json"})
    before = snapshot(api, base)
    r = raw_request(server.port, req)
    assert r.status_code == 413, r.content[:300]
    body = spec.check(r, "POST", "/api/v1/models")
    assert body["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert snapshot(api, base) == before
    assert api.get_model(name).status_code == 404


def test_body_of_exactly_1_mib_is_accepted(api, spec, server):
    name = unique("exact")
    req = build_request("POST", "/api/v1/models", padded_create(name, MIB),
                        {"Authorization": f"Bearer {api.token}",
                         "Content-Type": "application/json"})
    r = raw_request(server.port, req)
    assert r.status_code == 201, r.content[:300]
    spec.check(r, "POST", "/api/v1/models")
    assert api.get_model(name).status_code == 200


def test_chunked_body_over_1_mib_is_413(api, spec, server, base):
    name = unique("chunked")
    payload = padded_create(name, MIB + 4096)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 65536]), payload[i:i + 65536])
                      for i in range(0, len(payload), 65536)) + b"0\r\n\r\n"
    head = ("POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    before = snapshot(api, base)
    r = raw_request(server.port, head + chunks)
    assert r.status_code == 413, r.content[:300]
    assert spec.check(r, "POST", "/api/v1/models")["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert snapshot(api, base) == before
    assert api.get_model(name).status_code == 404


WRONG_METHODS = [
    ("DELETE", "/api/v1/models", {"GET", "POST"}),
    ("PUT", "/api/v1/models/{name}", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/v1/models/{name}/rename", {"POST"}),
    ("PATCH", "/api/v1/models/{name}/versions", {"GET", "POST"}),
    ("POST", "/api/v1/models/{name}/versions/1", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/v1/models/{name}/versions/1/stage", {"POST"}),
    ("GET", "/api/v1/models/{name}/tags/k", {"PUT", "DELETE"}),
    ("POST", "/api/v1/models/{name}/versions/1/metrics/k", {"PUT", "DELETE"}),
    ("POST", "/api/v1/models/{name}/aliases/champion", {"PUT", "GET", "DELETE"}),
    ("POST", "/api/v1/audit", {"GET"}),
    ("DELETE", "/api/v1/whoami", {"GET"}),
]


@pytest.mark.parametrize("method,template,allowed", WRONG_METHODS, ids=lambda x: str(x)[:45])
def test_wrong_method_is_405_with_allow(api, spec, base, method, template, allowed):
    path = template.replace("{name}", quote_segment(base))

    before = snapshot(api, base)
    if method in ("POST", "PUT", "PATCH"):
        r = api.raw(method, path, json_body={"value": "v"})
    else:
        r = api.raw(method, path)
    assert r.status_code == 405, r.text
    body = spec.check_named(r, "MethodNotAllowed")
    assert body["error"]["code"] == "UNIMPLEMENTED"
    allow = {m.strip().upper() for m in r.headers["Allow"].split(",") if m.strip()}
    assert allow - {"HEAD", "OPTIONS"} == allowed
    assert snapshot(api, base) == before


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/models/{name}/versions/1/bogus",
                                  "/api/v2/models", "/nothing/here",
                                  "/api/v1/models/{name}/versions/1/tags",
                                  "/api/v1/models/{name}/extra/segments/here"])
def test_unknown_path_is_404(api, spec, base, path):
    path = path.replace("{name}", quote_segment(base))
    before = snapshot(api, base)
    r = api.raw("GET", path)
    assert r.status_code == 404, r.text
    body = spec.check_named(r, "NotFound")
    assert body["error"]["code"] == "NOT_FOUND"
    assert snapshot(api, base) == before


def test_server_survived_every_bad_input(server, api, base):
    assert server.running()
    assert api.call("GET", "/health", token=None, expect=200).json() == {"status": "ok"}
    assert api.get_model(base).status_code == 200

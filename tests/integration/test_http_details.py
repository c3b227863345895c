"""HTTP and validation details (issue 9 §7), each on every door it applies to, with the error in the
shape of that door: HEAD on GET routes, two Authorization headers, percent-escapes that are not
UTF-8, transfer codings other than chunked, obs-fold header lines, duplicate JSON keys, C1 controls
in e-mail addresses, and bounded token lifetimes. Each refused request changes nothing."""

from __future__ import annotations

import http.client
import socket

import pytest

from vouch_testlib import Api, RawResponse, build_request, raw_request, snapshot, unique

MLFLOW = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def model(api: Api) -> str:
    name = unique("hd")
    api.create_model(name, description="for the HTTP details")
    api.create_version(name)
    return name


def auth(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


def native_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.content[:500])
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"].strip()
    return body


def mlflow_error(r, status: int, error_code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.content[:500])
    body = r.json()
    assert body["error_code"] == error_code, body
    assert body["message"].strip()
    return body


# ---- HEAD ------------------------------------------------------------------------------------

def raw_head(port: int, path: str, headers: dict[str, str]) -> RawResponse:
    """A HEAD request; its response is read as one (no body expected whatever its length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(build_request("HEAD", path, None, headers))
        resp = http.client.HTTPResponse(sock, method="HEAD")
        resp.begin()
        resp.read()
        # Nothing follows the header: the server closes (Connection: close) without a body.
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
        return RawResponse(resp.status, resp.headers, rest)


def head_matches_get(api: Api, server, path: str, *, expect: int) -> None:
    get = raw_request(server.port, build_request("GET", path, None, auth(api)))
    head = raw_head(server.port, path, auth(api))
    assert get.status_code == expect, get.content[:300]
    assert head.status_code == get.status_code
    assert head.content == b""
    assert int(head.headers["Content-Length"]) == len(get.content) > 0
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


@pytest.mark.parametrize("path", ["/api/v1/models/{m}", "/api/v1/models/{m}/versions/1",
                                  "/api/v1/models", "/health",
                                  MLFLOW + "/registered-models/get?name={m}"])
def test_head_on_a_get_route_answers_gets_status_and_length_without_a_body(api, server, model,
                                                                           path):
    head_matches_get(api, server, path.replace("{m}", model), expect=200)


def test_head_answers_gets_errors_without_a_body_on_both_doors(api, server, model):
    head_matches_get(api, server, "/api/v1/models/" + unique("absent"), expect=404)
    head_matches_get(api, server, f"{MLFLOW}/registered-models/get?name={unique('absent')}",
                     expect=404)


def test_head_needs_credentials_as_get_does(api, server, model):
    r = raw_head(server.port, f"/api/v1/models/{model}", {})
    assert r.status_code == 401
    assert r.content == b""


def test_head_on_a_route_without_get_is_405_and_allow_names_head_where_get_is(api, server, model):
    before = snapshot(api, model)
    r = raw_head(server.port, f"/api/v1/models/{model}/rename", auth(api))
    assert r.status_code == 405
    assert "HEAD" not in r.headers["Allow"]
    r = api.raw("PUT", f"/api/v1/models/{model}", json_body={})
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "HEAD"}
    assert snapshot(api, model) == before


# ---- two Authorization headers -----------------------------------------------------------------

def two_authorizations(api: Api, method: str, path: str, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
             f"Authorization: Bearer {api.token}", "Authorization: Bearer not-a-token",
             "Content-Type: application/json", "Connection: close"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def test_two_authorization_headers_are_400_on_the_native_door(api, server, model):
    name = unique("twoauth")
    before = snapshot(api, model)
    r = raw_request(server.port, two_authorizations(api, "POST", "/api/v1/models",
                                                    b'{"name": "%s"}' % name.encode()))
    native_error(r, 400, "INVALID_ARGUMENT")
    assert snapshot(api, model) == before
    assert api.get_model(name).status_code == 404


def test_two_authorization_headers_are_400_on_the_mlflow_door(api, server, model):
    name = unique("twoauth")
    before = snapshot(api, model)
    r = raw_request(server.port, two_authorizations(api, "POST", MLFLOW + "/registered-models/create",
                                                    b'{"name": "%s"}' % name.encode()))
    mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert snapshot(api, model) == before
    assert api.get_model(name).status_code == 404


# ---- percent-escapes that are not UTF-8 --------------------------------------------------------

def test_a_path_whose_escapes_are_not_utf8_is_400_not_u_fffd(api, server, model):
    before = snapshot(api, model)
    r = raw_request(server.port, build_request("GET", "/api/v1/models/%FF%FE", None, auth(api)))
    native_error(r, 400, "INVALID_ARGUMENT")
    r = raw_request(server.port, build_request(
        "PUT", "/api/v1/models/%FF%FE/tags/k", b'{"value": "v"}',
        {**auth(api), "Content-Type": "application/json"}))
    native_error(r, 400, "INVALID_ARGUMENT")
    r = raw_request(server.port, build_request(
        "PUT", f"/api/v1/models/{model}/tags/a%C3", b'{"value": "v"}',
        {**auth(api), "Content-Type": "application/json"}))
    native_error(r, 400, "INVALID_ARGUMENT")
    assert snapshot(api, model) == before
    # A well-formed escape still names what it decodes to.
    assert api.raw("GET", "/api/v1/models/" + "".join(f"%{b:02X}" for b in model.encode())
                   ).status_code == 200


# ---- transfer codings ------------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["gzip, chunked", "chunked, chunked", "identity", "gzip"])
def test_a_transfer_coding_other_than_chunked_is_501_on_both_doors(api, server, model, coding):
    before = snapshot(api, model)
    body = b'{"name": "%s"}' % unique("te").encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    for path, check in (("/api/v1/models", lambda r: native_error(r, 501, "UNIMPLEMENTED")),
                        (MLFLOW + "/registered-models/create",
                         lambda r: mlflow_error(r, 501, "NOT_IMPLEMENTED"))):
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api.token}\r\n"
                f"Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\n"
                "Connection: close\r\n\r\n").encode()
        check(raw_request(server.port, head + chunked))
    assert snapshot(api, model) == before


def test_transfer_encoding_chunked_in_any_case_still_works(api, server):
    name = unique("chunk")
    body = b'{"name": "%s"}' % name.encode()
    head = ("POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n").encode()
    r = raw_request(server.port, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert r.status_code == 201, r.content[:300]
    assert api.get_model(name).status_code == 200


# ---- obs-fold --------------------------------------------------------------------------------

@pytest.mark.parametrize("fold", [" ", "\t"])
def test_a_folded_header_line_is_400_on_both_doors(api, server, model, fold):
    before = snapshot(api, model)
    for path, check in (("/api/v1/models", lambda r: native_error(r, 400, "INVALID_ARGUMENT")),
                        (MLFLOW + "/registered-models/create",
                         lambda r: mlflow_error(r, 400, "INVALID_PARAMETER_VALUE"))):
        body = b'{"name": "%s"}' % unique("fold").encode()
        req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {api.token}\r\nX-Note: first\r\n{fold}second\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
        check(raw_request(server.port, req))
    assert snapshot(api, model) == before


def test_requests_on_a_keep_alive_connection_each_get_their_header_checked(api, server, model):
    """Two requests sent together: the first well-formed, the second folded."""
    ok = build_request("GET", f"/api/v1/models/{model}", None, auth(api)).replace(
        b"Connection: close\r\n", b"")
    folded = (f"GET /api/v1/models/{model} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: Bearer {api.token}\r\nX-Note: a\r\n b\r\n"
              "Connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(ok + folded)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 400 " in data[20:]


def byte_by_byte(port: int, request: bytes) -> bytes:
    """Sends `request` one byte per segment (each send flushed, Nagle off), reads to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(request)):
            sock.sendall(request[i:i + 1])
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_header_arriving_a_byte_at_a_time_is_read_and_checked_whole(api, server, model):
    """The end of the header section and an obs-fold are found however the bytes are split (the
    server searches only what each read added)."""
    ok = (f"GET /api/v1/models/{model} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          f"Authorization: Bearer {api.token}\r\n" + "X-Pad: a\r\n" * 200 +
          "Connection: close\r\n\r\n").encode()
    assert byte_by_byte(server.port, ok).startswith(b"HTTP/1.1 200 ")
    folded = ok.replace(b"X-Pad: a\r\n", b"X-Pad: a\r\n b\r\n", 1)
    assert byte_by_byte(server.port, folded).startswith(b"HTTP/1.1 400 ")


# ---- duplicate JSON keys ---------------------------------------------------------------------

def test_a_json_body_with_a_key_twice_is_400_on_the_native_door(api, model):
    first, second = unique("dk1"), unique("dk2")
    before = snapshot(api, model)
    r = api.raw("POST", "/api/v1/models", data=f'{{"name":"{first}","name":"{second}"}}')
    body = native_error(r, 400, "INVALID_ARGUMENT")
    assert "twice" in body["error"]["message"]
    r = api.raw("PATCH", f"/api/v1/models/{model}",
                data='{"description":"a","description":"b"}')
    native_error(r, 400, "INVALID_ARGUMENT")
    assert snapshot(api, model) == before
    assert api.get_model(first).status_code == 404
    assert api.get_model(second).status_code == 404


def test_a_json_body_with_a_key_twice_is_400_on_the_mlflow_door(api, model):
    first, second = unique("dk1"), unique("dk2")
    before = snapshot(api, model)
    r = api.raw("POST", MLFLOW + "/registered-models/create",
                data=f'{{"name":"{first}","name":"{second}"}}')
    mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")
    r = api.raw("POST", MLFLOW + "/registered-models/create",
                data=f'{{"name":"{first}","tags":[{{"key":"k","value":"1","value":"2"}}]}}')
    mlflow_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert snapshot(api, model) == before
    assert api.get_model(first).status_code == 404
    assert api.get_model(second).status_code == 404


# ---- C1 controls in e-mail addresses ------------------------------------------------------------

@pytest.mark.parametrize("email", ["a\u0085b@example.com", "ab@exa\u009fmple.com",
                                   "\u0080ab@example.com"])
def test_c1_control_characters_in_an_email_are_refused(api, email):
    name = unique("c1")
    r = api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user", "email": email,
                                                     "password": "correct horse"})
    native_error(r, 400, "INVALID_ARGUMENT")
    assert api.raw("GET", f"/api/v1/users/{name}").status_code == 404
    good = api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user", "email": "é@exämple.com"},
                    expect=201)
    r = api.call("PATCH", "/api/v1/users/{name}", path={"name": name}, json_body={"email": email})
    native_error(r, 400, "INVALID_ARGUMENT")
    assert api.call("GET", "/api/v1/users/{name}", path={"name": name},
                    expect=200).json()["email"] == good.json()["email"]


def test_a_password_is_measured_in_characters_not_bytes(api):
    name = unique("pw")
    api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user"}, expect=201)
    # Eight characters, sixteen bytes: long enough. Seven characters of two bytes each: too short.
    api.call("PUT", "/api/v1/users/{name}/password", path={"name": name},
             json_body={"password": "éééééééé"}, expect=204)
    r = api.call("PUT", "/api/v1/users/{name}/password", path={"name": name},
                 json_body={"password": "ééééééé"})
    native_error(r, 400, "INVALID_ARGUMENT")


# ---- token lifetimes ---------------------------------------------------------------------------

@pytest.mark.parametrize("field", [{"expires_in": "99999999999d"}, {"expires_in": "3651d"},
                                   {"expires_at": "9999-12-31T23:59:59Z"}])
def test_a_token_living_longer_than_ten_years_is_refused(api, field):
    before = api.max_seq()
    r = api.call("POST", "/api/v1/tokens", json_body={"name": unique("t"), **field})
    native_error(r, 400, "INVALID_ARGUMENT")
    assert api.max_seq() == before


def test_a_token_of_ten_years_is_issued_with_an_expiry_a_json_number_holds(api):
    r = api.call("POST", "/api/v1/tokens", json_body={"name": unique("t"), "expires_in": "3650d"},
                 expect=201)
    token = r.json()
    # The door reads the clock for expires_in a moment before the service stamps the creation.
    lifetime = token["expiration_timestamp"] - token["creation_timestamp"]
    assert 3650 * 86_400_000 - 60_000 < lifetime <= 3650 * 86_400_000
    assert token["expiration_timestamp"] < 2**53


# ---- places where docs/openapi.yaml and the server disagreed (found by tests/fuzz) ---------------

def test_a_patch_without_a_body_is_400_not_a_silent_200(api, model):
    before = snapshot(api, model)
    r = api.raw("PATCH", f"/api/v1/models/{model}", data=b"")
    native_error(r, 400, "INVALID_ARGUMENT")
    r = api.raw("PATCH", f"/api/v1/models/{model}/versions/1", data=b"")
    native_error(r, 400, "INVALID_ARGUMENT")
    assert snapshot(api, model) == before


@pytest.mark.parametrize("field", ["description", "comment"])
def test_null_for_an_optional_field_is_400_not_taken_as_absent(api, model, field):
    before = snapshot(api, model)
    name = unique("null")
    if field == "description":
        r = api.raw("POST", "/api/v1/models", json_body={"name": name, "description": None})
    else:
        r = api.raw("POST", f"/api/v1/models/{model}/versions/1/stage",
                    json_body={"stage": "Staging", "comment": None})
    body = native_error(r, 400, "INVALID_ARGUMENT")
    assert field in body["error"]["message"]
    assert snapshot(api, model) == before
    assert api.get_model(name).status_code == 404


@pytest.mark.parametrize("n", ["9007199254740992", "35491766138711212930044970540325663050"])
def test_a_version_number_beyond_2_to_53_is_400(api, spec, model, n):
    r = api.raw("GET", f"/api/v1/models/{model}/versions/{n}")
    native_error(r, 400, "INVALID_ARGUMENT")
    # The document says so: the largest version number it allows is 2^53 - 1.
    param = spec.doc["components"]["parameters"]["VersionNumber"]["schema"]
    assert param["maximum"] == 2**53 - 1 < int(n)


@pytest.mark.parametrize("path", ["/api/v1/models", "/api/v1/models/{m}/versions", "/api/v1/audit"])
def test_an_empty_page_token_is_400_not_the_first_page(api, model, path):
    r = api.raw("GET", path.replace("{m}", model) + "?page_token=")
    native_error(r, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("version", ["0", "-1"])
def test_an_audit_filter_on_version_below_1_is_400_not_no_filter(api, version):
    native_error(api.raw("GET", f"/api/v1/audit?version={version}"), 400, "INVALID_ARGUMENT")

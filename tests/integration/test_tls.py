"""HTTPS: `vouch serve --tls-cert --tls-key` with a private CA made here by the `openssl` command.

Everything a client does over plain HTTP works over TLS when it trusts the CA (requests, the CLI
with --ca-file, the MLflow client), and fails when it does not; a client that does not speak TLS
gets no HTTP answer and the server keeps serving; bad certificate files stop start-up with one line.
A server listening beyond loopback without TLS warns that credentials travel in clear text.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from vouch_testlib import (ADMIN_TOKEN, creates_through_sigterm, VouchServer, clean_env, require_binary,
                           unique, wait_until)

CLEAR_TEXT_WARNING = "without TLS: credentials"


# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass
class Pki:
    ca: Path            # the CA that signed the server's certificate
    cert: Path          # server certificate for IP:127.0.0.1 and DNS:localhost
    key: Path
    other_name_cert: Path  # by the same CA with the same key, for DNS:vouch.example only
    other_ca: Path      # a CA that signed nothing here
    other_key: Path     # a key that does not belong to `cert`
    garbage: Path       # not PEM at all


def openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)} failed:\n{r.stderr}"


def make_ca(d: Path, name: str) -> tuple[Path, Path]:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
            cwd=d)
    return d / f"{name}.pem", d / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is missing (scripts/install-deps installs it)")
    d = tmp_path_factory.mktemp("pki")
    ca, _ = make_ca(d, "test-ca")
    other_ca, other_key = make_ca(d, "other-ca")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "test-ca.pem", "-CAkey", "test-ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf", cwd=d)
    openssl("req", "-new", "-key", "server.key", "-out", "other-name.csr", "-subj",
            "/CN=vouch.example", cwd=d)
    (d / "other-name.cnf").write_text("subjectAltName=DNS:vouch.example\n")
    openssl("x509", "-req", "-in", "other-name.csr", "-CA", "test-ca.pem", "-CAkey", "test-ca.key",
            "-CAcreateserial", "-out", "other-name.pem", "-days", "2", "-extfile", "other-name.cnf",
            cwd=d)
    garbage = d / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    return Pki(ca=ca, cert=d / "server.pem", key=d / "server.key",
               other_name_cert=d / "other-name.pem", other_ca=other_ca,
               other_key=other_key, garbage=garbage)


def tls_args(pki: Pki) -> list[str]:
    return ["--tls-cert", str(pki.cert), "--tls-key", str(pki.key)]


def https_server(factory, pki: Pki, args=()) -> VouchServer:
    srv = factory(args=[*tls_args(pki), *args], start=False)
    srv.scheme = "https"
    srv.ca_file = pki.ca
    return srv.start()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, pki) -> VouchServer:
    root = tmp_path_factory.mktemp("vouch-tls")
    (root / "data").mkdir()
    srv = VouchServer(root / "data", root / "logs", token=ADMIN_TOKEN, args=tls_args(pki))
    srv.scheme = "https"
    srv.ca_file = pki.ca
    srv.start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def tls_api(tls_server, spec):
    return tls_server.api(spec)


def tls_socket(port: int, ca: Path, timeout: float = 15.0) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(ca))
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=timeout),
                           server_hostname="127.0.0.1")


def read_until_closed(sock: socket.socket, limit: int = 1 << 16) -> bytes:
    """Everything the peer sends before it closes (a reset counts as closed)."""
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    return data


# ---------------------------------------------------------------------------------------------
# Serving over TLS


def test_startup_line_prints_an_https_url(tls_server):
    assert f"serving https://127.0.0.1:{tls_server.port} " in tls_server.stdout()
    assert f"listening on https://127.0.0.1:{tls_server.port}" in tls_server.stderr()


def test_health_create_model_and_its_audit_event_over_https(tls_server, tls_api):
    r = requests.get(tls_server.base + "/health", verify=str(tls_server.ca_file), timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    # The certificate names localhost too.
    r = requests.get(f"https://localhost:{tls_server.port}/health",
                     verify=str(tls_server.ca_file), timeout=10)
    assert r.status_code == 200

    before = tls_api.max_seq()
    name = unique("tls")
    tls_api.create_model(name, description="over https")
    events = tls_api.events_after(before, model=name)
    assert [e["action"] for e in events] == ["model.created"]
    assert events[0]["actor"]["name"] == "admin"
    assert events[0]["source"]["address"] == "127.0.0.1"
    assert tls_api.get_model(name).json()["description"] == "over https"


def test_request_log_has_one_line_per_https_request(tls_server, tls_api):
    rid = "tls-log-" + unique("r")
    tls_api.raw("GET", "/health", headers={"X-Request-Id": rid})
    wait_until(lambda: f"request_id={rid}" in tls_server.stderr(), timeout=10,
               what="the request's log line")
    line = next(ln for ln in tls_server.stderr().splitlines() if f"request_id={rid}" in ln)
    assert re.search(r" GET /health 200 [0-9.]+ms request_id=\S+ peer=127\.0\.0\.1$", line), line


def test_certificate_from_another_ca_or_the_system_store_is_refused(tls_server, pki):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.base + "/health", verify=str(pki.other_ca), timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.base + "/health", timeout=10)
    assert requests.get(tls_server.base + "/health", verify=str(pki.ca), timeout=10).ok


def test_plain_http_to_the_tls_port_gets_no_http_answer_and_the_server_keeps_serving(tls_server):
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", tls_server.port), timeout=15) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = read_until_closed(sock)
        assert not data.startswith(b"HTTP/"), data[:200]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_server.port}/health", timeout=10)
    assert tls_server.running()
    assert requests.get(tls_server.base + "/health", verify=str(tls_server.ca_file),
                        timeout=10).status_code == 200


def test_keep_alive_reuses_one_tls_connection(tls_server, pki):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    conn = http.client.HTTPSConnection("127.0.0.1", tls_server.port, context=ctx, timeout=15)
    try:
        conn.request("GET", "/health")
        first = conn.getresponse()
        assert first.status == 200 and first.read()
        sock = conn.sock
        conn.request("GET", "/ready")
        second = conn.getresponse()
        assert second.status == 200 and second.read()
        assert conn.sock is sock, "the server closed a keep-alive connection"
    finally:
        conn.close()


def test_100_continue_and_the_body_limit_work_over_tls(tls_server, tls_api, pki):
    name = unique("tls-continue")
    body = json.dumps({"name": name}).encode()
    with tls_socket(tls_server.port, pki.ca) as sock:
        sock.sendall((f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {tls_api.token}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                      f"Expect: 100-continue\r\nConnection: close\r\n\r\n").encode())
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        sock.sendall(body)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 201 "), data[:300]
    assert tls_api.get_model(name).status_code == 200

    # A body over --max-body-bytes (1 MiB by default) is refused from its Content-Length.
    with tls_socket(tls_server.port, pki.ca) as sock:
        sock.sendall((f"POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {tls_api.token}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {2 << 20}\r\n"
                      f"Expect: 100-continue\r\n\r\n").encode())
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:300]
    assert b'"RESOURCE_EXHAUSTED"' in data


def test_a_client_that_connects_and_sends_nothing_is_dropped_after_the_request_timeout(
        server_factory, pki):
    srv = https_server(server_factory, pki, args=["--request-timeout", "1s"])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as sock:
        assert read_until_closed(sock) == b""
    assert time.monotonic() - started < 10
    assert requests.get(srv.base + "/health", verify=str(pki.ca), timeout=10).status_code == 200


# ---------------------------------------------------------------------------------------------
# Clients


def test_cli_verifies_the_server_certificate_against_ca_file(tls_server, pki):
    r = tls_server.cli("--ca-file", str(pki.ca), "whoami", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "admin"
    name = unique("tls-cli")
    r = tls_server.cli("models", "create", name, env={"VOUCH_CA_FILE": str(pki.ca)})
    assert r.returncode == 0, r.stderr

    for args in (["whoami"], ["--ca-file", str(pki.other_ca), "whoami"]):
        r = tls_server.cli(*args)
        assert r.returncode == 3, (args, r.stdout, r.stderr)
        assert "certificate" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_certificate_for_another_host_name_is_refused(server_factory, pki):
    srv = server_factory(args=["--tls-cert", str(pki.other_name_cert), "--tls-key", str(pki.key)],
                         start=False)
    srv.scheme = "https"
    srv.spawn()  # not start(): its readiness check would refuse the certificate too
    wait_until(lambda: "serving https://" in srv.stdout() or not srv.running(), timeout=30,
               what="the serving line")
    assert srv.running(), srv.logs()
    r = srv.cli("--ca-file", str(pki.ca), "whoami")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "certificate" in r.stderr, r.stderr
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv.base + "/health", verify=str(pki.ca), timeout=10)


def test_mlflow_client_creates_a_registered_model_over_https(tls_server, tls_api, pki,
                                                             monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    for k, v in {"MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki.ca),
                 "MLFLOW_TRACKING_TOKEN": tls_server.token,
                 "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}.items():
        monkeypatch.setenv(k, v)
    for k in ("MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_USERNAME",
              "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        monkeypatch.delenv(k, raising=False)
    client = mlflow.MlflowClient(tracking_uri=tls_server.base, registry_uri=tls_server.base)
    name = unique("tls-mlflow")
    created = client.create_registered_model(name, description="via mlflow over https")
    assert created.name == name
    assert client.get_registered_model(name).description == "via mlflow over https"
    assert tls_api.get_model(name).status_code == 200


# ---------------------------------------------------------------------------------------------
# Start-up and shutdown


@pytest.mark.parametrize("case", ["missing-cert", "missing-key", "garbage-cert", "garbage-key",
                                  "key-as-cert", "mismatched-key", "cert-without-key"])
def test_bad_certificate_or_key_stops_start_up_with_one_line(tmp_path, pki, case):
    cert, key = str(pki.cert), str(pki.key)
    args = {
        "missing-cert": ["--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", key],
        "missing-key": ["--tls-cert", cert, "--tls-key", str(tmp_path / "nope.key")],
        "garbage-cert": ["--tls-cert", str(pki.garbage), "--tls-key", key],
        "garbage-key": ["--tls-cert", cert, "--tls-key", str(pki.garbage)],
        "key-as-cert": ["--tls-cert", key, "--tls-key", key],
        "mismatched-key": ["--tls-cert", cert, "--tls-key", str(pki.other_key)],
        "cert-without-key": ["--tls-cert", cert],
    }[case]
    data = tmp_path / "data"
    r = subprocess.run([str(require_binary()), "serve", "--data-dir", str(data), "--listen",
                        "127.0.0.1:0", *args], capture_output=True, text=True, timeout=30,
                       env=clean_env({"VOUCH_BOOTSTRAP_TOKEN": ADMIN_TOKEN}),
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vouch serve: "), r.stderr
    assert "serving" not in r.stdout
    assert not data.exists(), "start-up went on past the TLS check"
    if case == "mismatched-key":
        assert "does not match the certificate" in lines[0]
    elif case.startswith("missing"):
        assert "No such file or directory" in lines[0]


def test_tls_files_from_the_environment(server_factory, pki):
    srv = server_factory(env={"VOUCH_TLS_CERT": str(pki.cert), "VOUCH_TLS_KEY": str(pki.key)},
                         start=False)
    srv.scheme = "https"
    srv.ca_file = pki.ca
    srv.start()
    assert requests.get(srv.base + "/health", verify=str(pki.ca), timeout=10).status_code == 200


def test_sigterm_over_tls_under_concurrent_requests_drains_and_exits_0(server_factory, spec, pki):
    srv = https_server(server_factory, pki)
    creates_through_sigterm(srv, spec, clients=4, want=40)


# ---------------------------------------------------------------------------------------------
# The clear-text warning


def serve_and_read_logs(tmp_path: Path, listen: str, extra: list[str],
                        verify: str | bool = True) -> tuple[str, str]:
    """Starts `vouch serve --listen <listen>`, waits until it answers, stops it; stdout, stderr."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    cmd = [str(require_binary()), "serve", "--data-dir", str(tmp_path / "data"), "--listen",
           listen, *extra]
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                env=clean_env({"VOUCH_BOOTSTRAP_TOKEN": ADMIN_TOKEN}))
    try:
        line = wait_until(lambda: proc.poll() is None and re.search(
            r"serving (https?)://\S+:(\d+) ", out.read_text()), timeout=30,
            what="the serving line")
        scheme, port = line.group(1), int(line.group(2))
        r = requests.get(f"{scheme}://127.0.0.1:{port}/health", verify=verify, timeout=10)
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    return out.read_text(), err.read_text()


def test_clear_text_warning_when_listening_beyond_loopback_without_tls(tmp_path):
    _, err = serve_and_read_logs(tmp_path, "0.0.0.0:0", [])
    warnings = [ln for ln in err.splitlines() if CLEAR_TEXT_WARNING in ln]
    assert len(warnings) == 1, err
    assert " warning " in warnings[0]
    assert "--tls-cert" in warnings[0] and "--trusted-proxies" in warnings[0]


def test_no_clear_text_warning_on_loopback_or_with_tls(tmp_path, pki, server_factory):
    plain = server_factory()
    assert CLEAR_TEXT_WARNING not in plain.stderr()
    _, err = serve_and_read_logs(tmp_path, "0.0.0.0:0", tls_args(pki), verify=str(pki.ca))
    assert CLEAR_TEXT_WARNING not in err

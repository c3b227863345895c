"""Witnessing (issue 14) against transparency-dev's witness, which no one here wrote.

`scripts/witness-build` builds its `omniwitness` and `generate_keys` from the module pinned in
tests/interop/witness (and `checkcosigned`, which checks a cosigned checkpoint with
transparency-dev/formats). Each test runs an omniwitness on a loopback port that knows vouch's log
(origin and verifier key) and a vouch server given `--witness URL --witness-key VKEY`; a
checkpoint made on demand is submitted with its consistency proof, and the cosignature the
witness returns is checked, stored and served with the checkpoint.
"""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from vouch_testlib import (ADMIN_TOKEN, REPO, clean_env, free_port, unique, vouch_bin,
                           wait_until)

WITNESS_NAME = "witness.test/vouch-witness"
EM_DASH = "\u2014 "


@pytest.fixture(scope="module")
def witness_tools() -> Path:
    """build/witness/: omniwitness, generate_keys, checkcosigned (built once, then cached)."""
    done = subprocess.run([str(REPO / "scripts" / "witness-build")], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"scripts/witness-build failed:\n{done.stderr}"
    return Path(done.stdout.strip())


def generate_key(tools: Path, name: str) -> tuple[str, str]:
    """A witness key pair made by the witness's own generate_keys: (signer key, cosignature/v1
    verifier key)."""
    out = subprocess.run([str(tools / "generate_keys"), "--origin", name, "--print"],
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out[0].startswith("PRIVATE+KEY+") and out[1].startswith(name + "+"), out
    return out[0], out[1]


class Witness:
    """One omniwitness process on a loopback port, in memory (no --db_file)."""

    def __init__(self, tools: Path, workdir: Path, signer_key: str):
        self.tools = tools
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.key_file = workdir / "witness.key"
        self.key_file.write_text(signer_key)
        self.key_file.chmod(0o600)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, origin: str, log_key: str) -> None:
        logs = self.workdir / "logs.yaml"
        logs.write_text(f"Logs:\n  - Origin: {origin}\n    PublicKey: {log_key}\n")
        self.log_path = self.workdir / "omniwitness.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(self.tools / "omniwitness"), "--listen", f"127.0.0.1:{self.port}",
                 "--metrics_listen=", "--private_key_path", str(self.key_file),
                 "--additional_logs", str(logs)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def listening() -> bool:
            assert self.proc.poll() is None, f"omniwitness exited:\n{self.log_path.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(listening, 60, what="omniwitness to listen")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def witness_factory(witness_tools, tmp_path):
    made: list[Witness] = []

    def make(signer_key: str) -> Witness:
        w = Witness(witness_tools, tmp_path / f"witness{len(made) + 1}", signer_key)
        made.append(w)
        return w
    yield make
    for w in made:
        w.close()


def log_key_and_origin(api) -> tuple[str, str]:
    """The log's current verifier key (the last one listed) and its name, the origin."""
    r = api.raw("GET", "/api/v1/audit/keys?format=text", token=None)
    assert r.status_code == 200, r.text
    keys = [line for line in r.text.splitlines() if line]
    assert keys, r.text
    return keys[-1], keys[-1].split("+")[0]


def checkpoint_text(api) -> str:
    r = api.raw("GET", "/api/v1/audit/log/checkpoint", token=None)
    assert r.status_code == 200, r.text
    return r.text


def make_checkpoint(api) -> int:
    """Some events, then a checkpoint on demand; returns its tree size."""
    api.create_model(unique("witnessed"))
    r = api.raw("POST", "/api/v1/audit/checkpoints")
    assert r.status_code in (200, 201), r.text
    return int(r.json()["size"])


def cosignature_lines(text: str, name: str = WITNESS_NAME) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(EM_DASH + name + " ")]


def cosigned_checkpoint(api, size: int) -> str | None:
    """The served checkpoint when it is of `size` or larger and carries the witness's
    cosignature."""
    text = checkpoint_text(api)
    return text if int(text.splitlines()[1]) >= size and cosignature_lines(text) else None


def metric(api, name: str) -> float:
    r = api.raw("GET", "/metrics")
    assert r.status_code == 200, r.text
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics:\n{r.text}")


def check_with_formats(tools: Path, text: str, origin: str, log_key: str,
                       witness_key: str) -> str:
    done = subprocess.run([str(tools / "checkcosigned"), "-origin", origin, "-log-key", log_key,
                           "-witness-key", witness_key], input=text, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"{done.stderr}\n{text}"
    return done.stdout


def test_checkpoints_are_cosigned_by_transparency_devs_witness(server_factory, spec,
                                                               witness_factory, witness_tools):
    signer, verifier = generate_key(witness_tools, WITNESS_NAME)
    witness = witness_factory(signer)
    server = server_factory(args=["--witness", witness.url, "--witness-key", verifier])
    api = server.api(spec)
    log_key, origin = log_key_and_origin(api)
    witness.start(origin, log_key)

    # The first submission ("old 0"): the witness trusts it on first use and cosigns. (A
    # checkpoint made at start, before the witness ran, may have failed: it is retried.)
    first = make_checkpoint(api)
    text = wait_until(lambda: cosigned_checkpoint(api, first), 60,
                      what="the first checkpoint's cosignature")
    assert f"cosigned by {WITNESS_NAME}" in check_with_formats(
        witness_tools, text, origin, log_key, verifier)

    # The next one goes with a consistency proof from the first, which the witness checks.
    second = make_checkpoint(api)
    assert second > first
    text = wait_until(lambda: cosigned_checkpoint(api, second), 60,
                      what="the second checkpoint's cosignature")
    assert f"cosigned by {WITNESS_NAME}" in check_with_formats(
        witness_tools, text, origin, log_key, verifier)
    assert len(cosignature_lines(text)) == 1
    assert metric(api, "vouch_witness_cosignatures_total") >= 2

    # A restarted server has forgotten the witness's size: "old 0" gets 409 with the witness's
    # size, and the submission is made once more from there.
    server.restart()
    third = make_checkpoint(api)
    text = wait_until(lambda: cosigned_checkpoint(api, third), 60,
                      what="a cosignature after the restart")
    check_with_formats(witness_tools, text, origin, log_key, verifier)
    assert metric(api, "vouch_witness_failures_total") == 0
    assert "(409); submitting from there" in server.logs()


def test_a_cosignature_by_another_key_is_not_kept(server_factory, spec, witness_factory,
                                                  witness_tools):
    signer, _ = generate_key(witness_tools, WITNESS_NAME)
    _, configured = generate_key(witness_tools, WITNESS_NAME)  # same name, another key
    witness = witness_factory(signer)
    server = server_factory(args=["--witness", witness.url, "--witness-key", configured])
    api = server.api(spec)
    log_key, origin = log_key_and_origin(api)
    witness.start(origin, log_key)
    size = make_checkpoint(api)
    wait_until(lambda: "no cosignature by a configured witness key" in server.logs(), 60,
               what="the witness's cosignature to be refused")
    assert metric(api, "vouch_witness_failures_total") >= 1
    assert metric(api, "vouch_witness_cosignatures_total") == 0
    assert metric(api, "vouch_witness_behind") == 1
    text = checkpoint_text(api)
    assert int(text.splitlines()[1]) >= size
    assert cosignature_lines(text) == []


def test_witness_flags_are_checked_before_anything_starts(tmp_path):
    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(vouch_bin()), "serve", "--data-dir", str(tmp_path / "d"),
                               "--listen", f"127.0.0.1:{free_port()}", *args],
                              capture_output=True, text=True, timeout=60,
                              env=clean_env({"VOUCH_BOOTSTRAP_TOKEN": ADMIN_TOKEN}))

    done = serve("--witness", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "--witness needs --witness-key" in done.stderr
    done = serve("--witness-key", "w+01020304+AQID")
    assert done.returncode == 1
    assert "--witness-key needs --witness" in done.stderr
    done = serve("--witness", "ftp://witness.example", "--witness-key", "w+01020304+AQID")
    assert done.returncode == 1
    assert "--witness must be an http:// or https:// URL" in done.stderr
    done = serve("--witness", "http://127.0.0.1:9", "--witness-key", "w+01020304+AQID")
    assert done.returncode == 1
    assert "--witness-key" in done.stderr
    assert not (tmp_path / "d").exists()

"""The audit log's Merkle tree served to clients that do not trust the server (issue 14): C2SP
tlog-tiles hash tiles and entry bundles, inclusion and consistency proofs, `vouch audit prove`,
`vouch audit verify FILE --key` and `vouch audit verify --server URL`. The hashes are recomputed
here in Python from the entries (RFC 9162), so nothing of vouch's own hashing is trusted.
Store-agnostic: HTTP and the CLI only."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from vouch_testlib import Api, unique

LOG = "/api/v1/audit/log"


def leaf_hash(b: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + b).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def decode_bundle(data: bytes) -> list[bytes]:
    out = []
    while data:
        n = int.from_bytes(data[:2], "big")
        out.append(data[2:2 + n])
        data = data[2 + n:]
    return out


def create_user(api: Api, role: str | None = None) -> tuple[str, str]:
    name = unique("u")
    api.call("POST", "/api/v1/users", json_body={"name": name, "kind": "user"}, expect=201)
    if role:
        api.call("PUT", "/api/v1/roles/{role}/users/{user}", path={"role": role, "user": name},
                 expect=204)
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": name}).json()["token"]
    return name, token


def make_checkpoint(api: Api) -> dict:
    return api.call("POST", "/api/v1/audit/checkpoints", expect=200).json()


def checkpoint_text(api: Api) -> str:
    r = api.raw("GET", LOG + "/checkpoint", token=None)
    assert r.status_code == 200, r.text
    return r.text


def size_of(note: str) -> int:
    return int(note.split("\n")[1])


def all_entries(api: Api, size: int) -> list[bytes]:
    out: list[bytes] = []
    for first in range(0, size, 256):
        w = min(256, size - first)
        idx = f"{first // 256:03d}"
        path = f"{LOG}/tile/entries/{idx}" + (f".p/{w}" if w < 256 else "")
        r = api.raw("GET", path)
        assert r.status_code == 200, r.text
        out += decode_bundle(r.content)
    return out


@pytest.fixture(scope="module")
def log(api) -> dict:
    """A model with a few versions and a checkpoint covering them."""
    model = unique("proved")
    api.create_model(model)
    for _ in range(3):
        api.create_version(model)
    make_checkpoint(api)
    note = checkpoint_text(api)
    return {"model": model, "note": note, "size": size_of(note)}


@pytest.fixture(scope="module")
def vkey(api) -> str:
    r = api.raw("GET", "/api/v1/audit/keys", params={"format": "text"}, token=None)
    assert r.status_code == 200, r.text
    keys = [line for line in r.text.splitlines() if line.count("+") >= 2]
    assert keys, r.text
    return keys[-1]


def test_hash_tiles_are_public_bytes_that_the_entries_hash_to(api, log):
    size = log["size"]
    leaves = all_entries(api, size)
    assert len(leaves) == size
    assert [json.loads(e)["seq"] for e in leaves] == list(range(1, size + 1))
    # Level 0 holds the leaf hashes; its partial tile as wide as the tree.
    r = api.raw("GET", f"{LOG}/tile/0/000.p/{size}", token=None)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "immutable" not in r.headers.get("Cache-Control", "")
    assert r.content == b"".join(leaf_hash(e) for e in leaves)
    # And the checkpoint's root is the tree hash of those leaves.
    root = base64.b64decode(log["note"].split("\n")[2])
    assert tree_hash([leaf_hash(e) for e in leaves[:size]]) == root


@pytest.mark.parametrize("path,status", [
    ("tile/0/000", 404),           # a full tile the tree does not have yet
    ("tile/0/000.p/255", 404),     # wider than the tree has
    ("tile/1/000.p/1", 404),       # no level-8 hash in a tree under 256
    ("tile/0/1234", 400),          # groups of three digits
    ("tile/0/x001", 400),          # the last group has no x
    ("tile/0/000.p/0", 400),       # widths 1..255
    ("tile/00/000", 400),          # no leading zeros in L
])
def test_a_tile_the_tree_lacks_is_404_and_a_malformed_path_400(api, log, path, status):
    r = api.raw("GET", f"{LOG}/{path}", token=None)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == ("NOT_FOUND" if status == 404 else "INVALID_ARGUMENT")


def test_entry_bundles_need_the_auditor_role_or_admin(api, log):
    path = f"{LOG}/tile/entries/000.p/{log['size']}"
    assert api.raw("GET", path, token=None).status_code == 401
    _, plain = create_user(api)
    r = api.raw("GET", path, token=plain)
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    _, auditor = create_user(api, "auditor")
    r = api.raw("GET", path, token=auditor)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert len(decode_bundle(r.content)) == log["size"]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, written here from the RFC."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_an_inclusion_proof_verifies_against_the_checkpoint(api, log):
    size = log["size"]
    for seq in range(1, size + 1):
        body = api.call("GET", "/api/v1/audit/proof/inclusion",
                        params={"seq": seq, "size": size}, expect=200).json()
        assert body["index"] == seq - 1 and body["size"] == size
        assert body["checkpoint"].startswith(log["note"].split("\n\n")[0])
        root = base64.b64decode(body["root"])
        proof = [base64.b64decode(h) for h in body["hashes"]]
        assert verify_inclusion(seq - 1, size, leaf_hash(body["event"].encode()), proof, root)
        assert json.loads(body["event"])["seq"] == seq


def test_a_proof_is_against_a_checkpointed_size_only(api, log):
    api.call("GET", "/api/v1/audit/proof/inclusion", params={"seq": 1, "size": log["size"] + 10**6},
             expect=404, code="NOT_FOUND")
    api.call("GET", "/api/v1/audit/proof/inclusion", params={"seq": log["size"] + 10**6},
             expect=404, code="NOT_FOUND")
    api.call("GET", "/api/v1/audit/proof/inclusion", params={"seq": 0}, expect=400,
             code="INVALID_ARGUMENT")
    api.call("GET", "/api/v1/audit/proof/consistency", params={"from": log["size"] + 1,
                                                                "to": log["size"]},
             expect=400, code="INVALID_ARGUMENT")


def test_proving_an_event_needs_read_access_to_it_as_the_audit_list(api, log):
    name, token = create_user(api)
    # No model named: the whole log is for admins and auditors.
    api.call("GET", "/api/v1/audit/proof/inclusion", params={"seq": 1}, token=token, expect=403,
             code="PERMISSION_DENIED")
    # An event of a model the caller reads (the server's default is READ): proved.
    events = api.call("GET", "/api/v1/audit", params={"model": log["model"]}, token=token,
                      expect=200).json()["events"]
    seq = events[0]["seq"]
    body = api.call("GET", "/api/v1/audit/proof/inclusion",
                    params={"seq": seq, "model": log["model"]}, token=token, expect=200).json()
    assert json.loads(body["event"])["seq"] == seq
    # An event that is not of that model: refused, whatever the model the caller names.
    other = next(s for s in range(1, log["size"] + 1)
                 if s not in {e["seq"] for e in events})
    api.call("GET", "/api/v1/audit/proof/inclusion",
             params={"seq": other, "model": log["model"]}, token=token, expect=403,
             code="PERMISSION_DENIED")


def test_a_consistency_proof_is_public(api, log):
    body = api.call("GET", "/api/v1/audit/proof/consistency", params={"from": 1}, token=None,
                    expect=200).json()
    assert body["from"] == 1 and body["to"] >= log["size"]
    assert body["checkpoint"].split("\n")[1] == str(body["to"])


# ----- the CLI


def test_prove_writes_a_proof_file_that_verify_checks_offline(server, api, log, vkey, tmp_path):
    out = tmp_path / "p.tlog-proof"
    r = server.cli("audit", "prove", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    assert "\nindex 1\n" in text
    # Offline: no server, no credentials.
    r = server.cli("audit", "verify", str(out), "--key", vkey, server=None, token=None)
    assert r.returncode == 0, r.stderr
    assert "event seq 2 is in the log" in r.stdout


def test_verify_names_an_altered_event_and_an_unknown_key(server, api, log, vkey, tmp_path):
    out = tmp_path / "p.tlog-proof"
    assert server.cli("audit", "prove", "3", "--out", str(out)).returncode == 0
    lines = out.read_text().split("\n")
    event = base64.b64decode(lines[1].removeprefix("extra "))
    altered = event.replace(b'"seq":3', b'"seq":3,"x":1')
    edited = tmp_path / "e.tlog-proof"
    lines[1] = "extra " + base64.b64encode(altered).decode()
    edited.write_text("\n".join(lines))
    r = server.cli("audit", "verify", str(edited), "--key", vkey, server=None, token=None)
    assert r.returncode == 1 and "event seq 3 altered" in r.stderr, r.stderr
    # The event given beside the file is what counts.
    ev = tmp_path / "event.json"
    ev.write_bytes(event + b"\n")
    r = server.cli("audit", "verify", str(edited), "--key", vkey, "--event", str(ev), server=None,
                   token=None)
    assert r.returncode == 0, r.stderr
    # A key the log never used.
    other = vkey.split("+")[0] + "+00000000+" + base64.b64encode(b"\x01" + b"k" * 32).decode()
    r = server.cli("audit", "verify", str(out), "--key", other, server=None, token=None)
    assert r.returncode == 2  # not a valid key: its id does not match
    r = server.cli("audit", "verify", str(out), server=None, token=None)
    assert r.returncode == 2 and "--key" in r.stderr


def test_verify_server_checks_the_whole_log_and_a_saved_checkpoint(server, api, log, vkey,
                                                                   tmp_path):
    saved = tmp_path / "saved.checkpoint"
    saved.write_text(checkpoint_text(api))
    api.create_version(log["model"])
    make_checkpoint(api)
    r = server.cli("audit", "verify", "--server", server.base, "--key", vkey, "--checkpoint",
                   str(saved), server=None)
    assert r.returncode == 0, r.stderr
    assert "log intact" in r.stdout and "consistent with the saved checkpoint" in r.stdout


def test_verify_server_refuses_a_checkpoint_not_signed_by_the_given_key(server, log, tmp_path):
    r = server.cli("dev", "tlog", "keygen", "--name", log["note"].split("\n")[0], server=None,
                   token=None)
    assert r.returncode == 0, r.stderr
    foreign = r.stdout.splitlines()[1]
    r = server.cli("audit", "verify", "--server", server.base, "--key", foreign, server=None)
    assert r.returncode == 1 and "unknown key" in r.stderr, r.stderr


def test_verify_server_without_the_auditor_role_is_refused(server, api, log):
    _, plain = create_user(api)
    r = server.cli("audit", "verify", "--server", server.base, server=None, token=plain)
    assert r.returncode == 1 and "PERMISSION_DENIED" in r.stderr, r.stderr


def test_the_global_server_never_selects_verify_server(server):
    r = server.cli("audit", "verify", env={"VOUCH_SERVER": server.base}, server=None)
    assert r.returncode == 2, r.stderr
    r = server.cli("audit", "verify")  # --server before the command is the global option
    assert r.returncode == 2, r.stderr


def test_verify_server_unreachable_is_3(server, tmp_path):
    r = server.cli("audit", "verify", "--server", "http://127.0.0.1:9", server=None)
    assert r.returncode == 3, r.stderr

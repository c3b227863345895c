"""The audit log's Merkle tree (issue 14) through the real binary, on the suite's store: `vouch
audit verify` prints the RFC 9162 root of the stored events (recomputed here from the stored bytes
alone); a registry from before the tree gets it built once at the next start, which says how many
events it hashed; a stored tree hash altered behind the server's back is named by verify; and the
benchmark-only `--bench-audit-tree-off` leaves a store that no server starts on again and that
never verifies."""
from __future__ import annotations

import hashlib
import json
import re

from vouch_testlib import (POSTGRES_STATE_FILE, mark_damaged, postgres_cluster, require_binary,
                           run_cli, unique)

ROOT = re.compile(r"^ok: (\d+) events, Merkle root ([0-9a-f]{64})\b", re.M)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written from the definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(tree_hash(leaves[:k]), tree_hash(leaves[k:]))


def stored_bodies(srv) -> list[bytes]:
    return [row[0].encode() for row in srv.sql("SELECT body FROM audit_events ORDER BY seq")]


def verify(srv, *extra: str):
    """`vouch audit verify` on the server's store (the data directory, or its PostgreSQL
    database)."""
    state = srv.data_dir / POSTGRES_STATE_FILE
    if state.is_file():
        args = ["--store", postgres_cluster().dsn(json.loads(state.read_text())["database"])]
    else:
        args = ["--data-dir", str(srv.data_dir)]
    return run_cli([str(require_binary()), "audit", "verify", *args, *extra])


def make_some_changes(srv, spec, n: int = 3) -> None:
    api = srv.api(spec)
    for _ in range(n):
        name = unique("tree")
        api.create_model(name)
        api.create_version(name)


def forget_tree(srv) -> None:
    """Leaves the store as a registry from before migration 15 (events, no tree)."""
    if srv.store_kind == "postgres":
        srv.sql("ALTER TABLE audit_hashes DISABLE TRIGGER USER")
        srv.sql("DELETE FROM audit_hashes")
        srv.sql("ALTER TABLE audit_hashes ENABLE TRIGGER USER")
        srv.sql("UPDATE audit_head SET tree_size = 0, tree_edge = ''")
        return
    srv.sql("DROP TRIGGER audit_hashes_no_delete")
    srv.sql("DELETE FROM audit_hashes")
    srv.sql("CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes "
            "BEGIN SELECT RAISE(ABORT, 'audit tree hashes are append-only'); END")
    srv.sql("UPDATE audit_tree SET size = 0, edge = X''")


def test_verify_prints_the_merkle_root_of_the_stored_events(server_factory, spec):
    srv = server_factory()
    make_some_changes(srv, spec)
    r = verify(srv)
    assert r.returncode == 0, r.stderr
    m = ROOT.search(r.stdout)
    assert m, r.stdout
    bodies = stored_bodies(srv)
    assert int(m.group(1)) == len(bodies)
    assert m.group(2) == tree_hash(bodies).hex()
    # --chain-digest: the hash chain earlier versions printed, over the same bytes.
    chain = bytes(32)
    for body in bodies:
        chain = hashlib.sha256(chain + hashlib.sha256(body).digest()).digest()
    r = verify(srv, "--chain-digest")
    assert r.returncode == 0, r.stderr
    assert f"hash-chain log digest (what vouch printed before the Merkle log): {chain.hex()}" \
        in r.stdout
    r = verify(srv, "--chain-digest", "-o", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["root"] == tree_hash(bodies).hex() and out["chain_digest"] == chain.hex()


def test_a_registry_from_before_the_tree_gets_it_built_once_at_start(server_factory, spec):
    srv = server_factory()
    make_some_changes(srv, spec, 5)
    assert srv.terminate() == 0
    before = stored_bodies(srv)
    forget_tree(srv)
    # Without its tree the store does not verify ...
    # (the engine's summary names the first event the tree lacks; the stored-tree check, listed
    # on stdout with every problem, the stored hash that is missing)
    r = verify(srv)
    assert r.returncode == 1
    assert "event 1 and any after it are not in the stored tree (it holds 0 leaves)" in r.stderr, \
        r.stderr
    assert "the stored audit tree hash at level 0, index 0 (events 1..1) is missing" in r.stdout, \
        r.stdout
    # ... and the next start builds it before serving, and says so.
    srv.start()
    assert re.search(rf"built the audit log's Merkle tree: hashed {len(before)} events in \d+ ms",
                     srv.logs()), srv.logs()
    r = verify(srv)
    assert r.returncode == 0, r.stderr
    after = stored_bodies(srv)
    assert ROOT.search(r.stdout).group(2) == tree_hash(after).hex()
    # Appends carry on from the built tree; a second start builds nothing.
    make_some_changes(srv, spec, 1)
    srv.restart()
    assert "built the audit log's Merkle tree" not in srv.logs()
    r = verify(srv)
    assert r.returncode == 0, r.stderr
    assert ROOT.search(r.stdout).group(2) == tree_hash(stored_bodies(srv)).hex()


def test_verify_names_a_stored_tree_hash_altered_behind_the_servers_back(server_factory, spec):
    srv = server_factory()
    make_some_changes(srv, spec)
    assert srv.terminate() == 0
    mark_damaged(srv.data_dir, "a stored audit tree hash was altered on purpose")
    if srv.store_kind == "postgres":
        srv.sql("ALTER TABLE audit_hashes DISABLE TRIGGER USER")
        srv.sql("UPDATE audit_hashes SET hash = decode(repeat('00', 32), 'hex') "
                "WHERE level = 0 AND idx = 2")
        srv.sql("ALTER TABLE audit_hashes ENABLE TRIGGER USER")
    else:
        srv.sql("DROP TRIGGER audit_hashes_no_update")
        srv.sql("UPDATE audit_hashes SET hash = zeroblob(32) WHERE level = 0 AND idx = 2")
    # The summary names the event whose leaf differs; the full list on stdout also names the
    # stored hash itself.
    r = verify(srv)
    assert r.returncode == 1
    assert "event 3 altered: its bytes are not the leaf the tree stored at index 2" in r.stderr, \
        r.stderr
    assert ("the stored audit tree hash at level 0, index 2 (events 3..3) differs from the hash of "
            "the stored events") in r.stdout, r.stdout


def test_the_benchmark_switch_leaves_a_store_no_server_starts_on_and_verify_refuses(
        server_factory, spec):
    srv = server_factory(start=False, args=["--bench-audit-tree-off"])
    mark_damaged(srv.data_dir, "written with --bench-audit-tree-off (benchmarks only)")
    srv.start()
    assert "BENCHMARK MODE: audit tree updates are off" in srv.logs()
    make_some_changes(srv, spec, 1)
    assert srv.terminate() == 0
    r = verify(srv)
    assert r.returncode == 1
    assert "switched off" in r.stderr, r.stderr
    # A normal start refuses it, naming why.
    srv.args = []
    proc = srv.spawn()
    assert proc.wait(60) != 0
    assert "the audit tree of this store was switched off" in srv.logs(), srv.logs()
    # The switch is not in --help.
    r = run_cli([str(require_binary()), "serve", "--help"])
    assert "bench-audit-tree-off" not in r.stdout

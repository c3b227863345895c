"""`vouch audit export` and `vouch audit verify DIR` (issue 14): the export holds each event's
stored bytes, one a line in seq order, from which the Merkle root is recomputed here independently
(RFC 9162 in a few lines of Python); the derived formats carry every event; an export whose lines
were deleted, swapped, edited or cut is refused naming the event, exit 1; usage errors exit 2.
An export of a log whose checkpoints a server signed, by two keys (a rotation between them),
verifies against each checkpoint, the published keys and a checkpoint saved from the server; one
changed byte, a checkpoint's root replaced, or lines cut below the latest checkpoint are named.

Runs on the suite's store (SQLite or PostgreSQL): export reads either directly, read-only, while
the server runs."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

import vouch_testlib
from vouch_testlib import require_binary, run_cli, unique


def store_args(srv) -> list[str]:
    if srv.store_kind == "postgres":
        return ["--store", srv.postgres()["dsn"]]
    return ["--data-dir", str(srv.data_dir)]


def vouch(*args: str):
    return run_cli([str(require_binary()), *args], timeout=120)


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, as written: MTH({}) = SHA-256(), leaves 0x00, nodes 0x01."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


@pytest.fixture(scope="module")
def busy(server, api):
    """A log with a few kinds of events: models, versions, a stage change, a tag."""
    for i in range(3):
        name = unique(f"exported{i}")
        api.create_model(name, description=f"model {i}, with \"quotes\", commas and =formulas")
        api.create_version(name)
    return server


def export(srv, out: Path, *formats: str):
    args = ["audit", "export", *store_args(srv), "--out", str(out)]
    for f in formats:
        args += ["--format", f]
    r = vouch(*args)
    assert r.returncode == 0, r.stderr
    return r


def lines_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def test_an_export_holds_the_stored_bytes_and_recomputes_to_the_printed_root(busy, tmp_path):
    out = tmp_path / "export"
    r = export(busy, out, "csv", "cloudtrail", "ocsf")
    leaves = lines_of(out / "events.jsonl")
    events = [json.loads(line) for line in leaves]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len(events) >= 7
    for line, event in zip(leaves, events):
        # Canonical: the line is exactly the compact, sorted serialisation (no floats here).
        assert line == json.dumps(event, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False).encode()
    root = merkle_root(leaves).hex()
    assert f"exported {len(events)} events" in r.stdout and f"Merkle root {root}" in r.stdout
    v = vouch("audit", "verify", str(out))
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.startswith(f"ok: {len(events)} events, Merkle root {root}")
    j = vouch("-o", "json", "audit", "verify", str(out))
    assert j.returncode == 0
    report = json.loads(j.stdout)
    assert report["verified"] is True and report["root"] == root
    assert report["findings"] == []
    # No other file of the export ends in .jsonl.
    assert [p.name for p in out.rglob("*.jsonl")] == ["events.jsonl"]

    with open(out / "events.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["seq"]) for row in rows] == [e["seq"] for e in events]
    assert [row["action"] for row in rows] == [e["action"] for e in events]

    records = json.loads((out / "cloudtrail.json").read_text())["Records"]
    assert len(records) == len(events)
    for rec, e in zip(records, events):
        assert set(rec) >= {"eventVersion", "userIdentity", "eventTime", "eventSource",
                            "eventName", "requestParameters", "responseElements", "eventID"}
        assert rec["eventName"] == e["action"]
        assert rec["additionalEventData"]["seq"] == e["seq"]
        assert rec["eventTime"] == e["time"].split(".")[0] + "Z"
    assert len({rec["eventID"] for rec in records}) == len(records)

    activities = json.loads((out / "ocsf.json").read_text())
    assert len(activities) == len(events)
    for a, e in zip(activities, events):
        assert a["class_uid"] == 6003 and a["category_uid"] == 6
        assert a["type_uid"] == 600300 + a["activity_id"]
        assert a["api"]["operation"] == e["action"] and a["metadata"]["sequence"] == e["seq"]
        assert a["time"] == e["time_ms"]


def tampered_copy(busy, tmp_path, name: str, change) -> Path:
    out = tmp_path / name
    export(busy, out)
    leaves = lines_of(out / "events.jsonl")
    leaves = change(leaves)
    (out / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in leaves))
    return out


def refused(out: Path, *extra: str) -> str:
    r = vouch("audit", "verify", str(out), *extra)
    assert r.returncode == 1, r.stdout + r.stderr
    return r.stdout + r.stderr


def test_a_deleted_line_is_a_missing_event(busy, tmp_path):
    out = tampered_copy(busy, tmp_path, "deleted", lambda ls: ls[:3] + ls[4:])
    assert "event 4 missing" in refused(out)


def test_swapped_lines_are_a_reordered_event(busy, tmp_path):
    out = tampered_copy(busy, tmp_path, "swapped", lambda ls: ls[:2] + [ls[3], ls[2]] + ls[4:])
    assert "event 3 reordered: it stands at line 4, after event 4" in refused(out)


def test_a_repeated_line_is_appended_out_of_order(busy, tmp_path):
    out = tampered_copy(busy, tmp_path, "repeated", lambda ls: ls + [ls[1]])
    assert "event 2 appears again at line" in refused(out)


def test_a_line_edited_out_of_canonical_form_is_named(busy, tmp_path):
    def edit(ls):
        ls[4] = ls[4].replace(b'":', b'": ', 1)
        return ls
    out = tampered_copy(busy, tmp_path, "edited", edit)
    assert "audit event 5: the body is not in canonical (RFC 8785) form" in refused(out)


def test_an_export_whose_last_line_is_cut_is_refused(busy, tmp_path):
    out = tmp_path / "cut"
    export(busy, out)
    data = (out / "events.jsonl").read_bytes()
    (out / "events.jsonl").write_bytes(data[:-10])
    assert "events.jsonl does not end in a newline: its last line is cut" in refused(out)


def test_usage_errors_exit_2_and_write_nothing(busy, tmp_path):
    r = vouch("audit", "verify")
    assert r.returncode == 2, r.stderr
    not_export = tmp_path / "empty"
    not_export.mkdir()
    r = vouch("audit", "verify", str(not_export))
    assert r.returncode == 2 and "is not an export directory" in r.stderr
    r = vouch("audit", "export", *store_args(busy), "--out", str(tmp_path / "x"), "--format", "xml")
    assert r.returncode == 2
    assert "unknown export format \"xml\": give jsonl, csv, cloudtrail or ocsf" in r.stderr
    assert not (tmp_path / "x" / "events.jsonl").exists()
    r = vouch("audit", "export", "--out", str(tmp_path / "y"))
    assert r.returncode == 2
    out = tmp_path / "twice"
    export(busy, out)
    r = vouch("audit", "export", *store_args(busy), "--out", str(out))
    assert r.returncode == 1 and "is not empty" in r.stderr
    r = vouch("audit", "verify", str(out), "--key", "not-a-key")
    assert r.returncode == 2 and "--key not-a-key" in r.stderr


# ---- An export whose checkpoints a real server signed, by two keys

# No leader checkpoint but the first (of a log that has none): the rest are made on demand here.
QUIET_CHECKPOINTS = ["--checkpoint-interval", "24h", "--checkpoint-events", "1000000"]


def note_size(note: str) -> int:
    return int(note.split("\n")[1])


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A server's log with checkpoints at three sizes or more: one on demand (also saved as a
    client would save it, from /api/v1/audit/log/checkpoint), the rotation's (the old key's last),
    and the new key's on demand; then an event, and its export. Returns (server, export dir, saved checkpoint
    file, the keys as published, the sizes checkpointed on demand and by the rotation)."""
    root = tmp_path_factory.mktemp("signed")
    (root / "data").mkdir()
    srv = vouch_testlib.VouchServer(root / "data", root / "logs", token=vouch_testlib.ADMIN_TOKEN,
                                    args=QUIET_CHECKPOINTS)
    srv.start()
    try:
        api = srv.api(vouch_testlib.Spec())
        for i in range(3):
            name = unique(f"signed{i}")
            api.create_model(name)
            api.create_version(name)
        first = srv.cli("audit", "checkpoint")
        assert first.returncode == 0, first.stderr
        saved = root / "saved-checkpoint"
        saved.write_text(api.call("GET", "/api/v1/audit/log/checkpoint", token=None,
                                  expect=200).text)
        assert saved.read_text() == first.stdout
        api.create_model(unique("signed-rotation"))
        assert srv.cli("audit", "rotate-key").returncode == 0
        rotation = api.events(action="audit.key_rotated")[0]["seq"]
        for i in range(3):
            api.create_model(unique(f"signed-new{i}"))
        last = srv.cli("audit", "checkpoint")
        assert last.returncode == 0, last.stderr
        api.create_model(unique("signed-unsigned"))  # the log goes on past its latest checkpoint
        keys = api.call("GET", "/api/v1/audit/keys", token=None, expect=200).json()["keys"]
        out = root / "export"
        export(srv, out)
    finally:
        srv.close()
    sizes = [note_size(first.stdout), rotation, note_size(last.stdout)]
    assert sizes == sorted(set(sizes)), sizes
    return srv, out, saved, keys, sizes


def checkpoint_files(out: Path) -> dict[int, str]:
    return {int(p.name): p.read_text() for p in (out / "checkpoints").iterdir()}


def test_an_export_of_a_log_with_signed_checkpoints_verifies_with_each_of_them(signed, tmp_path):
    _, out, saved, keys, sizes = signed
    files = checkpoint_files(out)
    assert set(sizes) <= set(files), (sizes, sorted(files))
    assert max(files) == sizes[-1]
    old, new = keys
    assert old["signing"] is False and new["signing"] is True
    assert (out / "keys.txt").read_text() == old["verifier_key"] + "\n" + new["verifier_key"] + "\n"
    # Signed by two keys: the first and the rotation's by the old one, the last by the new one.
    for size, key in ((sizes[0], old), (sizes[1], old), (sizes[2], new)):
        signature = files[size].split("\n\n", 1)[1]
        name, key_id = key["verifier_key"].split("+")[:2]
        assert signature.startswith(f"\u2014 {name} "), signature
        assert base64.b64decode(signature.split()[2])[:4].hex() == key_id
    events = len(lines_of(out / "events.jsonl"))
    assert events > sizes[-1]

    v = vouch("audit", "verify", str(out))
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.startswith(f"ok: {events} events, Merkle root "), v.stdout
    assert f", {len(files)} checkpoints verified (the latest at size {sizes[-1]})\n" in v.stdout
    j = vouch("-o", "json", "audit", "verify", str(out))
    assert j.returncode == 0, j.stdout
    report = json.loads(j.stdout)
    assert report["checkpoints"] == report["checkpoints_verified"] == len(files)
    assert report["latest_checkpoint"] == sizes[-1] and report["findings"] == []

    # The keys a verifier trusts, as the server published them: both, since both signed.
    both = vouch("audit", "verify", str(out), "--key", old["verifier_key"], "--key",
                 new["verifier_key"])
    assert both.returncode == 0, both.stdout + both.stderr
    assert f"{len(files)} checkpoints verified" in both.stdout
    # Trusting only the new key, the old key's checkpoints are named as signed by an unknown key.
    only_new = refused(out, "--key", new["verifier_key"])
    assert (f"checkpoint checkpoints/{sizes[1]} is signed by an unknown key: "
            f"{old['verifier_key'].split('+')[0]}") in only_new, only_new
    assert "(not among the trusted keys)" in only_new

    # The checkpoint a client saved from the server earlier: this log extends it.
    kept = vouch("audit", "verify", str(out), "--checkpoint", str(saved))
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "consistent with the saved checkpoint" in kept.stdout


def copy_of(signed, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    shutil.copytree(signed[1], out)
    return out


def test_one_byte_of_an_event_changed_is_named_by_its_seq(signed, tmp_path):
    out = copy_of(signed, tmp_path, "altered")
    leaves = lines_of(out / "events.jsonl")
    # An event the checkpoints cover, still canonical JSON after the change: a letter of its
    # model's name.
    at = next(i for i, line in enumerate(leaves)
              if json.loads(line)["action"] == "model.created" and b'"signed1-' in line)
    seq = json.loads(leaves[at])["seq"]
    assert seq <= signed[4][0]
    leaves[at] = leaves[at].replace(b'"signed1-', b'"signex1-', 1)
    json.loads(leaves[at])
    (out / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in leaves))
    text = refused(out)
    assert f"event {seq} altered: its bytes are not the leaf the tree stored at index {seq - 1}" \
        in text, text
    # Each checkpoint from it on says so too.
    assert f"checkpoint checkpoints/{signed[4][0]} (size {signed[4][0]}" in text, text
    assert f"the first event altered is {seq}" in text, text


def test_a_checkpoint_whose_root_was_replaced_has_an_invalid_signature(signed, tmp_path):
    out = copy_of(signed, tmp_path, "reroot")
    size = signed[4][-1]
    path = out / "checkpoints" / str(size)
    lines = path.read_text().split("\n")
    other = base64.b64encode(hashlib.sha256(b"another log").digest()).decode()
    assert other != lines[2] and len(other) == len(lines[2])
    lines[2] = other
    path.write_text("\n".join(lines))
    text = refused(out)
    assert f"checkpoint checkpoints/{size}: the signature is invalid" in text, text


def test_an_export_cut_below_its_latest_checkpoint_is_truncated(signed, tmp_path):
    out = copy_of(signed, tmp_path, "cut-lines")
    leaves = lines_of(out / "events.jsonl")
    size = signed[4][-1]
    kept = size - 2
    (out / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in leaves[:kept]))
    text = refused(out)
    assert (f"log truncated: checkpoint checkpoints/{size} (size {size}, signed by ") in text, text
    assert f"commits to {size} events, the log holds {kept} (event {kept + 1} on missing)" in text

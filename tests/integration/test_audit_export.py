"""`vouch audit export` and `vouch audit verify DIR` (issue 14): the export holds each event's
stored bytes, one a line in seq order, from which the Merkle root is recomputed here independently
(RFC 9162 in a few lines of Python); the derived formats carry every event; an export whose lines
were deleted, swapped, edited or cut is refused naming the event, exit 1; usage errors exit 2.

Runs on the suite's store (SQLite or PostgreSQL): export reads either directly, read-only, while
the server runs."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

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

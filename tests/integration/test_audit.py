"""Every change produces exactly one audit event with the documented fields; reads produce none;
the sequence is gapless from 1; the CLI's `audit log` prints the same events, and filters work.

The module has its own server, so the log starts empty (apart from what bootstrap records).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from vouch_testlib import json_lines, now_ms, parse_rfc3339_ms, unique

UA = "vouch-integration-tests/1.0"
CLI_KEYS = {"seq", "time", "actor", "action", "target", "before", "after", "comment", "request_id",
            "outcome", "schema"}


@pytest.fixture(scope="module")
def admin_id(api) -> int:
    return api.call("GET", "/api/v1/whoami", expect=200).json()["id"]


def mentions(obj, *needles) -> bool:
    text = json.dumps(obj, ensure_ascii=False)
    return all(n in text for n in needles)


class Case:
    def __init__(self, label, action, send, target, check=None):
        self.label, self.action, self.send, self.target, self.check = (
            label, action, send, target, check or (lambda e: None))


def test_every_change_produces_exactly_one_event(api, admin_id):
    m = unique("audited")
    m2 = unique("audited-renamed")
    V = "/api/v1/models/{name}/versions/{n}"

    def c(method, template, path=None, body=None, expect=200):
        def send(rid):
            kw = {} if body is None else {"json_body": body}
            return api.call(method, template, path=path, headers={"X-Request-Id": rid,
                                                                   "User-Agent": UA},
                            expect=expect, **kw)
        return send

    mt = {"type": "model", "model": m}
    vt = {"type": "model_version", "model": m, "version": 1}
    vt2 = {"type": "model_version", "model": m, "version": 2}

    def eq(field, value):
        def check(e):
            assert e[field] == value, f"{field}: {e[field]!r} != {value!r}"
        return check

    def both(*checks):
        def check(e):
            for ch in checks:
                ch(e)
        return check

    cases = [
        Case("create model", "model.created",
             c("POST", "/api/v1/models", body={"name": m, "description": "d0",
                                               "tags": {"team": "risk"}}, expect=201), mt,
             both(eq("before", None), lambda e: e["after"]["name"] == m or pytest.fail(e))),
        Case("update model", "model.updated",
             c("PATCH", "/api/v1/models/{name}", {"name": m}, {"description": "d1"}), mt,
             both(eq("before", {"description": "d0"}), eq("after", {"description": "d1"}))),
        Case("set model tag", "model.tag_set",
             c("PUT", "/api/v1/models/{name}/tags/{key}", {"name": m, "key": "env"},
               {"value": "prod"}), mt,
             lambda e: mentions(e["after"], "env", "prod") or pytest.fail(e)),
        Case("delete model tag", "model.tag_deleted",
             c("DELETE", "/api/v1/models/{name}/tags/{key}", {"name": m, "key": "env"}), mt,
             lambda e: mentions(e["before"], "env", "prod") or pytest.fail(e)),
        Case("create version", "model_version.created",
             c("POST", "/api/v1/models/{name}/versions", {"name": m},
               {"source": "s3://b/v1", "metrics": {"auc": 0.9}}, expect=201), vt,
             both(eq("before", None),
                  lambda e: e["after"]["source"] == "s3://b/v1" or pytest.fail(e))),
        Case("update version", "model_version.updated",
             c("PATCH", V, {"name": m, "n": 1}, {"description": "vd"}), vt,
             eq("after", {"description": "vd"})),
        Case("set version tag", "model_version.tag_set",
             c("PUT", V + "/tags/{key}", {"name": m, "n": 1, "key": "commit"}, {"value": "1a2b"}),
             vt, lambda e: mentions(e["after"], "commit", "1a2b") or pytest.fail(e)),
        Case("delete version tag", "model_version.tag_deleted",
             c("DELETE", V + "/tags/{key}", {"name": m, "n": 1, "key": "commit"}), vt,
             lambda e: mentions(e["before"], "commit", "1a2b") or pytest.fail(e)),
        Case("set metric (new)", "model_version.metric_set",
             c("PUT", V + "/metrics/{key}", {"name": m, "n": 1, "key": "f1"}, {"value": 0.5}), vt,
             lambda e: mentions(e["after"], "f1", "0.5") or pytest.fail(e)),
        Case("set metric (overwrite)", "model_version.metric_set",
             c("PUT", V + "/metrics/{key}", {"name": m, "n": 1, "key": "auc"}, {"value": 0.75}), vt,
             lambda e: (mentions(e["before"], "auc", "0.9") and mentions(e["after"], "auc", "0.75"))
             or pytest.fail(e)),
        Case("delete metric", "model_version.metric_deleted",
             c("DELETE", V + "/metrics/{key}", {"name": m, "n": 1, "key": "f1"}), vt,
             lambda e: mentions(e["before"], "f1") or pytest.fail(e)),
        Case("set param", "model_version.param_set",
             c("PUT", V + "/params/{key}", {"name": m, "n": 1, "key": "lr"}, {"value": "0.1"}), vt,
             lambda e: mentions(e["after"], "lr", "0.1") or pytest.fail(e)),
        Case("delete param", "model_version.param_deleted",
             c("DELETE", V + "/params/{key}", {"name": m, "n": 1, "key": "lr"}), vt,
             lambda e: mentions(e["before"], "lr") or pytest.fail(e)),
        Case("stage", "model_version.stage_changed",
             c("POST", V + "/stage", {"name": m, "n": 1}, {"stage": "Staging", "comment": "qa"}),
             vt, both(eq("before", {"stage": "None"}), eq("after", {"stage": "Staging"}),
                      eq("comment", "qa"))),
        Case("set alias", "model_alias.set",
             c("PUT", "/api/v1/models/{name}/aliases/{alias}", {"name": m, "alias": "champion"},
               {"version": 1, "comment": "best"}), None,
             both(eq("comment", "best"),
                  lambda e: mentions([e["target"], e["after"]], "champion") or pytest.fail(e))),
        Case("delete alias", "model_alias.deleted",
             c("DELETE", "/api/v1/models/{name}/aliases/{alias}", {"name": m, "alias": "champion"},
               expect=204), None,
             lambda e: mentions([e["target"], e["before"]], "champion") or pytest.fail(e)),
        Case("create version 2", "model_version.created",
             c("POST", "/api/v1/models/{name}/versions", {"name": m}, {"source": "s3://b/v2"},
               expect=201), vt2, eq("before", None)),
        Case("delete version 2", "model_version.deleted",
             c("DELETE", V, {"name": m, "n": 2}, expect=204), vt2, eq("after", None)),
        Case("rename", "model.renamed",
             c("POST", "/api/v1/models/{name}/rename", {"name": m}, {"new_name": m2}), None,
             both(eq("before", {"name": m}), eq("after", {"name": m2}),
                  lambda e: e["target"].get("model") in (m, m2) or pytest.fail(e))),
        Case("delete model", "model.deleted",
             c("DELETE", "/api/v1/models/{name}", {"name": m2}, expect=204),
             {"type": "model", "model": m2}, eq("after", None)),
    ]

    for case in cases:
        seq = api.max_seq()
        rid = f"t-{case.action}-{unique('r')}"
        t0 = now_ms()
        r = case.send(rid)
        t1 = now_ms()
        assert r.headers["X-Request-Id"] == rid, case.label
        new = api.events_after(seq)
        assert len(new) == 1, f"{case.label}: {len(new)} events: {[e['action'] for e in new]}"
        e = new[0]
        try:
            assert e["seq"] == seq + 1
            assert e["action"] == case.action
            assert e["schema"] == 2
            assert e["outcome"] == "done" and "reason" not in e and "count" not in e
            assert e["request_id"] == rid
            assert e["actor"] == {"id": admin_id, "name": "admin", "auth": "token"}
            assert e["source"]["door"] == "native"
            assert e["source"]["address"] == "127.0.0.1"
            assert e["source"]["user_agent"] == UA
            assert t0 - 2000 <= e["time_ms"] <= t1 + 2000
            assert parse_rfc3339_ms(e["time"]) == e["time_ms"]
            if case.target is not None:
                assert e["target"] == case.target
            else:
                assert e["target"]["model"] in (m, m2)
            case.check(e)
        except AssertionError as err:
            raise AssertionError(f"{case.label}: {err}\nevent: {json.dumps(e)}") from err


def test_reads_record_nothing(api):
    name = unique("reads")
    api.create_model(name)
    api.create_version(name)
    api.call("PUT", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "a"},
             json_body={"version": 1}, expect=200)
    seq = api.max_seq()
    api.call("GET", "/health", token=None, expect=200)
    api.call("GET", "/ready", token=None, expect=200)
    api.call("GET", "/api/v1/whoami", expect=200)
    api.call("GET", "/api/v1/models", expect=200)
    api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=200)
    api.call("GET", "/api/v1/models/{name}/versions", path={"name": name}, expect=200)
    api.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 1}, expect=200)
    api.call("GET", "/api/v1/models/{name}/aliases/{alias}", path={"name": name, "alias": "a"},
             expect=200)
    api.call("GET", "/api/v1/audit", expect=200)
    api.call("GET", "/api/v1/models/{name}", path={"name": "absent"}, expect=404)
    assert api.max_seq() == seq


def test_sequence_is_gapless_from_1_and_time_ascends(api):
    api.create_model(unique("gapless"))
    events = api.events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    times = [e["time_ms"] for e in events]
    assert times == sorted(times)
    assert all(e["schema"] == 2 for e in events)


def test_generated_request_id_is_recorded(api):
    seq = api.max_seq()
    r = api.call("POST", "/api/v1/models", json_body={"name": unique("gen")}, expect=201)
    rid = r.headers["X-Request-Id"]
    (e,) = api.events_after(seq)
    assert e["request_id"] == rid


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "ünï", ""], ids=repr)
def test_insane_request_id_is_replaced(api, bad):
    seq = api.max_seq()
    r = api.call("POST", "/api/v1/models", json_body={"name": unique("insane")},
                 headers={"X-Request-Id": bad.encode("utf-8")}, expect=201)
    rid = r.headers["X-Request-Id"]
    assert rid != bad
    (e,) = api.events_after(seq)
    assert e["request_id"] == rid


def test_generated_request_ids_are_unique(api):
    ids = {api.call("GET", "/api/v1/whoami", expect=200).headers["X-Request-Id"] for _ in range(20)}
    assert len(ids) == 20


# ---- filters ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def history(api):
    """A model with two versions and some changes, for the filter tests."""
    name = unique("hist")
    api.create_model(name)
    api.create_version(name)
    api.create_version(name)
    api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 2},
             json_body={"stage": "Production", "comment": "ship it"}, expect=200)
    api.call("PUT", "/api/v1/models/{name}/versions/{n}/tags/{key}",
             path={"name": name, "n": 1, "key": "k"}, json_body={"value": "v"}, expect=200)
    api.call("PATCH", "/api/v1/models/{name}", path={"name": name},
             json_body={"description": "x"}, expect=200)
    other = unique("hist-other")
    api.create_model(other)
    api.create_version(other)
    return name, api.events(model=name)


def test_rest_model_filter(api, history):
    name, events = history
    assert [e["action"] for e in events] == [
        "model.created", "model_version.created", "model_version.created",
        "model_version.stage_changed", "model_version.tag_set", "model.updated"]
    assert all(e["target"]["model"] == name for e in events)


def test_rest_version_filter(api, history):
    name, events = history
    v1 = api.events(model=name, version=1)
    assert [e["action"] for e in v1] == ["model_version.created", "model_version.tag_set"]
    assert all(e["target"].get("version") == 1 for e in v1)


def test_rest_action_and_actor_filters(api, history):
    name, events = history
    created = api.events(model=name, action="model_version.created")
    assert [e["target"]["version"] for e in created] == [1, 2]
    everyone = api.events(action="model_version.created")
    assert all(e["action"] == "model_version.created" for e in everyone)
    assert len(everyone) > len(created)
    assert api.events(model=name, actor="admin") == events
    assert api.events(model=name, actor="nobody-at-all") == []


def test_rest_since_until_filters(api, history):
    name, events = history
    pivot = events[3]
    since = api.events(model=name, since=pivot["time"])
    assert {e["seq"] for e in events if e["time_ms"] > pivot["time_ms"]} <= {e["seq"] for e in since}
    assert all(e["time_ms"] >= pivot["time_ms"] for e in since)
    assert pivot["seq"] in {e["seq"] for e in since}, "since is inclusive of an event at that time"
    until = api.events(model=name, until=pivot["time"])
    assert {e["seq"] for e in events if e["time_ms"] < pivot["time_ms"]} <= {e["seq"] for e in until}
    assert all(e["time_ms"] <= pivot["time_ms"] for e in until)
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.events(model=name, since=future) == []
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert api.events(model=name, since=past) == events


# ---- the CLI ----------------------------------------------------------------------------------

def cli_events(server, *args) -> list[dict]:
    r = server.cli("audit", "log", *args, "--output", "jsonl")
    assert r.returncode == 0, r.stderr
    return json_lines(r.stdout)


def test_cli_audit_log_prints_one_json_object_per_line(server, api, spec, history):
    name, events = history
    lines = cli_events(server, "--model", name)
    assert len(lines) == len(events)
    for line, event in zip(lines, events):
        assert CLI_KEYS <= set(line), f"missing {CLI_KEYS - set(line)}"
        for k in CLI_KEYS:
            assert line[k] == event[k], k
        assert line["actor"]["name"] == "admin"
    stage_line = next(x for x in lines if x["action"] == "model_version.stage_changed")
    assert stage_line["before"] == {"stage": "None"}
    assert stage_line["after"] == {"stage": "Production"}
    assert stage_line["comment"] == "ship it"


def test_cli_audit_log_filters(server, api, history):
    name, events = history
    assert cli_events(server, "--model", name, "--actor", "admin") == cli_events(
        server, "--model", name)
    assert cli_events(server, "--model", name, "--actor", "nobody-at-all") == []
    created = cli_events(server, "--model", name, "--action", "model_version.created")
    assert [(x["action"], x["target"]["version"]) for x in created] == [
        ("model_version.created", 1), ("model_version.created", 2)]
    assert [x["seq"] for x in cli_events(server, "--model", name, "--since", "-1h")] == [
        e["seq"] for e in events]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cli_events(server, "--model", name, "--since", future) == []
    v1 = cli_events(server, "--model", name, "--version", "1")
    assert [x["action"] for x in v1] == ["model_version.created", "model_version.tag_set"]
    limited = cli_events(server, "--model", name, "--limit", "2")
    assert [x["seq"] for x in limited] == [e["seq"] for e in events[:2]]


def test_cli_audit_log_table_and_csv(server, history):
    name, events = history
    r = server.cli("audit", "log", "--model", name)
    assert r.returncode == 0, r.stderr
    assert "model_version.stage_changed" in r.stdout and "admin" in r.stdout
    r = server.cli("audit", "log", "--model", name, "--output", "csv")
    assert r.returncode == 0, r.stderr
    rows = [x for x in r.stdout.splitlines() if x.strip()]
    assert len(rows) == len(events) + 1, "csv: a header line and one line per event"
    assert "seq" in rows[0].lower() and "action" in rows[0].lower()

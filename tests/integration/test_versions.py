"""Version numbering, deletion, and stage transitions with archive_existing."""

from __future__ import annotations

from vouch_testlib import unique


def stage(api, name, n, stage_name, **extra):
    return api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": n},
                    json_body={"stage": stage_name, **extra}, expect=200)


def test_numbers_are_1_2_3_and_never_reused(api):
    name = unique("num")
    api.create_model(name)
    assert [api.create_version(name)["version"] for _ in range(3)] == [1, 2, 3]
    assert api.get_model(name).json()["latest_version"] == 3

    api.call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 3},
             expect=204)
    assert api.get_model(name).json()["latest_version"] == 2
    assert [v["version"] for v in api.list_versions(name)] == [1, 2]

    assert api.create_version(name)["version"] == 4
    assert api.get_model(name).json()["latest_version"] == 4
    api.call("GET", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": 3}, expect=404,
             code="NOT_FOUND")

    for n in (1, 2, 4):
        api.call("DELETE", "/api/v1/models/{name}/versions/{n}", path={"name": name, "n": n},
                 expect=204)
    model = api.get_model(name).json()
    assert "latest_version" not in model, "latest_version must be absent when no version is live"
    assert api.list_versions(name) == []
    assert api.create_version(name)["version"] == 5


def test_numbers_are_per_model(api):
    a, b = unique("pa"), unique("pb")
    api.create_model(a)
    api.create_model(b)
    assert api.create_version(a)["version"] == 1
    assert api.create_version(a)["version"] == 2
    assert api.create_version(b)["version"] == 1


def test_deleting_a_model_hides_it_but_keeps_its_audit_history(api):
    name = unique("hide")
    api.create_model(name)
    api.create_version(name)
    stage(api, name, 1, "Staging")
    history = api.events(model=name)
    assert [e["action"] for e in history] == ["model.created", "model_version.created",
                                              "model_version.stage_changed"]
    api.call("DELETE", "/api/v1/models/{name}", path={"name": name}, expect=204)
    api.call("GET", "/api/v1/models/{name}", path={"name": name}, expect=404, code="NOT_FOUND")
    assert name not in [m["name"] for m in api.list_models()]
    after = api.events(model=name)
    assert after[:3] == history, "deleting a model changed its audit history"
    assert [e["action"] for e in after[3:]] == ["model.deleted"]
    assert after[3]["after"] is None and after[3]["target"]["model"] == name
    # Deleting again is NOT_FOUND and records nothing.
    seq = api.max_seq()
    api.call("DELETE", "/api/v1/models/{name}", path={"name": name}, expect=404, code="NOT_FOUND")
    assert api.max_seq() == seq


def test_stage_is_case_insensitive_and_canonical(api):
    name = unique("case")
    api.create_model(name)
    api.create_version(name)
    for given, canonical in [("staging", "Staging"), ("PRODUCTION", "Production"),
                             ("archived", "Archived"), ("nOnE", "None")]:
        assert stage(api, name, 1, given).json()["stage"] == canonical
        assert api.get_version(name, 1).json()["stage"] == canonical


def test_several_versions_may_share_a_stage_without_archive_existing(api):
    name = unique("share")
    api.create_model(name)
    api.create_version(name)
    api.create_version(name)
    stage(api, name, 1, "Production")
    stage(api, name, 2, "Production")
    assert [v["stage"] for v in api.list_versions(name)] == ["Production", "Production"]


def test_archive_existing_moves_the_others_in_one_transaction(api):
    name = unique("arch")
    api.create_model(name)
    for _ in range(5):
        api.create_version(name)
    stage(api, name, 1, "Production")
    stage(api, name, 2, "Production")
    stage(api, name, 3, "Staging")
    # v5 stays None.
    seq = api.max_seq()
    rid = "arch-" + unique("rid")
    r = api.call("POST", "/api/v1/models/{name}/versions/{n}/stage", path={"name": name, "n": 4},
                 json_body={"stage": "Production", "archive_existing": True,
                            "comment": "release 4"},
                 headers={"X-Request-Id": rid}, expect=200)
    assert r.json()["stage"] == "Production"
    assert r.headers["X-Request-Id"] == rid
    assert [(v["version"], v["stage"]) for v in api.list_versions(name)] == [
        (1, "Archived"), (2, "Archived"), (3, "Staging"), (4, "Production"), (5, "None")]

    new = api.events_after(seq)
    assert len(new) == 3, [e["action"] for e in new]
    assert [e["seq"] for e in new] == [seq + 1, seq + 2, seq + 3]
    assert all(e["action"] == "model_version.stage_changed" for e in new)
    assert all(e["request_id"] == rid and e["outcome"] == "done" for e in new)
    assert all(e["actor"]["name"] == "admin" for e in new)
    moves = {e["target"]["version"]: (e["before"], e["after"]) for e in new}
    assert moves == {
        4: ({"stage": "None"}, {"stage": "Production"}),
        # Audit schema 2: an archived version's event says what superseded it.
        1: ({"stage": "Production"}, {"stage": "Archived", "cause": "superseded", "by_version": 4}),
        2: ({"stage": "Production"}, {"stage": "Archived", "cause": "superseded", "by_version": 4}),
    }
    assert all(e["target"] == {"type": "model_version", "model": name,
                               "version": e["target"]["version"]} for e in new)
    target_event = next(e for e in new if e["target"]["version"] == 4)
    assert target_event["comment"] == "release 4"


def test_archive_existing_to_staging_leaves_production_alone(api):
    name = unique("arch-st")
    api.create_model(name)
    for _ in range(3):
        api.create_version(name)
    stage(api, name, 1, "Production")
    stage(api, name, 2, "Staging")
    stage(api, name, 3, "staging", archive_existing=True)
    assert [v["stage"] for v in api.list_versions(name)] == ["Production", "Archived", "Staging"]


def test_archive_existing_with_no_others_records_one_event(api):
    name = unique("arch-one")
    api.create_model(name)
    api.create_version(name)
    seq = api.max_seq()
    stage(api, name, 1, "Production", archive_existing=True)
    new = api.events_after(seq)
    assert [(e["action"], e["before"], e["after"]) for e in new] == [
        ("model_version.stage_changed", {"stage": "None"}, {"stage": "Production"})]


def test_version_fields_default_and_echo(api):
    name = unique("fields")
    api.create_model(name)
    v = api.create_version(name, source="gs://bucket/path with space/model.pkl")
    assert v["source"] == "gs://bucket/path with space/model.pkl"
    assert v["tags"] == {} and v["metrics"] == {} and v["params"] == {}
    assert v["stage"] == "None" and v["status"] == "READY" and v["aliases"] == []
    for optional in ("run_id", "model_id", "description", "artifact_digest"):
        assert v.get(optional, "") == ""

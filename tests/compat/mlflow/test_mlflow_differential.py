"""Differential test: one script of a data scientist's day runs against vouch and against a real
`mlflow server` (SQLite backend, started by the suite), and the outputs must be the same except for
timestamps, run links and the `user_id` that vouch fills.

Two transcripts are compared: the MLflow client's objects turned into dicts, and the raw REST JSON
(stricter: it also catches a field that one server omits and the other sends empty).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import mlflow
import pytest
from mlflow.exceptions import MlflowException, RestException

from compat_lib import Rest, apply_env, mlflow_env, mv_dict, rm_dict

pytestmark = [pytest.mark.mlflow_peer("diff"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]

# Keys whose values differ by nature between two servers: compared only for presence.
TIMESTAMPS = {"creation_timestamp", "last_updated_timestamp"}
# Keys left out of the comparison: vouch fills user_id (MLflow leaves it empty); run_link is
# echoed as given by one and defaulted by the other; MLflow 3 adds sqlstate/error_class to errors.
IGNORED = {"user_id", "run_link", "sqlstate", "error_class"}


def normalize(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in IGNORED:
                continue
            if k in TIMESTAMPS:
                out[k] = "<ts>" if v else v
            elif k == "next_page_token":
                out[k] = "<token>" if v else v
            elif k == "aliases" and isinstance(v, list) and all(isinstance(x, str) for x in v):
                out[k] = sorted(v)
            elif k == "latest_versions" and isinstance(v, list):
                # MLflow leaves this order to the database (its model search takes the rows of a
                # window query without ORDER BY; SQLite yields them by stage), so compare sets.
                out[k] = sorted(normalize(v), key=lambda d: (str(d.get("current_stage")),
                                                             str(d.get("version"))))
            else:
                out[k] = normalize(v)
        return out
    if isinstance(obj, list):
        return [normalize(v) for v in obj]
    return obj


class Transcript:
    """Steps and their outputs, in order."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Any]] = []

    def add(self, step: str, value: Any) -> Any:
        self.steps.append((step, normalize(value)))
        return value

    def call(self, step: str, fn: Callable, *args, exact_message: bool = True,
             convert: Callable[[Any], Any] = lambda x: x, **kwargs) -> Any:
        """Runs one client call and records its converted result, or its error."""
        try:
            value = fn(*args, **kwargs)
        except MlflowException as e:
            rec = {"error_code": e.error_code}
            if exact_message:
                rec["message"] = e.json.get("message") if isinstance(e, RestException) \
                    else e.message
            self.add(step, {"error": rec})
            return None
        self.add(step, convert(value))
        return value


def diff_report(a: Transcript, b: Transcript, label_a: str, label_b: str) -> str:
    lines = []
    if len(a.steps) != len(b.steps):
        lines.append(f"{len(a.steps)} steps on {label_a}, {len(b.steps)} on {label_b}")
    for (sa, va), (sb, vb) in zip(a.steps, b.steps):
        assert sa == sb, f"transcripts out of step: {sa} vs {sb}"
        if va != vb:
            lines.append(f"--- step {sa}\n  {label_a}: {json.dumps(va, sort_keys=True)[:3000]}"
                         f"\n  {label_b}: {json.dumps(vb, sort_keys=True)[:3000]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The day, through the MLflow client


def mvs(xs):
    return [mv_dict(x) for x in xs]


def rms(xs):
    return [rm_dict(x) for x in xs]


def paged(fetch: Callable[[str | None], Any], convert) -> list:
    """Follows page tokens; records each page's content and whether it had a next token."""
    pages, token = [], None
    while True:
        page = fetch(token)
        pages.append({"items": convert(page), "has_next": bool(page.token)})
        token = page.token
        if not token or len(pages) > 50:
            return pages


def client_day(c: mlflow.MlflowClient) -> Transcript:
    t = Transcript()
    F, CH, CP = "day-fraud", "day-churn", "day-fraud-copy"
    t.call("create fraud", c.create_registered_model, F, tags={"team": "risk"},
           description="fraud detector", convert=rm_dict)
    t.call("create churn", c.create_registered_model, CH, convert=rm_dict)
    for i in (1, 2, 3):
        t.call(f"create fraud v{i}", c.create_model_version, F, f"s3://models/fraud/{i}",
               run_id=f"r{i}", tags={"commit": f"c{i}"},
               description="baseline" if i == 1 else None, convert=mv_dict)
    t.call("set model tag", c.set_registered_model_tag, F, "owner", "alice")
    t.call("set version tag", c.set_model_version_tag, F, "2", "validated", "true")
    t.call("delete model tag", c.delete_registered_model_tag, F, "team")
    t.call("set alias", c.set_registered_model_alias, F, "champion", "2")
    t.call("get by alias", c.get_model_version_by_alias, F, "champion", convert=mv_dict)
    t.call("v1 to Production", c.transition_model_version_stage, F, "1", "Production",
           convert=mv_dict)
    t.call("v2 to Production, archive", c.transition_model_version_stage, F, "2", "production",
           archive_existing_versions=True, convert=mv_dict)
    t.call("get v1", c.get_model_version, F, "1", convert=mv_dict)
    t.call("v3 to Staging", c.transition_model_version_stage, F, "3", "Staging", convert=mv_dict)
    t.call("get fraud", c.get_registered_model, F, convert=rm_dict)
    t.call("latest all", c.get_latest_versions, F,
           convert=lambda xs: sorted(mvs(xs), key=lambda d: d["current_stage"]))
    t.call("latest Production", c.get_latest_versions, F, stages=["Production"], convert=mvs)
    t.call("latest Staging+None", c.get_latest_versions, F, stages=["Staging", "None"],
           convert=lambda xs: sorted(mvs(xs), key=lambda d: d["current_stage"]))
    t.call("search models LIKE", c.search_registered_models, "name LIKE 'day-%'", convert=rms)
    t.call("search models tag", c.search_registered_models, "tags.owner = 'alice'", convert=rms)
    t.call("search models DESC", c.search_registered_models, "name LIKE 'day-%'",
           order_by=["name DESC"], convert=rms)
    t.add("search models paged", paged(
        lambda tok: c.search_registered_models("name LIKE 'day-%'", max_results=1,
                                               page_token=tok), rms))
    t.call("search versions name", c.search_model_versions, f"name = '{F}'", convert=mvs)
    t.call("search versions run_id IN", c.search_model_versions,
           "run_id IN ('r1', 'r3') AND name LIKE 'day-%'", convert=mvs)
    t.call("search versions number", c.search_model_versions,
           f"version_number >= 2 AND name = '{F}'", convert=mvs)
    t.call("search versions tag", c.search_model_versions, "tags.`validated` = 'true'",
           convert=mvs)
    t.call("search versions source", c.search_model_versions,
           "source_path LIKE 's3://models/fraud/%'", order_by=["version_number ASC"], convert=mvs)
    t.add("search versions paged", paged(
        lambda tok: c.search_model_versions(f"name = '{F}'", max_results=2, page_token=tok,
                                            order_by=["version_number ASC"]), mvs))
    t.call("update version", c.update_model_version, F, "1", "retired baseline",
           convert=mv_dict)
    t.call("update model", c.update_registered_model, F, "fraud detector v2", convert=rm_dict)
    t.call("churn v1", c.create_model_version, CH, "s3://models/churn/1", convert=mv_dict)
    t.call("delete churn v1", c.delete_model_version, CH, "1")
    t.call("churn v2", c.create_model_version, CH, "s3://models/churn/2", convert=mv_dict)
    t.call("download uri", c.get_model_version_download_uri, F, "2")
    t.call("copy champion", c.copy_model_version, f"models:/{F}@champion", CP, convert=mv_dict)
    t.call("copy download uri", c.get_model_version_download_uri, CP, "1")
    t.call("rename churn", c.rename_registered_model, CH, "day-churn-2")
    t.call("get renamed", c.get_registered_model, "day-churn-2", convert=rm_dict)
    # The errors a user runs into.
    t.call("err missing model", c.get_registered_model, "day-nope", convert=rm_dict)
    t.call("err duplicate", c.create_registered_model, F, convert=rm_dict)
    t.call("err missing version", c.get_model_version, F, "42", convert=mv_dict)
    t.call("err non-integer version", c.get_model_version, F, "two", convert=mv_dict)
    t.call("err bad stage", c.transition_model_version_stage, F, "1", "Prod", convert=mv_dict)
    t.call("err missing alias", c.get_model_version_by_alias, F, "ghost", convert=mv_dict)
    t.call("err reserved alias", c.set_registered_model_alias, F, "latest", "1",
           exact_message=False)
    t.call("err bad filter", c.search_registered_models, "nme = 'x'", exact_message=False)
    t.call("err bad version filter", c.search_model_versions, "version_number > 'x'",
           exact_message=False)
    t.call("err bad page token", c.search_model_versions, f"name = '{F}'",
           page_token="garbage", exact_message=False)
    t.call("delete alias", c.delete_registered_model_alias, F, "champion")
    t.call("get fraud after alias delete", c.get_registered_model, F, convert=rm_dict)
    t.call("delete v3", c.delete_model_version, F, "3")
    t.call("latest after delete", c.get_latest_versions, F,
           convert=lambda xs: sorted(mvs(xs), key=lambda d: d["current_stage"]))
    t.call("delete churn", c.delete_registered_model, "day-churn-2")
    t.call("search models at the end", c.search_registered_models, "name LIKE 'day-%'",
           convert=rms)
    t.call("search versions at the end", c.search_model_versions, "name LIKE 'day-%'",
           order_by=["name ASC"], convert=mvs)
    return t


# ---------------------------------------------------------------------------------------------
# The day, in raw REST


def raw_day(r: Rest) -> Transcript:
    t = Transcript()

    def rec(step: str, resp) -> Any:
        try:
            body = resp.json()
        except ValueError:
            body = {"<not json>": resp.text[:200]}
        t.add(step, {"status": resp.status_code, "body": body})
        return body

    F = "raw-fraud"
    rec("create", r.post("/registered-models/create",
                         {"name": F, "tags": [{"key": "team", "value": "risk"}],
                          "description": "raw model"}))
    rec("create bare", r.post("/registered-models/create", {"name": "raw-bare"}))
    for i in (1, 2, 3):
        body = {"name": F, "source": f"s3://raw/{i}"}
        if i == 1:
            body.update(run_id="run-1", description="first",
                        tags=[{"key": "commit", "value": "abc"}])
        rec(f"create v{i}", r.post("/model-versions/create", body))
    rec("get model", r.get("/registered-models/get", {"name": F}))
    rec("get bare", r.get("/registered-models/get", {"name": "raw-bare"}))
    rec("get v1", r.get("/model-versions/get", {"name": F, "version": "1"}))
    rec("get v2", r.get("/model-versions/get", {"name": F, "version": "2"}))
    rec("set model tag", r.post("/registered-models/set-tag",
                                {"name": F, "key": "owner", "value": "bob"}))
    rec("set version tag", r.post("/model-versions/set-tag",
                                  {"name": F, "version": "2", "key": "ok", "value": "1"}))
    rec("delete model tag", r.delete("/registered-models/delete-tag", {"name": F, "key": "team"}))
    rec("delete version tag", r.delete("/model-versions/delete-tag",
                                       {"name": F, "version": "1", "key": "commit"}))
    rec("set alias", r.post("/registered-models/alias",
                            {"name": F, "alias": "champion", "version": "2"}))
    rec("get alias", r.get("/registered-models/alias", {"name": F, "alias": "champion"}))
    rec("transition v1", r.post("/model-versions/transition-stage",
                                {"name": F, "version": "1", "stage": "Production",
                                 "archive_existing_versions": False}))
    rec("transition v2 archive", r.post("/model-versions/transition-stage",
                                        {"name": F, "version": "2", "stage": "Production",
                                         "archive_existing_versions": True}))
    rec("latest POST", r.post("/registered-models/get-latest-versions",
                              {"name": F, "stages": ["Production"]}))
    rec("latest GET repeated stages", r.get("/registered-models/get-latest-versions",
                                            [("name", F), ("stages", "Production"),
                                             ("stages", "Archived")]))
    rec("latest POST all", r.post("/registered-models/get-latest-versions", {"name": F}))
    rec("update model", r.patch("/registered-models/update", {"name": F, "description": "d2"}))
    rec("update version", r.patch("/model-versions/update",
                                  {"name": F, "version": "3", "description": "third"}))
    rec("download uri", r.get("/model-versions/get-download-uri", {"name": F, "version": "2"}))
    rec("search models", r.get("/registered-models/search", {"filter": "name LIKE 'raw-%'"}))
    page1 = rec("search models page 1", r.get("/registered-models/search",
                                               {"filter": "name LIKE 'raw-%'", "max_results": 1}))
    rec("search models page 2", r.get("/registered-models/search",
                                      {"filter": "name LIKE 'raw-%'", "max_results": 1,
                                       "page_token": page1.get("next_page_token", "")}))
    rec("search versions", r.get("/model-versions/search", {"filter": f"name = '{F}'"}))
    rec("search versions ordered", r.get("/model-versions/search",
                                         [("filter", "name LIKE 'raw-%'"),
                                          ("order_by", "version_number ASC"),
                                          ("max_results", "2")]))
    rec("ajax get model", Rest(r.base, r.token, "/ajax-api/2.0/mlflow").get(
        "/registered-models/get", {"name": F}))
    # Errors: status and body.
    rec("err missing model", r.get("/registered-models/get", {"name": "raw-none"}))
    rec("err duplicate", r.post("/registered-models/create", {"name": F}))
    rec("err missing version", r.get("/model-versions/get", {"name": F, "version": "9"}))
    rec("err non-integer version", r.get("/model-versions/get", {"name": F, "version": "v1"}))
    rec("err missing alias", r.get("/registered-models/alias", {"name": F, "alias": "nope"}))
    rec("delete alias", r.delete("/registered-models/alias", {"name": F, "alias": "champion"}))
    rec("delete v3", r.delete("/model-versions/delete", {"name": F, "version": "3"}))
    rec("get model after deletes", r.get("/registered-models/get", {"name": F}))
    rec("delete bare", r.delete("/registered-models/delete", {"name": "raw-bare"}))
    rec("search at the end", r.get("/registered-models/search", {"filter": "name LIKE 'raw-%'"}))
    return t


# ---------------------------------------------------------------------------------------------


def run_both(registry, mlflow_peer, day):
    mp = pytest.MonkeyPatch()
    try:
        apply_env(mp, mlflow_env(registry.token))
        ours = day(registry)
        apply_env(mp, mlflow_env(None))
        theirs = day(mlflow_peer)
    finally:
        mp.undo()
    return ours, theirs


def test_client_day_same_as_mlflow(registry, mlflow_peer):
    def day(server):
        return client_day(mlflow.MlflowClient(tracking_uri=server.base, registry_uri=server.base))

    ours, theirs = run_both(registry, mlflow_peer, day)
    report = diff_report(ours, theirs, registry.kind, "mlflow server")
    assert not report, "the MLflow client saw different results:\n" + report


def test_raw_rest_day_same_as_mlflow(registry, mlflow_peer):
    def day(server):
        return raw_day(Rest(server.base, getattr(server, "token", None)))

    ours, theirs = run_both(registry, mlflow_peer, day)
    report = diff_report(ours, theirs, registry.kind, "mlflow server")
    assert not report, "raw REST answers differ:\n" + report

"""search_registered_models / search_model_versions: MLflow's filter grammar, order_by with its
tie-breaks, pagination with page tokens, and the prompt filter the client appends."""

from __future__ import annotations

import pytest

from compat_lib import unique

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

MANY = 260  # versions of one model, for pagination


@pytest.fixture(scope="module")
def data(module_client):
    """Models P-alpha, P-beta, P-Gamma, P-delta with tags and versions; P-many with MANY versions."""
    c = module_client
    p = unique("srch")
    names = {k: f"{p}-{k}" for k in ("alpha", "beta", "Gamma", "delta", "many")}
    c.create_registered_model(names["alpha"], tags={"team": "risk", "key with space": "x"})
    c.create_registered_model(names["beta"], tags={"team": "growth"})
    c.create_registered_model(names["Gamma"], tags={"team": "Risk"})
    c.create_registered_model(names["delta"])
    a = names["alpha"]
    c.create_model_version(a, "s3://bkt/alpha/1", run_id="run-a")
    c.create_model_version(a, "s3://bkt/alpha/2", run_id="run-b", tags={"flavor": "sklearn"})
    c.create_model_version(a, "gs://other/alpha/3", run_id="run-c",
                           tags={"flavor": "torch", "odd key": "1"})
    c.create_model_version(names["beta"], "s3://bkt/beta/1", run_id="run-a",
                           tags={"flavor": "sklearn"})
    c.create_model_version(names["Gamma"], "s3://bkt/gamma/1", run_id="run-d")
    c.create_registered_model(names["many"])
    for i in range(1, MANY + 1):
        c.create_model_version(names["many"], f"s3://bkt/many/{i}", run_id=f"run-m{i % 7}")
    return {"prefix": p, **names}


def rm_names(client, flt, **kw):
    return [m.name for m in client.search_registered_models(filter_string=flt, **kw)]


def mv_keys(client, flt, **kw):
    return [(m.name, m.version) for m in client.search_model_versions(filter_string=flt, **kw)]


def short(data, pairs):
    """(full name, version) pairs -> (short name, int version) for readable assertions."""
    inv = {v: k for k, v in data.items() if k != "prefix"}
    return [(inv[n], int(v)) for n, v in pairs]


# ---------------------------------------------------------------------------------------------
# registered models


def test_rm_name_equals(client, data):
    assert rm_names(client, f"name = '{data['alpha']}'") == [data["alpha"]]
    assert rm_names(client, "name = 'no-such-model-anywhere'") == []


def test_rm_name_not_equals(client, data):
    p = data["prefix"]
    got = rm_names(client, f"name != '{data['alpha']}' AND name LIKE '{p}-%'")
    assert sorted(got) == sorted([data["beta"], data["Gamma"], data["delta"], data["many"]])


def test_rm_like_and_ilike(client, data):
    p = data["prefix"]
    assert rm_names(client, f"name LIKE '{p}-%ta'") == [data["beta"], data["delta"]]
    assert rm_names(client, f"name LIKE '{p}-g%'") == []
    assert rm_names(client, f"name LIKE '{p}-G%'") == [data["Gamma"]]
    assert rm_names(client, f"name ILIKE '{p.upper()}-G%'") == [data["Gamma"]]
    assert rm_names(client, f"name LIKE '{p}-_eta'") == [data["beta"]]


def test_rm_tags(client, data):
    p = data["prefix"]
    scope = f" AND name LIKE '{p}-%'"
    assert rm_names(client, "tags.team = 'risk'" + scope) == [data["alpha"]]
    assert rm_names(client, "tag.team = 'growth'" + scope) == [data["beta"]]
    assert rm_names(client, "tags.`key with space` = 'x'" + scope) == [data["alpha"]]
    # Results come by name ASC in byte order: "Gamma" before "alpha".
    assert rm_names(client, "tags.`team` ILIKE 'RISK'" + scope) == [data["Gamma"], data["alpha"]]
    assert rm_names(client, "tags.team LIKE 'gr%'" + scope) == [data["beta"]]
    # `!=` on a tag matches the models that have the tag with another value.
    assert rm_names(client, "tags.team != 'risk'" + scope) == [data["Gamma"], data["beta"]]


def test_rm_order_by(client, data):
    p = data["prefix"]
    flt = f"name LIKE '{p}-%'"
    asc = sorted(data[k] for k in ("alpha", "beta", "Gamma", "delta", "many"))
    assert rm_names(client, flt) == asc  # default: name ASC
    assert rm_names(client, flt, order_by=["name DESC"]) == asc[::-1]
    assert rm_names(client, flt, order_by=["name"]) == asc
    # MLflow orders models by `timestamp` or `last_updated_timestamp` (both the last update);
    # ties break on name ASC.
    for key in ("timestamp", "last_updated_timestamp"):
        models = client.search_registered_models(filter_string=flt, order_by=[f"{key} DESC"])
        expected = sorted(models, key=lambda m: (-m.last_updated_timestamp, m.name))
        assert [m.name for m in models] == [m.name for m in expected]
        models = client.search_registered_models(filter_string=flt, order_by=[f"{key} ASC"])
        expected = sorted(models, key=lambda m: (m.last_updated_timestamp, m.name))
        assert [m.name for m in models] == [m.name for m in expected]
    # P-many got its last version after everything else in the fixture.
    assert rm_names(client, flt, order_by=["last_updated_timestamp DESC"])[0] == data["many"]


def test_rm_order_by_ties_on_timestamp(client):
    # Models created back to back share timestamps often enough; whatever the clock gave them,
    # equal timestamps must come out by name ASC.
    p = unique("tie")
    names = [f"{p}-{c}" for c in "edcbafghij"]
    for n in names:
        client.create_registered_model(n)
    models = client.search_registered_models(filter_string=f"name LIKE '{p}-%'",
                                             order_by=["last_updated_timestamp ASC"])
    assert sorted(m.name for m in models) == sorted(names)
    expected = sorted(models, key=lambda m: (m.last_updated_timestamp, m.name))
    assert [m.name for m in models] == [m.name for m in expected]


def test_rm_pagination(client, data):
    p = data["prefix"]
    flt = f"name LIKE '{p}-%'"
    seen, token, pages = [], None, 0
    while True:
        page = client.search_registered_models(filter_string=flt, max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [m.name for m in page]
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 3
    assert seen == sorted(data[k] for k in ("alpha", "beta", "Gamma", "delta", "many"))


def test_rm_latest_versions_in_search(client, data):
    [m] = client.search_registered_models(filter_string=f"name = '{data['alpha']}'")
    assert [(v.version, v.current_stage) for v in m.latest_versions] == [("3", "None")]


def test_prompt_filter(client, rest, data):
    """The client appends `tag.`mlflow.prompt.is_prompt` != 'true'` to every model search: models
    without the tag match it. Prompts (models tagged `mlflow.prompt.is_prompt` = 'true') stay out of
    model searches unless the filter asks for them, as MLflow's store does."""
    p = unique("prm")
    for name, tags in [(f"{p}-prompt", [{"key": "mlflow.prompt.is_prompt", "value": "true"}]),
                       (f"{p}-notprompt", [{"key": "mlflow.prompt.is_prompt", "value": "false"}]),
                       (f"{p}-plain", [])]:
        # The client refuses to create models carrying the prompt tag; the REST API does not.
        r = rest.post("/registered-models/create", {"name": name, "tags": tags})
        assert r.status_code == 200, r.text
    models = [f"{p}-notprompt", f"{p}-plain"]
    assert rm_names(client, f"name LIKE '{p}-%'") == models
    assert rm_names(client, None, max_results=1000) != []

    def raw(flt):
        r = rest.get("/registered-models/search", {"filter": flt} if flt else {})
        assert r.status_code == 200, r.text
        return [m["name"] for m in r.json().get("registered_models", [])
                if m["name"].startswith(p)]

    assert raw(f"name LIKE '{p}-%' AND tag.`mlflow.prompt.is_prompt` != 'true'") == models
    assert raw(f"name LIKE '{p}-%'") == models
    assert raw(None) == models
    assert raw(f"name LIKE '{p}-%' AND tags.`mlflow.prompt.is_prompt` = 'true'") == [f"{p}-prompt"]
    assert raw(f"name LIKE '{p}-%' AND tags.`mlflow.prompt.is_prompt` != 'false'") == [
        f"{p}-prompt"]


# ---------------------------------------------------------------------------------------------
# model versions


def test_mv_name_filters(client, data):
    assert sorted(short(data, mv_keys(client, f"name = '{data['alpha']}'"))) == [
        ("alpha", 1), ("alpha", 2), ("alpha", 3)]
    p = data["prefix"]
    got = short(data, mv_keys(client, f"name != '{data['many']}' AND name LIKE '{p}-%'"))
    assert sorted(got) == [("Gamma", 1), ("alpha", 1), ("alpha", 2), ("alpha", 3), ("beta", 1)]
    got = short(data, mv_keys(client, f"name ILIKE '{p.upper()}-GAMMA'"))
    assert got == [("Gamma", 1)]


def test_mv_run_id_in(client, data):
    p = data["prefix"]
    got = short(data, mv_keys(client, f"run_id IN ('run-a', 'run-c') AND name LIKE '{p}-%'"))
    assert sorted(got) == [("alpha", 1), ("alpha", 3), ("beta", 1)]
    got = short(data, mv_keys(client, f"run_id = 'run-d' AND name LIKE '{p}-%'"))
    assert got == [("Gamma", 1)]
    got = short(data, mv_keys(client, f"run_id IN ('run-b') AND name LIKE '{p}-%'"))
    assert got == [("alpha", 2)]


@pytest.mark.parametrize("op,expected", [
    ("=", [2]), ("!=", [1, 3]), ("<", [1]), ("<=", [1, 2]), (">", [3]), (">=", [2, 3]),
])
def test_mv_version_number(client, data, op, expected):
    got = mv_keys(client, f"name = '{data['alpha']}' AND version_number {op} 2")
    assert sorted(int(v) for _, v in got) == expected


def test_mv_source_path(client, data):
    p = data["prefix"]
    scope = f" AND name LIKE '{p}-%'"
    assert short(data, mv_keys(client, "source_path = 's3://bkt/alpha/1'" + scope)) == [
        ("alpha", 1)]
    got = short(data, mv_keys(client, "source_path LIKE 's3://bkt/alpha/%'" + scope))
    assert sorted(got) == [("alpha", 1), ("alpha", 2)]
    got = short(data, mv_keys(client, "source_path LIKE 'gs://%'" + scope))
    assert got == [("alpha", 3)]


def test_mv_tags(client, data):
    p = data["prefix"]
    scope = f" AND name LIKE '{p}-%'"
    got = short(data, mv_keys(client, "tags.flavor = 'sklearn'" + scope))
    assert sorted(got) == [("alpha", 2), ("beta", 1)]
    got = short(data, mv_keys(client, "tags.`odd key` = '1'" + scope))
    assert got == [("alpha", 3)]
    got = short(data, mv_keys(client, "tag.`flavor` LIKE 'to%'" + scope))
    assert got == [("alpha", 3)]


def test_mv_order_by(client, data):
    p = data["prefix"]
    flt = f"name LIKE '{p}-%' AND name != '{data['many']}'"
    # name ASC, ties (same model) by version DESC.
    got = short(data, mv_keys(client, flt, order_by=["name ASC"]))
    assert got == [("Gamma", 1), ("alpha", 3), ("alpha", 2), ("alpha", 1), ("beta", 1)]
    # version_number ASC, ties (same number) by name ASC.
    got = short(data, mv_keys(client, flt, order_by=["version_number ASC"]))
    assert got == [("Gamma", 1), ("alpha", 1), ("beta", 1), ("alpha", 2), ("alpha", 3)]
    got = short(data, mv_keys(client, flt, order_by=["version_number DESC"]))
    assert got == [("alpha", 3), ("alpha", 2), ("Gamma", 1), ("alpha", 1), ("beta", 1)]
    mvs = client.search_model_versions(flt, order_by=["creation_timestamp DESC"])
    expected = sorted(mvs, key=lambda m: (-m.creation_timestamp, m.name, -int(m.version)))
    assert [(m.name, m.version) for m in mvs] == [(m.name, m.version) for m in expected]


def test_mv_default_order(client, data):
    got = short(data, mv_keys(client, f"name = '{data['alpha']}'"))
    assert got == [("alpha", 3), ("alpha", 2), ("alpha", 1)]


def test_mv_pagination_every_version_once(client, data):
    flt = f"name = '{data['many']}'"
    seen, token, pages = [], None, 0
    while True:
        page = client.search_model_versions(flt, max_results=50, page_token=token,
                                            order_by=["version_number ASC"])
        pages += 1
        seen += [int(m.version) for m in page]
        token = page.token
        if not token:
            assert len(page) == MANY % 50
            break
        assert len(page) == 50
    assert pages == MANY // 50 + 1
    assert seen == list(range(1, MANY + 1))


def test_mv_pagination_default_order(client, data):
    flt = f"name = '{data['many']}'"
    seen, token = [], None
    while True:
        page = client.search_model_versions(flt, max_results=100, page_token=token)
        seen += [int(m.version) for m in page]
        token = page.token
        if not token:
            break
    assert seen == list(range(MANY, 0, -1))


def test_mv_pagination_with_filter(client, data):
    flt = f"name = '{data['many']}' AND run_id = 'run-m3' AND version_number > 20"
    expected = [i for i in range(21, MANY + 1) if i % 7 == 3]
    seen, token = [], None
    while True:
        page = client.search_model_versions(flt, max_results=7, page_token=token,
                                            order_by=["version_number ASC"])
        seen += [int(m.version) for m in page]
        token = page.token
        if not token:
            break
    assert seen == expected


def test_mv_search_all_no_filter(client, data):
    every = client.search_model_versions(max_results=100000)
    mine = [m for m in every if m.name == data["many"]]
    assert len(mine) == MANY

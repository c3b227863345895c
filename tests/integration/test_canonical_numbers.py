"""Numbers in the audit log (issue 9, §1). Every event is stored as RFC 8785 canonical JSON, whose
numbers are IEEE doubles in ECMAScript's form; metrics are doubles. One metric of 2^60 used to be
written as 1152921504606847000 (ECMAScript's form of that double) and then refused by the verifier
as "integer beyond 2^53": the log stopped verifying and no backup could be taken, for good.

Here random finite doubles across the whole range (around ±2^53 and ±2^63, subnormals, -0, the
extremes), written in the forms clients write them, go through every door that carries a number
into the log, and `vouch audit verify` must pass afterwards; what no double can hold is refused with
400 and changes nothing."""

from __future__ import annotations

import math
import random
import struct

import pytest

from vouch_testlib import Api, require_binary, run_cli, snapshot, unique, verify_data_dir

SEED = 20261206  # fixed: a failure names its value and reproduces

# The values the outside probe sent, as the text it sent.
PROBE_VALUES = ["1152921504606846976", "-42440401286533260", "-1152921504606846976"]


def double_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def texts_of(d: float) -> list[str]:
    """The forms a client may write `d` in: Python's shortest repr (what json.dumps sends), and
    for a whole number the exact integer digits (what a client holding an integer sends)."""
    out = [repr(d)]
    if d == int(d) and abs(d) < 1e30:
        out.append(str(int(d)))
    if d == 0 and math.copysign(1, d) < 0:
        out.append("-0")
    return out


def interesting_doubles(rng: random.Random, n_random: int) -> list[float]:
    out: list[float] = []
    for x in (2.0 ** 53, 2.0 ** 63, 2.0 ** 64, 2.0 ** 60, 1e21, 1e-7, 1e16, 1e20,
              5e-324, 2.2250738585072014e-308, 1.7976931348623157e308):
        below = above = x
        for _ in range(4):
            out += [y for y in (below, above, -below, -above) if math.isfinite(y)]
            below, above = math.nextafter(below, 0.0), math.nextafter(above, math.inf)
    out += [0.0, -0.0]
    while len(out) < n_random:
        d = double_from_bits(rng.getrandbits(64))
        if math.isfinite(d):
            out.append(d)
        out.append(float(rng.randint(-(2 ** 63), 2 ** 63)))
        out.append(double_from_bits(rng.getrandbits(52) | (rng.getrandbits(1) << 63)))  # subnormal
    return out


def number_cases() -> list[str]:
    """The texts to send, each of which is a JSON number that a double holds."""
    rng = random.Random(SEED)
    texts = list(PROBE_VALUES)
    texts += [str(2 ** 53 + k) for k in range(-2, 3)] + [str(-(2 ** 53) + k) for k in range(-2, 3)]
    texts += [str(2 ** 63 - 1), str(-(2 ** 63)), str(2 ** 63), str(2 ** 64 - 1), str(2 ** 64),
              str(10 ** 30), "1E30", "4.50", "2e-3", "0.000000000000000000000000001",
              "333333333.33333329", "9223372036854776000", "-0.0", "1e-400"]
    for d in interesting_doubles(rng, 300):
        texts += texts_of(d)
    return texts


def chunks(items: list, n: int) -> list[list]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def assert_metric(sent: str, got) -> None:
    assert isinstance(got, (int, float)) and not isinstance(got, bool), (sent, got)
    # The nearest double to what was sent (float() of a decimal text rounds correctly).
    assert float(got) == float(sent), f"sent {sent}, stored {got!r}"


def assert_log_verifies(server) -> None:
    assert verify_data_dir(server.data_dir) == []


@pytest.fixture(scope="module")
def non_admin(api) -> Api:
    """A user with no role, signed in with its own token: it creates its own models."""
    user = api.call("POST", "/api/v1/users", json_body={"name": unique("u"), "kind": "user"},
                    expect=201).json()
    token = api.call("POST", "/api/v1/tokens", expect=201,
                     json_body={"name": unique("t"), "owner": user["name"],
                                "scope": "full"}).json()["token"]
    return api.server.api(api.spec, token=token)


@pytest.mark.parametrize("who", ["admin", "non_admin"])
def test_random_doubles_through_create_version_and_put_metric_leave_a_log_that_verifies(
        api, non_admin, who):
    client = api if who == "admin" else non_admin
    name = unique("num")
    client.create_model(name)
    texts = number_cases()

    # Native door 1: create-version metrics, many per version, as raw JSON text.
    for batch in chunks(texts, 60):
        metrics = ",".join(f'"m{i}":{t}' for i, t in enumerate(batch))
        r = client.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                        data=f'{{"source":"s3://b/m","metrics":{{{metrics}}}}}', expect=201)
        got = r.json()["metrics"]
        for i, t in enumerate(batch):
            assert_metric(t, got[f"m{i}"])

    # Native door 2: PUT one metric, on a version of this model, old values replaced each time.
    n = client.create_version(name)["version"]
    for i, t in enumerate(texts[::3]):
        r = client.call("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
                        path={"name": name, "n": n, "key": f"k{i % 7}"},
                        data=f'{{"value":{t}}}', expect=200)
        assert_metric(t, r.json()["metrics"][f"k{i % 7}"])

    assert_log_verifies(api.server)


def test_the_cli_sends_large_and_tiny_metrics_that_leave_a_log_that_verifies(api, server):
    name = unique("numcli")
    api.create_model(name)
    values = ["1152921504606846976", "-42440401286533260", "9223372036854775807", "5e-324",
              "-1.7976931348623157e308", "-0", "18446744073709551616"]
    r = server.cli("versions", "create", name, "--source", "s3://b/m",
                   *[a for i, v in enumerate(values) for a in ("--metric", f"c{i}={v}")])
    assert r.returncode == 0, r.stderr
    version = api.list_versions(name)[-1]
    for i, v in enumerate(values):
        assert_metric(v, version["metrics"][f"c{i}"])
    for v in values:
        r = server.cli("metrics", "set", name, str(version["version"]), "one", v)
        assert r.returncode == 0, r.stderr
        assert_metric(v, api.get_version(name, version["version"]).json()["metrics"]["one"])
    assert_log_verifies(server)


def test_the_probes_values_are_stored_in_the_form_the_old_writer_used_and_verify(api, server,
                                                                                tmp_path):
    """The bytes of these events are the ones the writer always produced (ECMAScript's form of the
    double), so a store that holds them from before the fix verifies now, the events unchanged,
    and backs up (the issue's `vouch backup` refused it)."""
    name = unique("probe")
    api.create_model(name)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
             data='{"source":"s3://b/m","metrics":{"a":1152921504606846976}}', expect=201)
    api.call("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
             path={"name": name, "n": 1, "key": "x"}, data='{"value": -42440401286533260}',
             expect=200)
    [created] = api.events(model=name, action="model_version.created")
    assert created["after"]["metrics"] == {"a": 1152921504606847000}
    assert_log_verifies(server)
    if server.store_kind == "sqlite":  # vouch backup copies SQLite; PostgreSQL has its own tools
        out = tmp_path / "backup.db"
        r = run_cli([str(require_binary()), "backup", "--data-dir", str(server.data_dir),
                     "--out", str(out)])
        assert r.returncode == 0, r.stderr
        assert "UNVERIFIED" not in r.stdout + r.stderr


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1" + "0" * 400, "-" + "9" * 330,
                                  "1.7976931348623159e308"])
def test_a_metric_no_double_can_hold_is_refused_with_400_and_changes_nothing(api, text):
    name = unique("huge")
    api.create_model(name)
    api.create_version(name, metrics={"auc": 0.5})
    before = snapshot(api, name)
    api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
             data=f'{{"source":"s3://b/m","metrics":{{"a":{text}}}}}', expect=400,
             code="INVALID_ARGUMENT")
    api.call("PUT", "/api/v1/models/{name}/versions/{n}/metrics/{key}",
             path={"name": name, "n": 1, "key": "auc"}, data=f'{{"value":{text}}}', expect=400,
             code="INVALID_ARGUMENT")
    assert snapshot(api, name) == before


def test_json_without_numbers_for_nan_and_infinity_is_refused(api):
    name = unique("nan")
    api.create_model(name)
    before = snapshot(api, name)
    for text in ("NaN", "Infinity", "-Infinity", '"1e3"'):
        r = api.call("POST", "/api/v1/models/{name}/versions", path={"name": name},
                     data=f'{{"source":"s3://b/m","metrics":{{"a":{text}}}}}')
        assert r.status_code == 400, (text, r.status_code, r.text)
    assert snapshot(api, name) == before

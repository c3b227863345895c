"""Concurrent MLflow clients: version numbers are assigned once each, with no gaps and no repeats."""

from __future__ import annotations

import threading

import mlflow
import pytest

from compat_lib import audit_events, unique

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

THREADS = 8
PER_THREAD = 25


def test_concurrent_version_creates(registry, module_env):
    name = unique("conc")
    admin = mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)
    admin.create_registered_model(name)

    results: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        try:
            c = mlflow.MlflowClient(tracking_uri=registry.base, registry_uri=registry.base)
            start.wait()
            for j in range(PER_THREAD):
                mv = c.create_model_version(name, f"s3://bucket/t{i}/{j}", run_id=f"t{i}-{j}")
                results[i].append(mv.version)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert not errors, f"{len(errors)} client errors, first: {errors[0]!r}"

    total = THREADS * PER_THREAD
    got = sorted(int(v) for r in results for v in r)
    assert got == list(range(1, total + 1))
    # Each thread saw its own versions increase.
    for r in results:
        assert [int(v) for v in r] == sorted(int(v) for v in r)

    listed = admin.search_model_versions(f"name = '{name}'", max_results=1000)
    assert sorted(int(m.version) for m in listed) == list(range(1, total + 1))
    by_run = {m.run_id: m.source for m in listed}
    assert len(by_run) == total
    assert all(by_run[f"t{i}-{j}"] == f"s3://bucket/t{i}/{j}"
               for i in range(THREADS) for j in range(PER_THREAD))
    assert [v.version for v in admin.get_latest_versions(name)] == [str(total)]

    if registry.is_vouch:
        evs = [e for e in audit_events(registry.base, registry.token, model=name)
               if e["action"] == "model_version.created"]
        assert sorted(e["target"]["version"] for e in evs) == list(range(1, total + 1))
        assert all(e["source"]["door"] == "mlflow" for e in evs)

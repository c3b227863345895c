#!/usr/bin/env python3
"""Seeds MLflow's own SQLite database with the large registry, quickly, for scripts/bench.

    mlflow_seed_large.py DB_PATH MODELS VERSIONS RUN_ID_EVERY RUN_ID

Run with .venv-bench's Python (it needs the MLflow package). MLflow's REST API takes tens of
milliseconds per write, far too slow for 120,000 of them, so this writes MLflow's schema directly:
MLflow's own SqlAlchemyStore creates the database (every table, migrated to head, as `mlflow
server` would), then one sqlite3 transaction bulk-inserts the same registry `vouch dev seed`
makes (src/vouch/service/seed.cc):

  - models bench-00000 … (MODELS of them, the index zero-padded to at least five digits), each with
    the tag group = g<index % 100>;
  - model `big` with VERSIONS versions, version n with source s3://seed/big/<n>, stage None, status
    READY, the tag group = g<n % 100>, and the run id RUN_ID when n % RUN_ID_EVERY == 0, else n in
    32 hex digits.

Columns left out take MLflow's server defaults (the workspace). Start `mlflow server` on the file
afterwards; scripts/bench then checks through the REST API that MLflow sees the registry.
"""

import os
import sqlite3
import sys
import time


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    path, models, versions, every, run_id = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
    started = time.monotonic()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore("sqlite:///" + path).engine.dispose()  # creates and migrates the schema
    created = time.monotonic()

    now = int(time.time() * 1000)
    width = max(5, len(str(models - 1)))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    names = ["bench-%0*d" % (width, i) for i in range(models)]
    db.executemany(
        "INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES (?, ?, ?)",
        ((name, now, now) for name in names))
    db.executemany(
        "INSERT INTO registered_model_tags (name, key, value) VALUES (?, 'group', ?)",
        ((name, "g%d" % (i % 100)) for i, name in enumerate(names)))
    if versions > 0:
        db.execute(
            "INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES (?, ?, ?)",
            ("big", now, now))

        def rows():
            for n in range(1, versions + 1):
                source = "s3://seed/big/%d" % n
                rid = run_id if every > 0 and n % every == 0 else "%032x" % n
                yield ("big", n, now, now, "None", source, source, rid, "READY")

        db.executemany(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time,"
            " current_stage, source, storage_location, run_id, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
        db.executemany(
            "INSERT INTO model_version_tags (name, version, key, value) VALUES ('big', ?, 'group', ?)",
            ((n, "g%d" % (n % 100)) for n in range(1, versions + 1)))
    db.execute("COMMIT")
    db.close()
    sys.stderr.write("    MLflow schema in %.1fs; %d models and %d versions inserted in %.1fs\n"
                     % (created - started, models + (versions > 0), versions,
                        time.monotonic() - created))


if __name__ == "__main__":
    main()

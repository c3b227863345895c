"""The schema-driven fuzz run: schemathesis against docs/openapi.yaml and a real server on the
suite's store (SQLite, or PostgreSQL with VOUCH_TEST_STORE=postgres), every check on, reproducible
generation and a bounded number of cases; then `vouch audit verify` on the server's data.

Knobs (environment): SCHEMA_FUZZ_EXAMPLES (cases per operation and phase, default 12: `make test`
runs it so, in about a minute a store here), SCHEMA_FUZZ_BUDGET_S (seconds the run may take,
default 900; past that the test fails), SCHEMA_FUZZ_SEED (unset: schemathesis's deterministic
generation, the same cases every run; set: random generation from that seed, for longer runs that
explore more). Settings and the few documented relaxations: schemathesis.toml beside this file.
A longer run: docs/operations.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(_INTEGRATION) not in sys.path:
    sys.path.insert(0, str(_INTEGRATION))

from vouch_testlib import (ADMIN_TOKEN, OPENAPI_PATH, VouchServer, clean_env,  # noqa: E402
                           require_binary, run_cli, suite_store)

CONFIG = Path(__file__).resolve().with_name("schemathesis.toml")
SEED = os.environ.get("SCHEMA_FUZZ_SEED")
EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "12"))
BUDGET_S = float(os.environ.get("SCHEMA_FUZZ_BUDGET_S", "900"))

# Operations left out, and why: each would take the run's own credentials away (the admin token
# revoked, the admin disabled, deleted or demoted), after which every later case is a 401 that
# tests nothing. Their validation is covered by tests/integration.
EXCLUDED_OPERATIONS = ["revokeToken", "deleteUser", "updateUser"]


def schemathesis_bin() -> str:
    return str(Path(sys.executable).with_name("st"))


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = VouchServer(data, tmp_path / "logs", token=ADMIN_TOKEN)
    server.start()
    try:
        cmd = [schemathesis_bin(), "--config-file", str(CONFIG), "run", str(OPENAPI_PATH),
               "--url", server.base,
               "--header", f"Authorization: Bearer {ADMIN_TOKEN}",
               "--checks", "all",
               *(["--seed", SEED, "--generation-database", "none"] if SEED
                 else ["--generation-deterministic"]),
               "--max-examples", str(EXAMPLES), "--workers", "1", "--no-shrink",
               "--phases", "examples,coverage,fuzzing",
               "--request-timeout", "30", "--no-color", "--suppress-health-check", "all",
               "--report", "junit", "--report-dir", str(tmp_path / "report")]
        for op in EXCLUDED_OPERATIONS:
            cmd += ["--exclude-operation-id", op]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=BUDGET_S,
                                 env=clean_env(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"schemathesis did not finish within {BUDGET_S:.0f}s "
                                 f"(store {suite_store()}):\n{(e.stdout or '')[-4000:]}")
        report = run.stdout[-20000:]
        (tmp_path / "schemathesis.out").write_text(run.stdout + run.stderr)
        seed = SEED or "deterministic"
        assert run.returncode == 0, (f"schemathesis failed (store {suite_store()}, seed {seed}):"
                                     f"\n{report}\n{run.stderr[-4000:]}")
        assert server.running(), server.logs()
    finally:
        server.close()
    store_args = ["--store", server.postgres()["dsn"]] if server.store_kind == "postgres" \
        else ["--data-dir", str(data)]
    env = {"VOUCH_MASTER_KEY": server.postgres()["master_key"]} \
        if server.store_kind == "postgres" else None
    verify = run_cli([str(require_binary()), "audit", "verify", *store_args], env=env,
                     timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("ok: "), verify.stdout

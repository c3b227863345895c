"""A live server's Merkle log checked by Go code no one here wrote (tests/interop/tlog,
TestLiveServer): x/mod's note.Open against the published key, x/mod's tlog over the served C2SP
tiles, and the server's inclusion and consistency proofs with x/mod and transparency-dev/merkle.
Go comes from scripts/go-toolchain, modules from the committed go.sum (no network once cached).
Store-agnostic: runs on the suite's store."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from vouch_testlib import ADMIN_TOKEN, require_binary, unique

REPO = Path(__file__).resolve().parents[2]


def test_go_verifies_a_live_servers_checkpoint_tiles_and_proofs(server, api):
    model = unique("interop")
    api.create_model(model)
    for _ in range(5):
        api.create_version(model)
    api.call("POST", "/api/v1/audit/checkpoints", expect=200)
    go = subprocess.run([str(REPO / "scripts" / "go-toolchain")], capture_output=True, text=True,
                        timeout=600)
    assert go.returncode == 0, go.stderr
    env = dict(os.environ, VOUCH_BIN=str(require_binary()), VOUCH_LIVE_URL=server.base,
               VOUCH_LIVE_TOKEN=ADMIN_TOKEN, GOFLAGS="-mod=readonly", GOTOOLCHAIN="local")
    r = subprocess.run([go.stdout.strip(), "test", "-count=1", "-run", "TestLiveServer", "-v",
                        "./..."], cwd=REPO / "tests" / "interop" / "tlog", env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checked a live log of" in r.stdout, r.stdout

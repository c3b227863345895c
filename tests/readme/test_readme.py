"""README.md as a new user meets it (issue 11): the blocks fenced as ```sh readme-test run as
written, top to bottom, in one bash (`set -euo pipefail`), as in the second terminal the README
asks for: against a fresh server started as `make run` starts it (data in ./vouch-data of the
scratch directory standing for the clone, SQLite whatever the suite's store), with `vouch` on PATH
from `make install PREFIX=<tmp>` and the test venv's python (which has mlflow) first on PATH.

The one change made to the blocks: the README's address, http://127.0.0.1:5000, becomes the test
server's (a free port). `make run`, `make install`, `make test` and the PostgreSQL placeholders are
in unmarked blocks and do not run."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from vouch_testlib import REPO, Spec, VouchServer, clean_env, require_binary

README = REPO / "README.md"
README_URL = "http://127.0.0.1:5000"
FENCE = re.compile(r"^```sh readme-test\n(.*?)^```$", re.M | re.S)
MARK = "=== readme-test block"


def marked_blocks(text: str) -> list[str]:
    return [m.group(1) for m in FENCE.finditer(text)]


@dataclass
class Outcome:
    ok: bool
    report: str  # on failure: the block that failed, its exit code and what it printed


def run_blocks(blocks: list[str], *, cwd: Path, env: dict[str, str],
               timeout: float = 600.0) -> Outcome:
    """All blocks in order in one `bash` with `set -euo pipefail`; a line before each block tells
    which one was running when the shell stopped."""
    script = "set -euo pipefail\n" + "".join(
        f"echo '{MARK} {i}'\n{block}\n" for i, block in enumerate(blocks, 1))
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)
    if done.returncode == 0:
        return Outcome(True, "")
    parts = re.split(rf"^{re.escape(MARK)} (\d+)\n", done.stdout, flags=re.M)
    # parts: [before any block, "1", output of 1, "2", output of 2, …]
    if len(parts) < 3:
        return Outcome(False, f"bash exited {done.returncode} before the first block:\n"
                              f"{done.stdout}")
    n, output = int(parts[-2]), parts[-1]
    return Outcome(False, f"README block {n} of {len(blocks)} failed (exit {done.returncode}):\n"
                          f"{blocks[n - 1]}\n--- what it printed\n{output}")


def make(*args: str, timeout: float) -> subprocess.CompletedProcess:
    """`make ARGS` in the clone, as a user types it (not as a sub-make of `make test`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-s", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def install(prefix: Path) -> Path:
    """`vouch` on a PATH: `make install PREFIX=prefix` when the suite tests this clone's build, else
    (VOUCH_BIN pointing elsewhere) that binary linked in as prefix/bin/vouch."""
    built = REPO / "build" / "release" / "vouch"
    binary = require_binary()
    bindir = prefix / "bin"
    if binary.resolve() == built.resolve():
        done = make("install", f"PREFIX={prefix}", timeout=1800)
        assert done.returncode == 0, f"make install failed:\n{done.stdout}\n{done.stderr}"
    else:
        bindir.mkdir(parents=True)
        (bindir / "vouch").symlink_to(binary)
    return bindir


def shell_env(home: Path, bindir: Path) -> dict[str, str]:
    """A second terminal: no VOUCH_ or MLFLOW_ variable, a HOME of its own (where `vouch login`
    keeps its credentials), `vouch` and the venv's python first on PATH."""
    env = {k: v for k, v in clean_env().items()
           if not k.startswith("MLFLOW_") and k != "XDG_CONFIG_HOME"}
    venv_bin = Path(os.path.realpath(REPO / ".venv")) / "bin"
    env["PATH"] = f"{bindir}:{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}"
    env["HOME"] = str(home)
    env.pop("VIRTUAL_ENV", None)
    return env


def the_walk_through_did_what_it_says(srv: VouchServer, clone: Path) -> None:
    """What the README claims, read back as the admin: the artifact's digest recorded, Alice's
    version created (and audited) as Alice, not as the admin whose token was exported first, and
    the MLflow client's create audited through the mlflow door."""
    api = srv.api(Spec(), token=(clone / "vouch-data" / "admin-token").read_text().strip())
    path = {"name": "fraud-detector", "n": 1}
    v1 = api.call("GET", "/api/v1/models/{name}/versions/{n}", path=path, expect=200).json()
    digest = hashlib.sha256((clone / "model.tar.gz").read_bytes()).hexdigest()
    assert v1["artifact_digest"] == f"sha256:{digest}" and v1["stage"] == "Production", v1
    assert v1["aliases"] == ["champion"], v1
    v2 = api.call("GET", "/api/v1/models/{name}/versions/{n}",
                  path={**path, "n": 2}, expect=200).json()
    assert v2["created_by"] == "alice", v2
    events = api.call("GET", "/api/v1/audit", params={"model": "fraud-detector",
                                                      "action": "model_version.created"},
                      expect=200).json()["events"]
    assert [(e["target"]["version"], e["actor"]["name"]) for e in events] == \
        [(1, "admin"), (2, "alice")], events
    churn = api.call("GET", "/api/v1/audit", params={"model": "churn", "action": "model.created"},
                     expect=200).json()["events"]
    assert [(e["actor"]["name"], e["source"]["door"]) for e in churn] == [("admin", "mlflow")]


def test_the_readme_marks_the_walk_through_and_nothing_that_must_not_run():
    blocks = marked_blocks(README.read_text())
    text = "\n".join(blocks)
    assert len(blocks) >= 4, f"only {len(blocks)} README blocks are marked readme-test"
    for needed in ("vouch models create", "vouch login", "vouch logout", "import mlflow",
                   README_URL):
        assert needed in text, f"no marked README block holds {needed!r}"
    for never in ("make run", "make test", "postgresql://"):
        assert never not in text, f"a marked README block holds {never!r}"


def test_make_install_puts_vouch_in_prefix_bin_and_uninstall_takes_it_away(tmp_path):
    if require_binary().resolve() != (REPO / "build" / "release" / "vouch").resolve():
        pytest.skip("VOUCH_BIN is not this clone's build/release/vouch")
    prefix = tmp_path / "prefix"
    bindir = install(prefix)
    installed = bindir / "vouch"
    assert installed.read_bytes() == require_binary().read_bytes()
    assert os.access(installed, os.X_OK)
    done = make("uninstall", f"PREFIX={prefix}", timeout=60)
    assert done.returncode == 0, done.stderr
    assert not installed.exists()


def test_the_runner_stops_at_the_failing_block_and_shows_it(tmp_path):
    blocks = ["echo one", "echo two\nfalse | cat\necho not-reached", "echo three"]
    outcome = run_blocks(blocks, cwd=tmp_path, env=clean_env())
    assert not outcome.ok
    assert outcome.report.startswith("README block 2 of 3 failed (exit 1)"), outcome.report
    assert "two" in outcome.report and "not-reached" in outcome.report  # the block's text
    assert "\nnot-reached" not in outcome.report.split("--- what it printed")[1]
    assert "three" not in outcome.report


def test_the_readme_walk_through_runs_as_written(tmp_path):
    clone = tmp_path / "clone"  # stands for the fresh clone both terminals are in
    clone.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    bindir = install(tmp_path / "prefix")
    srv = VouchServer(clone / "vouch-data", tmp_path / "logs", token=None, store=None)
    srv.start()
    try:
        blocks = [b.replace(README_URL, srv.base) for b in marked_blocks(README.read_text())]
        outcome = run_blocks(blocks, cwd=clone, env=shell_env(home, bindir))
        assert outcome.ok, outcome.report + "\n--- the server\n" + srv.logs()
        the_walk_through_did_what_it_says(srv, clone)
    finally:
        srv.close()

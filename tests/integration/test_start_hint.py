"""The line `vouch serve` prints for a second terminal works as printed (issue 11, item 1): it
names `vouch` only when the first `vouch` on PATH is this build (the same file or a copy such as
`make install` makes), and the built binary's absolute path otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess

from vouch_testlib import clean_env, require_binary, wait_until

PREFIX = "In a second terminal: "


def hint_of(srv) -> str:
    line = wait_until(lambda: next((l for l in srv.stdout().splitlines() if l.startswith(PREFIX)),
                                   None), timeout=30, what="the start-up hint")
    return line[len(PREFIX):]


def run_hint(hint: str, path: str, cwd) -> subprocess.CompletedProcess:
    """The hint pasted into a fresh bash whose PATH is `path`, in another directory."""
    return subprocess.run(["bash", "-c", "set -euo pipefail; " + hint], capture_output=True,
                          text=True, timeout=60, env=clean_env({"PATH": path}), cwd=cwd,
                          stdin=subprocess.DEVNULL)


def built() -> str:
    """The binary as the server sees itself (/proc/self/exe: symbolic links resolved)."""
    return os.path.realpath(require_binary())


def base_path() -> str:
    """PATH without any directory that holds a `vouch`."""
    dirs = [d for d in os.environ.get("PATH", "").split(":")
            if d and not os.path.exists(os.path.join(d, "vouch"))]
    return ":".join(dirs)


def started(server_factory, path: str):
    return server_factory(token=None, env={"PATH": path})


def test_hint_names_the_built_binary_when_no_vouch_is_on_path(server_factory, tmp_path):
    path = base_path()
    srv = started(server_factory, path)
    hint = hint_of(srv)
    assert hint.endswith(f"; {built()} models list"), hint
    assert str(srv.data_dir / "admin-token") in hint, hint
    done = run_hint(hint, path, tmp_path)
    assert done.returncode == 0, done.stderr


def test_hint_names_vouch_when_an_installed_copy_is_first_on_path(server_factory, tmp_path):
    bindir = tmp_path / "prefix" / "bin"
    bindir.mkdir(parents=True)
    shutil.copy2(require_binary(), bindir / "vouch")
    path = f"{bindir}:{base_path()}"
    srv = started(server_factory, path)
    hint = hint_of(srv)
    assert hint.endswith("; vouch models list"), hint
    done = run_hint(hint, path, tmp_path)
    assert done.returncode == 0, done.stderr


def test_hint_names_the_built_binary_when_another_vouch_comes_first(server_factory, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "vouch").write_text("#!/bin/sh\necho 'an older vouch' >&2\nexit 7\n")
    (other / "vouch").chmod(0o755)
    path = f"{other}:{base_path()}"
    srv = started(server_factory, path)
    hint = hint_of(srv)
    assert hint.endswith(f"; {built()} models list"), hint
    done = run_hint(hint, path, tmp_path)
    assert done.returncode == 0, done.stderr

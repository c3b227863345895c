"""scripts/check-layers, the include-graph check: clean on this checkout, and failing, in a
temporary copy of src/vouch, on each kind of include the layer order in src/vouch/layers.txt
forbids."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check-layers"


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of this checkout's src/vouch (sources and layers.txt only) under tmp_path."""
    shutil.copytree(REPO / "src" / "vouch", tmp_path / "src" / "vouch",
                    ignore=shutil.ignore_patterns("README.md"))
    return tmp_path


def add_include(path: Path, header: str) -> int:
    """Adds `#include "header"` after the file's first include; returns its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("#include"))
    lines.insert(first + 1, f'#include "{header}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return first + 2


def test_this_checkout_includes_only_downward():
    result = run_check(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every include under src/vouch points down" in result.stdout


def test_the_untouched_copy_passes(checkout: Path):
    result = run_check(checkout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_store_interface_including_the_service_above_it_fails(checkout: Path):
    line = add_include(checkout / "src/vouch/store/store.h", "vouch/service/registry.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert (f'src/vouch/store/store.h:{line}: store includes "vouch/service/registry.h" from '
            f"service, a layer above it") in result.stdout
    assert "check-layers: 1 problem(s) with includes under src/vouch" in result.stdout


def test_the_store_interface_including_its_own_backend_fails(checkout: Path):
    line = add_include(checkout / "src/vouch/store/store.cc", "vouch/store/sqlite/sqlite_store.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert (f'src/vouch/store/store.cc:{line}: store includes "vouch/store/sqlite/sqlite_store.h" '
            f"from store/sqlite, a layer above it") in result.stdout


def test_a_test_file_is_held_to_its_folders_layer_too(checkout: Path):
    line = add_include(checkout / "src/vouch/domain/model_test.cc", "vouch/audit/verify.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert f"src/vouch/domain/model_test.cc:{line}: domain includes" in result.stdout


def test_one_backend_including_the_other_fails_as_sideways(checkout: Path):
    line = add_include(checkout / "src/vouch/store/sqlite/sqlite_store.cc",
                       "vouch/store/postgres/pg_conn.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert (f"src/vouch/store/sqlite/sqlite_store.cc:{line}: store/sqlite includes "
            f'"vouch/store/postgres/pg_conn.h" from store/postgres, a sibling on the same line'
            ) in result.stdout


def test_one_door_including_the_other_fails_as_sideways(checkout: Path):
    add_include(checkout / "src/vouch/api/mlflow/mlflow_api.cc", "vouch/api/native/native_api.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert "api/mlflow includes \"vouch/api/native/native_api.h\" from api/native, a sibling" in (
        result.stdout)


def test_a_vouch_header_included_without_its_root_fails(checkout: Path):
    line = add_include(checkout / "src/vouch/util/json.cc", "status.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert f'src/vouch/util/json.cc:{line}: includes "status.h"; spell it from the root' in (
        result.stdout)


def test_an_include_of_a_header_that_moved_away_fails(checkout: Path):
    line = add_include(checkout / "src/vouch/server/serve.cc", "vouch/store/open.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert (f'src/vouch/server/serve.cc:{line}: includes "vouch/store/open.h", which does not '
            f"exist") in result.stdout


def test_a_source_file_in_a_folder_no_layer_owns_fails(checkout: Path):
    stray = checkout / "src/vouch/webhooks/delivery.cc"
    stray.parent.mkdir()
    stray.write_text('#include "vouch/util/status.h"\n', encoding="utf-8")
    result = run_check(checkout)
    assert result.returncode == 1
    assert ("src/vouch/webhooks/delivery.cc: in no layer; add its folder to src/vouch/layers.txt"
            in result.stdout)


def test_a_layer_listed_in_a_new_line_may_then_be_included_from_above(checkout: Path):
    stray = checkout / "src/vouch/webhooks/delivery.h"
    stray.parent.mkdir()
    stray.write_text('#include "vouch/util/status.h"\n', encoding="utf-8")
    layers = checkout / "src/vouch/layers.txt"
    order = layers.read_text(encoding="utf-8").replace("service ", "webhooks\nservice ", 1)
    layers.write_text(order, encoding="utf-8")
    add_include(checkout / "src/vouch/service/registry.cc", "vouch/webhooks/delivery.h")
    result = run_check(checkout)
    assert result.returncode == 0, result.stdout
    # ... but not from below.
    add_include(checkout / "src/vouch/audit/audit_log.cc", "vouch/webhooks/delivery.h")
    result = run_check(checkout)
    assert result.returncode == 1
    assert 'audit includes "vouch/webhooks/delivery.h" from webhooks, a layer above it' in (
        result.stdout)


def test_a_layer_listed_twice_is_refused_before_any_include_is_read(checkout: Path):
    layers = checkout / "src/vouch/layers.txt"
    layers.write_text(layers.read_text(encoding="utf-8") + "util\n", encoding="utf-8")
    result = run_check(checkout)
    assert result.returncode == 2
    assert "util is listed twice" in result.stdout

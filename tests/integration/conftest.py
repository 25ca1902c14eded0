"""pytest set-up of the LLDB integration tests (label `lldb`).

Run with the Python LLDB embeds (/usr/bin/python3), from CTest or by hand:

    FRAMEAUDIT_BUILD_DIR=build /usr/bin/python3 -m pytest tests/integration -q
    FRAMEAUDIT_FULL_MATRIX=1 ...   every safe cell of the matrix, not the CI subset

The helpers live in two plain modules every LLDB test can import (this
directory is on sys.path under pytest):

- lldb_harness: paths (build dir, Python package, native plugin), the lldb
  module, Session (one SBDebugger with either front-end), stack_fingerprint.
- fixture_cores: the matrix (Cell, matrix_cells, find_cell), launching a
  fixture to its crash or breakpoint, the three core formats with a cache
  per build dir (get_core, core_or_skip), truth_problems.

The fixtures below wrap them for pytest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixture_cores import (  # noqa: E402,F401 - re-exported for test modules
    CORE_FORMATS, CRASH_STOP, Cell, CoreFile, CoreUnavailable, core_or_skip, find_cell,
    get_core, launch_fixture, load_truth, matrix_cells, safe_cells, truth_problems)
from lldb_harness import (  # noqa: E402,F401
    IN_CI, Session, build_dir, import_frameaudit, lldb, native_plugin_path,
    python_package_dir, stack_fingerprint)


def python_frontend_built() -> bool:
    return (python_package_dir() / "__init__.py").exists() and \
        any(python_package_dir().glob("_core*.so"))


def require_python_frontend():
    """Skip (fail under CI=true) when the Python front-end is not built."""
    if not python_frontend_built():
        message = f"the Python front-end is not built ({python_package_dir()})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def require_matrix():
    if not safe_cells():
        message = f"the fixture matrix is not built ({build_dir() / 'fixtures' / 'matrix.json'})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def native_plugin_built():
    """The native plugin's tests fail, never skip, without the plugin: CMake
    builds it whenever liblldb-22-dev is installed."""
    if not native_plugin_path().exists():
        pytest.fail(f"the native LLDB plugin {native_plugin_path()} is not built: CMake builds it "
                    f"when liblldb-22-dev is installed (scripts/setup.sh installs it)", pytrace=False)
    require_matrix()


def cell_params(cells=None):
    """pytest params for cells, with readable ids."""
    return [pytest.param(c, id=c.name) for c in (matrix_cells() if cells is None else cells)]


@pytest.fixture
def session():
    """A debugger with nothing loaded."""
    s = Session()
    yield s
    s.close()


@pytest.fixture
def py_session():
    """A debugger with the Python front-end loaded."""
    require_python_frontend()
    s = Session()
    s.load_python()
    yield s
    s.close()


def audit_json(s: Session, command: str = "fa audit -a -j") -> dict:
    """Run a JSON-printing frameaudit command; its document."""
    out = s.ok(command)
    return json.loads(out)

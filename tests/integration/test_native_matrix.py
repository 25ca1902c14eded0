"""Every correct fixture of the matrix through the native plugin: live at the
breakpoint and at the deliberate crash, and from an LLDB minidump, a kernel
core and a gdb core; `fa audit -a -j` must match the fixture's own ground
truth each time (frames, regions, call sites, states).

Each LLDB session runs in a fresh Python process (native_helpers, "isolation").
Set FRAMEAUDIT_MATRIX_FILTER to a substring of the binary names to run a part
of it (e.g. "nested-gcc")."""

import json
import os

import pytest

from fixture_cores import CORE_CELLS, full_matrix

from native_helpers import (cell_id, cell_path, check_truth, core_isolated, core_or_skip,
                            live_isolated, minidump_isolated, safe_cells,
                            truth_problems)

FILTER = os.environ.get("FRAMEAUDIT_MATRIX_FILTER", "")
# CI runs the native half of the CI cells (fixture_cores.CORE_CELLS: both
# compilers, both modes, -O0/-O2, fp/nofp, every fixture; the Python
# front-end's core tests take the other half); FRAMEAUDIT_FULL_MATRIX=1 runs
# every safe cell that was built.
CELLS = [c for c in safe_cells() if FILTER in cell_id(c)
         and (full_matrix()
              or (c.get("compiler"), c.get("opt"), c.get("flags"), c.get("mode")) in CORE_CELLS["native"])]
AUDIT = "fa audit -a -j"
PARAMS = [pytest.param(c, id=cell_id(c)) for c in CELLS]

pytestmark = pytest.mark.usefixtures("native_plugin_built")


def document(result):
    succeeded, out, err = result
    assert succeeded, err
    return json.loads(out)


def truth_of(path):
    return json.loads(path.read_text())


@pytest.mark.parametrize("stop", ["break", "segv"])
@pytest.mark.parametrize("cell", PARAMS)
def test_live(cell, stop, tmp_path):
    truth_file = tmp_path / "truth.json"
    [result] = live_isolated(cell_path(cell), stop, truth_file, [AUDIT])
    check_truth(truth_problems(document(result), truth_of(truth_file)))


@pytest.mark.parametrize("cell", PARAMS)
def test_minidump(cell, tmp_path):
    exe = cell_path(cell)
    truth_file = tmp_path / "truth.json"
    core = minidump_isolated(exe, "break", truth_file, tmp_path / "stop.dmp")
    [result] = core_isolated(exe, core, [AUDIT])
    check_truth(truth_problems(document(result), truth_of(truth_file)))


@pytest.mark.parametrize("fmt,stop", [("kernel", "segv"), ("gcore", "break"), ("gcore", "segv")])
@pytest.mark.parametrize("cell", PARAMS)
def test_core(cell, fmt, stop):
    """Kernel and gdb cores, made once per binary and shared with the Python
    front-end's tests (fixture_cores.get_core caches them in the build tree)."""
    exe = cell_path(cell)
    core = core_or_skip(exe, fmt, stop)
    [result] = core_isolated(exe, core.path, [AUDIT])
    check_truth(truth_problems(document(result), core.truth), f"{fmt} core {core.path}:")

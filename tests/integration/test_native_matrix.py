"""Every correct fixture of the matrix through the native plugin: live at the
breakpoint and at the deliberate crash, and from an LLDB minidump, a kernel
core and a gdb core of the same stop; `fa audit -a -j` must match the
fixture's own ground truth each time (frames, regions, call sites, states).

Set FRAMEAUDIT_MATRIX_FILTER to a substring of the binary names to run a
part of it (e.g. "nested-gcc")."""

import json
import os

import pytest

from native_helpers import (Session, cell_id, cell_path, gdb_core, kernel_core, native_plugin,
                            safe_cells, truth_problems)

FILTER = os.environ.get("FRAMEAUDIT_MATRIX_FILTER", "")
CELLS = [c for c in safe_cells() if FILTER in cell_id(c)]

pytestmark = pytest.mark.skipif(not native_plugin().exists() or not CELLS,
                                reason="native plugin or fixture matrix not built")


def audit(session):
    return json.loads(session.ok("fa audit -a -j"))


def from_core(exe, core):
    s = Session()
    try:
        s.load_native()
        s.load_core(exe, core)
        return audit(s)
    finally:
        s.close()


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_live_breakpoint_and_minidump(cell, tmp_path):
    exe = cell_path(cell)
    s = Session()
    try:
        s.load_native()
        s.launch(exe, "break", tmp_path / "truth.json", tmp_path)
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth_problems(audit(s), truth) == [], "live at the breakpoint"
        core = tmp_path / "stop.dmp"
        s.ok(f'process save-core --plugin-name=minidump --style=full "{core}"')
    finally:
        s.close()
    assert truth_problems(from_core(exe, core), truth) == [], "minidump"


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_live_crash(cell, tmp_path):
    exe = cell_path(cell)
    s = Session()
    try:
        s.load_native()
        s.launch(exe, "segv", tmp_path / "truth.json", tmp_path)
        truth = json.loads((tmp_path / "truth.json").read_text())
        assert truth_problems(audit(s), truth) == []
    finally:
        s.close()


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_kernel_core(cell, tmp_path):
    exe = cell_path(cell)
    core = kernel_core(exe, "segv", tmp_path / "truth.json", tmp_path)
    if core is None:
        pytest.skip("this system does not write kernel cores to files")
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth_problems(from_core(exe, core), truth) == []


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_gdb_core(cell, tmp_path):
    exe = cell_path(cell)
    core = gdb_core(exe, "break", tmp_path / "truth.json", tmp_path / "gcore.core")
    if core is None:
        pytest.skip("gdb is not installed")
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth_problems(from_core(exe, core), truth) == []

"""The Python front-end on cores: every fixture in its half of the CI cells
(fixture_cores.CORE_CELLS; the native plugin takes the other half) as a kernel core, a gdb `gcore` core and an LLDB minidump, at the
deliberate crash (and, for gcore and minidump, at the breakpoint), checked
against the ground truth the same run wrote. Also: the LLDBTarget used
without any command (as the CLI uses it) gives the same document as
`fa audit -a -j`."""

import json

import pytest

from fixture_cores import check_truth, core_matrix_cells

from conftest import (CRASH_STOP, Session, audit_json, cell_params, core_or_skip,
                      import_frameaudit, require_matrix, require_python_frontend,
                      truth_problems)

pytestmark = pytest.mark.usefixtures("frontend_and_matrix")


@pytest.fixture
def frontend_and_matrix():
    require_python_frontend()
    require_matrix()


@pytest.mark.parametrize("fmt", ["kernel", "gcore", "minidump"])
@pytest.mark.parametrize("cell", cell_params(core_matrix_cells("python")))
def test_core_matches_ground_truth(py_session, cell, fmt):
    core = core_or_skip(cell.path, fmt, CRASH_STOP)
    py_session.load_core(cell.path, core.path)
    doc = audit_json(py_session)
    assert doc["target"]["core"] == str(core.path)
    assert doc["target"]["executable"] == str(cell.path)
    assert doc["target"]["arch"] == "x86_64"
    check_truth(truth_problems(doc, core.truth), f"{fmt} core {core.path}:")


@pytest.mark.parametrize("fmt", ["gcore", "minidump"])
@pytest.mark.parametrize("cell", cell_params(core_matrix_cells("python")))
def test_core_at_breakpoint_matches_ground_truth(py_session, cell, fmt):
    core = core_or_skip(cell.path, fmt, "break")
    py_session.load_core(cell.path, core.path)
    check_truth(truth_problems(audit_json(py_session), core.truth), f"{fmt} core {core.path}:")


@pytest.mark.parametrize("fmt", ["kernel", "gcore", "minidump"])
def test_scripted_use_without_a_command(fmt):
    """LLDBTarget over a bare SBTarget/SBProcess (the CLI's way) renders
    exactly what the command prints."""
    from conftest import find_cell
    cell = find_cell("threads", "gcc", "O0", "fp", "audit") or find_cell("nested")
    if cell is None:
        pytest.skip("no threads/nested fixture")
    core = core_or_skip(cell.path, fmt, CRASH_STOP)
    frameaudit = import_frameaudit()
    from frameaudit.lldb_target import LLDBTarget

    with Session() as s:
        s.load_core(cell.path, core.path)
        target = LLDBTarget(s.target, s.process, core_path=str(core.path))
        report = frameaudit.analyze(target, all_threads=True)
        scripted = frameaudit.render_json(report)
        assert report.summary.threads == len(core.truth["threads"])
        assert all(t.stack is not None for t in report.threads)
    with Session() as s:
        s.load_python()
        s.load_core(cell.path, core.path)
        assert s.ok("fa audit -a -j") == scripted
        assert json.loads(scripted)["target"]["core"] == str(core.path)

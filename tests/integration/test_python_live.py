"""The Python front-end on live fixtures: every cell of the (CI subset of
the) matrix, stopped at its deliberate crash and at a breakpoint, audited
through `fa audit -a -j` and checked against the fixture's own ground truth.
At the breakpoint every subcommand must also leave the stacks, registers and
selection untouched, and the fixture must then run to its normal end (it
verifies every block's contents on the way out)."""

import json

import pytest

from fixture_cores import check_truth

from conftest import (CRASH_STOP, audit_json, cell_params, launch_fixture, load_truth, lldb,
                      require_matrix, require_python_frontend, stack_fingerprint,
                      truth_problems)

pytestmark = pytest.mark.usefixtures("frontend_and_matrix")

SUBCOMMANDS = ("fa audit", "fa audit -a", "fa audit -a -j", "fa chain -a", "fa chain -j",
               "fa regions -a", "fa regions -a -j", "fa map", "fa map -a --ascii", "fa map -j",
               "fa lint", "fa lint --format json", "fa audit --max-depth 2",
               "fa audit -t 1", "fa audit --help", "fa audit -t 99999")


@pytest.fixture
def frontend_and_matrix():
    require_python_frontend()
    require_matrix()


@pytest.mark.parametrize("cell", cell_params())
def test_crash_matches_ground_truth(py_session, cell, tmp_path):
    truth = load_truth(launch_fixture(py_session, cell, CRASH_STOP, tmp_path))
    doc = audit_json(py_session)
    assert doc["schema"] == "frameaudit/1"
    assert doc["target"]["pid"] == py_session.process.GetProcessID()
    assert doc["target"]["core"] is None
    assert doc["target"]["executable"] == str(cell.path)
    selected = [t for t in doc["threads"] if t["tid"] == truth["stop_tid"]]
    assert selected, "the crashing thread is not in the document"
    check_truth(truth_problems(doc, truth))


@pytest.mark.parametrize("cell", cell_params())
def test_breakpoint_matches_ground_truth_and_is_read_only(py_session, cell, tmp_path):
    truth = load_truth(launch_fixture(py_session, cell, "break", tmp_path))
    process = py_session.process
    before = stack_fingerprint(process)
    doc = audit_json(py_session)
    problems = truth_problems(doc, truth)
    assert stack_fingerprint(process) == before, "fa audit -a -j changed the debuggee"
    for command in SUBCOMMANDS:
        py_session.cmd(command)
        assert stack_fingerprint(process) == before, f"`{command}` changed the debuggee"
        assert process.GetState() == lldb.eStateStopped, f"`{command}` resumed the process"
    # The fixture checks every live block's pattern before exiting 0.
    assert py_session.run_to_end() == cell.expected_exit
    check_truth(problems)


@pytest.mark.parametrize("cell", cell_params())
def test_every_subcommand_runs(py_session, cell, tmp_path):
    """Text, map and JSON of every subcommand: non-empty, JSON parses, the
    regions listing agrees with audit's."""
    launch_fixture(py_session, cell, CRASH_STOP, tmp_path)
    audit = audit_json(py_session)
    regions = audit_json(py_session, "fa regions -a -j")
    assert [t["regions"] for t in regions["threads"]] == [t["regions"] for t in audit["threads"]]
    chain = audit_json(py_session, "fa chain -a -j")
    assert [t["chain_end"] for t in chain["threads"]] == [t["chain_end"] for t in audit["threads"]]
    for command in ("fa audit", "fa chain", "fa regions -a", "fa map", "fa map --ascii"):
        out = py_session.ok(command)
        assert out.strip(), f"`{command}` printed nothing"
    ascii_map = py_session.ok("fa map --ascii")
    assert all(ord(ch) < 128 for ch in ascii_map), "fa map --ascii printed non-ASCII"
    lint = json.loads(py_session.ok("fa lint --format json"))
    assert lint["threads"] == [] and lint["schema"] == "frameaudit/1"

"""The Python front-end as LLDB sees it: the command tree and its help, the
alias, importing twice, the fallback for LLDB without parsed commands, living
next to the native plugin, byte-identical output to it on a live process,
and the sra_alloc frame recognizer."""

import json
import os
import subprocess

import pytest

from conftest import (Session, find_cell, import_frameaudit, launch_fixture, lldb,
                      native_plugin_path,
                      python_package_dir, require_matrix, require_python_frontend)
from lldb_harness import require_lldb_executable

SUBS = ("chain", "audit", "regions", "map", "lint")


@pytest.fixture(autouse=True)
def frontend():
    require_python_frontend()


def nested_cell():
    require_matrix()
    cell = find_cell("nested", "gcc", "O0", "fp", "audit")
    if cell is None:
        pytest.skip("nested-gcc-O0-fp-audit is not built")
    return cell


def test_command_tree(py_session):
    root = py_session.ok("help frameaudit")
    for sub in SUBS:
        assert sub in root
        text = py_session.ok(f"help frameaudit {sub}")
        assert "Examples:" in text and "(lldb) fa " + sub in text, text
        assert py_session.ok(f"help fa {sub}").startswith(text)
    audit = py_session.ok("help frameaudit audit")
    for option in ("--thread", "--all-threads", "--json", "--max-depth"):
        assert option in audit
    assert "--ascii" in py_session.ok("help frameaudit map")
    assert "--format" in py_session.ok("help frameaudit lint")
    # `--help` prints the shared help text, the same as the native plugin's.
    assert py_session.ok("fa audit --help").startswith("Audit threads")


def test_import_twice_is_harmless(py_session):
    out = py_session.load_python()
    assert "already loaded" not in out
    assert py_session.fails("fa audit").startswith("error: no target")
    listed = py_session.ok("frame recognizer list")
    assert listed.count("frameaudit.recognizer.SraAllocRecognizer") == 1
    fmt = py_session.debugger.GetSetting("frame-format").GetStringValue(1 << 16)
    assert fmt.count("frameaudit.recognizer.frame_annotation") == 1


def lldb_batch(*commands, env=None):
    exe = require_lldb_executable()
    args = [exe, "--batch", "--no-lldbinit"]
    for c in commands:
        args += ["-o", c]
    return subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_classic_commands_fallback(tmp_path):
    """LLDB < 18 has no parsed Python commands: the same commands, parsed by
    frameaudit itself, and a sentence saying what is missing."""
    cell = nested_cell()
    out = lldb_batch(f'command script import "{python_package_dir()}"',
                     f'file "{cell.path}"', "fa lint --format json", "fa audit -t 1 -a",
                     env={"FRAMEAUDIT_CLASSIC_COMMANDS": "1"})
    text = out.stdout + out.stderr
    assert "without tab completion" in text
    assert "--thread and --all-threads exclude each other" in text
    assert '"schema": "frameaudit/1"' in text


def test_loaded_from_lldbinit_style_batch():
    """What a user's ~/.lldbinit line does: import, then the commands exist."""
    out = lldb_batch(f'command script import "{python_package_dir()}"', "help fa")
    assert out.returncode == 0, out.stderr
    assert "Audit stack frames" in out.stdout


@pytest.mark.usefixtures("native_plugin_built")
def test_native_first_python_stays_out():
    out = lldb_batch(f'plugin load "{native_plugin_path()}"',
                     f'command script import "{python_package_dir()}"')
    assert out.returncode == 0, out.stderr
    assert ("frameaudit: a `frameaudit` command is already loaded; the Python front-end stays "
            "out of the way.") in out.stdout


@pytest.mark.usefixtures("native_plugin_built")
def test_byte_identical_to_native_on_a_live_process(tmp_path):
    """One live process, the native plugin's commands through LLDB and the
    Python front-end's run on the same debugger: the same bytes."""
    import_frameaudit()
    from frameaudit import commands
    cell = find_cell("threads", "gcc", "O0", "fp", "audit") or nested_cell()
    with Session() as s:
        s.load_native()
        launch_fixture(s, cell, "break", tmp_path)
        for line in ("chain", "chain -a -j", "audit", "audit -a", "audit -a -j",
                     "regions -a", "regions -a -j", "map", "map -a --ascii", "map -j",
                     "lint", "lint --format json", "audit -t 2 -t 1", "audit --max-depth 2",
                     "audit -t 4242", "map --max-depth 0"):
            sub, *words = line.split()
            native = s.cmd(f"frameaudit {line}")
            result = lldb.SBCommandReturnObject()
            commands.run_subcommand(sub, s.debugger, words, result)
            python = (result.Succeeded(), result.GetOutput() or "", result.GetError() or "")
            assert python == native, f"`fa {line}` differs"


# -- the sra_alloc recognizer ---------------------------------------------------

def frame0_line(s):
    return s.ok("frame info").strip()


def test_recognizer_explains_every_step_of_an_allocation(py_session, tmp_path):
    """Step through main's first sra_alloc (48 bytes, audit mode: reserved
    round16(48) + 32 = 80) one instruction at a time: bt and frame info say
    what the allocator is doing, frame variable gives the numbers, and the
    caller's RSP afterwards is what the recognizer predicted."""
    cell = nested_cell()
    py_session.create_target(cell.path)
    bp = py_session.target.BreakpointCreateByName("sra_alloc")
    assert bp.GetNumLocations() == 1
    py_session.launch(cell.path, env={"SRA_STOP": "none",
                                      "SRA_GROUND_TRUTH": str(tmp_path / "t.json")},
                      breakpoint="sra_alloc")
    thread = py_session.process.GetSelectedThread()
    phases, predicted_after = [], None
    for _ in range(200):
        frame = thread.GetFrameAtIndex(0)
        if frame.GetFunctionName() != "sra_alloc":
            break
        line = frame0_line(py_session)
        assert "[sra_alloc: " in line, line
        assert "[sra_alloc: " in py_session.ok("bt 1")
        phase = line.split("[sra_alloc: ", 1)[1].split()[0]
        if not phases or phases[-1] != phase:
            phases.append(phase)
        variables = py_session.ok("frame variable")
        if phase in ("checking", "relocating", "stub"):
            assert "(unsigned long) requested_size = 48" in variables, variables
            assert "(unsigned long) reserved = 80" in variables, variables
            assert "drop by 80 bytes" in line or "lowered by 80 bytes" in line, line
            after = [v for v in variables.splitlines() if "caller_rsp_after" in v]
            if after:
                predicted_after = int(after[0].split("=")[1].strip(), 16)
        # Into every instruction but the call into the runtime: stepping
        # "over" the RBP switch would run to the caller, since the CFA moves.
        inst = py_session.target.ReadInstructions(frame.GetPCAddress(), 1)[0]
        thread.StepInstruction(inst.GetMnemonic(py_session.target).startswith("call"))
    assert thread.GetFrameAtIndex(0).GetFunctionName() == "main"
    assert phases[0] == "checking" and "relocating" in phases and phases[-1] == "stub", phases
    assert thread.GetFrameAtIndex(0).GetSP() == predicted_after
    # Outside sra_alloc the frame line is LLDB's own.
    assert "[sra_alloc" not in frame0_line(py_session)

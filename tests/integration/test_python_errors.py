"""What goes wrong must be a clear error through the command's result, never
a crash or a hang: no target, no process, a running or exited process, a
core of another architecture (a real aarch64 core from qemu-user), a
truncated core, memory that cannot be read, bad options. The debugger must
keep working afterwards."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (CRASH_STOP, Session, build_dir, core_or_skip, find_cell,
                      launch_fixture, lldb, require_matrix, require_python_frontend)
from fixture_cores import _locked, cache_dir
from lldb_harness import require_tool

ANALYSIS = ("chain", "audit", "regions", "map")
ALL = ANALYSIS + ("lint",)
NO_TARGET = ("error: no target: load a program or a core first (`file ./prog`, "
             "`target create --core core`).\n")
NO_PROCESS = ("error: no process: run the program or load a core first (`run`, "
              "`target create --core core`).\n")


@pytest.fixture(autouse=True)
def frontend():
    require_python_frontend()


def nested():
    require_matrix()
    cell = find_cell("nested", "gcc", "O0", "fp", "audit")
    if cell is None:
        pytest.skip("nested-gcc-O0-fp-audit is not built")
    return cell


def still_works(s: Session):
    """The debugger answers commands after the error."""
    assert "frameaudit" in s.ok("help frameaudit")


@pytest.mark.parametrize("sub", ALL)
def test_no_target(py_session, sub):
    assert py_session.fails(f"fa {sub}") == NO_TARGET
    assert py_session.fails(f"frameaudit {sub} -j") == NO_TARGET
    still_works(py_session)


@pytest.mark.parametrize("sub", ANALYSIS)
def test_no_process(py_session, sub):
    py_session.create_target(nested().path)
    assert py_session.fails(f"fa {sub}") == NO_PROCESS
    assert py_session.fails(f"fa {sub} -a -j") == NO_PROCESS
    still_works(py_session)


def test_lint_needs_only_a_target(py_session):
    py_session.create_target(nested().path)
    out = py_session.ok("fa lint")
    assert "sra_alloc" in out or "call site" in out
    doc = json.loads(py_session.ok("fa lint --format json"))
    assert doc["schema"] == "frameaudit/1" and doc["threads"] == []


def test_exited_process(py_session, tmp_path):
    cell = nested()
    py_session.launch(cell.path, env={"SRA_STOP": "none",
                                      "SRA_GROUND_TRUTH": str(tmp_path / "t.json")},
                      breakpoint="main")
    assert py_session.run_to_end() == 0
    for sub in ANALYSIS:
        assert py_session.fails(f"fa {sub}") == \
            "error: the process has exited: nothing to inspect.\n"
    still_works(py_session)


def test_running_process():
    """Asynchronous mode, process running: refused; the process keeps running."""
    sleep = shutil.which("sleep")
    with Session() as s:
        s.load_python()
        s.create_target(Path(sleep))
        s.debugger.SetAsync(True)
        error = lldb.SBError()
        s.process = s.target.Launch(lldb.SBLaunchInfo(["30"]), error)
        assert error.Success(), error.GetCString()
        listener = s.debugger.GetListener()
        event = lldb.SBEvent()
        for _ in range(100):
            if s.process.GetState() == lldb.eStateRunning:
                break
            listener.WaitForEvent(1, event)
        assert s.process.GetState() == lldb.eStateRunning
        ok, out, err = s.cmd("fa audit")
        assert not ok
        assert err == "error: the process is running: stop it first (`process interrupt`).\n"
        assert s.process.GetState() == lldb.eStateRunning
        s.process.Kill()
        s.debugger.SetAsync(False)


# -- another architecture -------------------------------------------------------

def aarch64_core() -> Path:
    """A real aarch64 ELF core: a static aarch64 program crashed under
    qemu-user (cached per build dir)."""
    gcc = require_tool("aarch64-linux-gnu-gcc", "an aarch64 core")
    qemu = require_tool("qemu-aarch64", "an aarch64 core")
    work = cache_dir() / "aarch64"
    with _locked(cache_dir() / ".aarch64.lock"):
        made = sorted(work.glob("qemu_*.core")) if work.exists() else []
        if made:
            return made[0]
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "crash.c").write_text("int main(void) { volatile int *p = 0; return *p; }\n")
        subprocess.run([gcc, "-static", "-O0", "-g", "-o", "crash", "crash.c"], cwd=work,
                       check=True, capture_output=True, timeout=120)
        # qemu writes the guest's core itself; a directory named like the
        # host's core pattern keeps the kernel from dumping qemu too.
        (work / "core").mkdir()
        import resource

        def allow():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
        subprocess.run([qemu, "./crash"], cwd=work, preexec_fn=allow, capture_output=True,
                       timeout=120)
        made = sorted(work.glob("qemu_*.core"))
        assert made, "qemu-aarch64 wrote no core"
        return made[0]


@pytest.mark.parametrize("sub", ANALYSIS)
def test_core_of_another_architecture(py_session, sub):
    core = aarch64_core()
    py_session.ok(f'target create --core "{core}"')
    assert "aarch64" in py_session.debugger.GetSelectedTarget().GetTriple()
    err = py_session.fails(f"fa {sub}")
    assert err == "error: frameaudit supports x86_64 targets only; this target is aarch64.\n"
    assert py_session.fails(f"fa {sub} -a -j") == err
    still_works(py_session)


def test_lint_of_another_architecture(py_session):
    core = aarch64_core()
    exe = core.parent / "crash"
    py_session.ok(f'target create "{exe}" --core "{core}"')
    ok, out, err = py_session.cmd("fa lint crash")
    assert not ok and err.startswith("error: ") and err.count("\n") == 1, (out, err)
    still_works(py_session)


# -- truncated cores and unreadable memory ---------------------------------------------

@pytest.mark.parametrize("keep", [64, 4096, "notes", "half"])
def test_truncated_core(py_session, tmp_path, keep):
    """Cut a kernel (or gcore) core short: LLDB may refuse it, or load what is
    left; the command then either fails with one sentence or reports the
    memory it could not read. Never a crash."""
    cell = nested()
    try:
        core = core_or_skip(cell.path, "kernel", CRASH_STOP)
    except pytest.skip.Exception:
        core = core_or_skip(cell.path, "gcore", CRASH_STOP)
    data = core.path.read_bytes()
    size = {"notes": _end_of_notes(data), "half": len(data) // 2}.get(keep, keep)
    cut = tmp_path / f"cut-{keep}.core"
    cut.write_bytes(data[:size])
    error = lldb.SBError()
    py_session.create_target(cell.path)
    process = py_session.target.LoadCore(str(cut), error)
    if not process.IsValid():
        assert py_session.fails("fa audit") == NO_PROCESS
        return
    py_session.process = process
    for command in ("fa audit -a -j", "fa audit", "fa chain -a", "fa map", "fa regions -a"):
        ok, out, err = py_session.cmd(command)
        if ok:
            assert out.strip()
            if command.endswith("-j"):
                doc = json.loads(out)
                for t in doc["threads"]:
                    assert t["chain_end"] in ("outermost", "unreadable", "bad_return_address",
                                              "out_of_stack", "null_rbp")
        else:
            assert err.startswith("error: ") and err.endswith(".\n") and err.count("\n") == 1, err
    still_works(py_session)


def _end_of_notes(data: bytes) -> int:
    """Offset just past the PT_NOTE segment of an ELF core (threads and
    registers survive, memory does not)."""
    import struct
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = 0
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                  phoff + i * phentsize)
        if p_type == 4:  # PT_NOTE
            end = max(end, p_offset + p_filesz)
    return end or 4096


def test_unreadable_stack(py_session, tmp_path):
    """A thread whose RSP and RBP point at unmapped memory: reported as
    unreadable (chain end and finding), not a crash. The test moves the
    registers itself; frameaudit only reads."""
    cell = nested()
    launch_fixture(py_session, cell, "break", tmp_path)
    py_session.ok("register write rsp 0x10")
    py_session.ok("register write rbp 0x10")
    ok, out, err = py_session.cmd("fa audit -j")
    if ok:
        doc = json.loads(out)
        thread = doc["threads"][0]
        assert thread["stack"] is None or thread["chain_end"] in ("unreadable", "out_of_stack",
                                                                   "misaligned")
        assert doc["findings"], "an unreadable stack deserves a finding"
    else:
        assert err.startswith("error: ") and err.count("\n") == 1
    for sub in ANALYSIS:
        py_session.cmd(f"fa {sub}")
    still_works(py_session)


# -- options -------------------------------------------------------------------------

@pytest.mark.parametrize("command, message", [
    ("fa audit -t 4242", "error: no thread with index or id 4242 (thread indexes: 1).\n"),
    ("fa audit -t 1 -a", "error: --thread and --all-threads exclude each other "
                         "(see `help frameaudit audit`).\n"),
    ("fa map --max-depth 0", None),
    ("fa audit -t nope", None),
    ("fa lint --format xml", None),
    ("fa lint no-such-module.so", "error: no module 'no-such-module.so' in the target (see "
                                  "`image list`; give its full path or file name).\n"),
])
def test_bad_options(py_session, tmp_path, command, message):
    launch_fixture(py_session, nested(), "break", tmp_path)
    err = py_session.fails(command)
    if message is not None:
        assert err == message
    else:
        assert err.startswith("error: ") and err.count("\n") == 1, err
    still_works(py_session)

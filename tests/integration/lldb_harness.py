"""LLDB in-process for the integration tests: where things are, importing
LLDB's Python module, one debugger session with either front-end loaded,
and a fingerprint of a live process's stacks and registers.

Reusable by every LLDB test (Python front-end, native plugin, CLI):

    from lldb_harness import Session, lldb, python_package_dir
    s = Session()
    s.load_python()
    s.launch(binary, env={"SRA_STOP": "break"}, breakpoint="fixture_stop_here")
    ok, out, err = s.cmd("fa audit -j")

Paths come from the environment CTest sets (FRAMEAUDIT_BUILD_DIR), else the
default build directory `<repo>/build`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Mapping, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from required_tools import missing_tool, require_tool  # noqa: E402,F401 - re-exported
LLDB_MAJOR = os.environ.get("FRAMEAUDIT_LLDB_VERSION", "22")
IN_CI = os.environ.get("CI", "").lower() == "true"


def build_dir() -> Path:
    """FRAMEAUDIT_BUILD_DIR, else <repo>/build."""
    return Path(os.environ.get("FRAMEAUDIT_BUILD_DIR") or REPO / "build").resolve()


def python_package_dir() -> Path:
    """The Python front-end's package, what `command script import` takes."""
    override = os.environ.get("FRAMEAUDIT_PYTHON_PACKAGE")
    return Path(override) if override else build_dir() / "python" / "frameaudit"


def native_plugin_path() -> Path:
    override = os.environ.get("FRAMEAUDIT_NATIVE_PLUGIN")
    return Path(override) if override else build_dir() / "lib" / "frameaudit" / "libframeaudit_lldb.so"


def lldb_executable() -> Optional[str]:
    return shutil.which(f"lldb-{LLDB_MAJOR}") or shutil.which("lldb")


def require_lldb_executable() -> str:
    """lldb_executable(), or fail the calling test naming lldb-22's package."""
    exe = lldb_executable()
    if not exe:
        import pytest
        pytest.fail(missing_tool(f"lldb-{LLDB_MAJOR}", "`lldb --batch`"), pytrace=False)
    return exe


def lldb_python_dir() -> Optional[str]:
    """The directory holding LLDB's `lldb` Python package (`lldb -P`)."""
    override = os.environ.get("FRAMEAUDIT_LLDB_PYTHON")
    if override:
        return override
    exe = lldb_executable()
    if not exe:
        return None
    out = subprocess.run([exe, "-P"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    path = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    return path if out.returncode == 0 and os.path.isdir(path) else None


def import_lldb():
    """LLDB's Python module, importable only in the Python LLDB embeds."""
    try:
        import lldb  # noqa: F401
    except ImportError:
        path = lldb_python_dir()
        if not path:
            raise
        sys.path.insert(0, path)
        import lldb  # noqa: F401,F811
    # An in-process LLDB launches through lldb-server, which Debian keeps
    # next to the real binary under a name liblldb does not look for.
    if "LLDB_DEBUGSERVER_PATH" not in os.environ:
        exe = lldb_executable()
        if exe:
            server = Path(os.path.realpath(exe)).parent / "lldb-server"
            if server.exists():
                os.environ["LLDB_DEBUGSERVER_PATH"] = str(server)
    return sys.modules["lldb"]


lldb = import_lldb()


def import_frameaudit():
    """The Python front-end's package (frameaudit, with its _core) from the build tree."""
    parent = str(python_package_dir().parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    import frameaudit
    return frameaudit


class Session:
    """One SBDebugger, synchronous, driven through HandleCommand and the SB API."""

    def __init__(self):
        self.debugger = lldb.SBDebugger.Create(False)
        self.debugger.SetAsync(False)
        self.interpreter = self.debugger.GetCommandInterpreter()
        self.target = None
        self.process = None

    # -- commands -----------------------------------------------------------

    def cmd(self, command: str) -> Tuple[bool, str, str]:
        """(succeeded, output, error) of one LLDB command."""
        result = lldb.SBCommandReturnObject()
        self.interpreter.HandleCommand(command, result)
        return result.Succeeded(), result.GetOutput() or "", result.GetError() or ""

    def ok(self, command: str) -> str:
        succeeded, out, err = self.cmd(command)
        assert succeeded, f"`{command}` failed: {err}"
        return out

    def fails(self, command: str) -> str:
        succeeded, out, err = self.cmd(command)
        assert not succeeded, f"`{command}` succeeded: {out[:2000]}"
        return err

    def load_python(self, package: Optional[Path] = None) -> str:
        return self.ok(f'command script import "{package or python_package_dir()}"')

    def load_native(self, plugin: Optional[Path] = None) -> str:
        return self.ok(f'plugin load "{plugin or native_plugin_path()}"')

    # -- debuggees ----------------------------------------------------------

    def create_target(self, exe: Optional[Path]):
        error = lldb.SBError()
        self.target = self.debugger.CreateTarget(str(exe) if exe else "", None, None, True, error)
        assert self.target.IsValid(), f"cannot create a target for {exe}: {error.GetCString()}"
        return self.target

    def launch(self, exe: Path, env: Mapping[str, str] = (), cwd: Optional[Path] = None,
               breakpoint: Optional[str] = None, args: Iterable[str] = ()):
        """Launch `exe` (ASLR off, as LLDB does by default) and wait for its
        first stop: a signal, or `breakpoint` (a function name)."""
        self.create_target(exe)
        if breakpoint:
            bp = self.target.BreakpointCreateByName(breakpoint)
            assert bp.GetNumLocations() > 0, f"no location for breakpoint {breakpoint}"
        info = lldb.SBLaunchInfo(list(args))
        info.SetEnvironmentEntries([f"{k}={v}" for k, v in dict(env).items()], True)
        if cwd is not None:
            info.SetWorkingDirectory(str(cwd))
        info.SetLaunchFlags(info.GetLaunchFlags() | lldb.eLaunchFlagDisableASLR)
        error = lldb.SBError()
        self.process = self.target.Launch(info, error)
        assert error.Success(), f"cannot launch {exe}: {error.GetCString()}"
        state = self.process.GetState()
        assert state == lldb.eStateStopped, \
            f"{exe.name} did not stop: {lldb.SBDebugger.StateAsCString(state)}"
        return self.process

    def load_core(self, exe: Optional[Path], core: Path):
        self.create_target(exe)
        error = lldb.SBError()
        self.process = self.target.LoadCore(str(core), error)
        assert self.process.IsValid(), f"cannot load {core}: {error.GetCString()}"
        return self.process

    def run_to_end(self, timeout_stops: int = 1000) -> int:
        """Continue a live process through any further stops to its exit; its exit status."""
        for _ in range(timeout_stops):
            state = self.process.GetState()
            if state == lldb.eStateExited:
                return self.process.GetExitStatus()
            assert state == lldb.eStateStopped, lldb.SBDebugger.StateAsCString(state)
            self.process.Continue()
        raise AssertionError("the process did not exit")

    def close(self):
        if self.process is not None and self.process.IsValid():
            if self.process.GetState() not in (lldb.eStateExited, lldb.eStateDetached):
                self.process.Kill()
        lldb.SBDebugger.Destroy(self.debugger)
        self.process = self.target = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stack_fingerprint(process) -> str:
    """SHA-256 over every thread's registers (all register sets) and its
    used stack (RSP to the end of its mapping), plus the selected thread
    and frame: what a read-only command must leave unchanged."""
    h = hashlib.sha256()
    selected = process.GetSelectedThread()
    h.update(f"selected={selected.GetIndexID()}:{selected.GetSelectedFrame().GetFrameID()};"
             .encode())
    for i in range(process.GetNumThreads()):
        thread = process.GetThreadAtIndex(i)
        frame = thread.GetFrameAtIndex(0)
        h.update(f"thread {thread.GetThreadID()} state {process.GetState()};".encode())
        for regset in frame.GetRegisters():
            for reg in regset:
                h.update(f"{reg.GetName()}={reg.GetValue()};".encode())
        rsp = frame.GetSP()
        region = lldb.SBMemoryRegionInfo()
        if process.GetMemoryRegionInfo(rsp, region).Success() and region.GetRegionEnd() > rsp:
            error = lldb.SBError()
            data = process.ReadMemory(rsp, region.GetRegionEnd() - rsp, error)
            h.update(data or b"")
    return h.hexdigest()

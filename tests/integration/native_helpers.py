"""native_helpers.py: what the native-plugin tests need beyond conftest.py.

LLDB runs in-process through the SB API (one SBDebugger per session), the
way LLDB's own API tests drive it. Paths come from the environment CTest sets
(FRAMEAUDIT_BUILD_DIR), else from the default build directory `build/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LLDB_MAJOR = os.environ.get("FRAMEAUDIT_LLDB_VERSION", "22")


def build_dir() -> Path:
    return Path(os.environ.get("FRAMEAUDIT_BUILD_DIR", REPO / "build")).resolve()


def native_plugin() -> Path:
    return Path(os.environ.get("FRAMEAUDIT_NATIVE_PLUGIN",
                               build_dir() / "lib" / "frameaudit" / "libframeaudit_lldb.so"))


def _lldb_exe() -> str | None:
    return shutil.which(f"lldb-{LLDB_MAJOR}") or shutil.which("lldb")


def import_lldb():
    """The `lldb` module of the LLDB the plugin was built for."""
    try:
        import lldb  # noqa: F401
    except ImportError:
        exe = _lldb_exe()
        if not exe:
            raise
        path = subprocess.run([exe, "-P"], capture_output=True, text=True, check=True).stdout.strip()
        sys.path.insert(0, path)
    # An in-process LLDB finds lldb-server next to the real lldb binary only
    # when it is told where that is.
    if "LLDB_DEBUGSERVER_PATH" not in os.environ:
        exe = _lldb_exe()
        if exe:
            server = Path(os.path.realpath(exe)).parent / "lldb-server"
            if server.exists():
                os.environ["LLDB_DEBUGSERVER_PATH"] = str(server)
    import lldb
    return lldb


lldb = import_lldb()


def python_frontend_dir() -> Path | None:
    """The directory to `command script import` for the Python front-end,
    as `frameaudit paths --json` reports it; None if it is not built."""
    override = os.environ.get("FRAMEAUDIT_PYTHON_DIR")
    if override:
        return Path(override)
    tool = build_dir() / "bin" / "frameaudit"
    if tool.exists():
        try:
            out = subprocess.run([str(tool), "paths", "--json"], capture_output=True, text=True,
                                 timeout=60)
            if out.returncode == 0:
                path = json.loads(out.stdout).get("python")
                if path and (Path(path) / "frameaudit" / "__init__.py").exists():
                    return Path(path) / "frameaudit"
                if path and (Path(path) / "__init__.py").exists():
                    return Path(path)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    package = build_dir() / "python" / "frameaudit"
    return package if (package / "__init__.py").exists() else None


# --- fixtures ---------------------------------------------------------------

def matrix() -> list[dict]:
    """The fixture matrix's cells (matrix.json), or [] if it is not built."""
    index = build_dir() / "fixtures" / "matrix.json"
    if not index.exists():
        return []
    data = json.loads(index.read_text())
    return [c for c in data.get("binaries", []) if isinstance(c, dict)]


def cell_path(cell: dict) -> Path:
    if "path" in cell:
        return Path(cell["path"])
    return build_dir() / "fixtures" / cell["name"]


def find_fixture(fixture: str, cc: str = "gcc", opt: str = "O0", flags: str = "fp",
                 mode: str = "audit") -> Path | None:
    for cell in matrix():
        if (cell.get("fixture") == fixture and cell.get("compiler") == cc and cell.get("opt") == opt
                and cell.get("flags") == flags and cell.get("mode") == mode):
            path = cell_path(cell)
            if path.exists():
                return path
    path = build_dir() / "fixtures" / f"{fixture}-{cc}-{opt}-{flags}-{mode}"
    return path if path.exists() else None


def safe_cells() -> list[dict]:
    return [c for c in matrix() if not c.get("unsafe") and cell_path(c).exists()]


def cell_id(cell: dict) -> str:
    return cell.get("name") or cell_path(cell).name


# --- debugger sessions ------------------------------------------------------

class Session:
    """One SBDebugger with synchronous execution."""

    def __init__(self):
        self.debugger = lldb.SBDebugger.Create(False)
        self.debugger.SetAsync(False)
        self.interpreter = self.debugger.GetCommandInterpreter()
        self.target = None
        self.process = None

    def cmd(self, command: str):
        """Run an LLDB command: (succeeded, output, error)."""
        result = lldb.SBCommandReturnObject()
        self.interpreter.HandleCommand(command, result)
        return result.Succeeded(), result.GetOutput() or "", result.GetError() or ""

    def ok(self, command: str) -> str:
        succeeded, out, err = self.cmd(command)
        assert succeeded, f"`{command}` failed: {err}"
        return out

    def fails(self, command: str) -> str:
        succeeded, out, err = self.cmd(command)
        assert not succeeded, f"`{command}` succeeded: {out}"
        return err

    def load_native(self, plugin: Path | None = None) -> str:
        return self.ok(f'plugin load "{plugin or native_plugin()}"')

    def load_python(self, package: Path) -> str:
        return self.ok(f'command script import "{package}"')

    def create_target(self, exe: Path):
        error = lldb.SBError()
        self.target = self.debugger.CreateTarget(str(exe), None, None, True, error)
        assert self.target.IsValid(), error.GetCString()
        return self.target

    def launch(self, exe: Path, stop: str, truth: Path, cwd: Path, extra_env=()):
        """Run a fixture until its deliberate stop (SRA_STOP=abort|trap|segv|break)."""
        self.create_target(exe)
        # Fixtures use SIGUSR1 themselves (the signal fixture's handler):
        # deliver it without stopping, so the stop is the one SRA_STOP asks for.
        self.ok("process handle -s false -n false -p true SIGUSR1")
        if stop == "break":
            bp = self.target.BreakpointCreateByName("fixture_stop_here")
            assert bp.GetNumLocations() > 0
        info = lldb.SBLaunchInfo([])
        env = [f"SRA_STOP={stop}", f"SRA_GROUND_TRUTH={truth}", *extra_env]
        info.SetEnvironmentEntries(env, True)
        info.SetWorkingDirectory(str(cwd))
        info.SetLaunchFlags(lldb.eLaunchFlagDisableASLR)
        error = lldb.SBError()
        self.process = self.target.Launch(info, error)
        assert error.Success(), error.GetCString()
        assert self.process.GetState() == lldb.eStateStopped, lldb.SBDebugger.StateAsCString(
            self.process.GetState())
        return self.process

    def load_core(self, exe: Path | None, core: Path):
        error = lldb.SBError()
        self.target = self.debugger.CreateTarget(str(exe) if exe else "", None, None, True, error)
        assert self.target.IsValid(), error.GetCString()
        self.process = self.target.LoadCore(str(core), error)
        assert self.process.IsValid(), error.GetCString()
        return self.process

    def close(self):
        if self.process is not None and self.process.IsValid():
            if self.process.GetState() not in (lldb.eStateExited, lldb.eStateDetached):
                self.process.Kill()
        lldb.SBDebugger.Destroy(self.debugger)


def stack_fingerprint(process) -> str:
    """A hash over every thread's registers and used stack (RSP .. stack top),
    to show a command read and wrote nothing."""
    h = hashlib.sha256()
    target = process.GetTarget()
    for i in range(process.GetNumThreads()):
        thread = process.GetThreadAtIndex(i)
        frame = thread.GetFrameAtIndex(0)
        for regset in frame.GetRegisters():
            for reg in regset:
                h.update(f"{reg.GetName()}={reg.GetValue()};".encode())
        rsp = frame.GetSP()
        region = lldb.SBMemoryRegionInfo()
        if process.GetMemoryRegionInfo(rsp, region).Success():
            error = lldb.SBError()
            data = process.ReadMemory(rsp, region.GetRegionEnd() - rsp, error)
            h.update(data or b"")
    del target
    return h.hexdigest()


# --- cores ------------------------------------------------------------------

def save_minidump(session: Session, path: Path) -> Path:
    """LLDB's own core format (`process save-core`)."""
    session.ok(f'process save-core --plugin-name=minidump --style=full "{path}"')
    assert path.exists()
    return path


def gdb_core(exe: Path, stop: str, truth: Path, path: Path) -> Path | None:
    """A core written by gdb's `gcore` at the fixture's stop (None without gdb)."""
    gdb = shutil.which("gdb")
    if not gdb:
        return None
    env = dict(os.environ, SRA_STOP=stop, SRA_GROUND_TRUTH=str(truth))
    cmds = ["-batch", "-nx", "-ex", "set confirm off", "-ex", "set startup-with-shell off"]
    cmds += ["-ex", "handle SIGUSR1 nostop noprint pass"]
    if stop == "break":
        cmds += ["-ex", "break fixture_stop_here"]
    cmds += ["-ex", "run", "-ex", f"gcore {path}", "-ex", "kill"]
    subprocess.run([gdb, *cmds, "--args", str(exe)], env=env, capture_output=True, timeout=120)
    return path if path.exists() else None


def kernel_core(exe: Path, stop: str, truth: Path, cwd: Path) -> Path | None:
    """A core the kernel wrote when the fixture crashed (None when the
    system's core_pattern does not write plain files)."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if not pattern or pattern.startswith("|"):
        return None
    env = dict(os.environ, SRA_STOP=stop, SRA_GROUND_TRUTH=str(truth))

    def allow_cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    before = set(cwd.iterdir())
    subprocess.run([str(exe)], env=env, cwd=cwd, preexec_fn=allow_cores, capture_output=True,
                   timeout=120)
    new = [p for p in set(cwd.iterdir()) - before if p.name.startswith("core")]
    return new[0] if new else None


# --- ground truth -----------------------------------------------------------

def _contains_run(haystack: list, needle: list) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


SIGNAL_TRAMPOLINES = {"__restore_rt"}


def truth_problems(doc: dict, truth: dict) -> list[str]:
    """What a frameaudit/1 document gets wrong about a fixture's ground truth
    (sra-fixture/1): each thread's call chain in its frames, every live block
    as a live region (base, size, reserved, function, call-site line), the
    overflowed block (if any) as corrupt with a region-overflow finding, and
    no dead block reported live. Plain mode has no header: the size is then
    only bounded by the reservation, and a block whose stub remnant a later
    block covered only has to lie inside a live region of its function."""
    problems = []
    audit = truth["mode"] == "audit"
    threads = {t["tid"]: t for t in doc["threads"]}
    for expected in truth["threads"]:
        tid = expected["tid"]
        thread = threads.get(tid)
        if thread is None:
            problems.append(f"thread {tid}: missing")
            continue
        # The signal trampoline is a physical frame between a handler and the
        # interrupted function; the fixture's chain names fixture code only.
        functions = [f["function"] for f in thread["frames"]
                     if f["function"] not in SIGNAL_TRAMPOLINES]
        if expected["chain"] and not _contains_run(functions, expected["chain"]):
            problems.append(f"thread {tid}: frames {functions} lack the chain {expected['chain']} "
                            f"(chain_end {thread['chain_end']})")
        regions = {r["base"]: r for r in thread["regions"]}
        blocks = [b for b in truth["blocks"] if b["tid"] == tid]
        live_ptrs = {b["ptr"] for b in blocks if b["live"]}
        overflowed = (truth.get("overflow") or {}).get("block")
        for block in blocks:
            region = regions.get(block["ptr"])
            label = f"thread {tid} block {block['label']} at {block['ptr']}"
            if not block["live"]:
                # A later live block may start exactly where the dead one did.
                if region is not None and region["state"] == "live" and \
                        block["ptr"] not in live_ptrs:
                    problems.append(f"{label}: dead block reported live")
                continue
            if block["id"] == overflowed:
                # Written past its end: the header (audit) or the stub remnant
                # (plain) above it no longer matches.
                if region is None or region["state"] != "corrupt":
                    problems.append(f"{label}: overflowed block not reported corrupt "
                                    f"({region and region['state']})")
                elif not any(f["kind"] == "region-overflow" and f["region"] == region["id"]
                             for f in doc["findings"]):
                    problems.append(f"{label}: no region-overflow finding for {region['id']}")
                continue
            if region is None and not audit:
                # Plain mode: a later block in the same frame covers the stub
                # remnant of an earlier one, which is then only bounded by
                # the frame's span: it must lie inside a live region there.
                ptr = int(block["ptr"], 16)
                covering = [r for r in thread["regions"]
                            if int(r["base"], 16) <= ptr
                            and ptr + block["size"] <= int(r["base"], 16) + r["reserved"]]
                if not covering:
                    problems.append(f"{label}: no region holds it")
                elif not any(r["state"] == "live" and r["function"] == block["function"]
                             for r in covering):
                    problems.append(f"{label}: held by {[(r['id'], r['state'], r['function']) for r in covering]}")
                continue
            if region is None:
                problems.append(f"{label}: no region")
                continue
            if region["state"] != "live":
                problems.append(f"{label}: state {region['state']}")
            if audit and region["size"] != block["size"]:
                problems.append(f"{label}: size {region['size']} != {block['size']}")
            if not audit and not block["size"] <= region["size"] <= block["reserved"]:
                problems.append(f"{label}: size {region['size']} outside "
                                f"[{block['size']}, {block['reserved']}]")
            if region["reserved"] != block["reserved"]:
                problems.append(f"{label}: reserved {region['reserved']} != {block['reserved']}")
            if region["function"] != block["function"]:
                problems.append(f"{label}: function {region['function']} != {block['function']}")
            site = region["call_site"] or {}
            if site.get("line") != block["line"] or not (site.get("file") or "").endswith(
                    "/" + block["file"]):
                problems.append(f"{label}: call site {site.get('file')}:{site.get('line')} "
                                f"!= {block['file']}:{block['line']}")
    return problems


# --- isolation --------------------------------------------------------------
#
# LLDB 22 keeps state across debuggers of one process: after about six
# launches, a new target can list ld.so twice, the minidump saved from it
# lists it twice too, and LoadCore of that minidump never returns (in any
# process). Work that launches many processes therefore runs each piece in a
# fresh Python process, with a timeout instead of a hang.

WORKER_TIMEOUT = int(os.environ.get("FRAMEAUDIT_WORKER_TIMEOUT", "300"))


def _worker_minidump(exe, stop, truth, path, style, cwd):
    s = Session()
    try:
        s.launch(Path(exe), stop, Path(truth), Path(cwd))
        s.ok(f'process save-core --plugin-name=minidump --style={style} "{path}"')
        return {"path": path}
    finally:
        s.close()


def _worker_live(exe, stop, truth, cwd, commands):
    s = Session()
    try:
        s.load_native()
        s.launch(Path(exe), stop, Path(truth), Path(cwd))
        return {"results": [s.cmd(c) for c in commands]}
    finally:
        s.close()


def _worker_core(exe, core, commands, python=None):
    s = Session()
    try:
        if python:
            s.load_python(Path(python))
        else:
            s.load_native()
        s.load_core(Path(exe) if exe else None, Path(core))
        return {"results": [s.cmd(c) for c in commands]}
    finally:
        s.close()


_WORKERS = {"minidump": _worker_minidump, "live": _worker_live, "core": _worker_core}


def run_worker(kind: str, **kwargs) -> dict:
    request = json.dumps({"kind": kind, "args": kwargs})
    proc = subprocess.run([sys.executable, __file__, request], capture_output=True, text=True,
                          timeout=WORKER_TIMEOUT, env=dict(os.environ))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"worker {kind} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def minidump_isolated(exe: Path, stop: str, truth: Path, path: Path, style: str = "full") -> Path:
    """A minidump of `exe` at its stop, saved by a fresh LLDB."""
    run_worker("minidump", exe=str(exe), stop=stop, truth=str(truth), path=str(path), style=style,
               cwd=str(truth.parent))
    assert path.exists()
    return path


def live_isolated(exe: Path, stop: str, truth: Path, commands: list[str]) -> list:
    """Run commands through the native plugin on `exe` stopped at `stop`, in a
    fresh LLDB: [(succeeded, output, error), ...]."""
    return run_worker("live", exe=str(exe), stop=stop, truth=str(truth), cwd=str(truth.parent),
                      commands=commands)["results"]


def core_isolated(exe: Path | None, core: Path, commands: list[str],
                  python: Path | None = None) -> list:
    """Run commands on a core in a fresh LLDB, through the native plugin (or
    the Python front-end at `python`)."""
    return run_worker("core", exe=str(exe) if exe else None, core=str(core), commands=commands,
                      python=str(python) if python else None)["results"]


if __name__ == "__main__":
    _request = json.loads(sys.argv[1])
    _result = _WORKERS[_request["kind"]](**_request["args"])
    sys.stdout.write("\n" + json.dumps(_result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip LLDB's teardown at interpreter exit

"""The fixture matrix as the LLDB tests see it, the three core formats made
from its fixtures, and each fixture's ground truth against a frameaudit/1
document.

- Cells: `<build>/fixtures/matrix.json` (written by tests/fixtures). The CI
  subset keeps a few cells per fixture that cover both compilers, -O0 and
  -O2, with and without frame pointers, plain and audit modes;
  FRAMEAUDIT_FULL_MATRIX=1 takes every safe cell that was built.
- Stops: each fixture writes its ground truth to $SRA_GROUND_TRUTH and stops
  as $SRA_STOP says: "segv" (the crash used here), "break" (breakpoint on
  fixture_stop_here), "abort", "trap".
- Cores: `kernel` (the kernel's ELF core, only when core_pattern is a plain
  file name), `gcore` (gdb's gcore at the stop), `minidump` (LLDB's
  `process save-core --plugin-name=minidump`). Cores are cached per build
  directory under <build>/tests/integration/cores/ and remade when the
  fixture binary changes.
- Ground truth: truth_problems(doc, truth) lists what a document gets wrong.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from lldb_harness import IN_CI, Session, build_dir, lldb

CORE_FORMATS = ("kernel", "gcore", "minidump")
CRASH_STOP = "segv"
BREAK_FUNCTION = "fixture_stop_here"


# -- the matrix ------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One fixture binary of the matrix."""
    name: str
    path: Path
    fixture: str
    compiler: str
    opt: str
    flags: str
    mode: str
    unsafe: bool = False
    expected_exit: int = 0
    language: str = "c"

    @property
    def audit(self) -> bool:
        return self.mode == "audit"


def full_matrix() -> bool:
    return os.environ.get("FRAMEAUDIT_FULL_MATRIX", "") not in ("", "0", "OFF", "off", "false")


def all_cells() -> List[Cell]:
    """Every cell of matrix.json whose binary exists ([] if the matrix is not built)."""
    index = build_dir() / "fixtures" / "matrix.json"
    if not index.exists():
        return []
    cells = []
    for c in json.loads(index.read_text()).get("binaries", []):
        path = Path(c.get("path") or build_dir() / "fixtures" / c["name"])
        if not path.exists():
            continue
        cells.append(Cell(name=c["name"], path=path, fixture=c["fixture"],
                          compiler=c["compiler"], opt=c["opt"], flags=c["flags"],
                          mode=c["mode"], unsafe=bool(c.get("unsafe")),
                          expected_exit=int(c.get("expected_exit", 0)),
                          language=c.get("language", "c")))
    return cells


# Per fixture, the CI subset: (compiler, opt, flags, mode). Together they
# cover both compilers, both modes, -O0/-O2 and fp/nofp in every fixture.
CI_CELLS = (
    ("gcc", "O0", "fp", "audit"),
    ("clang", "O2", "nofp", "plain"),
    ("gcc", "O2", "nofp", "plain"),
    ("clang", "O0", "fp", "audit"),
)


# The core-format matrix tests (every fixture as a kernel core, a gcore core
# and a minidump, through each front-end) split CI_CELLS between the two
# front-ends: each half still has both compilers, both modes, -O0 and -O2,
# fp and nofp; together they run all four cells. FRAMEAUDIT_FULL_MATRIX=1
# gives each front-end every cell.
CORE_CELLS = {
    "python": (("gcc", "O2", "nofp", "plain"), ("clang", "O0", "fp", "audit")),
    "native": (("gcc", "O0", "fp", "audit"), ("clang", "O2", "nofp", "plain")),
}


def core_matrix_cells(frontend: str) -> List[Cell]:
    """The cells `frontend` ("python" or "native") runs on every core format."""
    cells = safe_cells()
    if full_matrix():
        return cells
    return [c for c in cells if (c.compiler, c.opt, c.flags, c.mode) in CORE_CELLS[frontend]]


def safe_cells() -> List[Cell]:
    return [c for c in all_cells() if not c.unsafe]


def matrix_cells() -> List[Cell]:
    """The cells the LLDB tests run: the CI subset, or every safe cell with
    FRAMEAUDIT_FULL_MATRIX=1."""
    cells = safe_cells()
    if full_matrix():
        return cells
    return [c for c in cells if (c.compiler, c.opt, c.flags, c.mode) in CI_CELLS]


def find_cell(fixture: str, compiler: str = "gcc", opt: str = "O0", flags: str = "fp",
              mode: str = "audit") -> Optional[Cell]:
    for c in all_cells():
        if (c.fixture, c.compiler, c.opt, c.flags, c.mode) == (fixture, compiler, opt, flags, mode):
            return c
    return None


# -- running fixtures ---------------------------------------------------------------

def fixture_env(truth: Path, stop: str) -> Dict[str, str]:
    return {"SRA_GROUND_TRUTH": str(truth), "SRA_STOP": stop}


# The signal each crashing stop raises (SRA_STOP value -> signal name).
STOP_SIGNALS = {"segv": "SIGSEGV", "abort": "SIGABRT", "trap": "SIGTRAP", "ud2": "SIGILL"}


def run_to_stop(session: Session, stop: str, limit: int = 100) -> None:
    """Continue past stops that are not the fixture's own (the signal
    fixture raises SIGUSR1 on its way), up to its crash or breakpoint."""
    process = session.process
    unix = process.GetUnixSignals()
    for _ in range(limit):
        assert process.GetState() == lldb.eStateStopped, \
            f"the fixture ended before its stop ({lldb.SBDebugger.StateAsCString(process.GetState())})"
        thread = process.GetSelectedThread()
        reason = thread.GetStopReason()
        if stop == "break" and reason == lldb.eStopReasonBreakpoint:
            return
        if reason == lldb.eStopReasonSignal:
            name = unix.GetSignalAsCString(thread.GetStopReasonDataAtIndex(0))
            if name == STOP_SIGNALS.get(stop):
                return
        elif stop in STOP_SIGNALS and reason == lldb.eStopReasonException:
            return
        process.Continue()
    raise AssertionError(f"no {stop} stop after {limit} stops")


def launch_to_stop(session: Session, exe: Path, stop: str, truth: Path, cwd: Path):
    """Launch fixture binary `exe` in `session` and run it to its stop
    ("segv", "abort", "trap" or "break"), writing its ground truth to `truth`."""
    session.launch(exe, env=fixture_env(truth, stop), cwd=cwd,
                   breakpoint=BREAK_FUNCTION if stop == "break" else None)
    run_to_stop(session, stop)
    return session.process


def launch_fixture(session: Session, cell: Cell, stop: str, workdir: Path) -> Path:
    """Run a fixture under LLDB to its stop; returns the ground-truth file it wrote."""
    workdir.mkdir(parents=True, exist_ok=True)
    truth = workdir / "truth.json"
    if truth.exists():
        truth.unlink()
    launch_to_stop(session, cell.path, stop, truth, workdir)
    assert truth.exists(), f"{cell.name} wrote no ground truth before its stop"
    return truth


def load_truth(path: Path) -> dict:
    return json.loads(Path(path).read_text())


# -- cores -------------------------------------------------------------------------

class CoreUnavailable(Exception):
    """This machine cannot make this core format (a clear sentence why)."""


@dataclass
class CoreFile:
    path: Path
    exe: Path
    format: str
    stop: str
    truth_path: Path
    truth: dict = field(repr=False, default_factory=dict)


def kernel_core_pattern() -> str:
    """The core pattern if the kernel writes plain core files into the cwd,
    else raise CoreUnavailable. The pattern is never changed."""
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError as e:
        raise CoreUnavailable(f"cannot read /proc/sys/kernel/core_pattern: {e}")
    if not pattern or pattern.startswith("|") or "/" in pattern:
        raise CoreUnavailable(
            f"kernel cores need /proc/sys/kernel/core_pattern to be a plain file name such as "
            f"'core'; it is {pattern!r} here (a pipe or a path), and the tests do not change it")
    return pattern


def _allow_cores():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def make_kernel_core(exe: Path, stop: str, workdir: Path) -> CoreFile:
    if stop == "break":
        raise CoreUnavailable("the kernel writes cores only on a crash, not at a breakpoint")
    kernel_core_pattern()
    run_dir = workdir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    truth = workdir / "truth.json"
    try:
        subprocess.run([str(exe)], cwd=run_dir, env={**os.environ, **fixture_env(truth, stop)},
                       preexec_fn=_allow_cores, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    except (OSError, ValueError) as e:
        raise CoreUnavailable(f"cannot run {exe.name} with RLIMIT_CORE raised: {e}")
    made = [p for p in run_dir.iterdir() if p.is_file() and p.name.startswith("core")]
    if not made:
        raise CoreUnavailable(f"the kernel wrote no core for {exe.name} (core_pattern "
                              f"{kernel_core_pattern()!r}, RLIMIT_CORE hard limit "
                              f"{resource.getrlimit(resource.RLIMIT_CORE)[1]})")
    path = workdir / "kernel.core"
    made[0].replace(path)
    shutil.rmtree(run_dir, ignore_errors=True)
    return CoreFile(path, exe, "kernel", stop, truth)


def make_gcore(exe: Path, stop: str, workdir: Path) -> CoreFile:
    from lldb_harness import require_tool
    gdb = require_tool("gdb", "gcore cores")  # a missing tool fails, never skips
    path = workdir / "gcore.core"
    truth = workdir / "truth.json"
    cmds = ["-batch", "-nx", "-ex", "set confirm off", "-ex", "set startup-with-shell off",
            "-ex", "set pagination off", "-ex", "set disable-randomization on",
            # Only the fixture's own stop stops gdb (the signal fixture raises SIGUSR1).
            "-ex", "handle all nostop noprint pass"]
    if stop in STOP_SIGNALS:
        cmds += ["-ex", f"handle {STOP_SIGNALS[stop]} stop print nopass"]
    if stop == "break":
        cmds += ["-ex", f"break {BREAK_FUNCTION}"]
    cmds += ["-ex", "run", "-ex", f"gcore {path}", "-ex", "kill"]
    out = subprocess.run([gdb, *cmds, "--args", str(exe)],
                         env={**os.environ, **fixture_env(truth, stop)}, cwd=workdir,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if not path.exists():
        raise AssertionError(f"gdb wrote no core for {exe.name}:\n{out.stdout[-2000:]}\n"
                             f"{out.stderr[-2000:]}")
    return CoreFile(path, exe, "gcore", stop, truth)


def make_minidump(exe: Path, stop: str, workdir: Path) -> CoreFile:
    """Saved by a fresh LLDB in a process of its own: a minidump saved from
    a test process that has launched many programs can list ld.so twice,
    and LLDB 22 then hangs loading it (native_helpers, "isolation")."""
    from native_helpers import minidump_isolated
    path = workdir / "lldb.dmp"
    truth = workdir / "truth.json"
    minidump_isolated(exe, stop, truth, path)
    return CoreFile(path, exe, "minidump", stop, truth)


_MAKERS = {"kernel": make_kernel_core, "gcore": make_gcore, "minidump": make_minidump}


def cache_dir() -> Path:
    return build_dir() / "tests" / "integration" / "cores"


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def get_core(exe: Path, fmt: str, stop: str = CRASH_STOP) -> CoreFile:
    """A core of `exe` in format `fmt` at `stop`, from the cache when the
    binary has not changed since it was made. Raises CoreUnavailable when
    this machine cannot make the format (kernel cores: core_pattern)."""
    if fmt not in _MAKERS:
        raise ValueError(f"unknown core format {fmt!r}")
    workdir = cache_dir() / exe.name / f"{fmt}-{stop}"
    stamp = workdir / "stamp.json"
    st = exe.stat()
    want = {"binary": str(exe), "mtime_ns": st.st_mtime_ns, "size": st.st_size}
    with _locked(cache_dir() / f".{exe.name}.{fmt}-{stop}.lock"):
        if stamp.exists():
            try:
                have = json.loads(stamp.read_text())
            except ValueError:
                have = {}
            if have.get("stamp") == want and have.get("unusable"):
                raise CoreUnavailable(have["unusable"])
            if have.get("stamp") == want and Path(have["core"]).exists() \
                    and Path(have["truth"]).exists():
                return CoreFile(Path(have["core"]), exe, fmt, stop, Path(have["truth"]),
                                load_truth(Path(have["truth"])))
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        core = _MAKERS[fmt](exe, stop, workdir)
        assert core.truth_path.exists(), f"{exe.name} wrote no ground truth before its stop"
        core.truth = load_truth(core.truth_path)
        problem = _lldb_cannot_load(exe, core.path)
        stamp.write_text(json.dumps({"stamp": want, "core": str(core.path),
                                     "truth": str(core.truth_path), "unusable": problem}))
        if problem:
            raise CoreUnavailable(problem)
        return core


def _lldb_cannot_load(exe: Path, core: Path, timeout: int = 30) -> Optional[str]:
    """Why LLDB cannot load `core` (None if it can). Tried in a separate
    process: LLDB 22 hangs for good in SBTarget.LoadCore on some minidumps
    it wrote itself, which would hang the whole test session."""
    from lldb_harness import lldb_executable
    lldb_exe = lldb_executable()
    if not lldb_exe:
        return None
    try:
        out = subprocess.run([lldb_exe, "--batch", "--no-lldbinit", "-o",
                              f'target create "{exe}" --core "{core}"', "-o", "thread list"],
                             capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return (f"LLDB hangs loading {core} (an LLDB bug with some minidumps it writes itself); "
                f"this core is skipped")
    if out.returncode != 0:
        return f"LLDB cannot load {core}: {out.stderr.strip()[-500:]}"
    return None


def core_or_skip(exe: Path, fmt: str, stop: str = CRASH_STOP) -> CoreFile:
    """get_core, turning CoreUnavailable into a skip (a failure under CI=true
    for kernel cores, whose absence there means a misconfigured runner)."""
    import pytest
    try:
        return get_core(exe, fmt, stop)
    except CoreUnavailable as e:
        # In CI a missing kernel core means a misconfigured runner, and a
        # minidump LLDB cannot load means lost coverage of a core format.
        if IN_CI and (fmt == "kernel" and stop != "break" or fmt == "minidump"):
            pytest.fail(f"CI=true: {e}")
        pytest.skip(str(e))


# -- ground truth -----------------------------------------------------------------

def _runs(haystack: List[Optional[str]], needle: List[str], skippable: set) -> bool:
    """True if `needle` occurs in `haystack` in order, contiguous except
    that frames named in `skippable` (or unnamed) may sit between an element
    of `needle` listed in skippable's keys and the next one."""
    n = len(needle)
    for start in range(len(haystack)):
        i, j = start, 0
        while i < len(haystack) and j < n:
            if haystack[i] == needle[j]:
                i += 1
                j += 1
            elif j > 0 and needle[j - 1] in skippable:
                i += 1  # the signal trampoline and friends after a handler
                if i - start > n + 4:
                    break
            else:
                break
        if j == n:
            return True
    return False


def truth_problems(doc: dict, truth: dict) -> List[str]:
    """What a frameaudit/1 document gets wrong about a fixture's ground truth
    (sra-fixture/1):

    - each thread's expected call chain appears among its frames, innermost
      first (after a signal handler the trampoline may sit in between), and
      every chain frame that owns a live block is `relocated`;
    - functions the fixture says are inlined show in `inlined`;
    - every live block is a live region: base, size (exact with the audit
      header, else within [size, reserved]), reserved, function, call-site
      file and line; its frame owns it;
    - no dead block is reported live;
    - an overflowed, overrun or forged block (audit mode) is a corrupt
      region named by a region-overflow error;
    - a pointer kept to a dead block (audit mode) gives a dangling-pointer
      finding, and a fixture that keeps none gets no dangling-pointer finding;
    - a fixture without overflow or dangling pointers has no error findings.
    """
    problems: List[str] = []
    audit = truth["mode"] == "audit"
    threads = {t["tid"]: t for t in doc["threads"]}
    notes = truth.get("notes") or {}
    skippable = set()
    if notes.get("signal_trampoline_after"):
        skippable.add(notes["signal_trampoline_after"])
    blocks_by_id = {b["id"]: b for b in truth["blocks"]}
    # Blocks the fixture damaged on purpose: one overflow (fx_note_overflow)
    # and any number of overruns and forged headers (fx_overrun,
    # fx_forge_header; recorded only where they damage something).
    corrupt_ids = set(truth.get("corrupt") or [])
    if truth.get("overflow"):
        corrupt_ids.add(truth["overflow"]["block"])

    for expected in truth["threads"]:
        tid = expected["tid"]
        thread = threads.get(tid)
        if thread is None:
            problems.append(f"thread {tid}: missing from the document")
            continue
        frames = thread["frames"]
        functions = [f["function"] for f in frames]
        chain = expected["chain"]
        if chain and not _runs(functions, chain, skippable):
            problems.append(f"thread {tid}: frames {functions} lack the chain {chain} "
                            f"(chain_end {thread['chain_end']})")
        owners = {b["function"] for b in truth["blocks"] if b["tid"] == tid and b["live"]}
        for f in frames:
            if f["function"] in owners and f["function"] in chain and f["kind"] != "relocated":
                problems.append(f"thread {tid} frame {f['index']} {f['function']}: kind "
                                f"{f['kind']}, expected relocated (it owns live blocks)")
        for function, inlined in (notes.get("inlined") or {}).items():
            seen = [f for f in frames if f["function"] == function]
            for f in seen:
                missing = [name for name in inlined if name not in f["inlined"]]
                if missing and expected.get("main", True):
                    problems.append(f"thread {tid} frame {f['index']} {function}: inlined "
                                    f"{f['inlined']} lacks {missing}")

        regions = {r["base"]: r for r in thread["regions"]}
        for block in (b for b in truth["blocks"] if b["tid"] == tid):
            region = regions.get(block["ptr"])
            label = f"thread {tid} block {block['label']} at {block['ptr']}"
            overflowed = block["id"] in corrupt_ids
            if not block["live"]:
                # A later live block may start exactly where the dead one did.
                live_ptrs = {b["ptr"] for b in truth["blocks"] if b["tid"] == tid and b["live"]}
                if region is not None and region["state"] == "live" and block["ptr"] not in live_ptrs:
                    problems.append(f"{label}: dead block reported live")
                continue
            if region is None:
                problems.append(f"{label}: no region (regions: "
                                f"{sorted(regions)})")
                continue
            want_state = "corrupt" if overflowed and audit else "live"
            if region["state"] != want_state and not (overflowed and not audit):
                problems.append(f"{label}: state {region['state']}, expected {want_state}")
            if audit and not overflowed and region["size"] != block["size"]:
                problems.append(f"{label}: size {region['size']} != {block['size']}")
            if not audit and not block["size"] <= region["size"] <= block["reserved"] + (64 if overflowed else 0):
                problems.append(f"{label}: size {region['size']} outside "
                                f"[{block['size']}, {block['reserved']}]")
            # A block whose header or stub is gone is bounded by what is left:
            # its R may include the alloca gap above it (at most 64 bytes).
            if region["reserved"] != block["reserved"] and not (
                    overflowed and block["reserved"] <= region["reserved"] <= block["reserved"] + 64):
                problems.append(f"{label}: reserved {region['reserved']} != {block['reserved']}")
            if region["function"] != block["function"]:
                problems.append(f"{label}: function {region['function']} != {block['function']}")
            if region["frame"] is not None and 0 <= region["frame"] < len(frames) and \
                    frames[region["frame"]]["function"] != block["function"]:
                problems.append(f"{label}: owned by frame {region['frame']} "
                                f"({frames[region['frame']]['function']})")
            site = region["call_site"] or {}
            if site.get("line") != block["line"] or \
                    not (site.get("file") or "").endswith("/" + block["file"]):
                problems.append(f"{label}: call site {site.get('file')}:{site.get('line')} "
                                f"!= {block['file']}:{block['line']}")

    findings = doc["findings"]
    kinds = [f["kind"] for f in findings]
    overflow = truth.get("overflow") or corrupt_ids
    if audit:
        named = {f["region"] for f in findings if f["kind"] == "region-overflow" and f["severity"] == "error"}
        by_base = {}
        for thread in doc["threads"]:
            for r in thread["regions"]:
                by_base[(thread["tid"], r["base"])] = r["id"]
        for bid in sorted(corrupt_ids):
            b = blocks_by_id[bid]
            if by_base.get((b["tid"], b["ptr"])) not in named:
                problems.append(f"damaged block {b['label']} at {b['ptr']}: no region-overflow error "
                                f"naming it (findings: {kinds})")
    if truth.get("dangling") and audit and "dangling-pointer" not in kinds:
        problems.append(f"pointers to a dead block ({truth['dangling']}): no dangling-pointer "
                        f"finding (findings: {kinds})")
    if not truth.get("dangling"):
        stray = [f["message"] for f in findings if f["kind"] == "dangling-pointer"]
        if stray:
            problems.append(f"dangling-pointer findings in a fixture that keeps no pointer to a "
                            f"dead block: {stray}")
    if not overflow and not truth.get("dangling"):
        errors = [f"{f['kind']}: {f['message']}" for f in findings if f["severity"] == "error"]
        if errors:
            problems.append(f"error findings on a correct fixture: {errors}")
    return problems


# Ground-truth differences the analysis is known not to handle yet, as
# (substring of a problem, reason). A test whose only problems are these is an
# expected failure with the reason spelled out; any other problem fails it.
# None is known today: every fixture of the matrix reproduces its truth.
KNOWN_GAPS: tuple = ()


def check_truth(problems: List[str], context: str = "") -> None:
    """Fail on problems, or xfail when every problem is a known gap."""
    import pytest
    if not problems:
        return
    gaps = sorted({reason for p in problems for needle, reason in KNOWN_GAPS if needle in p})
    if all(any(needle in p for needle, _ in KNOWN_GAPS) for p in problems):
        pytest.xfail("known analysis gap: " + "; ".join(gaps))
    pytest.fail((context + "\n" if context else "") + "\n".join(problems))

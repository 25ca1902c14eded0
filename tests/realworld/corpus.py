"""The real-program corpus: Debian programs nobody here wrote, stopped in a
known state, and their cores in the three formats `frameaudit analyze` takes.

Each program is started by the harness, waits until it reaches its state
(blocked in a system call, or busy in a known loop), and then gets one
signal from the harness (tgkill to one chosen thread): the fatal signal
itself, or SIGUSR1 for programs that then fault on their own (the ctypes
case). A program with a handler for the fatal signal (vim, gdb, Python's
faulthandler) runs it and re-raises; the core is written at the signal that
finally kills the process, the first one whose disposition (SigCgt in
/proc/PID/status) is the default.

    kernel    the kernel's own core, written into the program's working
              directory; only when /proc/sys/kernel/core_pattern is a plain
              relative file name (never changed here). Otherwise a gcore is
              made in its place and the report says so.
    gcore     gdb attached (`gdb -p PID`, gdb_drive.py): the harness's signal
              is passed on until the fatal one stops gdb, then `gcore`.
    minidump  LLDB attached through the SB API (lldb_drive.py), the same
              way, then `process save-core --plugin-name=minidump --style=full`;
              LLDB's live unwind at that stop is saved beside it.

Cores go to <build>/tests/realworld/cores/<program>/<format>/ and are remade
when the program's binary or this harness changes (RW_FRESH=1: always).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FORMATS = ("kernel", "gcore", "minidump")
# Signals that end a process by default with a core: the ones the drivers stop on.
FATAL = ("SIGSEGV", "SIGABRT", "SIGBUS", "SIGILL", "SIGFPE", "SIGSYS", "SIGQUIT", "SIGTRAP")
SEARCH_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


def build_dir() -> Path:
    return Path(os.environ.get("FRAMEAUDIT_BUILD_DIR") or REPO / "build").resolve()


def cores_dir() -> Path:
    return build_dir() / "tests" / "realworld" / "cores"


class Missing(Exception):
    """A program or tool the corpus needs is not installed (names its package)."""


@dataclass(frozen=True)
class Program:
    """One program of the corpus and the state it is stopped in."""
    name: str                       # corpus id, also the test id
    package: str                    # Debian package that provides `command`
    command: str                    # looked up in /usr/bin, /bin
    args: Tuple[str, ...]           # argv[1:]
    language: str                   # what the program is written in / runs
    state: str                      # one line: where it is when the signal comes
    signal: str = "SIGSEGV"         # what the harness sends
    thread: int = 0                 # which thread gets it: index in tid order
    ready: str = "blocked"          # "blocked": every thread sleeps in a syscall;
                                    # "marker:TEXT": TEXT on stdout; "running"
    settle: float = 0.0             # seconds to wait once ready
    min_threads: int = 1
    files: Dict[str, str] = field(default_factory=dict)  # written into the run dir
    stdin_data: bytes = b""         # written to its stdin (kept open) at start

    def executable(self) -> Path:
        found = shutil.which(self.command, path=SEARCH_PATH)
        if not found:
            raise Missing(f"{self.name}: `{self.command}` is not installed; the real-program "
                          f"corpus needs the Debian package {self.package} "
                          f"(scripts/setup.sh installs it)")
        return Path(os.path.realpath(found))


PY_THREADS = r"""
import os, queue, select, socket, sys, threading, time
lock = threading.Lock()
lock.acquire()
event = threading.Event()
jobs = queue.Queue()
a, b = socket.socketpair()
r, w = os.pipe()
def in_lock(): lock.acquire()
def in_sleep(): time.sleep(1000)
def in_select(): select.select([a], [], [], 1000)
def in_read(): os.read(r, 1)
def in_queue(): jobs.get(timeout=1000)
def in_event(): event.wait()
for f in (in_lock, in_sleep, in_select, in_read, in_queue, in_event):
    threading.Thread(target=f, name=f.__name__, daemon=True).start()
sys.stdin.buffer.read(1)
"""

PY_CTYPES = r"""
import ctypes, signal
# The fault comes from a Python-level handler, so the stack is the eval loop,
# ctypes, libffi and strlen; faulthandler (-X faulthandler) catches the
# SIGSEGV on its alternate stack and re-raises it from there.
signal.signal(signal.SIGUSR1, lambda signum, frame: ctypes.string_at(1))
signal.pause()
"""

TCL_RECURSE = r"""
proc r {n} {
    if {$n > 0} { return [expr {1 + [r [expr {$n - 1}]]}] }
    gets stdin
    return 0
}
r 200
"""

NODE_JIT = r"""
function spin(n) {
  if (n > 0) return spin(n - 1) + 1;
  console.log("ready");
  let x = 0;
  for (;;) { x = (x * 31 + 7) | 0; }
}
spin(40);
"""

PROGRAMS: List[Program] = [
    Program("sleep", "coreutils", "sleep", ("1000",), "C",
            "clock_nanosleep"),
    Program("sort", "coreutils", "sort", ("-S", "1M"), "C",
            "reading stdin after a few lines", signal="SIGABRT",
            stdin_data=b"pear\napple\nfig\n"),
    Program("xz", "xz-utils", "xz", ("-T2", "-c"), "C, 2 threads",
            "main in poll, a worker waiting for input", min_threads=2,
            stdin_data=b"frameaudit corpus\n" * 20000),
    Program("sqlite3", "sqlite3", "sqlite3", (":memory:",), "C",
            "busy in an endless recursive query (VDBE)", ready="running", settle=0.3,
            stdin_data=b"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                       b"SELECT count(*) FROM c;\n"),
    Program("make", "make", "make", ("-f", "Makefile"), "C",
            "waiting for its child (sleep)", files={"Makefile": "all:\n\tsleep 1000\n"}),
    Program("awk", "mawk", "mawk",
            ('function f(n) { if (n > 0) return 1 + f(n - 1); getline line < "-"; return 0 } '
             'BEGIN { f(200) }',), "C (mawk)", "200 awk calls deep, reading stdin"),
    Program("bash-recursion", "bash", "bash",
            ("-c", 'f() { if (( $1 > 0 )); then f $(( $1 - 1 )); else read -r line; fi; }; f 2000'),
            "C (bash)", "2000 shell function calls deep (10,000 C frames), reading stdin"),
    Program("perl", "perl-base", "perl",
            ("-e", "sub r { my $n = shift; return $n ? 1 + r($n - 1) : scalar(<STDIN>) } r(200)"),
            "C (perl)", "200 Perl calls deep, reading stdin"),
    Program("tclsh", "tcl8.6", "tclsh8.6", ("recurse.tcl",), "C (Tcl)",
            "200 Tcl procs deep, reading stdin", files={"recurse.tcl": TCL_RECURSE}),
    Program("python-threads", "python3.11-minimal", "python3.11", ("threads.py",),
            "C (CPython), 7 threads",
            "threads blocked in a lock, sleep, select, read, a queue and an event; "
            "SIGABRT to the select thread", signal="SIGABRT", thread=3, min_threads=7,
            files={"threads.py": PY_THREADS}),
    Program("python-ctypes", "python3.11-minimal", "python3.11",
            ("-X", "faulthandler", "ctypes_fault.py"), "C (CPython, libffi)",
            "ctypes.string_at(1) faults in libc's strlen through libffi; faulthandler "
            "re-raises from its handler on the alternate signal stack",
            signal="SIGUSR1", files={"ctypes_fault.py": PY_CTYPES}),
    Program("node-jit", "nodejs", "node", ("spin.js",), "C++ and JIT code (V8), 7 threads",
            "40 JS calls deep, spinning in optimised code", signal="SIGABRT",
            ready="marker:ready", settle=0.7, min_threads=7, files={"spin.js": NODE_JIT}),
    Program("vim", "vim", "vim.basic", ("-u", "NONE", "-i", "NONE", "-N", "-n", "-es"),
            "C", "Ex mode reading stdin; its deadly-signal handler re-raises with kill()"),
    Program("gdb", "gdb", "gdb", ("-nx", "-q"), "C++, 3 threads, embedded Python",
            "reading commands from stdin; its fatal-signal handler re-raises", min_threads=3),
    Program("ninja", "ninja-build", "ninja", ("-j1",), "C++",
            "waiting for its one job (sleep)",
            files={"build.ninja": "rule wait\n  command = sleep 1000\nbuild out: wait\n"}),
    Program("cmake", "cmake", "cmake", ("-P", "wait.cmake"), "C++ (libuv)",
            "execute_process waiting for sleep",
            files={"wait.cmake": "execute_process(COMMAND sleep 1000)\n"}),
]


def program(name: str) -> Program:
    for p in PROGRAMS:
        if p.name == name:
            return p
    raise KeyError(f"no program {name!r} in the corpus ({', '.join(p.name for p in PROGRAMS)})")


# -- tools -----------------------------------------------------------------------

def gdb_path() -> str:
    found = shutil.which("gdb", path=SEARCH_PATH)
    if not found:
        raise Missing("gdb is not installed; the real-program corpus needs the Debian package "
                      "gdb for gcore cores and gdb's unwind (scripts/setup.sh installs it)")
    return found


def lldb_path() -> str:
    major = os.environ.get("FRAMEAUDIT_LLDB_VERSION", "22")
    found = shutil.which(f"lldb-{major}", path=SEARCH_PATH) or shutil.which("lldb", path=SEARCH_PATH)
    if not found:
        raise Missing(f"lldb is not installed; the real-program corpus needs the Debian packages "
                      f"lldb-{major} and python3-lldb-{major} (scripts/setup.sh installs them)")
    return found


_LLDB_ENV: Optional[Dict[str, str]] = None


def lldb_env() -> Dict[str, str]:
    """Environment for /usr/bin/python3 running LLDB's Python module."""
    global _LLDB_ENV
    if _LLDB_ENV is None:
        exe = lldb_path()
        out = subprocess.run([exe, "-P"], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        pydir = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        if not pydir or not Path(pydir, "lldb").exists():
            raise Missing(f"`{exe} -P` names no Python package; the corpus needs the Debian "
                          f"package python3-lldb-{os.environ.get('FRAMEAUDIT_LLDB_VERSION', '22')}")
        env = dict(os.environ)
        env["PYTHONPATH"] = pydir
        server = Path(os.path.realpath(exe)).parent / "lldb-server"
        if server.exists():
            env.setdefault("LLDB_DEBUGSERVER_PATH", str(server))
        _LLDB_ENV = env
    return dict(_LLDB_ENV)


PYTHON = "/usr/bin/python3"  # the Python LLDB embeds (not a pyenv one)


# -- running a program to its state ------------------------------------------------

def _program_env(run_dir: Path) -> Dict[str, str]:
    return {"PATH": SEARCH_PATH, "HOME": str(run_dir), "LANG": "C", "LC_ALL": "C",
            "TERM": "dumb", "PYTHONDONTWRITEBYTECODE": "1"}


class Running:
    """A corpus program started by the harness, in its own session."""

    def __init__(self, prog: Program, run_dir: Path, allow_core: bool):
        self.prog = prog
        self.exe = prog.executable()
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        self.run_dir = run_dir
        for name, text in prog.files.items():
            (run_dir / name).write_text(text)
        self.stdout = open(run_dir.parent / "stdout.txt", "wb")
        self.stderr = open(run_dir.parent / "stderr.txt", "wb")
        limit = resource.RLIM_INFINITY if allow_core else 0

        def preexec():
            resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))

        self.proc = subprocess.Popen([str(self.exe), *prog.args], cwd=run_dir,
                                     env=_program_env(run_dir), stdin=subprocess.PIPE,
                                     stdout=self.stdout, stderr=self.stderr,
                                     preexec_fn=preexec, start_new_session=True)
        self.pid = self.proc.pid
        if prog.stdin_data:
            self.proc.stdin.write(prog.stdin_data)
            self.proc.stdin.flush()

    # -- state -------------------------------------------------------------------
    def tids(self) -> List[int]:
        try:
            return sorted(int(t) for t in os.listdir(f"/proc/{self.pid}/task"))
        except OSError:
            return []

    def _snapshot(self):
        """Per thread (state, syscall line), or None if the process is gone."""
        snap = {}
        for tid in self.tids():
            try:
                stat = Path(f"/proc/{self.pid}/task/{tid}/stat").read_text()
                state = stat[stat.rindex(")") + 2]
                syscall = Path(f"/proc/{self.pid}/task/{tid}/syscall").read_text().strip()
            except (OSError, ValueError):
                return None
            snap[tid] = (state, syscall)
        return snap or None

    def wait_ready(self, timeout: float = 30.0) -> None:
        prog = self.prog
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{prog.name} exited ({self.proc.returncode}) before its "
                                     f"state: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{prog.name} did not reach its state ({prog.state}) in "
                                     f"{timeout:.0f} s: threads {self._snapshot()}; "
                                     f"{self.output()}")
            snap = self._snapshot()
            ok = snap is not None and len(snap) >= prog.min_threads
            if ok and prog.ready == "blocked":
                ok = all(state in "SD" and syscall.split()[0].isdigit()
                         for state, syscall in snap.values())
                # The same syscall and stack pointer twice running: it sleeps there.
                ok = ok and snap == previous
            elif ok and prog.ready == "running":
                ok = snap[self.pid][0] == "R" and previous is not None and \
                    previous.get(self.pid, ("",))[0] == "R"
            elif ok and prog.ready.startswith("marker:"):
                ok = prog.ready[len("marker:"):].encode() in \
                    (self.run_dir.parent / "stdout.txt").read_bytes()
            if ok:
                break
            previous = snap
            time.sleep(0.05)
        if prog.settle:
            time.sleep(prog.settle)

    def target_tid(self) -> int:
        tids = self.tids()
        if self.prog.thread >= len(tids):
            raise AssertionError(f"{self.prog.name}: thread {self.prog.thread} wanted, "
                                 f"{len(tids)} exist")
        return tids[self.prog.thread]

    def output(self) -> str:
        self.stdout.flush()
        self.stderr.flush()
        err = (self.run_dir.parent / "stderr.txt").read_bytes()[-1500:]
        return f"stderr: {err.decode(errors='replace').strip()!r}"

    def stop(self) -> None:
        """Kill the program and everything it started (its session)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.stdout.close()
        self.stderr.close()


_libc = ctypes.CDLL(None, use_errno=True)


def tgkill(pid: int, tid: int, signame: str) -> None:
    """Send `signame` to thread `tid` of `pid` (os.kill would let the kernel choose)."""
    SYS_tgkill = 234  # x86-64
    if _libc.syscall(SYS_tgkill, pid, tid, int(getattr(signal, signame))) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill({pid}, {tid}, {signame})")


# -- cores ---------------------------------------------------------------------

@dataclass
class Core:
    program: str
    format: str            # the format asked for
    path: Path
    exe: Path
    made_as: str           # the format actually written (kernel -> gcore fallback)
    note: Optional[str] = None
    live_lldb: Optional[Path] = None  # LLDB's live unwind at the minidump's stop
    seconds: float = 0.0


def kernel_pattern_problem() -> Optional[str]:
    """None if the kernel writes cores to a plain relative file in the cwd, else why not."""
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError as e:
        return f"cannot read /proc/sys/kernel/core_pattern ({e})"
    if not pattern or pattern.startswith("|") or "/" in pattern:
        return (f"/proc/sys/kernel/core_pattern is {pattern!r}, not a plain relative file name: "
                f"the kernel would not write the core where the harness can find it (the "
                f"pattern is never changed here)")
    return None


def _make_kernel(prog: Program, workdir: Path) -> Core:
    problem = kernel_pattern_problem()
    if problem:
        core = _make_gcore(prog, workdir, "kernel.core")
        core.format, core.note = "kernel", f"kernel core replaced by a gcore: {problem}"
        return core
    run = Running(prog, workdir / "run", allow_core=True)
    try:
        run.wait_ready()
        tgkill(run.pid, run.target_tid(), prog.signal)
        try:
            run.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{prog.name} did not die within 30 s of {prog.signal}")
        status = run.proc.returncode
        made = sorted(p for p in run.run_dir.iterdir() if p.name.startswith("core"))
        if not made:
            raise AssertionError(
                f"the kernel wrote no core for {prog.name} (exit status {status}, "
                f"core_pattern {Path('/proc/sys/kernel/core_pattern').read_text().strip()!r}, "
                f"RLIMIT_CORE hard limit {resource.getrlimit(resource.RLIMIT_CORE)[1]}); "
                f"{run.output()}")
        path = workdir / "kernel.core"
        made[0].replace(path)
    finally:
        run.stop()
    return Core(prog.name, "kernel", path, run.exe, "kernel")


def _make_gcore(prog: Program, workdir: Path, name: str = "gcore.core") -> Core:
    gdb = gdb_path()
    path = workdir / name
    run = Running(prog, workdir / "run", allow_core=False)
    try:
        run.wait_ready()
        env = {**os.environ, "RW_PID": str(run.pid), "RW_TID": str(run.target_tid()),
               "RW_SIGNAL": prog.signal, "RW_OUT": str(path), "RW_FATAL": ",".join(FATAL)}
        env.pop("DEBUGINFOD_URLS", None)
        try:
            out = subprocess.run([gdb, "-nx", "-q", "-batch", "-p", str(run.pid),
                                  "-x", str(HERE / "gdb_drive.py")],
                                 env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=120)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"gdb did not finish the gcore of {prog.name} in 120 s: "
                                 f"{(e.stdout or b'')[-1500:]!r}")
        if not path.exists() or path.stat().st_size == 0:
            raise AssertionError(f"gdb wrote no core for {prog.name}:\n{out.stdout[-2000:]}\n"
                                 f"{out.stderr[-2000:]}")
    finally:
        run.stop()
    return Core(prog.name, "gcore", path, run.exe, "gcore")


def _make_minidump(prog: Program, workdir: Path) -> Core:
    env = lldb_env()
    path = workdir / "lldb.dmp"
    live = workdir / "lldb-live.json"
    run = Running(prog, workdir / "run", allow_core=False)
    try:
        run.wait_ready()
        env.update(RW_PID=str(run.pid), RW_TID=str(run.target_tid()), RW_SIGNAL=prog.signal,
                   RW_EXE=str(run.exe), RW_OUT=str(path), RW_LIVE=str(live),
                   RW_FATAL=",".join(FATAL))
        try:
            out = subprocess.run([PYTHON, str(HERE / "lldb_drive.py")], env=env,
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=180)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"LLDB did not finish the minidump of {prog.name} in 180 s")
        if out.returncode != 0 or not path.exists():
            raise AssertionError(f"LLDB wrote no minidump for {prog.name}:\n"
                                 f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    finally:
        run.stop()
    return Core(prog.name, "minidump", path, run.exe, "minidump", live_lldb=live)


_MAKERS = {"kernel": _make_kernel, "gcore": _make_gcore, "minidump": _make_minidump}


def _harness_digest() -> str:
    h = hashlib.sha256()
    for name in ("corpus.py", "gdb_drive.py", "lldb_drive.py", "lldb_unwind.py"):
        h.update((HERE / name).read_bytes())
    return h.hexdigest()[:16]


def get_core(prog: Program, fmt: str, fresh: Optional[bool] = None) -> Core:
    """A core of `prog` in format `fmt`, from the cache unless the program's
    binary or the harness changed (or fresh / RW_FRESH=1)."""
    if fresh is None:
        fresh = os.environ.get("RW_FRESH", "") not in ("", "0")
    exe = prog.executable()
    st = exe.stat()
    stamp_want = {"exe": str(exe), "mtime_ns": st.st_mtime_ns, "size": st.st_size,
                  "harness": _harness_digest(), "pattern_problem": kernel_pattern_problem()
                  if fmt == "kernel" else None}
    workdir = cores_dir() / prog.name / fmt
    stamp = workdir / "stamp.json"
    if not fresh and stamp.exists():
        try:
            have = json.loads(stamp.read_text())
        except ValueError:
            have = {}
        if have.get("stamp") == stamp_want and Path(have.get("path", "")).exists():
            return Core(prog.name, fmt, Path(have["path"]), exe, have["made_as"], have["note"],
                        Path(have["live_lldb"]) if have.get("live_lldb") else None,
                        have.get("seconds", 0.0))
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    start = time.monotonic()
    core = _MAKERS[fmt](prog, workdir)
    core.seconds = round(time.monotonic() - start, 2)
    shutil.rmtree(workdir / "run", ignore_errors=True)
    stamp.write_text(json.dumps({"stamp": stamp_want, "path": str(core.path),
                                 "made_as": core.made_as, "note": core.note,
                                 "live_lldb": str(core.live_lldb) if core.live_lldb else None,
                                 "seconds": core.seconds}))
    return core


if __name__ == "__main__":  # corpus.py --list | corpus.py PROGRAM FORMAT
    if sys.argv[1:] == ["--list"]:
        print(";".join(p.name for p in PROGRAMS))
    else:
        print(get_core(program(sys.argv[1]), sys.argv[2], fresh=True))

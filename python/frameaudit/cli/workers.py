"""Run core analyses in worker processes: at most N at a time, each under a
watchdog, results in input order.

A worker is a fork of this process (core_worker.py), made before LLDB is
imported anywhere, in a session of its own so a timeout kills it and
anything LLDB started with it. The parent never imports LLDB for
`analyze`: an LLDB that crashes or hangs on a malformed file takes only its
worker with it, and the parent says so in one line.
"""

import json
import os
import selectors
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .core_worker import LOADED_MARK, PROGRESS_PREFIX, RENDERED_MARK
from .layout import Layout

DEFAULT_TIMEOUT = 600.0
TIMEOUT_ENV = "FRAMEAUDIT_TIMEOUT"


def default_timeout() -> float:
    value = os.environ.get(TIMEOUT_ENV)
    if value:
        try:
            seconds = float(value)
            if seconds > 0:
                return seconds
        except ValueError:
            pass
    return DEFAULT_TIMEOUT


@dataclass
class CoreJob:
    core: str                   # the path LLDB loads (/proc/self/fd/N for a spooled core)
    exe: str
    name: Optional[str] = None  # the core as the user named it (default: core)
    fds: Tuple[int, ...] = ()   # descriptors the worker needs (a spooled core's)
    sinks: List[dict] = field(default_factory=list)  # where each render goes (core_worker.py)

    @property
    def display(self) -> str:
        return self.name or self.core


@dataclass
class JobResult:
    ok: bool
    counts: Tuple[int, int, int] = (0, 0, 0)
    outputs: List[dict] = field(default_factory=list)  # per render: what writing it did
    error: str = ""           # one sentence, naming the core
    internal: bool = False    # an internal error (hint at FRAMEAUDIT_DEBUG)
    environment: bool = False  # LLDB's module does not import here: the same for every core
    log: str = ""             # the worker's stderr and traceback, for FRAMEAUDIT_DEBUG
    log_path: Optional[str] = None  # where that log was saved (LLDB crashed)
    notes: Tuple[str, ...] = ()  # lines for -v (settings applied, modules and debug info)


class _Child:
    """A forked worker: its pid and, once it ended, its wait status."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> Optional[int]:
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while self.poll() is None:
            if time.monotonic() > deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.wait(10)


@dataclass
class _Running:
    index: int
    job: CoreJob
    proc: _Child
    deadline: float
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    streams: list = field(default_factory=list)
    go: Optional[int] = None  # write end of the worker's stdin (wait_go)
    progress: Tuple[int, int] = (0, 0)
    loaded: bool = False      # LLDB had loaded the core (the worker said so)
    rendered: bool = False    # nothing but writing left (the watchdog is off)


def _close_except(keep: Sequence[int]) -> None:
    """Close every descriptor but 0, 1, 2 and `keep` (in a fresh child)."""
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        limit = 1 << 16
    low = 3
    for fd in sorted(set(k for k in keep if k >= 3)):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low, limit))


def _fork_worker(job: CoreJob, payload: dict, wait_go: bool):
    """Fork a worker for `job`; (child, status read end, stderr read end, go write end)."""
    status_r, status_w = os.pipe()
    err_r, err_w = os.pipe()
    go_r, go_w = os.pipe() if wait_go else (None, None)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()  # nothing of ours is written twice
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            os.setsid()
            for name in ("SIGINT", "SIGTERM", "SIGHUP"):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
            # Everything we keep moves above 2 first (a sink may be stdout
            # itself); then stdout and stderr become the log pipe, so nothing
            # LLDB prints can get into a document.
            import fcntl

            def high(fd: int) -> int:
                return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)

            sinks = [dict(s) for s in payload["sinks"]]
            for s in sinks:
                if s["kind"] == "fd":
                    s["fd"] = high(s["fd"])
            status = high(status_w)
            log = high(err_w)
            stdin = high(go_r) if go_r is not None else os.open(os.devnull, os.O_RDONLY)
            os.dup2(stdin, 0)
            os.dup2(log, 2)
            os.dup2(log, 1)
            keep = [status] + [s["fd"] for s in sinks if s["kind"] == "fd"] + list(job.fds)
            _close_except(keep)
            from .core_worker import run_job
            run_job(dict(payload, sinks=sinks, wait_go=wait_go), status)
        finally:
            os._exit(70)
    os.close(status_w)
    os.close(err_w)
    if go_r is not None:
        os.close(go_r)
    return _Child(pid), status_r, err_r, go_w


def run_core_jobs(jobs: List[CoreJob], parallel: int, timeout: float, options: dict,
                  layout: Layout,
                  on_progress: Optional[Callable[[int, int, Dict[int, Tuple[int, int]]], None]] = None,
                  on_rendered: Optional[Callable[[int], None]] = None,
                  keep_logs: bool = True) -> List[JobResult]:
    """Analyse every job; return one JobResult per job, in input order.

    options: {"renders": [{"format", "unicode", "color", "width", "encoding",
    "part"}, ...], "symbols", "sarif", "verbose"}: the documents each worker
    renders and writes to its job's sinks, in order, the symbol options
    (options.symbol_settings), SARIF's (options.sarif_settings) and whether
    to collect -v notes. on_progress(done, total, per_core) is called as work
    advances, per_core = {job index: (threads done, total)}. on_rendered(index),
    when given, is called once a worker has rendered everything and before it
    writes: the worker waits for it to return (the parent clears its progress
    line there, before a worker writes to the terminal). keep_logs=False: a
    worker whose status record is in is done; its stderr after that and its
    exit (tearing down LLDB's memory takes a while) are not waited for.
    """
    results: List[Optional[JobResult]] = [None] * len(jobs)
    pending = deque(enumerate(jobs))
    running: Dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    exiting: List[_Child] = []  # done workers still tearing down (keep_logs=False)
    done = 0

    def start(index: int, job: CoreJob) -> None:
        payload = dict(options, core=job.core, exe=job.exe, name=job.display,
                       layout=layout.as_dict(), parent=os.getpid(), sinks=job.sinks)
        proc, status_r, err_r, go_w = _fork_worker(job, payload, on_rendered is not None)
        # Its own session: a Ctrl-C on the terminal reaches only us, and we
        # end the worker's whole process group (and it dies with us: core_worker.py).
        state = _Running(index, job, proc, time.monotonic() + timeout, go=go_w)
        running[proc.pid] = state
        for fd, kind in ((status_r, "out"), (err_r, "err")):
            os.set_blocking(fd, False)
            state.streams.append(fd)
            selector.register(fd, selectors.EVENT_READ, (state, kind))

    def report_progress() -> None:
        if on_progress:
            on_progress(done, len(jobs), {s.index: s.progress for s in running.values()})

    try:
        while pending or running:
            while pending and len(running) < parallel:
                start(*pending.popleft())
                report_progress()
            for key, _ in selector.select(timeout=0.1):
                state, kind = key.data
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    _close_stream(selector, state, key.fd)
                    continue
                if kind == "out":
                    state.out += chunk
                else:
                    state.err += chunk
                    changed, rendered = _take_marks(state)
                    if rendered:
                        state.rendered = True
                        if on_rendered:
                            on_rendered(state.index)
                        _release(state)
                    if changed:
                        report_progress()
            exiting = [child for child in exiting if child.poll() is None]
            now = time.monotonic()
            for pid, state in list(running.items()):
                if not keep_logs and state.streams and _status_in(state):
                    # The record is whole: nothing it said depends on the
                    # rest of its stderr or on how its exit goes.
                    _close_streams(selector, state)
                    exiting.append(state.proc)
                    results[state.index] = _finish(state, timed_out=False, timeout=timeout)
                elif not state.streams:
                    if state.proc.wait(max(0.0, state.deadline - now) + 5) is None:
                        state.proc.kill()
                    results[state.index] = _finish(state, timed_out=False, timeout=timeout)
                elif now > state.deadline and not state.rendered:
                    state.proc.kill()
                    _close_streams(selector, state)
                    results[state.index] = _finish(state, timed_out=True, timeout=timeout)
                else:
                    continue
                _release(state)
                del running[pid]
                done += 1
                result = results[state.index]
                if result is not None and result.environment:
                    # LLDB's module does not import here: no other core will do better.
                    for index, job in pending:
                        results[index] = JobResult(False, error=result.error, environment=True)
                    pending.clear()
                report_progress()
    finally:
        for state in running.values():
            state.proc.kill()
            _close_streams(selector, state)
            _release(state)
        selector.close()
    return [r for r in results if r is not None]


def _status_in(state: _Running) -> bool:
    """The worker's status stream has ended with a whole record."""
    if len(state.streams) != 1 or not state.out:
        return False  # the status stream is the first one closed
    try:
        json.loads(bytes(state.out).decode())
        return True
    except ValueError:
        return False


def _release(state: _Running) -> None:
    """Let a worker waiting for the go-ahead write (or, closed, see EOF)."""
    if state.go is not None:
        try:
            os.write(state.go, b"g")
        except OSError:
            pass
        try:
            os.close(state.go)
        except OSError:
            pass
        state.go = None


def _take_marks(state: _Running) -> Tuple[bool, bool]:
    """Consume complete mark lines from the worker's stderr buffer:
    (progress changed, the worker has rendered everything)."""
    changed = rendered = False
    keep = bytearray()
    lines = bytes(state.err).split(b"\n")
    tail = lines.pop()  # incomplete last line
    for line in lines:
        if line.startswith(b"\x1e"):
            decoded = line.decode(errors="replace")
            if decoded == LOADED_MARK:
                state.loaded = True
                continue
            if decoded == RENDERED_MARK:
                rendered = True
                continue
            if decoded.startswith(PROGRESS_PREFIX):
                try:
                    d, t = decoded[len(PROGRESS_PREFIX):].split()
                    state.progress = (int(d), int(t))
                    changed = True
                except ValueError:
                    pass
                continue
        keep += line + b"\n"
    keep += tail
    state.err = keep
    return changed, rendered


def _close_stream(selector, state: _Running, fd: int) -> None:
    try:
        selector.unregister(fd)
    except (KeyError, ValueError):
        pass
    try:
        os.close(fd)
    except OSError:
        pass
    if fd in state.streams:
        state.streams.remove(fd)


def _close_streams(selector, state: _Running) -> None:
    for fd in list(state.streams):
        _close_stream(selector, state, fd)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _finish(state: _Running, timed_out: bool, timeout: float) -> JobResult:
    log = state.err.decode(errors="replace")
    core = state.job.display
    if timed_out:
        return JobResult(False, error=f"{core}: analysis did not finish within {_seconds(timeout)} "
                                      "(watchdog); raise the limit with --timeout SECONDS",
                         log=log)
    try:
        result = json.loads(bytes(state.out).decode())
    except ValueError:
        return _died(state, log)
    if result.get("ok"):
        return JobResult(True, counts=tuple(result["counts"]), outputs=result.get("outputs", []),
                         log=log, notes=tuple(result.get("notes", ())))
    if result.get("internal"):
        return JobResult(False, error=f"{core}: internal error: {result['error']}", internal=True,
                         log=log + result.get("traceback", ""))
    return JobResult(False, error=result["error"], environment=bool(result.get("environment")),
                     log=log)


def _died(state: _Running, log: str) -> JobResult:
    """The worker ended without a result. Killed by a signal, that is LLDB
    crashing in it (frameaudit's own code runs in Python): say so, and keep
    what it printed in a log file for the bug report."""
    core = state.job.display
    code = state.proc.returncode
    stage = "analysing" if state.loaded else "loading"
    log_path = _save_log(state, log)
    where = f"; the worker's log is {log_path}" if log_path else ""
    if code is not None and code < 0:
        error = (f"{core}: LLDB crashed while {stage} {core} (a bug in LLDB or a malformed "
                 f"file; the worker was killed by {_signal_name(-code)}){where}")
    else:
        error = f"{core}: the analysis process exited with status {code} without a result{where}"
    return JobResult(False, error=error, log=log, log_path=log_path)


def _save_log(state: _Running, log: str) -> Optional[str]:
    import tempfile
    header = (f"frameaudit worker for {state.job.display}\ncore (as loaded): {state.job.core}\n"
              f"executable: {state.job.exe}\nexit status: {state.proc.returncode}\n"
              f"LLDB had loaded the core: {state.loaded}\n--- stderr ---\n")
    try:
        fd, path = tempfile.mkstemp(prefix="frameaudit-worker-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(header + log)
        return path
    except OSError:
        return None

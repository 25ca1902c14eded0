"""Run core analyses in worker processes: at most N at a time, each under a
watchdog, results in input order.

A worker is a fresh /usr/bin/python3 (the interpreter running us) started in
its own session, so a timeout kills it and anything LLDB started with it.
The parent never imports LLDB for `analyze`.
"""

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .core_worker import LOADED_MARK, PROGRESS_PREFIX
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

    @property
    def display(self) -> str:
        return self.name or self.core


@dataclass
class JobResult:
    ok: bool
    documents: List[str] = field(default_factory=list)  # one per requested render, in order
    counts: Tuple[int, int, int] = (0, 0, 0)
    error: str = ""           # one sentence, naming the core
    internal: bool = False    # an internal error (hint at FRAMEAUDIT_DEBUG)
    log: str = ""             # the worker's stderr and traceback, for FRAMEAUDIT_DEBUG
    log_path: Optional[str] = None  # where that log was saved (LLDB crashed)
    notes: Tuple[str, ...] = ()  # lines for -v (settings applied, modules and debug info)

    @property
    def document(self) -> str:
        return self.documents[0] if self.documents else ""


@dataclass
class _Running:
    index: int
    job: CoreJob
    proc: subprocess.Popen
    deadline: float
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    open_streams: int = 2
    progress: Tuple[int, int] = (0, 0)
    loaded: bool = False      # LLDB had loaded the core (the worker said so)


def _boot_code(layout: Layout) -> str:
    # LLDB's module dir goes last: only a fallback for `import lldb`, never a
    # shadow of anything else.
    extra = [d for d in (os.environ.get("FRAMEAUDIT_LLDB_PYTHON"), layout.lldb_python_dir) if d]
    return ("import sys; sys.path[:0] = %r; sys.path += %r; "
            "from frameaudit.cli.core_worker import worker_main; worker_main()"
            % ([layout.python_dir], extra))


def run_core_jobs(jobs: List[CoreJob], parallel: int, timeout: float, options: dict,
                  layout: Layout,
                  on_progress: Optional[Callable[[int, int, Dict[int, Tuple[int, int]]], None]] = None
                  ) -> List[JobResult]:
    """Analyse every job; return one JobResult per job, in input order.

    options: {"renders": [{"format", "unicode", "color", "width"}, ...],
    "symbols", "sarif", "verbose"}: the documents each worker renders, in
    order, the symbol options (options.symbol_settings), SARIF's
    (options.sarif_settings) and whether to collect -v notes. on_progress(done, total, per_core)
    is called as work advances, per_core = {job index: (threads done, total)}.
    """
    results: List[Optional[JobResult]] = [None] * len(jobs)
    pending = deque(enumerate(jobs))
    running: Dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    boot = _boot_code(layout)
    done = 0

    def start(index: int, job: CoreJob) -> None:
        payload = dict(options, core=job.core, exe=job.exe, name=job.display,
                       layout=layout.as_dict(), parent=os.getpid())
        # Its own session: a Ctrl-C on the terminal reaches only us, and we
        # end the worker's whole process group (and it dies with us: core_worker.py).
        proc = subprocess.Popen([sys.executable, "-c", boot, json.dumps(payload)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                pass_fds=job.fds)
        state = _Running(index, job, proc, time.monotonic() + timeout)
        running[proc.pid] = state
        for stream, kind in ((proc.stdout, "out"), (proc.stderr, "err")):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream, selectors.EVENT_READ, (state, kind))

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
                    chunk = os.read(key.fileobj.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    state.open_streams -= 1
                    continue
                if kind == "out":
                    state.out += chunk
                else:
                    state.err += chunk
                    if _take_progress(state):
                        report_progress()
            now = time.monotonic()
            for pid, state in list(running.items()):
                if state.open_streams == 0:
                    try:
                        state.proc.wait(timeout=max(0.0, state.deadline - now) + 5)
                    except subprocess.TimeoutExpired:
                        _kill(state.proc)
                    results[state.index] = _finish(state, timed_out=False, timeout=timeout)
                elif now > state.deadline:
                    _kill(state.proc)
                    _close_streams(selector, state)
                    results[state.index] = _finish(state, timed_out=True, timeout=timeout)
                else:
                    continue
                del running[pid]
                done += 1
                report_progress()
    finally:
        for state in running.values():
            _kill(state.proc)
            _close_streams(selector, state)
        selector.close()
    return [r for r in results if r is not None]


def _take_progress(state: _Running) -> bool:
    """Consume complete progress lines from the worker's stderr buffer."""
    changed = False
    text = bytes(state.err)
    keep = bytearray()
    lines = text.split(b"\n")
    tail = lines.pop()  # incomplete last line
    for line in lines:
        decoded = line.decode(errors="replace")
        if decoded == LOADED_MARK:
            state.loaded = True
        elif decoded.startswith(PROGRESS_PREFIX):
            try:
                d, t = decoded[len(PROGRESS_PREFIX):].split()
                state.progress = (int(d), int(t))
                changed = True
            except ValueError:
                pass
        else:
            keep += line + b"\n"
    keep += tail
    state.err = keep
    return changed


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _close_streams(selector, state: _Running) -> None:
    for stream in (state.proc.stdout, state.proc.stderr):
        try:
            selector.unregister(stream)
        except (KeyError, ValueError):
            pass
        try:
            stream.close()
        except OSError:
            pass
    state.open_streams = 0


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
        return JobResult(True, documents=result["documents"], counts=tuple(result["counts"]),
                         log=log, notes=tuple(result.get("notes", ())))
    if result.get("internal"):
        return JobResult(False, error=f"{core}: internal error: {result['error']}", internal=True,
                         log=log + result.get("traceback", ""))
    return JobResult(False, error=result["error"], log=log)


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

"""`frameaudit run [--format F] [--fail-on S] [-o FILE] [--timeout S] -- PROGRAM [ARGS...]`

Launch PROGRAM under LLDB (in-process, synchronous) and wait:

- it stops on a core-dumping signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
  SIGABRT, SIGTRAP, SIGSYS, SIGQUIT, SIGXCPU, SIGXFSZ: exactly the signals
  that would have written a core), an exception or a sanitizer report:
  every thread is audited and the report printed; exit status by findings;
- other signals go to the program untouched (it may handle them);
- --timeout: after that long the program is interrupted and audited where
  it is (a hung test), exit status by findings;
- it exits: that is said, with its status, and nothing is audited; exit
  status 0 (frameaudit judges stacks, not the program's own status). JSON
  and SARIF still get a valid document (no threads, no results).

The program is killed when frameaudit is done, whatever happens. Its
stdout goes to frameaudit's stdout for text output and to stderr for JSON
and SARIF (stdout then holds only the document); its stderr to stderr.
"""

import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time

from .. import core_api, exit_codes
from ..errors import CliError, InputError, UsageError
from ..inputs.executable import inspect_program
from ..lldb_module import load_lldb
from ..lldb_session import Debugger
from ..options import color_wanted, say, sarif_settings, symbol_settings, text_width
from ..output import StdoutGuard, check_output_path, use_unicode, write_document
from ..progress import Progress, progress_wanted

CORE_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS",
                "SIGQUIT", "SIGXCPU", "SIGXFSZ")
# Left as LLDB has them: it needs SIGSTOP for interrupts, SIGKILL cannot be caught.
UNTOUCHED_SIGNALS = ("SIGSTOP", "SIGKILL")
MAX_BENIGN_STOPS = 10_000


def _resolve_program(name: str) -> str:
    if os.sep in name:
        path = name
    else:
        path = shutil.which(name)
        if path is None:
            raise InputError(name, "no such program (not found on PATH)")
    if not os.path.exists(path):
        raise InputError(name, "no such file")
    inspect_program(path, "an x86-64 ELF program")
    if not os.access(path, os.X_OK):
        raise InputError(name, "is not executable (no execute permission)")
    return os.path.abspath(path)


class _Tail(threading.Thread):
    """Copies what the program writes to a file, as it writes it, to an fd."""

    def __init__(self, path: str, dest_fd: int):
        super().__init__(daemon=True)
        self.path, self.dest_fd = path, dest_fd
        self.stopping = threading.Event()

    def run(self) -> None:
        with open(self.path, "rb") as f:
            while True:
                chunk = f.read(65536)
                if chunk:
                    try:
                        os.write(self.dest_fd, chunk)
                    except OSError:
                        pass
                    continue
                if self.stopping.is_set():
                    return
                time.sleep(0.05)

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def _configure_signals(lldb, process) -> None:
    signals = process.GetUnixSignals()
    if not signals.IsValid():
        return
    for i in range(signals.GetNumSignals()):
        number = signals.GetSignalAtIndex(i)
        name = signals.GetSignalAsCString(number) or ""
        if name in CORE_SIGNALS:
            signals.SetShouldStop(number, True)
            signals.SetShouldNotify(number, True)
            signals.SetShouldSuppress(number, False)
        elif name not in UNTOUCHED_SIGNALS:
            signals.SetShouldStop(number, False)
            signals.SetShouldNotify(number, False)
            signals.SetShouldSuppress(number, False)


def _auditable_stop(lldb, process) -> str:
    """Why the process stopped, if that is worth an audit; else ""."""
    reasons = {lldb.eStopReasonSignal, lldb.eStopReasonException, lldb.eStopReasonBreakpoint,
               lldb.eStopReasonWatchpoint}
    for name in ("eStopReasonInstrumentation",):
        if hasattr(lldb, name):
            reasons.add(getattr(lldb, name))
    selected = process.GetSelectedThread()
    threads = [selected] + [process.GetThreadAtIndex(i) for i in range(process.GetNumThreads())]
    for thread in threads:
        if thread and thread.IsValid() and thread.GetStopReason() in reasons:
            process.SetSelectedThread(thread)
            return " ".join((thread.GetStopDescription(256) or "stopped").split())
    return ""


def _stop_before_kill(process, done: threading.Event) -> None:
    """Get the blocked Continue() to return: it holds LLDB's API lock, so
    Kill() would wait for it forever. Interrupt first; if LLDB does not
    answer, end the program the hard way (LLDB then sees it exit)."""
    process.SendAsyncInterrupt()
    if done.wait(5):
        return
    pid = process.GetProcessID()
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    done.wait(5)


def _continue_in_background(process):
    """process.Continue() blocks until the next stop; run it off the main thread
    so the main thread stays responsive to SIGINT/SIGTERM and the timeout."""
    done = threading.Event()

    def target():
        try:
            process.Continue()
        finally:
            done.set()

    threading.Thread(target=target, daemon=True).start()
    return done


def run_command(args, layout) -> int:
    argv = list(args.program)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("frameaudit run: error: missing PROGRAM "
                         "(usage: frameaudit run [options] -- PROGRAM [ARGS...])")
    check_output_path(args.output)
    symbols = symbol_settings(args)
    program = _resolve_program(argv[0])
    lldb = load_lldb(layout)
    core_api.import_core()

    environment = [f"{k}={v}" for k, v in os.environ.items()
                   if k not in ("LLDB_DEBUGSERVER_PATH", "FRAMEAUDIT_LLDB_PYTHON")]
    workdir = tempfile.mkdtemp(prefix="frameaudit-run-")
    out_path, err_path = os.path.join(workdir, "stdout"), os.path.join(workdir, "stderr")
    for p in (out_path, err_path):
        open(p, "wb").close()
    stdin_path = _stdin_path()
    stdio = {0: (stdin_path, True, False), 1: (out_path, False, True), 2: (err_path, False, True)}

    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with StdoutGuard() as guard, Debugger(lldb, symbols) as dbg:
            program_out = guard.saved if args.format == "text" else 2
            tails = [_Tail(out_path, program_out), _Tail(err_path, 2)]
            for t in tails:
                t.start()
            try:
                dbg.launch(program, argv[1:], stdio, environment, stop_at_entry=True)
                why, timed_out = _wait_for_stop(lldb, dbg.process, program, args.timeout)
                if args.verbose:
                    for line in dbg.applied + dbg.module_lines():
                        sys.stderr.write(f"frameaudit: {line}\n")
                if dbg.process.GetState() == lldb.eStateExited:
                    status = dbg.process.GetExitStatus()
                    detail = dbg.process.GetExitDescription() or ""
                    pid = dbg.process.GetProcessID() or None
                    document, code = None, None
                else:
                    document, code = _audit(args, dbg, program, why, timed_out)
                # The program is gone before anything is printed.
                dbg.close()
            finally:
                for t in tails:
                    t.finish()
            guard.restore()
            if document is None:
                return _exited(args, program, pid, status, detail)
            write_document(document, args.output, utf8=args.format != "text")
            return code
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_stop(lldb, process, program: str, timeout):
    """Run until an auditable stop, the timeout or the exit. Returns (why, timed_out)."""
    _configure_signals(lldb, process)
    deadline = time.monotonic() + timeout if timeout else None
    timed_out = False
    for _ in range(MAX_BENIGN_STOPS):
        done = _continue_in_background(process)
        try:
            while not done.wait(0.1):
                if deadline is not None and not timed_out and time.monotonic() > deadline:
                    timed_out = True
                    process.SendAsyncInterrupt()
        except KeyboardInterrupt:
            _stop_before_kill(process, done)
            raise
        state = process.GetState()
        if state == lldb.eStateExited:
            return "", timed_out
        if state not in (lldb.eStateStopped, lldb.eStateCrashed, lldb.eStateSuspended):
            raise CliError(f"{program}: LLDB lost the process (state "
                           f"{lldb.SBDebugger.StateAsCString(state)})")
        why = _auditable_stop(lldb, process)
        if why or timed_out:
            return why, timed_out
    raise CliError(f"{program}: kept stopping for no reason LLDB reports; gave up")


def _audit(args, dbg, program: str, why: str, timed_out: bool):
    """Audit every thread of the stopped program. Returns (document, exit status)."""
    name = os.path.basename(program)
    if timed_out and not why:
        why = f"interrupted after {args.timeout:g} s (--timeout)"
    elif timed_out:
        why += f" (after --timeout {args.timeout:g} s)"
    say(args, f"frameaudit: {name} stopped: {why}; auditing every thread")
    progress = Progress(progress_wanted(args.format, 1) and not args.quiet)
    target = core_api.make_lldb_target(dbg.target, dbg.process, None)

    def on_progress(done, total):
        progress.update(f"frameaudit: auditing {name}: thread {min(done + 1, total)}/{total}")

    try:
        report = core_api.analyze_all_threads(target, on_progress)
    except core_api.core_error_type() as e:  # type: ignore[misc]
        raise CliError(f"{program}: cannot analyse it: {getattr(e, 'message', e)}")
    finally:
        progress.clear()
    if args.format == "json":
        document = core_api.render_json(report)
    elif args.format == "sarif":
        document = core_api.render_sarif([report], min_level=sarif_settings(args)["min_level"])
    else:
        document = core_api.render_text(report, use_unicode(args.output),
                                        color_wanted(args, args.output),
                                        text_width(args, args.output))
    errors, warnings, _ = core_api.counts(report)
    return document, exit_codes.verdict(errors, warnings, args.fail_on)


def _stdin_path() -> str:
    """lldb-server opens a path for the program's stdin: ours by its /proc name
    when that can be opened again (file, pipe, terminal), else /dev/null."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return os.devnull
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return f"/proc/{os.getpid()}/fd/0"
    return os.devnull


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _exited(args, program: str, pid: int, status: int, detail: str) -> int:
    name = os.path.basename(program)
    if detail and "signal" in detail.lower():
        sentence = f"{name} was terminated ({detail}) without stopping in the debugger; nothing to audit"
    else:
        sentence = f"{name} exited normally with status {status}; it did not crash, nothing to audit"
    if args.format == "text":
        write_document(f"frameaudit: {sentence}\n", args.output)
        return exit_codes.OK
    say(args, f"frameaudit: {sentence}")
    report = core_api.empty_report(program, pid or None)
    document = core_api.render_json(report) if args.format == "json" else core_api.render_sarif([report])
    write_document(document, args.output, utf8=True)
    return exit_codes.OK

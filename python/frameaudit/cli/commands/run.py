"""`frameaudit run [--format F] [--fail-on S] [-o FILE] [--timeout S] -- PROGRAM [ARGS...]`

Launch PROGRAM under LLDB (in-process, synchronous) and wait:

- it stops on a core-dumping signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
  SIGABRT, SIGTRAP, SIGSYS, SIGQUIT, SIGXCPU, SIGXFSZ: exactly the signals
  that would have written a core), an exception or a sanitizer report:
  every thread is audited and the report printed;
- other signals go to the program untouched (it may handle them);
- --timeout: after that long the program is interrupted and audited where
  it is (a hung test); that is an error (exit 2), never a pass;
- it exits: that is said, with its status, and nothing is audited. JSON
  and SARIF still get a valid document (no threads, no results).

Exit status, as valgrind's: --error-exitcode N (default 1) when findings
reach --fail-on; else the program's own: its exit status, or 128+N when
signal N stopped it for the audit (a crash is never a pass) or ended it
(WATCHED_SIGNALS; LLDB reports other signal deaths as exit status N);
2 for usage errors and --timeout.

The program, and every process it started, is killed when frameaudit is
done, whatever ends it (run_guard.py says how, and what SIGKILL of
frameaudit itself leaves). Its stdout goes to frameaudit's stdout when no
JSON or SARIF document goes there, else to stderr; its stderr to stderr.
Both pass through pipes (no temporary files).
"""

import os
import re
import shutil
import signal
import stat
import sys
import threading
import time

from .. import core_api, exit_codes
from ..destinations import requested_outputs
from ..errors import CliError, InputError, UsageError
from ..inputs.executable import inspect_program
from ..lldb_module import load_lldb
from ..lldb_session import Debugger
from ..options import color_wanted, say, sarif_settings, symbol_settings, text_width
from ..output import StdoutGuard, use_unicode, write_document
from ..progress import Progress, progress_wanted
from ..run_guard import RunGuard
from ..signals import RUN_ENDING, ending_signals

CORE_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS",
                "SIGQUIT", "SIGXCPU", "SIGXFSZ")
# Left as LLDB has them: it needs SIGSTOP for interrupts, SIGKILL cannot be caught.
UNTOUCHED_SIGNALS = ("SIGSTOP", "SIGKILL")
# Signals that end a program that neither handles nor ignores them, and that
# programs seldom get often: `run` stops on them only to see whether they
# will end the program (then its status is 128+N, as a shell reports it;
# LLDB itself reports such an end as an exit with status N), and passes
# them on. Others (SIGALRM, SIGPROF, ...) pass without a stop.
WATCHED_SIGNALS = ("SIGHUP", "SIGINT", "SIGTERM", "SIGPIPE", "SIGUSR1", "SIGUSR2")
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


class _Pipe(threading.Thread):
    """A pipe the program writes to (lldb-server opens its write end by its
    /proc name); a thread copies what arrives to `dest_fd` until every
    writer has closed it."""

    def __init__(self, dest_fd: int):
        super().__init__(daemon=True)
        self.read_fd, self.write_fd = os.pipe()
        self.dest_fd = dest_fd
        self.path = f"/proc/{os.getpid()}/fd/{self.write_fd}"

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            try:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self.dest_fd, view):]
            except OSError:
                pass

    def launched(self) -> None:
        """The program holds its own end now: ours goes, so EOF comes when it ends."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def finish(self) -> None:
        self.launched()
        self.join(timeout=5)
        if not self.is_alive():
            os.close(self.read_fd)


def _configure_signals(lldb, process) -> None:
    signals = process.GetUnixSignals()
    if not signals.IsValid():
        return
    for i in range(signals.GetNumSignals()):
        number = signals.GetSignalAtIndex(i)
        name = signals.GetSignalAsCString(number) or ""
        if name in CORE_SIGNALS or name in WATCHED_SIGNALS:
            signals.SetShouldStop(number, True)
            signals.SetShouldNotify(number, True)
            signals.SetShouldSuppress(number, False)
        elif name not in UNTOUCHED_SIGNALS:
            signals.SetShouldStop(number, False)
            signals.SetShouldNotify(number, False)
            signals.SetShouldSuppress(number, False)


def _watched_signal(lldb, process) -> int:
    """The WATCHED_SIGNALS number the program is stopped on, or 0."""
    for i in range(process.GetNumThreads()):
        thread = process.GetThreadAtIndex(i)
        if (thread and thread.IsValid() and thread.GetStopReason() == lldb.eStopReasonSignal
                and thread.GetStopReasonDataCount() > 0):
            number = int(thread.GetStopReasonDataAtIndex(0))
            name = process.GetUnixSignals().GetSignalAsCString(number) or ""
            if name in WATCHED_SIGNALS:
                return number
    return 0


def _kills(pid: int, number: int) -> bool:
    """Will signal `number` end process `pid`: neither caught nor ignored (/proc status)?"""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        caught = int(fields["SigCgt"].strip(), 16) | int(fields["SigIgn"].strip(), 16)
    except (OSError, KeyError, ValueError):
        return False
    return not caught & (1 << (number - 1))


def _auditable_stop(lldb, process):
    """Why the process stopped, if that is worth an audit, else "", and the
    signal number of that stop (SIGTRAP for a breakpoint or watchpoint, 0 if none)."""
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
            reason = thread.GetStopReason()
            signo = 0
            if reason == lldb.eStopReasonSignal and thread.GetStopReasonDataCount() > 0:
                signo = int(thread.GetStopReasonDataAtIndex(0))
            elif reason in (lldb.eStopReasonBreakpoint, lldb.eStopReasonWatchpoint):
                signo = int(signal.SIGTRAP)
            return " ".join((thread.GetStopDescription(256) or "stopped").split()), signo
    return "", 0


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
    outputs = requested_outputs(args)
    symbols = symbol_settings(args)
    program = _resolve_program(argv[0])
    lldb = load_lldb(layout)
    core_api.import_core()

    environment = [f"{k}={v}" for k, v in os.environ.items()
                   if k not in ("LLDB_DEBUGSERVER_PATH", "FRAMEAUDIT_LLDB_PYTHON")]
    with ending_signals(RUN_ENDING):
        guard = RunGuard()
        try:
            return _run(args, lldb, program, argv, environment, outputs, symbols, guard)
        finally:
            guard.close()


def _run(args, lldb, program, argv, environment, outputs, symbols, run_guard) -> int:
    stdout_document = any(o.name is None and o.format != "text" for o in outputs)
    with StdoutGuard() as guard, Debugger(lldb, symbols) as dbg:
        pipes = [_Pipe(2 if stdout_document else guard.saved), _Pipe(2)]
        stdio = {0: (_stdin_path(), True, False), 1: (pipes[0].path, False, True),
                 2: (pipes[1].path, False, True)}
        for p in pipes:
            p.start()
        try:
            dbg.launch(program, argv[1:], stdio, environment, stop_at_entry=True)
            run_guard.watch_launched(dbg.process.GetProcessID())
            for p in pipes:
                p.launched()
            why, signo, timed_out, fatal = _wait_for_stop(lldb, dbg.process, program, args.timeout)
            if args.verbose:
                for line in dbg.applied + dbg.module_lines():
                    sys.stderr.write(f"frameaudit: {line}\n")
            if dbg.process.GetState() == lldb.eStateExited:
                status = dbg.process.GetExitStatus()
                detail = dbg.process.GetExitDescription() or ""
                if fatal and status == fatal and not _signal_in(detail):
                    detail = f"signal {fatal}, {signal.Signals(fatal).name}, not handled"
                pid = dbg.process.GetProcessID() or None
                documents, code = None, None
            else:
                documents, code = _audit(args, dbg, program, why, signo, timed_out, outputs)
        finally:
            # The program and its children are gone before anything is
            # printed, and before the pipes wait for their last writer.
            dbg.close()
            run_guard.sweep()
            for p in pipes:
                p.finish()
        guard.restore()
        if documents is None:
            return _exited(args, program, pid, status, detail, outputs)
        return _write_all(outputs, documents, code)


def _write_all(outputs, documents, code: int) -> int:
    failed = False
    for out, document in zip(outputs, documents):
        try:
            write_document(document, out.name, utf8=out.format != "text")
        except CliError as e:
            sys.stderr.write(e.line + "\n")
            failed = True
    return exit_codes.ERROR if failed else code


def _wait_for_stop(lldb, process, program: str, timeout):
    """Run until an auditable stop, the timeout or the exit. Returns (why,
    signal number of the stop or 0, timed_out, the signal that will have
    ended the program if it exits now, or 0)."""
    _configure_signals(lldb, process)
    deadline = time.monotonic() + timeout if timeout else None
    timed_out = False
    fatal = 0
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
            return "", 0, timed_out, fatal
        if state not in (lldb.eStateStopped, lldb.eStateCrashed, lldb.eStateSuspended):
            raise CliError(f"{program}: LLDB lost the process (state "
                           f"{lldb.SBDebugger.StateAsCString(state)})")
        watched = _watched_signal(lldb, process)
        if watched and not timed_out:
            fatal = watched if _kills(process.GetProcessID(), watched) else fatal
            continue  # Continue() delivers it
        why, signo = _auditable_stop(lldb, process)
        if why or timed_out:
            return why, signo, timed_out, fatal
    raise CliError(f"{program}: kept stopping for no reason LLDB reports; gave up")


def _render(args, report, outputs):
    documents = []
    for out in outputs:
        if out.format == "json":
            documents.append(core_api.render_json(report))
        elif out.format == "sarif":
            documents.append(core_api.render_sarif([report],
                                                   min_level=sarif_settings(args)["min_level"]))
        else:
            documents.append(core_api.render_text(report, use_unicode(out.name),
                                                  color_wanted(args, out.name),
                                                  text_width(args, out.name)))
    return documents


def _audit(args, dbg, program: str, why: str, signo: int, timed_out: bool, outputs):
    """Audit every thread of the stopped program. Returns (documents, exit status)."""
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
        report = core_api.analyze_all_threads(target, on_progress,
                                              symbol_settings(args).get("debug_dirs", ()))
    except core_api.core_error_type() as e:  # type: ignore[misc]
        raise CliError(f"{program}: cannot analyse it: {getattr(e, 'message', e)}")
    finally:
        progress.clear()
    documents = _render(args, report, outputs)
    errors, warnings, _ = core_api.counts(report)
    if timed_out:
        sys.stderr.write(f"frameaudit: {name} did not finish within {args.timeout:g} s "
                         "(--timeout); audited where it was; exit status 2\n")
        return documents, exit_codes.ERROR
    if exit_codes.verdict(errors, warnings, args.fail_on) == exit_codes.FINDINGS:
        return documents, args.error_exitcode
    # No findings that fail the run: the program's own fate is the status.
    return documents, 128 + signo if signo else exit_codes.FINDINGS


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


def _exited(args, program: str, pid: int, status: int, detail: str, outputs) -> int:
    name = os.path.basename(program)
    signo = _signal_in(detail)
    if signo:
        sentence = f"{name} was terminated ({detail}) without stopping in the debugger; nothing to audit"
        code = 128 + signo
    else:
        sentence = f"{name} exited normally with status {status}; it did not crash, nothing to audit"
        code = status & 0xFF
    documents = []
    report = None
    for out in outputs:
        if out.format == "text":
            documents.append(f"frameaudit: {sentence}\n")
            continue
        if report is None:
            report = core_api.empty_report(program, pid or None)
        documents.append(core_api.render_json(report) if out.format == "json"
                         else core_api.render_sarif([report]))
    if not any(o.name is None and o.format == "text" for o in outputs):
        say(args, f"frameaudit: {sentence}")
    return _write_all(outputs, documents, code)


def _signal_in(detail: str) -> int:
    """The signal number in LLDB's exit description ("signal 9", "SIGKILL"), or 0."""
    if not detail or "signal" not in detail.lower() and "SIG" not in detail:
        return 0
    m = re.search(r"signal\s+(\d+)", detail, re.IGNORECASE)
    if m:
        return int(m.group(1))
    m = re.search(r"\b(SIG[A-Z0-9]+)\b", detail)
    if m and hasattr(signal, m.group(1)):
        return int(getattr(signal, m.group(1)))
    return 0

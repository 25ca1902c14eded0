"""`frameaudit analyze [--exe EXE] [--format F] [-o FILE] [--output-FORMAT FILE]... [-j N] CORE...`

1. Every core is opened (inputs/spool.py: a compressed core or `-` becomes
   a private temporary file), checked before LLDB sees it
   (inputs/core_file.py) and paired with its executable
   (inputs/executable.py). A bad input gets its line on stderr and the exit
   status 2, and the other cores are still analysed.
2. Each core is analysed in its own worker process (workers.py), N at a
   time, each under a watchdog; every worker renders every requested format.
3. Each output gets one document per core, in input order: text reports one
   after another, a JSON array for several JSON documents, one SARIF log with
   a run per core. A core that failed (a bad input, LLDB cannot load it or
   crashed, the timeout) is named in text, is left out of JSON and is a run
   with no results and an error notification in SARIF; its line goes to
   stderr and the exit status is 2. Nothing is written when no core could be
   analysed.
"""

import os
import sys
from dataclasses import dataclass
from typing import List, Optional

from .. import exit_codes
from ..core_api import failed_sarif_run, join_json, join_sarif
from ..destinations import requested_outputs
from ..errors import CliError, InputError, UsageError
from ..inputs.core_file import inspect_core
from ..inputs.executable import resolve_executable
from ..inputs.spool import STDIN, Spools
from ..lldb_module import load_lldb
from ..main import debug_enabled
from ..options import color_wanted, sarif_settings, symbol_settings, text_width
from ..output import use_unicode, write_document
from ..progress import Progress, progress_wanted
from ..signals import ending_signals
from ..workers import CoreJob, JobResult, default_timeout, run_core_jobs


@dataclass
class _Core:
    name: str                            # as given on the command line
    job: Optional[CoreJob] = None        # None: refused before analysis
    threads: int = 0
    error: Optional[str] = None          # the line for stderr (without "frameaudit: ")
    result: Optional[JobResult] = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def _prepare(name: str, exe: Optional[str], spools: Spools, symbols: dict) -> _Core:
    try:
        given = spools.open(name)
        try:
            core = inspect_core(given.path)
        except InputError as e:
            raise InputError(name, e.problem) if given.path != name else e
        core.path = name
        # The report names a spooled core as LLDB names a plain one: by its full path.
        shown = name if name == STDIN else os.path.abspath(name)
        program = resolve_executable(core, exe, symbols.get("sysroot"),
                                     symbols.get("solib_search_paths", ()))
        return _Core(name, CoreJob(given.path, program, shown, given.fds), core.threads)
    except InputError as e:
        return _Core(name, error=e.message)


def _text_documents(cores: List[_Core], index: int) -> str:
    several = len(cores) > 1
    parts = []
    for i, c in enumerate(cores):
        if several:
            parts.append(f"== {c.name} ({i + 1}/{len(cores)}) ==\n\n")
        if c.ok:
            parts.append(c.result.documents[index])
        elif several:
            parts.append(f"not analysed: {c.error}\n")
        if several and not parts[-1].endswith("\n\n"):
            parts.append("\n")
    return "".join(parts)


def _document(fmt: str, cores: List[_Core], index: int, exe: Optional[str], sarif_runs: str) -> str:
    if fmt == "json":
        documents = [c.result.documents[index] for c in cores if c.ok]
        return documents[0] if len(cores) == 1 else join_json(documents)
    if fmt == "sarif":
        logs = [c.result.documents[index] if c.ok else
                failed_sarif_run(c.name, c.job.exe if c.job else exe, f"frameaudit: {c.error}")
                for c in cores]
        return join_sarif(logs, sarif_runs)
    if fmt == "html":
        return next(c.result.documents[index] for c in cores if c.ok)
    return _text_documents(cores, index)


def analyze_command(args, layout) -> int:
    outputs = requested_outputs(args)
    if any(out.format == "html" for out in outputs) and len(args.cores) > 1:
        raise UsageError("frameaudit analyze: error: --output-html writes the report of one core; give one CORE")
    if args.cores.count(STDIN) > 1:
        raise UsageError("frameaudit analyze: error: '-' (a core on stdin) can be given only once")
    symbols = symbol_settings(args)
    with Spools() as spools:
        cores = [_prepare(name, args.exe, spools, symbols) for name in args.cores]
        jobs = [c for c in cores if c.job is not None]
        if not jobs:
            for c in cores[:-1]:
                sys.stderr.write(f"frameaudit: {c.error}\n")
            raise CliError(cores[-1].error)
        _analyze(args, layout, jobs, outputs, symbols)

    for c in cores:
        if c.ok:
            continue
        r = c.result
        if r is not None:
            if debug_enabled() and r.log:
                sys.stderr.write(r.log if r.log.endswith("\n") else r.log + "\n")
            hint = " (set FRAMEAUDIT_DEBUG=1 for details)" if r.internal and not debug_enabled() else ""
            c.error = f"{r.error}{hint}"
        sys.stderr.write(f"frameaudit: {c.error}\n")
    if debug_enabled():
        for c in cores:
            if c.ok and c.result.log.strip():
                sys.stderr.write(c.result.log)
    if args.verbose:
        for c in cores:
            for line in c.result.notes if c.result else ():
                sys.stderr.write(f"frameaudit: {line}\n")

    good = [c for c in cores if c.ok]
    write_failed = False
    if good:
        for index, out in enumerate(outputs):
            text = _document(out.format, cores, index, args.exe, args.sarif_runs)
            try:
                write_document(text, out.name, utf8=out.format != "text")
            except CliError as e:
                sys.stderr.write(e.line + "\n")
                write_failed = True
    if write_failed or len(good) < len(cores):
        return exit_codes.ERROR
    errors = sum(c.result.counts[0] for c in good)
    warnings = sum(c.result.counts[1] for c in good)
    return exit_codes.verdict(errors, warnings, args.fail_on)


def _analyze(args, layout, jobs: List[_Core], outputs, symbols: dict) -> None:
    """Run the workers; each core gets its JobResult."""
    # Fail once, here, if LLDB's Python module is missing (not once per core);
    # this also finds lldb-server for the workers (LLDB_DEBUGSERVER_PATH).
    load_lldb(layout)
    with ending_signals():  # again: importing lldb puts Python's own SIGINT handler back
        _run_workers(args, layout, jobs, outputs, symbols)


def _run_workers(args, layout, jobs: List[_Core], outputs, symbols: dict) -> None:
    formats = {out.format for out in outputs}
    progress = Progress(progress_wanted("text" if "text" in formats else args.format, len(jobs))
                        and not args.quiet)
    names = [c.name for c in jobs]
    threads = [c.threads for c in jobs]

    def on_progress(done, total, per_core):
        text = (f"frameaudit: analysing {names[0]}" if total == 1
                else f"frameaudit: {done}/{total} cores analysed")
        if per_core:
            index, (tdone, ttotal) = min(per_core.items())
            ttotal = ttotal or threads[index]
            where = "" if total == 1 else f"; {names[index]}"
            text += f"{where}: thread {min(tdone + 1, ttotal)}/{ttotal}"
        progress.update(text, force=done == total)

    renders = [{"format": out.format, "unicode": use_unicode(out.name),
                "color": out.format == "text" and color_wanted(args, out.name),
                "width": text_width(args, out.name)} for out in outputs]
    options = {"renders": renders, "symbols": symbols, "sarif": sarif_settings(args),
               "verbose": args.verbose}
    timeout = args.timeout or default_timeout()
    try:
        results = run_core_jobs([c.job for c in jobs], args.jobs, timeout, options,
                                layout, on_progress)
    finally:
        progress.clear()
    for c, r in zip(jobs, results):
        c.result = r

"""`frameaudit analyze [--exe EXE] [--format F] [-o FILE] [--output-FORMAT FILE]... [-j N] CORE...`

1. Every core is opened (inputs/spool.py: a compressed core or `-` becomes
   a private temporary file), checked before LLDB sees it
   (inputs/core_file.py) and paired with its executable
   (inputs/executable.py). A bad input gets its line on stderr and the exit
   status 2, and the other cores are still analysed.
2. Each core is analysed in its own worker process (workers.py), N at a
   time, each under a watchdog; every worker renders every requested format
   and writes it itself (core_worker.py): the documents never come back to
   this process.
   - One core: each document goes straight to its output (stdout, a
     descriptor, a device), or to the temporary file beside the file it
     replaces, renamed into place here once the worker succeeded.
   - Several cores: each worker writes its part of each output (the JSON
     document indented as an array element, its SARIF log, its text report)
     to a private temporary file; here the parts are joined in input order,
     copied by the kernel, never parsed (except SARIF runs merged per
     executable, which the core's merge_sarif does).
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
from ..destinations import Writer, requested_outputs, resolve
from ..errors import CliError, EnvironmentProblem, InputError, UsageError
from ..inputs.core_file import inspect_core
from ..inputs.executable import resolve_executable
from ..inputs.spool import STDIN, Spools
from ..lldb_module import find_lldb
from ..main import debug_enabled
from ..options import color_wanted, sarif_settings, symbol_settings, text_width
from ..output import document_encoding, use_unicode
from ..progress import Progress, progress_wanted
from ..workers import CoreJob, JobResult, default_timeout, run_core_jobs


@dataclass
class _Core:
    name: str                            # as given on the command line
    job: Optional[CoreJob] = None        # None: refused before analysis
    threads: int = 0
    error: Optional[str] = None          # the line for stderr (without "frameaudit: ")
    result: Optional[JobResult] = None
    part: Optional[object] = None        # several cores: the file holding this core's parts

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


class _Outputs:
    """Where the workers write, and what is left to do once they are done.

    One core: a Writer per output, opened now for a file that is replaced (the
    worker fills its temporary file, commit() renames it); stdout and other
    descriptors are the worker's to write, devices and FIFOs its to open.
    Several cores: one unlinked temporary file per core, holding that core's
    part of every output, one after another; join() assembles each output.
    """

    def __init__(self, outputs, cores: List[_Core]):
        self.outputs = outputs
        self.cores = cores
        self.single = len(cores) == 1
        self.writers: List[Optional[Writer]] = []
        if self.single:
            self._prepare_single()
        else:
            self._prepare_parts()

    def _prepare_single(self) -> None:
        sinks = []
        for out in self.outputs:
            dest = resolve(out.name)
            writer = None
            if dest.kind == "replace":
                writer = Writer(dest)
                sinks.append({"kind": "fd", "fd": writer.fd, "name": dest.name})
            elif dest.kind == "fd":
                sinks.append({"kind": "fd", "fd": dest.fd,
                              "name": "stdout" if dest.is_stdout else dest.name})
            else:
                sinks.append({"kind": "open", "path": dest.path, "name": dest.name})
            self.writers.append(writer)
        self.cores[0].job.sinks = sinks

    def _prepare_parts(self) -> None:
        import tempfile
        jobs = [c for c in self.cores if c.job is not None]
        _allow_descriptors(len(jobs) + 64)
        where = tempfile.gettempdir()
        for c in jobs:
            try:
                c.part = tempfile.TemporaryFile(prefix="frameaudit-part-", buffering=0)
            except OSError as e:
                raise CliError(f"cannot make a temporary file in {where} for the parts of the "
                               f"outputs: {e.strerror or e} (set TMPDIR to a writable directory)")
            c.job.sinks = [{"kind": "fd", "fd": c.part.fileno(), "part": True,
                            "name": f"{where} (the part of {out.name or 'stdout'} for {c.name})"}
                           for out in self.outputs]

    def close(self) -> None:
        for w in self.writers:
            if w is not None:
                w.abort()
        for c in self.cores:
            if c.part is not None:
                c.part.close()
                c.part = None

    # --- one core: the worker wrote everything ---------------------------

    def finish_single(self) -> bool:
        """Commit what the worker wrote; True if an output failed (its line
        printed). A broken pipe on stdout ends the command (BrokenPipeError)."""
        core = self.cores[0]
        failed = False
        if not core.ok:
            return failed
        statuses = core.result.outputs
        for index, writer in enumerate(self.writers):
            status = statuses[index] if index < len(statuses) else {"error": None}
            if status.get("broken_pipe"):
                raise BrokenPipeError()  # the reader went away: main() ends quietly
            if status.get("error"):
                sys.stderr.write(status["error"] + "\n")
                failed = True
                continue
            if writer is not None:
                try:
                    writer.commit()
                except CliError as e:
                    sys.stderr.write(e.line + "\n")
                    failed = True
            self.writers[index] = None
        return failed

    # --- several cores: join the parts ------------------------------------

    def join(self, exe: Optional[str], sarif_runs: str) -> bool:
        failed = False
        for index, out in enumerate(self.outputs):
            pieces = self._pieces(out, index, exe, sarif_runs)
            writer = None
            try:
                writer = Writer(resolve(out.name))
                for piece in pieces:
                    if isinstance(piece, tuple):
                        writer.copy(*piece)
                    else:
                        writer.write(piece)
                writer.commit()
            except CliError as e:
                sys.stderr.write(e.line + "\n")
                failed = True
            finally:
                if writer is not None:
                    writer.abort()
        return failed

    def _part(self, core: _Core, index: int) -> tuple:
        """(fd, offset, size) of a core's part of output `index`."""
        start, end = core.result.outputs[index]["part"]
        return core.part.fileno(), start, end - start

    def _pieces(self, out, index: int, exe: Optional[str], sarif_runs: str) -> list:
        """Output `index` as pieces: bytes, or (fd, offset, count) of a part."""
        cores = self.cores
        if out.format == "json":
            pieces: list = [b"[\n"]
            for c in (c for c in cores if c.ok):
                if len(pieces) > 1:
                    pieces.append(b",\n")
                pieces.append(self._part(c, index))
            return pieces + [b"\n]\n"]
        if out.format == "sarif":
            return self._sarif_pieces(index, exe, sarif_runs)
        encoding = document_encoding(out.name)
        pieces = []
        for i, c in enumerate(cores):
            pieces.append(f"== {c.name} ({i + 1}/{len(cores)}) ==\n\n".encode(encoding, "replace"))
            if c.ok:
                pieces.append(self._part(c, index))
                if not c.result.outputs[index].get("ends_blank"):
                    pieces.append(b"\n")
            else:
                pieces.append(f"not analysed: {c.error}\n\n".encode(encoding, "replace"))
        return pieces

    def _sarif_pieces(self, index: int, exe: Optional[str], sarif_runs: str) -> list:
        from ..core_api import failed_sarif_run, join_sarif, sarif_join_parts, sarif_layout
        sources, layouts = [], []
        for c in self.cores:
            if c.ok:
                fd, start, size = self._part(c, index)
                layout = c.result.outputs[index].get("sarif")
                sources.append((fd, start, size))
            else:
                text = failed_sarif_run(c.name, c.job.exe if c.job else exe, f"frameaudit: {c.error}")
                data = join_sarif([text], "per-core").encode()  # as the core prints it
                layout = sarif_layout(data)
                sources.append(data)
            layouts.append(layout)
        plan = sarif_join_parts(layouts, sarif_runs)
        if plan is None:
            # Runs merged per executable: the core merges the logs (parsing them).
            logs = [os.pread(s[0], s[2], s[1]).decode() if isinstance(s, tuple) else s.decode()
                    for s in sources]
            return [join_sarif(logs, sarif_runs).encode()]
        pieces = []
        for piece in plan:
            if not isinstance(piece, tuple):
                pieces.append(piece)
                continue
            log, start, end = piece
            source = sources[log]
            if isinstance(source, tuple):
                pieces.append((source[0], source[1] + start, end - start))
            else:
                pieces.append(source[start:end])
        return pieces


def _allow_descriptors(needed: int) -> None:
    """Raise the soft limit on open files if `needed` may not fit under it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard == resource.RLIM_INFINITY
                                                        else min(hard, max(needed, soft)), hard))
        except (ValueError, OSError):
            pass


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
        # Fail once, here, if LLDB's Python module is missing (not once per
        # core), without importing it: the workers do.
        find_lldb(layout)
        plan = _Outputs(outputs, cores)
        try:
            _run_workers(args, layout, jobs, outputs, symbols, plan.single)
            return _report(args, cores, plan)
        finally:
            plan.close()


def _report(args, cores: List[_Core], plan: _Outputs) -> int:
    """Say what failed, finish the outputs, and return the exit status."""
    for c in cores:
        if c.result is not None and c.result.environment:
            raise EnvironmentProblem(c.result.error)
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
        write_failed = plan.finish_single() if plan.single else plan.join(args.exe, args.sarif_runs)
    if write_failed or len(good) < len(cores):
        return exit_codes.ERROR
    errors = sum(c.result.counts[0] for c in good)
    warnings = sum(c.result.counts[1] for c in good)
    return exit_codes.verdict(errors, warnings, args.fail_on)


def _run_workers(args, layout, jobs: List[_Core], outputs, symbols: dict, single: bool) -> None:
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

    def on_rendered(_index):
        # The worker writes to our outputs now (a terminal, perhaps): the
        # status line goes first, and stays away.
        progress.clear()
        progress.enabled = False

    renders = [{"format": out.format, "unicode": use_unicode(out.name),
                "color": out.format == "text" and color_wanted(args, out.name),
                "width": text_width(args, out.name),
                "encoding": document_encoding(out.name, utf8=out.format != "text"),
                "part": not single} for out in outputs]
    options = {"renders": renders, "symbols": symbols, "sarif": sarif_settings(args),
               "verbose": args.verbose}
    timeout = args.timeout or default_timeout()
    try:
        results = run_core_jobs([c.job for c in jobs], args.jobs, timeout, options,
                                layout, on_progress, on_rendered if single else None,
                                keep_logs=debug_enabled())
    finally:
        progress.clear()
    for c, r in zip(jobs, results):
        c.result = r

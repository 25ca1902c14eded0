"""`frameaudit analyze [--exe EXE] [--format F] [-o FILE] [--fail-on S] [-j N] CORE...`

1. Every core is checked before LLDB sees it (inputs/core_file.py) and
   paired with its executable (inputs/executable.py); any bad input means
   one line per bad file on stderr and exit 2, nothing analysed.
2. Each core is analysed in its own worker process (workers.py), N at a
   time, each under a watchdog.
3. One document per core, in input order: text reports one after another,
   a JSON array for several JSON documents, one SARIF log with a run per core.
   A core that fails (LLDB cannot load it, timeout) is left out, its line
   goes to stderr and the exit status is 2.
"""

import sys

from .. import exit_codes
from ..core_api import join_json, join_sarif
from ..errors import InputError
from ..inputs.core_file import inspect_core
from ..inputs.executable import resolve_executable
from ..lldb_module import load_lldb
from ..main import debug_enabled
from ..options import color_wanted, sarif_settings, symbol_settings, text_width
from ..output import check_output_path, use_unicode, write_document
from ..progress import Progress, progress_wanted
from ..workers import CoreJob, default_timeout, run_core_jobs


def _validate(paths, exe, symbols=None):
    symbols = symbols or {}
    jobs, problems = [], []
    for path in paths:
        try:
            core = inspect_core(path)
            program = resolve_executable(core, exe, symbols.get("sysroot"),
                                         symbols.get("solib_search_paths", ()))
            jobs.append((CoreJob(core.path, program), core))
        except InputError as e:
            problems.append(e)
    return jobs, problems


def _text_documents(paths, results) -> str:
    several = len(paths) > 1
    parts = []
    for i, (path, result) in enumerate(zip(paths, results)):
        if not result.ok:
            continue
        if several:
            parts.append(f"== {path} ({i + 1}/{len(paths)}) ==\n\n")
        parts.append(result.document)
        if several and not result.document.endswith("\n\n"):
            parts.append("\n")
    return "".join(parts)


def analyze_command(args, layout) -> int:
    check_output_path(args.output)
    symbols = symbol_settings(args)
    validated, problems = _validate(args.cores, args.exe, symbols)
    if problems:
        for p in problems[:-1]:
            sys.stderr.write(p.line + "\n")
        raise problems[-1]

    # Fail once, here, if LLDB's Python module is missing (not once per core);
    # this also finds lldb-server for the workers (LLDB_DEBUGSERVER_PATH).
    load_lldb(layout)
    progress = Progress(progress_wanted(args.format, len(validated)) and not args.quiet)
    names = [core.path for _, core in validated]
    threads = [core.threads for _, core in validated]

    def on_progress(done, total, per_core):
        text = (f"frameaudit: analysing {names[0]}" if total == 1
                else f"frameaudit: {done}/{total} cores analysed")
        if per_core:
            index, (tdone, ttotal) = min(per_core.items())
            ttotal = ttotal or threads[index]
            where = "" if total == 1 else f"; {names[index]}"
            text += f"{where}: thread {min(tdone + 1, ttotal)}/{ttotal}"
        progress.update(text, force=done == total)

    options = {"format": args.format,
               "unicode": use_unicode(args.output),
               "color": args.format == "text" and color_wanted(args, args.output),
               "width": text_width(args, args.output),
               "symbols": symbols,
               "sarif": sarif_settings(args),
               "verbose": args.verbose}
    timeout = args.timeout or default_timeout()
    try:
        results = run_core_jobs([job for job, _ in validated], args.jobs, timeout, options, layout,
                                on_progress)
    finally:
        progress.clear()

    failed = [r for r in results if not r.ok]
    for r in failed:
        if debug_enabled() and r.log:
            sys.stderr.write(r.log if r.log.endswith("\n") else r.log + "\n")
        hint = " (set FRAMEAUDIT_DEBUG=1 for details)" if r.internal and not debug_enabled() else ""
        sys.stderr.write(f"frameaudit: {r.error}{hint}\n")
    if debug_enabled():
        for r in results:
            if r.ok and r.log.strip():
                sys.stderr.write(r.log)
    if args.verbose:
        for r in results:
            for line in r.notes:
                sys.stderr.write(f"frameaudit: {line}\n")
    good = [r for r in results if r.ok]
    if good:
        documents = [r.document for r in good]
        if args.format == "json":
            text = documents[0] if len(args.cores) == 1 else join_json(documents)
        elif args.format == "sarif":
            text = join_sarif(documents, args.sarif_runs)
        else:
            text = _text_documents(names, results)
        write_document(text, args.output, utf8=args.format != "text")
    if failed:
        return exit_codes.ERROR
    errors = sum(r.counts[0] for r in good)
    warnings = sum(r.counts[1] for r in good)
    return exit_codes.verdict(errors, warnings, args.fail_on)


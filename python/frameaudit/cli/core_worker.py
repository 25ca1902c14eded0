"""One core, analysed in its own process (started by workers.py).

Each core gets a fresh process with its own LLDB, so cores run in parallel
(-j N), a hung or crashing LLDB takes down only its own core, and the
watchdog can always kill it. The job arrives as JSON in argv[1]; the result
goes back as one JSON object on the original stdout:

    {"ok": true, "documents": ["...", ...], "counts": [errors, warnings, notes],
     "notes": ["line for -v", ...]}
    {"ok": false, "error": "one sentence", "internal": false}

(one document per entry of job["renders"]). Progress goes to stderr as
lines "\\x1eprogress DONE TOTAL", and "\\x1eloaded" once LLDB holds the core
(so a crash can be told apart: loading or analysing); anything else on
stderr (LLDB's own messages) is kept by the parent for FRAMEAUDIT_DEBUG and
for the log of a crash.

The worker dies with the CLI (PR_SET_PDEATHSIG), even when the CLI is
killed by SIGKILL and has no chance to end it.
"""

import json
import os
import sys
import traceback

PROGRESS_PREFIX = "\x1eprogress "
LOADED_MARK = "\x1eloaded"
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _analyze(job: dict) -> dict:
    from . import core_api
    from .errors import CliError
    from .layout import Layout
    from .lldb_module import load_lldb
    from .lldb_session import Debugger

    layout = Layout(**job["layout"])
    name = job.get("name") or job["core"]
    lldb = load_lldb(layout)
    core_error = core_api.core_error_type()

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"{PROGRESS_PREFIX}{done} {total}\n")
        sys.stderr.flush()

    try:
        symbols = job.get("symbols") or {}
        with Debugger(lldb, symbols) as dbg:
            dbg.load_core(job["core"], job["exe"])
            sys.stderr.write(LOADED_MARK + "\n")
            sys.stderr.flush()
            notes = [f"{name}: {line}" for line in
                     dbg.applied + dbg.module_lines()] if job.get("verbose") else []
            target = core_api.make_lldb_target(dbg.target, dbg.process, name,
                                               core_name=name if name != job["core"] else None)
            try:
                report = core_api.analyze_all_threads(target, progress,
                                                      symbols.get("debug_dirs", ()))
            except core_error as e:  # type: ignore[misc]
                raise CliError(f"{name}: cannot analyse it: {getattr(e, 'message', e)}")
            documents = []
            for r in job["renders"]:
                if r["format"] == "json":
                    documents.append(core_api.render_json(report))
                elif r["format"] == "sarif":
                    sarif = job.get("sarif") or {}
                    documents.append(core_api.render_sarif(
                        [report], min_level=sarif.get("min_level", "note")))
                elif r["format"] == "html":
                    documents.append(core_api.import_core().render_html(report))
                else:
                    documents.append(core_api.render_text(report, r["unicode"], r["color"],
                                                          r.get("width", 120)))
            return {"ok": True, "documents": documents, "counts": list(core_api.counts(report)),
                    "notes": notes}
    except CliError as e:
        # LLDB names the file it was given: a spooled core's /proc/self/fd/N.
        return {"ok": False, "error": e.message.replace(job["core"], name)}


def worker_main() -> None:
    """Entry point of the worker process; never returns."""
    out = os.dup(1)
    os.dup2(2, 1)  # LLDB's own output must not mix with the result
    try:
        job = json.loads(sys.argv[1])
        _die_with_parent(job["parent"])
        import faulthandler
        faulthandler.enable()  # a crash in LLDB leaves the Python stack in the log
        result = _analyze(job)
    except BaseException as e:  # noqa: BLE001 - report everything to the parent
        detail = " ".join(str(e).split()) or type(e).__name__
        result = {"ok": False, "internal": True, "error": f"{type(e).__name__}: {detail}",
                  "traceback": traceback.format_exc()}
    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        written = os.write(out, view)
        view = view[written:]
    os.close(out)
    sys.stderr.flush()
    # Skip interpreter teardown: LLDB's threads can hang it.
    os._exit(0)

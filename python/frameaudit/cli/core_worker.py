"""One core, analysed in its own process (started by workers.py).

Each core gets a fresh process with its own LLDB, so cores run in parallel
(-j N), a hung or crashing LLDB takes down only its own core, and the
watchdog can always kill it. The job arrives as JSON in argv[1]; the result
goes back as one JSON object on the original stdout:

    {"ok": true, "document": "...", "counts": [errors, warnings, notes],
     "notes": ["line for -v", ...]}
    {"ok": false, "error": "one sentence", "internal": false}

Progress goes to stderr as lines "\\x1eprogress DONE TOTAL"; anything else
on stderr (LLDB's own messages) is kept by the parent for FRAMEAUDIT_DEBUG.
"""

import json
import os
import sys
import traceback

PROGRESS_PREFIX = "\x1eprogress "


def _analyze(job: dict) -> dict:
    from . import core_api
    from .errors import CliError
    from .layout import Layout
    from .lldb_module import load_lldb
    from .lldb_session import Debugger

    layout = Layout(**job["layout"])
    lldb = load_lldb(layout)
    core_error = core_api.core_error_type()

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"{PROGRESS_PREFIX}{done} {total}\n")
        sys.stderr.flush()

    try:
        with Debugger(lldb, job.get("symbols")) as dbg:
            dbg.load_core(job["core"], job["exe"])
            notes = [f"{job['core']}: {line}" for line in
                     dbg.applied + dbg.module_lines()] if job.get("verbose") else []
            target = core_api.make_lldb_target(dbg.target, dbg.process, job["core"])
            try:
                report = core_api.analyze_all_threads(target, progress)
            except core_error as e:  # type: ignore[misc]
                raise CliError(f"{job['core']}: cannot analyse it: {getattr(e, 'message', e)}")
            fmt = job["format"]
            if fmt == "json":
                document = core_api.render_json(report)
            elif fmt == "sarif":
                sarif = job.get("sarif") or {}
                document = core_api.render_sarif([report], min_level=sarif.get("min_level", "note"))
            else:
                document = core_api.render_text(report, job["unicode"], job["color"],
                                                job.get("width", 120))
            return {"ok": True, "document": document, "counts": list(core_api.counts(report)),
                    "notes": notes}
    except CliError as e:
        return {"ok": False, "error": e.message}


def worker_main() -> None:
    """Entry point of the worker process; never returns."""
    out = os.dup(1)
    os.dup2(2, 1)  # LLDB's own output must not mix with the result
    try:
        job = json.loads(sys.argv[1])
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

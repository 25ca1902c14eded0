"""One core, analysed in its own process (forked by workers.py).

Each core gets a process of its own with its own LLDB, so cores run in
parallel (-j N), a hung or crashing LLDB takes down only its own core, and
the watchdog can always kill it. The process is a fork of the CLI made
before LLDB is imported anywhere: no second interpreter starts, nothing is
imported twice, and the job is a dict, not a command line.

The worker writes its documents itself, each to the sink the parent
prepared for it (job["sinks"], one per entry of job["renders"]):

    {"kind": "fd", "fd": N, "name": "..."}     an open descriptor: stdout, a
                                                /dev/fd/N, the temporary file
                                                of an output that replaces a
                                                file, or (several cores) the
                                                private file of this core's part
    {"kind": "open", "path": P, "name": "..."}  opened here, as it is (a FIFO,
                                                /dev/null, a terminal)

For several cores (render["part"]) it writes the part of the joined
document that is its own: a JSON document already indented as an element
of the array, its SARIF log with where its run and the run's category are
in it, its text report; the parent joins the parts without parsing them.
Only a small status record goes back, as one JSON object on the status
pipe:

    {"ok": true, "counts": [errors, warnings, notes], "notes": ["line for -v", ...],
     "outputs": [{"error": null | "line", "broken_pipe": false, ...}, ...]}
    {"ok": false, "error": "one sentence", "internal": false, "environment": false}

Progress goes to stderr as lines "\\x1eprogress DONE TOTAL", "\\x1eloaded"
once LLDB holds the core (so a crash can be told apart: loading or
analysing) and "\\x1erendered" when every document is rendered and nothing
but writing is left (the watchdog stops there: a slow reader of stdout is no
hang). With job["wait_go"] the worker then waits for one byte on stdin
before it writes (the parent clears its progress line first). Anything else
on stderr (LLDB's own messages) is kept by the parent for FRAMEAUDIT_DEBUG
and for the log of a crash.

The worker dies with the CLI (PR_SET_PDEATHSIG), even when the CLI is
killed by SIGKILL and has no chance to end it; ps shows it as
"frameaudit-wkr" (PR_SET_NAME).
"""

import json
import os
import sys

PROGRESS_PREFIX = "\x1eprogress "
LOADED_MARK = "\x1eloaded"
RENDERED_MARK = "\x1erendered"
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
WORKER_NAME = b"frameaudit-wkr"  # the worker's name in ps and /proc/PID/comm


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(WORKER_NAME), 0, 0, 0)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _mark(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _render(core_api, report, render: dict, sarif: dict):
    """(bytes to write: a memoryview, facts for the parent) of one render."""
    fmt = render["format"]
    part = render.get("part", False)
    facts: dict = {}
    if fmt == "json":
        if part:
            # The element of the joined array: the core's render_json_array of
            # this one report, without the brackets.
            data = core_api.render_json_array([report]).encode()
            if not (data.startswith(b"[\n") and data.endswith(b"\n]\n")):
                raise RuntimeError("render_json_array gave no array")
            return memoryview(data)[2:-3], facts
        return memoryview(core_api.render_json(report).encode()), facts
    if fmt == "sarif":
        data = core_api.render_sarif([report], min_level=sarif.get("min_level", "note")).encode()
        if part:
            facts["sarif"] = core_api.sarif_layout(data)
        return memoryview(data), facts
    if fmt == "html":
        return memoryview(core_api.import_core().render_html(report).encode()), facts
    text = core_api.render_text(report, render["unicode"], render["color"], render.get("width", 120))
    if part:
        facts["ends_blank"] = text.endswith("\n\n")
    return memoryview(text.encode(render.get("encoding") or "utf-8", errors="replace")), facts


def _write_outputs(documents, sinks) -> list:
    """Write each document to its sink, in order; what happened to each."""
    from .destinations import Destination, Writer
    from .errors import CliError
    statuses = []
    broken = False
    for data, sink in zip(documents, sinks):
        status = {"error": None, "broken_pipe": False, "written": False}
        statuses.append(status)
        if broken:
            continue  # the reader of stdout went away: nothing more is written
        if sink["kind"] == "fd":
            dest = Destination(sink["name"], "fd", fd=sink["fd"])
        else:
            dest = Destination(sink["name"], "open", path=sink["path"])
        writer = None
        try:
            writer = Writer(dest)
            if sink.get("part"):  # one file holds this core's part of every output
                start = os.lseek(sink["fd"], 0, os.SEEK_CUR)
                writer.write(data)
                status["part"] = [start, os.lseek(sink["fd"], 0, os.SEEK_CUR)]
            else:
                writer.write(data)
            writer.commit()
            status["written"] = True
        except BrokenPipeError:
            status["broken_pipe"] = broken = True
        except CliError as e:
            status["error"] = e.line
        finally:
            if writer is not None and not status["written"]:
                writer.abort()
    return statuses


def _analyze(job: dict) -> dict:
    from . import core_api
    from .errors import CliError, EnvironmentProblem
    from .layout import Layout
    from .lldb_module import load_lldb
    from .lldb_session import Debugger

    layout = Layout(**job["layout"])
    name = job.get("name") or job["core"]
    try:
        lldb = load_lldb(layout)
    except EnvironmentProblem as e:
        return {"ok": False, "error": e.message, "environment": True}
    core_error = core_api.core_error_type()

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"{PROGRESS_PREFIX}{done} {total}\n")
        sys.stderr.flush()

    try:
        symbols = job.get("symbols") or {}
        with Debugger(lldb, symbols) as dbg:
            dbg.load_core(job["core"], job["exe"])
            _mark(LOADED_MARK)
            notes = [f"{name}: {line}" for line in
                     dbg.applied + dbg.module_lines()] if job.get("verbose") else []
            target = core_api.make_lldb_target(dbg.target, dbg.process, name,
                                               core_name=name if name != job["core"] else None)
            try:
                report = core_api.analyze_all_threads(target, progress,
                                                      symbols.get("debug_dirs", ()))
            except core_error as e:  # type: ignore[misc]
                raise CliError(f"{name}: cannot analyse it: {getattr(e, 'message', e)}")
            documents, facts = [], []
            for r in job["renders"]:
                data, fact = _render(core_api, report, r, job.get("sarif") or {})
                documents.append(data)
                facts.append(fact)
            counts = list(core_api.counts(report))
    except CliError as e:
        # LLDB names the file it was given: a spooled core's /proc/self/fd/N.
        return {"ok": False, "error": e.message.replace(job["core"], name)}
    _mark(RENDERED_MARK)
    if job.get("wait_go"):
        os.read(0, 1)  # the parent has cleared its progress line (or died: PDEATHSIG)
    outputs = _write_outputs(documents, job["sinks"])
    for status, fact in zip(outputs, facts):
        status.update(fact)
    return {"ok": True, "counts": counts, "notes": notes, "outputs": outputs}


def run_job(job: dict, status_fd: int) -> None:
    """The forked worker's body (workers.py set up its descriptors); never returns."""
    try:
        _die_with_parent(job["parent"])
        import faulthandler
        faulthandler.enable()  # a crash in LLDB leaves the Python stack in the log
        result = _analyze(job)
    except BaseException as e:  # noqa: BLE001 - report everything to the parent
        import traceback
        detail = " ".join(str(e).split()) or type(e).__name__
        result = {"ok": False, "internal": True, "error": f"{type(e).__name__}: {detail}",
                  "traceback": traceback.format_exc()}
    try:
        data = json.dumps(result).encode()
        view = memoryview(data)
        while view:
            written = os.write(status_fd, view)
            view = view[written:]
        os.close(status_fd)
        sys.stderr.flush()
    finally:
        # Skip interpreter teardown: LLDB's threads can hang it (and the
        # parent's cleanups are the parent's).
        os._exit(0)

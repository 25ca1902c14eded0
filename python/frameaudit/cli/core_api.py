"""The CLI's one door to the analysis core (frameaudit._core) and to the
LLDB-backed Target (frameaudit.lldb_target).

Everything the CLI prints comes from the core's renderers, byte for byte
the same as the LLDB commands print; this module only picks what to render
(a whole report as text plus the stack map of the crashing thread, JSON,
SARIF) and counts findings for the exit status.
"""

import json
from typing import Callable, List, Optional, Sequence, Tuple

from .errors import EnvironmentProblem


def import_core():
    """frameaudit._core, or EnvironmentProblem (the native module is not built / not here)."""
    try:
        from .. import _core
        return _core
    except ImportError as e:
        raise EnvironmentProblem(
            f"cannot load frameaudit's native module frameaudit._core ({e}); "
            "build the project (cmake --build build) or reinstall it")


def core_error_type():
    try:
        return import_core().FrameauditError
    except EnvironmentProblem:
        return ()


def make_lldb_target(sbtarget, sbprocess, core_path: Optional[str],
                     core_name: Optional[str] = None):
    """A frameaudit.Target over a loaded SBTarget/SBProcess (core or live).
    core_name: what the report calls the core, when LLDB loaded it under
    another name (a decompressed or piped core: /proc/self/fd/N)."""
    try:
        from .. import lldb_target
    except ImportError as e:
        raise EnvironmentProblem(f"cannot load frameaudit.lldb_target ({e})")
    if core_name is None:
        return lldb_target.LLDBTarget(sbtarget, sbprocess, core_path=core_path)

    class Named(lldb_target.LLDBTarget):
        def info(self):
            info = super().info()
            info.core = core_name
            return info

    return Named(sbtarget, sbprocess, core_path=core_path)


def analyze_all_threads(target, progress: Optional[Callable[[int, int], None]] = None,
                        debug_dirs: Sequence[str] = ()):
    """Audit every thread; raises the core's FrameauditError when nothing can be analysed.
    debug_dirs: where the core's module layer looks for separate debug files too (--debug-dir)."""
    core = import_core()
    return core.analyze(target, all_threads=True, progress=progress, debug_dirs=list(debug_dirs))


def selected_thread(report):
    threads = list(report.threads)
    for t in threads:
        if t.is_selected:
            return t
    return threads[0] if threads else None


def render_text(report, unicode: bool, color: bool, width: int = 120) -> str:
    """The report, then the stack map of the crashing (selected) thread.
    width: wrap at this many columns; 0 = no limit."""
    core = import_core()
    text = core.render_text(report, unicode=unicode, color=color, width=width)
    thread = selected_thread(report)
    if thread is not None:
        if not text.endswith("\n"):
            text += "\n"
        text += "\n" + core.render_map(report, thread, unicode=unicode, color=color, width=width)
    return text


def render_json(report) -> str:
    return import_core().render_json(report)


def render_json_array(reports: Sequence) -> str:
    """The JSON array of these reports' documents, each indented by two spaces."""
    return import_core().render_json_array(list(reports))


def render_sarif(reports: Sequence, min_level: str = "note", runs: str = "per-core",
                 category: str = "frameaudit") -> str:
    return import_core().render_sarif(list(reports), runs=runs, min_level=min_level,
                                      category=category)


def counts(report) -> Tuple[int, int, int]:
    """(errors, warnings, notes) of a report."""
    s = report.summary
    return int(s.errors), int(s.warnings), int(s.notes)


def target_info(executable: Optional[str] = None, core: Optional[str] = None,
                pid: Optional[int] = None):
    return import_core().TargetInfo(executable=executable, core=core, pid=pid)


def empty_report(executable: Optional[str], pid: Optional[int], core_file: Optional[str] = None):
    """A document with no threads and no findings (`run` of a program that
    exited, a core that could not be analysed)."""
    core = import_core()
    return core.lint_report([], target_info(executable=executable, core=core_file, pid=pid))


def failed_sarif_run(core_file: str, executable: Optional[str], message: str) -> str:
    """A SARIF log with one run for a core that could not be analysed: no
    results, and the reason as a tool execution notification (code scanning
    shows it as the tool's error for that core's category)."""
    log = json.loads(render_sarif([empty_report(executable, None, core_file)]))
    for run in log.get("runs", []):
        run["invocations"] = [{
            "executionSuccessful": False,
            "toolExecutionNotifications": [{
                "level": "error",
                "message": {"text": message},
                "descriptor": {"id": "core-not-analysed"},
            }],
        }]
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- several documents (cores analysed in separate worker processes) ------

def join_json(documents: List[str]) -> str:
    """One JSON array of per-core documents, byte for byte as render_json_array
    prints it: each document's own text indented by two spaces (JSON strings
    hold no raw newline, so indenting every line is safe)."""
    if not documents:
        return "[]\n"
    return "[\n" + ",\n".join("  " + d.rstrip("\n").replace("\n", "\n  ") for d in documents) + "\n]\n"


# --- SARIF logs of one run each, joined by concatenation -------------------
#
# A log the core renders for one report is
#     {\n  "$schema": ...,\n  "version": "2.1.0",\n  "runs": [\n    RUN\n  ]\n}\n
# and merge_sarif(per-core) of several such logs prints their runs, each as
# it was, joined by ",\n" (the same indent, the same depth), with one change:
# runs that share a category (automationDetails.id, "frameaudit/<exe>/") are
# numbered "frameaudit/<exe>/1/", ".../2/", ... (their fingerprints are
# already unique per run). So the log can be assembled from the per-core
# texts without parsing them: sarif_layout() says where a log's run and its
# id are, sarif_join_parts() lays out the joined log as pieces.

_SARIF_RUNS_OPEN = b'\n  "runs": [\n'
_SARIF_RUNS_CLOSE = b'\n  ]\n}\n'
_SARIF_NEXT_RUN = b'\n    },\n    {\n'
_SARIF_ID = b'\n      "automationDetails": {\n        "id": "'


def sarif_layout(data: bytes) -> Optional[dict]:
    """Where the one run of a one-run SARIF log text is: {"run": [start, end],
    "id": [start, end] (the category's characters), "category", "head",
    "tail"}; None if the text is not laid out as the core lays it out."""
    opening = data.find(_SARIF_RUNS_OPEN)
    if opening < 0 or not data.endswith(_SARIF_RUNS_CLOSE):
        return None
    start, end = opening + len(_SARIF_RUNS_OPEN), len(data) - len(_SARIF_RUNS_CLOSE)
    if not data.startswith(b"    {\n", start) or data.find(_SARIF_NEXT_RUN, start, end) >= 0:
        return None
    at = data.find(_SARIF_ID, start, end)
    if at < 0:
        return None
    id_start = at + len(_SARIF_ID)
    id_end = data.find(b'"', id_start, end)
    if id_end < 0 or b"\\" in data[id_start:id_end]:
        return None
    return {"run": [start, end], "id": [id_start, id_end],
            "category": data[id_start:id_end].decode("utf-8", errors="replace"),
            "head": data[:start].decode("utf-8", errors="replace"),
            "tail": data[end:].decode("utf-8", errors="replace")}


def _category_of(run_id: str) -> str:
    slash = run_id.rfind("/")
    return run_id if slash < 0 else run_id[:slash + 1]


def sarif_join_parts(layouts: List[Optional[dict]], runs: str) -> Optional[list]:
    """The joined log of these one-run logs (in order) as merge_sarif would
    print it, as pieces: bytes, or (index, start, end) for a range of log
    `index`'s text. None when it cannot be done by concatenation (runs merged
    per executable, more runs than SARIF_MAX_RUNS, a log laid out otherwise):
    then join_sarif() of the texts, which parses them."""
    runs = sarif_runs_for(runs, len(layouts))
    if (runs != "per-core" or not layouts or len(layouts) > SARIF_MAX_RUNS
            or any(lay is None for lay in layouts)):
        return None
    head, tail = layouts[0]["head"], layouts[0]["tail"]
    if any(lay["head"] != head or lay["tail"] != tail for lay in layouts):
        return None
    total: dict = {}
    for lay in layouts:
        category = _category_of(lay["category"])
        total[category] = total.get(category, 0) + 1
    seen: dict = {}
    parts: list = [head.encode()]
    for index, lay in enumerate(layouts):
        if index:
            parts.append(b",\n")
        (start, end), (id_start, id_end) = lay["run"], lay["id"]
        category = _category_of(lay["category"])
        if total[category] > 1 and category:
            seen[category] = seen.get(category, 0) + 1
            parts += [(index, start, id_start), f"{category}{seen[category]}/".encode(),
                      (index, id_end, end)]
        else:
            parts.append((index, start, end))
    parts.append(tail.encode())
    return parts


SARIF_MAX_RUNS = 20  # GitHub code scanning rejects a file with more


def sarif_runs_for(choice: str, cores: int) -> str:
    """--sarif-runs auto: one run per core (the documented default) while
    that stays within SARIF_MAX_RUNS, else the cores of each executable
    share one run."""
    if choice != "auto":
        return choice
    return "per-core" if cores <= SARIF_MAX_RUNS else "per-executable"


def join_sarif(documents: List[str], runs: str = "per-core") -> str:
    """One SARIF log from the per-core logs, as the core would render them
    together: runs merged per executable or numbered per core, unique
    fingerprints, at most SARIF_MAX_RUNS runs (else CliError)."""
    runs = sarif_runs_for(runs, len(documents))
    core = import_core()
    try:
        return core.merge_sarif(list(documents), runs=runs, max_runs=SARIF_MAX_RUNS)
    except core.FrameauditError as e:
        from .errors import CliError
        raise CliError(getattr(e, "message", None) or str(e))


# --- lint -------------------------------------------------------------------

def lint_file(path: str):
    return import_core().lint_elf_file(path)


def render_lint(results: list, output_format: str) -> Tuple[str, Tuple[int, int, int]]:
    core = import_core()
    report = core.lint_report(results, core.TargetInfo(
        executable=results[0].module if len(results) == 1 else None))
    if output_format == "json":
        text = core.render_json(report)
    elif output_format == "sarif":
        # Its own category: an upload of lint results never replaces the
        # alerts of an analysis of the same program.
        text = core.render_sarif([report], category="frameaudit-lint")
    else:
        text = core.render_lint_text(results)
    return text, counts(report)

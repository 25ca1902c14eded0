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

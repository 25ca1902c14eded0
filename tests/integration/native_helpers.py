"""native_helpers.py: what the native-plugin tests add to the shared test
modules. LLDB in-process, sessions and the read-only fingerprint come from
lldb_harness; fixtures, their cores and the one ground-truth check from
fixture_cores. Here: fixtures by their matrix cell, the Python front-end's
directory as `frameaudit paths` reports it, and LLDB sessions in fresh
processes ("isolation", below).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixture_cores import (check_truth, core_or_skip, launch_to_stop,  # noqa: F401 - re-exported
                           truth_problems)
from lldb_harness import Session, build_dir, lldb, stack_fingerprint  # noqa: F401 - re-exported
from lldb_harness import native_plugin_path as native_plugin  # noqa: F401


def python_frontend_dir() -> Path | None:
    """The directory to `command script import` for the Python front-end,
    as `frameaudit paths --json` reports it; None if it is not built."""
    override = os.environ.get("FRAMEAUDIT_PYTHON_DIR")
    if override:
        return Path(override)
    tool = build_dir() / "bin" / "frameaudit"
    if tool.exists():
        try:
            out = subprocess.run([str(tool), "paths", "--json"], capture_output=True, text=True,
                                 timeout=60)
            if out.returncode == 0:
                path = json.loads(out.stdout).get("python")
                if path and (Path(path) / "frameaudit" / "__init__.py").exists():
                    return Path(path) / "frameaudit"
                if path and (Path(path) / "__init__.py").exists():
                    return Path(path)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    package = build_dir() / "python" / "frameaudit"
    return package if (package / "__init__.py").exists() else None


# --- fixtures ---------------------------------------------------------------

def matrix() -> list[dict]:
    """The fixture matrix's cells (matrix.json), or [] if it is not built."""
    index = build_dir() / "fixtures" / "matrix.json"
    if not index.exists():
        return []
    data = json.loads(index.read_text())
    return [c for c in data.get("binaries", []) if isinstance(c, dict)]


def cell_path(cell: dict) -> Path:
    if "path" in cell:
        return Path(cell["path"])
    return build_dir() / "fixtures" / cell["name"]


def find_fixture(fixture: str, cc: str = "gcc", opt: str = "O0", flags: str = "fp",
                 mode: str = "audit") -> Path | None:
    for cell in matrix():
        if (cell.get("fixture") == fixture and cell.get("compiler") == cc and cell.get("opt") == opt
                and cell.get("flags") == flags and cell.get("mode") == mode):
            path = cell_path(cell)
            if path.exists():
                return path
    path = build_dir() / "fixtures" / f"{fixture}-{cc}-{opt}-{flags}-{mode}"
    return path if path.exists() else None


def safe_cells() -> list[dict]:
    return [c for c in matrix() if not c.get("unsafe") and cell_path(c).exists()]


def cell_id(cell: dict) -> str:
    return cell.get("name") or cell_path(cell).name


# --- isolation --------------------------------------------------------------
#
# LLDB 22 keeps state across debuggers of one process: after about six
# launches, a new target can list ld.so twice, the minidump saved from it
# lists it twice too, and LoadCore of that minidump never returns (in any
# process). Work that launches many processes therefore runs each piece in a
# fresh Python process, with a timeout instead of a hang.

WORKER_TIMEOUT = int(os.environ.get("FRAMEAUDIT_WORKER_TIMEOUT", "300"))


def _worker_minidump(exe, stop, truth, path, style, cwd):
    s = Session()
    try:
        launch_to_stop(s, Path(exe), stop, Path(truth), Path(cwd))
        s.ok(f'process save-core --plugin-name=minidump --style={style} "{path}"')
        return {"path": path}
    finally:
        s.close()


def _worker_live(exe, stop, truth, cwd, commands):
    s = Session()
    try:
        s.load_native()
        launch_to_stop(s, Path(exe), stop, Path(truth), Path(cwd))
        return {"results": [s.cmd(c) for c in commands]}
    finally:
        s.close()


def _worker_core(exe, core, commands, python=None):
    s = Session()
    try:
        if python:
            s.load_python(Path(python))
        else:
            s.load_native()
        s.load_core(Path(exe) if exe else None, Path(core))
        return {"results": [s.cmd(c) for c in commands]}
    finally:
        s.close()


_WORKERS = {"minidump": _worker_minidump, "live": _worker_live, "core": _worker_core}


def run_worker(kind: str, **kwargs) -> dict:
    request = json.dumps({"kind": kind, "args": kwargs})
    proc = subprocess.run([sys.executable, __file__, request], capture_output=True, text=True,
                          timeout=WORKER_TIMEOUT, env=dict(os.environ))
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise AssertionError(f"worker {kind} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def minidump_isolated(exe: Path, stop: str, truth: Path, path: Path, style: str = "full") -> Path:
    """A minidump of `exe` at its stop, saved by a fresh LLDB."""
    run_worker("minidump", exe=str(exe), stop=stop, truth=str(truth), path=str(path), style=style,
               cwd=str(truth.parent))
    assert path.exists()
    return path


def live_isolated(exe: Path, stop: str, truth: Path, commands: list[str]) -> list:
    """Run commands through the native plugin on `exe` stopped at `stop`, in a
    fresh LLDB: [(succeeded, output, error), ...]."""
    return run_worker("live", exe=str(exe), stop=stop, truth=str(truth), cwd=str(truth.parent),
                      commands=commands)["results"]


def core_isolated(exe: Path | None, core: Path, commands: list[str],
                  python: Path | None = None) -> list:
    """Run commands on a core in a fresh LLDB, through the native plugin (or
    the Python front-end at `python`)."""
    return run_worker("core", exe=str(exe) if exe else None, core=str(core), commands=commands,
                      python=str(python) if python else None)["results"]


if __name__ == "__main__":
    _request = json.loads(sys.argv[1])
    _result = _WORKERS[_request["kind"]](**_request["args"])
    sys.stdout.write("\n" + json.dumps(_result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip LLDB's teardown at interpreter exit

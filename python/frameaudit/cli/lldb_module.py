"""Import LLDB's Python module (`import lldb`) for the CLI.

The module lives outside sys.path (Debian: /usr/lib/llvm-22/lib/python3.11/
site-packages) and only works in the Python it was built for. Where to look,
in order: $FRAMEAUDIT_LLDB_PYTHON, the directory found at configure time
(`lldb-22 -P`), then `-P` of the configured lldb, of `lldb-22` and of `lldb`
asked now (LLDB may have moved since the build).

find_lldb() does the same search without importing anything (the
`analyze` parent only needs to know that its workers will find LLDB;
importing it costs 50-80 ms and about 100 MiB).

Also points LLDB at its lldb-server: Debian installs it as
/usr/lib/llvm-22/bin/lldb-server but liblldb looks for a versioned name on
PATH, so launching (`frameaudit run`) fails without LLDB_DEBUGSERVER_PATH.
"""

import os
import sys
from typing import Callable, List, Optional

from .errors import EnvironmentProblem
from .layout import Layout


def _ask_lldb(executable: str) -> Optional[str]:
    import subprocess
    try:
        out = subprocess.run([executable, "-P"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
    return path if path and os.path.isdir(path) else None


def candidate_dirs(layout: Layout) -> List[str]:
    dirs: List[str] = []
    env = os.environ.get("FRAMEAUDIT_LLDB_PYTHON")
    if env:
        dirs.append(env)
    if layout.lldb_python_dir:
        dirs.append(layout.lldb_python_dir)
    return dirs


def _lldb_executables(layout: Layout) -> List[str]:
    import shutil
    names = [layout.lldb_executable] if layout.lldb_executable else []
    names += ["lldb-22", "lldb"]
    out = []
    for n in names:
        found = n if os.path.isabs(n) and os.access(n, os.X_OK) else shutil.which(n)
        if found and found not in out:
            out.append(found)
    return out


def _try_import(directory: str) -> Optional[str]:
    """Import lldb from `directory`; None on success, else why not."""
    if not os.path.isdir(os.path.join(directory, "lldb")):
        return f"{directory} has no lldb package"
    sys.path.insert(0, directory)
    try:
        import lldb  # noqa: F401
        return None
    except ImportError as e:
        sys.path.remove(directory)
        sys.modules.pop("lldb", None)
        return f"{directory}: {e}"


def _missing(tried: List[str]) -> EnvironmentProblem:
    detail = "; ".join(tried) if tried else "no lldb found on PATH"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return EnvironmentProblem(
        f"cannot import LLDB's Python module into {sys.executable} ({version}): {detail}; "
        "install python3-lldb-22, or set FRAMEAUDIT_LLDB_PYTHON to the output of `lldb-22 -P`")


def _search(layout: Layout, use: Callable[[str], Optional[str]]) -> None:
    """Offer each directory that may hold LLDB's module, in the order of
    this file's header, to use(dir) (None: taken, else why not) until one is
    taken; EnvironmentProblem naming every refusal when none is."""
    tried = []
    dirs = candidate_dirs(layout)
    for d in dirs:
        why = use(d)
        if why is None:
            return
        tried.append(why)
    for exe in _lldb_executables(layout):
        d = _ask_lldb(exe)
        if not d or d in dirs:
            continue
        dirs.append(d)
        why = use(d)
        if why is None:
            return
        tried.append(why)
    raise _missing(tried)


def _put_on_path(directory: str) -> Optional[str]:
    if not os.path.isdir(os.path.join(directory, "lldb")):
        return f"{directory} has no lldb package"
    sys.path.insert(0, directory)
    return None


def find_lldb(layout: Layout) -> None:
    """Make sure `import lldb` will find a module, without importing it
    (the `analyze` parent only needs to know that its workers will): the
    directory load_lldb would use is put on sys.path, so a worker forked
    from us imports it at once; EnvironmentProblem, with load_lldb's
    sentence, when there is none. A module that is there but does not import
    (built for another Python) is the worker's to report."""
    if "lldb" in sys.modules:
        return
    import importlib.util
    try:
        if importlib.util.find_spec("lldb") is not None:
            return
    except (ImportError, ValueError):
        pass
    _search(layout, _put_on_path)


def load_lldb(layout: Layout):
    """Return the lldb module or raise EnvironmentProblem with one sentence."""
    if "lldb" in sys.modules:
        return sys.modules["lldb"]
    try:
        import lldb  # noqa: F401 - already importable (PYTHONPATH, or inside LLDB)
        _set_debugserver(layout, lldb)
        return lldb
    except ImportError:
        sys.modules.pop("lldb", None)
    _search(layout, _try_import)
    import lldb
    _set_debugserver(layout, lldb)
    return lldb


def _set_debugserver(layout: Layout, lldb) -> None:
    if os.environ.get("LLDB_DEBUGSERVER_PATH"):
        return
    candidates = []
    for exe in _lldb_executables(layout):
        candidates.append(os.path.join(os.path.dirname(os.path.realpath(exe)), "lldb-server"))
    # .../llvm-22/lib/python3.11/site-packages/lldb -> .../llvm-22/bin/lldb-server
    module_dir = os.path.dirname(os.path.realpath(lldb.__file__))
    candidates.append(os.path.normpath(os.path.join(module_dir, "..", "..", "..", "..", "bin", "lldb-server")))
    for c in candidates:
        if os.access(c, os.X_OK):
            os.environ["LLDB_DEBUGSERVER_PATH"] = c
            return


def lldb_version(lldb) -> str:
    try:
        return lldb.SBDebugger.GetVersionString().splitlines()[0].strip()
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"

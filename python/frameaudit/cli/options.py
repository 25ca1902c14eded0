"""The options `analyze` and `run` share beyond the contract's section 6:
where LLDB finds binaries and debug info (--sysroot, --solib-search-path,
--debug-dir, --debuginfod, --lldbinit), how text is drawn (--width,
--color), how much is said (-q, -v) and how SARIF is cut into runs
(--sarif-runs, --sarif-min-level).

add_*() declare them on a parser; symbol_settings(), text_settings() and
sarif_settings() turn parsed arguments into the plain dicts that travel to
the worker processes (JSON) and to lldb_session.Debugger.
"""

import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional

from .errors import InputError

DEBUGINFOD_ENV = "DEBUGINFOD_URLS"
DEFAULT_WIDTH = 120  # the core's RenderOptions default; pipes and files get it


def _directory(text: str) -> str:
    return text  # checked in symbol_settings(), with the file name in the message


def _width(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of columns, got {text!r}")
    if value < 0 or 0 < value < 40:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or at least 40, got {value}")
    return value


def add_symbol_options(p) -> None:
    g = p.add_argument_group(
        "binaries and debug info",
        "where LLDB looks for the program's libraries and their debug info when they are not "
        "where the crashed process had them (another machine, a CI artifact, stripped builds)")
    g.add_argument("--sysroot", metavar="DIR", type=_directory,
                   help="look up every library path the core names under DIR first "
                        "(DIR/usr/lib/..., as gdb's 'set sysroot')")
    g.add_argument("--solib-search-path", metavar="DIR", action="append", default=[],
                   type=_directory,
                   help="look for libraries by file name in DIR (repeatable, searched in order)")
    g.add_argument("--debug-dir", metavar="DIR", action="append", default=[], type=_directory,
                   help="look for separate debug files in DIR: by .gnu_debuglink name and as "
                        "DIR/.build-id/xx/yyyy.debug (repeatable)")
    g.add_argument("--debuginfod", metavar="URL", action="append", default=[],
                   help="fetch missing debug info from this debuginfod server (repeatable; "
                        f"default: ${DEBUGINFOD_ENV})")
    g.add_argument("--lldbinit", metavar="FILE",
                   help="run these LLDB commands before loading anything (frameaudit reads no "
                        "~/.lldbinit); e.g. 'settings set target.source-map /build /src'")


def add_presentation_options(p, sarif: bool = True) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--width", type=_width, metavar="N", default=None,
                   help="wrap text at N columns, 0 for no limit (every name on one line); "
                        "default: the terminal's width or $COLUMNS, else 120")
    g.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour in text output (default: auto = on a terminal unless NO_COLOR "
                        "is set or TERM=dumb)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress and no notes on stderr; only errors")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also say on stderr where each module and its debug info came from "
                        "and which LLDB settings were applied")
    if sarif:
        g.add_argument("--sarif-runs", choices=("auto", "per-executable", "per-core"),
                       default="auto",
                       help="SARIF: one run per core, or per executable (the cores of one "
                            "program merged into one run); auto (default): per core up to "
                            "the 20 runs GitHub code scanning takes, per executable beyond")
        g.add_argument("--sarif-min-level", choices=("error", "warning", "note"),
                       default="warning",
                       help="SARIF: leave out results below this level (default: warning)")


def _check_dir(path: str, option: str) -> str:
    if not os.path.isdir(path):
        raise InputError(path, f"{option} needs a directory; this is "
                               + ("not a directory" if os.path.exists(path) else "no such directory"))
    return os.path.abspath(path)


def symbol_settings(args) -> Dict:
    """The symbol options as a JSON-able dict; bad paths are input errors (exit 2)."""
    lldbinit = getattr(args, "lldbinit", None)
    if lldbinit is not None:
        if not os.path.isfile(lldbinit):
            raise InputError(lldbinit, "--lldbinit needs a file of LLDB commands; "
                                       + ("this is not a file" if os.path.exists(lldbinit)
                                          else "no such file"))
        if not os.access(lldbinit, os.R_OK):
            raise InputError(lldbinit, "--lldbinit file is not readable")
        lldbinit = os.path.abspath(lldbinit)
    sysroot = getattr(args, "sysroot", None)
    urls = list(getattr(args, "debuginfod", None) or [])
    if not urls:
        urls = os.environ.get(DEBUGINFOD_ENV, "").split()
    for url in urls:
        if "://" not in url:
            raise InputError(url, "--debuginfod needs a URL such as http://debuginfod.example:8002")
    return {
        "sysroot": _check_dir(sysroot, "--sysroot") if sysroot else None,
        "solib_search_paths": [_check_dir(d, "--solib-search-path")
                               for d in getattr(args, "solib_search_path", None) or []],
        "debug_dirs": [_check_dir(d, "--debug-dir") for d in getattr(args, "debug_dir", None) or []],
        "debuginfod_urls": urls,
        "lldbinit": lldbinit,
    }


def _terminal_columns() -> Optional[int]:
    try:
        if sys.stdout.isatty():
            return shutil.get_terminal_size((0, 0)).columns or None
    except (AttributeError, ValueError, OSError):
        pass
    return None


def text_width(args, output_file: Optional[str]) -> int:
    """--width, else $COLUMNS, else the terminal's width (stdout only), else 120."""
    if getattr(args, "width", None) is not None:
        return args.width
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        return int(columns)
    if output_file is None:
        tty = _terminal_columns()
        if tty and tty >= 40:
            return tty
    return DEFAULT_WIDTH


def color_wanted(args, output_file: Optional[str]) -> bool:
    choice = getattr(args, "color", "auto")
    if choice == "always":
        return True
    if choice == "never":
        return False
    from .output import use_color
    return use_color(output_file)


def sarif_settings(args) -> Dict:
    return {"runs": getattr(args, "sarif_runs", "auto"),
            "min_level": getattr(args, "sarif_min_level", "warning")}


def say(args, line: str) -> None:
    """A note on stderr (not an error): left out with -q."""
    if getattr(args, "quiet", False):
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def lldb_commands(symbols: Dict) -> List[str]:
    """The LLDB settings the symbol options stand for, in the order they apply
    (before the target is created, so the first module lookup sees them)."""
    commands = []
    for d in symbols.get("solib_search_paths", []):
        commands.append(f"settings append target.exec-search-paths {lldb_quote(d)}")
    for d in symbols.get("debug_dirs", []):
        commands.append(f"settings append target.debug-file-search-paths {lldb_quote(d)}")
    urls = symbols.get("debuginfod_urls", [])
    if urls:
        commands.append("settings set plugin.symbol-locator.debuginfod.server-urls "
                        + " ".join(lldb_quote(u) for u in urls))
    return commands


def target_commands(symbols: Dict) -> List[str]:
    """The settings that belong to a target: run after it is created, before
    the core (and with it every library) is loaded. A sysroot is a path
    substitution '/' -> DIR: every module path is tried under DIR first,
    then as it is (the host's own libc when the sysroot lacks it)."""
    if symbols.get("sysroot"):
        return [f"target modules search-paths add / {lldb_quote(symbols['sysroot'])}"]
    return []


def lldb_quote(text: str) -> str:
    """An argument for LLDB's command parser: in double quotes, \\ and " escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

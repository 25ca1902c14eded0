"""`frameaudit`: the command line (docs/user-guide.md section 8).

    frameaudit analyze [--exe EXE] [--format text|json|sarif] [-o FILE] [--output-FORMAT FILE]...
                       [--fail-on error|warning|never] [-j N] [--timeout S] CORE...|-
    frameaudit run [--format ...] [--fail-on ...] [-o FILE] [--output-FORMAT FILE]...
                   [--timeout S] [--error-exitcode N] -- PROGRAM [ARGS...]
    frameaudit lint [--format text|json|sarif] [-o FILE] [--output-FORMAT FILE]... [--fail-on ...] BINARY...
    frameaudit paths [--json]
    frameaudit --version

Exit status: 0 nothing at or above --fail-on, 1 findings at or above it,
2 usage or input error (one line on stderr); `run` passes the program's
own status through instead of 0 (commands/run.py). Never a traceback:
FRAMEAUDIT_DEBUG=1 shows one for internal errors. Also `python3 -m frameaudit`.
"""

import argparse
import os
import sys
import traceback
from typing import List, Optional

from . import exit_codes
from .errors import CliError, UsageError
from .layout import Layout, discover
from .options import add_presentation_options, add_symbol_options
from .signals import Terminated, ending_signals

DEBUG_ENV = "FRAMEAUDIT_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 through CliError."""

    def error(self, message):  # noqa: D102 - argparse API
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _exit_status(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an exit status, got {text!r}")
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"must be 0..255, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


EPILOG_EXIT = ("exit status: 0 = nothing at or above --fail-on, 1 = findings at or above it, "
               "2 = usage or input error (one line on stderr)")


def build_parser(version: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="frameaudit",
        description="Audit stack frames and sra stack allocations in crash dumps and live runs "
                    "(x86-64 Linux).",
        epilog=EPILOG_EXIT)
    parser.add_argument("--version", action="version", version=f"frameaudit {version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(p, outputs=True):
        p.add_argument("--format", choices=("text", "json", "sarif"), default=None,
                       help="output format (default: text)")
        p.add_argument("--fail-on", choices=exit_codes.FAIL_ON_CHOICES, default="error",
                       help="exit 1 when a finding of this severity or worse exists (default: error)")
        if outputs:
            p.add_argument("-o", "--output", metavar="FILE",
                           help="write the document to FILE instead of stdout")
            for fmt in ("json", "sarif", "text"):
                p.add_argument(f"--output-{fmt}", metavar="FILE",
                               help=f"also write the {fmt.upper() if fmt != 'text' else 'text'} "
                                    "document to FILE ('-': stdout); with these, stdout gets the "
                                    "--format document only if --format or -o is given")

    p = sub.add_parser(
        "analyze", help="audit every thread of core files (kernel, gdb gcore, LLDB minidump)",
        description="Audit every thread of each CORE: frames, sra regions, findings. "
                    "Text shows the report and the stack map of the crashing thread; JSON is one "
                    "document per core (an array for several); SARIF one run per core (per "
                    "executable beyond 20 cores, --sarif-runs).",
        epilog="example: frameaudit analyze --format sarif -o crash.sarif core.1234\n" + EPILOG_EXIT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cores", nargs="+", metavar="CORE",
                   help="ELF core or minidump, plain or compressed (zstd, xz, gzip, lz4); "
                        "'-' reads one from stdin")
    p.add_argument("--exe", metavar="EXE",
                   help="the program the core(s) came from (default: the one the core names)")
    common(p)
    p.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                   help="analyse N cores in parallel (default: 1)")
    p.add_argument("--output-html", metavar="FILE", default=None,
                   help="also write a self-contained HTML report (findings linked to frames and "
                        "blocks, an SVG stack map per thread) to FILE")
    p.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="give up on a core after this long (default: $FRAMEAUDIT_TIMEOUT or 600)")
    add_symbol_options(p)
    add_presentation_options(p)

    p = sub.add_parser(
        "run", help="run a program under LLDB and audit every thread if it crashes",
        description="Launch PROGRAM under LLDB. If it stops on a core-dumping signal (SIGSEGV, "
                    "SIGABRT, SIGTRAP, ...) every thread is audited and the report printed; if it "
                    "exits, that is said and its exit status is frameaudit's. Exit status: "
                    "--error-exitcode (1) for findings at or above --fail-on, else the "
                    "program's own (128+N for a crash by signal N), 2 for a usage error or "
                    "--timeout. Neither the program nor its children outlive frameaudit.",
        epilog="example: frameaudit run --format json -- ./my_test --gtest_filter=Stack.*",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="stop the program after this long, audit it where it is and exit 2 "
                        "(default: none)")
    p.add_argument("--error-exitcode", type=_exit_status, default=exit_codes.FINDINGS, metavar="N",
                   help="exit status when findings reach --fail-on (default: 1); otherwise the "
                        "program's own status passes through")
    add_symbol_options(p)
    add_presentation_options(p)
    p.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]",
                   help="the program and its arguments")

    p = sub.add_parser(
        "lint", help="find unsafe callers of sra_alloc in binaries (static)",
        description="Check every call of sra_alloc in each BINARY: is its caller's frame "
                    "dynamic, and does its epilogue restore RSP from RBP?",
        epilog="example: frameaudit lint --format sarif -o lint.sarif ./my_program libfoo.so\n"
               + EPILOG_EXIT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binaries", nargs="+", metavar="BINARY", help="ELF executable or shared library")
    common(p)

    p = sub.add_parser(
        "paths", help="where the LLDB plugin and the Python package are",
        description="Print where frameaudit's LLDB plugin and Python package are, and a line "
                    "for ~/.lldbinit.",
        epilog="example: frameaudit paths --json | jq -r .lldbinit >> ~/.lldbinit")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    return parser


def _version(layout: Layout) -> str:
    try:
        from .. import _core
        return _core.version()
    except Exception:  # noqa: BLE001 - --version must work without the native module
        return layout.version or "unknown"


def _run(argv: List[str], layout: Layout) -> int:
    parser = build_parser(_version(layout))
    args = parser.parse_args(argv)
    if hasattr(args, "format"):
        args.format_given = args.format is not None
        args.format = args.format or "text"
    if args.command is None:
        raise UsageError("frameaudit: error: missing command: analyze, run, lint or paths "
                         "(see 'frameaudit --help')")
    if args.command == "analyze":
        from .commands.analyze import analyze_command
        return analyze_command(args, layout)
    if args.command == "run":
        from .commands.run import run_command
        return run_command(args, layout)
    if args.command == "lint":
        from .commands.lint import lint_command
        return lint_command(args, layout)
    from .commands.paths import paths_command
    return paths_command(args, layout)


def main(argv: Optional[List[str]] = None, layout: Optional[Layout] = None) -> int:
    """Run the command line; return the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    if layout is None:
        layout = discover()
    try:
        with ending_signals():
            return _run(argv, layout)
    except CliError as e:
        _error_line(e.line)
        return exit_codes.ERROR
    except KeyboardInterrupt as e:
        how = f" by {e.name}" if isinstance(e, Terminated) else ""
        _error_line(f"frameaudit: interrupted{how}")
        return exit_codes.ERROR
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to tell anyone.
        _silence_stdout()
        return exit_codes.ERROR
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the one top-level handler
        if debug_enabled():
            traceback.print_exc()
        detail = " ".join(str(e).split()) or type(e).__name__
        _error_line(f"frameaudit: internal error: {type(e).__name__}: {detail} "
                    f"(set {DEBUG_ENV}=1 for the traceback)")
        return exit_codes.ERROR


def _error_line(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

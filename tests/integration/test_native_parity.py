"""Byte-identical output of the two front-ends: the native plugin in one
debugger, the Python commands in another, on the same cores. Every
subcommand, text and JSON, errors included, and help texts."""

import json
import subprocess

import pytest

from fixture_cores import CoreUnavailable, get_core
from lldb_harness import require_lldb_executable
from native_helpers import (Session, find_fixture, minidump_isolated,
                            native_plugin, python_frontend_dir)

NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")
THREADS = find_fixture("threads", "clang", "O2", "nofp", "plain") or \
    find_fixture("threads", "gcc", "O0", "fp", "audit")
PYTHON = python_frontend_dir()


def _python_frontend_loads() -> bool:
    if PYTHON is None:
        return False
    s = Session()
    try:
        succeeded, _, _ = s.cmd(f'command script import "{PYTHON}"')
        return succeeded and s.cmd("help frameaudit audit")[0]
    finally:
        s.close()


pytestmark = pytest.mark.usefixtures("native_plugin_built", "python_frontend_loads")


@pytest.fixture(scope="module")
def python_frontend_loads(native_plugin_built):
    """Both front-ends are compared: a Python front-end that does not load
    fails the module, it is not skipped."""
    assert NESTED is not None, "nested-gcc-O0-fp-audit is not built"
    assert _python_frontend_loads(), f"the Python front-end is not built or does not load ({PYTHON})"

COMMANDS = [
    "fa chain", "fa chain -a", "fa chain -a -j", "fa chain --max-depth 3",
    "fa audit", "fa audit -a", "fa audit -a -j", "fa audit -t 1 --json",
    "fa regions", "fa regions -a", "fa regions -a -j",
    "fa map", "fa map -a", "fa map --ascii", "fa map -a --ascii", "fa map -j",
    "fa lint", "fa lint -j", "fa lint --format json", "fa lint libc.so.6",
    "fa bt", "fa bt -a", "fa bt -t 1 --max-depth 2",
    # errors that need the process
    "fa audit -t 4242", "fa lint nope.so",
]
SUBCOMMANDS = ("chain", "audit", "regions", "map", "lint", "bt", "provider")
HELP = ["help frameaudit", "help fa"] + [f"help frameaudit {s}" for s in SUBCOMMANDS] + \
    [f"help fa {s}" for s in SUBCOMMANDS]


class FrontEnds:
    def __init__(self, native: Session, python: Session):
        self.native, self.python = native, python

    def both(self, command):
        return self.native.cmd(command), self.python.cmd(command)


@pytest.fixture
def front_ends():
    native, python = Session(), Session()
    native.load_native()
    python.load_python(PYTHON)
    yield FrontEnds(native, python)
    native.close()
    python.close()


def _minidump(exe, tmp):
    return minidump_isolated(exe, "break", tmp / "truth.json", tmp / f"{exe.name}.dmp")


@pytest.fixture(scope="module")
def cores(tmp_path_factory):
    made = {"minidump": (NESTED, _minidump(NESTED, tmp_path_factory.mktemp("md")))}
    if THREADS is not None:
        try:
            made["kernel-threads"] = (THREADS, get_core(THREADS, "kernel", "segv").path)
        except CoreUnavailable:
            pass  # the native and Python core tests report why
    return made


def _without_syntax(text):
    """The help text with its "Syntax:" line taken out, and that line."""
    lines = text.splitlines(True)
    syntax = [line for line in lines if line.startswith("Syntax:")]
    assert len(syntax) == 1, text
    return "".join(line for line in lines if not line.startswith("Syntax:")), syntax[0].rstrip()


@pytest.mark.parametrize("command", HELP)
def test_help_says_the_same(front_ends, command):
    """One help text: everything but the "Syntax:" line is identical in the
    two front-ends, and there is one option list (the core's). The syntax
    line of a Python parsed command is LLDB's own (CommandObject::GetSyntax:
    the command's own name and its declared argument, no hook to change it),
    so only the native plugin can print `frameaudit <sub> [options]`."""
    (n_ok, native, _), (p_ok, python, _) = front_ends.both(command)
    assert n_ok and p_ok
    native_body, native_syntax = _without_syntax(native)
    python_body, python_syntax = _without_syntax(python)
    assert native_body == python_body
    words = command.split()
    if len(words) == 3:
        sub = words[2]
        assert native_syntax.startswith(f"Syntax: frameaudit {sub} [options]")
        assert python_syntax.startswith(f"Syntax: {sub} [<")
        assert native_body.count("Options:") == 1 and "Command Options Usage" not in python_body
        assert "<count>" not in python_body and "<thread-index>" not in python_body
    else:
        assert native_syntax == python_syntax == f"Syntax: {words[1]}"


@pytest.mark.parametrize("front_end", ["native", "python"])
def test_help_fa_is_help_frameaudit(front_ends, front_end):
    """`help fa` (the alias the README teaches) prints the whole text of
    `help frameaudit`: description, examples and the subcommand list."""
    session = getattr(front_ends, front_end)
    alias = session.ok("help fa")
    full = session.ok("help frameaudit")
    abbreviation = "\n'fa' is an abbreviation for 'frameaudit'\n"
    assert alias.endswith(abbreviation)
    assert alias[:-len(abbreviation)].replace("Syntax: fa\n", "Syntax: frameaudit\n") == full
    for sub in SUBCOMMANDS:
        assert f"      {sub} " in full
    assert "Examples:" in full


@pytest.mark.parametrize("command", ["fa audit --help", "fa lint -h", "fa map --help"])
def test_dash_help_is_identical(front_ends, command):
    native, python = front_ends.both(command)
    assert native == python


@pytest.mark.parametrize("command", [
    "fa audit -t one", "fa map --max-depth 0", "fa lint a b", "fa audit -t 1 -a",
    "fa lint --format xml"])
def test_usage_errors_are_identical(front_ends, command):
    """Errors the shared option parser finds in well-formed options are the
    same sentence in both front-ends."""
    native, python = front_ends.both(command)
    assert native == python and not native[0]


@pytest.mark.parametrize("command", [
    "fa audit --bogus", "fa audit -t", "fa audit extra", "fa audit --json=yes", "fa chain -x",
    "fa map --svg", "fa map --svg x.svg -j", "fa provider maybe", "fa bt --ascii"])
def test_malformed_options_are_identical(front_ends, command):
    """Both front-ends hand every word to the core's parser: the same
    sentence for every malformed option, naming the offending word."""
    native, python = front_ends.both(command)
    assert native == python and not native[0]
    assert native[1] == ""


@pytest.mark.parametrize("command", ["fa audit", "fa chain", "fa regions", "fa map", "fa lint"])
def test_no_target_errors_are_identical(front_ends, command):
    native, python = front_ends.both(command)
    assert native == python and not native[0]


@pytest.mark.parametrize("kind", ["minidump", "kernel-threads"])
@pytest.mark.parametrize("command", COMMANDS)
def test_output_is_identical_on_a_core(front_ends, cores, kind, command):
    if kind not in cores:
        pytest.skip(f"cannot make a {kind} core here")
    exe, core = cores[kind]
    front_ends.native.load_core(exe, core)
    front_ends.python.load_core(exe, core)
    native, python = front_ends.both(command)
    assert native == python
    if command.endswith(("-j", "--json", "json")) and native[0]:
        json.loads(native[1])


@pytest.mark.parametrize("kind", ["minidump", "kernel-threads"])
def test_svg_map_is_identical_on_a_core(front_ends, cores, kind, tmp_path):
    """`fa map --svg` comes from the core's renderer: the same bytes from
    both front-ends, and one line saying what was written."""
    if kind not in cores:
        pytest.skip(f"cannot make a {kind} core here")
    exe, core = cores[kind]
    front_ends.native.load_core(exe, core)
    front_ends.python.load_core(exe, core)
    native_svg, python_svg = tmp_path / "native.svg", tmp_path / "python.svg"
    n_out = front_ends.native.ok(f'fa map -a --svg "{native_svg}"')
    p_out = front_ends.python.ok(f'fa map -a --svg "{python_svg}"')
    assert n_out.replace(str(native_svg), "F") == p_out.replace(str(python_svg), "F")
    assert n_out.startswith("wrote the stack map of ")
    assert native_svg.read_bytes() == python_svg.read_bytes()
    assert native_svg.read_text().startswith("<svg xmlns=")


def test_python_first_then_native_stays_out():
    s = Session()
    try:
        s.load_python(PYTHON)
        before = s.ok("help frameaudit audit")
        s.ok(f'plugin load "{native_plugin()}"')
        assert s.ok("help frameaudit audit") == before
        assert s.fails("fa audit").startswith("error: no target")
    finally:
        s.close()


def test_python_first_then_native_says_so():
    """The plugin's message goes to the debugger's output: `lldb --batch`."""
    lldb_exe = require_lldb_executable()
    out = subprocess.run([lldb_exe, "--batch", "--no-lldbinit",
                          "-o", f'command script import "{PYTHON}"',
                          "-o", f'plugin load "{native_plugin()}"'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "frameaudit: a `frameaudit` command is already loaded; the native plugin stays out " \
           "of the way." in out.stdout


def test_native_first_then_python_stays_out():
    s = Session()
    try:
        s.load_native()
        before = s.ok("help frameaudit audit")
        s.cmd(f'command script import "{PYTHON}"')
        assert s.ok("help frameaudit audit") == before
        assert s.fails("fa audit").startswith("error: no target")
    finally:
        s.close()

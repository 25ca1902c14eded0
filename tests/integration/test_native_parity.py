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
    # errors that need the process
    "fa audit -t 4242", "fa lint nope.so",
]
HELP = ["help frameaudit", "help fa"] + [f"help frameaudit {s}" for s in
                                         ("chain", "audit", "regions", "map", "lint")]


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


def _paragraphs_after_syntax(text):
    """What a help text says after LLDB's generated "Syntax:"/"Command
    Options Usage:" block: the long help both front-ends take from the
    shared command table."""
    lines = text.splitlines(True)
    start = next((i for i, line in enumerate(lines) if line.startswith("Syntax:")), 0)
    body = "".join(lines[start + 1:])
    return body


@pytest.mark.parametrize("command", HELP)
def test_help_says_the_same(front_ends, command):
    """LLDB writes the syntax and option list of a ParsedCommand itself, so
    that part may differ; the one-line help and the long help (description,
    options, examples) must not."""
    (n_ok, native, _), (p_ok, python, _) = front_ends.both(command)
    assert n_ok and p_ok
    assert native.split("\n\nSyntax:")[0] == python.split("\n\nSyntax:")[0]
    native_body = _paragraphs_after_syntax(native).strip("\n")
    if command in ("help frameaudit", "help fa"):
        # The multiword command: the one-line help and everything LLDB lists
        # after the long help (subcommands, the alias line) are the same.
        # LLDB 22's `command container add -H` stores the long help where
        # `help` does not print it, so only the native container shows it.
        long_help = native_body.split("\n\n")
        assert any("Examples:" in part for part in long_help)
        assert native.rstrip("\n").splitlines()[-1] == python.rstrip("\n").splitlines()[-1]
    else:
        assert native_body in python


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


@pytest.mark.parametrize("command,token", [
    ("fa audit --bogus", "bogus"), ("fa audit -t", "-t"), ("fa audit extra", "extra"),
    ("fa audit --json=yes", "json"), ("fa chain -x", "-x")])
def test_malformed_options_fail_in_both(front_ends, command, token):
    """Malformed options never reach the Python front-end's code: LLDB's
    ParsedCommand parser rejects them with its own sentence (and offers tab
    completion in exchange). Both front-ends must fail, print nothing, and
    the native one must name the offending word."""
    (n_ok, n_out, n_err), (p_ok, p_out, p_err) = front_ends.both(command)
    assert not n_ok and not p_ok
    assert n_out == "" and p_out == ""
    assert token.lstrip("-") in n_err
    assert p_err.strip()


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

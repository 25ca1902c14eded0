"""The native plugin as a shared object and as LLDB sees it: what it exports
and links, how it registers, its help texts, and the errors every subcommand
reports before it gets to a process."""

import shutil
import subprocess

import pytest

from lldb_harness import require_lldb_executable, require_tool
from native_helpers import Session, native_plugin

SUBCOMMANDS = ["chain", "audit", "regions", "map", "lint"]
ANALYSIS_SUBCOMMANDS = ["chain", "audit", "regions", "map"]

pytestmark = pytest.mark.usefixtures("native_plugin_built")


@pytest.fixture
def session():
    s = Session()
    yield s
    s.close()


@pytest.fixture
def loaded(session):
    session.load_native()
    return session


# --- the shared object ------------------------------------------------------

def test_exports_only_plugin_initialize():
    out = subprocess.run([require_tool("nm", "the export check"), "-D", "--defined-only", str(native_plugin())], capture_output=True,
                         text=True, check=True).stdout
    symbols = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert symbols == ["_ZN4lldb16PluginInitializeENS_10SBDebuggerE"]


def test_links_liblldb_and_no_python():
    out = subprocess.run([require_tool("readelf", "the DT_NEEDED check"), "-d", str(native_plugin())], capture_output=True, text=True,
                         check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert any(n.startswith("liblldb") for n in needed), needed
    assert not any("python" in n for n in needed), needed


def test_install_layout_in_build_tree():
    assert native_plugin().parent.name == "frameaudit"
    assert native_plugin().parent.parent.name == "lib"


# --- registration -----------------------------------------------------------

def test_plugin_load_registers_command_and_alias(loaded):
    # SB-API multiword commands live in LLDB's user multiword dictionary,
    # which neither CommandExists nor UserCommandExists look at: ask `help`.
    ci = loaded.interpreter
    assert ci.AliasExists("fa")
    out = loaded.ok("help frameaudit")
    for sub in SUBCOMMANDS:
        assert f"{sub} " in out or f"{sub}\n" in out, out


def test_alias_runs_the_same_command(loaded):
    via_alias = loaded.ok("help fa audit")
    assert via_alias.endswith("\n'fa' is an abbreviation for 'frameaudit'\n")
    assert via_alias.replace("\n'fa' is an abbreviation for 'frameaudit'\n", "") == \
        loaded.ok("help frameaudit audit")


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_has_syntax_options_and_example(loaded, sub):
    out = loaded.ok(f"help frameaudit {sub}")
    assert f"Syntax: frameaudit {sub}" in out
    assert "Options:" in out and "--help" in out
    assert "Examples:" in out and f"(lldb) fa {sub}" in out
    if sub == "lint":
        assert "--format" in out and "[<module>]" in out
    else:
        for option in ("-t, --thread <index-or-tid>", "-a, --all-threads", "-j, --json",
                       "--max-depth <n>"):
            assert option in out, option
    if sub == "map":
        assert "--ascii" in out
    # LLDB re-wraps lines wider than the terminal and drops their indentation.
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("Syntax:")), out


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_dash_dash_help_needs_no_target(loaded, sub):
    out = loaded.ok(f"fa {sub} --help")
    assert f"Syntax: frameaudit {sub}" in out and "Examples:" in out


def test_second_load_stays_out_of_the_way(loaded):
    # The first plugin's command must survive, and the second load must say
    # why it registered nothing.
    succeeded, out, err = loaded.cmd(f'plugin load "{native_plugin()}"')
    assert succeeded, err
    assert loaded.ok("help fa").startswith("Audit stack frames")
    assert loaded.fails("fa audit").startswith("error: no target")


def test_second_load_message(tmp_path):
    """`lldb --batch`: the message goes to the debugger's output."""
    lldb_exe = require_lldb_executable()
    out = subprocess.run([lldb_exe, "--batch", "--no-lldbinit",
                          "-o", f'plugin load "{native_plugin()}"',
                          "-o", f'plugin load "{native_plugin()}"',
                          "-o", "help fa"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("already loaded") == 1, out.stdout
    assert "native plugin stays out of the way" in out.stdout


# --- errors before a process ------------------------------------------------

@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_no_target(loaded, sub):
    err = loaded.fails(f"fa {sub}")
    assert err == "error: no target: load a program or a core first " \
                  "(`file ./prog`, `target create --core core`).\n"


@pytest.mark.parametrize("sub", ANALYSIS_SUBCOMMANDS)
def test_no_process(loaded, sub):
    loaded.create_target(shutil.which("true") or "/bin/true")
    err = loaded.fails(f"fa {sub}")
    assert err == "error: no process: run the program or load a core first " \
                  "(`run`, `target create --core core`).\n"


def test_lint_without_process_lints_the_files(loaded):
    loaded.create_target(shutil.which("true") or "/bin/true")
    out = loaded.ok("fa lint")
    assert out == "No module of the target references sra_alloc; name one to lint it anyway.\n"
    err = loaded.fails("fa lint no-such-module.so")
    assert "no module 'no-such-module.so' in the target" in err


@pytest.mark.parametrize("command, message", [
    ("fa audit --bogus", "unknown option '--bogus' for 'frameaudit audit'"),
    ("fa chain -x", "unknown option '-x' for 'frameaudit chain'"),
    ("fa audit -t", "option '-t' needs a value <index-or-tid>"),
    ("fa audit -t one", "invalid thread 'one': expected a thread index or a thread id"),
    ("fa audit -t 1 -a", "--thread and --all-threads exclude each other"),
    ("fa map --max-depth 0", "invalid value '0' for --max-depth: expected a positive number"),
    ("fa regions --ascii", "unknown option '--ascii' for 'frameaudit regions'"),
    ("fa lint --format xml", "invalid value 'xml' for --format: expected text or json"),
    ("fa lint a b", "lint takes at most one module, got 2"),
    ("fa audit extra", "unexpected argument 'extra'"),
    ("fa audit --json=yes", "option '--json' takes no value"),
])
def test_usage_errors(loaded, command, message):
    err = loaded.fails(command)
    sub = command.split()[1]
    assert err == f"error: {message} (see `help frameaudit {sub}`).\n"


def test_no_exception_escapes_on_odd_words(loaded):
    # Quoting, empty words and huge numbers are all just words to the parser.
    for command in ('fa audit ""', "fa audit -t 99999999999999999999999",
                    "fa audit --max-depth=0x", "fa lint -- -j", "fa audit -- -a"):
        succeeded, _, err = loaded.cmd(command)
        assert not succeeded and err.startswith("error: "), (command, err)

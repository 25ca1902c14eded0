"""The command line itself: --version, --help, usage errors (exit 2, one
line), `paths` in the build tree, and the top-level error handler."""

import json
import os
import subprocess
import sys

import pytest

from conftest import BUILD, one_line, run_cli


def test_version(frameaudit):
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("frameaudit ") and result.stdout.count("\n") == 1


def test_help_lists_every_command(frameaudit):
    result = run_cli("--help")
    assert result.returncode == 0
    for sub in ("analyze", "run", "lint", "paths"):
        assert sub in result.stdout
    assert "exit status" in result.stdout


@pytest.mark.parametrize("sub", ["analyze", "run", "lint", "paths"])
def test_subcommand_help_has_an_example(frameaudit, sub):
    result = run_cli(sub, "--help")
    assert result.returncode == 0
    assert f"example: frameaudit {sub}" in result.stdout


@pytest.mark.parametrize("args,words", [
    ([], ["missing command"]),
    (["frobnicate"], ["invalid choice"]),
    (["analyze"], ["required", "CORE"]),
    (["analyze", "--format", "xml", "core"], ["--format", "xml"]),
    (["analyze", "-j", "0", "core"], ["-j", "at least 1"]),
    (["analyze", "-j", "many", "core"], ["-j", "whole number"]),
    (["analyze", "--timeout", "-3", "core"], ["--timeout"]),
    (["analyze", "--fail-on", "sometimes", "core"], ["--fail-on"]),
    (["lint"], ["required", "BINARY"]),
    (["run"], ["missing PROGRAM"]),
    (["run", "--"], ["missing PROGRAM"]),
    (["paths", "--yaml"], ["unrecognized", "--yaml"]),
    (["--bogus"], ["unrecognized", "--bogus"]),
])
def test_usage_errors(frameaudit, args, words):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("frameaudit")
    for w in words:
        assert w in line, line


def test_paths(frameaudit):
    result = run_cli("paths")
    assert result.returncode == 0
    pairs = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert pairs["plugin"] == str(BUILD / "lib" / "frameaudit" / "libframeaudit_lldb.so")
    assert pairs["python"] == str(BUILD / "python" / "frameaudit")
    assert pairs["lldbinit"] == f"command script import {pairs['python']}"
    assert pairs["layout"] == "build"
    assert os.path.isfile(os.path.join(pairs["python"], "__init__.py"))
    as_json = run_cli("paths", "--json")
    assert as_json.returncode == 0
    obj = json.loads(as_json.stdout)
    assert {k: ("" if v is None else str(v)) for k, v in obj.items()} == pairs


def test_paths_lines_work_in_lldb(frameaudit):
    """The lldbinit lines `paths` prints load the commands in a real LLDB."""
    obj = json.loads(run_cli("paths", "--json").stdout)
    lldb = obj["lldb"] or "lldb-22"
    for line in (obj["lldbinit"], obj["lldbinit_native"]):
        if line.startswith("plugin load") and not os.path.exists(obj["plugin"]):
            continue
        out = subprocess.run([lldb, "--batch", "--no-lldbinit", "-o", line, "-o", "help frameaudit"],
                             capture_output=True, text=True, timeout=120)
        assert "chain" in out.stdout and "audit" in out.stdout, (line, out.stdout, out.stderr)


def test_internal_error_is_one_line(tmp_path):
    """An unexpected exception: exit 2, one line, a hint; the traceback only on request."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import frameaudit.cli.main; m = sys.modules['frameaudit.cli.main']\n"
            "def boom(argv, layout): raise RuntimeError('kaboom\\nsecond line')\n"
            "m._run = boom\n"
            "sys.exit(m.main(['paths']))\n") % str(BUILD / "python")
    env = dict(os.environ)
    env.pop("FRAMEAUDIT_DEBUG", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "internal error" in line and "kaboom second line" in line and "FRAMEAUDIT_DEBUG=1" in line
    env["FRAMEAUDIT_DEBUG"] = "1"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "RuntimeError" in result.stderr


def test_python_dash_m_frameaudit(frameaudit, tmp_path):
    """`python3 -m frameaudit` is the CLI; importing the package runs nothing."""
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"))
    version = subprocess.run([sys.executable, "-m", "frameaudit", "--version"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("frameaudit ")
    paths = subprocess.run([sys.executable, "-m", "frameaudit", "paths", "--json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert paths.returncode == 0 and json.loads(paths.stdout)["python"] == str(BUILD / "python" / "frameaudit")
    quiet = subprocess.run([sys.executable, "-c", "import frameaudit, frameaudit.cli"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""

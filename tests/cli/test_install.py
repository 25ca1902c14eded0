"""The installed tool: `cmake --install` into a fresh prefix P, then
P/bin/frameaudit finds its package and plugin there (README "Install"),
also after the prefix is moved, and analyses a core."""

import json
import shutil
import subprocess

import pytest

from conftest import BUILD, pick_binary, run_cli


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = tmp_path_factory.mktemp("install") / "prefix"
    out = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(p)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return p


def paths_of(tool):
    result = run_cli("paths", "--json", exe=tool)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_installed_layout(prefix):
    tool = prefix / "bin" / "frameaudit"
    assert tool.exists()
    obj = paths_of(tool)
    assert obj["layout"] == "install"
    assert obj["plugin"] == str(prefix / "lib" / "frameaudit" / "libframeaudit_lldb.so")
    assert obj["python"] == str(prefix / "lib" / "frameaudit" / "python" / "frameaudit")
    assert (prefix / "lib" / "frameaudit" / "python" / "frameaudit" / "cli" / "main.py").exists()
    assert list((prefix / "lib" / "frameaudit" / "python" / "frameaudit").glob("_core*.so"))
    assert run_cli("--version", exe=tool).returncode == 0


@pytest.mark.usefixtures("core_module_built")
def test_installed_tool_analyses_a_core(prefix, core_cache, matrix, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(prefix, moved, symlinks=True)
    tool = moved / "bin" / "frameaudit"
    assert paths_of(tool)["python"] == str(moved / "lib" / "frameaudit" / "python" / "frameaudit")
    core = core_cache.get(pick_binary(matrix, "overflow"), "gcore", "segv")
    result = run_cli("analyze", "--format", "json", core.path, exe=tool)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["target"]["core"] == str(core.path)


def test_installed_man_page_and_completions(prefix):
    share = prefix / "share"
    man = share / "man" / "man1" / "frameaudit.1"
    assert man.exists() and ".TH FRAMEAUDIT 1" in man.read_text()
    bash = share / "bash-completion" / "completions" / "frameaudit"
    assert "complete -o filenames -o bashdefault -F _frameaudit frameaudit" in bash.read_text()
    zsh = share / "zsh" / "site-functions" / "_frameaudit"
    assert zsh.read_text().startswith("#compdef frameaudit")
    out = subprocess.run(["man", "-l", "-P", "cat", str(man)], capture_output=True, text=True,
                         env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    if out.returncode == 0:  # man-db is optional
        assert "--debuginfod" in out.stdout.replace("\u2010", "-")

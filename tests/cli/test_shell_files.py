"""The build tree's man page and shell completions (generated from the argparse
parser at build time by python/frameaudit/cli/shell_files.py): bash really
completes commands, options, choices, directories and the program after
`run --`; the zsh file declares every option; the man page renders without
a warning and documents every option."""

import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, REPO

sys.path.insert(0, str(BUILD / "python"))  # the package the files were generated from

SHARE = BUILD / "share"
BASH = SHARE / "bash-completion" / "completions" / "frameaudit"
ZSH = SHARE / "zsh" / "site-functions" / "_frameaudit"
MAN = SHARE / "man" / "man1" / "frameaudit.1"


def parser():
    # The parser the build generated the files from.
    from frameaudit.cli.main import build_parser
    return build_parser("test")


def every_option(command):
    from frameaudit.cli.shell_files import options, subcommands
    return [s for a in options(subcommands(parser())[command]) for s in a.option_strings]


def complete(words, cwd):
    """What bash completion offers for the command line `words` (the last is
    the word being completed)."""
    script = (f"source {BASH}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_frameaudit\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    out = subprocess.run(["bash", "--norc", "-c", script], cwd=cwd, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_files_are_built():
    for f in (BASH, ZSH, MAN):
        assert f.exists(), f"{f} not generated (cmake --build {BUILD})"


def test_bash_completes_commands_options_and_values(tmp_path):
    (tmp_path / "a dir").mkdir()
    (tmp_path / "a file").write_text("x")
    assert complete(["frameaudit", "an"], tmp_path) == ["analyze"]
    assert set(complete(["frameaudit", ""], tmp_path)) >= {"analyze", "run", "lint", "paths",
                                                          "--version"}
    assert complete(["frameaudit", "analyze", "--deb"], tmp_path) == ["--debug-dir", "--debuginfod"]
    assert set(complete(["frameaudit", "analyze", "-"], tmp_path)) == set(every_option("analyze"))
    assert complete(["frameaudit", "analyze", "--format", ""], tmp_path) == ["text", "json", "sarif"]
    assert complete(["frameaudit", "analyze", "--sarif-runs", "per-"], tmp_path) == [
        "per-executable", "per-core"]
    assert complete(["frameaudit", "run", "--color", "a"], tmp_path) == ["auto", "always"]
    # Directories only for DIR options, files for FILE and for the cores.
    assert complete(["frameaudit", "analyze", "--debug-dir", "a"], tmp_path) == ["a dir"]
    assert set(complete(["frameaudit", "analyze", "--lldbinit", "a"], tmp_path)) == {"a dir",
                                                                                    "a file"}
    assert set(complete(["frameaudit", "analyze", "a"], tmp_path)) == {"a dir", "a file"}
    # Nothing to offer for a number.
    assert complete(["frameaudit", "analyze", "--width", ""], tmp_path) == []
    # run -- PROGRAM: commands from PATH, then the program's own arguments.
    assert "bash" in complete(["frameaudit", "run", "-q", "--", "bas"], tmp_path)
    assert complete(["frameaudit", "run", "--", "ls", "a f"], tmp_path) == ["a file"]


def test_zsh_declares_every_option():
    text = ZSH.read_text()
    assert text.startswith("#compdef frameaudit\n")
    for command in ("analyze", "run", "lint", "paths"):
        assert f"        {command})" in text
        for option in every_option(command):
            assert option in text, (command, option)
    assert "--debug-dir[" in text and ":directory:_files -/" in text
    assert ":format:(text json sarif)" in text
    zsh = shutil.which("zsh")
    if zsh:
        out = subprocess.run([zsh, "-n", str(ZSH)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_man_page_renders_and_documents_every_option():
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed")
    out = subprocess.run([groff, "-man", "-Tutf8", "-ww", str(MAN)], capture_output=True,
                         text=True, env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stderr == "", out.stderr
    page = out.stdout.replace("\u2010", "-").replace("\u2212", "-")
    import re
    page = re.sub(r".\x08", "", page)  # overstrike bold/underline
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "SEE ALSO"):
        assert section in page
    for command in ("analyze", "run", "lint", "paths"):
        for option in every_option(command):
            assert option in page, (command, option)
    for variable in ("NO_COLOR", "COLUMNS", "DEBUGINFOD_URLS"):
        assert variable in page

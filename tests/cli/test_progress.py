"""Progress: on a terminal (stderr is a pty here), for text output or
several cores; never on a pipe; never mixed into a JSON/SARIF stdout."""

import json
import os
import pty
import select
import subprocess

import pytest

from conftest import FRAMEAUDIT, pick_binary

pytestmark = pytest.mark.usefixtures("core_module_built")


def run_with_tty_stderr(*args):
    """Run with stdout on a pipe and stderr on a terminal; return (code, stdout, terminal)."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm")
    proc = subprocess.Popen([str(FRAMEAUDIT), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    terminal = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
        elif proc.poll() is not None:
            break
    stdout = proc.stdout.read()
    proc.wait(timeout=600)
    os.close(master)
    return proc.returncode, stdout.decode(), terminal.decode(errors="replace")


@pytest.fixture(scope="module")
def two_cores(core_cache, matrix):
    return [core_cache.get(pick_binary(matrix, name), "gcore", "segv").path
            for name in ("nested", "threads")]


def test_several_cores_json_progress_on_terminal_only(frameaudit, two_cores):
    code, stdout, terminal = run_with_tty_stderr("analyze", "--format", "json", "-j", "2", *two_cores)
    assert code in (0, 1)
    docs = json.loads(stdout)  # stdout holds the document only
    assert len(docs) == 2
    assert "cores analysed" in terminal
    assert "\r" not in stdout and "cores analysed" not in stdout
    # The progress line is cleared at the end: no status left on the terminal.
    assert terminal.endswith("\r\x1b[K")


def test_single_core_json_no_progress(frameaudit, two_cores):
    code, stdout, terminal = run_with_tty_stderr("analyze", "--format", "json", two_cores[0])
    assert code in (0, 1)
    json.loads(stdout)
    assert terminal == ""


def test_single_core_text_progress(frameaudit, two_cores):
    code, stdout, terminal = run_with_tty_stderr("analyze", two_cores[1])
    assert code in (0, 1)
    assert "Stack map" in stdout and "\r" not in stdout
    assert "frameaudit:" in terminal


def test_no_progress_on_a_pipe(frameaudit, two_cores):
    result = subprocess.run([str(FRAMEAUDIT), "analyze", "-j", "2", *map(str, two_cores)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1)
    assert result.stderr == ""

"""Tab completion of `frameaudit` command lines, typed into a real
interactive lldb-22 in tmux (send-keys, capture-pane): the Python
front-end completes option names, thread indexes, formats, files, module
names and on/off from the core's command table. The native plugin
completes its subcommand names only: SBCommandPluginInterface has nothing
but DoExecute, so LLDB cannot ask a plugin command for candidates (asserted
below, through SBCommandInterpreter.HandleCompletion, so a future LLDB
that changes this is noticed)."""

import shutil
import subprocess
import time
import uuid

import pytest

from fixture_cores import CoreUnavailable, get_core
from lldb_harness import Session, lldb_executable, native_plugin_path, python_package_dir
from native_helpers import find_fixture

THREADS = find_fixture("threads", "gcc", "O0", "fp", "audit")
TMUX = shutil.which("tmux")
LLDB = lldb_executable()

pytestmark = pytest.mark.skipif(THREADS is None or not TMUX or not LLDB,
                                reason="needs the threads fixture, tmux and lldb-22")


@pytest.fixture(scope="module")
def core():
    try:
        return get_core(THREADS, "kernel", "segv").path
    except CoreUnavailable as e:
        pytest.skip(str(e))


class Terminal:
    """lldb in a detached tmux session of its own."""

    def __init__(self):
        self.name = "fa-" + uuid.uuid4().hex[:8]
        subprocess.run([TMUX, "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
                        f"{LLDB} --no-lldbinit"], check=True)
        self.wait_for("(lldb)")

    def screen(self) -> str:
        return subprocess.run([TMUX, "capture-pane", "-t", self.name, "-p", "-S", "-200"],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def run(self, command: str, until: str) -> None:
        subprocess.run([TMUX, "send-keys", "-t", self.name, "-l", command], check=True)
        subprocess.run([TMUX, "send-keys", "-t", self.name, "Enter"], check=True)
        self.wait_for(until)

    def tab(self, typed: str, expect: str) -> str:
        """Type `typed`, press Tab, wait until `expect` is on screen; clear the line."""
        subprocess.run([TMUX, "send-keys", "-t", self.name, "C-u"], check=True)
        subprocess.run([TMUX, "send-keys", "-t", self.name, "-l", typed], check=True)
        subprocess.run([TMUX, "send-keys", "-t", self.name, "Tab"], check=True)
        try:
            return self.wait_for(expect, timeout=20)
        finally:
            subprocess.run([TMUX, "send-keys", "-t", self.name, "C-u"], check=True)
            subprocess.run([TMUX, "send-keys", "-t", self.name, "-l", "# done"], check=True)
            subprocess.run([TMUX, "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self):
        subprocess.run([TMUX, "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal(core, tmp_path):
    t = Terminal()
    try:
        t.run(f'command script import "{python_package_dir()}"', "(lldb) ")
        t.run(f'target create "{THREADS}" --core "{core}"', "was loaded")
        yield t
    finally:
        t.close()


@pytest.mark.parametrize("typed, expect", [
    ("fa audit --", "--all-threads -- Every thread."),
    ("fa audit -t ", "4 -- thread #4"),
    ("fa chain --thread ", "3 -- thread #3"),
    ("fa map --as", "fa map --ascii"),
    ("fa lint --format j", "fa lint --format json"),
    ("fa lint --format=t", "fa lint --format=text"),
    ("fa lint libc.so", "fa lint libc.so.6"),
    ("fa provider o", "off -- remove it"),
    ("frameaudit bt --max", "frameaudit bt --max-depth"),
])
def test_python_front_end_completes(terminal, typed, expect):
    terminal.tab(typed, expect)


def test_python_front_end_completes_files(terminal, tmp_path):
    (tmp_path / "stack-map.svg").write_text("")
    terminal.tab(f"fa map --svg {tmp_path}/stack-m", f"fa map --svg {tmp_path}/stack-map.svg")


def test_native_plugin_completes_subcommands_only(core):
    """What LLDB itself offers for the native plugin's commands."""
    s = Session()
    try:
        s.load_native(native_plugin_path())
        s.load_core(THREADS, core)

        def candidates(line):
            import lldb
            matches = lldb.SBStringList()
            s.interpreter.HandleCompletion(line, len(line), 0, -1, matches)
            return [matches.GetStringAtIndex(i) for i in range(matches.GetSize())]

        assert "audit" in candidates("fa au")[0] or "audit" in " ".join(candidates("fa au"))
        assert "provider" in " ".join(candidates("fa pro"))
        # SBCommandPluginInterface has no completion hook: nothing for options.
        assert candidates("fa audit --") in ([], [""])
        assert candidates("fa audit -t ") in ([], [""])
    finally:
        s.close()

"""Signals end the CLI cleanly: `analyze` on SIGINT, SIGTERM and SIGHUP ends
with one line and no worker left (and on SIGKILL its workers die with it);
`run` on every ending signal, SIGKILL included, leaves neither the program
nor its children (one in its process group, one that left it by setsid())
nor any temporary file. Checked in the process table (/proc) and $TMPDIR.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import FRAMEAUDIT
from crasher import gone_pid, make_crasher, parent_of, wait_for, workers_of

pytestmark = pytest.mark.usefixtures("core_module_built")

TREE_C = r"""
#include <stdio.h>
#include <unistd.h>
/* Writes "PID CHILD DAEMON" to argv[1] once all three run, then hangs. */
int main(int argc, char **argv) {
  (void)argc;
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t child = fork();
  if (child == 0) { for (;;) pause(); }          /* stays in the program's group */
  if (fork() == 0) {                              /* a daemon: leaves the group */
    setsid();
    pid_t daemon = fork();
    if (daemon == 0) { for (;;) pause(); }
    if (write(fds[1], &daemon, sizeof daemon) != sizeof daemon) _exit(1);
    _exit(0);
  }
  pid_t daemon;
  if (read(fds[0], &daemon, sizeof daemon) != sizeof daemon) return 1;
  FILE *f = fopen(argv[1], "w");
  fprintf(f, "%d %d %d\n", (int)getpid(), (int)child, (int)daemon);
  fclose(f);
  for (;;) pause();
}
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    (d / "tree.c").write_text(TREE_C)
    subprocess.run(["gcc", "-O0", "-o", str(d / "tree"), str(d / "tree.c")], check=True)
    return d / "tree"


@pytest.fixture(scope="module")
def crasher(tmp_path_factory):
    return make_crasher(tmp_path_factory.mktemp("signals-cores"))


def processes_with(marker: bytes):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def end_with(proc: subprocess.Popen, sig: int) -> None:
    """Send `sig`; frameaudit must end by it: one line and status 2, or killed."""
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        return
    assert proc.returncode == 2
    assert err.splitlines() == [f"frameaudit: interrupted by {signal.Signals(sig).name}"], err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_analyze_leaves_no_worker(frameaudit, crasher, sig):
    cores = [str(crasher.gcore), str(crasher.minidump)] * 20
    proc = subprocess.Popen([str(FRAMEAUDIT), "analyze", "-j", "2", *cores],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: workers_of(proc.pid)), "no worker started"
    # Once the CLI is gone its workers belong to init: remember them by pid
    # (taken as late as possible, so a worker started meanwhile is counted).
    seen = set(workers_of(proc.pid))
    end_with(proc, sig)
    assert wait_for(lambda: all(gone_pid(p) for p in seen), 10), \
        f"workers left: {[p for p in seen if not gone_pid(p)]}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,
                                 signal.SIGALRM, signal.SIGKILL])
def test_run_leaves_nothing(frameaudit, tree, tmp_path, sig):
    pidfile = tmp_path / "pids"
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    proc = subprocess.Popen([str(FRAMEAUDIT), "run", "--", str(tree), str(pidfile)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    assert wait_for(lambda: pidfile.exists() and len(pidfile.read_text().split()) == 3), \
        "the program did not start"
    program, child, daemon = map(int, pidfile.read_text().split())
    servers = [p for p in processes_with(b"lldb-server") if parent_of(p) == proc.pid]
    assert servers, "no lldb-server under frameaudit run"
    # The watchdog learns of new descendants twice a second; SIGKILL leaves no time to tell it.
    time.sleep(1.0)
    end_with(proc, sig)
    for pid, what in ((program, "the program"), (child, "its child"), (daemon, "its daemon")):
        assert gone_pid(pid), f"{what} ({pid}) outlived frameaudit run"
    for pid in servers:
        assert gone_pid(pid), f"lldb-server ({pid}) outlived frameaudit run"
    assert list(private_tmp.iterdir()) == []  # no temporary files at all

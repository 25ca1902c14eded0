"""`run` leaves nothing behind: not the program, not its children.

Three layers, from the strongest guarantee to the weakest:

1. frameaudit becomes a child subreaper (PR_SET_CHILD_SUBREAPER): whatever
   the program forks, even a daemon that calls setsid(), stays frameaudit's
   descendant when its parent dies. When `run` ends (normally, by an error,
   or by any catchable signal) every descendant is stopped, killed and
   reaped (sweep()).
2. The program runs in its own process group (LLDB's separate-process-group
   launch flag), so one killpg reaches it and the children that stay in it.
3. SIGKILL of frameaudit runs no code of ours. A watchdog process (its own
   session, so a group kill of frameaudit's job does not reach it) holds the
   read end of a pipe only frameaudit writes to; when frameaudit dies the
   pipe reports end of file and the watchdog kills the program's process
   group, lldb-server, and every descendant frameaudit had told it of (a
   thread reports new ones twice a second). Not covered then: a process
   that left the program's group (setsid, setpgid) less than half a second
   before the SIGKILL.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

PR_SET_CHILD_SUBREAPER = 36

_WATCHDOG = r"""
import os, signal, sys
targets = []   # (pid, starttime, is_group)

def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None

for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
done = False
for line in sys.stdin:
    word = line.split()
    if word[:1] == ["done"]:
        done = True
        break
    if len(word) == 3:
        targets.append((int(word[1]), word[2], word[0] == "group"))
if not done:
    for pid, started, group in targets:
        now = start_time(pid)
        if now is not None and now != started:
            continue   # that pid is another process now
        if now is None and not group:
            continue
        try:
            if group:
                os.killpg(pid, signal.SIGKILL)   # a group's id is not reused while it has members
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> bool:
    try:
        return _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> Optional[List[str]]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> Optional[str]:
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def descendants(root: int) -> List[int]:
    """Every live process below `root` (zombies left out), found from /proc."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if not fields or fields[0] in ("Z", "X"):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _reap() -> None:
    """Collect our zombies (the subreaper's orphans among them)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class RunGuard:
    """Set up before LLDB starts; close() at the end of `run`, whatever happens."""

    def __init__(self):
        self.subreaper = become_subreaper()
        self.watchdog: Optional[subprocess.Popen] = None
        self._reporter: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        try:
            self.watchdog = subprocess.Popen([sys.executable, "-S", "-c", _WATCHDOG],
                                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=True,
                                             close_fds=True)
        except OSError:
            self.watchdog = None

    def _tell(self, line: str) -> None:
        with self._lock:
            if self.watchdog is None:
                return
            try:
                self.watchdog.stdin.write(line.encode() + b"\n")
                self.watchdog.stdin.flush()
            except (OSError, ValueError):
                pass

    def watch(self, pid: int, group: bool) -> None:
        """Kill this process (or its process group) if frameaudit dies by SIGKILL."""
        started = start_time(pid)
        if started is not None:
            self._tell(f"{'group' if group else 'pid'} {pid} {started}")

    def watch_launched(self, debuggee: int) -> None:
        """The program's group, the lldb-server that launched it, and from now
        on every new descendant."""
        self.watch(debuggee, group=True)
        fields = _stat(debuggee)
        if fields and int(fields[1]) != os.getpid():
            self.watch(int(fields[1]), group=False)
        if self.watchdog is not None and self._reporter is None:
            self._reporter = threading.Thread(target=self._report_descendants, daemon=True)
            self._reporter.start()

    def _report_descendants(self) -> None:
        told = set()
        while not self._stopping.wait(0.5):
            for pid in descendants(os.getpid()):
                if self.watchdog is None or pid == self.watchdog.pid:
                    continue
                started = start_time(pid)
                if started is not None and (pid, started) not in told:
                    told.add((pid, started))
                    self._tell(f"pid {pid} {started}")

    def sweep(self, exclude: Optional[int] = None) -> None:
        """Kill every descendant but the watchdog; stop them first so none forks meanwhile."""
        mine = {exclude} if exclude else set()
        if self.watchdog is not None:
            mine.add(self.watchdog.pid)
        for _ in range(50):
            victims = [p for p in descendants(os.getpid()) if p not in mine]
            if not victims:
                break
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in victims:
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            time.sleep(0.01)
            _reap_except(mine)

    def close(self) -> None:
        self._stopping.set()
        if self._reporter is not None:
            self._reporter.join(timeout=5)
        self.sweep()
        if self.watchdog is not None:
            self._tell("done")
            with self._lock:
                watchdog, self.watchdog = self.watchdog, None
            try:
                watchdog.stdin.close()
            except OSError:
                pass
            try:
                watchdog.wait(timeout=5)
            except subprocess.TimeoutExpired:
                watchdog.kill()
        _reap()


def _reap_except(keep) -> None:
    """Collect zombie children, leaving `keep` (the watchdog, subprocess waits on it)."""
    for pid in [p for p in _children_zombies() if p not in keep]:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _children_zombies() -> List[int]:
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and int(fields[1]) == me and fields[0] in ("Z", "X"):
                out.append(int(entry))
    return out

"""Signals that end the CLI: SIGINT, SIGTERM, SIGHUP (and for `run`, every
other catchable one that would end the process).

Each becomes a Terminated exception in the main thread, so the `finally`
blocks that kill worker process groups and the debuggee run, and main()
prints one line ("frameaudit: interrupted by SIGTERM") and returns 2.
SIGKILL cannot be caught: workers and the debuggee take care of that case
themselves (core_worker.py: PR_SET_PDEATHSIG; run_guard.py: a watchdog).
"""

import contextlib
import signal
from typing import Iterable, Iterator

# What ends `analyze` or `lint`: a Ctrl-C, a CI job's cancel, a closed terminal.
ENDING = ("SIGINT", "SIGTERM", "SIGHUP")
# What `run` also catches: the rest of the signals whose default action ends
# the process. SIGPIPE stays as Python sets it (ignored: writes fail with EPIPE).
# SIGUSR1 and SIGUSR2 are left out: LLDB takes them over in-process (its
# handler replaces ours and swallows them); if it did not, their default
# action would end us and the watchdog (run_guard.py) would clean up.
RUN_ENDING = ENDING + ("SIGQUIT", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGXFSZ",
                       "SIGPWR")


class Terminated(KeyboardInterrupt):
    """A signal ended the command. A KeyboardInterrupt, so every cleanup path
    written for Ctrl-C covers it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


def _raise(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def ending_signals(names: Iterable[str] = ENDING) -> Iterator[None]:
    """Turn these signals into Terminated for the duration (main thread only)."""
    previous = {}
    for name in names:
        number = getattr(signal, name, None)
        if number is None:
            continue
        if signal.getsignal(number) == signal.SIG_IGN:
            continue  # nohup, or a parent that wants it ignored: leave it so
        try:
            previous[number] = signal.signal(number, _raise)
        except (OSError, ValueError):
            pass
    try:
        yield
    finally:
        for number, handler in previous.items():
            try:
                signal.signal(number, handler)
            except (OSError, ValueError):
                pass

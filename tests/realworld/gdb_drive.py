"""Runs inside gdb attached to a corpus program (`gdb -batch -p PID -x
gdb_drive.py`, from corpus.py): sends the harness's signal, passes every
signal on until the one that kills the process stops gdb, and writes a
gcore there.

Environment: RW_PID, RW_TID (the thread that gets the signal), RW_SIGNAL,
RW_OUT (the core), RW_FATAL (comma-separated signals gdb stops on).

"The one that kills the process": a fatal signal whose disposition is the
default (its bit clear in SigCgt of /proc/PID/status). A program that
catches it (vim, gdb, faulthandler) gets it passed on, runs its handler and
re-raises; gdb stops again at the re-raised signal.
"""

import ctypes
import os
import signal

import gdb

PID, TID = int(os.environ["RW_PID"]), int(os.environ["RW_TID"])
SIGNAL, OUT = os.environ["RW_SIGNAL"], os.environ["RW_OUT"]
FATAL = os.environ["RW_FATAL"].split(",")


def caught(signame):
    signo = int(getattr(signal, signame))
    for line in open("/proc/%d/status" % PID):
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signo - 1) & 1)
    return False


stops = []


def on_stop(event):
    stops.append(event.stop_signal if isinstance(event, gdb.SignalEvent) else None)


for command in ("set pagination off", "set confirm off", "set width 0",
                "handle all nostop noprint pass"):
    gdb.execute(command)
for name in FATAL:
    gdb.execute("handle %s stop print pass" % name)
gdb.events.stop.connect(on_stop)

libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(234, PID, TID, int(getattr(signal, SIGNAL))) != 0:  # tgkill
    raise gdb.GdbError("tgkill failed: errno %d" % ctypes.get_errno())

seen = []
for _ in range(8):
    del stops[:]
    gdb.execute("continue")
    got = stops[-1] if stops else None
    seen.append(got)
    if got in FATAL and not caught(got):
        break
else:
    raise gdb.GdbError("no fatal signal with the default disposition after %s" % seen)
gdb.execute("gcore %s" % OUT)
gdb.execute("kill")

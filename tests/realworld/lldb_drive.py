"""LLDB attached to a corpus program through the SB API (from corpus.py):
sends the harness's signal, passes every signal on until the one that kills
the process stops LLDB, saves LLDB's live unwind of every thread there
(lldb_unwind.process_threads) and writes a minidump
(`process save-core --plugin-name=minidump --style=full`).

Environment: RW_PID, RW_TID (the thread that gets the signal), RW_SIGNAL,
RW_EXE, RW_OUT (the minidump), RW_LIVE (the live unwind, JSON), RW_FATAL
(comma-separated signals LLDB stops on). Run with the Python LLDB embeds.

"The one that kills the process": as in gdb_drive.py, a fatal signal whose
disposition is the default (SigCgt in /proc/PID/status).
"""

import ctypes
import json
import os
import signal
import sys

import lldb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lldb_unwind import document, process_threads  # noqa: E402

PID, TID = int(os.environ["RW_PID"]), int(os.environ["RW_TID"])
SIGNAL, OUT, LIVE = os.environ["RW_SIGNAL"], os.environ["RW_OUT"], os.environ["RW_LIVE"]
FATAL = os.environ["RW_FATAL"].split(",")


def caught(signame):
    signo = int(getattr(signal, signame))
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signo - 1) & 1)
    return False


def stop_signal(process):
    unix = process.GetUnixSignals()
    for thread in process:
        if thread.GetStopReason() == lldb.eStopReasonSignal:
            return unix.GetSignalAsCString(thread.GetStopReasonDataAtIndex(0))
    return None


def main():
    debugger = lldb.SBDebugger.Create(False)
    debugger.SetAsync(False)
    error = lldb.SBError()
    target = debugger.CreateTarget(os.environ["RW_EXE"], None, None, True, error)
    if not target.IsValid():
        sys.exit("cannot create a target: %s" % error.GetCString())
    process = target.AttachToProcessWithID(debugger.GetListener(), PID, error)
    if not error.Success() or process.GetState() != lldb.eStateStopped:
        sys.exit("cannot attach to %d: %s" % (PID, error.GetCString()))
    unix = process.GetUnixSignals()
    for i in range(unix.GetNumSignals()):
        signo = unix.GetSignalAtIndex(i)
        name = unix.GetSignalAsCString(signo)
        if name in ("SIGSTOP", "SIGINT"):
            continue  # LLDB's own interrupts
        stop = name in FATAL
        unix.SetShouldStop(signo, stop)
        unix.SetShouldNotify(signo, stop)
        unix.SetShouldSuppress(signo, False)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(234, PID, TID, int(getattr(signal, SIGNAL))) != 0:  # tgkill
        sys.exit("tgkill failed: errno %d" % ctypes.get_errno())
    seen = []
    for _ in range(8):
        process.Continue()
        state = process.GetState()
        if state != lldb.eStateStopped:
            sys.exit("the process did not stop (%s) after %s" %
                     (lldb.SBDebugger.StateAsCString(state), seen))
        got = stop_signal(process)
        seen.append(got)
        if got in FATAL and not caught(got):
            break
    else:
        sys.exit("no fatal signal with the default disposition after %s" % seen)
    with open(LIVE, "w") as f:
        json.dump(document(process_threads(process), "lldb-live"), f)
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(
        'process save-core --plugin-name=minidump --style=full "%s"' % OUT, result)
    if not result.Succeeded():
        sys.exit("save-core failed: %s" % result.GetError())
    process.Kill()
    lldb.SBDebugger.Destroy(debugger)


main()

"""LLDB's own unwind of every thread of a core, as JSON, for tests/realworld.
Run with the Python LLDB embeds, in a process of its own (LLDB 22 can hang
for good loading some minidumps it wrote itself; the caller times it out):

    python3 lldb_unwind.py EXE CORE OUT [MAX_FRAMES]

Per thread, innermost first, the physical frames only: SBFrame.GetPC() and
SBFrame.GetCFA() as LLDB's unwinder (RegisterContextUnwind: eh_frame or
debug_frame, then assembly inspection, then the architecture default) finds
them. Frames for inlined functions (SBFrame.IsInlined()) share the pc and
CFA of the physical frame under them, and artificial frames
(SBFrame.IsArtificial(): tail calls LLDB infers from call-site debug info)
have no stack of their own; both are skipped. The pc of a physical frame
that has inlined frames above it is taken from the innermost of them: LLDB
gives the concrete frame of an inline group the start of the inlined block
as its pc (for its line), not the pc the frame is at. lldb_drive.py uses
process_threads() on the live process too.
"""

import json
import sys

import lldb

MAX_FRAMES = 100000


def hexa(v):
    return "0x%x" % (v & 0xFFFFFFFFFFFFFFFF)


def thread_frames(thread, max_frames=MAX_FRAMES):
    """The physical frames of one thread, and why the list ends early (or None)."""
    total = thread.GetNumFrames()
    frames = []
    group_pc = None  # the pc of the innermost frame of the current inline group
    for j in range(min(total, max_frames)):
        frame = thread.GetFrameAtIndex(j)
        if not frame.IsValid():
            break
        if frame.IsArtificial():
            continue
        if group_pc is None:
            group_pc = frame.GetPC()
        if frame.IsInlined():
            continue
        frames.append({"pc": hexa(group_pc), "cfa": hexa(frame.GetCFA()),
                       "function": frame.GetFunctionName(),
                       "module": frame.GetModule().GetFileSpec().GetFilename()})
        group_pc = None
    return frames, ("max_frames" if total > max_frames else None)


def process_threads(process, max_frames=MAX_FRAMES):
    threads = []
    for i in range(process.GetNumThreads()):
        thread = process.GetThreadAtIndex(i)
        frames, stop = thread_frames(thread, max_frames)
        threads.append({"tid": thread.GetThreadID(), "index": thread.GetIndexID(),
                        "stop_reason": thread.GetStopDescription(200) or None,
                        "frames": frames, "stop": stop})
    return threads


def document(threads, how):
    return {"unwinder": how, "version": lldb.SBDebugger.GetVersionString().split("\n")[0],
            "threads": threads}


def main(argv):
    exe, core, out = argv[1], argv[2], argv[3]
    max_frames = int(argv[4]) if len(argv) > 4 else MAX_FRAMES
    debugger = lldb.SBDebugger.Create(False)
    debugger.SetAsync(False)
    error = lldb.SBError()
    target = debugger.CreateTarget(exe or "", None, None, True, error)
    if not target.IsValid():
        sys.exit("LLDB cannot create a target for %s: %s" % (exe, error.GetCString()))
    process = target.LoadCore(core)
    if not process.IsValid():
        sys.exit("LLDB cannot load %s" % core)
    doc = document(process_threads(process, max_frames), "lldb")
    with open(out, "w") as f:
        json.dump(doc, f)
    lldb.SBDebugger.Destroy(debugger)


if __name__ == "__main__":
    main(sys.argv)

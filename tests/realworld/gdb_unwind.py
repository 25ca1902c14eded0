"""Runs inside gdb (`gdb -batch -nx -x gdb_unwind.py`): gdb's own unwind of
every thread of a core, as JSON, for tests/realworld.

Environment: RW_EXE (the program), RW_CORES (cores of it, separated by
os.pathsep), RW_OUTS (where each one's JSON goes, likewise), RW_MAX_FRAMES
(a bound on each thread's walk). One gdb reads every core of a program: it
loads the program's symbols once.

Per thread, innermost first, the physical frames only: gdb lists a frame
per inlined function too (gdb.INLINE_FRAME), sharing the pc and registers of
the physical frame below it, and a frame per tail call it infers from the
call-site debug info (gdb.TAILCALL_FRAME); both are skipped. gdb's default
stop at main is turned off (backtrace past-main, past-entry).

CFA of a frame: the value of RSP in its caller, `frame.older()
.read_register("rsp")` (on x86-64 the caller's RSP after the return is the
callee's CFA by definition, and for a signal trampoline frame it is the
interrupted RSP, which is what the trampoline's CFI in glibc calls its CFA,
as LLDB does). For the outermost frame, which has no caller, it is the
"frame at 0x..." of `info frame`: gdb's frame id stack address, which for a
DWARF CFI frame is the CFA; gdb prints 0x0 there for a frame whose CFI
marks the return address undefined (_start, clone3), and that CFA is then
unknown (null).
"""

import json
import os
import re

import gdb

MAX_FRAMES = int(os.environ.get("RW_MAX_FRAMES", "100000"))


def hexa(v):
    return None if v is None else "0x%x" % (int(v) & 0xFFFFFFFFFFFFFFFF)


def frame_at(frame):
    """`info frame`'s "frame at 0x...": the frame id's stack address (the CFA)."""
    try:
        frame.select()
        text = gdb.execute("info frame", to_string=True)
    except gdb.error:
        return None
    m = re.search(r"frame at (0x[0-9a-f]+)", text)
    return int(m.group(1), 16) if m else None


def rsp_of(frame):
    try:
        return int(frame.read_register("rsp")) & 0xFFFFFFFFFFFFFFFF
    except (gdb.error, ValueError):
        return None


# Frames gdb makes up beside the physical ones: one per inlined function,
# and one per tail call it infers from DW_TAG_call_site (no stack of their
# own; LLDB calls the latter "artificial").
VIRTUAL = (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME)
TYPES = {gdb.NORMAL_FRAME: "normal", gdb.SIGTRAMP_FRAME: "sigtramp", gdb.DUMMY_FRAME: "dummy",
         gdb.ARCH_FRAME: "arch", gdb.TAILCALL_FRAME: "tailcall"}


def walk(thread):
    thread.switch()
    frames = []
    stop = None
    try:
        frame = gdb.newest_frame()
    except gdb.error as e:
        return [], "no frame: %s" % e
    steps = 0
    while frame is not None:
        steps += 1
        if steps > MAX_FRAMES:
            stop = "max_frames"
            break
        ftype = frame.type()
        if ftype not in VIRTUAL:
            entry = {"pc": hexa(frame.pc()), "cfa": None, "type": TYPES.get(ftype, str(ftype)),
                     "function": frame.name(), "cfa_from": None}
            frames.append((entry, frame))
        try:
            older = frame.older()
        except gdb.error as e:
            stop = "error: %s" % e
            older = None
        if older is None and stop is None:
            stop = gdb.frame_stop_reason_string(frame.unwind_stop_reason())
        frame = older
    # CFA: the caller's RSP, else (outermost) "frame at". The caller of a
    # physical frame may be an inline frame; it has the same registers as
    # the physical frame under it.
    out = []
    for i, (entry, f) in enumerate(frames):
        try:
            older = f.older()
        except gdb.error:
            older = None
        cfa = rsp_of(older) if older is not None else None
        if cfa is not None:
            entry["cfa_from"] = "caller_rsp"
        else:
            cfa = frame_at(f)
            entry["cfa_from"] = "frame_at"
            if not cfa:
                # gdb's outer_frame_id (a frame whose return address CFI
                # marks undefined, such as _start and clone3) has no stack
                # address: "frame at 0x0". Its CFA is unknown to gdb.
                cfa, entry["cfa_from"] = None, None
        entry["cfa"] = hexa(cfa)
        out.append(entry)
    return out, stop


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("set width 0")
    gdb.execute("set print frame-arguments none")
    # By default gdb stops a backtrace at main; the corpus compares the
    # bottom frames too (__libc_start_call_main, __libc_start_main_impl,
    # _start, clone3).
    gdb.execute("set backtrace past-main on")
    gdb.execute("set backtrace past-entry on")
    gdb.execute("set backtrace limit unlimited")
    try:
        gdb.execute("set debuginfod enabled off")
    except gdb.error:
        pass
    exe = os.environ.get("RW_EXE")
    if exe:
        gdb.execute("file %s" % exe)
    cores = os.environ["RW_CORES"].split(os.pathsep)
    outs = os.environ["RW_OUTS"].split(os.pathsep)
    for core, out in zip(cores, outs):
        try:
            gdb.execute("core-file %s" % core)
            threads = []
            for thread in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
                frames, stop = walk(thread)
                threads.append({"tid": thread.ptid[1] or thread.ptid[0], "num": thread.num,
                                "frames": frames, "stop": stop})
            doc = {"unwinder": "gdb", "version": gdb.VERSION, "threads": threads}
        except Exception as e:  # this core; the next may still load
            doc = {"unwinder": "gdb", "version": gdb.VERSION,
                   "error": "%s: %s" % (type(e).__name__, e)}
        with open(out, "w") as f:
            json.dump(doc, f)


main()

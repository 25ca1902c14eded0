#!/usr/bin/env python3
"""capture_image.py: freeze a stopped fixture into a memory image the core's
unit tests replay without LLDB (tests/unit/captured_image_test_util.h).

Runs a fixture under LLDB (in-process, SB API) with $SRA_GROUND_TRUTH and
$SRA_STOP set, and when it stops writes one JSON document (schema
"frameaudit-image/1") holding everything frameaudit::Target offers, gathered
by the rules of docs/design/gathering.md:

  info, regions, threads (registers, debugger frames), allocator_entries,
  memory:    each thread's stack from RSP - 64 KiB - 4 KiB to its mapping's
             end, every executable mapping, and the executable's own data
             mappings (GOT slots), as hex;
  functions: [start, end) and name of every code symbol of every module;
  lines:     every line-table entry of the executable's compile units.

Usage: capture_image.py EXE STOP OUT.json TRUTH.json
       capture_image.py --matrix MATRIX.json OUTDIR [--stops break,segv] [--filter SUBSTR]

With --matrix, every safe fixture in the CI sample of cells (replay_cells);
FRAMEAUDIT_FULL_MATRIX=1 in the environment takes every cell.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

DEAD_SCAN = 64 * 1024 + 4096
MAX_STACK = 16 << 20


def import_lldb():
    exe = shutil.which("lldb-22") or shutil.which("lldb")
    try:
        import lldb  # noqa: F401
    except ImportError:
        path = subprocess.run([exe, "-P"], capture_output=True, text=True, check=True).stdout.strip()
        sys.path.insert(0, path)
    # Also when the module imports on its own (python3-lldb-22 on the default
    # path): LLDB then looks for a versioned lldb-server on PATH, which Debian
    # does not install.
    if exe:
        server = Path(os.path.realpath(exe)).parent / "lldb-server"
        if server.exists():
            os.environ.setdefault("LLDB_DEBUGSERVER_PATH", str(server))
    import lldb
    return lldb


lldb = import_lldb()
INVALID = 0xFFFFFFFFFFFFFFFF


def read(process, addr: int, size: int) -> bytes:
    """The leading readable bytes of [addr, addr + size), page by page past a failure."""
    err = lldb.SBError()
    data = process.ReadMemory(addr, size, err) if size else b""
    if err.Success() and data and len(data) == size:
        return data
    out = b""
    page = 4096
    a = addr
    while a < addr + size:
        n = min(page - (a % page), addr + size - a)
        e = lldb.SBError()
        chunk = process.ReadMemory(a, n, e)
        if not e.Success() or not chunk:
            break
        out += chunk
        a += n
    return out


def capture(target, process) -> dict:
    doc = {"schema": "frameaudit-image/1"}
    exe = target.GetExecutable()
    doc["info"] = {
        "executable": f"{exe.GetDirectory()}/{exe.GetFilename()}" if exe.IsValid() else None,
        "core": None,
        "pid": process.GetProcessID() or None,
        "arch": target.GetTriple().split("-")[0],
    }
    regions = []
    infos = process.GetMemoryRegions()
    for i in range(infos.GetSize()):
        r = lldb.SBMemoryRegionInfo()
        infos.GetMemoryRegionAtIndex(i, r)
        if not r.IsMapped():
            continue
        name = r.GetName() or ""
        regions.append({"start": r.GetRegionBase(), "end": r.GetRegionEnd(), "r": r.IsReadable(),
                        "w": r.IsWritable(), "x": r.IsExecutable(),
                        "is_stack": True if name == "[stack]" else None, "name": name})
    regions.sort(key=lambda r: r["start"])
    doc["regions"] = regions

    def region_of(addr):
        for r in regions:
            if r["start"] <= addr < r["end"]:
                return r
        return None

    threads, chunks = [], []
    selected = process.GetSelectedThread()
    for t in process:
        f0 = t.GetFrameAtIndex(0)
        regs = {}
        for rs in f0.GetRegisters():
            if "General Purpose" in (rs.GetName() or ""):
                for reg in rs:
                    regs[reg.GetName()] = reg.GetValueAsUnsigned()
        general = [[n, regs[n]] for n in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                                          "r11", "r12", "r13", "r14", "r15") if n in regs]
        frames = []
        for i in range(min(64, t.GetNumFrames())):
            fr = t.GetFrameAtIndex(i)
            if not fr.IsValid():
                break

            def opt(v):
                return None if v in (0, INVALID) else v
            frames.append({"pc": fr.GetPC(), "cfa": opt(fr.GetCFA()), "sp": opt(fr.GetSP()),
                           "fp": opt(fr.GetFP()), "inlined": fr.IsInlined()})
        threads.append({
            "tid": t.GetThreadID(), "index": t.GetIndexID(), "name": t.GetName(),
            "registers": {"rip": regs.get("rip", 0), "rsp": regs.get("rsp", 0), "rbp": regs.get("rbp", 0),
                          "general": general},
            "debugger_frames": frames,
            "stop_reason": (t.GetStopDescription(256) or "").strip(),
            "is_selected": t.GetThreadID() == selected.GetThreadID(),
        })
        rsp = regs.get("rsp", 0)
        r = region_of(rsp)
        if r:
            lo = max(r["start"], rsp - DEAD_SCAN)
            hi = min(r["end"], rsp + MAX_STACK)
            chunks.append((lo, read(process, lo, hi - lo)))
    doc["threads"] = threads

    exe_name = doc["info"]["executable"]
    for r in regions:
        if r["x"] or (exe_name and r["name"] == exe_name and r["r"]):
            if r["name"] in ("[vsyscall]",):
                continue
            chunks.append((r["start"], read(process, r["start"], r["end"] - r["start"])))
    doc["memory"] = [{"address": a, "hex": b.hex()} for a, b in chunks if b]

    functions, lines = [], []
    for m in target.module_iter():
        mod = m.GetFileSpec().GetFilename()
        for s in m:
            if s.GetType() not in (lldb.eSymbolTypeCode, lldb.eSymbolTypeTrampoline,
                                   lldb.eSymbolTypeResolver):
                continue
            a = s.GetStartAddress().GetLoadAddress(target)
            e = s.GetEndAddress().GetLoadAddress(target)
            if a == INVALID or e == INVALID or e <= a:
                continue
            # The debug-info function names a split-off part (f.cold) by its
            # parent, as the front-ends' symbolize() does.
            fn = s.GetStartAddress().GetFunction()
            name = fn.GetName() if fn.IsValid() and fn.GetName() else s.GetName()
            functions.append({"start": a, "end": e, "name": name, "module": mod})
        if exe_name and m.GetFileSpec().GetFilename() == os.path.basename(exe_name):
            for cu in m.compile_unit_iter():
                for i in range(cu.GetNumLineEntries()):
                    le = cu.GetLineEntryAtIndex(i)
                    a = le.GetStartAddress().GetLoadAddress(target)
                    e = le.GetEndAddress().GetLoadAddress(target)
                    if a == INVALID or e == INVALID or e <= a or le.GetLine() == 0:
                        continue
                    fs = le.GetFileSpec()
                    lines.append({"start": a, "end": e, "line": le.GetLine(),
                                  "file": f"{fs.GetDirectory()}/{fs.GetFilename()}"})
    functions.sort(key=lambda f: (f["start"], -f["end"]))
    lines.sort(key=lambda l: l["start"])
    doc["functions"] = functions
    doc["lines"] = lines
    entries = set()
    for sc in target.FindSymbols("sra_alloc"):
        a = sc.GetSymbol().GetStartAddress().GetLoadAddress(target)
        if a != INVALID:
            entries.add(a)
    doc["allocator_entries"] = sorted(entries)
    return doc


def run_fixture(exe: Path, stop: str, out: Path, truth: Path) -> bool:
    dbg = lldb.SBDebugger.Create()
    dbg.SetAsync(False)
    try:
        target = dbg.CreateTarget(str(exe))
        if not target.IsValid():
            print(f"capture: cannot load {exe}", file=sys.stderr)
            return False
        if stop == "break":
            target.BreakpointCreateByName("fixture_stop_here")
        # The signal fixture raises SIGUSR1 for its own handler: it is let
        # through (set once the process exists, at its entry stop).
        info = lldb.SBLaunchInfo([])
        env = [f"{k}={v}" for k, v in os.environ.items()]
        env += [f"SRA_GROUND_TRUTH={truth}", f"SRA_STOP={stop}"]
        info.SetEnvironmentEntries(env, False)
        info.SetWorkingDirectory(str(out.parent))
        err = lldb.SBError()
        info.SetLaunchFlags(lldb.eLaunchFlagDisableASLR | lldb.eLaunchFlagStopAtEntry)
        process = target.Launch(info, err)
        if err.Success() and process.GetState() == lldb.eStateStopped:
            signals = process.GetUnixSignals()
            usr1 = signals.GetSignalNumberFromName("SIGUSR1")
            signals.SetShouldStop(usr1, False)
            signals.SetShouldNotify(usr1, False)
            signals.SetShouldSuppress(usr1, False)
            process.Continue()
        if not err.Success() or process.GetState() != lldb.eStateStopped:
            print(f"capture: {exe.name} {stop}: did not stop ({err.GetCString()})", file=sys.stderr)
            if process.IsValid():
                process.Kill()
            return False
        doc = capture(target, process)
        out.write_text(json.dumps(doc))
        process.Kill()
        return True
    finally:
        lldb.SBDebugger.Destroy(dbg)


def full_matrix() -> bool:
    return os.environ.get("FRAMEAUDIT_FULL_MATRIX", "") not in ("", "0", "OFF", "off", "false")


OPTS = ("O0", "O1", "O2", "O3", "Os")
FLAGS = ("fp", "nofp", "hard")
MODES = ("audit", "plain")


def replay_cells() -> set:
    """The cells CI replays, per fixture: every compiler at every -O level
    once, the frame-pointer flavour and the mode rotating so that each
    (flags, mode) pair and each flags value with both compilers appears
    (10 of the 60 cells). FRAMEAUDIT_FULL_MATRIX=1 replays every cell."""
    cells = set()
    for i, (compiler, opt) in enumerate((c, o) for c in ("gcc", "clang") for o in OPTS):
        cells.add(f"{compiler}-{opt}-{FLAGS[i % 3]}-{MODES[(i // 3) % 2]}")
    return cells


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--matrix":
        matrix = json.loads(Path(argv[1]).read_text())
        outdir = Path(argv[2])
        outdir.mkdir(parents=True, exist_ok=True)
        stops = ["break", "segv"]
        substr = ""
        rest = argv[3:]
        while rest:
            if rest[0] == "--stops":
                stops = rest[1].split(",")
                rest = rest[2:]
            elif rest[0] == "--filter":
                substr = rest[1]
                rest = rest[2:]
            else:
                print(f"capture: unknown option {rest[0]}", file=sys.stderr)
                return 2
        cells = matrix["binaries"] if isinstance(matrix, dict) else matrix
        base = Path(argv[1]).parent
        failures = 0
        sample = None if full_matrix() else replay_cells()
        for cell in cells:
            if cell.get("unsafe"):
                continue
            if sample is not None and cell["name"].split("-", 1)[1] not in sample:
                continue
            path = Path(cell["path"]) if "path" in cell else base / cell["name"]
            if substr and substr not in path.name:
                continue
            for stop in stops:
                name = f"{path.name}.{stop}"
                if not run_fixture(path, stop, outdir / f"{name}.image.json", outdir / f"{name}.truth.json"):
                    failures += 1
        return 1 if failures else 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if run_fixture(Path(argv[0]), argv[1], Path(argv[2]), Path(argv[3])) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

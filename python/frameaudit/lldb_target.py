"""frameaudit.Target over LLDB's Python SB API.

This is the Python half of the gathering rule book, docs/design/gathering.md;
lldb_plugin/src/sb_target.cpp is the C++ half. Both must hand the core the
same data for the same target so every front-end prints byte-identical
output: a change to one method here needs the same change there.

Usable without a command context (the CLI analyses cores with it):

    import lldb
    from frameaudit import analyze, render_text
    from frameaudit.lldb_target import LLDBTarget

    debugger = lldb.SBDebugger.Create()
    target = debugger.CreateTarget("./prog")
    process = target.LoadCore("core")
    report = analyze(LLDBTarget(target, process, core_path="core"), all_threads=True)
    print(render_text(report))

Read-only: nothing here writes to the debuggee, resumes it, or changes the
selected thread or frame.
"""

from typing import List, Optional

import lldb

from . import _core

__all__ = ["LLDBTarget", "debuggee_state"]

_PAGE = 4096
_MAX_DEBUGGER_FRAMES = 64
_MAX_INLINED = 64
_ADDRESS_LIMIT = 1 << 64
_GENERAL_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                      "r12", "r13", "r14", "r15")
_ALLOCATOR = "sra_alloc"


def _full_path(spec) -> Optional[str]:
    """dirname/basename of an SBFileSpec; None if it is invalid or has no file name."""
    if spec is None or not spec.IsValid():
        return None
    filename = spec.GetFilename()
    if not filename:
        return None
    directory = spec.GetDirectory()
    if directory:
        return directory + filename if directory.endswith("/") else directory + "/" + filename
    return filename


def _valid_address(value: int) -> Optional[int]:
    if value == 0 or value == lldb.LLDB_INVALID_ADDRESS:
        return None
    return value


def debuggee_state(process) -> str:
    """The process as a frameaudit command cares: "none", "running", "stopped" or "exited"."""
    if process is None or not process.IsValid():
        return "none"
    state = process.GetState()
    if state in (lldb.eStateStopped, lldb.eStateCrashed, lldb.eStateSuspended):
        return "stopped"
    if state in (lldb.eStateRunning, lldb.eStateStepping, lldb.eStateLaunching,
                 lldb.eStateAttaching):
        return "running"
    if state in (lldb.eStateExited, lldb.eStateDetached):
        return "exited"
    return "none"


class LLDBTarget(_core.Target):
    """The core's view of an LLDB target and its process (live or a core).

    target: an SBTarget. process: its SBProcess (default: target.GetProcess()).
    core_path: the core file the process was loaded from, used only when LLDB
    cannot say (SBProcess.GetCoreFile needs LLDB 16).
    """

    def __init__(self, target, process=None, core_path: Optional[str] = None):
        super().__init__()
        self.target = target
        self.process = process if process is not None else target.GetProcess()
        self.core_path = core_path

    # -- info ---------------------------------------------------------------

    def info(self) -> _core.TargetInfo:
        info = _core.TargetInfo()
        info.executable = _full_path(self.target.GetExecutable())
        process = self.process
        if process is not None and process.IsValid():
            core = None
            if hasattr(process, "GetCoreFile"):
                core = _full_path(process.GetCoreFile())
            info.core = core if core is not None else self.core_path
            pid = process.GetProcessID()
            if pid != 0 and pid != lldb.LLDB_INVALID_PROCESS_ID:
                info.pid = pid
        triple = self.target.GetTriple() or ""
        info.arch = triple.split("-", 1)[0]
        return info

    # -- memory -------------------------------------------------------------

    def read_memory(self, address: int, size: int) -> bytes:
        """process.ReadMemory; if short, the rest page by page, pages the
        process cannot give from target.ReadMemory (file-backed code in
        cores). The leading readable bytes."""
        process = self.process
        if process is None or not process.IsValid() or size <= 0:
            return b""
        error = lldb.SBError()
        data = process.ReadMemory(address, size, error)
        if error.Fail() or data is None:
            data = b""
        parts = [data]
        done = len(data)
        while done < size:
            at = address + done
            if at >= _ADDRESS_LIMIT:  # wrapped around the address space
                break
            chunk = min(size - done, _PAGE - at % _PAGE)
            page_error = lldb.SBError()
            got = process.ReadMemory(at, chunk, page_error)
            if page_error.Fail() or got is None:
                got = b""
            if len(got) < chunk:
                file_error = lldb.SBError()
                from_file = self.target.ReadMemory(lldb.SBAddress(at, self.target), chunk,
                                                   file_error)
                # The bytes it returns are good even when the error is set:
                # SBTarget.ReadMemory tries the process first (which fails
                # for code a kernel core left out), keeps that error, then
                # reads the module file.
                if from_file is None:
                    from_file = b""
                # The C++ front-end reads both into the same buffer: the file's
                # bytes first, then whatever the process gave beyond them.
                if from_file:
                    got = from_file + got[len(from_file):]
            parts.append(got[:chunk])
            done += min(len(got), chunk)
            if len(got) < chunk:
                break
        return b"".join(parts)

    def memory_regions(self) -> List[_core.MemoryRegion]:
        out = []
        process = self.process
        if process is None or not process.IsValid():
            return out
        regions = process.GetMemoryRegions()
        for i in range(regions.GetSize()):
            info = lldb.SBMemoryRegionInfo()
            if not regions.GetMemoryRegionAtIndex(i, info):
                continue
            name = info.GetName() or ""
            out.append(_core.MemoryRegion(
                start=info.GetRegionBase(), end=info.GetRegionEnd(),
                readable=info.IsReadable(), writable=info.IsWritable(),
                executable=info.IsExecutable(),
                is_stack=True if name == "[stack]" else None, name=name))
        out.sort(key=lambda r: r.start)  # stable, like std::stable_sort
        return out

    # -- threads ------------------------------------------------------------

    def threads(self) -> List[_core.ThreadInfo]:
        out = []
        process = self.process
        if process is None or not process.IsValid():
            return out
        selected = process.GetSelectedThread()
        selected_tid = selected.GetThreadID() if selected.IsValid() else None
        for i in range(process.GetNumThreads()):
            thread = process.GetThreadAtIndex(i)
            if not thread.IsValid():
                continue
            info = _core.ThreadInfo(tid=thread.GetThreadID(), index=thread.GetIndexID())
            info.name = thread.GetName()
            info.is_selected = info.tid == selected_tid
            info.stop_reason = _stop_description(thread)
            frame0 = thread.GetFrameAtIndex(0)
            if frame0.IsValid():
                info.registers = _registers(frame0)
            frames = []
            for f in range(_MAX_DEBUGGER_FRAMES):
                frame = thread.GetFrameAtIndex(f)
                if not frame.IsValid():
                    break
                frames.append(_core.DebuggerFrame(
                    pc=frame.GetPC(), cfa=_valid_address(frame.GetCFA()),
                    sp=_valid_address(frame.GetSP()), fp=_valid_address(frame.GetFP())))
            info.debugger_frames = frames
            out.append(info)
        out.sort(key=lambda t: t.index)
        return out

    # -- symbols ------------------------------------------------------------

    def symbolize(self, pc: int) -> _core.Symbol:
        symbol_info = _core.Symbol()
        target = self.target
        address = target.ResolveLoadAddress(pc)
        if not address.IsValid():
            return symbol_info
        sc = address.GetSymbolContext(lldb.eSymbolContextEverything)
        function = sc.GetFunction()
        symbol = sc.GetSymbol()
        name = None
        if function.IsValid():
            name = function.GetName()  # raw: the core applies plain_function_name
        elif symbol.IsValid():
            name = symbol.GetName()
        if name is not None:
            symbol_info.function = name

        # The function's range if it holds pc, else the symbol's (same test),
        # else none: a function split into hot and cold parts reports an end
        # before its start in LLDB 22; its ELF symbol covers the part with pc.
        def holds_pc(start, end) -> bool:
            a = start.GetLoadAddress(target)
            b = end.GetLoadAddress(target)
            if a == lldb.LLDB_INVALID_ADDRESS or b == lldb.LLDB_INVALID_ADDRESS \
                    or not a <= pc < b:
                return False
            symbol_info.function_start = a
            symbol_info.function_end = b
            return True

        if not (function.IsValid() and holds_pc(function.GetStartAddress(),
                                                 function.GetEndAddress())) \
                and symbol.IsValid():
            holds_pc(symbol.GetStartAddress(), symbol.GetEndAddress())

        inlined = []
        block = sc.GetBlock().GetContainingInlinedBlock()
        while block.IsValid() and len(inlined) < _MAX_INLINED:
            inlined_name = block.GetInlinedName()
            if inlined_name is not None:
                inlined.append(inlined_name)
            block = block.GetParent().GetContainingInlinedBlock()
        symbol_info.inlined = inlined

        line_entry = sc.GetLineEntry()
        if line_entry.IsValid():
            symbol_info.file = _full_path(line_entry.GetFileSpec())
            line = line_entry.GetLine()
            if line != 0:
                symbol_info.line = line
        module = sc.GetModule()
        if module.IsValid():
            symbol_info.module = module.GetFileSpec().GetFilename()
        return symbol_info

    def allocator_entries(self) -> List[int]:
        out = set()
        target = self.target
        contexts = target.FindSymbols(_ALLOCATOR)
        for i in range(contexts.GetSize()):
            symbol = contexts.GetContextAtIndex(i).GetSymbol()
            if not symbol.IsValid():
                continue
            if symbol.GetType() not in (lldb.eSymbolTypeCode, lldb.eSymbolTypeTrampoline):
                continue
            a = symbol.GetStartAddress().GetLoadAddress(target)
            if a != lldb.LLDB_INVALID_ADDRESS:
                out.add(a)
        return sorted(out)

    # -- lint ---------------------------------------------------------------

    def modules(self) -> List[_core.commands.ModuleInfo]:
        """The target's modules as `lint` sees them (rule in frameaudit/commands.h)."""
        out = []
        target = self.target
        for i in range(target.GetNumModules()):
            module = target.GetModuleAtIndex(i)
            if not module.IsValid():
                continue
            path = _full_path(module.GetFileSpec())
            if path is None:
                continue
            load_bias = 0
            header = module.GetObjectFileHeaderAddress()
            load = header.GetLoadAddress(target)
            if header.IsValid() and load != lldb.LLDB_INVALID_ADDRESS:
                load_bias = (load - header.GetFileAddress()) % _ADDRESS_LIMIT
            out.append(_core.commands.ModuleInfo(
                path=path, name=module.GetFileSpec().GetFilename(), load_bias=load_bias,
                references_allocator=module.FindSymbols(_ALLOCATOR).GetSize() > 0,
                debug_info=module.GetNumCompileUnits() > 0))
        return out


def _stop_description(thread) -> str:
    # The C++ front-end reads it into a 256-byte buffer: at most 255 bytes.
    description = thread.GetStopDescription(256) or ""
    raw = description.encode("utf-8", "surrogateescape")[:255]
    return raw.decode("utf-8", "ignore").strip(" \t\n\r\f\v")


def _registers(frame) -> _core.Registers:
    registers = _core.Registers()
    gpr = frame.GetRegisters().GetFirstValueByName("General Purpose Registers")
    if not gpr.IsValid():
        return registers

    def read(name: str) -> Optional[int]:
        value = gpr.GetChildMemberWithName(name)
        if not value.IsValid():
            return None
        error = lldb.SBError()
        v = value.GetValueAsUnsigned(error, 0)
        if error.Fail():
            return None
        return v

    registers.rip = read("rip") or 0
    registers.rsp = read("rsp") or 0
    registers.rbp = read("rbp") or 0
    general = []
    for name in _GENERAL_REGISTERS:
        v = read(name)
        if v is not None:
            general.append((name, v))
    registers.general = general
    return registers

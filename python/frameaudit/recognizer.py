"""Explain a stop inside sra_alloc: a frame recognizer and a frame-format hook.

sra_alloc moves its own calling stub and returns with its caller's RSP
lowered, so a stop in the middle of it (a breakpoint, a step, a crash while
relocating) shows a frame whose CFA jumps by the allocation's size. This
module says what is going on:

- ``SraAllocRecognizer``, registered with
  ``frame recognizer add -l frameaudit.recognizer.SraAllocRecognizer -x -s ".*" -n "^sra_alloc$"``:
  ``frame variable`` in an sra_alloc frame shows recognized arguments
  ``requested_size``, ``reserved``, ``caller_rsp_before`` and
  ``caller_rsp_after`` (the sentence is in the frame line: a char array
  would print as separate characters in an assembler frame).
- ``frame_annotation``, added to LLDB's ``frame-format`` as
  ``${script.frame:frameaudit.recognizer.frame_annotation}``: ``bt``,
  ``frame info`` and the stop display end an sra_alloc frame's line with
  ``[sra_alloc: relocating the caller's stub, caller RSP will drop by 48 bytes]``.
  It prints nothing for any other frame.

The phase comes from where the pc is relative to sra_alloc's own
instructions (the claim ``sub %rdx,%rsp``, the switch ``mov %rsp,%rbp``, the
``ret`` of the success path, the refusal and first-call paths after it), the
size from RDI (sra_alloc never changes it), the reservation from the layout
in sra.h: round16(size) + 16, or + 32 in audit mode. Read-only: registers
and instructions only.
"""

from typing import Dict, List, Optional, Tuple

import lldb

from . import _core

__all__ = ["SraAllocRecognizer", "AllocatorState", "describe", "frame_annotation", "register"]

ALLOCATOR = "sra_alloc"
STACK_RESERVE = _core.SRA_STACK_RESERVE
_AUDIT_MAGIC = hex(_core.SRA_AUDIT_MAGIC)
_HOOK = "${script.frame:%s.frame_annotation}"


class _Layout:
    """Addresses of the landmarks in one sra_alloc."""

    def __init__(self):
        self.start = 0
        self.end = 0
        self.claim: Optional[int] = None   # sub %rdx,%rsp
        self.switch: Optional[int] = None  # mov %rsp,%rbp after the claim
        self.rets: List[int] = []          # success ret, refusal ret
        self.audit = False

    @property
    def extra(self) -> int:
        return _core.SRA_AUDIT_HEADER_SIZE if self.audit else _core.SRA_STUB_SIZE


# (module path, start address) -> _Layout
_layouts: Dict[Tuple[str, int], _Layout] = {}


def _registers(ops: str) -> set:
    return {o.strip().lstrip("%") for o in ops.split(",")}


def _layout(frame) -> Optional[_Layout]:
    symbol = frame.GetSymbol()
    if not symbol.IsValid() or symbol.GetName() != ALLOCATOR:
        return None
    target = frame.GetThread().GetProcess().GetTarget()
    start = symbol.GetStartAddress().GetLoadAddress(target)
    key = (str(frame.GetModule().GetFileSpec()), start)
    cached = _layouts.get(key)
    if cached is not None:
        return cached
    layout = _Layout()
    layout.start = start
    layout.end = symbol.GetEndAddress().GetLoadAddress(target)
    instructions = symbol.GetInstructions(target)
    for i in range(instructions.GetSize()):
        inst = instructions.GetInstructionAtIndex(i)
        address = inst.GetAddress().GetLoadAddress(target)
        mnemonic = (inst.GetMnemonic(target) or "").lower()
        ops = (inst.GetOperands(target) or "").lower()
        if _AUDIT_MAGIC in ops:
            layout.audit = True
        if mnemonic.startswith("sub") and _registers(ops) == {"rdx", "rsp"} \
                and layout.claim is None:
            layout.claim = address
        elif mnemonic.startswith("mov") and _registers(ops) == {"rsp", "rbp"} \
                and layout.claim is not None and layout.switch is None:
            layout.switch = address
        elif mnemonic.startswith("ret"):
            layout.rets.append(address)
    _layouts[key] = layout
    return layout


class AllocatorState:
    """Where a frame inside sra_alloc is in the allocation."""

    def __init__(self, phase: str, size: Optional[int], reserved: Optional[int],
                 caller_rsp_before: Optional[int]):
        self.phase = phase  # checking, relocating, returning, refusing, initialising
        self.size = size
        self.reserved = reserved
        self.caller_rsp_before = caller_rsp_before

    @property
    def caller_rsp_after(self) -> Optional[int]:
        if self.caller_rsp_before is None or self.reserved is None:
            return None
        return self.caller_rsp_before - self.reserved

    def sentence(self) -> str:
        n = "?" if self.reserved is None else str(self.reserved)
        size = "?" if self.size is None else str(self.size)
        if self.phase == "checking":
            return (f"sra_alloc: checking a request of {size} bytes, caller RSP will drop by "
                    f"{n} bytes")
        if self.phase == "relocating":
            return f"sra_alloc: relocating the caller's stub, caller RSP will drop by {n} bytes"
        if self.phase == "returning":
            return f"sra_alloc: stub relocated, returning with caller RSP lowered by {n} bytes"
        if self.phase == "refusing":
            return (f"sra_alloc: refusing a request of {size} bytes (less than the "
                    f"{STACK_RESERVE // 1024} KiB reserve would remain), returning NULL")
        return "sra_alloc: first allocation on this thread, finding the stack's low bound"


def describe(frame) -> Optional[AllocatorState]:
    """The allocation state of a frame inside sra_alloc, or None for any other frame."""
    if frame is None or not frame.IsValid():
        return None
    layout = _layout(frame)
    if layout is None:
        return None
    pc = frame.GetPC()
    innermost = frame.GetFrameID() == 0
    size = None
    if innermost:
        rdi = frame.FindRegister("rdi")
        if rdi.IsValid():
            error = lldb.SBError()
            value = rdi.GetValueAsUnsigned(error, 0)
            if error.Success():
                size = value
    reserved = None if size is None else ((size + 15) & ~15) + layout.extra
    cfa = frame.GetCFA()
    cfa = None if cfa in (0, lldb.LLDB_INVALID_ADDRESS) else cfa

    success_ret = layout.rets[0] if layout.rets else layout.end
    refusal_ret = layout.rets[1] if len(layout.rets) > 1 else layout.end
    if pc > refusal_ret or not innermost:
        return AllocatorState("initialising", size, None, cfa)
    if pc > success_ret:
        return AllocatorState("refusing", size, None, cfa)
    if layout.claim is None or pc < layout.claim:
        return AllocatorState("checking", size, reserved, cfa)
    if layout.switch is None or pc <= layout.switch:
        # The CFI keeps CFA = the caller's RSP before the call until the switch.
        return AllocatorState("relocating", size, reserved, cfa)
    # After the switch the CFA is the caller's lowered RSP.
    before = None if cfa is None or reserved is None else cfa + reserved
    return AllocatorState("returning", size, reserved, before)


def frame_annotation(frame, internal_dict=None) -> str:
    """For frame-format: " [<sentence>]" for an sra_alloc frame, else ""."""
    try:
        state = describe(frame)
    except Exception:  # noqa: BLE001 - never break `bt`
        return ""
    return "" if state is None else f" [{state.sentence()}]"


class SraAllocRecognizer:
    """LLDB scripted frame recognizer for frames inside sra_alloc."""

    def get_recognized_arguments(self, frame):
        try:
            state = describe(frame)
        except Exception:  # noqa: BLE001 - a recognizer must never fail a stop
            state = None
        if state is None:
            return []
        target = frame.GetThread().GetProcess().GetTarget()
        values = []
        for name, value in (("requested_size", state.size), ("reserved", state.reserved),
                            ("caller_rsp_before", state.caller_rsp_before),
                            ("caller_rsp_after", state.caller_rsp_after)):
            if value is not None:
                v = _unsigned_value(target, name, value)
                if name.startswith("caller_rsp"):
                    v.SetFormat(lldb.eFormatHex)
                values.append(v)
        return [v for v in values if v is not None and v.IsValid()]

    def should_hide(self, frame):
        return False


def _unsigned_value(target, name: str, value: int):
    data = lldb.SBData.CreateDataFromUInt64Array(target.GetByteOrder(),
                                                 target.GetAddressByteSize(), [value])
    return target.CreateValueFromData(name, data,
                                      target.GetBasicType(lldb.eBasicTypeUnsignedLong))


def _handle(debugger, command: str):
    ret = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(command, ret, False)
    return ret


def register(debugger, module: str = __name__) -> None:
    """Add the recognizer and the frame-format hook to `debugger` (once)."""
    listed = _handle(debugger, "frame recognizer list")
    if f"{module}.SraAllocRecognizer" not in (listed.GetOutput() or ""):
        # sra is linked statically into each program: any module, exact name.
        # LLDB 20+ applies recognizers only at a function's first instruction
        # unless told otherwise (-f false); older LLDB has no -f.
        add = (f'frame recognizer add -l {module}.SraAllocRecognizer -x -s ".*" '
               f'-n "^{ALLOCATOR}$"')
        if not _handle(debugger, add + " -f false").Succeeded():
            _handle(debugger, add)
    hook = _HOOK % module
    setting = debugger.GetSetting("frame-format") if hasattr(debugger, "GetSetting") else None
    if setting is None or not setting.IsValid():
        return  # LLDB < 16: no way to read the format; the recognizer still works
    current = setting.GetStringValue(1 << 16)
    if not current or hook in current:
        return
    if current.endswith("\\n"):
        updated = current[:-2] + hook + "\\n"
    else:
        updated = current + hook
    lldb.SBDebugger.SetInternalVariable("frame-format", updated, debugger.GetInstanceName())

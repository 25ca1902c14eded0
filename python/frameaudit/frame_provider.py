"""`fa provider on|off`: frameaudit's frames in LLDB's own stack views.

`on` registers FrameauditFrameProvider as the target's scripted frame
provider (LLDB 22: SBTarget.RegisterScriptedFrameProvider), so `bt`,
`frame select`, `up`/`down` and lldb-dap's call stack show the frames of
frameaudit's walk. Where a frame matches LLDB's own at the same depth (same
pc and CFA) LLDB's frame is reused, with its variables and registers; where
they differ (an allocator-lowered frame LLDB unwound wrongly), a scripted
frame at frameaudit's pc is given instead (LLDB marks it [synthetic]), whose
variables `frame variable` reads at the locations frameaudit's walk gives
(the core evaluates the debug info's locations against the frame's
recovered registers and CFA). `fa bt` prints the same list with the
[repaired] and sra notes. Older LLDB has no frame providers: the command
says so and `fa bt` still works.
"""

import re
from typing import Dict, List, Optional

import lldb

from . import _core
from .lldb_target import LLDBTarget, _registers, _stop_description, _valid_address

try:  # LLDB 22+
    from lldb.plugins.scripted_frame_provider import ScriptedFrameProvider as _ProviderBase
    from lldb.plugins.scripted_process import ScriptedFrame as _FrameBase
except ImportError:  # pragma: no cover - older LLDB
    _ProviderBase = _FrameBase = object

CLASS_NAME = __name__ + ".FrameauditFrameProvider"

# frameaudit's frames by (process unique id, stop id, thread id), walked
# when `fa provider on` (or `fa provider refresh`, `fa bt`) runs. The
# provider itself only reads this: LLDB calls it on its own threads, where
# running the core (which releases and retakes the GIL) crashed LLDB 22.
_walks: Dict[tuple, list] = {}
_MAX_INPUT_FRAMES = 100_000

# Provider ids by (debugger id, target index): `off` must remove what `on` added.
_registered: Dict[tuple, int] = {}


def available() -> bool:
    return _ProviderBase is not object and hasattr(lldb.SBTarget, "RegisterScriptedFrameProvider")


def _key(debugger, target) -> tuple:
    return (debugger.GetID(), debugger.GetIndexOfTarget(target))


def _walk_key(process, thread) -> tuple:
    return (process.GetUniqueID(), process.GetStopID(), thread.GetThreadID())


def refresh(debugger, target) -> int:
    """Walk every thread of the target's process at this stop, for the
    provider. Returns the number of threads walked."""
    process = target.GetProcess()
    if not process.IsValid():
        return 0
    stop = process.GetStopID()
    for key in [k for k in _walks if k[0] == process.GetUniqueID() and k[1] != stop]:
        del _walks[key]
    walked = 0
    for i in range(process.GetNumThreads()):
        thread = process.GetThreadAtIndex(i)
        frames = thread.GetFrames() if hasattr(thread, "GetFrames") else None
        if frames is None or not frames.IsValid():
            continue
        report = _core.analyze(_OneThread(thread, frames), threads=[thread.GetIndexID()],
                               frame_variables=True)
        if report.threads:
            _walks[_walk_key(process, thread)] = list(report.threads[0].frames)
            walked += 1
    return walked


def command(debugger, target, on: Optional[bool]) -> str:
    """What `fa provider [on|off]` does and prints; raises FrameauditError."""
    if not available():
        raise _core.FrameauditError(
            "this LLDB has no scripted frame providers (they need LLDB 22; this is "
            f"{debugger.GetVersionString().splitlines()[0]}); `fa bt` prints frameaudit's frames.")
    if not target.IsValid():
        raise _core.FrameauditError(_core.commands.messages.NO_TARGET)
    key = _key(debugger, target)
    current = _registered.get(key)
    if on is None:
        return ("frameaudit's frame provider is on (id %d).\n" % current if current
                else "frameaudit's frame provider is off.\n")
    if on:
        if current:
            # Walk again (after a new stop) with LLDB's own unwind as the
            # input: asking a thread for its frames while the provider is
            # registered would wait on the provider.
            target.RemoveScriptedFrameProvider(current)
            del _registered[key]
        walked = refresh(debugger, target)
        error = lldb.SBError()
        provider_id = target.RegisterScriptedFrameProvider(CLASS_NAME, lldb.SBStructuredData(),
                                                           error)
        if error.Fail() or not provider_id:
            raise _core.FrameauditError(f"cannot register the frame provider: {error.GetCString()}")
        _registered[key] = provider_id
        threads = "1 thread" if walked == 1 else f"{walked} threads"
        return (f"frameaudit's frame provider is on (id {provider_id}, {threads} walked): "
                "bt, frame select, up/down and lldb-dap show frameaudit's frames; after the "
                "process stops again, `fa provider on` walks them again; `fa provider off` "
                "removes it.\n")
    if not current:
        return "frameaudit's frame provider is already off.\n"
    error = target.RemoveScriptedFrameProvider(current)
    del _registered[key]
    if error.Fail():
        raise _core.FrameauditError(f"cannot remove the frame provider: {error.GetCString()}")
    return "frameaudit's frame provider is off: bt shows LLDB's own unwind again.\n"


class _OneThread(LLDBTarget):
    """The provider's thread as the core sees it, from the provider's input
    frames (LLDB's own unwind): asking the thread for its frames here would
    ask the provider again."""

    def __init__(self, thread, input_frames):
        process = thread.GetProcess()
        super().__init__(process.GetTarget(), process)
        self.thread, self.input_frames = thread, input_frames

    def threads(self) -> List[_core.ThreadInfo]:
        thread = self.thread
        info = _core.ThreadInfo(tid=thread.GetThreadID(), index=thread.GetIndexID())
        info.name = thread.GetName()
        info.is_selected = True
        info.stop_reason = _stop_description(thread)
        frames = []
        count = min(self.input_frames.GetSize(), _MAX_INPUT_FRAMES)
        for i in range(count):
            frame = self.input_frames.GetFrameAtIndex(i)
            if not frame.IsValid():
                break
            if i == 0:
                info.registers = _registers(frame)
            frames.append(_core.DebuggerFrame(
                pc=frame.GetPC(), cfa=_valid_address(frame.GetCFA()),
                sp=_valid_address(frame.GetSP()), fp=_valid_address(frame.GetFP())))
        info.debugger_frames = frames
        return [info]


class FrameauditFrameProvider(_ProviderBase):
    """frameaudit's walk as the thread's frames (see the module doc)."""

    @staticmethod
    def get_description():
        return "frameaudit: the frames of frameaudit's own stack walk"

    def __init__(self, input_frames, args):
        super().__init__(input_frames, args)

    def _walk(self):
        """frameaudit's frames of this thread at this stop, or None (not
        walked yet: LLDB's own frames are shown)."""
        try:
            return _walks.get(_walk_key(self.process, self.thread))
        except Exception:  # noqa: BLE001 - never break LLDB's bt
            return None

    def get_frame_at_index(self, index):
        frames = self._walk()
        if frames is None:  # the walk failed: LLDB's own frames
            return index if index < self.input_frames.GetSize() else None
        if index >= len(frames):
            return None
        frame = frames[index]
        mine = self.input_frames.GetFrameAtIndex(index) if index < self.input_frames.GetSize() \
            else None
        if mine is not None and mine.IsValid() and mine.GetPC() == frame.pc and \
                (frame.cfa is None or _valid_address(mine.GetCFA()) == frame.cfa):
            return index  # LLDB's frame, with its variables and registers
        if _FrameBase is object:
            return {"idx": index, "pc": frame.pc}
        return _RepairedFrame(self.thread, index, frame)


_IDENTIFIER = re.compile(r"\s*([A-Za-z_]\w*)(.*)$", re.S)


class _RepairedFrame(_FrameBase):
    """One of frameaudit's frames where LLDB's own unwind went wrong: its pc,
    and its variables at the locations frameaudit's walk computed.

    It has no register context: LLDB 22 builds a scripted frame's registers
    on a register description it frees at once, and reading them crashed
    LLDB, so get_register_info returns None and LLDB makes none. `frame
    variable` reads what get_variables gives; `expression` needs registers
    and reports that it cannot read the frame (docs/user-guide.md)."""

    def __init__(self, thread, index, frame):
        self.index, self.frame = index, frame
        self._values = None
        super().__init__(thread, lldb.SBStructuredData())
        self.target = thread.GetProcess().GetTarget()

    def get_id(self):
        return self.index

    def get_pc(self):
        return self.frame.pc

    def is_artificial(self):
        return False

    def get_register_info(self):
        return None

    def get_register_context(self):
        return None

    def _declared(self):
        """LLDB's own variables of the scopes at the pc, innermost first, by
        name: they carry the types, and LLDB lists a frame's variables only
        from values that have a declaration."""
        target = self.target
        pc = self.frame.pc - 1 if self.index else self.frame.pc
        sc = target.ResolveSymbolContextForAddress(target.ResolveLoadAddress(pc),
                                                   lldb.eSymbolContextEverything)
        declared = {}
        block, top = sc.GetBlock(), sc.GetFunction().GetBlock()
        while block.IsValid():
            values = block.GetVariables(target, True, True, False)
            for i in range(values.GetSize()):
                value = values.GetValueAtIndex(i)
                declared.setdefault(value.GetName(), value)
            if block == top:
                break
            block = block.GetParent()
        return declared

    def _frame_values(self):
        """(ours, declared) for each variable frameaudit located: ours reads
        the variable where this frame keeps it."""
        if self._values is not None:
            return self._values
        self._values = []
        try:
            declared = self._declared()
            order = lldb.eByteOrderLittle
            for var in self.frame.variables:
                decl = declared.get(var.name)
                if decl is None or var.where == "unavailable":
                    continue
                vtype = decl.GetType()
                if var.where == "memory":
                    ours = self.target.CreateValueFromAddress(
                        var.name, lldb.SBAddress(var.address, self.target), vtype)
                elif var.value is not None:
                    data = lldb.SBData.CreateDataFromUInt64Array(order, 8, [var.value])
                    ours = self.target.CreateValueFromData(var.name, data, vtype)
                else:
                    continue
                if ours.IsValid():
                    self._values.append((ours, decl))
        except Exception:  # noqa: BLE001 - never break LLDB's frame views
            self._values = []
        return self._values

    def get_variables(self, filters=None):
        values = lldb.SBValueList()
        pairs = self._frame_values()
        # Ours first: LLDB looks a listed variable up by name and takes the
        # first value; the declared ones after make LLDB list them at all.
        for ours, _ in pairs:
            values.Append(ours)
        for _, decl in pairs:
            values.Append(decl)
        return values

    def get_value_for_variable_expression(self, expr, options=None, error=None):
        match = _IDENTIFIER.match(expr or "")
        if match:
            for ours, _ in self._frame_values():
                if ours.GetName() == match.group(1):
                    rest = match.group(2).strip()
                    return ours.GetValueForExpressionPath(rest) if rest else ours
        if isinstance(error, lldb.SBError):
            error.SetErrorString(f"frameaudit's frame #{self.index} has no variable "
                                 f"for '{expr}'")
        return None

"""test_cfi_lldb.py: LLDB 22 unwinds through sra_alloc at every instruction.

For each cfi_target build (caller at -O0 and -O2, plain and audit) and each
path through the allocator (first call on the thread, ordinary call, refused
call), break on the `call sra_alloc` in cfi_caller, then StepInstruction
through every instruction of sra_alloc.  At every stop:

  - frame 0 is sra_alloc, frames 1..3 are cfi_caller, cfi_outer, main;
  - frame 1's pc is the call's return address and its RBP the caller's;
  - frame 1's SP is R (the caller's RSP at the call) until the instruction
    that points RBP at the relocated stub has run, and R - reserved after it
    (R on the refused path, always);
  - frames 2 and 3 are exactly what they were before the call.

After the return, frame 0 is cfi_caller with RSP = R - reserved (or R).
"""
import pytest

from sra_testlib import TEST_BIN, import_lldb, require_tool, reserved

lldb = import_lldb()
@pytest.fixture(autouse=True)
def _lldb_installed():
    """Without lldb-22 every test here fails, naming it (never a skip)."""
    require_tool("lldb-22", "the allocator's CFI test under LLDB")

TARGETS = [(opt, mode) for opt in ("O0", "O2") for mode in ("plain", "audit")]
PATHS = {"first": 100, "normal": 100, "fail": None}
MAX_STEPS = 200


def frame_name(frame):
    return frame.GetFunctionName() or frame.GetSymbol().GetName()


def find_call(target, caller, callee_addr):
    for insn in caller.GetInstructions(target, "att"):
        ops = insn.GetOperands(target).strip()
        if insn.GetMnemonic(target).startswith("call") and ops.startswith("0x"):
            if int(ops, 16) == callee_addr:
                return insn
    raise AssertionError("no call to sra_alloc in cfi_caller")


@pytest.fixture(scope="module")
def debugger():
    dbg = lldb.SBDebugger.Create()
    dbg.SetAsync(False)
    yield dbg
    lldb.SBDebugger.Destroy(dbg)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("opt,mode", TARGETS)
def test_step_through_sra_alloc(debugger, opt, mode, path):
    exe = TEST_BIN / f"sra_cfi_target_{opt}_{mode}"
    target = debugger.CreateTarget(str(exe))
    assert target.IsValid(), exe
    try:
        sym = target.FindSymbols("sra_alloc")[0].GetSymbol()
        sra_start = sym.GetStartAddress()
        caller = target.FindFunctions("cfi_caller")[0].GetFunction()
        call = find_call(target, caller, sra_start.GetFileAddress())
        target.BreakpointCreateBySBAddress(call.GetAddress())

        error = lldb.SBError()
        info = lldb.SBLaunchInfo([path])
        info.SetWorkingDirectory(str(TEST_BIN))
        process = target.Launch(info, error)
        assert error.Success(), error.GetCString()
        assert process.GetState() == lldb.eStateStopped
        thread = process.GetSelectedThread()

        # Before the call: R, the caller's registers, the outer frames.
        f0 = thread.GetFrameAtIndex(0)
        assert frame_name(f0) == "cfi_caller"
        R = f0.GetSP()
        caller_fp = f0.GetFP()
        ret_addr = call.GetAddress().GetLoadAddress(target) + call.GetByteSize()
        outer = [(frame_name(thread.GetFrameAtIndex(i)), thread.GetFrameAtIndex(i).GetSP(),
                  thread.GetFrameAtIndex(i).GetPC()) for i in (1, 2)]
        assert [o[0] for o in outer] == ["cfi_outer", "main"]

        # The instruction after which the CFA is the relocated stub: the
        # second `movq %rsp, %rbp` of sra_alloc.
        sra_insns = sym.GetInstructions(target, "att")
        movs = [i.GetAddress().GetLoadAddress(target) for i in sra_insns
                if i.GetMnemonic(target).startswith("mov")
                and i.GetOperands(target).replace(" ", "") == "%rsp,%rbp"]
        assert len(movs) == 2, "expected two movq %rsp,%rbp in sra_alloc"
        commit_pc = movs[1]
        size = PATHS[path]
        lowered = reserved(size, mode) if size is not None else 0

        committed = False
        stepped_over = 0
        seen = set()
        steps = 0
        while True:
            pc_before = thread.GetFrameAtIndex(0).GetPC()
            insn = target.ReadInstructions(lldb.SBAddress(pc_before, target), 1, "att")[0]
            over = insn.GetMnemonic(target).startswith("call") and steps > 0
            stepped_over += over
            thread.StepInstruction(over)
            steps += 1
            assert steps < MAX_STEPS, "never returned from sra_alloc"
            if pc_before == commit_pc:
                committed = True
            f0 = thread.GetFrameAtIndex(0)
            if frame_name(f0) != "sra_alloc":
                break
            pc = f0.GetPC()
            seen.add(pc)
            where = f"{exe.name} {path}: at sra_alloc+{pc - sra_start.GetLoadAddress(target)}"
            names = [frame_name(thread.GetFrameAtIndex(i)) for i in range(4)]
            assert names == ["sra_alloc", "cfi_caller", "cfi_outer", "main"], where
            f1 = thread.GetFrameAtIndex(1)
            assert f1.GetPC() == ret_addr, where
            assert f1.GetFP() == caller_fp, where
            expect_sp = R - lowered if committed else R
            assert f1.GetSP() == expect_sp, f"{where}: caller SP {f1.GetSP():#x}, expected {expect_sp:#x}"
            for i, (name, sp, fpc) in enumerate(outer, start=2):
                fi = thread.GetFrameAtIndex(i)
                assert (frame_name(fi), fi.GetSP(), fi.GetPC()) == (name, sp, fpc), where

        # Back in the caller, at the return address.
        f0 = thread.GetFrameAtIndex(0)
        assert frame_name(f0) == "cfi_caller"
        assert f0.GetPC() == ret_addr
        assert f0.GetSP() == R - lowered
        assert f0.GetFP() == caller_fp
        rax = f0.FindRegister("rax").GetValueAsUnsigned()
        assert rax == (R - lowered if size is not None else 0)
        assert committed == (size is not None)
        # Only the thread's first allocation calls into the runtime.
        assert stepped_over == (1 if path == "first" else 0)
        assert len(seen) >= 15, "stepped too few instructions: %d" % len(seen)
        process.Kill()
    finally:
        debugger.DeleteTarget(target)

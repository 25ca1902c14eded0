"""test_cfi_gdb.py: gdb unwinds through sra_alloc at every instruction.

The same checks as test_cfi_lldb.py, with gdb's unwinder: gdb runs
gdb_step_sra.py, which stepi's through sra_alloc and records the unwound
frames at each stop; this file checks them.
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sra_testlib import TEST_BIN, require_tool, reserved

GDB = shutil.which("gdb")

@pytest.fixture(autouse=True)
def _gdb_installed():
    """Without gdb every test here fails, naming it (never a skip)."""
    require_tool("gdb", "the allocator's CFI test under gdb")

HERE = Path(__file__).resolve().parent
PATHS = {"first": 100, "normal": 100, "fail": None}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("opt", ["O0", "O2"])
@pytest.mark.parametrize("mode", ["plain", "audit"])
def test_gdb_step_through_sra_alloc(tmp_path, opt, mode, path):
    exe = TEST_BIN / f"sra_cfi_target_{opt}_{mode}"
    out = tmp_path / "steps.json"
    proc = subprocess.run([GDB, "-nx", "-batch", "-x", str(HERE / "gdb_step_sra.py"),
                           "--args", str(exe), path],
                          env={"SRA_GDB_OUT": str(out), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout + proc.stderr
    rec = json.loads(out.read_text())

    before = rec["before"]
    assert [f["name"] for f in before] == ["cfi_caller", "cfi_outer", "main"]
    R, caller_fp = before[0]["sp"], before[0]["fp"]
    size = PATHS[path]
    lowered = reserved(size, mode) if size is not None else 0
    assert len(rec["movs"]) == 2
    commit_pc = rec["movs"][1]

    committed = False
    inside = rec["steps"][:-1]
    assert len(inside) >= 15
    for step in inside:
        if step["pc_before"] == commit_pc:
            committed = True
        f = step["frames"]
        where = f"{exe.name} {path}: at sra_alloc+{f[0]['pc'] - rec['sra_start']}"
        assert [x["name"] for x in f] == ["sra_alloc", "cfi_caller", "cfi_outer", "main"], where
        assert f[1]["pc"] == rec["ret_addr"], where
        assert f[1]["fp"] == caller_fp, where
        expect = R - lowered if committed else R
        assert f[1]["sp"] == expect, f"{where}: caller SP {f[1]['sp']:#x}, expected {expect:#x}"
        assert f[2:] == before[1:], where
    if inside[-1]["pc_before"] == commit_pc or rec["steps"][-1]["pc_before"] == commit_pc:
        committed = True
    assert committed == (size is not None)
    assert rec["stepped_over"] == (1 if path == "first" else 0)

    after = rec["after"]
    assert after[0]["name"] == "cfi_caller"
    assert after[0]["pc"] == rec["ret_addr"]
    assert after[0]["sp"] == R - lowered
    assert after[0]["fp"] == caller_fp
    assert after[1:] == before[1:]

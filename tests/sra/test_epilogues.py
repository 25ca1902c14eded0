"""test_epilogues.py: SRA_ALLOC against the code GCC and Clang generate.

Runs check_sra_callers.py (objdump of every sra_alloc caller) over the
whole fixture matrix, checks it flags the unsafe fixtures for the right
reason, and builds fixtures with GCC's -maccumulate-outgoing-args (stack
arguments stored at 0(%rsp) instead of pushed), which SRA_ALLOC must
survive at run time.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sra_testlib import BUILD_DIR, MATRIX_JSON, matrix, require_tool

HERE = Path(__file__).resolve().parent
CHECKER = HERE / "check_sra_callers.py"
FIXTURES = HERE.parent / "fixtures"


def run_checker(*args):
    return subprocess.run([sys.executable, str(CHECKER), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_matrix_callers_restore_rsp_from_rbp():
    r = run_checker("--matrix", MATRIX_JSON)
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    assert rows, "no cells checked"
    for row in rows:
        # cell = "gcc -O2 nofp", then binaries, callers, rsp-uses, bad
        assert int(row[4]) > 0, f"no sra_alloc callers found in {row[:3]}"
        assert int(row[6]) == 0


def unsafe_binaries(fixture):
    return [b for b in matrix() if b["fixture"] == fixture]


def test_checker_flags_add_rsp_epilogue():
    bins = unsafe_binaries("unsafe")
    assert bins
    for b in bins:
        r = run_checker(b["path"])
        assert r.returncode == 1, b["name"]
        assert "unsafe_victim: ret at" in r.stderr and "add $0x" in r.stderr, r.stderr


def test_checker_flags_deferred_pop_store():
    for b in unsafe_binaries("unsafe_vla"):
        r = run_checker(b["path"])
        if b["compiler"] == "gcc":
            assert r.returncode == 1 and "touches the block" in r.stderr, (b["name"], r.stderr)
        else:
            assert r.returncode == 0, (b["name"], r.stderr)


GCC = shutil.which("gcc")


@pytest.mark.parametrize("tuning", ["-maccumulate-outgoing-args", "-mtune=intel"])
@pytest.mark.parametrize("opt", ["-O0", "-O1", "-O2", "-O3", "-Os"])
@pytest.mark.parametrize("fixture", ["nested", "loop"])
def test_accumulate_outgoing_args(tmp_path, fixture, opt, tuning):
    require_tool("gcc", "the -maccumulate-outgoing-args builds")
    exe = tmp_path / fixture
    subprocess.run([GCC, "-std=gnu11", opt, tuning, "-g", f"-I{FIXTURES}",
                    f"-I{HERE.parent.parent / 'native' / 'sra' / 'include'}",
                    str(FIXTURES / f"{fixture}.c"),
                    str(BUILD_DIR / "tests" / "fixtures" / "libfx_common_plain.a"),
                    str(BUILD_DIR / "native" / "sra" / "libsra.a"), "-pthread", "-o", str(exe)],
                   check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # No static check here: SRA_ALLOC moves the outgoing-argument area only
    # on the branch taken when that area exists (gap != 0), which a linear
    # scan of the disassembly cannot tell from the fall-through.  The run
    # above, with stack-argument calls after live blocks, is the proof.

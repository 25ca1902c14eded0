"""sra_testlib.py: paths and helpers shared by the allocator's pytest files.

The CTest entries pass the build tree in SRA_TEST_BUILD_DIR; run by hand,
point it at your build directory.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BUILD_DIR = Path(os.environ.get("SRA_TEST_BUILD_DIR", "build")).resolve()
TEST_BIN = BUILD_DIR / "tests" / "sra"
MATRIX_JSON = BUILD_DIR / "fixtures" / "matrix.json"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from required_tools import missing_tool, require_tool  # noqa: E402,F401 - re-exported

# Bytes the allocator adds above the rounded block: the stub remnant
# (plain) or the audit header (audit).  See native/sra/include/sra.h.
EXTRA = {"plain": 16, "audit": 32}


def round16(n):
    return (n + 15) & ~15


def reserved(size, mode):
    return round16(size) + EXTRA[mode]


def matrix():
    with open(MATRIX_JSON) as f:
        return json.load(f)["binaries"]


def import_lldb():
    """Imports LLDB 22's Python module in-process (lldb-22 -P), and points
    it at lldb-server, which Debian installs outside PATH."""
    lldb_bin = shutil.which("lldb-22") or shutil.which("lldb")
    if not lldb_bin:
        return None
    path = subprocess.check_output([lldb_bin, "-P"], text=True).strip()
    if path not in sys.path:
        sys.path.insert(0, path)
    if "LLDB_DEBUGSERVER_PATH" not in os.environ:
        for cand in ("/usr/lib/llvm-22/bin/lldb-server", shutil.which("lldb-server-22") or ""):
            if cand and os.path.exists(cand):
                os.environ["LLDB_DEBUGSERVER_PATH"] = cand
                break
    import lldb  # noqa: E402

    return lldb

"""The external tools the test suites call, each with the Debian package that
provides it (scripts/setup.sh installs every one).

A suite that needs a tool it cannot find fails with a sentence naming the
tool and its package: it never skips and never passes without it, so a
machine that lacks a tool cannot look green. Every suite directory
puts tests/ on sys.path and calls require_tool().
"""

from __future__ import annotations

import shutil

LLDB_MAJOR = 22

# tool -> Debian package (Debian 12)
PACKAGES = {
    "gcc": "gcc", "g++": "g++", "clang": "clang", "clang++": "clang",
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu", "qemu-aarch64": "qemu-user",
    "gdb": "gdb",
    f"lldb-{LLDB_MAJOR}": f"lldb-{LLDB_MAJOR}", f"lldb-server-{LLDB_MAJOR}": f"lldb-{LLDB_MAJOR}",
    "nm": "binutils", "readelf": "binutils", "objdump": "binutils", "strip": "binutils",
    "objcopy": "binutils", "ar": "binutils", "addr2line": "binutils",
    "sleep": "coreutils", "true": "coreutils",
}


def missing_tool(tool: str, why: str = "") -> str:
    """The one sentence a suite fails with when `tool` is not on PATH."""
    need = f", which {why} needs," if why else ""
    return (f"{tool}{need} is not installed: install the Debian package "
            f"{PACKAGES.get(tool, tool)} (scripts/setup.sh does)")


def require_tool(tool: str, why: str = "") -> str:
    """The path of `tool`, or fail the calling test with missing_tool()."""
    path = shutil.which(tool)
    if path is None:
        import pytest
        pytest.fail(missing_tool(tool, why), pytrace=False)
    return path

"""A tiny crashing program and its real cores (gdb gcore, LLDB minidump), for
the CLI tests that need a core but not the fixture matrix: inputs (compressed,
piped), outputs, signals, LLDB's own crashes."""

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

import cores

CRASHER_C = r"""
__attribute__((noinline)) void crash_here(int *p) { *p = 1; }
int main(void) { crash_here(0); return 0; }
"""


@dataclass
class Crasher:
    exe: Path
    gcore: Path
    minidump: Optional[Path]


def make_crasher(workdir: Path) -> Crasher:
    src = workdir / "crasher.c"
    src.write_text(CRASHER_C)
    exe = workdir / "crasher"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(src)], check=True)
    made = {}
    for fmt in ("gcore", "minidump"):
        d = workdir / fmt
        d.mkdir()
        core = cores.make_core(fmt, exe, d, "none")
        if isinstance(core, str):
            pytest.fail(core)
        made[fmt] = core.path
    return Crasher(exe, made["gcore"], made["minidump"])

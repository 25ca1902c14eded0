"""A tiny crashing program and its real cores (gdb gcore, LLDB minidump), for
the CLI tests that need a core but not the fixture matrix: inputs (compressed,
piped), outputs, signals, LLDB's own crashes."""

import os
import subprocess
import time
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


def gone_pid(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for its reaper counts as gone)."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


WORKER_NAME = "frameaudit-wkr"  # what a worker calls itself (core_worker.py, PR_SET_NAME)


def workers_of(pid: int):
    """The analysis workers of the CLI `pid`: children forked from it that
    took the worker's name."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        if comm == WORKER_NAME and parent_of(int(entry)) == pid:
            found.append(int(entry))
    return found


def wait_for(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()

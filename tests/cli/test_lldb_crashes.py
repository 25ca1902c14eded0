"""Files LLDB itself crashes on are refused before LLDB sees them: a
minidump whose thread count is larger than its ThreadList stream, an ELF
core whose PT_LOAD segments all map one address, an executable whose
.symtab has sh_entsize 0. When LLDB does crash (shown by switching the
checks off: FRAMEAUDIT_LLDB_CRASH_CHECKS=0), the message blames LLDB or the
file, not frameaudit, and names the worker's log.
"""

import json
import re
import struct
from pathlib import Path

import pytest

from conftest import one_line, run_cli, validate_sarif
from crasher import make_crasher

pytestmark = pytest.mark.usefixtures("core_module_built")


@pytest.fixture(scope="module")
def malformed(tmp_path_factory):
    d = tmp_path_factory.mktemp("lldb-crashes")
    c = make_crasher(d)
    # 1. A minidump claiming a million threads in a one-thread ThreadList stream.
    data = bytearray(c.minidump.read_bytes())
    nstreams, dir_rva = struct.unpack_from("<II", data, 8)
    for i in range(nstreams):
        stype, _size, rva = struct.unpack_from("<III", data, dir_rva + i * 12)
        if stype == 3:  # ThreadList: NumberOfThreads first
            struct.pack_into("<I", data, rva, 1_000_000)
    threads = d / "threads.dmp"
    threads.write_bytes(bytes(data))
    # 2. An ELF core whose every PT_LOAD is at the first one's address.
    data = bytearray(c.gcore.read_bytes())
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    first = None
    for i in range(phnum):
        at = phoff + i * 56
        if struct.unpack_from("<I", data, at)[0] == 1:
            first = first if first is not None else struct.unpack_from("<Q", data, at + 16)[0]
            struct.pack_into("<Q", data, at + 16, first)
    one_address = d / "one-address.core"
    one_address.write_bytes(bytes(data))
    # 3. The executable with sh_entsize 0 in its .symtab section header.
    data = bytearray(c.exe.read_bytes())
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, = struct.unpack_from("<H", data, 60)
    for i in range(shnum):
        if struct.unpack_from("<I", data, shoff + i * 64 + 4)[0] == 2:  # SHT_SYMTAB
            struct.pack_into("<Q", data, shoff + i * 64 + 56, 0)
    entsize0 = d / "crasher-entsize0"
    entsize0.write_bytes(bytes(data))
    entsize0.chmod(0o755)
    return {"crasher": c, "threads": threads, "one_address": one_address, "entsize0": entsize0}


def test_minidump_thread_count(frameaudit, malformed):
    path = malformed["threads"]
    result = run_cli("analyze", "--exe", malformed["crasher"].exe, path)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr) == (
        f"frameaudit: {path}: corrupt minidump: the ThreadList stream claims 1000000 threads but "
        "has room for 1 (52 bytes); LLDB would read past it")


def test_core_loads_at_one_address(frameaudit, malformed):
    path = malformed["one_address"]
    result = run_cli("analyze", "--exe", malformed["crasher"].exe, path)
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result.stderr)
    assert re.fullmatch(rf"frameaudit: {re.escape(str(path))}: corrupt core: PT_LOAD segments \d+ "
                        r"and \d+ both map 0x[0-9a-f]+ \(the memory segments of a core never "
                        r"overlap; LLDB would misread or crash on it\)", line), line


def test_symtab_entry_size_zero(frameaudit, malformed):
    exe = malformed["entsize0"]
    for args in (["analyze", "--exe", exe, malformed["crasher"].gcore], ["run", "--", exe]):
        result = run_cli(*args)
        assert result.returncode == 2 and result.stdout == ""
        line = one_line(result.stderr)
        assert line.startswith(f"frameaudit: {exe}: corrupt ELF file: its .symtab section"), line
        assert line.endswith("has entries of 0 bytes, not 24; LLDB cannot load it"), line


def test_lint_does_not_need_the_check(frameaudit, malformed):
    """lint reads the file itself, not through LLDB: the entry size is no problem there."""
    result = run_cli("lint", malformed["entsize0"])
    assert result.returncode == 0, result.stderr
    assert "no calls to sra_alloc" in result.stdout


@pytest.mark.parametrize("which, signal_name", [("threads", "SIGSEGV"), ("entsize0", "SIGFPE")])
def test_lldb_crash_is_named(frameaudit, malformed, tmp_path, which, signal_name):
    c = malformed["crasher"]
    core = malformed["threads"] if which == "threads" else c.gcore
    exe = c.exe if which == "threads" else malformed["entsize0"]
    sarif = tmp_path / "r.sarif"
    result = run_cli("analyze", "--exe", exe, "--output-sarif", sarif, "--output-text", "-",
                     core, env={"FRAMEAUDIT_LLDB_CRASH_CHECKS": "0", "TMPDIR": str(tmp_path)})
    assert result.returncode == 2
    line = one_line(result.stderr)
    m = re.fullmatch(rf"frameaudit: {re.escape(str(core))}: LLDB crashed while loading "
                     rf"{re.escape(str(core))} \(a bug in LLDB or a malformed file; the worker was "
                     rf"killed by {signal_name}\); the worker's log is (\S+)", line)
    assert m, line
    log = Path(m.group(1))
    assert log.parent == tmp_path and log.name.startswith("frameaudit-worker-")
    text = log.read_text()
    assert f"frameaudit worker for {core}" in text and "Fatal Python error" in text
    # Nothing analysed, so nothing written (text to stdout, the SARIF log).
    assert result.stdout == "" and not sarif.exists()


def test_lldb_crash_beside_a_good_core(frameaudit, malformed, tmp_path):
    """The crashing core is a failed run in SARIF (validated); the good one is reported."""
    c = malformed["crasher"]
    sarif = tmp_path / "r.sarif"
    result = run_cli("analyze", "--exe", c.exe, "--format", "sarif", "-o", sarif,
                     c.gcore, malformed["threads"],
                     env={"FRAMEAUDIT_LLDB_CRASH_CHECKS": "0", "TMPDIR": str(tmp_path)})
    assert result.returncode == 2
    assert "LLDB crashed while loading" in one_line(result.stderr)
    log = json.loads(sarif.read_text())
    assert [bool(r.get("invocations")) for r in log["runs"]] == [False, True]
    assert "LLDB crashed" in log["runs"][1]["invocations"][0]["toolExecutionNotifications"][0][
        "message"]["text"]
    validate_sarif(sarif)

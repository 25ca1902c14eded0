"""The bad-input corpus: every input `analyze` must refuse before LLDB sees it,
each with exit status 2, nothing on stdout and exactly one line on stderr
naming the file and what is wrong.

The cores here come from a tiny crashing C program built by the test (no
fixture matrix, no analysis core needed): truncations are cut from real
gdb, kernel and LLDB cores.
"""

import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

import cores
from conftest import one_line, run_cli

CRASH_C = r"""
#include <stdio.h>
__attribute__((noinline)) void crash_here(int *p) { *p = %d; }
int main(void) { crash_here(0); return 0; }
"""


def _compile(workdir: Path, name: str, variant: int) -> Path:
    src = workdir / f"{name}.c"
    src.write_text(CRASH_C % variant)
    exe = workdir / name
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(src)], check=True)
    return exe


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Real cores of a small crasher, and its executables."""
    d = tmp_path_factory.mktemp("bad-inputs")
    exe = _compile(d, "crasher", 1)
    other = _compile(d, "crasher_other", 2)
    made = {}
    for fmt in ("gcore", "minidump", "kernel"):
        work = d / fmt
        work.mkdir()
        core = cores.make_core(fmt, exe, work, "none")
        made[fmt] = core.path if isinstance(core, cores.Core) else core
    return {"dir": d, "exe": exe, "other": other, "cores": made}


def _core(corpus, fmt) -> Path:
    core = corpus["cores"][fmt]
    if isinstance(core, str):
        if fmt == "kernel":
            pytest.skip(core)
        pytest.fail(core)
    return core


def expect_refused(result, path, *words):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", "nothing may go to stdout on an input error"
    line = one_line(result.stderr)
    assert line.startswith("frameaudit: "), line
    assert str(path) in line, f"the line must name the file {path}: {line}"
    for w in words:
        assert w.lower() in line.lower(), f"expected {w!r} in: {line}"
    assert "Traceback" not in result.stderr
    return line


def test_missing_file(frameaudit, tmp_path):
    path = tmp_path / "no-such.core"
    expect_refused(run_cli("analyze", path), path, "no such file")


def test_empty_file(frameaudit, tmp_path):
    path = tmp_path / "empty.core"
    path.write_bytes(b"")
    expect_refused(run_cli("analyze", path), path, "empty")


def test_random_bytes(frameaudit, tmp_path):
    path = tmp_path / "random.core"
    path.write_bytes(random.Random(5).randbytes(64 * 1024))
    expect_refused(run_cli("analyze", path), path, "not a core")


def test_directory(frameaudit, tmp_path):
    expect_refused(run_cli("analyze", tmp_path), tmp_path, "directory")


def test_elf_header_then_garbage(frameaudit, corpus, tmp_path):
    header = _core(corpus, "gcore").read_bytes()[:64]
    path = tmp_path / "garbage.core"
    path.write_bytes(header + random.Random(7).randbytes(256 * 1024))
    line = expect_refused(run_cli("analyze", path), path)
    assert any(w in line for w in ("corrupt", "truncated")), line


def test_compressed_core(frameaudit, tmp_path):
    path = tmp_path / "core.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(100))
    expect_refused(run_cli("analyze", path), path, "zstd", "decompress")


@pytest.mark.parametrize("fmt", ["gcore", "kernel"])
def test_truncated_elf_core(frameaudit, corpus, tmp_path, fmt):
    data = _core(corpus, fmt).read_bytes()
    phnum = struct.unpack_from("<H", data, 56)[0]
    phdrs_end = 64 + phnum * 56
    # (p_type, p_offset, p_filesz) of each program header
    segments = [struct.unpack_from("<I4xQ16xQ", data, 64 + i * 56) for i in range(phnum)]
    note_off, note_size = next((off, size) for kind, off, size in segments if kind == 4)
    cuts = {
        "in the ELF header": 40,
        "in the program headers": phdrs_end - 30,
        "in the notes": note_off + note_size // 2,
        "in the first memory segment": note_off + note_size + 100,
        "one byte short": len(data) - 1,
    }
    for where, size in cuts.items():
        path = tmp_path / f"{fmt}-cut-{size}.core"
        path.write_bytes(data[:size])
        result = run_cli("analyze", path)
        line = expect_refused(result, path)
        assert "truncated" in line, f"{where}: {line}"


def test_truncated_minidump(frameaudit, corpus, tmp_path):
    data = _core(corpus, "minidump").read_bytes()
    nstreams, dir_rva = struct.unpack_from("<II", data, 8)
    cuts = {"in the header": 20, "in the stream directory": dir_rva + nstreams * 6,
            "in the middle": len(data) // 2, "one byte short": len(data) - 1}
    for where, size in cuts.items():
        path = tmp_path / f"cut-{size}.dmp"
        path.write_bytes(data[:size])
        line = expect_refused(run_cli("analyze", path), path)
        assert "truncated" in line, f"{where}: {line}"


def test_executable_instead_of_core(frameaudit, corpus):
    expect_refused(run_cli("analyze", corpus["exe"]), corpus["exe"], "not a core", "--exe")


def test_source_file_instead_of_core(frameaudit, corpus):
    path = corpus["dir"] / "crasher.c"
    expect_refused(run_cli("analyze", path), path, "not a core")


@pytest.mark.parametrize("fmt", ["gcore", "minidump", "kernel"])
def test_wrong_exe(frameaudit, corpus, fmt):
    core = _core(corpus, fmt)
    line = expect_refused(run_cli("analyze", "--exe", corpus["other"], core), corpus["other"],
                          "does not match")
    assert str(core) in line


def test_exe_not_an_executable(frameaudit, corpus):
    core = _core(corpus, "gcore")
    expect_refused(run_cli("analyze", "--exe", core, core), core, "core")


def test_missing_exe_named_by_core(frameaudit, corpus, tmp_path):
    """The core's program is gone: say so and ask for --exe."""
    exe = _compile(tmp_path, "vanishing", 3)
    core = cores.make_gcore(exe, tmp_path, "none")
    core_path = tmp_path / "gcore.core"
    assert core_path.exists(), core
    exe.unlink()
    line = expect_refused(run_cli("analyze", core_path), core_path, "--exe")
    assert str(exe) in line and "does not exist" in line


def test_rebuilt_exe_named_by_core(frameaudit, tmp_path):
    """The core's program was rebuilt since: refuse (wrong symbols otherwise)."""
    exe = _compile(tmp_path, "rebuilt", 4)
    cores.make_gcore(exe, tmp_path, "none")
    core_path = tmp_path / "gcore.core"
    assert core_path.exists()
    _compile(tmp_path, "rebuilt", 5)
    expect_refused(run_cli("analyze", core_path), core_path, "changed", "--exe")


def test_other_architecture_crafted(frameaudit, tmp_path):
    path = cores.craft_elf64_core(tmp_path / "arm64-crafted.core", 183)
    expect_refused(run_cli("analyze", path), path, "another architecture", "AArch64")


def test_other_architecture_qemu(frameaudit, tmp_path):
    path = cores.make_aarch64_core(tmp_path)
    assert path is not None, "qemu-aarch64 wrote no core of the crashing AArch64 program"
    expect_refused(run_cli("analyze", path), path, "another architecture", "AArch64")


def test_other_architecture_minidump(frameaudit, corpus, tmp_path):
    data = bytearray(_core(corpus, "minidump").read_bytes())
    nstreams, dir_rva = struct.unpack_from("<II", data, 8)
    for i in range(nstreams):
        stype, _size, rva = struct.unpack_from("<III", data, dir_rva + i * 12)
        if stype == 7:  # SystemInfo: ProcessorArchitecture first
            struct.pack_into("<H", data, rva, 12)  # ARM64
    path = tmp_path / "arm64.dmp"
    path.write_bytes(bytes(data))
    expect_refused(run_cli("analyze", path), path, "another architecture", "AArch64")


def test_several_inputs_one_line_each(frameaudit, corpus, tmp_path):
    """Every bad input gets its line and exit 2; the good one is still analysed
    (test_outputs.py checks the documents in every format)."""
    empty = tmp_path / "empty.core"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.core"
    good = _core(corpus, "gcore")
    result = run_cli("analyze", empty, good, missing)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert str(empty) in lines[0] and str(missing) in lines[1]
    assert str(good) not in result.stderr
    assert f"== {good} (2/3) ==" in result.stdout and "crash_here" in result.stdout
    assert f"not analysed: {empty}: empty file" in result.stdout


def test_every_input_bad_writes_nothing(frameaudit, tmp_path):
    empty = tmp_path / "empty.core"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.core"
    out = tmp_path / "report.json"
    result = run_cli("analyze", "--format", "json", "-o", out, empty, missing)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 2, result.stderr
    assert not out.exists()


def test_output_directory_missing(frameaudit, corpus, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "report.json"
    result = run_cli("analyze", "--format", "json", "-o", out, _core(corpus, "gcore"))
    expect_refused(result, out, "does not exist")


@pytest.mark.parametrize("bad", ["empty", "random", "directory", "missing", "core"])
def test_lint_bad_inputs(frameaudit, corpus, tmp_path, bad):
    if bad == "empty":
        path = tmp_path / "empty.so"
        path.write_bytes(b"")
    elif bad == "random":
        path = tmp_path / "random.so"
        path.write_bytes(random.Random(3).randbytes(4096))
    elif bad == "directory":
        path = tmp_path
    elif bad == "missing":
        path = tmp_path / "missing"
    else:
        path = _core(corpus, "gcore")
    expect_refused(run_cli("lint", path), path)


def test_lint_other_architecture(frameaudit, tmp_path):
    cc = cores.require_tool("aarch64-linux-gnu-gcc", "an AArch64 executable")
    src = tmp_path / "a.c"
    src.write_text("int main(void) { return 0; }\n")
    exe = tmp_path / "a-arm64"
    subprocess.run([cc, "-o", str(exe), str(src)], check=True)
    expect_refused(run_cli("lint", exe), exe, "another architecture", "AArch64")


def test_run_bad_programs(frameaudit, corpus, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    expect_refused(run_cli("run", "--", script), script, "script")
    missing = tmp_path / "nothing-here"
    expect_refused(run_cli("run", "--", missing), missing, "no such file")
    expect_refused(run_cli("run", "--", "no-such-program-anywhere"), "no-such-program-anywhere",
                   "not found")
    core = _core(corpus, "gcore")
    expect_refused(run_cli("run", "--", core), core, "core")
    os.chmod(corpus["other"], 0o644)
    try:
        expect_refused(run_cli("run", "--", corpus["other"]), corpus["other"], "not executable")
    finally:
        os.chmod(corpus["other"], 0o755)


def test_other_architecture_32bit(frameaudit, tmp_path):
    """A 32-bit x86 core (ELFCLASS32, EM_386): named as such, not 'corrupt'."""
    header = (b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
              + struct.pack("<HHIIIIIHHHHHH", 4, 3, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0))
    path = tmp_path / "i386.core"
    path.write_bytes(header + bytes(64))
    expect_refused(run_cli("analyze", path), path, "another architecture", "i386", "32-bit")

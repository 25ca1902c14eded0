"""Lint over programs this test compiles itself (tests/lint/src): gcc and
clang at -O0..-Os with the matrix's flag sets, PIE and non-PIE, sra linked
statically or as a shared library (calls through the PLT, or through the GOT
with -fno-plt), and stripped copies of them (`strip`, `objcopy --strip-all`).

Same rule as the matrix: SRA_ALLOC callers clean, raw callers flagged
exactly where the objdump oracle says; stripped copies give the same
verdicts at the same addresses, with no names.
"""

import os
import subprocess
from pathlib import Path

import pytest

import lintlib
from test_matrix import judge

SRC = Path(__file__).resolve().parent / "src"
OPTS = ["-O0", "-O1", "-O2", "-O3", "-Os"]
FLAGSETS = {"fp": [], "nofp": ["-fomit-frame-pointer"], "hard": ["-fstack-protector-all", "-fcf-protection=full"]}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("lint_compiled")


@pytest.fixture(scope="module")
def static_sra(workdir):
    if lintlib.SRA_LIB and os.path.exists(lintlib.SRA_LIB):
        return Path(lintlib.SRA_LIB)
    # Not run from CTest: make the archive from the allocator's sources.
    objs = []
    for src in lintlib.SRA_SOURCES:
        obj = workdir / (src.name + ".o")
        subprocess.run(["gcc", "-c", "-O2", "-fPIC", f"-I{lintlib.SRA_INCLUDE}", str(src), "-o", str(obj)],
                       check=True)
        objs.append(str(obj))
    lib = workdir / "libsra.a"
    subprocess.run(["ar", "rcs", str(lib), *objs], check=True)
    return lib


@pytest.fixture(scope="module")
def shared_sra(workdir):
    return lintlib.build_shared_sra(workdir)


def program(workdir, name, cc, flags, libs):
    out = workdir / name
    if not out.exists():
        lintlib.build(cc, [SRC / "callers.c", SRC / "support.c"], out, flags, libs)
    return out


def builds(workdir, static_sra, shared_sra):
    """(name, path) of every build, compiled on first use."""
    out = []
    for cc in lintlib.compilers():
        for opt in OPTS:
            for fs, flags in FLAGSETS.items():
                name = f"callers-{cc}{opt}-{fs}-pie"
                out.append((name, program(workdir, name, cc, [opt, *flags], [static_sra])))
        for opt in ("-O0", "-O2"):
            name = f"callers-{cc}{opt}-fp-nopie"
            out.append((name, program(workdir, name, cc, [opt, "-fno-pie", "-no-pie"], [static_sra])))
        for plt in ("plt", "noplt"):
            name = f"callers-{cc}-O2-fp-shared-{plt}"
            flags = ["-O2"] + (["-fno-plt"] if plt == "noplt" else [])
            libs = [shared_sra, f"-Wl,-rpath,{shared_sra.parent}"]
            out.append((name, program(workdir, name, cc, flags, libs)))
    return out


def test_compiled_builds(workdir, static_sra, shared_sra):
    rows, failures = [], []
    all_builds = builds(workdir, static_sra, shared_sra)
    results = lintlib.run_probe([p for _, p in all_builds])
    for (name, path), res in zip(all_builds, results):
        assert res["ok"], f"{name}: {res.get('error')}"
        row, problems = judge({"name": name, "path": str(path)}, res)
        # Every SRA_ALLOC caller in callers.c, and every raw one, was found.
        names = {s["function"] for s in res["call_sites"]}
        missing = {"s_basic", "s_switch", "s_two", "s_seven_around", "raw_pops", "raw_add", "raw_reload",
                   "raw_in_vla", "raw_deferred", "raw_tail"} - names
        if missing:
            problems.append(f"call sites not found in {sorted(missing)}")
        # The SRA_ALLOC callers that cannot be unsafe by construction.
        for s in res["call_sites"]:
            if s["function"] == "raw_in_vla" and not s["safe"]:
                problems.append(f"raw call in a VLA frame flagged: {s['reason']}")
        # Source lines agree with addr2line.
        lines = lintlib.source_lines(path, [s["address"] for s in res["call_sites"]])
        for s in res["call_sites"]:
            file, line, _ = lines[s["address"]]
            if (os.path.basename(s["file"] or ""), s["line"]) != (os.path.basename(file), line):
                problems.append(f"{s['address']:#x}: lint says {s['file']}:{s['line']}, addr2line {file}:{line}")
        rows.append(row)
        failures += [f"{name}: {p}" for p in problems]
    header = ("build", "sites", "SRA_ALLOC", "raw", "flagged", "expected", "")
    lintlib.table("Lint over self-compiled callers (tests/lint/src)", header, rows)
    assert not failures, "\n".join(failures[:50])


@pytest.mark.parametrize("tool", ["strip", "objcopy"])
def test_stripped_copies(workdir, static_sra, shared_sra, tool):
    picked = [b for b in builds(workdir, static_sra, shared_sra)
              if b[0].endswith(("-O2-fp-pie", "-O2-fp-nopie", "-O0-fp-nopie", "-Os-hard-pie", "shared-plt",
                                "shared-noplt"))]
    assert picked
    failures = []
    for name, path in picked:
        stripped = workdir / f"{name}.{tool}"
        cmd = ["strip", "-o", str(stripped), str(path)] if tool == "strip" else \
              ["objcopy", "--strip-all", str(path), str(stripped)]
        subprocess.run(cmd, check=True)
        full, bare = lintlib.run_probe([path, stripped])
        key = lambda r: sorted((s["address"], s["safe"], s["culprit"], s["function_start"]) for s in r["call_sites"])
        if key(full) != key(bare):
            failures.append(f"{name}: stripped verdicts differ:\n  {key(full)}\n  {key(bare)}")
        for s in bare["call_sites"]:
            if s["function"] is not None or s["file"] is not None:
                failures.append(f"{name}: stripped copy still names {s['function']} {s['file']}")
        if len(bare["findings"]) != len(full["findings"]):
            failures.append(f"{name}: {len(bare['findings'])} findings stripped, {len(full['findings'])} not")
    assert not failures, "\n".join(failures)


def test_load_bias_shifts_every_address(workdir, static_sra, shared_sra):
    name, path = next(b for b in builds(workdir, static_sra, shared_sra) if b[0].endswith("-O2-fp-pie"))
    bias = 0x7f0000000000
    plain = lintlib.lint(path)
    shifted = lintlib.lint(path, "--bias", hex(bias))
    assert [s["address"] + bias for s in plain["call_sites"]] == [s["address"] for s in shifted["call_sites"]]
    assert [s["culprit"] and s["culprit"] + bias for s in plain["call_sites"]] == \
        [s["culprit"] for s in shifted["call_sites"]]
    assert [f["address"] + bias for f in plain["findings"]] == [f["address"] for f in shifted["findings"]]


def test_shared_sra_itself_and_its_callers_through_plt(workdir, static_sra, shared_sra):
    """The library defines sra_alloc and calls it nowhere; a program calls it
    only through its PLT stub (or GOT slot with -fno-plt)."""
    lib = lintlib.lint(shared_sra)
    assert lib["ok"] and lib["call_sites"] == []
    for name, path in builds(workdir, static_sra, shared_sra):
        if "shared" not in name:
            continue
        disasm = subprocess.run(["objdump", "-d", str(path)], check=True, capture_output=True, text=True).stdout
        via = "sra_alloc@plt" if name.endswith("-plt") else "*"
        assert via in disasm
        assert "<sra_alloc>:" not in disasm, "sra_alloc must not be linked in"
        assert len(lintlib.lint(path)["call_sites"]) >= 20


def test_not_elf_and_other_architectures(workdir):
    script = workdir / "script.sh"
    script.write_text("#!/bin/sh\necho hello, this is not an ELF file at all\n")
    res = lintlib.lint(script)
    assert not res["ok"] and res["error"]["code"] == "bad_input"
    assert "not an ELF file" in res["error"]["message"]
    missing = lintlib.lint(workdir / "does-not-exist")
    assert not missing["ok"] and missing["error"]["code"] == "unreadable"
    # A 32-bit object: gcc -m32 -c needs no 32-bit libraries (no link, no headers).
    src = workdir / "m32.c"
    src.write_text("int main(void) { return 0; }\n")
    obj = workdir / "m32.o"
    r = subprocess.run([lintlib.require_tool("gcc", "a 32-bit object"), "-m32", "-c", str(src),
                        "-o", str(obj)], capture_output=True, text=True)
    assert r.returncode == 0, f"gcc -m32 -c failed:\n{r.stderr}"
    res = lintlib.lint(obj)
    assert not res["ok"] and res["error"]["code"] == "unsupported_arch"

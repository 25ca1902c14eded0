"""The prologue/epilogue decoder on real compiler output: gcc and clang at
-O0..-Os with the matrix's flag sets compile tests/lint/src; at every
instruction of every function, the frame state the decoder gives the walker
for frame 0 (prologue_state_at) must agree with the compiler's own CFI
(`readelf --debug-dump=frames-interp`), which is exact at every instruction:

* where the decoder says the frame pointer is set up and the body is running
  (the walker then reads the RBP pair), the CFI's CFA must be RBP + 16;
* everywhere else, with a constant CFA - RSP, the CFI must say CFA = RSP + N
  with N the decoder's offset, or RBP + 16 while RBP still holds the frame.

It also checks has_frame_pointer and static_size against the CFI right
after the prologue.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import lintlib

PROBE = os.environ.get("FRAMEAUDIT_DECODE_PROBE", "")
SRC = Path(__file__).resolve().parent / "src"
OPTS = ["-O0", "-O1", "-O2", "-O3", "-Os"]
FLAGSETS = {"fp": [], "nofp": ["-fomit-frame-pointer"], "hard": ["-fstack-protector-all", "-fcf-protection=full"]}

_FDE = re.compile(r"FDE cie=\w+ pc=([0-9a-f]+)\.\.([0-9a-f]+)")
_ROW = re.compile(r"^([0-9a-f]{8,16}) (\S+)")


def cfi_rows(path):
    """[(start, end, [(loc, cfa rule)])] per FDE."""
    out = subprocess.run(["readelf", "--debug-dump=frames-interp", "-W", str(path)], check=True,
                         capture_output=True, text=True).stdout
    fdes, cur = [], None
    for line in out.splitlines():
        m = _FDE.search(line)
        if m:
            cur = (int(m.group(1), 16), int(m.group(2), 16), [])
            fdes.append(cur)
            continue
        if not line.strip():
            cur = None
            continue
        m = _ROW.match(line)
        if cur is not None and m:
            cur[2].append((int(m.group(1), 16), m.group(2)))
    return fdes


def rule_at(fdes, pc):
    for start, end, rows in fdes:
        if start <= pc < end:
            rule = None
            for loc, r in rows:
                if loc <= pc:
                    rule = r
            return rule
    return None


def check_binary(path):
    probe = subprocess.run([PROBE, str(path)], check=True, capture_output=True, text=True).stdout
    funcs = json.loads(probe)
    fdes = cfi_rows(path)
    problems, checked = [], 0
    for name, f in funcs.items():
        if not f["states"] or name.startswith(("_", "deregister_tm", "register_tm", "frame_dummy")):
            continue  # the C runtime's own code
        if name.endswith(".cold"):
            continue  # runs in its parent's frame: the walker treats fragments apart
        for addr, pushed, fp_set, offset, exact, in_epi, padding in f["states"]:
            if padding:
                continue  # alignment padding and traps after a ret: never executed
            rule = rule_at(fdes, addr)
            if rule is None or not re.fullmatch(r"(rsp|rbp)\+\d+", rule):
                continue
            reg, n = rule.split("+")
            n = int(n)
            checked += 1
            body = fp_set and not in_epi
            if body:
                ok = (reg == "rbp" and n == 16) or (reg == "rsp" and exact and n == offset)
            elif not exact:
                ok = True
            else:
                ok = (reg == "rsp" and n == offset) or (reg == "rbp" and n == 16 and fp_set)
            if not ok:
                problems.append(f"{name}+{addr - f['start']:#x}: CFA={rule}, decoder says fp_set={fp_set} "
                                f"in_epilogue={in_epi} CFA-RSP={offset} exact={exact}")
        # Right after the prologue.
        rule = rule_at(fdes, f["prologue_end"]) if f["prologue_end"] < f["end"] else None
        if rule and re.fullmatch(r"(rsp|rbp)\+\d+", rule):
            if f["has_frame_pointer"] != rule.startswith("rbp"):
                problems.append(f"{name}: has_frame_pointer={f['has_frame_pointer']} but CFA={rule} after "
                                f"the prologue")
            elif rule.startswith("rsp") and not f["realigns"] and int(rule[4:]) != f["static_size"]:
                problems.append(f"{name}: static_size={f['static_size']} but CFA={rule} after the prologue")
    return checked, problems


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("decode_cfi")


def test_decoder_agrees_with_cfi(workdir):
    if not PROBE:
        pytest.skip("FRAMEAUDIT_DECODE_PROBE not set (run through CTest)")
    rows, failures = [], []
    for cc in lintlib.compilers():
        for opt in OPTS:
            for fs, flags in FLAGSETS.items():
                name = f"{cc}{opt}-{fs}"
                out = workdir / name
                # The allocator's own sources too: its hand-written CFI is exact.
                lintlib.build(cc, [SRC / "callers.c", SRC / "support.c", *lintlib.SRA_SOURCES], out,
                              [opt, *flags])
                checked, problems = check_binary(out)
                rows.append((name, checked, len(problems)))
                failures += [f"{name}: {p}" for p in problems]
    lintlib.table("Decoder frame state vs compiler CFI, per instruction", ("build", "checked", "mismatches"), rows)
    assert not failures, "\n".join(failures[:60])

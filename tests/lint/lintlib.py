"""Helpers for the lint tests: run the lint probe, and an independent oracle.

The oracle decides from `objdump -d` text alone (no frameaudit code) whether
a raw sra_alloc caller is unsafe, so the tests compare the lint with a
second, simpler reading of the same machine code:

* a return path (ret, or a jmp to another function) after the call whose
  epilogue restores RSP with `add $N,%rsp`, or with pops only, not from RBP;
* an RSP-based memory operand after the call, above what the function pushed
  since, before any dynamic allocation (`sub %reg,%rsp` / `mov %reg,%rsp`);
* a tail jump to sra_alloc.

It reads the function in address order (no control flow), which is exact for
the straight-line raw callers the tests and fixtures use. Which calls are raw
and which are SRA_ALLOC is read from the source line addr2line gives for
each call site.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from required_tools import require_tool  # noqa: E402,F401 - re-exported

PROBE = os.environ.get("FRAMEAUDIT_LINT_PROBE", "")
BUILD_DIR = Path(os.environ.get("FRAMEAUDIT_BUILD_DIR", "build"))
SOURCE_DIR = Path(os.environ.get("FRAMEAUDIT_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SRA_INCLUDE = SOURCE_DIR / "native" / "sra" / "include"
SRA_SOURCES = [SOURCE_DIR / "native" / "sra" / "sra_alloc.S", SOURCE_DIR / "native" / "sra" / "sra_runtime.c"]
SRA_LIB = os.environ.get("FRAMEAUDIT_SRA_LIB", "")


def run_probe(paths, *extra):
    """Lint `paths` with the probe; one dict per path."""
    out = subprocess.run([PROBE, *extra, *map(str, paths)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def lint(path, *extra):
    return run_probe([path], *extra)[0]


# --------------------------------------------------------------------------
# objdump reading

_LINE = re.compile(r"^\s*([0-9a-f]+):\t(.*)$")
_FUNC = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
_PREFIXES = {"notrack", "bnd", "rep", "repz", "repnz", "repe", "repne", "lock", "cs", "ds", "data16", "addr32"}


@dataclass
class Insn:
    address: int
    mnemonic: str
    operands: str
    text: str


@dataclass
class Function:
    name: str
    start: int
    insns: list = field(default_factory=list)


def disassemble(path):
    """{function name: Function} from objdump (AT&T, no raw bytes)."""
    out = subprocess.run(["objdump", "-d", "-w", "--no-show-raw-insn", str(path)], check=True,
                         capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = _FUNC.match(line)
        if m:
            cur = Function(m.group(2), int(m.group(1), 16))
            funcs[cur.name] = cur
            continue
        m = _LINE.match(line)
        if not m or cur is None:
            continue
        text = m.group(2).strip()
        words = text.split()
        while words and words[0] in _PREFIXES:
            words = words[1:]
        if not words:
            continue
        mnemonic = words[0]
        operands = " ".join(words[1:]).split("#")[0].strip()
        cur.insns.append(Insn(int(m.group(1), 16), mnemonic, operands, text))
    return funcs


def function_at(funcs, address):
    best = None
    for f in funcs.values():
        if f.insns and f.start <= address <= f.insns[-1].address and (best is None or f.start > best.start):
            best = f
    return best


def _is(i, *mnemonics):
    return any(i.mnemonic == m or i.mnemonic.startswith(m) and len(i.mnemonic) == len(m) + 1 for m in mnemonics)


def _imm(operands):
    m = re.match(r"\$(-?0x[0-9a-f]+|-?\d+),", operands)
    return int(m.group(1), 0) if m else None


def _rbp_restore(i):
    return (_is(i, "leave") or (_is(i, "lea") and "(%rbp),%rsp" in i.operands)
            or (_is(i, "mov") and i.operands == "%rbp,%rsp"))


@dataclass
class Verdict:
    unsafe: bool
    epilogue_culprits: list  # addresses of `add $N,%rsp` / first pops of RSP-trusting epilogues
    access_culprits: list    # RSP-based accesses into the block
    tail_to_allocator: bool


def oracle(func, call_address):
    """Judge the raw call at call_address inside func from the text alone."""
    idx = next(k for k, i in enumerate(func.insns) if i.address == call_address)
    call = func.insns[idx]
    if _is(call, "jmp"):
        return Verdict(True, [], [], True)
    after = func.insns[idx + 1:]

    epilogues = []
    for k, i in enumerate(after):
        is_return = _is(i, "ret")
        # A jmp to another function (not to this one or its .cold part) is a tail call.
        m = re.search(r"<([^>+]+)", i.operands) if _is(i, "jmp") else None
        if m and m.group(1) not in (func.name, func.name + ".cold"):
            is_return = True
        if not is_return:
            continue
        # Walk back over the pops and anything that does not touch RSP
        # (compilers schedule register moves into epilogues).
        j, first_pop = k - 1, None
        while j >= 0:
            w = after[j]
            if _is(w, "pop"):
                first_pop = w.address
            elif "%rsp" in w.operands or _is(w, "leave") or w.mnemonic.startswith(("j", "call", "ret")):
                break
            j -= 1
        prev = after[j] if j >= 0 else None
        if prev is not None and _is(prev, "add") and prev.operands.endswith(",%rsp") and _imm(prev.operands):
            epilogues.append(prev.address)
        elif prev is not None and _rbp_restore(prev):
            continue
        elif prev is not None and _is(prev, "lea") and prev.operands.endswith(",%rsp") and j >= 1 and _is(after[j - 1], "leave"):
            continue  # GCC's DRAP epilogue: leave; lea -8(%r10),%rsp
        elif first_pop is not None:
            epilogues.append(first_pop)

    accesses = []
    depth = 0
    for i in after:
        ops = i.operands
        if _is(i, "push"):
            depth += 8
            continue
        if _is(i, "pop"):
            depth -= 8
            continue
        if ops.endswith(",%rsp") and (_is(i, "sub") or _is(i, "add")) and _imm(ops) is not None:
            depth += _imm(ops) if _is(i, "sub") else -_imm(ops)
            continue
        if ops.endswith(",%rsp") and not _rbp_restore(i):
            break  # a dynamic allocation: RSP is the compiler's own again
        if _rbp_restore(i) or _is(i, "ret"):
            break
        if "(%rsp" in ops and not _is(i, "lea") and not _is(i, "nop"):
            if (_is(i, "or") or _is(i, "xor")) and ops.startswith("$0x0,"):
                continue  # stack probe
            m = re.search(r"(-?0x[0-9a-f]+)?\(%rsp", ops)
            disp = int(m.group(1), 16) if m and m.group(1) else 0
            if disp >= 0 and disp >= depth:
                accesses.append(i.address)
    return Verdict(bool(epilogues or accesses), epilogues, accesses, False)


def source_lines(path, addresses):
    """{address: source text of its line} through addr2line, or '' if unknown."""
    if not addresses:
        return {}
    out = subprocess.run(["addr2line", "-e", str(path), *[hex(a) for a in addresses]], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    result = {}
    for a, loc in zip(addresses, out):
        file, _, line = loc.rpartition(":")
        line = line.split()[0] if line else ""
        text = ""
        if file and os.path.exists(file) and line.isdigit():
            lines = Path(file).read_text(errors="replace").splitlines()
            n = int(line)
            if 1 <= n <= len(lines):
                text = lines[n - 1]
        result[a] = (file, int(line) if line.isdigit() else None, text)
    return result


def is_raw_line(text):
    """A source line calling the raw entry point (not SRA_ALLOC / FX_SRA)."""
    if "SRA_ALLOC" in text or "FX_SRA" in text:
        return False
    return "FX_RAW" in text or "sra_alloc(" in text


# --------------------------------------------------------------------------
# building test programs

def compilers():
    """Both compilers, always: a missing one fails the test, naming it."""
    return [c for c in ("gcc", "clang") if require_tool(c, "the lint suite's builds")]


def build(cc, sources, out, flags=(), libs=()):
    cmd = [cc, *flags, "-g", f"-I{SRA_INCLUDE}", *map(str, sources), *map(str, libs), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def build_shared_sra(out_dir, cc="gcc"):
    """sra as a shared library, from the allocator's own sources."""
    so = Path(out_dir) / "libsra_shared.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O2", f"-I{SRA_INCLUDE}", *map(str, SRA_SOURCES), "-o", str(so)],
                   check=True, capture_output=True, text=True)
    return so


def table(title, header, rows, echo=True):
    """A plain text table, printed (if echo) and returned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    fmt = "  ".join(f"{{:{'<' if k == 0 else '>'}{w}}}" for k, w in enumerate(widths))
    lines = [title, fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*map(str, r)) for r in rows]
    text = "\n".join(lines)
    if echo:
        print("\n" + text)
    return text

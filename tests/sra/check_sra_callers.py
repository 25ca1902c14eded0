#!/usr/bin/env python3
"""check_sra_callers.py: what the compilers really emit around sra_alloc.

Disassembles (objdump) every function that calls sra_alloc in the given
binaries and checks, for each:

  epilogue   every `ret` is reached through `leave`, `lea -N(%rbp),%rsp` or
             `mov %rbp,%rsp` followed only by pops: RSP comes back from RBP,
             so the lowered RSP is harmless.  `add $N,%rsp` there is the
             unsafe shape.
  tail call  no `jmp` out of the function: a sibling call would release
             the caller's blocks while the callee may still use them.
  rsp use    after a call to sra_alloc, no memory operand N(%rsp) reaches
             at or above the RSP the allocation left, unless the function
             moved RSP below it first (push, sub $k / sub %reg).  This is
             how stack arguments written with `mov` into the block (GCC
             -maccumulate-outgoing-args, deferred pops) show up.  A linear
             scan: precise for the straight-line code these checks target.

Usage: check_sra_callers.py [--matrix matrix.json | BINARY...] [--json]
Prints a summary per compiler/opt/flags cell; exits 1 on any violation.
"""
import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
from collections import defaultdict

FUNC_RE = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN_RE = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
RSP_MEM_RE = re.compile(r"(-?0x[0-9a-f]+|-?\d+)?\(%rsp(?:,[^)]*)?\)")
RBP_RESTORE = (
    re.compile(r"^leave"),
    re.compile(r"^lea\s+-?(0x[0-9a-f]+)?\(%rbp\),%rsp$"),
    re.compile(r"^mov\s+%rbp,%rsp$"),
)
SIZE_SUFFIX = {"b": 1, "w": 2, "l": 4, "q": 8}


def disassemble(path):
    out = subprocess.run(["objdump", "-d", "-w", "--no-show-raw-insn", path],
                         capture_output=True, text=True, check=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = FUNC_RE.match(line)
        if m:
            cur = m.group(2)
            funcs[cur] = []
            continue
        m = INSN_RE.match(line)
        if m and cur is not None:
            text = re.sub(r"\s+", " ", m.group(2).split("#")[0]).strip()
            funcs[cur].append((int(m.group(1), 16), text))
    return funcs


def mnemonic(text):
    return text.split(" ", 1)[0]


def operands(text):
    parts = text.split(" ", 1)
    return parts[1].replace(" ", "") if len(parts) > 1 else ""


def is_sra_call(text):
    return mnemonic(text).startswith("call") and "<sra_alloc>" in text


def access_width(text):
    m = mnemonic(text)
    if m.startswith(("movdqa", "movdqu", "movaps", "movups")):
        return 16
    if m[-1] in SIZE_SUFFIX and m not in ("call", "lea"):
        return SIZE_SUFFIX[m[-1]]
    return 8


def writes_rsp(text):
    m, ops = mnemonic(text), operands(text)
    return m == "leave" or (ops.endswith(",%rsp") and not m.startswith(("cmp", "test")))


def jump_target(text):
    t = re.match(r"j[a-z]+\s+([0-9a-f]+)\b", text)
    return int(t.group(1), 16) if t else None


def check_function(name, insns):
    """Returns (epilogue kinds, rsp accesses after the allocation, problems)."""
    problems, kinds = [], set()
    index = {a: i for i, (a, _) in enumerate(insns)}
    # Predecessors: the instruction before (unless it never falls through)
    # and every jump in the function that targets this one.
    preds = defaultdict(list)
    for i, (addr, text) in enumerate(insns):
        m = mnemonic(text)
        if i + 1 < len(insns) and m not in ("jmp", "ret", "retq", "ud2", "hlt"):
            preds[i + 1].append(i)
        t = jump_target(text)
        if t is not None and t in index:
            preds[index[t]].append(i)
        elif m == "jmp" and t is not None and not re.search(r"<[^>]*\.cold(\+0x[0-9a-f]+)?>", text):
            problems.append(f"{name}: jmp out of the function at {addr:#x} (`{text}`): tail call")
    for i, (addr, text) in enumerate(insns):
        if mnemonic(text) not in ("ret", "retq"):
            continue
        # Every path into this ret: back through pops and instructions that
        # leave RSP alone, to the instruction that last set RSP.
        todo, seen = list(preds[i]), set()
        while todo:
            j = todo.pop()
            if j in seen:
                continue
            seen.add(j)
            prev = insns[j][1]
            pm = mnemonic(prev)
            if pm.startswith("pop") or not writes_rsp(prev):
                if not preds[j] and j == 0:
                    problems.append(f"{name}: ret at {addr:#x} reachable from the entry without an "
                                    "RSP restore")
                todo.extend(preds[j])
                continue
            if any(r.match(prev) for r in RBP_RESTORE):
                kinds.add("leave" if pm == "leave" else
                          ("lea -N(%rbp),%rsp" if pm.startswith("lea") else "mov %rbp,%rsp"))
            else:
                problems.append(f"{name}: ret at {addr:#x} reached after `{prev}` at "
                                f"{insns[j][0]:#x}: RSP not restored from RBP")
    # RSP-relative accesses after an allocation, linear scan.
    accesses = 0
    depth = None  # bytes RSP has moved below the allocation's RSP; None before any call
    for addr, text in insns:
        m, ops = mnemonic(text), operands(text)
        if is_sra_call(text):
            depth = 0
            continue
        if depth is None:
            continue
        if m.startswith("push"):
            depth += 8
        elif m.startswith("pop") and depth is not None:
            depth -= 8
        elif m.startswith("sub") and ops.endswith(",%rsp"):
            k = re.match(r"\$(0x[0-9a-f]+|\d+),%rsp$", ops)
            depth = depth + int(k.group(1), 0) if k else float("inf")  # alloca
        elif m.startswith("add") and ops.endswith(",%rsp"):
            k = re.match(r"\$(0x[0-9a-f]+|\d+),%rsp$", ops)
            depth = depth - int(k.group(1), 0) if k else 0
        elif ops.endswith(",%rsp") or m == "leave":
            depth = None  # RSP set from elsewhere (epilogue, stack restore)
            continue
        if m in ("lea", "nop", "nopw", "nopl") or m.startswith("call"):
            continue
        for mem in RSP_MEM_RE.finditer(ops):
            off = int(mem.group(1), 0) if mem.group(1) else 0
            accesses += 1
            if off + access_width(text) > depth:
                problems.append(f"{name}: `{text}` at {addr:#x} reaches {off}(%rsp) with RSP only "
                                f"{depth} bytes below the allocation: it touches the block")
    return kinds, accesses, problems


def check_binary(path):
    funcs = disassemble(path)
    result = {"callers": 0, "epilogues": set(), "rsp_accesses": 0, "problems": []}
    for name, insns in funcs.items():
        if not insns or not any(is_sra_call(t) for _, t in insns):
            continue
        if name.endswith(("@plt", ".cold")) or name == "sra_alloc":
            continue
        result["callers"] += 1
        kinds, acc, probs = check_function(name, insns)
        result["epilogues"] |= kinds
        result["rsp_accesses"] += acc
        result["problems"] += [f"{path}: {p}" for p in probs]
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--matrix", help="matrix.json: check every correct (non-unsafe) binary")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("binaries", nargs="*")
    args = ap.parse_args()
    cells = {}
    if args.matrix:
        with open(args.matrix) as f:
            for b in json.load(f)["binaries"]:
                if not b["unsafe"]:
                    cells[b["path"]] = f"{b['compiler']} -{b['opt']} {b['flags']}"
    for b in args.binaries:
        cells[b] = b
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(cells, pool.map(check_binary, cells)))
    summary = defaultdict(lambda: {"binaries": 0, "callers": 0, "epilogues": set(),
                                   "rsp_accesses": 0, "problems": 0})
    problems = []
    for path, r in results.items():
        s = summary[cells[path]]
        s["binaries"] += 1
        s["callers"] += r["callers"]
        s["epilogues"] |= r["epilogues"]
        s["rsp_accesses"] += r["rsp_accesses"]
        s["problems"] += len(r["problems"])
        problems += r["problems"]
    if args.json:
        print(json.dumps({k: {**v, "epilogues": sorted(v["epilogues"])} for k, v in summary.items()},
                         indent=2))
    else:
        print(f"{'cell':24} {'bins':>4} {'callers':>7} {'rsp-uses':>8} {'bad':>4}  epilogues")
        for cell in sorted(summary):
            s = summary[cell]
            print(f"{cell:24} {s['binaries']:4} {s['callers']:7} {s['rsp_accesses']:8} "
                  f"{s['problems']:4}  {', '.join(sorted(s['epilogues']))}")
    for p in problems[:50]:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

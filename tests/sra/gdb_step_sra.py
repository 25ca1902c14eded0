"""gdb_step_sra.py: runs inside gdb (gdb -batch -x gdb_step_sra.py --args
cfi_target PATH).  Breaks on the `call sra_alloc` in cfi_caller, stepi's
through every instruction of sra_alloc (nexti over the runtime call on the
first-allocation path) and records, at each stop, what gdb's unwinder says
about the caller chain.  Writes JSON to $SRA_GDB_OUT; test_cfi_gdb.py
checks it.
"""
import json
import os

import gdb

MAX_STEPS = 200


def frames(n):
    out = []
    f = gdb.newest_frame()
    while f is not None and len(out) < n:
        out.append({"name": f.name(), "pc": int(f.pc()),
                    "sp": int(f.read_register("rsp")), "fp": int(f.read_register("rbp"))})
        f = f.older()
    return out


def disassemble_function(name):
    """(address, text) of every instruction of `name`."""
    text = gdb.execute(f"disassemble {name}", to_string=True)
    insns = []
    for line in text.splitlines():
        line = line.strip().lstrip("=>").strip()
        if not line.startswith("0x"):
            continue
        addr, _, rest = line.partition(":")
        insns.append((int(addr.split()[0], 16), rest.strip()))
    return insns


def main():
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("break cfi_caller")
    gdb.execute("run")
    sra_start = int(gdb.parse_and_eval("(long)&sra_alloc"))
    call = [(a, t) for a, t in disassemble_function("cfi_caller")
            if t.startswith("call") and "<sra_alloc>" in t]
    assert len(call) == 1, call
    insns = {a: t for a, t in disassemble_function("cfi_caller")}
    addrs = sorted(insns)
    call_addr = call[0][0]
    ret_addr = addrs[addrs.index(call_addr) + 1]
    movs = [a for a, t in disassemble_function("sra_alloc")
            if t.replace(" ", "").startswith("mov%rsp,%rbp")]
    gdb.execute(f"tbreak *{call_addr:#x}")
    gdb.execute("continue")
    before = frames(3)
    record = {"sra_start": sra_start, "ret_addr": ret_addr, "movs": movs,
              "before": before, "steps": [], "stepped_over": 0}
    arch = gdb.newest_frame().architecture()
    for step in range(MAX_STEPS):
        pc = int(gdb.newest_frame().pc())
        asm = arch.disassemble(pc)[0]["asm"]
        if step > 0 and asm.startswith("call"):
            record["stepped_over"] += 1
            gdb.execute("nexti", to_string=True)
        else:
            gdb.execute("stepi", to_string=True)
        now = frames(4)
        record["steps"].append({"pc_before": pc, "frames": now})
        if now[0]["name"] != "sra_alloc":
            break
    record["after"] = frames(3)
    with open(os.environ["SRA_GDB_OUT"], "w") as f:
        json.dump(record, f)
    gdb.execute("kill")


main()

"""Generated programs with very many sra_alloc calls in one function, for the
test of lint's work per function (test_many_calls.py) and its benchmark
(tests/bench/lint/bench_many_calls.py); docs/lint.md, "Work".

The big functions are written as assembly in the two shapes gcc -O2 gives a
caller of sra_alloc (compiling 50,000 calls in one C function takes gcc
minutes; assembling them takes a second), then assembled and linked with
the allocator by gcc:

* `raw_many`: n raw calls in a static frame without a frame pointer (gcc
  -O2 -fomit-frame-pointer): `push %rbx` ... `pop %rbx; ret`. Every call is
  unsafe, at the `pop %rbx` (its only return path restores RSP by pops);
* `safe_many`: n/10 calls in a frame-pointer frame ending in `leave; ret`
  (what gcc -O2 makes of the same C with frame pointers): all safe;
* `raw_maze`: a state machine of n cases, each a raw call followed by a
  jump to one of two other cases chosen at random (forward and backward),
  so every call reaches nearly every other through branches and loops, and
  one return path with `add $8,%rsp`: all unsafe, at that `add`;
* `safe_maze`: the same maze (n/10 cases) in a `leave` frame: all safe.

`bound()` is C, compiled by gcc: `bounded` calls SRA_ALLOC and then runs a
loop of pushes in inline assembly that never pops, so every turn of the loop
is a new stack depth and following its paths goes past lint's bound on work:
its call has no verdict. `judged`, an ordinary SRA_ALLOC caller beside it,
is safe.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import lintlib

SUPPORT = """#include <stddef.h>
#include "sra.h"
__attribute__((noipa)) void sink(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
__attribute__((noipa)) int pick(int s) { return (s * 1103515245 + 12345) & 0x7fffffff; }
"""

MAIN = """int main(int argc, char **argv) {
  (void)argv;
  return argc > 5 ? %s : 0;
}
"""


def _function(name: str, body: list[str]) -> list[str]:
    return [f"\t.globl {name}", f"\t.type {name}, @function", f"{name}:", "\t.cfi_startproc", *body,
            "\t.cfi_endproc", f"\t.size {name}, .-{name}", ""]


def _call(i: int) -> list[str]:
    return [f"\tmovl ${16 + (i % 7) * 8}, %edi", "\tcall sra_alloc", "\tmovq %rax, %rdi", "\tcall sink"]


def _static(calls: list[str], epilogue: str) -> list[str]:
    """The frame without a frame pointer: callee-saved pushes (and `sub`)."""
    if epilogue == "pop":
        return ["\tpushq %rbx", "\t.cfi_def_cfa_offset 16", "\t.cfi_offset 3, -16", "\tmovl %edi, %ebx",
                *calls, "\tmovl %ebx, %eax", "\tpopq %rbx", "\t.cfi_def_cfa_offset 8", "\tret"]
    return ["\tpushq %r12", "\t.cfi_def_cfa_offset 16", "\tpushq %rbx", "\t.cfi_def_cfa_offset 24",
            "\tsubq $8, %rsp", "\t.cfi_def_cfa_offset 32", "\t.cfi_offset 3, -24", "\t.cfi_offset 12, -16",
            "\tmovl %edi, %ebx", "\txorl %r12d, %r12d", *calls, "\tmovl %ebx, %eax", "\taddq $8, %rsp",
            "\t.cfi_def_cfa_offset 24", "\tpopq %rbx", "\t.cfi_def_cfa_offset 16", "\tpopq %r12",
            "\t.cfi_def_cfa_offset 8", "\tret"]


def _dynamic(calls: list[str]) -> list[str]:
    """The frame-pointer frame, restored by `leave`."""
    return ["\tpushq %rbp", "\t.cfi_def_cfa_offset 16", "\t.cfi_offset 6, -16", "\tmovq %rsp, %rbp",
            "\t.cfi_def_cfa_register 6", "\tpushq %r12", "\tpushq %rbx", "\t.cfi_offset 12, -24",
            "\t.cfi_offset 3, -32", "\tmovl %edi, %ebx", "\txorl %r12d, %r12d", *calls,
            "\tmovl %ebx, %eax", "\tmovq -16(%rbp), %rbx", "\tmovq -8(%rbp), %r12", "\tleave",
            "\t.cfi_def_cfa 7, 8", "\tret"]


def _maze_body(tag: str, n: int, rng: random.Random) -> list[str]:
    body = [f"\tjmp .L{tag}0"]
    for i in range(n):
        a, b = rng.randrange(n), rng.randrange(n)
        body += [f".L{tag}{i}:", *_call(i), "\tmovl %ebx, %edi", "\tcall pick", "\tmovl %eax, %ebx",
                 "\taddl $1, %r12d", "\tcmpl $1000, %r12d", f"\tjg .L{tag}out", "\ttestb $1, %bl",
                 f"\tjne .L{tag}{a}", f"\tjmp .L{tag}{b}"]
    body.append(f".L{tag}out:")
    return body


def straight(n: int) -> str:
    raw = [line for i in range(n) for line in _call(i)]
    safe = [line for i in range(max(1, n // 10)) for line in _call(i)]
    return "\n".join(["\t.text", *_function("raw_many", _static(raw, "pop")),
                      *_function("safe_many", _dynamic(safe)), '\t.section .note.GNU-stack,"",@progbits', ""])


def maze(n: int, seed: int = 14) -> str:
    rng = random.Random(seed)
    return "\n".join(["\t.text", *_function("raw_maze", _static(_maze_body("R", n, rng), "add")),
                      *_function("safe_maze", _dynamic(_maze_body("S", max(1, n // 10), rng))),
                      '\t.section .note.GNU-stack,"",@progbits', ""])


def bound() -> str:
    return (SUPPORT +
            "__attribute__((noipa)) long bounded(long n) {\n"
            "  sink(SRA_ALLOC(32));\n"
            '  __asm__ volatile("1: push %%rax\\n\\tdec %0\\n\\tjnz 1b" : "+r"(n));\n'
            "  return n;\n}\n"
            "__attribute__((noipa)) long judged(long n) {\n"
            "  sink(SRA_ALLOC(32));\n  return n + 1;\n}\n" +
            MAIN % "(int)(bounded(argc) + judged(argc))")


def build(kind: str, out: Path, sra_lib: Path, n: int = 0) -> Path:
    """Write and build one program: kind "straight" or "maze" (assembly, n calls) or "bound" (C)."""
    main = out.with_name(out.name + "_main.c")
    if kind == "bound":
        main.write_text(bound())
        sources = [main]
    else:
        functions = ("raw_many", "safe_many") if kind == "straight" else ("raw_maze", "safe_maze")
        asm = out.with_suffix(".s")
        asm.write_text(straight(n) if kind == "straight" else maze(n))
        main.write_text(SUPPORT + "".join(f"int {f}(int);\n" for f in functions) +
                        MAIN % " + ".join(f"{f}(argc)" for f in functions))
        sources = [main, asm]
    subprocess.run(["gcc", "-O2", "-g", f"-I{lintlib.SRA_INCLUDE}", *map(str, sources), str(sra_lib),
                    "-o", str(out)], check=True)
    return out

#!/usr/bin/env python3
"""Every safe cell of the fixture matrix, crashed to a kernel core (and with
--gcore also saved by gdb), analyzed and checked against its ground truth:
the false-positive and miss count over the whole matrix, which the test
suite's CI subset samples. Run on purpose (minutes), with the Python LLDB
embeds, from a build of the whole matrix (-DFRAMEAUDIT_FULL_MATRIX=ON, the
default):

    /usr/bin/python3 tests/bench/matrix_sweep.py --build build [--gcore] [--cli]

Without --cli the cores are analyzed in this process through the ELF-core
engine (frameaudit._core.open_elf_core: no LLDB, the C++ analysis the CLI
runs); with --cli through `frameaudit analyze --format json`, as CI runs it.
Each document is checked with the suite's own rules (truth_problems: the
expected chain, every live block, no dead block reported live, damaged blocks
named by region-overflow, dangling pointers found where kept, no error on a
correct fixture), and every warning on a correct fixture is listed too: a
warning is not a failure of the rules, but each one is counted here.

Prints one line per cell with a problem, then the totals; exit status 1 if
any cell has a problem.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.environ.get("FRAMEAUDIT_BUILD_DIR", str(REPO / "build")))
    p.add_argument("--gcore", action="store_true", help="also gdb's gcore of every cell")
    p.add_argument("--cli", action="store_true", help="analyze with `frameaudit analyze`")
    p.add_argument("--only", help="cells whose name contains this")
    return p.parse_args()


def analyze_in_process(core, exe):
    from frameaudit import _core
    target = _core.open_elf_core(str(core), executable=str(exe))
    report = _core.analyze(target, all_threads=True)
    return json.loads(_core.render_json(report))


def analyze_cli(build, core, exe):
    out = subprocess.run([str(build / "bin" / "frameaudit"), "analyze", "--format", "json",
                          "--exe", str(exe), str(core)], capture_output=True, timeout=300)
    if out.returncode not in (0, 1, 2):
        raise RuntimeError(f"exit {out.returncode}: {out.stderr.decode(errors='replace')[-500:]}")
    return json.loads(out.stdout)


def main():
    args = parse_args()
    build = Path(args.build).resolve()
    os.environ["FRAMEAUDIT_BUILD_DIR"] = str(build)
    os.environ["FRAMEAUDIT_FULL_MATRIX"] = "1"
    sys.path.insert(0, str(build / "python"))
    import fixture_cores as fc

    cells = [c for c in fc.safe_cells() if not args.only or args.only in c.name]
    if not cells:
        sys.exit(f"no fixture cells under {build}/fixtures (build the matrix first)")
    fc.kernel_core_pattern()  # a clear sentence if the kernel cannot write cores here
    makers = [("kernel", fc.make_kernel_core)] + ([("gcore", fc.make_gcore)] if args.gcore else [])
    totals = collections.Counter()
    warnings = collections.Counter()
    bad_cells = []
    t0 = time.perf_counter()
    for cell in cells:
        for fmt, make in makers:
            with tempfile.TemporaryDirectory(prefix="fa-sweep-") as tmp:
                try:
                    core = make(cell.path, fc.CRASH_STOP, Path(tmp))
                    truth = fc.load_truth(core.truth_path)
                    doc = (analyze_cli(build, core.path, cell.path) if args.cli
                           else analyze_in_process(core.path, cell.path))
                except Exception as e:  # noqa: BLE001 - a sweep reports every cell
                    totals["broken"] += 1
                    bad_cells.append(f"{cell.name} [{fmt}]: could not analyze: {e}")
                    continue
            totals["cores"] += 1
            problems = fc.truth_problems(doc, truth)
            findings = doc["findings"]
            correct = not truth.get("overflow") and not truth.get("dangling") \
                and not truth.get("corrupt")
            stray = [f for f in findings if correct and f["severity"] == "warning"]
            for f in stray:
                warnings[f["kind"]] += 1
            if problems or stray:
                totals["cells with a problem" if problems else "cells with a warning"] += 1
                lines = problems + [f"warning {f['kind']}: {f['message']}" for f in stray]
                bad_cells.append(f"{cell.name} [{fmt}]:\n    " + "\n    ".join(lines))
    for line in bad_cells:
        print(line)
    formats = "+".join(fmt for fmt, _ in makers)
    engine = "frameaudit analyze" if args.cli else "the ELF-core engine in process"
    print(f"\n{len(cells)} safe cells x {formats}: {totals['cores']} cores analyzed with {engine} "
          f"in {time.perf_counter() - t0:.0f} s; {totals['cells with a problem']} with a ground-"
          f"truth problem (false positive or miss), {totals['cells with a warning']} with a "
          f"warning on a correct fixture {dict(warnings) or ''}, {totals['broken']} not analyzed")
    return 1 if totals["cells with a problem"] or totals["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())

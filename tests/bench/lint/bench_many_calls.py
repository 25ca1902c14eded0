"""Benchmark (run on purpose, not a test): lint's time on one function with
many calls to sra_alloc (docs/lint.md, "Work"), for the programs
tests/lint/many_calls.py generates: 10,000 and 50,000 calls in a row, and
mazes of 5,000 and 50,000 calls. Prints, per program, the best of --repeat
runs of the whole `frameaudit lint BINARY` process, of `fa lint` in LLDB
(native plugin, `lldb --batch`, the time of the whole lldb process minus an
empty one's), and of lint_elf_file alone (the lint probe).

    FRAMEAUDIT_BUILD_DIR=build python3 tests/bench/lint/bench_many_calls.py [--repeat 3]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2] / "lint"))
os.environ.setdefault("FRAMEAUDIT_BUILD_DIR", str(HERE.parents[3] / "build"))

import lintlib  # noqa: E402
import many_calls  # noqa: E402

PROGRAMS = [("straight", 10_000), ("straight", 50_000), ("maze", 5_000), ("maze", 50_000)]


def best(cmd, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    build = lintlib.BUILD_DIR.resolve()
    frameaudit = build / "bin" / "frameaudit"
    probe = build / "tests" / "lint" / "frameaudit_lint_probe"
    plugin = build / "lib" / "frameaudit" / "libframeaudit_lldb.so"
    sra_lib = build / "native" / "sra" / "libsra.a"
    lldb = shutil.which("lldb-22") or shutil.which("lldb")
    with tempfile.TemporaryDirectory() as tmp:
        lldb_base = None
        if lldb and plugin.exists():
            lldb_base = best([lldb, "--batch", "-o", f'plugin load "{plugin}"'], args.repeat)
        print(f"{'program':<16} {'calls':>7} {'frameaudit lint':>16} {'fa lint (lldb)':>15} {'lint_elf_file':>14}")
        for kind, n in PROGRAMS:
            binary = many_calls.build(kind, Path(tmp) / f"{kind}{n}", sra_lib, n)
            cli = best([str(frameaudit), "lint", str(binary)], args.repeat)
            fa = "-"
            if lldb_base is not None:
                t = best([lldb, "--batch", "-o", f'plugin load "{plugin}"', "-o", f'target create "{binary}"',
                          "-o", "fa lint"], args.repeat)
                fa = f"{max(0.0, t - lldb_base):.2f} s"
            out = subprocess.run([str(probe), "--repeat", str(args.repeat), str(binary)], check=True,
                                 capture_output=True, text=True).stdout
            core = json.loads(out)[0]["seconds"]
            print(f"{kind:<16} {n:>7,} {cli:>14.2f} s {fa:>15} {core:>12.2f} s", flush=True)
        if lldb_base is not None:
            print(f"(an empty lldb --batch with the plugin loaded: {lldb_base:.2f} s)")


if __name__ == "__main__":
    main()

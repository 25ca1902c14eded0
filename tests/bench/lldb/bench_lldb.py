#!/usr/bin/python3
"""LLDB benchmark: `frameaudit audit -a -j` through each front-end against
LLDB's own unwinding, on cores of deep frame-pointer recursion. Printed, not
a timed test; run it on purpose, with the Python LLDB embeds:

    /usr/bin/python3 tests/bench/lldb/bench_lldb.py [--build build] [--repeat 3]
        [--shape 8x10000 --shape 64x1000] [--every 10]

For each shape THREADSxDEPTH it makes (once, cached in <build>/bench/cores/)
a core of tests/bench/lldb/deep_recursion.c (kernel core when core_pattern
allows, else gdb's gcore), then times, each in a fresh debugger with the
core loaded (loading is not timed):

  python fa audit -a -j   the Python front-end's command, output included
  python fa audit -a      the same, text
  python analyze()        frameaudit.analyze over LLDBTarget, no rendering
  native fa audit -a -j   the native plugin's command (if built)
  SB API unwind           sum(thread.GetNumFrames()) over every thread
  bt all (subprocess)     `lldb --batch ... -o "thread backtrace all"`, whole
                          process (it crashes LLDB 22 on 10,000-deep stacks)

Best of --repeat runs. Floor (issue 4): the full audit at most half the SB
API unwind's time, and it works where `thread backtrace all` crashes.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.environ.get("FRAMEAUDIT_BUILD_DIR", str(REPO / "build")))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--shape", action="append", help="THREADSxDEPTH (default 8x10000, 64x1000)")
    p.add_argument("--every", type=int, default=10,
                   help="an SRA_ALLOC block every N frames (0: none)")
    p.add_argument("--timeout", type=int, default=900, help="seconds for `bt all`")
    return p.parse_args()


def make_core(binary: Path, threads: int, depth: int, every: int, cache: Path) -> Path:
    work = cache / f"{threads}x{depth}-every{every}"
    core = work / "core"
    stamp = f"{binary.stat().st_mtime_ns}"
    if core.exists() and (work / "stamp").exists() and (work / "stamp").read_text() == stamp:
        return core
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    args = [str(binary), str(threads), str(depth), str(every)]
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern and not pattern.startswith("|") and "/" not in pattern:
        def allow():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
        subprocess.run(args, cwd=work, preexec_fn=allow, capture_output=True, timeout=600)
        made = [p for p in work.iterdir() if p.name.startswith("core")]
        if made:
            made[0].rename(core)
    if not core.exists():
        gdb = shutil.which("gdb")
        if not gdb:
            sys.exit("no kernel core (core_pattern) and no gdb for gcore")
        subprocess.run([gdb, "-batch", "-nx", "-ex", "run", "-ex", f"gcore {core}", "-ex", "kill",
                        "--args", *args], cwd=work, capture_output=True, timeout=900)
    if not core.exists():
        sys.exit(f"could not make a core of {binary.name} {threads} {depth}")
    (work / "stamp").write_text(stamp)
    return core


def best(repeat, fn):
    times, result = [], None
    for _ in range(repeat):
        t, result = fn()
        times.append(t)
    return min(times), result


def main():
    args = parse_args()
    os.environ["FRAMEAUDIT_BUILD_DIR"] = str(Path(args.build).resolve())
    from lldb_harness import (Session, import_frameaudit, lldb, lldb_executable,
                              native_plugin_path, python_package_dir)
    build = Path(args.build).resolve()
    binary = build / "bench" / "fa_bench_deep_recursion"
    if not binary.exists():
        sys.exit(f"{binary} is not built (cmake --build {build} --target fa_bench_deep_recursion)")
    frameaudit = import_frameaudit()
    from frameaudit.lldb_target import LLDBTarget
    native = native_plugin_path()
    shapes = args.shape or ["8x10000", "64x1000"]

    print(f"frameaudit {frameaudit.version()}, {lldb.SBDebugger.GetVersionString().splitlines()[0]}, "
          f"best of {args.repeat}, block every {args.every} frames")
    for shape in shapes:
        threads, depth = (int(x) for x in shape.lower().split("x"))
        core = make_core(binary, threads, depth, args.every, build / "bench" / "cores")
        print(f"\n== {threads} threads x {depth} frames  ({core}, "
              f"{core.stat().st_size / 2**20:.0f} MiB)")
        rows = []

        def command(load, line):
            def run():
                with Session() as s:
                    load(s)
                    s.load_core(binary, core)
                    t0 = time.perf_counter()
                    ok, out, err = s.cmd(line)
                    t = time.perf_counter() - t0
                    return t, (ok, len(out), err.strip())
            return run

        def analyze_only():
            with Session() as s:
                s.load_core(binary, core)
                target = LLDBTarget(s.target, s.process)
                t0 = time.perf_counter()
                report = frameaudit.analyze(target, all_threads=True)
                t = time.perf_counter() - t0
                return t, (True, report.summary.frames, "")

        def sb_unwind():
            with Session() as s:
                s.load_core(binary, core)
                t0 = time.perf_counter()
                frames = sum(s.process.GetThreadAtIndex(i).GetNumFrames()
                             for i in range(s.process.GetNumThreads()))
                t = time.perf_counter() - t0
                return t, (True, frames, "")

        py = lambda s: s.load_python(python_package_dir())  # noqa: E731
        nat = lambda s: s.load_native(native)  # noqa: E731
        t, r = best(args.repeat, command(py, "fa audit -a -j"))
        rows.append(("python fa audit -a -j", t, f"{r[1] / 2**20:.1f} MiB JSON" if r[0] else r[2]))
        audit_json = t
        t, r = best(args.repeat, command(py, "fa audit -a"))
        rows.append(("python fa audit -a", t, f"{r[1] / 2**20:.1f} MiB text" if r[0] else r[2]))
        t, r = best(args.repeat, analyze_only)
        rows.append(("python analyze()", t, f"{r[1]} frames"))
        if native.exists():
            t, r = best(args.repeat, command(nat, "fa audit -a -j"))
            rows.append(("native fa audit -a -j", t,
                         f"{r[1] / 2**20:.1f} MiB JSON" if r[0] else r[2]))
        t, r = best(args.repeat, sb_unwind)
        rows.append(("SB API unwind (GetNumFrames)", t, f"{r[1]} frames"))
        unwind = t

        exe = lldb_executable()
        t0 = time.perf_counter()
        try:
            out = subprocess.run([exe, "--batch", "--no-lldbinit", "-o",
                                  f'target create "{binary}" --core "{core}"', "-o",
                                  "thread backtrace all"], capture_output=True, text=True,
                                 timeout=args.timeout, stdin=subprocess.DEVNULL)
            t = time.perf_counter() - t0
            if out.returncode < 0 or "PLEASE submit a bug report" in out.stderr:
                note = f"LLDB crashed (exit {out.returncode})"
            else:
                note = f"exit {out.returncode}, {out.stdout.count(chr(10))} lines"
        except subprocess.TimeoutExpired:
            t, note = args.timeout, "timed out"
        rows.append(("bt all (subprocess, incl. start-up)", t, note))

        width = max(len(r[0]) for r in rows)
        for name, t, note in rows:
            print(f"  {name:<{width}}  {t:8.3f} s   {note}")
        ratio = audit_json / unwind if unwind else float("inf")
        verdict = "meets" if ratio <= 0.5 else "misses"
        print(f"  python fa audit -a -j / SB unwind = {ratio:.2f} ({verdict} the 0.5 floor)")


if __name__ == "__main__":
    main()

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

Best of --repeat runs. Floor: the full audit at most half the SB
API unwind's time, and it works where `thread backtrace all` crashes.

With --cli it times whole processes instead, as a user runs them,
each under /usr/bin/time -v, median of --repeat runs (wall clock and the
largest process's peak RSS), side by side for each shape (default 1x16, a
~24-frame core; 8x10000; 64x1000; 64x10000; 1x1000000), then the
same numbers as one Markdown table:

  frameaudit analyze --format json|text|sarif CORE > FILE
                          for build/bin/frameaudit, and for every
                          --frameaudit LABEL=LAUNCHER (e.g. a copy of the
                          tree before a change: its numbers print beside)
  SB unwind process       python3: import lldb, LoadCore, GetNumFrames of
                          every thread (the user's Python alternative)
  eu-stack, gdb, lldb bt  `eu-stack -n 0 --core` (every frame, not its
                          default 256), `gdb -batch -ex 'thread apply all
                          bt'`, `lldb -b -c CORE -o 'thread backtrace
                          all'`: past --slow-frames frames one run each, cut
                          off after --slow-timeout seconds (eu-stack takes
                          minutes at 8x10000), shown as "> N s"

    /usr/bin/python3 tests/bench/lldb/bench_lldb.py --cli [--repeat 3]
        [--shape 1x16 --shape 8x10000 ...] [--frameaudit before=/tmp/old/bin/frameaudit]
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
    p.add_argument("--cli", action="store_true",
                   help="time whole processes: frameaudit analyze beside the SB unwind, "
                        "eu-stack, gdb and lldb")
    p.add_argument("--frameaudit", action="append", default=[], metavar="LABEL=LAUNCHER",
                   help="--cli: also time this launcher, in its own column")
    p.add_argument("--slow-frames", type=int, default=2000,
                   help="--cli: past this many frames, eu-stack and gdb run once, cut off "
                        "after --slow-timeout (they take minutes at 8x10000: 576 s and 209 s)")
    p.add_argument("--slow-timeout", type=int, default=60,
                   help="--cli: seconds before eu-stack and gdb are cut off past --slow-frames")
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


def _children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _become_subreaper():
    """Workers a CLI leaves behind (still exiting) are re-parented to us, so
    their memory is counted and they are reaped."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def timed_process(argv, out_path, timeout=3600):
    """(wall seconds until the command exits, peak RSS in MiB of the largest
    process as /usr/bin/time -v says, exit status, sum of every process's
    peak RSS in MiB) of one run of argv under /usr/bin/time -v, stdout to
    out_path. /usr/bin/time counts only the processes it waits for (a worker
    still tearing down after its CLI exited is not): the sum comes from each
    process's VmHWM, sampled every 20 ms until the last of them is gone."""
    report = out_path.with_suffix(".time")
    peaks = {}

    def sample(root):
        todo = [root]
        while todo:
            pid = todo.pop()
            hwm = _hwm_kib(pid)
            if hwm is not None:
                peaks[pid] = max(peaks.get(pid, 0), hwm)
            todo += _children(pid)

    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(report), *map(str, argv)],
                                stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        wall = None
        while True:
            sample(proc.pid)
            for orphan in _children(os.getpid()):
                if orphan != proc.pid:
                    sample(orphan)
            if wall is None and proc.poll() is not None:
                wall = time.perf_counter() - t0
            if wall is not None:
                while True:  # reap what was re-parented to us
                    try:
                        pid, _ = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        pid = 0
                    if not pid:
                        break
                if not [c for c in _children(os.getpid()) if c != proc.pid]:
                    break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, 9)  # the command too, not only /usr/bin/time
                proc.wait()
                return float(timeout), 0.0, "timeout", 0.0
            time.sleep(0.02)
        code = proc.returncode
    rss = 0.0
    for line in report.read_text().splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split()[-1]) / 1024
        if "Exit status" in line:
            code = int(line.split()[-1])
    total = sum(v for pid, v in peaks.items() if pid != proc.pid) / 1024  # not /usr/bin/time's own
    return wall, rss, code, max(total, rss)


def median_run(repeat, argv, out_path, timeout=3600):
    import statistics
    runs = [timed_process(argv, out_path, timeout) for _ in range(repeat)]
    walls = sorted(r[0] for r in runs)
    return (statistics.median(walls), statistics.median(r[1] for r in runs), runs[-1][2], walls,
            statistics.median(r[3] for r in runs))


SB_UNWIND = r"""
import os, sys
sys.path.append(sys.argv[3])
import lldb
d = lldb.SBDebugger.Create(False)
d.SetAsync(False)
t = d.CreateTarget(sys.argv[1])
p = t.LoadCore(sys.argv[2], lldb.SBError())
print(sum(p.GetThreadAtIndex(i).GetNumFrames() for i in range(p.GetNumThreads())))
sys.stdout.flush()
os._exit(0)
"""


def cli_main(args):
    """--cli: whole processes, as the user runs them."""
    build = Path(args.build).resolve()
    binary = build / "bench" / "fa_bench_deep_recursion"
    if not binary.exists():
        sys.exit(f"{binary} is not built (cmake --build {build} --target fa_bench_deep_recursion)")
    launchers = [("frameaudit", build / "bin" / "frameaudit")]
    for spec in args.frameaudit:
        label, _, path = spec.partition("=")
        launchers.append((label, Path(path)))
    lldb_exe = shutil.which("lldb-22") or shutil.which("lldb")
    lldb_python = subprocess.run([lldb_exe, "-P"], capture_output=True, text=True).stdout.strip()
    scratch = build / "bench" / "cli-out"
    scratch.mkdir(parents=True, exist_ok=True)
    shapes = args.shape or ["1x16", "8x10000", "64x1000", "64x10000", "1x1000000"]
    table = []
    _become_subreaper()
    print(f"whole process, /usr/bin/time -v, median of {args.repeat}: wall s [all runs], peak "
          f"RSS of the largest process it waited for, sum of every process's peak RSS; "
          f"block every {args.every} frames")
    for shape in shapes:
        threads, depth = (int(x) for x in shape.lower().split("x"))
        core = make_core(binary, threads, depth, args.every, build / "bench" / "cores")
        print(f"\n== {threads} x {depth}  ({core}, {core.stat().st_size / 2**20:.0f} MiB)")
        rows = []
        sb = median_run(args.repeat, ["/usr/bin/python3", "-c", SB_UNWIND, binary, core, lldb_python],
                        scratch / "sb.out")
        frames = (scratch / "sb.out").read_text().strip()
        rows.append(("SB unwind process (LoadCore + GetNumFrames)", sb, f"{frames} frames"))
        slow = threads * depth > args.slow_frames
        slow_repeat, slow_timeout = (1, args.slow_timeout) if slow else (args.repeat, 3600)
        eu = median_run(slow_repeat, ["eu-stack", "-n", "0", "--core", core, "-e", binary],
                        scratch / "eu.out", slow_timeout)
        rows.append(("eu-stack -n 0 --core (every frame)", eu, ""))
        gdb = median_run(slow_repeat, ["gdb", "-q", "-batch", "-nx", "-ex", "thread apply all bt",
                                       binary, core], scratch / "gdb.out", slow_timeout)
        rows.append(("gdb thread apply all bt", gdb, ""))
        bt = median_run(slow_repeat, [lldb_exe, "--batch", "--no-lldbinit", "-c", core, binary, "-o",
                                      "thread backtrace all"], scratch / "bt.out", slow_timeout)
        rows.append(("lldb -b -c CORE -o 'thread backtrace all'", bt,
                     "exit %s" % bt[2] if bt[2] != 0 else ""))
        # Interleaved (every launcher and format once per round), so a busy
        # machine slows all of them alike.
        import statistics
        runs = {}
        for _ in range(args.repeat):
            for label, launcher in launchers:
                for fmt in ("json", "text", "sarif"):
                    out = scratch / f"{label}.{fmt}"
                    runs.setdefault((label, fmt), []).append(
                        timed_process([launcher, "analyze", "--format", fmt, core], out))
        json_time = {}
        for label, launcher in launchers:
            for fmt in ("json", "text", "sarif"):
                out = scratch / f"{label}.{fmt}"
                got = runs[(label, fmt)]
                walls = sorted(g[0] for g in got)
                r = (statistics.median(walls), statistics.median(g[1] for g in got), got[-1][2],
                     walls, statistics.median(g[3] for g in got))
                if fmt == "json":
                    json_time[label] = r[0]
                size = out.stat().st_size
                size_text = f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 1024:.0f} KiB"
                note = f"{size_text}, exit {r[2]}, {r[0] / sb[0]:.2f}x SB"
                if fmt != "json":
                    note += f", {r[0] / json_time[label]:.2f}x json"
                rows.append((f"{label} analyze --format {fmt}", r, note))
        width = max(len(r[0]) for r in rows)
        for name, (wall, rss, _code, walls, total), note in rows:
            runs = " ".join(f"{w:.3f}" for w in walls)
            print(f"  {name:<{width}}  {wall:8.3f} s [{runs}]  {rss:6.0f} MiB  {total:6.0f} MiB  "
                  f"{note}")
        cells = {name: r for name, r, _ in rows}
        table.append((shape, [cells[f"frameaudit analyze --format {f}"] for f in ("json", "text")],
                      sb, eu, gdb, bt))
    print_table(table, args)


def cell(r, with_memory=False):
    """One table cell: median wall time (a cut-off run as "> N s")."""
    wall, rss, code, _walls, total = r
    text = f"> {wall:.0f} s" if code == "timeout" else f"{wall:.3f} s"
    if code not in ("timeout", 0):
        text += f" (exit {code})"
    if with_memory and code != "timeout":
        text += f", {total:.0f} MiB"
    return text


def print_table(table, args):
    """The summary as a Markdown table, as the README shows it."""
    print(f"\n| core | `analyze --format json` | `--format text` | SB unwind | eu-stack | "
          f"gdb `thread apply all bt` | lldb `thread backtrace all` |")
    print("|---|---|---|---|---|---|---|")
    for shape, (json_r, text_r), sb, eu, gdb, bt in table:
        threads, depth = shape.lower().split("x")
        name = f"{threads} x {int(depth):,}".replace(",", "\u2009")
        print(f"| {name} | {cell(json_r, True)} | {cell(text_r)} | {cell(sb, True)} | {cell(eu)} | "
              f"{cell(gdb)} | {cell(bt)} |")
    print(f"\nwhole process, median of {args.repeat} (eu-stack, gdb and lldb past "
          f"{args.slow_frames} frames: one run, cut off after {args.slow_timeout} s); memory: "
          f"the sum of every process's peak RSS")


def main():
    args = parse_args()
    if args.cli:
        cli_main(args)
        return
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

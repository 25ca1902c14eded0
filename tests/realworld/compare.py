#!/usr/bin/env python3
"""frameaudit's frames on the real-program corpus against LLDB's and gdb's.

For each core (corpus.py) and each thread, three lists of physical frames
(pc, CFA), innermost first:

  frameaudit  `bin/frameaudit analyze --format json --exe EXE CORE...`,
              frames[].pc / .cfa (with frames[].unwind, kind, chain_end and
              chain_end_detail as its evidence)
  LLDB        its own unwinder through the SB API (lldb_unwind.py)
  gdb         its own unwinder through its Python API (gdb_unwind.py); gdb
              cannot read minidumps, so for a minidump the second witness is
              LLDB's live unwind of the process at the stop the minidump was
              written at (lldb_drive.py): the same unwinder, but it shows
              whether the minidump holds what unwinding needs.

Two frames are equal when their pcs are and their CFAs are (a CFA one side
does not know, such as gdb's for _start, is not compared). When the two
witnesses agree on a thread (same frames, same number), frameaudit must give
exactly those frames, CFAs included, down to the last one. When they
disagree, the thread is reported and frameaudit is not judged on it.

    compare.py --summary [PROGRAM...]   the table (cores made if missing)
    compare.py --detail PROGRAM...      every thread, the first differing frame
    compare.py --fresh ...              remake the cores first

Paths: FRAMEAUDIT_BUILD_DIR (default <repo>/build), bin/frameaudit in it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402
from corpus import FORMATS, HERE, PROGRAMS, Core, Program  # noqa: E402

MAX_FRAMES = 100000
TIMEOUT = 300


def frameaudit_path() -> Path:
    return corpus.build_dir() / "bin" / "frameaudit"


# -- running the three unwinders --------------------------------------------------

def _frameaudit(exe: Path, cores: List[Core]) -> List[dict]:
    """frameaudit's document for each core ({"error": ...} where it gave none)."""
    tool = frameaudit_path()
    if not tool.exists():
        raise corpus.Missing(f"{tool} is not built (scripts/build.sh)")
    cmd = [str(tool), "analyze", "--format", "json", "--fail-on", "never", "--exe", str(exe),
           *[str(c.path) for c in cores]]
    env = dict(os.environ)
    env.pop("FRAMEAUDIT_DEBUG", None)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                             stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        return [{"error": f"frameaudit analyze took more than {TIMEOUT} s"}] * len(cores)
    if out.returncode not in (0, 1):
        if len(cores) > 1:  # one bad core must not hide the others
            return [_frameaudit(exe, [c])[0] for c in cores]
        return [{"error": f"frameaudit analyze exited {out.returncode}: {out.stderr.strip()}"}]
    try:
        doc = json.loads(out.stdout)
    except ValueError as e:
        return [{"error": f"frameaudit analyze printed no JSON ({e}): {out.stdout[:300]!r}"}]
    return doc if isinstance(doc, list) else [doc]


def _lldb(core: Core) -> dict:
    out_path = core.path.parent / "lldb.json"
    out_path.unlink(missing_ok=True)
    try:
        out = subprocess.run([corpus.PYTHON, str(HERE / "lldb_unwind.py"), str(core.exe),
                              str(core.path), str(out_path), str(MAX_FRAMES)],
                             env=corpus.lldb_env(), capture_output=True, text=True,
                             timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"LLDB did not unwind {core.path.name} in {TIMEOUT} s (LLDB 22 hangs "
                         f"loading some minidumps it wrote itself)"}
    if out.returncode != 0 or not out_path.exists():
        return {"error": f"LLDB failed on {core.path.name}: {(out.stderr or out.stdout)[-800:]}"}
    return json.loads(out_path.read_text())


def _gdb(exe: Path, cores: List[Core]) -> List[dict]:
    if not cores:
        return []
    outs = [c.path.parent / "gdb.json" for c in cores]
    for o in outs:
        o.unlink(missing_ok=True)
    env = dict(os.environ, RW_EXE=str(exe), RW_MAX_FRAMES=str(MAX_FRAMES),
               RW_CORES=os.pathsep.join(str(c.path) for c in cores),
               RW_OUTS=os.pathsep.join(str(o) for o in outs))
    env.pop("DEBUGINFOD_URLS", None)
    try:
        out = subprocess.run([corpus.gdb_path(), "-nx", "-q", "-batch", "-x",
                              str(HERE / "gdb_unwind.py")], env=env, capture_output=True,
                             text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        tail = (out.stderr or out.stdout)[-800:]
    except subprocess.TimeoutExpired:
        tail = f"gdb did not finish in {TIMEOUT} s"
    return [json.loads(o.read_text()) if o.exists() else {"error": f"gdb failed: {tail}"}
            for o in outs]


# -- comparing ------------------------------------------------------------------

Frame = Dict[str, Optional[str]]


def _int(v) -> Optional[int]:
    return None if v is None else int(v, 16)


def same_frame(a: Frame, b: Frame) -> bool:
    if _int(a["pc"]) != _int(b["pc"]):
        return False
    ca, cb = _int(a.get("cfa")), _int(b.get("cfa"))
    return ca is None or cb is None or ca == cb


def same_frames(a: List[Frame], b: List[Frame]) -> bool:
    return len(a) == len(b) and all(same_frame(x, y) for x, y in zip(a, b))


def exact_frame(fa: Frame, ref: Frame, other: Optional[Frame]) -> bool:
    """frameaudit's frame against the reference: pc equal, CFA equal to the
    reference's (LLDB always has one); a null CFA from frameaudit is a miss."""
    if _int(fa["pc"]) != _int(ref["pc"]) or _int(fa.get("cfa")) != _int(ref["cfa"]):
        return False
    return other is None or same_frame(fa, other)


def first_difference(a: List[Frame], b: List[Frame], equal=same_frame) -> Optional[int]:
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b) or not equal(a[i], b[i]):
            return i
    return None


def matched(fa: List[Frame], ref: List[Frame]) -> int:
    """Reference frames whose (pc, CFA) is among frameaudit's frames, in any
    position (a frame missing or added early does not hide the rest)."""
    have: Dict[int, set] = {}
    for f in fa:
        have.setdefault(_int(f["pc"]), set()).add(_int(f.get("cfa")))
    # A CFA the reference does not know (gdb's for _start) compares the pc only.
    return sum(1 for f in ref if _int(f["pc"]) in have and
               (f.get("cfa") is None or _int(f["cfa"]) in have[_int(f["pc"])]))


@dataclass
class ThreadReport:
    tid: int
    index: Optional[int]           # frameaudit's / LLDB's 1-based index
    fa: Optional[dict]             # frameaudit's thread
    lldb: Optional[List[Frame]]
    second: Optional[List[Frame]]  # gdb's frames, or LLDB live for a minidump
    second_name: str               # "gdb" or "LLDB live"
    witnesses_agree: bool = False
    witness_diff: Optional[int] = None
    fa_exact: bool = False
    fa_diff: Optional[int] = None
    matched_lldb: int = 0
    matched_second: int = 0

    @property
    def fa_frames(self) -> List[Frame]:
        return self.fa["frames"] if self.fa else []


@dataclass
class CoreReport:
    program: Program
    core: Core
    doc: dict
    lldb_doc: dict
    second_doc: Optional[dict]
    second_name: str
    threads: List[ThreadReport] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)   # a witness or frameaudit failed

    @property
    def findings(self) -> List[dict]:
        return self.doc.get("findings", []) if "error" not in self.doc else []

    def bad_findings(self) -> List[dict]:
        return [f for f in self.findings if f.get("severity") in ("error", "warning")]

    def judged(self) -> List[ThreadReport]:
        return [t for t in self.threads if t.witnesses_agree]


def compare_core(prog: Program, core: Core, doc: dict, lldb_doc: dict,
                 second_doc: Optional[dict], second_name: str) -> CoreReport:
    report = CoreReport(prog, core, doc, lldb_doc, second_doc, second_name)
    for name, d in (("frameaudit", doc), ("LLDB", lldb_doc), (second_name, second_doc)):
        if d is not None and "error" in d:
            report.errors.append(f"{name}: {d['error']}")
    if "error" in lldb_doc:
        return report
    fa_threads = {t["tid"]: t for t in doc.get("threads", [])}
    second_threads = {t["tid"]: t for t in (second_doc or {}).get("threads", [])}
    for lt in lldb_doc["threads"]:
        st = second_threads.get(lt["tid"])
        fa = fa_threads.get(lt["tid"])
        t = ThreadReport(lt["tid"], (fa or {}).get("index", lt.get("index")), fa, lt["frames"],
                         st["frames"] if st else None, second_name)
        if st is not None:
            t.witness_diff = first_difference(t.lldb, t.second)
            t.witnesses_agree = t.witness_diff is None and not lt.get("stop") and \
                not (st.get("stop") or "").startswith("max")
        if fa is not None:
            t.fa_diff = first_difference(
                t.fa_frames, t.lldb,
                equal=lambda f, r: _int(f["pc"]) == _int(r["pc"]) and
                _int(f.get("cfa")) == _int(r["cfa"]))
            t.fa_exact = t.fa_diff is None
            t.matched_lldb = matched(t.fa_frames, t.lldb)
            if t.second is not None:
                t.matched_second = matched(t.fa_frames, t.second)
        report.threads.append(t)
    for tid in fa_threads.keys() - {t.tid for t in report.threads}:
        report.errors.append(f"frameaudit has thread {tid}, LLDB does not")
    return report


def analyse_program(prog: Program, formats=FORMATS, fresh: Optional[bool] = None,
                    cores: Optional[Dict[str, Core]] = None) -> Dict[str, CoreReport]:
    """Make (or reuse) the program's cores, run the three unwinders, compare."""
    if cores is None:
        cores = {fmt: corpus.get_core(prog, fmt, fresh) for fmt in formats}
    exe = prog.executable()
    elf = [c for c in cores.values() if c.made_as != "minidump"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        fa_job = pool.submit(_frameaudit, exe, list(cores.values()))
        gdb_job = pool.submit(_gdb, exe, elf)
        lldb_docs = {fmt: _lldb(c) for fmt, c in cores.items()}
        fa_docs = dict(zip(cores, fa_job.result()))
        gdb_docs = dict(zip([c.format for c in elf], gdb_job.result()))
    reports = {}
    for fmt, core in cores.items():
        if core.made_as == "minidump":
            second = json.loads(core.live_lldb.read_text()) if core.live_lldb and \
                core.live_lldb.exists() else {"error": "LLDB's live unwind was not saved"}
            name = "LLDB live"
        else:
            second, name = gdb_docs[fmt], "gdb"
        reports[fmt] = compare_core(prog, core, fa_docs[fmt], lldb_docs[fmt], second, name)
    return reports


# -- rendering ------------------------------------------------------------------

def _cell(f: Optional[Frame]) -> str:
    if f is None:
        return "-"
    return f"pc {f['pc']} cfa {f.get('cfa') or 'null'} {f.get('function') or '?'}"


def _fa_cell(f: Optional[dict]) -> str:
    if f is None:
        return "-"
    extra = [f"kind {f.get('kind')}"]
    if "unwind" in f:
        extra.insert(0, f"unwind {f['unwind']}")
    if f.get("repaired"):
        extra.append("repaired")
    return (f"pc {f['pc']} cfa {f.get('cfa') or 'null'} rsp {f.get('rsp')} rbp {f.get('rbp')} "
            f"{f.get('function') or '?'} [{', '.join(extra)}]")


def _rows(t: ThreadReport, at: int, before: int = 1, after: int = 2) -> List[str]:
    lines = []
    for i in range(max(0, at - before), at + after + 1):
        fa = t.fa_frames[i] if i < len(t.fa_frames) else None
        lf = t.lldb[i] if t.lldb and i < len(t.lldb) else None
        sf = t.second[i] if t.second and i < len(t.second) else None
        if fa is None and lf is None and sf is None:
            break
        mark = ">" if i == at else " "
        lines.append(f"   {mark}#{i:<4} frameaudit {_fa_cell(fa)}")
        lines.append(f"          LLDB       {_cell(lf)}")
        if t.second is not None:
            lines.append(f"          {t.second_name:<10} {_cell(sf)}")
    return lines


def thread_problem(t: ThreadReport, r: CoreReport) -> List[str]:
    """Why frameaudit fails on a judged thread, for a person (one block)."""
    fa = t.fa
    head = f"thread index {t.index} tid {t.tid}"
    if fa is None:
        return [f"{head}: missing from frameaudit's document (LLDB and {t.second_name} agree on "
                f"{len(t.lldb)} frames)"]
    i = t.fa_diff
    ref = t.lldb[i] if i < len(t.lldb) else None
    if ref is None:
        what = f"frameaudit has {len(t.fa_frames) - len(t.lldb)} frame(s) more, from frame {i}"
    elif i >= len(t.fa_frames):
        what = f"frameaudit stops after frame {i - 1}: missing {ref.get('function') or ref['pc']}"
    else:
        what = f"first differing frame {i} ({ref.get('function') or '?'})"
    lines = [f"{head}: {what}; frameaudit {len(t.fa_frames)} frames, LLDB and "
             f"{t.second_name} {len(t.lldb)}; chain_end {fa.get('chain_end')}: "
             f"{fa.get('chain_end_detail')}"]
    lines += _rows(t, i)
    return lines


def disagreement(t: ThreadReport) -> List[str]:
    head = f"thread index {t.index} tid {t.tid}"
    if t.second is None:
        return [f"{head}: {t.second_name} has no such thread"]
    i = t.witness_diff
    if i is None:
        return [f"{head}: a witness stopped at its frame limit"]
    lines = [f"{head}: LLDB ({len(t.lldb)} frames) and {t.second_name} ({len(t.second)}) "
             f"disagree from frame {i}; frameaudit is not judged here "
             f"(it matches {'LLDB' if t.fa_exact else 'neither' if t.fa_diff is not None else '?'}"
             f"{'' if t.fa_exact else f' from frame {t.fa_diff}'})"]
    lines += _rows(t, i, before=0, after=1)
    return lines


def core_problems(r: CoreReport) -> List[str]:
    """Everything the test asserts against, as text (empty: the core passes)."""
    out = list(r.errors)
    for f in r.bad_findings():
        out.append(f"finding {f['severity']} {f['kind']} (thread {f.get('thread')} frame "
                   f"{f.get('frame')} {f.get('function')}): {f['message']}")
    for t in r.judged():
        if not t.fa_exact:
            out += thread_problem(t, r)
    return out


def core_notes(r: CoreReport) -> List[str]:
    """What is reported but not asserted."""
    out = []
    if r.core.note:
        out.append(r.core.note)
    for t in r.threads:
        if not t.witnesses_agree:
            out += disagreement(t)
    return out


def summary_row(r: CoreReport) -> List[str]:
    threads = r.threads
    judged = r.judged()
    sev = {"error": 0, "warning": 0, "note": 0}
    for f in r.findings:
        sev[f.get("severity", "note")] = sev.get(f.get("severity", "note"), 0) + 1
    fa_lldb = sum(t.matched_lldb for t in threads)
    tot_lldb = sum(len(t.lldb or []) for t in threads)
    fa_2 = sum(t.matched_second for t in threads if t.second is not None)
    tot_2 = sum(len(t.second) for t in threads if t.second is not None)
    exact = sum(1 for t in judged if t.fa_exact)
    status = "FAIL" if core_problems(r) else "pass"
    fmt = r.core.format if r.core.made_as == r.core.format else f"{r.core.format}->{r.core.made_as}"
    second = "gdb" if r.second_name == "gdb" else "live"
    return [r.program.name, fmt, str(len(threads)),
            f"{exact}/{len(judged)}", f"{fa_lldb}/{tot_lldb}",
            f"{fa_2}/{tot_2} {second}", str(len(threads) - len(judged)),
            f"{sev['error']}/{sev['warning']}/{sev['note']}", status]


HEADER = ["program", "format", "threads", "threads exact", "frames vs LLDB",
          "frames vs gdb (live)", "LLDB!=2nd", "findings E/W/N", "status"]


def table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(HEADER), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


LEGEND = """\
threads exact: threads where LLDB and the second witness agree (the judged
  ones) and frameaudit gives exactly their frames (pc and CFA), of the judged.
frames vs LLDB / vs gdb: reference frames whose (pc, CFA) frameaudit has, of
  all frames the reference lists, over every thread. For a minidump the second
  witness is LLDB's live unwind at the stop it was written at ("live"): gdb
  cannot read minidumps.
LLDB!=2nd: threads where the two witnesses disagree (reported, not judged)."""


def write_report(reports: Dict[str, CoreReport], path: Path) -> None:
    lines = []
    for fmt, r in reports.items():
        lines.append(f"== {r.program.name} {fmt} ({r.core.path}) ==")
        problems, notes = core_problems(r), core_notes(r)
        lines += problems or ["frameaudit matches on every judged thread, no error or warning"]
        if notes:
            lines.append("-- reported, not asserted --")
            lines += notes
        lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("programs", nargs="*", help="corpus programs (default: all)")
    ap.add_argument("--summary", action="store_true", help="print the summary table")
    ap.add_argument("--detail", action="store_true", help="print every problem and note")
    ap.add_argument("--fresh", action="store_true", help="remake the cores first")
    ap.add_argument("--formats", default=",".join(FORMATS))
    args = ap.parse_args(argv)
    progs = [corpus.program(n) for n in args.programs] if args.programs else PROGRAMS
    formats = tuple(args.formats.split(","))
    rows, failed = [], 0
    start = time.monotonic()
    for prog in progs:
        try:
            reports = analyse_program(prog, formats, fresh=args.fresh or None)
        except (corpus.Missing, AssertionError) as e:
            print(f"{prog.name}: {e}", file=sys.stderr)
            rows.append([prog.name, "-", "-", "-", "-", "-", "-", "-", "ERROR"])
            failed += 1
            continue
        write_report(reports, corpus.cores_dir() / prog.name / "report.txt")
        for fmt, r in reports.items():
            rows.append(summary_row(r))
            failed += rows[-1][-1] != "pass"
            if args.detail:
                print(f"== {prog.name} {fmt} ==")
                print("\n".join(core_problems(r) + core_notes(r)) or "ok")
    if args.summary or not args.detail:
        print(table(rows))
        print(LEGEND)
        print(f"({time.monotonic() - start:.0f} s; per-core reports in "
              f"{corpus.cores_dir()}/<program>/report.txt)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

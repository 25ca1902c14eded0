"""test_fixture_stops.py: every fixture's stop modes and ground truth.

For each correct fixture in two contrasting cells, each SRA_STOP mode must
end the process the documented way with the ground truth already on disk,
and the ground truth must be self-consistent.  Then, under gdb, the chain
the ground truth promises for every thread must be what gdb's unwinder
shows at the stop (the LLDB and core tests rely on those chains).
"""
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from sra_testlib import matrix, require_tool, reserved

CELLS = ["gcc-O0-fp-audit", "clang-O2-nofp-plain"]
STOPS = {"none": 0, "break": 0, "abort": -signal.SIGABRT, "trap": -signal.SIGTRAP,
         "ud2": -signal.SIGILL, "segv": -signal.SIGSEGV}


def binaries():
    """Two cells by default; every cell with SRA_TEST_ALL_CELLS=1 (slow)."""
    every = os.environ.get("SRA_TEST_ALL_CELLS") == "1"
    return [b for b in matrix()
            if not b["unsafe"] and (every or b["name"].split("-", 1)[1] in CELLS)]


FIXTURE_SOURCES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def _source(fixture):
    for ext in (".c", ".cpp"):
        path = os.path.join(FIXTURE_SOURCES, fixture + ext)
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
    raise AssertionError(f"no source for fixture {fixture}")


def stops_inline(fixture):
    """The fixture stops in its own frame (FX_STOP_INLINE), not in fixture_stop."""
    return "FX_STOP_INLINE()" in _source(fixture)


def fx_uses_live_blocks(fixture):
    """False for the use-after-return fixtures, which stop after their block died."""
    return fixture not in ("stale_return", "global_kept")


def run_fixture(b, stop, truth):
    return subprocess.run([b["path"]], env={"SRA_STOP": stop, "SRA_GROUND_TRUTH": str(truth)},
                          capture_output=True, text=True, timeout=60)


def check_truth(b, t, stop):
    assert t["schema"] == "sra-fixture/1"
    assert t["fixture"] == b["fixture"]
    assert t["mode"] == b["mode"]
    assert t["stop"] == stop
    assert t["blocks"], "no blocks"
    tids = {th["tid"] for th in t["threads"]}
    for blk in t["blocks"]:
        ptr = int(blk["ptr"], 16)
        assert re.fullmatch(r"0x[0-9a-f]+", blk["ptr"])
        assert ptr % 16 == 0
        assert blk["reserved"] == reserved(blk["size"], b["mode"])
        assert blk["tid"] in tids
        assert blk["line"] > 0 and blk["function"] and blk["file"].startswith(b["fixture"])
    # Per thread, sequence numbers count that thread's allocations from 1.
    for tid in tids:
        seqs = [blk["seq"] for blk in t["blocks"] if blk["tid"] == tid]
        assert seqs == list(range(1, len(seqs) + 1))
    for th in t["threads"]:
        assert th["chain"], f"thread {th['tid']} has no chain"
    main = [th for th in t["threads"] if th["main"]]
    assert len(main) == 1
    if not t["corrupt"]:
        # An overrun through a saved pair (overrun_chain) breaks the chain
        # where it promises to; every other main thread's chain ends in main.
        assert main[0]["chain"][-1] == "main"
    live = [blk for blk in t["blocks"] if blk["live"]]
    if fx_uses_live_blocks(b["fixture"]):
        assert live, "no live block at the stop"
    else:
        # Use after return: every block is dead and something still points at one.
        assert not live and t["dangling"], "a use-after-return fixture must stop with dead blocks"
    # Live blocks of one thread never overlap.
    for tid in tids:
        spans = sorted((int(x["ptr"], 16), int(x["ptr"], 16) + x["reserved"])
                       for x in live if x["tid"] == tid)
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            assert a1 <= b0, "live blocks overlap"
    fx = b["fixture"]
    if fx == "overflow":
        o = t["overflow"]
        victim = next(x for x in t["blocks"] if x["id"] == o["block"])
        assert victim["label"] == "victim" and o["offset"] == victim["size"] == 48
    else:
        assert t["overflow"] is None
    if fx == "dangling":
        kinds = {d["kind"] for d in t["dangling"]}
        assert kinds == {"global", "local", "register"}
        dead = {x["id"] for x in t["blocks"] if not x["live"]}
        assert all(d["block"] in dead for d in t["dangling"])
    if fx in ("exception", "longjmp"):
        assert any(not x["live"] for x in t["blocks"]), "unwound frames' blocks should be dead"
    if fx == "threads":
        assert len(t["threads"]) == 4
        assert {blk["tid"] for blk in live} == tids


@pytest.mark.parametrize("stop", list(STOPS))
@pytest.mark.parametrize("b", binaries(), ids=lambda b: b["name"])
def test_stop_mode(tmp_path, b, stop):
    truth = tmp_path / "truth.json"
    r = run_fixture(b, stop, truth)
    assert r.returncode == STOPS[stop], r.stderr
    check_truth(b, json.loads(truth.read_text()), stop)


GDB = shutil.which("gdb")


def gdb_backtraces(path, truth):
    """Thread id -> function names innermost first, at an SRA_STOP=segv stop."""
    r = subprocess.run([GDB, "-nx", "-batch", "-ex", "set pagination off",
                        "-ex", "handle SIGUSR1 nostop noprint pass", "-ex", "run",
                        "-ex", "thread apply all bt", path],
                       env={"SRA_STOP": "segv", "SRA_GROUND_TRUTH": str(truth),
                            "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=120)
    traces, cur = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"Thread \d+ \(Thread 0x[0-9a-f]+ \(LWP (\d+)\)", line)
        if m:
            cur = traces.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) \(", line)
        if m and cur is not None:
            cur.append(m.group(1))
        elif line.startswith("#") and "<signal handler called>" in line and cur is not None:
            cur.append("<signal handler called>")
    return traces, r.stdout


def plain(name):
    return name.split("(")[0].split("::")[-1]


@pytest.mark.parametrize("b", binaries(), ids=lambda b: b["name"])
def test_chains_match_gdb(tmp_path, b):
    require_tool("gdb", "the gdb backtrace comparison")
    truth = tmp_path / "truth.json"
    traces, out = gdb_backtraces(b["path"], truth)
    t = json.loads(truth.read_text())
    assert traces, out
    inlined = {n for names in t["notes"].get("inlined", {}).values() for n in names}
    for th in t["threads"]:
        names = [plain(n) for n in traces[th["tid"]]]
        # Skip libc frames and the stop helper, then the chain comes in
        # order; only the signal trampoline may sit between two entries.
        chain = th["chain"]
        start = names.index(chain[0])
        shown = [n for n in names[start:] if n != "<signal handler called>" and n not in inlined]
        assert shown[:len(chain)] == chain, f"tid {th['tid']}: gdb shows {names}"
        if th["tid"] == t["stop_tid"]:
            if stops_inline(b["fixture"]):
                assert start == 0, f"the stop is in {chain[0]} itself: gdb shows {names}"
            else:
                assert "fixture_stop" in names[:start]

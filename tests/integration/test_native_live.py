"""The native plugin on live fixtures: every subcommand against the fixture's
own ground truth, thread selection, read-only-ness, and the errors a live
process can provoke (exited, running, unreadable stack)."""

import json

import pytest

from lldb_harness import require_tool
from native_helpers import (Session, check_truth, find_fixture, launch_to_stop, lldb,
                            stack_fingerprint, truth_problems)

NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")
THREADS = find_fixture("threads", "gcc", "O0", "fp", "audit")
UNSAFE = find_fixture("unsafe", "gcc", "O2", "fp", "audit")

pytestmark = pytest.mark.usefixtures("native_plugin_built")


@pytest.fixture
def session():
    s = Session()
    s.load_native()
    yield s
    s.close()


def launch(session, tmp_path, exe, stop):
    truth_file = tmp_path / "truth.json"
    launch_to_stop(session, exe, stop, truth_file, tmp_path)
    return json.loads(truth_file.read_text())


def audit_json(session, args="-a"):
    return json.loads(session.ok(f"fa audit -j {args}"))


# --- what each subcommand shows ---------------------------------------------

@pytest.mark.parametrize("stop", ["break", "segv", "trap", "abort"])
def test_audit_matches_ground_truth(session, tmp_path, stop):
    truth = launch(session, tmp_path, NESTED, stop)
    doc = audit_json(session)
    assert doc["schema"] == "frameaudit/1"
    assert doc["target"]["executable"] == str(NESTED)
    assert doc["target"]["pid"] == truth["pid"] and doc["target"]["core"] is None
    check_truth(truth_problems(doc, truth))


def test_default_thread_is_the_stopped_one(session, tmp_path):
    truth = launch(session, tmp_path, NESTED, "segv")
    doc = json.loads(session.ok("fa audit -j"))
    assert [t["tid"] for t in doc["threads"]] == [truth["stop_tid"]]


def test_text_subcommands(session, tmp_path):
    truth = launch(session, tmp_path, NESTED, "break")
    live = [b for b in truth["blocks"] if b["live"]]
    chain = truth["threads"][0]["chain"]

    audit = session.ok("fa audit")
    for name in chain:
        assert name in audit
    for block in live:
        assert block["ptr"] in audit
        assert f"{block['file']}:{block['line']}" in audit

    regions = session.ok("fa regions")
    for block in live:
        assert block["ptr"] in regions
    assert "Findings" not in regions

    chain_text = session.ok("fa chain")
    assert "Chain end:" in chain_text
    for name in chain:
        assert name in chain_text

    drawn = session.ok("fa map")
    assert "RSP" in drawn and "n_level3" in drawn
    ascii_map = session.ok("fa map --ascii")
    assert ascii_map.isascii() and "RSP" in ascii_map
    assert not drawn.isascii()


@pytest.mark.parametrize("sub", ["chain", "audit", "regions", "map"])
def test_json_option_prints_the_document(session, tmp_path, sub):
    launch(session, tmp_path, NESTED, "break")
    doc = json.loads(session.ok(f"fa {sub} --json"))
    assert doc["schema"] == "frameaudit/1" and len(doc["threads"]) == 1
    # Same report whichever subcommand printed it.
    assert doc == json.loads(session.ok("fa audit -j"))


def test_max_depth(session, tmp_path):
    launch(session, tmp_path, NESTED, "break")
    doc = json.loads(session.ok("fa chain -j --max-depth 2"))
    thread = doc["threads"][0]
    assert len(thread["frames"]) <= 2
    assert thread["chain_end"] == "max_depth"


# --- threads ----------------------------------------------------------------

@pytest.mark.skipif(THREADS is None, reason="threads fixture not built")
def test_thread_selection(session, tmp_path):
    truth = launch(session, tmp_path, THREADS, "break")
    doc = audit_json(session, "-a")
    check_truth(truth_problems(doc, truth))
    indexes = {t["index"]: t["tid"] for t in doc["threads"]}
    assert len(indexes) == session.process.GetNumThreads() >= len(truth["threads"])

    for index, tid in indexes.items():
        by_index = json.loads(session.ok(f"fa audit -j -t {index}"))
        assert [t["tid"] for t in by_index["threads"]] == [tid]
        by_tid = json.loads(session.ok(f"fa regions -j --thread={tid}"))
        assert [t["tid"] for t in by_tid["threads"]] == [tid]

    two = sorted(indexes)[:2]
    both = json.loads(session.ok(f"fa audit -j -t {two[0]} -t {two[1]}"))
    assert sorted(t["index"] for t in both["threads"]) == two

    err = session.fails("fa audit -t 4242")
    listed = ", ".join(str(i) for i in sorted(indexes))
    assert err == f"error: no thread with index or id 4242 (thread indexes: {listed}).\n"


@pytest.mark.skipif(THREADS is None, reason="threads fixture not built")
def test_map_all_threads_draws_each(session, tmp_path):
    launch(session, tmp_path, THREADS, "break")
    out = session.ok("fa map -a --ascii")
    assert out.count("Stack map") == session.process.GetNumThreads()


# --- read-only --------------------------------------------------------------

def test_commands_are_read_only_and_the_process_ends_normally(session, tmp_path):
    launch(session, tmp_path, NESTED, "break")
    before = stack_fingerprint(session.process)
    for command in ("fa chain -a", "fa audit -a", "fa regions -a", "fa map -a", "fa map --ascii",
                    "fa audit -a -j", "fa lint", "fa lint -j"):
        session.ok(command)
        assert stack_fingerprint(session.process) == before, command
    session.process.Continue()
    assert session.process.GetState() == lldb.eStateExited
    assert session.process.GetExitStatus() == 0


# --- errors on a live process -----------------------------------------------

def test_exited_process(session, tmp_path):
    session.create_target(NESTED)
    info = lldb.SBLaunchInfo([])
    info.SetEnvironmentEntries(["SRA_STOP=none", f"SRA_GROUND_TRUTH={tmp_path / 't.json'}"], True)
    error = lldb.SBError()
    session.process = session.target.Launch(info, error)
    assert session.process.GetState() == lldb.eStateExited
    for sub in ("chain", "audit", "regions", "map"):
        assert session.fails(f"fa {sub}") == \
            "error: the process has exited: nothing to inspect.\n"


def test_running_process(session):
    session.create_target(require_tool("sleep", "the running-process test"))
    session.debugger.SetAsync(True)
    info = lldb.SBLaunchInfo(["30"])
    error = lldb.SBError()
    session.process = session.target.Launch(info, error)
    assert error.Success()
    listener = session.debugger.GetListener()
    event = lldb.SBEvent()
    for _ in range(50):
        if session.process.GetState() == lldb.eStateRunning:
            break
        listener.WaitForEvent(1, event)
    assert session.process.GetState() == lldb.eStateRunning
    assert session.fails("fa audit") == \
        "error: the process is running: stop it first (`process interrupt`).\n"


def test_unreadable_stack_is_reported_not_fatal(session, tmp_path):
    """Point RSP and RBP at unmapped memory: every subcommand still answers
    (the walk ends at the first unreadable link) and LLDB survives."""
    launch(session, tmp_path, NESTED, "break")
    frame = session.process.GetSelectedThread().GetFrameAtIndex(0)
    for reg in ("rsp", "rbp"):
        assert frame.FindRegister(reg).SetValueFromCString("0x10")
    doc = json.loads(session.ok("fa chain -j"))
    thread = doc["threads"][0]
    assert thread["registers"]["rsp"] == "0x10" and thread["registers"]["rbp"] == "0x10"
    assert thread["chain_end"] in ("unreadable", "out_of_stack")
    assert thread["regions"] == []
    assert any(f["kind"] == "broken-chain" for f in doc["findings"])
    for sub in ("chain", "audit", "regions", "map", "map --ascii"):
        session.ok(f"fa {sub}")


# --- lint -------------------------------------------------------------------

def test_lint_live_names_every_call_site(session, tmp_path):
    truth = launch(session, tmp_path, NESTED, "break")
    out = session.ok("fa lint")
    assert str(NESTED) in out
    for block in truth["blocks"]:
        assert f"{block['file']}:{block['line']}" in out, block
    doc = json.loads(session.ok("fa lint --format json"))
    assert doc["schema"] == "frameaudit/1" and doc["threads"] == []
    assert doc["findings"] == []
    assert json.loads(session.ok("fa lint -j")) == doc
    assert session.ok(f"fa lint {NESTED.name}") == out
    assert session.ok(f"fa lint {NESTED}") == out
    libc = session.ok("fa lint libc.so.6")
    assert "libc.so.6" in libc


@pytest.mark.skipif(UNSAFE is None, reason="unsafe fixture not built")
def test_lint_finds_the_unsafe_caller(session, tmp_path):
    launch(session, tmp_path, UNSAFE, "break")
    doc = json.loads(session.ok("fa lint --format json"))
    unsafe = [f for f in doc["findings"] if f["kind"] == "unsafe-caller"]
    assert [f["function"] for f in unsafe] == ["unsafe_victim"]
    finding = unsafe[0]
    assert finding["file"].endswith("unsafe.c") and finding["line"] > 0
    # A load address: inside the module as it is mapped in the process.
    addr = session.target.ResolveLoadAddress(int(finding["address"], 16))
    assert addr.GetSymbol().GetName() == "unsafe_victim"
    assert "unsafe_victim" in session.ok("fa lint")

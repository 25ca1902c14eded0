"""frameaudit inside lldb-dap-22, driven over stdio by a small DAP client
(dap_client.py): long work reports progress (progressStart/progressEnd for
`fa audit -a` on a 64-thread core, from both front-ends), and the user
guide's walkthrough (launch to the crash, evaluate in the repl context,
stackTrace) works as written."""

import subprocess
import sys
from pathlib import Path

import pytest

from dap_client import DapClient, lldb_dap_executable
from lldb_harness import build_dir, native_plugin_path, python_package_dir
from fixture_cores import fixture_env
from native_helpers import find_fixture

DAP = lldb_dap_executable()
BENCH = build_dir() / "bench" / "fa_bench_deep_recursion"
NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")

pytestmark = pytest.mark.skipif(DAP is None, reason="lldb-dap-22 is not installed")


@pytest.fixture(scope="module")
def big_core(tmp_path_factory):
    """A core of 64 threads, each 20,000 frames deep with a block every 64 (long enough that lldb-dap, which holds back progress that ends within a second, reports it)."""
    if not BENCH.exists():
        pytest.skip(f"{BENCH} is not built")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "lldb"))
    try:
        import bench_lldb
        return bench_lldb.make_core(BENCH, 64, 20000, 64, tmp_path_factory.mktemp("cores"))
    except SystemExit as e:
        pytest.skip(str(e))
    finally:
        sys.path.pop(0)


def load_line(front_end: str) -> str:
    if front_end == "native":
        return f'plugin load "{native_plugin_path()}"'
    return f'command script import "{python_package_dir()}"'


@pytest.mark.parametrize("front_end", ["native", "python"])
def test_audit_of_all_threads_reports_progress(big_core, front_end):
    dap = DapClient(DAP)
    try:
        assert dap.initialize()["success"]
        attach = dap.start("attach", {"program": str(BENCH), "coreFile": str(big_core),
                                      "initCommands": [load_line(front_end)]})
        assert attach["success"], attach
        dap.wait_event("stopped")
        dap.drain()
        before = len(dap.events)
        reply = dap.repl("fa audit -a")
        assert reply["success"], reply
        assert "Thread #64" in reply["body"]["result"]
        dap.drain(1.0)
        ours = [e for e in dap.events[before:] if e["event"].startswith("progress")]
        starts = [e for e in ours if e["event"] == "progressStart"
                  and "frameaudit: analysing threads" in e["body"].get("title", "")]
        assert len(starts) == 1, ours
        pid = starts[0]["body"]["progressId"]
        assert any(e["event"] == "progressEnd" and e["body"]["progressId"] == pid for e in ours)
    finally:
        dap.close()


def test_lldb_dap_walkthrough(tmp_path):
    """docs/user-guide.md "In lldb-dap": launch the fixture to its crash,
    run frameaudit in the debug console, compare with the call stack."""
    if NESTED is None:
        pytest.skip("the nested fixture is not built")
    dap = DapClient(DAP)
    try:
        dap.initialize()
        launch = dap.start("launch", {
            "program": str(NESTED), "cwd": str(tmp_path),
            "env": fixture_env(tmp_path / "truth.json", "segv"),
            "initCommands": [load_line("python")], "stopOnEntry": False})
        assert launch["success"], launch
        stopped = dap.wait_event("stopped", where=lambda e: e["body"].get("reason") == "exception")
        thread_id = stopped["body"]["threadId"]
        trace = dap.request("stackTrace", {"threadId": thread_id, "startFrame": 0, "levels": 20})
        names = [f["name"] for f in trace["body"]["stackFrames"]]
        assert names[0].startswith("fixture_stop") and any(n.startswith("main") for n in names)
        frame_id = trace["body"]["stackFrames"][0]["id"]
        bt = dap.repl("fa bt", frame_id)
        assert bt["success"] and "frame #1:" in bt["body"]["result"]
        assert "n_level3" in bt["body"]["result"] and "[sra: relocated" in bt["body"]["result"]
        audit = dap.repl("fa audit", frame_id)
        assert audit["success"] and "relocated" in audit["body"]["result"]
        # lldb-dap answers a failed command with success: true and the error
        # text in `result` (its own behaviour; the user guide says so).
        bad = dap.repl("fa audit -t 4242", frame_id)
        assert bad["success"] and "no thread with index or id 4242" in bad["body"]["result"]
    finally:
        dap.close()

"""How `analyze` runs: the parent never imports LLDB; each core
is analysed in a worker forked from it (no second interpreter, the watchdog
and crash isolation kept); the worker writes the documents itself, a file
that is replaced through a temporary file that has no name until it is
complete, so a frameaudit killed mid-way leaves the old file and nothing
else, and the parts of several cores live in unnamed temporary files.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import FRAMEAUDIT, run_cli
from crasher import gone_pid, make_crasher, wait_for, workers_of

pytestmark = pytest.mark.usefixtures("core_module_built")


@pytest.fixture(scope="module")
def crasher(tmp_path_factory):
    return make_crasher(tmp_path_factory.mktemp("process-model"))


@pytest.fixture
def slow_lldbinit(tmp_path):
    """LLDB commands that hold the worker for a while before it loads the core."""
    path = tmp_path / "slow.lldbinit"
    path.write_text("script import time; time.sleep(3)\n")
    return path


def test_the_parent_never_imports_lldb(frameaudit, crasher):
    """-X importtime prints the parent's imports on stderr (a worker's go to
    its log): LLDB's module is not among them, and the document is whole."""
    result = subprocess.run(["/usr/bin/python3", "-X", "importtime", str(FRAMEAUDIT), "analyze",
                             "--format", "json", str(crasher.gcore)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")]
    assert "frameaudit.cli.commands.analyze" in imported
    assert not [m for m in imported if m == "lldb" or m.startswith("lldb.")], imported
    assert json.loads(result.stdout)["summary"]["threads"] >= 1


def test_a_single_core_runs_in_a_forked_worker(frameaudit, crasher, slow_lldbinit):
    """The worker is a fork of the CLI: the same program and command line,
    no fresh interpreter; in a session of its own."""
    proc = subprocess.Popen([str(FRAMEAUDIT), "analyze", "--lldbinit", str(slow_lldbinit),
                             "--format", "json", str(crasher.gcore)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        workers = wait_for(lambda: workers_of(proc.pid))
        assert len(workers) == 1, "no worker"
        worker = workers[0]
        assert Path(f"/proc/{worker}/cmdline").read_bytes() == \
            Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert os.getsid(worker) == worker
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["schema"] == "frameaudit/1"


def test_killed_mid_way_leaves_the_old_file_and_nothing_else(frameaudit, crasher, slow_lldbinit,
                                                             tmp_path):
    out_dir = tmp_path / "reports"
    out_dir.mkdir()
    report = out_dir / "report.json"
    report.write_text("old\n")
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    proc = subprocess.Popen([str(FRAMEAUDIT), "analyze", "--lldbinit", str(slow_lldbinit),
                             "--format", "json", "-o", str(report), str(crasher.gcore)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    workers = wait_for(lambda: workers_of(proc.pid))
    assert workers, "no worker"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert wait_for(lambda: all(gone_pid(p) for p in workers), 10)
    assert report.read_text() == "old\n"
    assert sorted(p.name for p in out_dir.iterdir()) == ["report.json"]
    assert list(private_tmp.iterdir()) == []


def test_several_cores_killed_mid_way_leave_no_parts(frameaudit, crasher, slow_lldbinit, tmp_path):
    """The parts of the joined documents are in unnamed temporary files."""
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    proc = subprocess.Popen([str(FRAMEAUDIT), "analyze", "--lldbinit", str(slow_lldbinit),
                             "-j", "2", "--output-json", str(tmp_path / "all.json"),
                             "--output-sarif", str(tmp_path / "all.sarif"),
                             str(crasher.gcore), str(crasher.minidump), str(crasher.gcore)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    workers = wait_for(lambda: len(workers_of(proc.pid)) == 2 and workers_of(proc.pid))
    assert workers, "no workers"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert wait_for(lambda: all(gone_pid(p) for p in workers), 10)
    assert list(private_tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.lldbinit", "tmpdir"]


def test_several_cores_joined_from_their_parts(frameaudit, crasher, tmp_path):
    """The joined documents are what each core's own document says, in order
    (their bytes: tests/cli/test_documents.py)."""
    cores = [crasher.gcore, crasher.minidump, crasher.gcore]
    result = run_cli("analyze", "-j", "2", "--output-json", tmp_path / "all.json",
                     "--output-sarif", tmp_path / "all.sarif", "--output-text", tmp_path / "all.txt",
                     *cores)
    assert result.returncode == 0, result.stderr
    single = [json.loads(run_cli("analyze", "--format", "json", c).stdout) for c in cores]
    assert json.loads((tmp_path / "all.json").read_text()) == single
    sarif = json.loads((tmp_path / "all.sarif").read_text())
    assert [r["automationDetails"]["id"] for r in sarif["runs"]][0].endswith("/1/")
    text = (tmp_path / "all.txt").read_text()
    for i, c in enumerate(cores):
        assert f"== {c} ({i + 1}/3) ==" in text

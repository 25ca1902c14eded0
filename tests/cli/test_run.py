"""`frameaudit run -- PROGRAM`: crash -> audit of every thread; normal exit ->
said so, its exit status passes through; the program's output kept off a JSON/SARIF stdout; signals
the program handles pass through; --timeout audits a hung program; the
program never outlives frameaudit.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, pick_binary, run_cli, validate_sarif
from crasher import gone_pid

sys.path.insert(0, str(REPO / "tests" / "integration"))
from fixture_cores import check_truth, truth_problems  # noqa: E402 - the shared ground-truth check

pytestmark = pytest.mark.usefixtures("core_module_built")

PROGRAM_C = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

int main(int argc, char **argv) {
  FILE *pidfile = fopen(argv[1], "w");
  fprintf(pidfile, "%d\n", (int)getpid());
  fclose(pidfile);
  printf("PROGRAM-OUT args=%d last=%s\n", argc, argv[argc - 1]);
  fflush(stdout);
  fprintf(stderr, "PROGRAM-ERR\n");
  const char *what = argv[2];
  if (!strcmp(what, "exit")) return atoi(argv[3]);
  if (!strcmp(what, "usr1")) {  /* a signal the program handles itself */
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    return got_usr1 ? 0 : 9;
  }
  if (!strcmp(what, "hang")) for (;;) pause();
  abort();
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    src = d / "program.c"
    src.write_text(PROGRAM_C)
    exe = d / "program"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(exe), str(src)], check=True)
    return exe


def gone(pidfile: Path) -> bool:
    return gone_pid(int(pidfile.read_text()))


@pytest.mark.parametrize("stop", ["segv", "abort", "trap"])
def test_crash_is_audited(frameaudit, matrix, tmp_path, stop):
    binary = pick_binary(matrix, "nested")
    truth_path = tmp_path / "truth.json"
    result = run_cli("run", "--format", "json", "--", binary["path"],
                     env={"SRA_STOP": stop, "SRA_GROUND_TRUTH": str(truth_path)})
    signo = {"segv": signal.SIGSEGV, "abort": signal.SIGABRT, "trap": signal.SIGTRAP}[stop]
    assert result.returncode in (1, 128 + signo), result.stderr
    doc = json.loads(result.stdout)
    truth = json.loads(truth_path.read_text())
    assert doc["target"]["pid"] == truth["pid"]
    assert doc["target"]["core"] is None
    assert doc["target"]["executable"] == binary["path"]
    check_truth(truth_problems(doc, truth))
    s = doc["summary"]
    # No failing findings: the program's own fate, 128 + the signal that stopped it.
    assert result.returncode == (1 if s["errors"] else 128 + signo)
    assert f"{Path(binary['path']).name} stopped:" in result.stderr
    assert gone_pid(truth["pid"])


def test_overflow_is_an_error(frameaudit, matrix, tmp_path):
    binary = pick_binary(matrix, "overflow")
    truth_path = tmp_path / "truth.json"
    result = run_cli("run", "--format", "json", "--", binary["path"],
                     env={"SRA_STOP": "segv", "SRA_GROUND_TRUTH": str(truth_path)})
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert any(f["kind"] == "region-overflow" and f["severity"] == "error"
               for f in doc["findings"]), doc["findings"]


def test_threads_every_thread_audited(frameaudit, matrix, tmp_path):
    binary = pick_binary(matrix, "threads")
    truth_path = tmp_path / "truth.json"
    result = run_cli("run", "--format", "json", "--", binary["path"],
                     env={"SRA_STOP": "segv", "SRA_GROUND_TRUTH": str(truth_path)})
    assert result.returncode in (1, 128 + signal.SIGSEGV), result.stderr
    doc = json.loads(result.stdout)
    truth = json.loads(truth_path.read_text())
    assert len(doc["threads"]) >= len(truth["threads"]) > 1
    check_truth(truth_problems(doc, truth))


def test_text_and_sarif(frameaudit, matrix, tmp_path):
    binary = pick_binary(matrix, "overflow")
    env = {"SRA_STOP": "segv", "SRA_GROUND_TRUTH": str(tmp_path / "t.json")}
    text = run_cli("run", "--", binary["path"], env=env)
    assert text.returncode == 1
    assert "region-overflow" in text.stdout and "Stack map" in text.stdout
    sarif = run_cli("run", "--format", "sarif", "--", binary["path"], env=env)
    assert sarif.returncode == 1
    log = json.loads(sarif.stdout)
    assert len(log["runs"]) == 1 and log["runs"][0]["results"]
    path = tmp_path / "run.sarif"
    path.write_text(sarif.stdout)
    validate_sarif(path)
    never = run_cli("run", "--fail-on", "never", "--format", "json", "--", binary["path"], env=env)
    assert never.returncode == 128 + signal.SIGSEGV  # the crash itself, findings aside


def test_program_output_kept_off_json_stdout(frameaudit, program, tmp_path):
    pidfile = tmp_path / "pid"
    result = run_cli("run", "--format", "json", "--", program, pidfile, "abort", "x y")
    assert result.returncode in (1, 128 + signal.SIGABRT), result.stderr
    doc = json.loads(result.stdout)  # the document and nothing else
    assert doc["schema"] == "frameaudit/1" and doc["threads"]
    assert "PROGRAM-OUT args=4 last=x y" in result.stderr
    assert "PROGRAM-ERR" in result.stderr
    assert "SIGABRT" in result.stderr
    assert gone(pidfile)


def test_program_output_on_stdout_for_text(frameaudit, program, tmp_path):
    pidfile = tmp_path / "pid"
    result = run_cli("run", "--", program, pidfile, "abort")
    assert result.returncode in (1, 128 + signal.SIGABRT), result.stderr
    assert result.stdout.index("PROGRAM-OUT") < result.stdout.index("Stack map")
    assert "PROGRAM-ERR" in result.stderr


@pytest.mark.parametrize("status", ["0", "7"])
def test_normal_exit(frameaudit, program, tmp_path, status):
    pidfile = tmp_path / "pid"
    result = run_cli("run", "--", program, pidfile, "exit", status)
    assert result.returncode == int(status), result.stderr  # the program's status passes through
    assert f"exited normally with status {status}" in result.stdout
    assert "nothing to audit" in result.stdout
    assert gone(pidfile)
    as_json = run_cli("run", "--format", "json", "--", program, pidfile, "exit", status)
    assert as_json.returncode == int(status)
    doc = json.loads(as_json.stdout)
    assert doc["schema"] == "frameaudit/1" and doc["threads"] == [] and doc["findings"] == []
    assert f"exited normally with status {status}" in as_json.stderr
    as_sarif = run_cli("run", "--format", "sarif", "--", program, pidfile, "exit", status)
    assert as_sarif.returncode == int(status)
    assert json.loads(as_sarif.stdout)["runs"][0]["results"] == []


def test_handled_signal_passes_through(frameaudit, program, tmp_path):
    result = run_cli("run", "--", program, tmp_path / "pid", "usr1")
    assert result.returncode == 0, result.stderr
    assert "exited normally with status 0" in result.stdout


def test_timeout_audits_a_hung_program(frameaudit, program, tmp_path):
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    result = run_cli("run", "--format", "json", "--timeout", "2", "--", program, pidfile, "hang")
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr  # a hang is never a pass
    doc = json.loads(result.stdout)
    assert doc["threads"]
    assert "did not finish within 2 s (--timeout)" in result.stderr.splitlines()[-1]
    assert gone(pidfile)


def test_killed_frameaudit_kills_the_program(frameaudit, program, tmp_path):
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen([str(frameaudit), "run", "--", str(program), str(pidfile), "hang"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    proc.terminate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    lines = err.splitlines()
    assert lines[-1] == "frameaudit: interrupted by SIGTERM" and "Traceback" not in err, err
    assert gone(pidfile)


def test_arguments_without_double_dash(frameaudit, program, tmp_path):
    result = run_cli("run", program, tmp_path / "pid", "exit", "0")
    assert result.returncode == 0, result.stderr
    assert "PROGRAM-OUT args=4 last=0" in result.stdout


def test_exit_status_passes_through(frameaudit):
    """No crash: frameaudit's status is the program's own (`sh -c 'exit 3'` exits 3)."""
    result = run_cli("run", "--", "sh", "-c", "exit 3")
    assert result.returncode == 3, result.stderr
    assert "sh exited normally with status 3" in result.stdout


def test_error_exitcode(frameaudit, matrix, tmp_path):
    """Findings at --fail-on give --error-exitcode N, as valgrind's option does."""
    binary = pick_binary(matrix, "overflow")
    env = {"SRA_STOP": "segv", "SRA_GROUND_TRUTH": str(tmp_path / "t.json")}
    result = run_cli("run", "--error-exitcode", "42", "--format", "json", "--", binary["path"], env=env)
    assert result.returncode == 42, result.stderr
    assert json.loads(result.stdout)["summary"]["errors"] > 0
    bad = run_cli("run", "--error-exitcode", "300", "--", binary["path"], env=env)
    assert bad.returncode == 2 and "must be 0..255" in bad.stderr


def test_several_outputs(frameaudit, program, tmp_path):
    """One run, three documents; the program's stdout stays on stdout beside
    the text report (no JSON or SARIF goes there)."""
    pidfile = tmp_path / "pid"
    j, s = tmp_path / "run.json", tmp_path / "run.sarif"
    result = run_cli("run", "--output-json", j, "--output-sarif", s, "--format", "text", "--",
                     program, pidfile, "abort")
    assert result.returncode in (1, 128 + signal.SIGABRT), result.stderr
    assert result.stdout.index("PROGRAM-OUT") < result.stdout.index("Stack map")
    doc = json.loads(j.read_text())
    assert doc["target"]["pid"] == int(pidfile.read_text())
    assert len(json.loads(s.read_text())["runs"][0]["results"]) == len(doc["findings"])
    validate_sarif(s)


@pytest.mark.parametrize("script, status", [("kill -TERM $$", 128 + signal.SIGTERM),
                                            ("trap 'exit 5' TERM; kill -TERM $$; sleep 1", 5),
                                            ("kill -HUP $$", 128 + signal.SIGHUP)])
def test_ended_by_a_signal(frameaudit, script, status):
    """An unhandled SIGTERM ends the program as a shell would report it (143); a handled one does not."""
    result = run_cli("run", "--", "sh", "-c", script)
    assert result.returncode == status, result.stdout + result.stderr

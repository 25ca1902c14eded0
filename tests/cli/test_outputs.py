"""Where `analyze` writes, and that it never harms what is there: -o on
devices (/dev/null, /dev/full), /dev/stdout, bash's >(cmd), a FIFO, a
symbolic link, a directory, a dangling link; write errors on stdout and on
files; several outputs in one run (--output-json/-sarif/-text); and the
documents of the good cores when some cores fail (SARIF: a run with an
error notification, validated).
"""

import json
import os
import stat
import subprocess
import threading

import pytest

from conftest import FRAMEAUDIT, one_line, run_cli, validate_sarif
from crasher import make_crasher

pytestmark = pytest.mark.usefixtures("core_module_built")


@pytest.fixture(scope="module")
def crasher(tmp_path_factory):
    return make_crasher(tmp_path_factory.mktemp("outputs"))


@pytest.fixture(scope="module")
def expected(crasher):
    """The document of the gcore in each format, as stdout gets it."""
    out = {}
    for fmt in ("text", "json", "sarif"):
        result = run_cli("analyze", "--format", fmt, crasher.gcore)
        assert result.returncode == 0, result.stderr
        out[fmt] = result.stdout
    return out


def test_dev_null_stays_a_device(frameaudit, crasher):
    before = os.stat("/dev/null")
    result = run_cli("analyze", "--format", "json", "-o", "/dev/null", crasher.gcore)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_dev_full_is_an_error(frameaudit, crasher):
    result = run_cli("analyze", "-o", "/dev/full", crasher.gcore)
    assert result.returncode == 2
    assert one_line(result.stderr) == ("frameaudit: /dev/full: cannot write the output: "
                                       "No space left on device")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_stdout_write_error(frameaudit, crasher, fmt):
    """stdout on a full disk: exit 2 and one line, not a silent cut."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([str(FRAMEAUDIT), "analyze", "--format", fmt, str(crasher.gcore)],
                                stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert result.returncode == 2
    assert one_line(result.stderr) == ("frameaudit: stdout: cannot write the output: "
                                       "No space left on device")


def test_dev_stdout_appends_to_a_redirected_stdout(frameaudit, crasher, expected, tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    with open(log, "a") as f:
        result = subprocess.run([str(FRAMEAUDIT), "analyze", "--format", "json", "-o", "/dev/stdout",
                                 str(crasher.gcore)], stdout=f, stderr=subprocess.PIPE, text=True,
                                timeout=300)
    assert result.returncode == 0, result.stderr
    assert log.read_text() == "earlier line\n" + expected["json"]
    assert not [p for p in tmp_path.iterdir() if "frameaudit-" in p.name]


def test_process_substitution(frameaudit, crasher, expected, tmp_path):
    """bash's >(cmd) passes /dev/fd/63: written as it is."""
    got = tmp_path / "got.json"
    script = f"{FRAMEAUDIT} analyze --format json -o >(cat > {got}) {crasher.gcore}; s=$?; wait; exit $s"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for _ in range(50):
        if got.exists() and got.read_text() == expected["json"]:
            break
        threading.Event().wait(0.1)
    assert got.read_text() == expected["json"]


def test_fifo_stays_a_fifo(frameaudit, crasher, expected, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = run_cli("analyze", "--format", "sarif", "-o", fifo, crasher.gcore)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert received == [expected["sarif"]]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_to_a_file_writes_the_target(frameaudit, crasher, expected, tmp_path):
    target = tmp_path / "reports" / "latest.json"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    result = run_cli("analyze", "--format", "json", "-o", link, crasher.gcore)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == expected["json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file keeps its mode
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest.json"]


def test_directory_and_dangling_link_are_errors(frameaudit, crasher, tmp_path):
    result = run_cli("analyze", "-o", tmp_path, crasher.gcore)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr) == f"frameaudit: {tmp_path}: is a directory; an output needs a file name"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere" / "x.json")
    result = run_cli("analyze", "-o", dangling, crasher.gcore)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr) == (f"frameaudit: {dangling}: cannot write the output: it is a "
                                       f"dangling symbolic link (to {tmp_path / 'nowhere' / 'x.json'})")
    assert dangling.is_symlink()


def test_several_outputs(frameaudit, crasher, expected, tmp_path):
    j, s, t = tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "r.txt"
    result = run_cli("analyze", "--output-json", j, "--output-sarif", s, "--output-text", t,
                     crasher.gcore)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout == ""  # no --format, no -o: the files only
    assert j.read_text() == expected["json"] and s.read_text() == expected["sarif"]
    plain = tmp_path / "plain.txt"
    assert run_cli("analyze", "-o", plain, crasher.gcore).returncode == 0
    assert t.read_text() == plain.read_text()  # a file gets Unicode, never colour
    validate_sarif(s)
    # Text on stdout as well: asked for by --format, or by '-'.
    for extra in (["--format", "text"], ["--output-text", "-"]):
        result = run_cli("analyze", "--output-sarif", s, *extra, crasher.gcore)
        assert result.returncode == 0 and result.stdout == expected["text"]
    # -o keeps its meaning beside them.
    result = run_cli("analyze", "--format", "json", "-o", j, "--output-sarif", s, crasher.gcore)
    assert result.returncode == 0 and result.stdout == "" and j.read_text() == expected["json"]


def test_one_file_for_two_outputs(frameaudit, crasher, tmp_path):
    f = tmp_path / "same"
    result = run_cli("analyze", "--output-json", f, "--output-sarif", f, crasher.gcore)
    assert result.returncode == 2
    assert "named for two outputs (json and sarif)" in one_line(result.stderr)
    result = run_cli("analyze", "--format", "json", "--output-text", "-", crasher.gcore)
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("frameaudit: stdout: named for two outputs")


def test_good_cores_survive_a_bad_one(frameaudit, crasher, expected, tmp_path):
    """analyze good bad good: both good documents are written, the bad core is
    listed (stderr, text, SARIF notification), exit status 2."""
    bad = tmp_path / "cut.core"
    bad.write_bytes(crasher.gcore.read_bytes()[:200_000])
    j, s, t = tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "r.txt"
    result = run_cli("analyze", "--output-json", j, "--output-sarif", s, "--output-text", t,
                     crasher.gcore, bad, crasher.minidump)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith(f"frameaudit: {bad}: truncated"), line
    docs = json.loads(j.read_text())
    assert [d["target"]["core"] for d in docs] == [str(crasher.gcore), str(crasher.minidump)]
    assert docs[0] == json.loads(expected["json"])
    log = json.loads(s.read_text())
    assert len(log["runs"]) == 3
    good, failed = log["runs"][0], log["runs"][1]
    # Two runs of one executable: GitHub needs a category of their own for each.
    assert good["automationDetails"]["id"] == "frameaudit/crasher/1/"
    assert log["runs"][2]["automationDetails"]["id"] == "frameaudit/crasher/2/"
    alone = json.loads(expected["sarif"])["runs"][0]
    assert alone["automationDetails"]["id"] == "frameaudit/crasher/"
    good["automationDetails"] = alone["automationDetails"]
    assert good == alone
    assert failed["results"] == []
    (invocation,) = failed["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"] == line
    # Its executable is unknown (the core could not be read); never the core's name.
    assert failed["automationDetails"]["id"] == "frameaudit/unknown-executable/"
    validate_sarif(s)
    text = t.read_text()
    assert f"== {bad} (2/3) ==\n\nnot analysed: {line[len('frameaudit: '):]}\n" in text
    assert text.count("Verdict:") == 2


def test_lint_several_outputs(frameaudit, crasher, tmp_path):
    j, s = tmp_path / "lint.json", tmp_path / "lint.sarif"
    result = run_cli("lint", "--output-json", j, "--output-sarif", s, "--format", "text", crasher.exe)
    assert result.returncode == 0, result.stderr
    assert result.stdout == run_cli("lint", crasher.exe).stdout
    assert j.read_text() == run_cli("lint", "--format", "json", crasher.exe).stdout
    assert s.read_text() == run_cli("lint", "--format", "sarif", crasher.exe).stdout
    result = run_cli("lint", "-o", "/dev/full", crasher.exe)
    assert result.returncode == 2
    assert one_line(result.stderr) == ("frameaudit: /dev/full: cannot write the output: "
                                       "No space left on device")

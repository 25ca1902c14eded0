"""`frameaudit analyze` on fixture cores in all three formats (kernel, gdb
gcore, LLDB minidump): JSON against the fixture's ground truth, text, SARIF
(validated), exit statuses and --fail-on, several cores with -j, -o, stdout
purity and the watchdog.
"""

import json
import os
import sys
from pathlib import Path

import pytest

import cores
from conftest import BUILD, REPO, one_line, pick_binary, run_cli, validate_sarif

sys.path.insert(0, str(REPO / "tests" / "integration"))
from fixture_cores import check_truth, truth_problems  # noqa: E402 - the shared ground-truth check

FORMATS = ["kernel", "gcore", "minidump"]
STOP = "segv"

pytestmark = pytest.mark.usefixtures("core_module_built")


def verdict(errors, warnings, fail_on):
    if fail_on == "never":
        return 0
    if fail_on == "warning":
        return int(errors + warnings > 0)
    return int(errors > 0)


@pytest.fixture(scope="module")
def overflow(matrix):
    return pick_binary(matrix, "overflow")


@pytest.fixture(scope="module")
def nested(matrix):
    return pick_binary(matrix, "nested")


@pytest.fixture(scope="module")
def threads_fixture(matrix):
    return pick_binary(matrix, "threads")


def analyze_json(*args):
    result = run_cli("analyze", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    assert result.stderr == "", "nothing on stderr when it is not a terminal"
    return json.loads(result.stdout), result


@pytest.mark.parametrize("fmt", FORMATS)
def test_json_matches_ground_truth(frameaudit, core_cache, nested, fmt):
    core = core_cache.get(nested, fmt, STOP)
    doc, result = analyze_json(core.path)
    assert doc["schema"] == "frameaudit/1"
    assert doc["target"]["core"] == str(core.path)
    assert doc["target"]["executable"] == nested["path"]
    assert doc["target"]["arch"] == "x86_64"
    check_truth(truth_problems(doc, core.truth))
    s = doc["summary"]
    assert result.returncode == verdict(s["errors"], s["warnings"], "error")


@pytest.mark.parametrize("fmt", FORMATS)
def test_overflow_is_an_error(frameaudit, core_cache, overflow, fmt):
    core = core_cache.get(overflow, fmt, STOP)
    doc, result = analyze_json(core.path)
    victim = next(b for b in core.truth["blocks"] if b["label"] == "victim")
    regions = [r for t in doc["threads"] for r in t["regions"]]
    assert any(r["base"] == victim["ptr"] for r in regions), regions
    # Audit mode: the write past the block's end damages the header above it.
    assert any(f["kind"] == "region-overflow" and f["severity"] == "error"
               for f in doc["findings"]), doc["findings"]
    assert result.returncode == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_threads_fixture_every_thread(frameaudit, core_cache, threads_fixture, fmt):
    core = core_cache.get(threads_fixture, fmt, STOP)
    doc, _ = analyze_json(core.path)
    assert len(doc["threads"]) >= len(core.truth["threads"]) > 1
    check_truth(truth_problems(doc, core.truth))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("fixture", ["nested", "threads"])
def test_same_document_as_the_lldb_commands(frameaudit, core_cache, matrix, fmt, fixture):
    """The CLI loads and gathers exactly as `fa audit -a -j` in LLDB does: the
    same document, whatever the analysis finds."""
    binary = pick_binary(matrix, fixture)
    core = core_cache.get(binary, fmt, STOP)
    doc, _ = analyze_json(core.path)
    package = BUILD / "python" / "frameaudit"
    imported, audited = cores.lldb_commands_on_core(
        Path(binary["path"]), core.path, f"command script import {package}", "fa audit -a -j")
    assert imported["ok"], imported["error"]
    assert audited["ok"], audited["error"]
    assert doc == json.loads(audited["output"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_report_and_map(frameaudit, core_cache, nested, fmt):
    core = core_cache.get(nested, fmt, STOP)
    doc, as_json = analyze_json(core.path)
    result = run_cli("analyze", core.path)
    assert result.returncode == as_json.returncode, result.stderr
    assert result.stderr == ""
    out = result.stdout
    frames = [f["function"] for t in doc["threads"] for f in t["frames"] if f["function"]]
    for name in frames:
        assert name in out
    for finding in doc["findings"]:
        assert finding["kind"] in out
    assert "Stack map" in out
    # stdout is a pipe with a UTF-8 encoding here: box drawing, no colour.
    assert "\x1b[" not in out and not out.isascii()
    ascii_out = run_cli("analyze", core.path, env={"PYTHONIOENCODING": "ascii"}).stdout
    assert ascii_out.isascii() and "Stack map" in ascii_out


@pytest.mark.parametrize("fmt", FORMATS)
def test_sarif_validates(frameaudit, core_cache, overflow, fmt, tmp_path):
    core = core_cache.get(overflow, fmt, STOP)
    result = run_cli("analyze", "--format", "sarif", core.path)
    assert result.returncode == 1 and result.stderr == ""
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "frameaudit"
    doc, _ = analyze_json(core.path)
    # --sarif-min-level warning by default: notes stay out of code scanning.
    assert len(run["results"]) == len([f for f in doc["findings"] if f["severity"] != "note"])
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {f["kind"] for f in doc["findings"]} <= rules
    path = tmp_path / "report.sarif"
    path.write_text(result.stdout)
    validate_sarif(path)


def test_exit_status_and_fail_on(frameaudit, core_cache, overflow, nested):
    bad = core_cache.get(overflow, "gcore", STOP)
    good = core_cache.get(nested, "gcore", STOP)
    doc_bad, _ = analyze_json(bad.path)
    doc_good, _ = analyze_json(good.path)
    for fail_on in ("error", "warning", "never"):
        for core, doc in ((bad, doc_bad), (good, doc_good)):
            s = doc["summary"]
            result = run_cli("analyze", "--fail-on", fail_on, core.path)
            assert result.returncode == verdict(s["errors"], s["warnings"], fail_on), (fail_on, core)
    assert run_cli("analyze", bad.path).returncode == 1
    assert run_cli("analyze", "--fail-on", "never", bad.path).returncode == 0


def test_several_cores_in_order_with_jobs(frameaudit, core_cache, overflow, nested):
    cores = [core_cache.get(overflow, "gcore", STOP), core_cache.get(nested, "minidump", STOP),
             core_cache.get(nested, "gcore", STOP), core_cache.get(overflow, "minidump", STOP)]
    paths = [c.path for c in cores]
    result = run_cli("analyze", "--format", "json", "-j", "2", *paths)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    docs = json.loads(result.stdout)
    assert isinstance(docs, list) and len(docs) == 4
    assert [d["target"]["core"] for d in docs] == [str(p) for p in paths]
    # The same as one core at a time, in the same order.
    singles = [analyze_json(p)[0] for p in paths]
    assert docs == singles
    # A single core is a document, not an array.
    assert isinstance(singles[0], dict)


def test_several_cores_sarif_one_run_each(frameaudit, core_cache, overflow, nested, tmp_path):
    paths = [core_cache.get(nested, "gcore", STOP).path, core_cache.get(overflow, "gcore", STOP).path]
    result = run_cli("analyze", "--format", "sarif", "-j", "2", *paths)
    assert result.returncode == 1 and result.stderr == ""
    log = json.loads(result.stdout)
    assert len(log["runs"]) == 2
    path = tmp_path / "two.sarif"
    path.write_text(result.stdout)
    validate_sarif(path)


def test_several_cores_text(frameaudit, core_cache, overflow, nested):
    paths = [core_cache.get(nested, "gcore", STOP).path, core_cache.get(overflow, "gcore", STOP).path]
    out = run_cli("analyze", "-j", "2", *paths).stdout
    first, second = out.index(f"== {paths[0]} (1/2) =="), out.index(f"== {paths[1]} (2/2) ==")
    assert first < second
    assert out.count("Stack map") >= 2


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_output_file(frameaudit, core_cache, overflow, tmp_path, output_format):
    core = core_cache.get(overflow, "gcore", STOP)
    out = tmp_path / f"report.{output_format}"
    result = run_cli("analyze", "--format", output_format, "-o", out, core.path)
    assert result.returncode == 1
    assert result.stdout == "" and result.stderr == ""
    expected = run_cli("analyze", "--format", output_format, core.path).stdout
    assert out.read_text(encoding="utf-8") == expected
    assert not [p for p in tmp_path.iterdir() if "frameaudit-" in p.name]


def test_explicit_exe(frameaudit, core_cache, nested):
    core = core_cache.get(nested, "kernel", STOP)
    doc, _ = analyze_json("--exe", nested["path"], core.path)
    assert doc["target"]["executable"] == nested["path"]
    check_truth(truth_problems(doc, core.truth))


def test_watchdog(frameaudit, core_cache, overflow, nested):
    paths = [core_cache.get(nested, "gcore", STOP).path, core_cache.get(overflow, "gcore", STOP).path]
    result = run_cli("analyze", "--format", "json", "--timeout", "0.05", *paths)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    for path, line in zip(paths, lines):
        assert str(path) in line and "did not finish within" in line and "--timeout" in line
    assert result.stdout == ""


def test_watchdog_from_environment(frameaudit, core_cache, nested):
    path = core_cache.get(nested, "gcore", STOP).path
    result = run_cli("analyze", path, env={"FRAMEAUDIT_TIMEOUT": "0.05"})
    assert result.returncode == 2
    assert "did not finish within 0.05 s" in one_line(result.stderr)


def test_lldb_module_missing(frameaudit, core_cache, nested, tmp_path):
    """Without LLDB's Python module: one line saying what to install."""
    path = core_cache.get(nested, "gcore", STOP).path
    fake_lldb = tmp_path / "bin" / "lldb-22"
    fake_lldb.parent.mkdir()
    fake_lldb.write_text("#!/bin/sh\nexit 1\n")
    fake_lldb.chmod(0o755)
    launcher = tmp_path / "frameaudit"
    text = Path(frameaudit).read_text()
    text = text.replace('LLDB_PYTHON_DIR = "', 'LLDB_PYTHON_DIR = "/nonexistent').replace(
        'LLDB_EXECUTABLE = "', f'LLDB_EXECUTABLE = "{fake_lldb}" or "')
    text = text.replace('os.path.join(HERE, "../python")',
                        f'{str(Path(frameaudit).parent / "../python")!r}')
    # No site-packages: this system's python3 finds LLDB's module there otherwise.
    text = text.replace("#!/usr/bin/python3\n", "#!/usr/bin/python3 -S\n", 1)
    launcher.write_text(text)
    launcher.chmod(0o755)
    env = {"PATH": str(fake_lldb.parent), "PYTHONPATH": ""}
    result = run_cli("analyze", path, exe=launcher, env=env)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert "LLDB's Python module" in line and "python3-lldb-22" in line, line
    assert os.environ.get("FRAMEAUDIT_LLDB_PYTHON") is None

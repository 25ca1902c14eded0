"""`frameaudit lint BINARY...`: unsafe sra_alloc callers, as text, one JSON
document or one SARIF run for all binaries; exit statuses and --fail-on."""

import json

import pytest

from conftest import pick_binary, run_cli, validate_sarif

pytestmark = pytest.mark.usefixtures("core_module_built")


@pytest.fixture(scope="module")
def unsafe(matrix):
    cells = [b for b in matrix["binaries"] if b["unsafe"]]
    if not cells:
        pytest.skip("no unsafe fixture in the matrix")
    return cells[0]


def lint_json(*paths, expect=None):
    result = run_cli("lint", "--format", "json", *paths)
    assert result.stderr == ""
    if expect is not None:
        assert result.returncode == expect, result.stdout
    return json.loads(result.stdout), result.returncode


def test_unsafe_caller_found(frameaudit, unsafe):
    doc, code = lint_json(unsafe["path"])
    assert doc["schema"] == "frameaudit/1" and doc["threads"] == []
    found = [f for f in doc["findings"] if f["kind"] == "unsafe-caller"]
    assert found, doc
    for f in found:
        assert f["function"] and f["address"].startswith("0x")
    errors = doc["summary"]["errors"]
    assert code == (1 if errors else 0)
    text = run_cli("lint", unsafe["path"])
    assert text.returncode == code and "unsafe" in text.stdout


def test_safe_binary(frameaudit, matrix):
    doc, code = lint_json(pick_binary(matrix, "nested")["path"], expect=0)
    assert not [f for f in doc["findings"] if f["kind"] == "unsafe-caller"]


def test_several_binaries_one_document(frameaudit, matrix, unsafe):
    safe = pick_binary(matrix, "nested")["path"]
    doc, _ = lint_json(safe, unsafe["path"])
    single, _ = lint_json(unsafe["path"])
    assert doc["findings"] == single["findings"]


def test_fail_on(frameaudit, unsafe):
    doc, code = lint_json(unsafe["path"])
    s = doc["summary"]
    assert run_cli("lint", "--fail-on", "never", unsafe["path"]).returncode == 0
    assert run_cli("lint", "--fail-on", "warning", unsafe["path"]).returncode == \
        (1 if s["errors"] + s["warnings"] else 0)


def test_sarif(frameaudit, matrix, unsafe, tmp_path):
    out = tmp_path / "lint.sarif"
    result = run_cli("lint", "--format", "sarif", "-o", out, pick_binary(matrix, "nested")["path"],
                     unsafe["path"])
    assert result.stdout == "" and result.stderr == ""
    log = json.loads(out.read_text())
    assert len(log["runs"]) == 1
    assert any(r["ruleId"] == "unsafe-caller" for r in log["runs"][0]["results"])
    validate_sarif(out)

"""The damaged-block and kept-pointer fixtures from all three core formats:
each asserts the exact finding that names the damaged block or the kept
pointer (kind, severity, region or address, what the message says), in the CI
subset of cells, and that the CLI's `--fail-on warning` exits 1 on it. The
ground truth of every cell is also checked by test_python_cores.py (they are in the matrix)."""

import json
import subprocess

import pytest

from fixture_cores import all_cells

from conftest import (CRASH_STOP, audit_json, build_dir, cell_params, core_or_skip, matrix_cells,
                      require_matrix, require_python_frontend)

VERDICT_FIXTURES = ("overrun_header", "overrun_chain", "overrun_one", "stale_return", "global_kept",
                    "forged_header")

pytestmark = pytest.mark.usefixtures("frontend_and_matrix")


@pytest.fixture
def frontend_and_matrix():
    require_python_frontend()
    require_matrix()


def _cells():
    return cell_params([c for c in matrix_cells() if c.fixture in VERDICT_FIXTURES])


def _block(truth, label):
    return next(b for b in truth["blocks"] if b["label"] == label)


def _region_at(doc, ptr):
    for t in doc["threads"]:
        for r in t["regions"]:
            if r["base"] == ptr:
                return r
    return None


def _findings(doc, kind):
    return [f for f in doc["findings"] if f["kind"] == kind]


def _overflow_of(doc, block):
    """The region-overflow finding naming the region at the block's address."""
    region = _region_at(doc, block["ptr"])
    assert region is not None, f"no region at {block['ptr']}: {doc['threads'][0]['regions']}"
    named = [f for f in _findings(doc, "region-overflow") if f["region"] == region["id"]]
    assert len(named) == 1, f"region-overflow findings for {region['id']}: {doc['findings']}"
    assert named[0]["line"] == block["line"]
    return region, named[0]


def check_verdict(cell, doc, truth):
    audit = cell.audit
    if cell.fixture == "overrun_header":
        region, f = _overflow_of(doc, _block(truth, "oh_copy.name"))
        assert f["severity"] == ("error" if audit else "warning")
        assert region["state"] == ("corrupt" if audit else "live")
        assert ("no intact audit header" if audit else "no intact stub remnant") in f["message"]
        assert "bytes past the end" in f["message"] and "a run of 0x78 bytes" in f["message"]
        if audit:
            assert "at least 28 bytes past the end" in f["message"], f["message"]
            assert region["reserved"] == 48
    elif cell.fixture == "overrun_chain":
        region, f = _overflow_of(doc, _block(truth, "oc_copy.name"))
        assert f["severity"] == "error"
        assert doc["threads"][0]["chain_end"] == "bad_return_address"
        assert not _findings(doc, "broken-chain"), doc["findings"]
        for what in ("saved RBP", "return address", "The RBP chain stops there"):
            assert what in f["message"], f["message"]
    elif cell.fixture == "overrun_one":
        region, f = _overflow_of(doc, _block(truth, "oo_fill.b"))
        assert f["severity"] == "error" and region["state"] == "corrupt"
        assert "at least 1 byte past the end" in f["message"], f["message"]
        assert len(_findings(doc, "region-overflow")) == 1
    elif cell.fixture in ("stale_return", "global_kept"):
        block = _block(truth, "sr_make.rec" if cell.fixture == "stale_return" else "gk_make.b")
        kept = [f for f in _findings(doc, "dangling-pointer") if f["address"] == block["ptr"]]
        assert kept, f"no dangling-pointer to {block['ptr']}: {doc['findings']}"
        assert all(f["severity"] == "error" for f in kept)
        if cell.fixture == "global_kept":
            assert any(f["message"].startswith("The global at") and f["frame"] is None for f in kept), kept
        else:
            assert any(f["function"] == "main" for f in kept), kept
            # main's r, read through the debug info (docs/analysis.md, "Variables").
            assert any(f["message"].startswith("The pointer variable r (struct sr_rec *volatile)")
                       and "the debug info's pointer variable r" in f["message"]
                       for f in kept), kept
    elif cell.fixture == "forged_header":
        if not audit:
            assert not [f for f in doc["findings"] if f["severity"] != "note"], doc["findings"]
            return
        for label, size in (("fh_forge.huge", 2 ** 64 - 1), ("fh_forge.far", 2 ** 32)):
            region, f = _overflow_of(doc, _block(truth, label))
            assert f["severity"] == "error" and region["state"] == "corrupt"
            assert f"passes its check but claims {size} bytes" in f["message"], f["message"]


@pytest.mark.parametrize("fmt", ["kernel", "gcore", "minidump"])
@pytest.mark.parametrize("cell", _cells())
def test_verdict_from_core(py_session, cell, fmt):
    core = core_or_skip(cell.path, fmt, CRASH_STOP)
    py_session.load_core(cell.path, core.path)
    check_verdict(cell, audit_json(py_session), core.truth)


@pytest.mark.parametrize("cell", _cells())
def test_cli_fails_on_warning(cell):
    """Never OK: the CLI exits 1 under --fail-on warning (forged headers
    need audit mode: plain has nothing to forge and must exit 0)."""
    core = core_or_skip(cell.path, "kernel", CRASH_STOP)
    cli = build_dir() / "bin" / "frameaudit"
    out = subprocess.run([str(cli), "analyze", "--format", "json", "--fail-on", "warning", "--exe",
                          str(cell.path), str(core.path)], capture_output=True, text=True, timeout=300)
    clean = cell.fixture == "forged_header" and not cell.audit
    assert out.returncode == (0 if clean else 1), out.stderr
    check_verdict(cell, json.loads(out.stdout), core.truth)


def _unsafe_cells():
    # unsafe_vla calls sra_alloc raw: its ground truth records no blocks.
    return [pytest.param(c, id=c.name) for c in all_cells() if c.fixture == "unsafe"]


@pytest.mark.parametrize("cell", _unsafe_cells())
def test_unsafe_callers_blocks_stay_live(cell, tmp_path):
    """An unsafe caller (RSP-based frame, no saved-RBP slot) still owns its
    blocks: each block the fixture holds at the stop is a live region of
    the repaired frame, beside the unsafe-caller error."""
    truth_path = tmp_path / "truth.json"
    cli = build_dir() / "bin" / "frameaudit"
    out = subprocess.run([str(cli), "run", "--format", "json", "--", str(cell.path)],
                         env={"SRA_STOP": CRASH_STOP, "SRA_GROUND_TRUTH": str(truth_path),
                              "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=300)
    doc = json.loads(out.stdout)
    truth = json.loads(truth_path.read_text())
    live = [b for b in truth["blocks"] if b["live"]]
    assert live, "the unsafe fixture holds a block at the stop"
    frames = {f["index"]: f for t in doc["threads"] for f in t["frames"]}
    for block in live:
        region = _region_at(doc, block["ptr"])
        assert region is not None, f"no region at {block['ptr']}: {doc['threads'][0]['regions']}"
        assert region["state"] == "live", region
        assert region["frame"] is not None and frames[region["frame"]]["function"] == block["function"]
        assert region["reserved"] == block["reserved"]
    unsafe = _findings(doc, "unsafe-caller")
    if unsafe:  # -O0 and frame-pointer cells restore RSP from RBP: nothing unsafe to find
        assert [f["function"] for f in unsafe] == ["unsafe_victim"]

"""Lint of large real binaries that do not use the allocator: liblldb and the Python interpreter must give no call site and no
finding. Prints the speed (MB of code per second). A second pass pretends
`malloc`/`memcpy` is the allocator, so the whole pipeline (call-site scan,
decoding and control-flow check of thousands of callers) runs on real
compiler output: it must not fail, and its speed is printed too.
"""

import os

import pytest

import lintlib

REAL = ["/usr/lib/llvm-22/lib/liblldb.so.1", "/usr/bin/python3.11"]


def present():
    found = [p for p in REAL if os.path.exists(p)]
    if not found:
        pytest.skip("neither liblldb-22 nor python3.11 is installed")
    return found


def mbps(res):
    return res["code_bytes"] / 1e6 / max(res["seconds"], 1e-9)


def test_real_binaries_lint_clean():
    rows = []
    for res in lintlib.run_probe(present(), "--repeat", "3"):
        assert res["ok"], res.get("error")
        assert res["call_sites"] == [], res["module"]
        assert res["findings"] == [], res["module"]
        assert res["code_bytes"] > 1_000_000
        rows.append((res["module"], f"{res['code_bytes'] / 1e6:.1f}", f"{res['seconds'] * 1000:.0f}",
                     f"{mbps(res):.0f}"))
    lintlib.table("Lint of real binaries without sra_alloc (best of 3)",
                  ("binary", "code MB", "ms", "MB/s"), rows)


@pytest.mark.parametrize("pretend", ["malloc", "memcpy"])
def test_pipeline_on_real_code(pretend):
    rows = []
    for res in lintlib.run_probe(present(), "--alloc", pretend):
        assert res["ok"], res.get("error")
        sites = res["call_sites"]
        assert sites, f"no call to {pretend} found in {res['module']}"
        for s in sites:
            # Every verdict is complete: a reason exactly when unsafe.
            assert s["safe"] == (s["reason"] == ""), s
            assert s["function_start"] <= s["address"]
        rows.append((res["module"], len(sites), sum(not s["safe"] for s in sites),
                     f"{res['seconds'] * 1000:.0f}", f"{mbps(res):.0f}"))
    lintlib.table(f"Pipeline on real code, pretending {pretend} is the allocator",
                  ("binary", "call sites", "'unsafe'", "ms", "MB/s"), rows)

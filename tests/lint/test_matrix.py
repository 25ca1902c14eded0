"""Lint over the whole fixture matrix.

Every SRA_ALLOC call site must lint clean; every raw sra_alloc call site must
be flagged exactly when the objdump oracle (lintlib.oracle) sees an
RSP-trusting epilogue or an RSP-based access into the block after it: zero
false positives, zero misses. Prints the per-build table and writes it to
<build>/lint/matrix_table.txt.
"""

import json
import os

import pytest

import lintlib

MATRIX = lintlib.BUILD_DIR / "fixtures" / "matrix.json"


def load_matrix():
    if not MATRIX.exists():
        pytest.skip(f"{MATRIX} not built yet (build the fixtures first)")
    binaries = json.loads(MATRIX.read_text())["binaries"]
    present = [b for b in binaries if os.path.exists(b["path"])]
    if not present:
        pytest.skip("no matrix binary is built")
    return present


def judge(entry, result):
    """Compare one binary's lint result with the expectations; returns a table row and problems."""
    path = entry["path"]
    problems = []
    sites = result["call_sites"]
    lines = lintlib.source_lines(path, [s["address"] for s in sites])
    raw = [s for s in sites if lintlib.is_raw_line(lines[s["address"]][2])]
    sra = [s for s in sites if s not in raw]
    flagged = [s for s in sites if not s["safe"]]

    for s in sra:
        if not s["safe"]:
            problems.append(f"false positive at {s['address']:#x} ({s['function']}): {s['reason']}")
    expected = 0
    if raw:
        funcs = lintlib.disassemble(path)
        for s in raw:
            func = lintlib.function_at(funcs, s["address"])
            verdict = lintlib.oracle(func, s["address"])
            expected += verdict.unsafe
            if verdict.unsafe and s["safe"]:
                problems.append(f"missed raw call at {s['address']:#x} in {func.name}: objdump shows "
                                f"epilogues {list(map(hex, verdict.epilogue_culprits))}, "
                                f"accesses {list(map(hex, verdict.access_culprits))}")
            elif not verdict.unsafe and not s["safe"]:
                problems.append(f"raw call at {s['address']:#x} in {func.name} flagged but objdump shows "
                                f"nothing RSP-trusting: {s['reason']}")
            elif verdict.unsafe:
                # Flagged where objdump shows it: the epilogue if there is one, else the access.
                places = verdict.epilogue_culprits or verdict.access_culprits or [s["address"]]
                if s["culprit"] not in places:
                    problems.append(f"raw call at {s['address']:#x} flagged at {s['culprit']:#x}, objdump "
                                    f"shows {list(map(hex, places))}")
    # Every finding is one unsafe call site, with its source line.
    if len(result["findings"]) != len(flagged):
        problems.append(f"{len(result['findings'])} findings for {len(flagged)} unsafe call sites")
    for f in result["findings"]:
        if f["kind"] != "unsafe-caller" or f["severity"] != "error" or not f["file"] or not f["line"]:
            problems.append(f"malformed finding {f}")
    if not sites:
        problems.append("no call site of sra_alloc found")
    row = (entry["name"], len(sites), len(sra), len(raw), len(flagged), expected,
           "ok" if not problems else "FAIL")
    return row, problems


def test_matrix_lint():
    entries = load_matrix()
    results = {}
    # The probe takes many files at once: one process per chunk.
    for k in range(0, len(entries), 64):
        chunk = entries[k:k + 64]
        for entry, res in zip(chunk, lintlib.run_probe([e["path"] for e in chunk])):
            results[entry["name"]] = res
    rows, failures = [], []
    for entry in entries:
        res = results[entry["name"]]
        assert res["ok"], f"{entry['name']}: {res.get('error')}"
        row, problems = judge(entry, res)
        rows.append(row)
        failures += [f"{entry['name']}: {p}" for p in problems]
    unsafe_rows = [r for r in rows if r[3]]
    header = ("build", "sites", "SRA_ALLOC", "raw", "flagged", "expected", "")
    text = lintlib.table("Lint over the fixture matrix: builds with raw sra_alloc calls", header, unsafe_rows)
    total = (f"{len(rows)} builds, {sum(r[1] for r in rows)} call sites "
             f"({sum(r[2] for r in rows)} SRA_ALLOC, {sum(r[3] for r in rows)} raw), "
             f"{sum(r[4] for r in rows)} flagged, {sum(r[5] for r in rows)} expected, "
             f"{len(failures)} problems")
    print(total)
    out = lintlib.BUILD_DIR / "lint"
    out.mkdir(parents=True, exist_ok=True)
    full = lintlib.table("All builds", header, rows, echo=False)
    (out / "matrix_table.txt").write_text(text + "\n" + total + "\n\n" + full + "\n")
    assert not failures, "\n".join(failures[:50])


def test_unsafe_fixtures_are_flagged_where_they_corrupt():
    """The deliberately unsafe fixtures that demonstrate corruption (exit 42)
    must all be flagged, each naming its victim."""
    entries = [e for e in load_matrix() if e["unsafe"] and e["expected_exit"] == 42]
    if not entries:
        pytest.skip("no demonstrating unsafe fixture built")
    for entry, res in zip(entries, lintlib.run_probe([e["path"] for e in entries])):
        flagged = [s for s in res["call_sites"] if not s["safe"]]
        assert flagged, f"{entry['name']} corrupts at run time but lints clean"
        assert {s["function"] for s in flagged} <= {"unsafe_victim", "uv_victim"}, entry["name"]


def test_stripped_matrix_binaries(tmp_path):
    """Stripped copies of every -O2 matrix binary (both modes, so the audit
    allocator's entry is recognised by its code too) give the same verdicts
    at the same addresses, without names."""
    import subprocess

    entries = [e for e in load_matrix() if e["opt"] in ("O0", "O2")]
    copies = []
    for e in entries:
        out = tmp_path / e["name"]
        subprocess.run(["strip", "-o", str(out), e["path"]], check=True)
        copies.append(out)
    failures = []
    key = lambda r: sorted((s["address"], s["safe"], s["culprit"]) for s in r["call_sites"])
    for k in range(0, len(entries), 64):
        full = lintlib.run_probe([e["path"] for e in entries[k:k + 64]])
        bare = lintlib.run_probe(copies[k:k + 64])
        for e, a, b in zip(entries[k:k + 64], full, bare):
            if not b["ok"] or key(a) != key(b):
                failures.append(f"{e['name']}: {key(a)} vs stripped {b.get('error') or key(b)}")
            elif any(s["function"] is not None for s in b["call_sites"]):
                failures.append(f"{e['name']}: stripped copy still names its functions")
    print(f"\n{len(entries)} stripped matrix binaries: {len(entries) - len(failures)} agree")
    assert not failures, "\n".join(failures[:30])

"""Source lines of call sites from debug info that is not a plain .debug_line
in the file: compressed sections (gcc -gz) and separate debug files found by
.gnu_debuglink (next to the binary, or in its .debug directory) or by build
ID (.build-id/xx/yyyy.debug under a directory given with --debug-dir).

The program is tests/lint/src/callers.c at -O2 (gcc): its raw callers are
flagged, and every call site's file:line must be what addr2line gives for
the unstripped, uncompressed build.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import lintlib
from test_compiled import static_sra, workdir  # noqa: F401 - fixtures

SRC = Path(__file__).resolve().parent / "src"


def build(workdir, sra_lib, name, *flags):
    out = workdir / name
    lintlib.build(lintlib.require_tool("gcc", "the debug-info builds"), [SRC / "callers.c", SRC / "support.c"],
                  out, ["-O2", *flags], [sra_lib])
    return out


@pytest.fixture(scope="module")
def reference(workdir, static_sra):
    """The plain build and {address: (basename, line)} of its call sites by addr2line."""
    path = build(workdir, static_sra, "plain")
    res = lintlib.lint(path)
    assert res["ok"], res.get("error")
    addrs = [s["address"] for s in res["call_sites"]]
    out = subprocess.run(["addr2line", "-e", str(path), *map(hex, addrs)], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    where = {}
    for a, loc in zip(addrs, out):
        file, _, line = loc.rpartition(":")
        where[a] = (os.path.basename(file), int(line.split()[0]))
    assert any(not s["safe"] for s in res["call_sites"]), "callers.c has flagged raw callers"
    return path, res, where


def check_lines(res, reference):
    """Same verdicts as the reference build, and each site's file:line from addr2line."""
    _, ref, where = reference
    assert res["ok"], res.get("error")
    key = lambda r: [(s["address"], s["safe"], s["culprit"]) for s in r["call_sites"]]
    assert key(res) == key(ref)
    problems = []
    for s in res["call_sites"]:
        got = (os.path.basename(s["file"] or "-"), s["line"])
        if got != where[s["address"]]:
            problems.append(f"{s['address']:#x}: lint says {got}, addr2line {where[s['address']]}")
    assert not problems, "\n".join(problems)
    # Every finding (the flagged call sites) carries its file and line.
    flagged = [s for s in res["call_sites"] if not s["safe"]]
    assert flagged and len(res["findings"]) == len(flagged)
    for f in res["findings"]:
        assert f["file"] and f["line"] == where[f["address"]][1], f


def section_flags(path, name):
    out = subprocess.run(["readelf", "-SW", str(path)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f" {name} " in line:
            return line.split()[-4] if "]" in line else ""
    return None


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    pytest.fail(f"{path} has no build ID")


def test_compressed_debug_line(workdir, static_sra, reference):
    path = build(workdir, static_sra, "gz", "-gz")
    flags = section_flags(path, ".debug_line")
    assert flags is not None and "C" in flags, f".debug_line not compressed ({flags})"
    check_lines(lintlib.lint(path), reference)


def split(workdir, reference, name):
    """A copy of the reference build without debug info, and its debug file."""
    full = reference[0]
    debug = workdir / f"{name}.debug"
    bare = workdir / name
    subprocess.run(["objcopy", "--only-keep-debug", str(full), str(debug)], check=True)
    subprocess.run(["objcopy", "--strip-debug", str(full), str(bare)], check=True)
    assert section_flags(bare, ".debug_line") is None
    return bare, debug


def test_debuglink_next_to_the_binary(workdir, reference):
    bare, debug = split(workdir, reference, "linked")
    linked = workdir / "linked.withlink"
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", str(bare), str(linked)], check=True)
    check_lines(lintlib.lint(linked), reference)
    # The same file in the binary's .debug directory.
    sub = workdir / "sub"
    (sub / ".debug").mkdir(parents=True, exist_ok=True)
    shutil.copy(linked, sub / "linked.withlink")
    shutil.copy(debug, sub / ".debug" / debug.name)
    check_lines(lintlib.lint(sub / "linked.withlink"), reference)


def test_build_id_directory(workdir, reference):
    bare, debug = split(workdir, reference, "byid")
    bid = build_id(bare)
    root = workdir / "debugroot"
    (root / ".build-id" / bid[:2]).mkdir(parents=True, exist_ok=True)
    shutil.move(debug, root / ".build-id" / bid[:2] / f"{bid[2:]}.debug")
    # Without the directory nothing names the debug file: no locations.
    alone = lintlib.lint(bare)
    assert alone["ok"] and all(s["file"] is None for s in alone["call_sites"])
    check_lines(lintlib.lint(bare, "--debug-dir", str(root)), reference)

"""The two engines of `frameaudit analyze` (--engine elfutils, --engine lldb)
give the same JSON document for the same ELF core: frames, regions,
findings, verdict, byte for byte, except the differences listed in
KNOWN_DIFFERENCES (each one is in docs/formats.md, "Engines", with its
reason).

Cores: the ones the suite already made and cached (fixture cores under
<build>/tests/integration/cores/<cell>/{kernel,gcore}-segv/, real-program
cores under <build>/tests/realworld/cores/<program>/{kernel,gcore}/); where
none are cached yet, kernel and gcore cores of two cells per fixture are
made here. FRAMEAUDIT_ENGINE_CORES=DIR[:DIR...] takes the cached cores of
other build directories instead. All cores go through one `analyze -j`
per engine, so the test stays well under two minutes.
"""

import json
import os
import re
from pathlib import Path

import pytest

from conftest import BUILD, pick_binary, run_cli

# Every difference that remains between the engines, as (program of the
# real-program corpus or fixture cell, regex of the JSON path, why); each is
# in docs/formats.md, "Engines".
KNOWN_DIFFERENCES = [
    ("vim", r"/threads/\d+/frames/\d+/function",
     "glibc's kill has two ELF symbols (kill, weak; __kill, global) and no DWARF function: "
     "LLDB names the frame kill, libdwfl's symbol lookup __kill"),
    ("node-jit", r"/threads/\d+/frames/\d+/file",
     "node's libuv units name their files relative to DW_AT_comp_dir: LLDB prepends it "
     "(/home/iojs/build/ws/deps/...), libdw's line table gives deps/..."),
    ("node-jit", r"/threads/\d+/frames/\d+/function",
     "a lambda's static invoker: LLDB's demangler spells it ...::'lambda'(void*)::_FUN, "
     "the C++ runtime's demangler {lambda(void*)#1}::_FUN, which the plain-name rule cuts"),
]

FIXTURE_CELLS = (("gcc", "O0", "fp", "audit"), ("clang", "O2", "nofp", "plain"))


def _cached_cores():
    roots = [Path(p) for p in os.environ.get("FRAMEAUDIT_ENGINE_CORES", "").split(":") if p]
    cores = []
    for root in roots or [BUILD]:
        for fmt in ("kernel", "gcore"):
            cores += sorted((root / "tests" / "integration" / "cores").glob(f"*/{fmt}-segv/{fmt}.core"))
            cores += sorted((root / "tests" / "realworld" / "cores").glob(f"*/{fmt}/{fmt}.core"))
    return cores


@pytest.fixture(scope="module")
def engine_cores(frameaudit, core_module_built, matrix, core_cache):
    cores = _cached_cores()
    if not any("integration" in str(c) for c in cores):
        fixtures = sorted({b["fixture"] for b in matrix["binaries"] if not b.get("unsafe")})
        for fixture in fixtures:
            for cell in FIXTURE_CELLS:
                binary = pick_binary(matrix, fixture, *cell)
                for fmt in ("kernel", "gcore"):
                    cores.append(core_cache.get(binary, fmt, "segv").path)
    assert cores, "no ELF cores to compare"
    return cores


def _documents(engine: str, cores) -> dict:
    result = run_cli("analyze", "--engine", engine, "--format", "json", "--fail-on", "never",
                     "-q", "-j", "4", *cores, timeout=900)
    assert result.returncode == 0, f"--engine {engine}: exit {result.returncode}\n{result.stderr}"
    docs = json.loads(result.stdout)
    if isinstance(docs, dict):
        docs = [docs]
    return {d["target"]["core"]: d for d in docs}


def _differences(a, b, path=""):
    """JSON paths where a and b differ (the innermost ones)."""
    if type(a) is not type(b):
        return [path]
    if isinstance(a, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key), b.get(key), f"{path}/{key}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path} (length {len(a)} vs {len(b)})"]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _differences(x, y, f"{path}/{i}")
        return out
    return [] if a == b else [path]


def _known(core: str, path: str) -> bool:
    return any(f"/{name}/" in core and re.fullmatch(pattern, path)
               for name, pattern, _why in KNOWN_DIFFERENCES)


def test_engines_agree_document_by_document(engine_cores):
    names = [str(Path(c).resolve()) for c in engine_cores]
    elfutils = _documents("elfutils", engine_cores)
    lldb = _documents("lldb", engine_cores)
    missing = [n for n in names if n not in elfutils or n not in lldb]
    assert not missing, f"cores one engine could not analyse: {missing}"
    problems = []
    for name in names:
        for path in _differences(lldb[name], elfutils[name]):
            if not _known(name, path):
                problems.append(f"{name}: {path}: lldb {_at(lldb[name], path)!r} "
                                f"vs elfutils {_at(elfutils[name], path)!r}")
    assert not problems, f"{len(problems)} differences between the engines:\n" + \
        "\n".join(problems[:40])


def _at(doc, path: str):
    for part in path.split(" ")[0].strip("/").split("/"):
        if not part:
            continue
        try:
            doc = doc[int(part)] if isinstance(doc, list) else doc.get(part)
        except (IndexError, ValueError, AttributeError):
            return None
    text = json.dumps(doc)
    return text if len(text) < 300 else text[:300] + "..."


def test_elfutils_engine_on_a_minidump_is_a_usage_error(matrix, core_cache):
    binary = pick_binary(matrix, "overrun_one")
    core = core_cache.get(binary, "minidump", "segv")
    result = run_cli("analyze", "--engine", "elfutils", core.path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"frameaudit analyze: error: --engine elfutils reads ELF cores only; "
                             f"{core.path} is a minidump (use --engine lldb or auto)\n")


def test_elfutils_engine_imports_no_lldb(matrix, core_cache, tmp_path):
    """No LLDB anywhere: a PATH without lldb and no configured module
    directory still analyses an ELF core (the default engine), and
    --engine lldb then says LLDB is missing."""
    binary = pick_binary(matrix, "overrun_one")
    core = core_cache.get(binary, "kernel", "segv")
    env = {"PATH": str(tmp_path), "FRAMEAUDIT_LLDB_PYTHON": str(tmp_path / "none"),
           "PYTHONPATH": ""}
    poison = tmp_path / "poison"
    (poison / "lldb").mkdir(parents=True)
    (poison / "lldb" / "__init__.py").write_text("raise SystemExit('lldb imported')\n")
    env["PYTHONPATH"] = str(poison)
    result = run_cli("analyze", "--format", "json", "--fail-on", "never", core.path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target"]["core"] == str(Path(core.path).resolve())

"""SARIF that GitHub code scanning takes as it is, on real cores:

- automationDetails.id names the executable, never the core file or a pid,
  so every CI run of the same crash lands in the same category;
- at most 20 runs per file: by default one run per core up to 20 cores,
  beyond that the cores of one executable share a run (as with
  --sarif-runs per-executable); --sarif-runs per-core insists on one run
  per core and refuses more than 20 with one line and status 2;
- --sarif-min-level (default warning) keeps notes out of code scanning;
- partialFingerprints are unique within a run and the same for another
  crash of the same program (new pid, new addresses);
- rules' help says what to do; results carry the crashing thread's frames.
Each log is checked with Microsoft's validator (SARIF and GitHub rules).
"""

import json
import shutil
from pathlib import Path

import pytest

import cores
from conftest import one_line, pick_binary, run_cli, validate_sarif

pytestmark = pytest.mark.usefixtures("core_module_built")
MAX_RUNS = 20


@pytest.fixture(scope="module")
def dangling(matrix):
    return pick_binary(matrix, "dangling")


@pytest.fixture(scope="module")
def overflow(matrix):
    return pick_binary(matrix, "overflow")


def _core(core_cache, binary):
    # gcore works wherever gdb does (the kernel's cores need a plain core_pattern).
    return core_cache.get(binary, "gcore", "segv")


def sarif(*args):
    result = run_cli("analyze", "--format", "sarif", *args)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout), result


def copies(core: Path, where: Path, n: int, stem: str) -> list:
    """n copies of one core under distinct names (with spaces and a pid-like
    suffix, as core.%e.%p writes them)."""
    where.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = where / f"{stem} {i}.{12224 + i}"
        shutil.copy(core, p)
        paths.append(p)
    return paths


def test_category_is_the_executable(frameaudit, core_cache, dangling, tmp_path):
    core = _core(core_cache, dangling)
    renamed = copies(core.path, tmp_path, 1, "core.prog")[0]
    log, _ = sarif(renamed)
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == f"frameaudit/{Path(dangling['path']).name}/"
    assert "12224" not in run["automationDetails"]["id"]
    validate_sarif(_write(tmp_path / "one.sarif", log))


def _write(path: Path, log: dict) -> Path:
    path.write_text(json.dumps(log))
    return path


def test_cores_of_one_executable_share_one_run(frameaudit, core_cache, dangling, overflow,
                                               tmp_path):
    one = _core(core_cache, dangling)
    paths = copies(one.path, tmp_path / "cores dir", MAX_RUNS + 1, "core.dangling")
    other = _core(core_cache, overflow).path
    single, _ = sarif(one.path)
    per_core_results = len(single["runs"][0]["results"])
    log, result = sarif("-j", "2", *paths, other)
    assert result.stderr == ""
    runs = log["runs"]
    assert [r["automationDetails"]["id"] for r in runs] == [
        f"frameaudit/{Path(dangling['path']).name}/", f"frameaudit/{Path(overflow['path']).name}/"]
    merged = runs[0]
    assert len(merged["results"]) == (MAX_RUNS + 1) * per_core_results
    assert [c["target"]["core"] for c in merged["properties"]["cores"]] == [str(p) for p in paths]
    assert {r["properties"]["core"] for r in merged["results"]} == {str(p) for p in paths}
    prints = [r["partialFingerprints"]["frameauditFinding/v2"] for r in merged["results"]]
    assert len(set(prints)) == len(prints), "fingerprints must be unique within a run"
    validate_sarif(_write(tmp_path / "merged.sarif", log))


def test_per_core_runs_and_the_limit(frameaudit, core_cache, dangling, tmp_path):
    core = _core(core_cache, dangling).path
    paths = copies(core, tmp_path, MAX_RUNS + 1, "core")
    log, _ = sarif("--sarif-runs", "per-core", "-j", "2", *paths[:MAX_RUNS])
    ids = [r["automationDetails"]["id"] for r in log["runs"]]
    name = Path(dangling["path"]).name
    assert ids == [f"frameaudit/{name}/{i}/" for i in range(1, MAX_RUNS + 1)]
    validate_sarif(_write(tmp_path / "twenty.sarif", log))
    result = run_cli("analyze", "--format", "sarif", "--sarif-runs", "per-core", "-j", "2",
                     "-o", tmp_path / "too-many.sarif", *paths)
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result.stderr)
    assert "21 runs" in line and "20" in line and "--sarif-runs per-executable" in line
    assert not (tmp_path / "too-many.sarif").exists()


def test_min_level(frameaudit, core_cache, dangling):
    core = _core(core_cache, dangling).path
    doc = json.loads(run_cli("analyze", "--format", "json", core).stdout)
    levels = {f["severity"] for f in doc["findings"]}
    assert "note" in levels, "the fixture must have a note (relocated-frame) for this test"
    by_level = {}
    for level in ("note", "warning", "error"):
        log, _ = sarif("--sarif-min-level", level, core)
        by_level[level] = [r["level"] for r in log["runs"][0]["results"]]
    default, _ = sarif(core)
    assert [r["level"] for r in default["runs"][0]["results"]] == by_level["warning"]
    assert len(by_level["note"]) == len(doc["findings"])
    assert "note" not in by_level["warning"]
    assert set(by_level["error"]) <= {"error"}


def test_fingerprints_stable_across_crashes(frameaudit, dangling, tmp_path):
    first = cores.make_core("gcore", Path(dangling["path"]), _dir(tmp_path / "a"), "segv")
    second = cores.make_core("gcore", Path(dangling["path"]), _dir(tmp_path / "b"), "segv")
    if isinstance(first, str) or isinstance(second, str):
        pytest.skip(str(first if isinstance(first, str) else second))
    prints = []
    for core in (first.path, second.path, first.path):
        log, _ = sarif("--sarif-min-level", "note", core)
        prints.append([r["partialFingerprints"]["frameauditFinding/v2"]
                       for r in log["runs"][0]["results"]])
    assert prints[0] == prints[2], "the same core twice"
    assert prints[0] == prints[1], "another crash of the same program (new pid, new addresses)"


def _dir(p: Path) -> Path:
    p.mkdir(parents=True)
    return p


def test_help_and_stacks(frameaudit, core_cache, dangling):
    core = _core(core_cache, dangling).path
    log, _ = sarif("--sarif-min-level", "note", core)
    run = log["runs"][0]
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["text"] != rule["fullDescription"]["text"], rule["id"]
        assert rule["help"]["markdown"].startswith("**What to do:**")
    doc = json.loads(run_cli("analyze", "--format", "json", core).stdout)
    crashed = doc["threads"][0]
    pcs = [int(f["pc"], 16) for f in crashed["frames"]]
    for result in run["results"]:
        stack = result["stacks"][-1]
        assert "crashing thread" in stack["message"]["text"]
        got = [f["location"]["physicalLocation"]["address"]["absoluteAddress"]
               for f in stack["frames"]]
        assert got == pcs[:64]
        assert stack["frames"][0]["threadId"] == crashed["tid"]

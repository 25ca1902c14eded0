"""Shared set-up for the CLI tests: the launcher, the fixture matrix, cores.

Run with the Python LLDB uses, from CTest (label `cli`) or by hand:

    FRAMEAUDIT_BUILD_DIR=build /usr/bin/python3 -m pytest tests/cli -q
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cores  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("FRAMEAUDIT_BUILD_DIR") or REPO / "build").resolve()
FRAMEAUDIT = BUILD / "bin" / "frameaudit"
MATRIX = BUILD / "fixtures" / "matrix.json"
IN_CI = os.environ.get("CI") == "true"


def run_cli(*args, cwd=None, env=None, timeout=600, stdin=subprocess.DEVNULL, exe=None):
    """Run bin/frameaudit; return CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.pop("FRAMEAUDIT_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run([str(exe or FRAMEAUDIT), *map(str, args)], cwd=cwd, env=full_env,
                          stdin=stdin, capture_output=True, text=True, timeout=timeout)


def one_line(stderr: str) -> str:
    """stderr must be exactly one line; return it."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


@pytest.fixture(scope="session")
def frameaudit():
    if not FRAMEAUDIT.exists():
        pytest.fail(f"{FRAMEAUDIT} is not built (cmake --build {BUILD})")
    return FRAMEAUDIT


@pytest.fixture(scope="session")
def core_module_built():
    """Skip (or fail under CI) tests that need frameaudit._core and frameaudit.lldb_target."""
    package = BUILD / "python" / "frameaudit"
    missing = [p for p in ("lldb_target.py",) if not (package / p).exists()]
    if not list(package.glob("_core*.so")):
        missing.append("_core*.so")
    if missing:
        message = f"frameaudit package in {package} lacks {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def matrix():
    if not MATRIX.exists():
        message = f"{MATRIX} not built"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return json.loads(MATRIX.read_text())


def pick_binary(matrix, fixture, compiler="gcc", opt="O0", flags="fp", mode="audit"):
    for b in matrix["binaries"]:
        if (b["fixture"], b["compiler"], b["opt"], b["flags"], b["mode"]) == (
                fixture, compiler, opt, flags, mode):
            return b
    pytest.skip(f"no {fixture}-{compiler}-{opt}-{flags}-{mode} in the matrix")


class CoreCache:
    """Cores of fixtures, made once per session: (binary name, format, stop) -> Core."""

    def __init__(self, root: Path):
        self.root = root
        self.cache = {}

    def get(self, binary: dict, fmt: str, stop: str = "abort") -> "cores.Core":
        key = (binary["name"], fmt, stop)
        if key not in self.cache:
            workdir = self.root / f"{binary['name']}-{fmt}-{stop}"
            workdir.mkdir(parents=True, exist_ok=True)
            self.cache[key] = cores.make_core(fmt, Path(binary["path"]), workdir, stop)
        core = self.cache[key]
        if isinstance(core, str):
            if fmt == "kernel" and not IN_CI:
                pytest.skip(core)
            pytest.fail(core)
        return core


@pytest.fixture(scope="session")
def core_cache(tmp_path_factory):
    return CoreCache(tmp_path_factory.mktemp("cores"))


def sarif_validator():
    """Microsoft's SARIF multitool, as scripts/setup.sh installs it."""
    rel = Path("node_modules/.bin/sarif-multitool-linux")
    for tools in (BUILD / "tools", REPO / "build" / "tools"):
        if (tools / rel).exists():
            return tools / rel
    return None


# SARIF2005 asks for tool.driver.informationUri; the project has no public URL
# yet (as tests/sarif/validate.sh allows).
ALLOWED_SARIF_WARNINGS = ("SARIF2005",)


def validate_sarif(path: Path) -> None:
    """Validate with Microsoft's validator: SARIF rules and GitHub's ingestion
    rules, no errors, no warnings beyond ALLOWED_SARIF_WARNINGS."""
    tool = os.environ.get("SARIF_MULTITOOL") or sarif_validator()
    if tool is None:
        pytest.fail("the SARIF validator sarif-multitool-linux is not installed "
                    "(scripts/setup.sh installs it with npm into build/tools)", pytrace=False)
    for kinds in ("Sarif", "Gh"):
        result = subprocess.run([str(tool), "validate", str(path), "--rule-kind", kinds],
                                capture_output=True, text=True, timeout=600)
        report = result.stdout + result.stderr
        assert result.returncode == 0, f"validator exited {result.returncode}:\n{report}"
        assert "Analysis completed successfully" in report, report
        bad = [line for line in report.splitlines()
               if ": error " in line or (": warning " in line and not any(
                   f"warning {w}" in line for w in ALLOWED_SARIF_WARNINGS))]
        assert not bad, f"{path} ({kinds} rules):\n" + "\n".join(bad)

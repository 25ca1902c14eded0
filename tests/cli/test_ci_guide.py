"""docs/ci-guide.md, run end to end: its GitHub Actions job and its GitLab CI
job, read from the guide's own YAML blocks (tests/cli/ci_jobs.py runs them as
the two services would), on a small project of two crashing tests.

The project (written by the test) builds two programs whose names share the
15 characters the kernel keeps of a program's name (`unit test crash`, with
spaces), so `%e` cannot tell their cores apart and only `%p` keeps one from
overwriting the other; one of them finds a real error (a write past an sra
block). Its test runner runs both, then the second once more under a small
core-size limit, so that one core is cut short: one bad core among good
ones. The guide's `your build command` / `your test command` lines become the
project's build and test scripts. Every path the job touches has spaces in
it: the workspace, the runner's temporary directory (so the cores), the
test programs and the installed frameaudit.

Nothing here touches the machine: `sudo` and `sysctl` are shims first on
PATH that record the core pattern the job asks for in a stand-in for
/proc/sys/kernel/core_pattern (every mention of that file in the guide's
scripts is pointed at the stand-in) and refuse every other root command. The
kernel's part is played by run_as_kernel: each test program runs under gdb,
and at its fatal signal gdb's `gcore` writes the core where the recorded
pattern says, expanded (%e %p %s %t ...), relative to the program's
directory, nothing for a pipe or when RLIMIT_CORE is 0 (each step starts
with the limit at 0, as on a runner), cut at RLIMIT_CORE. frameaudit is the
build tree's, behind a wrapper at the install prefix the guide's install
step uses, which logs every run; the install steps themselves are checked
(syntax, prefix, options, packages), not run.

Checked: both good cores and the bad one are written, under distinct names,
and none is overwritten; one `frameaudit analyze` run writes the SARIF log
and prints the text report; the SARIF has a run per good core (the error in
the second one's) and the bad core's run carries an error notification; the
analysis status is 2 and the job fails saying why; the artifacts the job
keeps include the SARIF log and every core; the host's core pattern is
unchanged. GitLab is run twice: with a plain core pattern (`core.%p`, cores
in the test's directory) and with a pipe (the job falls back to
`frameaudit run`).

FRAMEAUDIT_CI_GUIDE=FILE runs the jobs of another copy of the guide.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import ci_jobs
from conftest import BUILD, FRAMEAUDIT, REPO, validate_sarif
from required_tools import LLDB_MAJOR, require_tool

pytestmark = pytest.mark.usefixtures("core_module_built")

GUIDE = Path(os.environ.get("FRAMEAUDIT_CI_GUIDE") or REPO / "docs" / "ci-guide.md")
PLACEHOLDERS = {"your build command": "./build.sh", "your test command": "./run-tests.sh"}
# GitHub's Ubuntu runners pipe cores to apport until a job changes the pattern.
UBUNTU_PATTERN = "|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E"
SYSTEMD_PATTERN = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h"
TEST_A = "unit test crash-a_test"
TEST_B = "unit test crash-b_test"
WORKDIR = "build/tests/test output"  # where the tests run, so where a plain core pattern puts their cores
# What the build needs besides a C++ compiler: native/core, python/ and
# lldb_plugin/ find these REQUIRED (nlohmann_json, Zydis, libdw/libelf through
# pkg-config, pybind11, Python's headers, liblldb).
BUILD_PACKAGES = ("cmake", "pkg-config", "nlohmann-json3-dev", "libzydis-dev", "libdw-dev", "libelf-dev",
                  "pybind11-dev", "python3-dev", f"liblldb-{LLDB_MAJOR}-dev", f"python3-lldb-{LLDB_MAJOR}")

# ---------------------------------------------------------------------------
# The project under test

CRASH_A_C = r"""/* A test that dereferences NULL three calls deep. */
int checksum(const char *s);
__attribute__((noinline)) static int parse(const char *s) { volatile int *p = 0; return *p + checksum(s); }
__attribute__((noinline)) int run_case(const char *s) { return parse(s) + 1; }
int main(int argc, char **argv) { return run_case(argc > 1 ? argv[1] : "case"); }
"""
# Named like a core but not one: the GitLab job's search must leave it alone.
CORE_C = r"""int checksum(const char *s) { int n = 0; while (*s) n += *s++; return n; }
"""
CRASH_B_C = r"""/* A test that writes 8 bytes past an sra block, then crashes. */
#include <sra.h>
#include <string.h>
__attribute__((noinline)) static void use(char *p) { volatile char *q = 0; *q = p[0]; }
__attribute__((noinline)) void fill(size_t n) { char *b = SRA_ALLOC(n); memset(b, 'A', n + 8); use(b); }
int main(void) { fill(48); return 0; }
"""
BUILD_SH = f"""#!/bin/bash
# The project's build: two test programs.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build/tests
gcc -g -O0 -fno-omit-frame-pointer -o "build/tests/{TEST_A}" src/crash_a.c src/core.c
gcc -g -O0 -fno-omit-frame-pointer -I"$FA_CI_SRA_INCLUDE" -o "build/tests/{TEST_B}" src/crash_b.c "$FA_CI_SRA_AUDIT_LIB"
echo "built build/tests/{TEST_A} and build/tests/{TEST_B}"
"""
RUN_TESTS_SH = f"""#!/bin/bash
# The project's tests, each run in a working directory of their own (as
# ctest's WORKING_DIRECTORY gives); a crash is a failed test. The last crashes
# again under a small core-size limit, so its core is cut short (as on a full
# disk).
cd "$(dirname "$0")"
mkdir -p "{WORKDIR}"
failed=0
for t in build/tests/*_test; do
  (cd "{WORKDIR}" && "$FA_CI_RUN" "../${{t##*/}}") || failed=$((failed + 1))
done
(cd "{WORKDIR}" && ulimit -c 256 && "$FA_CI_RUN" "../{TEST_B}") || failed=$((failed + 1))
echo "$failed of 3 tests failed"
[ "$failed" -eq 0 ]
"""

# ---------------------------------------------------------------------------
# The machine: the kernel's core dumps, sudo, sysctl, the installed frameaudit

RUN_AS_KERNEL = r'''#!/usr/bin/python3
"""The kernel's part: run PROGRAM ARGS under gdb; if a signal kills it, gcore
writes its core where the stand-in core pattern says, as the kernel would."""
import json, os, resource, shutil, signal, socket, subprocess, sys, time

state = os.environ["FA_CI_STATE"]
here = os.path.dirname(os.path.abspath(__file__))
raw = os.path.join(state, f"gcore.{os.getpid()}")
result = os.path.join(state, f"result.{os.getpid()}.json")
env = dict(os.environ, FA_DUMP_RAW=raw, FA_DUMP_RESULT=result)
with open(os.path.join(state, "gdb.log"), "a") as log:
    subprocess.run(["gdb", "-nx", "-q", "-batch", "-ex", "set startup-with-shell off", "-ex", "run",
                    "-x", os.path.join(here, "dump_at_signal.py"), "--args", *sys.argv[1:]],
                   env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=120)
with open(result) as f:
    r = json.load(f)
os.unlink(result)
if "exit" in r:
    sys.exit(r["exit"])
try:
    with open(os.environ["FA_CI_CORE_PATTERN"]) as f:
        pattern = f.read().rstrip("\n")
except FileNotFoundError:
    pattern = "core"
limit = resource.getrlimit(resource.RLIMIT_CORE)[0]

def expand(pattern):
    out, i = [], 0
    values = {"%": "%", "p": r["pid"], "P": r["pid"], "i": r["pid"], "I": r["pid"],
              "e": r["comm"].replace("/", "!"), "E": r["exe"].replace("/", "!"),
              "f": os.path.basename(r["exe"]), "s": r["signal"], "t": int(time.time()),
              "h": socket.gethostname(), "u": os.getuid(), "g": os.getgid(), "d": 1,
              "c": "unlimited" if limit == resource.RLIM_INFINITY else limit}
    while i < len(pattern):
        if pattern[i] == "%" and i + 1 < len(pattern):
            if pattern[i + 1] not in values:
                sys.exit(f"run_as_kernel: %{pattern[i + 1]} in the core pattern is not known to the test")
            out.append(str(values[pattern[i + 1]]))
            i += 2
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)

record = {"program": os.path.abspath(sys.argv[1]), "cwd": os.getcwd(), "pid": r["pid"],
          "comm": r["comm"], "signal": r["signal"], "pattern": pattern, "path": None}
if pattern.startswith("|"):
    record["note"] = "piped to " + pattern[1:].split()[0]
elif limit == 0:
    record["note"] = "RLIMIT_CORE is 0"
else:
    path = os.path.join(os.getcwd(), expand(pattern))
    if not os.path.isdir(os.path.dirname(path)):
        record["note"] = f"no directory {os.path.dirname(path)}"
    else:
        shutil.copyfile(raw, path)  # an existing file is overwritten, as the kernel does
        size = os.path.getsize(raw)
        if limit != resource.RLIM_INFINITY and limit < size:
            os.truncate(path, limit)
            record["truncated_from"] = size
        os.chmod(path, 0o600)
        record["path"] = path
        record["size"] = os.path.getsize(path)
        with open(path, "rb") as f:
            import hashlib
            record["sha256"] = hashlib.sha256(f.read()).hexdigest()
os.unlink(raw)
with open(os.path.join(state, "dumps.jsonl"), "a") as f:
    f.write(json.dumps(record) + "\n")
name = signal.Signals(r["signal"]).name
print(f"{sys.argv[1]}: {name}" + (" (core dumped)" if record["path"] else f" (no core: {record['note']})"),
      file=sys.stderr)
sys.exit(128 + r["signal"])
'''

DUMP_AT_SIGNAL = r'''# gdb, after `run`: the program's pid, signal and name; its core (gcore)
import json, os
import gdb
inferior = gdb.selected_inferior()
r = {}
if inferior.pid == 0:
    code = gdb.convenience_variable("_exitcode")
    r["exit"] = int(code) if code is not None else 0
else:
    r["pid"] = inferior.pid
    r["signal"] = int(gdb.parse_and_eval("$_siginfo.si_signo"))
    with open(f"/proc/{inferior.pid}/comm") as f:
        r["comm"] = f.read().rstrip("\n")
    r["exe"] = os.readlink(f"/proc/{inferior.pid}/exe")
    gdb.execute("gcore " + os.environ["FA_DUMP_RAW"], to_string=True)
with open(os.environ["FA_DUMP_RESULT"], "w") as f:
    json.dump(r, f)
'''

SUDO = r'''#!/bin/bash
# sudo, for the CI-guide test: never root. Setting kernel.core_pattern (sysctl,
# or tee into the stand-in pattern file) is recorded; anything else is refused.
printf '%s\n' "$*" >> "$FA_CI_STATE/sudo.log"
while [ $# -gt 0 ]; do
  case "$1" in
    -u|-g|-C|-D) shift 2;;
    --) shift; break;;
    -*) shift;;
    *) break;;
  esac
done
case "$1" in
  sysctl) shift; exec sysctl "$@";;
  tee)
    for f in "${@:2}"; do
      case "$f" in -*|"$FA_CI_CORE_PATTERN") ;; *) echo "sudo (test shim): refusing tee $f" >&2; exit 1;; esac
    done
    exec "$@";;
  *) echo "sudo (test shim): refusing to run as root: $*" >&2; exit 1;;
esac
'''

SYSCTL = r'''#!/usr/bin/python3
# sysctl, for the CI-guide test: kernel.core_pattern only, kept in the stand-in file.
import os, sys
pattern_file = os.environ["FA_CI_CORE_PATTERN"]
flags = [a for a in sys.argv[1:] if a.startswith("-")]
for arg in (a for a in sys.argv[1:] if not a.startswith("-")):
    key, eq, value = arg.partition("=")
    key = key.replace("/", ".")
    if key != "kernel.core_pattern":
        sys.exit(f"sysctl (test shim): refusing {arg}")
    if eq:
        if len(value.encode()) > 127:
            sys.exit(f"sysctl: the kernel keeps 127 bytes of kernel.core_pattern, not {len(value.encode())}")
        with open(pattern_file, "w") as f:
            f.write(value + "\n")
    else:
        with open(pattern_file) as f:
            value = f.read().rstrip("\n")
    if "-q" not in flags:
        print(value if "-n" in flags else f"{key} = {value}")
'''

FRAMEAUDIT_WRAPPER = r'''#!/usr/bin/python3
# frameaudit as installed, for the CI-guide test: the build tree's, each run logged.
import json, os, subprocess, sys
status = subprocess.run([{real!r}, *sys.argv[1:]]).returncode
with open(os.path.join(os.environ["FA_CI_STATE"], "frameaudit.jsonl"), "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "status": status}}) + "\n")
sys.exit(status)
'''


class Machine:
    """One CI machine: shims first on PATH, the stand-in core pattern, the
    installed frameaudit; what happened on it (core dumps, runs)."""

    def __init__(self, root: Path, pattern: str):
        self.root = root
        self.state = root / "state"  # no spaces: its path is put into the guide's scripts
        self.shims = root / "shims"
        self.pattern_file = self.state / "core_pattern"
        self.state.mkdir(parents=True)
        self.shims.mkdir()
        self.pattern_file.write_text(pattern + "\n")
        for name, text in (("sudo", SUDO), ("sysctl", SYSCTL), ("run_as_kernel", RUN_AS_KERNEL),
                           ("dump_at_signal.py", DUMP_AT_SIGNAL)):
            _write(self.shims / name, text, executable=name != "dump_at_signal.py")
        self.placeholders = {p: 0 for p in PLACEHOLDERS}
        self.declared_frameaudit = None
        self.prefix = None
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "GITLAB_", "CI_", "RUNNER_", "FRAMEAUDIT", "FA_CI_"))
               and k not in ("CI",)}
        env.update(PATH=f"{self.shims}{os.pathsep}{os.environ['PATH']}", FA_CI_STATE=str(self.state),
                   FA_CI_CORE_PATTERN=str(self.pattern_file), FA_CI_RUN=str(self.shims / "run_as_kernel"),
                   FA_CI_SRA_INCLUDE=str(REPO / "native" / "sra" / "include"),
                   FA_CI_SRA_AUDIT_LIB=str(BUILD / "native" / "sra" / "libsra_audit.a"))
        self.base_env = env

    # -- what ci_jobs calls

    def transform(self, script: str) -> str:
        for placeholder, command in PLACEHOLDERS.items():
            self.placeholders[placeholder] += script.count(placeholder)
            script = script.replace(placeholder, command)
        return script.replace(ci_jobs.PROC_CORE_PATTERN, str(self.pattern_file))

    def env_override(self, env: dict) -> dict:
        """The job's FRAMEAUDIT names the installed program: the wrapper at the
        same place under a prefix with a space in it."""
        assert "FRAMEAUDIT" in env, f"the job defines no FRAMEAUDIT variable: {env}"
        self.declared_frameaudit = env["FRAMEAUDIT"]
        declared = Path(env["FRAMEAUDIT"])
        assert declared.is_absolute() and declared.parts[-2:] == ("bin", "frameaudit"), declared
        fake = self.root / "install root" / declared.relative_to("/")
        _write(fake, FRAMEAUDIT_WRAPPER.format(real=str(FRAMEAUDIT)), executable=True)
        return {**env, "FRAMEAUDIT": str(fake)}

    def check_install(self, script: str, env: dict) -> None:
        """The install step, not run: valid shell, installs where FRAMEAUDIT
        points, sets only options the project has, installs what the build needs."""
        syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert syntax.returncode == 0, f"the install step is not valid shell:\n{syntax.stderr}\n{script}"
        joined = script.replace("\\\n", " ")
        prefixes = re.findall(r"cmake --install\s.*?--prefix[ =](\S+)", joined)
        assert len(prefixes) == 1, f"expected one `cmake --install ... --prefix P`:\n{script}"
        self.prefix = prefixes[0].strip("'\"")
        assert self.declared_frameaudit == f"{self.prefix}/bin/frameaudit", \
            f"FRAMEAUDIT={self.declared_frameaudit} is not what the install step installs ({self.prefix})"
        options = set(re.findall(r"^\s*option\((\w+)", (REPO / "CMakeLists.txt").read_text(), re.M))
        options |= set(re.findall(r"^\s*set\((\w+) .*CACHE", (REPO / "CMakeLists.txt").read_text(), re.M))
        for name in re.findall(r"-D(\w+)=", joined):
            assert name in options or name.startswith("CMAKE_"), f"the install step sets -D{name}, " \
                f"which CMakeLists.txt does not define"
        packages = set()
        for line in joined.splitlines():
            for m in re.finditer(r"apt-get install ([^;&|#]*)", line):
                packages |= {w for w in shlex.split(m.group(1)) if not w.startswith("-")}
        if "scripts/setup.sh" in joined:
            packages |= setup_packages()
        missing = [p for p in BUILD_PACKAGES if p not in packages]
        assert not missing, f"the install step does not install {', '.join(missing)}, which the build needs"
        if re.search(r"-G\s*Ninja", joined):
            assert "ninja-build" in packages, "the install step builds with Ninja but does not install it"

    # -- what happened

    def core_pattern(self) -> str:
        return self.pattern_file.read_text().rstrip("\n")

    def dumps(self) -> list:
        f = self.state / "dumps.jsonl"
        return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []

    def runs(self, command=None) -> list:
        f = self.state / "frameaudit.jsonl"
        runs = [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []
        return [r for r in runs if command is None or (r["argv"] and r["argv"][0] == command)]

    def sudo_log(self) -> str:
        f = self.state / "sudo.log"
        return f.read_text() if f.exists() else ""


def _write(path: Path, text: str, executable=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(0o755)


def setup_packages() -> set:
    """The Debian packages scripts/setup.sh installs."""
    out = subprocess.run(["bash", "-c", 'eval "$(sed -n "/^PACKAGES=(/,/^)/p" "$1")"; '
                          'printf "%s\\n" "${PACKAGES[@]}"', "_", str(REPO / "scripts" / "setup.sh")],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def write_project(root: Path):
    for rel, text, exe in (("src/crash_a.c", CRASH_A_C, False), ("src/core.c", CORE_C, False),
                           ("src/crash_b.c", CRASH_B_C, False), ("build.sh", BUILD_SH, True),
                           ("run-tests.sh", RUN_TESTS_SH, True)):
        _write(root / rel, text, executable=exe)


def option_value(argv: list, *names):
    for i, a in enumerate(argv):
        for n in names:
            if a == n and i + 1 < len(argv):
                return argv[i + 1]
            if n.startswith("--") and a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


# ---------------------------------------------------------------------------
# Checks shared by the jobs

def check_dumps(machine: Machine) -> tuple:
    """Three crashes, three cores under distinct names with spaces: two whole
    (one per program), one cut short. Returns (good, bad) dump records."""
    dumps = machine.dumps()
    assert len(dumps) == 3, f"expected 3 crashes, got {dumps}"
    missing = [d for d in dumps if not d["path"]]
    assert not missing, f"the kernel wrote no core for {missing} (core pattern {machine.core_pattern()!r})"
    paths = [d["path"] for d in dumps]
    assert len(set(paths)) == 3, \
        f"two crashes got the same core file (pattern {machine.core_pattern()!r}): {paths}"
    assert {d["comm"] for d in dumps} == {"unit test crash"}, dumps  # %e alone would not tell them apart
    assert all(" " in p for p in paths), paths
    good = [d for d in dumps if "truncated_from" not in d]
    bad = [d for d in dumps if "truncated_from" in d]
    assert len(good) == 2 and len(bad) == 1, dumps
    assert {Path(d["program"]).name for d in good} == {TEST_A, TEST_B}, good
    return good, bad


def check_sarif(path: Path, good: list, bad: list, cores: dict, scratch: Path) -> dict:
    """The SARIF log: one run per core, in the cores' order; the good cores'
    runs name their core, the second program's run has its error, the bad
    core's run has an error notification naming it. `cores` maps a dump's
    sha256 to the core path the analysis was given."""
    doc = json.loads(path.read_text())
    runs = doc["runs"]
    assert len(runs) == 3, f"{path}: {len(runs)} runs for 3 cores"
    by_core = {}
    for d in good:
        uri = Path(cores[d["sha256"]]).resolve().as_uri()
        mine = [r for r in runs if any(a.get("location", {}).get("uri") == uri
                                       and "memoryContents" in a.get("roles", ()) for a in r.get("artifacts", ()))]
        assert len(mine) == 1, f"{path}: no run (or several) for {uri}"
        by_core[Path(d["program"]).name] = mine[0]
        assert not any(not i.get("executionSuccessful", True) for i in mine[0].get("invocations", ())), mine[0]
    assert by_core[TEST_A].get("results", []) == [], by_core[TEST_A]["results"]
    assert [r["ruleId"] for r in by_core[TEST_B]["results"]] == ["region-overflow"], by_core[TEST_B]["results"]
    name = Path(cores[bad[0]["sha256"]]).name
    notes = [n for r in runs for i in r.get("invocations", ()) if not i.get("executionSuccessful", True)
             for n in i.get("toolExecutionNotifications", ())]
    assert len(notes) == 1 and notes[0]["level"] == "error" and name in notes[0]["message"]["text"], notes
    # GitHub's ingestion rules too (the validator takes no spaces in its path)
    plain = scratch / f"validate-{len(list(scratch.glob('validate-*')))}.sarif"
    shutil.copy(path, plain)
    validate_sarif(plain)
    return by_core


def check_analysis(machine: Machine, stdout: str, stderr: str, good: list, bad: list) -> tuple:
    """One `analyze` run, over the three cores, writing SARIF to a file and the
    text report to the log; status 2 (a bad core). Returns (SARIF path, core paths by sha256)."""
    runs = machine.runs("analyze")
    assert len(runs) == 1, f"expected one `frameaudit analyze` run, got {len(runs)}: {runs}"
    run = runs[0]
    argv, cwd = run["argv"], Path(run["cwd"])
    sarif = option_value(argv, "--output-sarif") or (
        option_value(argv, "-o", "--output") if option_value(argv, "--format") == "sarif" else None)
    assert sarif, f"the analysis writes no SARIF file: {argv}"
    text_to_log = option_value(argv, "--output-text") == "-" or (
        option_value(argv, "--format") in ("text", None) and not option_value(argv, "-o", "--output"))
    assert text_to_log, f"the analysis does not print the text report in the log: {argv}"
    sarif = cwd / sarif
    given = [cwd / a for a in argv if not a.startswith("-") and (cwd / a).is_file() and (cwd / a) != sarif]
    by_sha = {ci_jobs.sha256(p): p for p in given}
    for d in good + bad:
        assert d["sha256"] in by_sha, f"the analysis was not given the core {d['path']}: {argv}"
    assert len(given) == 3, f"the analysis was given {len(given)} files, not the 3 cores: {given}"
    assert run["status"] == 2, f"frameaudit analyze exited {run['status']}, not 2 (a bad core)"
    for d in good:
        assert str(by_sha[d["sha256"]]) in stdout or by_sha[d["sha256"]].name in stdout, \
            f"the text report does not show {by_sha[d['sha256']]}"
    assert "region-overflow" in stdout, "the text report lacks the second program's error"
    bad_core = by_sha[bad[0]["sha256"]]
    lines = [line for line in stderr.splitlines() if line.startswith("frameaudit: ")]
    assert len(lines) == 1 and bad_core.name in lines[0] and "truncated" in lines[0], stderr
    return sarif, by_sha


@pytest.fixture(scope="module")
def guide():
    require_tool("gcc", "the CI-guide test's project")
    require_tool("gdb", "the CI-guide test (gcore plays the kernel)")
    if ci_jobs.yaml is None:
        pytest.fail("PyYAML, which the CI-guide test reads the guide's jobs with, is not installed: "
                    "install the Debian package python3-yaml (scripts/setup.sh does)", pytrace=False)
    return ci_jobs.guide_jobs(GUIDE.read_text())


@pytest.fixture
def host_pattern():
    """The machine's own core pattern is never changed."""
    before = Path(ci_jobs.PROC_CORE_PATTERN).read_text()
    yield
    assert Path(ci_jobs.PROC_CORE_PATTERN).read_text() == before, "the host's core pattern changed"


# ---------------------------------------------------------------------------

def test_github_job(guide, tmp_path, host_pattern):
    workflow, _ = guide
    machine = Machine(tmp_path, UBUNTU_PATTERN)
    workspace = tmp_path / "home" / "work space" / "project"
    runner_temp = tmp_path / "home" / "runner temp"
    write_project(workspace)
    run = ci_jobs.run_github_job(workflow, workspace, runner_temp, machine.base_env, machine.transform,
                                 machine.env_override, machine.check_install)
    log = run.log()
    assert machine.placeholders == {p: 1 for p in PLACEHOLDERS}, \
        f"expected each placeholder line once: {machine.placeholders}"
    assert machine.prefix is not None, f"no install step (a run: with `cmake --install`) was found\n{log}"
    steps = [s for s in run.steps if s.ran and s.script]
    broken = [s for s in steps if s.outcome == "failure" and s is not run.steps[-1]]
    assert not broken, f"steps failed: {[s.name for s in broken]}\n{log}"
    assert run.steps[-1].ran, log

    pattern = machine.core_pattern()
    assert pattern != UBUNTU_PATTERN, f"the job did not set the core pattern\n{machine.sudo_log()}\n{log}"
    good, bad = check_dumps(machine)
    assert all(d["pattern"] == pattern for d in good + bad)

    analysis = [s for s in steps if '" analyze ' in s.script or "frameaudit analyze" in s.script]
    assert len(analysis) == 1, f"steps that analyse: {[s.name for s in analysis]}"
    step = analysis[0]
    sarif, by_sha = check_analysis(machine, step.stdout, step.stderr, good, bad)
    check_sarif(sarif, good, bad, by_sha, machine.state)
    # The step records the status for the last step, which fails the job saying why.
    assert "2" in step.outputs.values(), f"the analysis step records no status 2: {step.outputs}"
    last = run.steps[-1]
    assert run.failed and last.outcome == "failure", log
    assert re.search(r"^::error::.*could not analyse a core", last.stdout, re.M), log
    assert not re.search(r"^::error::.*found errors", last.stdout, re.M), log

    assert sarif in run.sarif_uploads, f"{sarif} is not uploaded to code scanning: {run.sarif_uploads}"
    kept = {f for files in run.artifacts.values() for f in files}
    assert sarif in kept, f"the SARIF log is not kept as an artifact: {sorted(kept)}"
    for d in good + bad:
        assert Path(d["path"]) in kept, f"the core {d['path']} is not kept as an artifact: {sorted(kept)}"
        assert ci_jobs.sha256(Path(d["path"])) == d["sha256"], f"{d['path']} was overwritten"
    assert all(os.path.isabs(str(f)) for f in kept)


def gitlab_run(guide, tmp_path, pattern):
    _, (name, job) = guide
    machine = Machine(tmp_path, pattern)
    builds = tmp_path / "builds dir"
    project = builds / "group" / "project"
    write_project(project)
    run = ci_jobs.run_gitlab_job(job, project, builds, machine.base_env, machine.transform,
                                 machine.env_override, machine.check_install, job_name=name)
    assert machine.placeholders == {p: 1 for p in PLACEHOLDERS}, machine.placeholders
    assert machine.prefix is not None, "no install (before_script with `cmake --install`) was found"
    assert f"core pattern: {pattern}" in run.stdout, run.log()
    assert machine.sudo_log() == "", "the GitLab job uses sudo"
    assert machine.core_pattern() == pattern
    return machine, project, run


def test_gitlab_job_cores_in_working_directory(guide, tmp_path, host_pattern):
    """A Docker executor whose host writes plain `core.%p` files: the cores
    are in the tests' directory."""
    machine, project, run = gitlab_run(guide, tmp_path, "core.%p")
    log = run.log()
    good, bad = check_dumps(machine)
    assert all(Path(d["path"]).parent == project / WORKDIR for d in good + bad), good + bad
    sarif, by_sha = check_analysis(machine, run.stdout, run.stderr, good, bad)
    assert "src/core.c" not in " ".join(machine.runs("analyze")[0]["argv"])
    check_sarif(sarif, good, bad, by_sha, machine.state)
    assert run.returncode != 0, f"the job passed with failed tests and a bad core\n{log}"
    assert "could not analyse a core" in run.stdout and "found errors" not in run.stdout, log
    kept = {ci_jobs.sha256(f): f for f in run.artifacts}
    assert sarif in run.artifacts, f"the SARIF log is not kept: {run.artifacts}\n{log}"
    for d in good + bad:
        assert d["sha256"] in kept, f"the core {d['path']} is not kept as an artifact: {run.artifacts}\n{log}"


def test_gitlab_job_cores_piped_to_host(guide, tmp_path, host_pattern):
    """A Docker executor whose host pipes cores to systemd-coredump: no core
    in the job; it reruns each test binary under `frameaudit run`."""
    machine, project, run = gitlab_run(guide, tmp_path, SYSTEMD_PATTERN)
    log = run.log()
    dumps = machine.dumps()
    assert len(dumps) == 3 and not any(d["path"] for d in dumps), dumps
    assert machine.runs("analyze") == [], log
    runs = machine.runs("run")
    programs = {Path(option_value(r["argv"], "--") or r["argv"][-1]).name: r for r in runs}
    assert sorted(programs) == [TEST_A, TEST_B], f"frameaudit run ran {runs}\n{log}"
    assert programs[TEST_A]["status"] == 128 + 11, programs[TEST_A]  # a SIGSEGV, nothing found
    found = int(option_value(programs[TEST_B]["argv"], "--error-exitcode") or 1)
    assert programs[TEST_B]["status"] == found, programs[TEST_B]      # the region overflow
    for prog, r in programs.items():
        out = Path(r["cwd"]) / option_value(r["argv"], "-o", "--output")
        assert out in run.artifacts, f"{out} is not kept as an artifact: {run.artifacts}\n{log}"
        rules = [x["ruleId"] for x in json.loads(out.read_text())["runs"][0].get("results", [])]
        assert rules == ([] if prog == TEST_A else ["region-overflow"]), (prog, rules)
    assert run.returncode != 0, log
    assert "found errors" in run.stdout and "could not analyse" not in run.stdout, log

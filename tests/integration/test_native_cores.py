"""The native plugin on cores: a kernel core, a gdb `gcore` core and LLDB
minidumps (full, and stack-only so code must come from the module files),
each against the fixture's ground truth; and the cores it must refuse
clearly: another architecture, a truncated core, a core with no threads."""

import json

import pytest

from fixture_cores import CoreUnavailable, get_core
from lldb_harness import IN_CI, require_tool

from native_helpers import (Session, check_truth, core_or_skip, find_fixture, minidump_isolated,
                            truth_problems)

NESTED = find_fixture("nested", "gcc", "O0", "fp", "audit")
NESTED_PLAIN = find_fixture("nested", "gcc", "O2", "nofp", "plain")

pytestmark = pytest.mark.usefixtures("native_plugin_built")

EM_AARCH64 = 183


def _minidump(exe, tmp, style):
    truth_file = tmp / "truth.json"
    core = minidump_isolated(exe, "break", truth_file, tmp / f"{exe.name}.{style}.dmp", style)
    return core, json.loads(truth_file.read_text())


@pytest.fixture(scope="module")
def cores(tmp_path_factory):
    """kind -> (executable, core, ground truth); kinds the system cannot make
    are missing."""
    made = {}
    for exe in filter(None, (NESTED, NESTED_PLAIN)):
        for fmt, stop in (("kernel", "segv"), ("gcore", "break")):
            try:
                core = get_core(exe, fmt, stop)
                made[f"{fmt}-{exe.name}"] = (exe, core.path, core.truth)
            except CoreUnavailable as e:
                made[f"{fmt}-{exe.name}"] = str(e)  # why, for the test to report
        for style in ("full", "stack"):
            tmp = tmp_path_factory.mktemp(f"{exe.name}-{style}")
            core, truth = _minidump(exe, tmp, style)
            made[f"minidump-{style}-{exe.name}"] = (exe, core, truth)
    return made


KINDS = [f"{kind}-{exe.name}" for exe in filter(None, (NESTED, NESTED_PLAIN))
         for kind in ("kernel", "gcore", "minidump-full", "minidump-stack")]


@pytest.fixture
def session():
    s = Session()
    s.load_native()
    yield s
    s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_core_matches_ground_truth(session, cores, kind):
    if isinstance(cores[kind], str):
        if IN_CI and kind.startswith("kernel-"):
            pytest.fail(f"CI=true: {cores[kind]}")
        pytest.skip(cores[kind])
    exe, core, truth = cores[kind]
    session.load_core(exe, core)
    doc = json.loads(session.ok("fa audit -a -j"))
    assert doc["target"]["executable"] == str(exe)
    assert doc["target"]["core"] == str(core)
    assert doc["target"]["arch"] == "x86_64"
    check_truth(truth_problems(doc, truth))
    for command in ("fa chain -a", "fa audit", "fa regions -a", "fa map", "fa map --ascii",
                    "fa lint", "fa lint --format json"):
        assert session.ok(command), command


@pytest.fixture(scope="module")
def kernel_core_file():
    return core_or_skip(NESTED, "kernel", "segv").path


def test_core_of_another_architecture(session, kernel_core_file, tmp_path):
    """A kernel core relabelled as AArch64 (e_machine): LLDB loads it as an
    AArch64 process; every analysis subcommand refuses it in one sentence."""
    data = bytearray(kernel_core_file.read_bytes())
    data[18:20] = EM_AARCH64.to_bytes(2, "little")
    core = tmp_path / "aarch64.core"
    core.write_bytes(bytes(data))
    session.load_core(None, core)
    for sub in ("chain", "audit", "regions", "map"):
        assert session.fails(f"fa {sub}") == \
            "error: frameaudit supports x86_64 targets only; this target is aarch64.\n"


def test_core_of_a_real_aarch64_program(session, tmp_path):
    gcc = require_tool("aarch64-linux-gnu-gcc", "an AArch64 core")
    qemu = require_tool("qemu-aarch64", "an AArch64 core")
    import resource
    import subprocess
    src = tmp_path / "crash.c"
    src.write_text("int main(void) { volatile int *p = 0; *p = 1; return 0; }\n")
    exe = tmp_path / "crash"
    subprocess.run([gcc, "-static", "-g", "-o", str(exe), str(src)], check=True)

    def allow_cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    # qemu writes the guest's core, then dies of the same signal and the
    # kernel may write qemu's own: only the guest's is wanted.
    subprocess.run([qemu, str(exe)], cwd=tmp_path, preexec_fn=allow_cores,
                   capture_output=True, timeout=120)
    guest = sorted(tmp_path.glob("qemu_crash_*.core"))
    for host_core in tmp_path.glob("core*"):
        host_core.unlink()
    assert guest, "qemu-aarch64 wrote no core of the crashing AArch64 program"
    session.load_core(exe, guest[0])
    assert session.fails("fa audit") == \
        "error: frameaudit supports x86_64 targets only; this target is aarch64.\n"


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_truncated_core(session, kernel_core_file, tmp_path, fraction):
    """Memory the core promises but does not hold is unreadable: the walk
    says so where it stops; nothing crashes."""
    data = kernel_core_file.read_bytes()
    core = tmp_path / "truncated.core"
    core.write_bytes(data[: int(len(data) * fraction)])
    session.load_core(NESTED, core)
    succeeded, out, err = session.cmd("fa audit -a -j")
    if succeeded:
        doc = json.loads(out)
        for thread in doc["threads"]:
            assert thread["chain_end"] in ("unreadable", "out_of_stack", "bad_return_address",
                                           "outermost", "null_rbp", "misaligned"), thread
    else:
        assert err.startswith("error: ") and err.endswith(".\n"), err
    for sub in ("chain -a", "regions -a", "map -a", "lint"):
        succeeded, out, err = session.cmd(f"fa {sub}")
        assert succeeded or (err.startswith("error: ") and err.endswith(".\n")), (sub, err)


def test_core_with_no_threads(session, kernel_core_file, tmp_path):
    core = tmp_path / "header-only.core"
    core.write_bytes(kernel_core_file.read_bytes()[:100])
    session.load_core(NESTED, core)
    assert session.fails("fa audit") == "error: the process has no threads to inspect.\n"
    assert session.fails("fa map -a") == "error: the process has no threads to inspect.\n"

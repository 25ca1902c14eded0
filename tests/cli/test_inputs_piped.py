"""`analyze` of compressed cores and of cores that come through a pipe:
zstd, xz, gzip and lz4, told by their magic bytes (not their names);
`-` (stdin), as `coredumpctl dump -o - PID | frameaudit analyze -` pipes it;
a FIFO (`<(zstd -dc core.zst)`); the spool limit and a full disk; and
nothing left in $TMPDIR, not even after SIGTERM or SIGKILL in mid-spool.
Real cores of a real crash, analysed by real LLDB.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import FRAMEAUDIT, one_line, run_cli
from crasher import gone_pid, make_crasher, parent_of

pytestmark = pytest.mark.usefixtures("core_module_built")

COMPRESSORS = {"zstd": ["zstd", "-q", "-c"], "xz": ["xz", "-c", "-T1"], "gzip": ["gzip", "-c"],
               "lz4": ["lz4", "-q", "-c"]}


@pytest.fixture(scope="module")
def crasher(tmp_path_factory):
    return make_crasher(tmp_path_factory.mktemp("piped"))


@pytest.fixture(scope="module")
def references(crasher):
    """The JSON document of each plain core."""
    docs = {}
    for fmt in ("gcore", "minidump"):
        result = run_cli("analyze", "--format", "json", getattr(crasher, fmt))
        assert result.returncode == 0, result.stderr
        docs[fmt] = json.loads(result.stdout)
    return docs


@pytest.fixture
def private_tmp(tmp_path):
    """A TMPDIR of the test's own, to see that frameaudit leaves nothing in it."""
    d = tmp_path / "tmpdir"
    d.mkdir()
    return d


def compress(tool: str, src: Path, dest: Path) -> Path:
    if shutil.which(COMPRESSORS[tool][0]) is None:
        pytest.fail(f"{COMPRESSORS[tool][0]} is not installed (scripts/setup.sh installs it)")
    with open(dest, "wb") as out:
        subprocess.run(COMPRESSORS[tool] + [str(src)], stdout=out, check=True)
    return dest


def same_analysis(doc: dict, reference: dict, core_name: str) -> None:
    assert doc["target"]["core"] == core_name
    doc = dict(doc, target=dict(doc["target"], core=reference["target"]["core"]))
    assert doc == reference


@pytest.mark.parametrize("fmt", ["gcore", "minidump"])
@pytest.mark.parametrize("tool", list(COMPRESSORS))
def test_compressed_core(frameaudit, crasher, references, tmp_path, private_tmp, tool, fmt):
    # No suffix: the format is told by the magic bytes.
    packed = compress(tool, getattr(crasher, fmt), tmp_path / "crash.bin")
    result = run_cli("analyze", "--format", "json", packed, env={"TMPDIR": str(private_tmp)})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    same_analysis(json.loads(result.stdout), references[fmt], str(packed))
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("tool", [None, "zstd"])
def test_core_on_stdin(frameaudit, crasher, references, tmp_path, private_tmp, tool):
    """`cat core | frameaudit analyze -`, the way `coredumpctl dump -o - PID` pipes one."""
    core = crasher.gcore if tool is None else compress(tool, crasher.gcore, tmp_path / "core.zst")
    pipeline = f"cat {core} | {FRAMEAUDIT} analyze --format json -"
    result = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    same_analysis(json.loads(result.stdout), references["gcore"], "-")
    assert list(private_tmp.iterdir()) == []


def test_fifo_of_a_decompressor(frameaudit, crasher, references, tmp_path, private_tmp):
    """bash's <(...) hands over /dev/fd/63, a pipe: read whole, then analysed."""
    packed = compress("zstd", crasher.minidump, tmp_path / "core.zst")
    result = subprocess.run(["bash", "-c", f"{FRAMEAUDIT} analyze --format json <(zstd -dc {packed})"],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    doc = json.loads(result.stdout)
    assert doc["threads"] == references["minidump"]["threads"]
    assert list(private_tmp.iterdir()) == []


def test_stdin_only_once(frameaudit):
    result = run_cli("analyze", "-", "-")
    assert result.returncode == 2
    assert "'-' (a core on stdin) can be given only once" in one_line(result.stderr)


def test_empty_stdin(frameaudit):
    result = run_cli("analyze", "-")  # run_cli's stdin is /dev/null
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr) == "frameaudit: -: empty input: nothing came from stdin, not a core"


def test_corrupt_compressed_data(frameaudit, crasher, tmp_path, private_tmp):
    packed = compress("zstd", crasher.gcore, tmp_path / "core.zst")
    data = bytearray(packed.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    packed.write_bytes(bytes(data))
    result = run_cli("analyze", packed, env={"TMPDIR": str(private_tmp)})
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith(f"frameaudit: {packed}: cannot decompress it (zstd): "), line
    assert list(private_tmp.iterdir()) == []


def test_spool_limit(frameaudit, crasher, tmp_path, private_tmp):
    packed = compress("xz", crasher.gcore, tmp_path / "core.xz")
    result = run_cli("analyze", packed, env={"TMPDIR": str(private_tmp),
                                             "FRAMEAUDIT_SPOOL_LIMIT": "64K"})
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr) == (
        f"frameaudit: {packed}: decompressed, it is larger than the spool limit of 64 KiB "
        "(FRAMEAUDIT_SPOOL_LIMIT); raise it, or decompress it to a file first")
    assert list(private_tmp.iterdir()) == []


def test_disk_full(frameaudit, crasher, tmp_path):
    """A 256 KiB tmpfs as TMPDIR, in a private mount namespace of the test
    (the machine's mounts are untouched): the core does not fit."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"],
            capture_output=True).returncode != 0:
        pytest.skip("cannot make a private mount namespace here (unshare --mount)")
    packed = compress("gzip", crasher.gcore, tmp_path / "core.gz")
    small = tmp_path / "small"
    small.mkdir()
    script = (f"mount -t tmpfs -o size=256k frameaudit-test {small} && "
              f"TMPDIR={small} {FRAMEAUDIT} analyze {packed}; status=$?; "
              f"ls -A {small}; exit $status")
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=300)
    if "mount:" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # nothing left on the small file system either
    line = one_line(result.stderr)
    assert line.startswith(f"frameaudit: {packed}: no space left in {small} to decompress it ("), line
    assert line.endswith("written); set TMPDIR to a file system with room, or free some"), line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_signal_in_mid_spool(frameaudit, crasher, tmp_path, private_tmp, sig):
    """Half a compressed core on stdin, then a signal: frameaudit ends, and
    nothing is left in TMPDIR (the spool file never had a name to leave)."""
    packed = compress("zstd", crasher.gcore, tmp_path / "core.zst").read_bytes()
    proc = subprocess.Popen([str(FRAMEAUDIT), "analyze", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, TMPDIR=str(private_tmp)))
    proc.stdin.write(packed[:len(packed) // 2])
    proc.stdin.flush()
    time.sleep(1.0)
    children = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(int(p)) == proc.pid]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 2
        assert err.decode().splitlines() == ["frameaudit: interrupted by SIGTERM"]
    else:
        assert proc.returncode == -signal.SIGKILL
    assert out == b""
    assert list(private_tmp.iterdir()) == []
    for child in children:  # the zstd decompressor
        assert gone_pid(int(child)), f"process {child} outlived frameaudit"

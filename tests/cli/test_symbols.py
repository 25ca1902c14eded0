"""--sysroot, --solib-search-path, --debug-dir, --debuginfod, --lldbinit on
real cores whose library and debug files were moved away after the crash.

The program: `app` (stripped, debug info in app.debug via .gnu_debuglink)
calls lib_entry in `libfasym.so` (stripped the same way), whose static
functions lib_middle and lib_leaf abort. Analysed in place, the crashing
thread's frames run abort <- lib_leaf <- lib_middle <- lib_entry <- app_call
<- main, with file:line for each. With the library moved LLDB cannot read
its code (a core holds no read-only file pages) and the walk breaks; with
the debug files moved the app's static app_call has no name. Each option
must bring the in-place frames and findings back exactly.
"""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import IN_CI, one_line, run_cli
import cores

LIB_C = r"""
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) static int lib_leaf(volatile char *buf, int n) {
  memset((char *)buf, 'x', (size_t)n);
  if (buf[0] == 'x')
    abort();
  return buf[1];
}
__attribute__((noinline)) static int lib_middle(int n) {
  char buf[64];
  return lib_leaf(buf, n) + 1;
}
__attribute__((noinline)) int lib_entry(int n) { return lib_middle(n) + 2; }
"""

MAIN_C = r"""
int lib_entry(int n);
__attribute__((noinline)) static int app_call(int n) { return lib_entry(n) + 3; }
int main(int argc, char **argv) { (void)argv; return app_call(argc + 10); }
"""

# The walk goes on past main to the app's own _start, as LLDB and gdb do.
EXPECTED_OWN_FRAMES = ["lib_leaf", "lib_middle", "lib_entry", "app_call", "main", "_start"]


def _sh(*cmd, cwd=None):
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True, capture_output=True)


def build_id(path: Path) -> str:
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    raise AssertionError(f"{path} has no build id")


class Crash:
    """Where everything is after the move."""

    def __init__(self, root: Path):
        self.root = root
        self.built = root / "built"          # the program as it ran (app stays here)
        self.app = self.built / "app"
        self.core = root / "core files" / "app.core"  # a space in the path, on purpose
        self.moved_lib = root / "moved" / "lib"
        self.moved_debug = root / "moved" / "debug"
        self.sysroot = root / "sysroot"
        self.build_ids = root / "build-ids"
        self.served = root / "served"


def _make_crash(root: Path) -> Crash:
    c = Crash(root)
    c.built.mkdir(parents=True)
    (c.built / "lib.c").write_text(LIB_C)
    (c.built / "main.c").write_text(MAIN_C)
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    flags = ["-g", "-O1", "-fno-omit-frame-pointer", "-Wl,--build-id"]
    _sh(cc, *flags, "-fPIC", "-shared", "-o", "libfasym.so", "lib.c", cwd=c.built)
    _sh(cc, *flags, "-o", "app", "main.c", "-L.", "-lfasym", "-Wl,-rpath,$ORIGIN", cwd=c.built)
    for name in ("libfasym.so", "app"):
        _sh("objcopy", "--only-keep-debug", name, f"{name}.debug", cwd=c.built)
        _sh("strip", "--strip-debug", "--strip-unneeded", name, cwd=c.built)
        _sh("objcopy", f"--add-gnu-debuglink={name}.debug", name, cwd=c.built)

    # Crash it: a kernel core where the pattern allows (plain file in cwd),
    # else gdb's gcore; either is a real core of the crash.
    work = root / "crash"
    work.mkdir()
    core = cores.make_kernel_core(c.app, work, "abort")
    if isinstance(core, str):
        core = cores.make_gcore(c.app, work, "abort")
    if isinstance(core, str):
        pytest.fail(core) if IN_CI else pytest.skip(core)
    c.core.parent.mkdir()
    shutil.move(str(core.path), c.core)
    return c


@pytest.fixture(scope="module")
def crash(tmp_path_factory, frameaudit, core_module_built):
    c = _make_crash(tmp_path_factory.mktemp("symbols"))
    c.in_place = analyze(c.core)
    assert own_frames(c.in_place) == EXPECTED_OWN_FRAMES, c.in_place["threads"]
    # Move the library and both debug files away, as a CI artifact would be.
    c.moved_lib.mkdir(parents=True)
    c.moved_debug.mkdir(parents=True)
    shutil.move(str(c.built / "libfasym.so"), c.moved_lib / "libfasym.so")
    for name in ("app.debug", "libfasym.so.debug"):
        shutil.move(str(c.built / name), c.moved_debug / name)
    # The same files in the other layouts the options take.
    (c.sysroot / str(c.built).lstrip("/")).mkdir(parents=True)
    shutil.copy(c.moved_lib / "libfasym.so", c.sysroot / str(c.built).lstrip("/"))
    for name in ("app.debug", "libfasym.so.debug"):
        bid = build_id(c.moved_debug / name)
        d = c.build_ids / ".build-id" / bid[:2]
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(c.moved_debug / name, d / f"{bid[2:]}.debug")
    c.served.mkdir()
    for f in list(c.moved_debug.iterdir()) + list(c.moved_lib.iterdir()):
        shutil.copy(f, c.served / f.name)
    return c


def analyze(core: Path, *options, env=None) -> dict:
    result = run_cli("analyze", "--format", "json", *options, core, env=env)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def crashing(doc: dict) -> dict:
    return doc["threads"][0]


def own_frames(doc: dict) -> list:
    return [f["function"] for f in crashing(doc)["frames"]
            if f["module"] in ("app", "libfasym.so")]


def frames_and_findings(doc: dict):
    """What must come back: each frame's function, file, line, kind; the findings."""
    frames = [(f["function"], f["file"], f["line"], f["kind"]) for f in crashing(doc)["frames"]]
    findings = [(f["kind"], f["severity"], f["function"], f["file"], f["line"])
                for f in doc["findings"]]
    return frames, findings, crashing(doc)["chain_end"]


def test_moved_files_lose_frames(crash):
    moved = analyze(crash.core)
    assert frames_and_findings(moved) != frames_and_findings(crash.in_place)
    assert "lib_leaf" not in own_frames(moved)
    assert {f["kind"] for f in moved["findings"]} & {"broken-chain", "unwinder-mismatch"}


def test_solib_search_path_and_debug_dir(crash):
    doc = analyze(crash.core, "--solib-search-path", crash.moved_lib,
                  "--debug-dir", crash.moved_debug)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)


def test_repeated_options_are_searched_in_order(crash):
    empty = crash.root / "empty"
    empty.mkdir(exist_ok=True)
    doc = analyze(crash.core, "--solib-search-path", empty, "--solib-search-path", crash.moved_lib,
                  "--debug-dir", empty, "--debug-dir", crash.moved_debug)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)


def test_debug_dir_alone_names_the_apps_functions(crash):
    # The library is still missing (broken walk), but app's own debug info is found.
    result = run_cli("analyze", "--format", "json", "-v", "--debug-dir", crash.moved_debug,
                     crash.core)
    assert f"debug info from {crash.moved_debug / 'app.debug'}" in result.stderr


def test_build_id_layout(crash):
    doc = analyze(crash.core, "--solib-search-path", crash.moved_lib, "--debug-dir",
                  crash.build_ids)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)


def test_sysroot(crash):
    doc = analyze(crash.core, "--sysroot", crash.sysroot, "--debug-dir", crash.moved_debug)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)
    # The library came from under the sysroot, libc (not in it) from the host.
    result = run_cli("analyze", "--format", "json", "-v", "--sysroot", crash.sysroot,
                     "--debug-dir", crash.moved_debug, crash.core)
    assert f"module {crash.sysroot}{crash.built}/libfasym.so:" in result.stderr
    assert "target modules search-paths add /" in result.stderr


def test_lldbinit(crash, tmp_path):
    init = tmp_path / "frameaudit.lldbinit"
    init.write_text(f'settings append target.exec-search-paths "{crash.moved_lib}"\n'
                    f'settings append target.debug-file-search-paths "{crash.moved_debug}"\n')
    doc = analyze(crash.core, "--lldbinit", init)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)
    # A failing command is an input error naming the file.
    bad = tmp_path / "bad.lldbinit"
    bad.write_text("settings set no.such.setting 1\n")
    result = run_cli("analyze", "--lldbinit", bad, crash.core)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(bad) in line and "--lldbinit" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def debuginfod_server(crash, tmp_path_factory):
    exe = shutil.which("debuginfod")
    if exe is None:
        message = "debuginfod is not installed (scripts/setup.sh installs it)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    port = _free_port()
    db = tmp_path_factory.mktemp("debuginfod") / "index.sqlite"
    proc = subprocess.Popen([exe, "-F", str(crash.served), "-p", str(port), "-d", str(db),
                             "-t", "1", "-g", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    bid = build_id(crash.served / "libfasym.so.debug")
    try:
        # Wait until it has scanned the directory and serves the library's debug info.
        deadline = time.monotonic() + 60
        import urllib.request
        while True:
            try:
                with urllib.request.urlopen(f"{url}/buildid/{bid}/debuginfo", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the local debuginfod server did not come up")
            time.sleep(0.3)
        yield url
    finally:
        cores.terminate(proc)


def test_debuginfod(crash, debuginfod_server, tmp_path):
    # A cache of its own: nothing from an earlier run may answer for the server.
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "DEBUGINFOD_URLS": ""}
    doc = analyze(crash.core, "--debuginfod", debuginfod_server, env=env)
    # LLDB fetched both the library and the debug files from the server.
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)


def test_debuginfod_urls_environment(crash, debuginfod_server, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "DEBUGINFOD_URLS": debuginfod_server}
    doc = analyze(crash.core, env=env)
    assert frames_and_findings(doc) == frames_and_findings(crash.in_place)
    # Without a server (and a fresh cache) the frames stay lost.
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache2"), "DEBUGINFOD_URLS": ""}
    assert frames_and_findings(analyze(crash.core, env=env)) != frames_and_findings(crash.in_place)


def test_run_takes_the_same_options(crash, tmp_path):
    # Live: the library must load, so it comes back; the debug files stay moved.
    shutil.copy(crash.moved_lib / "libfasym.so", crash.built / "libfasym.so")
    try:
        plain = run_cli("run", "--format", "json", "--", crash.app)
        found = run_cli("run", "--format", "json", "--debug-dir", crash.moved_debug, "--",
                        crash.app)
    finally:
        os.unlink(crash.built / "libfasym.so")
    names = lambda r: [f["function"] for f in json.loads(r.stdout)["threads"][0]["frames"]]
    assert "app_call" not in names(plain), plain.stderr
    assert [n for n in names(found) if n in EXPECTED_OWN_FRAMES] == EXPECTED_OWN_FRAMES


@pytest.mark.parametrize("option", ["--sysroot", "--solib-search-path", "--debug-dir"])
def test_bad_directory_is_an_input_error(crash, option):
    result = run_cli("analyze", option, crash.root / "no such dir", crash.core)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert option in line and "no such directory" in line


def test_bad_url_and_missing_lldbinit(crash):
    result = run_cli("analyze", "--debuginfod", "127.0.0.1:1", crash.core)
    assert result.returncode == 2 and "--debuginfod needs a URL" in one_line(result.stderr)
    result = run_cli("analyze", "--lldbinit", crash.root / "none", crash.core)
    assert result.returncode == 2 and "no such file" in one_line(result.stderr)

"""Make core files of fixture programs, in the three formats `analyze` takes.

    kernel    the kernel's own ELF core (only when core_pattern is a plain
              file name such as `core`; the pattern is never changed)
    gcore     gdb's `gcore` at the moment of the signal
    minidump  LLDB's `process save-core --plugin-name=minidump --style=full`

Each fixture writes its ground truth to $SRA_GROUND_TRUTH and stops as
$SRA_STOP says. make_core returns a Core, or a string saying why it could
not (the caller skips or fails).
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from required_tools import missing_tool, require_tool  # noqa: E402

FORMATS = ("kernel", "gcore", "minidump")


@dataclass
class Core:
    path: Path
    binary: Path
    format: str
    truth: dict


def _env(truth: Path, stop: str) -> dict:
    env = dict(os.environ)
    env.update(SRA_GROUND_TRUTH=str(truth), SRA_STOP=stop)
    return env


def _truth(path: Path) -> dict:
    """The fixture's ground truth, {} if it wrote none (a program that is not a fixture)."""
    return json.loads(path.read_text()) if path.exists() else {}


def kernel_core_pattern() -> Optional[str]:
    """The core pattern if the kernel writes plain core files into the cwd."""
    try:
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return None
    if not pattern or pattern.startswith("|") or "/" in pattern:
        return None
    return pattern


def _unlimited_core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def make_kernel_core(binary: Path, workdir: Path, stop: str) -> Union[Core, str]:
    pattern = kernel_core_pattern()
    if pattern is None:
        return "kernel cores: /proc/sys/kernel/core_pattern is not a plain file name here"
    run_dir = workdir / "run"
    run_dir.mkdir(exist_ok=True)
    truth = workdir / "truth.json"
    try:
        subprocess.run([str(binary)], cwd=run_dir, env=_env(truth, stop), preexec_fn=_unlimited_core,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    except (OSError, ValueError) as e:
        return f"kernel cores: cannot raise RLIMIT_CORE or run the fixture: {e}"
    made = [p for p in run_dir.iterdir() if p.is_file()]
    if not made:
        return f"kernel cores: the kernel wrote no core (pattern {pattern!r})"
    path = workdir / "kernel.core"
    made[0].rename(path)
    return Core(path, binary, "kernel", _truth(truth))


def make_gcore(binary: Path, workdir: Path, stop: str) -> Union[Core, str]:
    gdb = shutil.which("gdb")
    if gdb is None:
        return missing_tool("gdb", "a gcore core")
    path = workdir / "gcore.core"
    truth = workdir / "truth.json"
    out = subprocess.run([gdb, "-q", "-batch", "-nx", "-ex", "set pagination off",
                          "-ex", "run", "-ex", f"gcore {path}", "-ex", "kill", str(binary)],
                         env=_env(truth, stop), stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=300)
    if not path.exists() or path.stat().st_size == 0:
        return f"gdb wrote no core:\n{out.stdout}\n{out.stderr}"
    return Core(path, binary, "gcore", _truth(truth))


_MINIDUMP_SCRIPT = r"""
import os, sys
import lldb
debugger = lldb.SBDebugger.Create(False)
debugger.SetAsync(False)
target = debugger.CreateTarget(sys.argv[1])
info = lldb.SBLaunchInfo([])
info.SetEnvironmentEntries([f"{k}={v}" for k, v in os.environ.items()], False)
info.AddOpenFileAction(1, os.devnull, False, True)
error = lldb.SBError()
process = target.Launch(info, error)
if error.Fail():
    sys.exit("launch failed: %s" % error)
if process.GetState() != lldb.eStateStopped:
    sys.exit("the fixture did not stop (state %s)" % process.GetState())
result = lldb.SBCommandReturnObject()
debugger.GetCommandInterpreter().HandleCommand(
    "process save-core --plugin-name=minidump --style=full %s" % sys.argv[2], result)
process.Kill()
if not result.Succeeded():
    sys.exit("save-core failed: %s" % result.GetError())
"""


def lldb_environment() -> Union[dict, str]:
    lldb_exe = shutil.which("lldb-22") or shutil.which("lldb")
    if lldb_exe is None:
        return missing_tool("lldb-22", "an LLDB minidump")
    pydir = subprocess.run([lldb_exe, "-P"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    env["PYTHONPATH"] = pydir
    server = Path(os.path.realpath(lldb_exe)).parent / "lldb-server"
    if server.exists():
        env.setdefault("LLDB_DEBUGSERVER_PATH", str(server))
    return env


def make_minidump(binary: Path, workdir: Path, stop: str) -> Union[Core, str]:
    env = lldb_environment()
    if isinstance(env, str):
        return env
    truth = workdir / "truth.json"
    env.update(SRA_GROUND_TRUTH=str(truth), SRA_STOP=stop)
    path = workdir / "lldb.dmp"
    out = subprocess.run(["/usr/bin/python3", "-c", _MINIDUMP_SCRIPT, str(binary), str(path)],
                         env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0 or not path.exists():
        return f"LLDB wrote no minidump:\n{out.stdout}\n{out.stderr}"
    return Core(path, binary, "minidump", _truth(truth))


def make_core(fmt: str, binary: Path, workdir: Path, stop: str = "abort") -> Union[Core, str]:
    return {"kernel": make_kernel_core, "gcore": make_gcore,
            "minidump": make_minidump}[fmt](binary, workdir, stop)


def make_aarch64_core(workdir: Path) -> Optional[Path]:
    """A real AArch64 core: a static crasher run under qemu-aarch64 (which
    writes qemu_*.core when RLIMIT_CORE allows). Fails the calling test if
    the tools are missing or cannot link; None if qemu wrote no core."""
    cc = require_tool("aarch64-linux-gnu-gcc", "an AArch64 core")
    qemu = require_tool("qemu-aarch64", "an AArch64 core")
    src = workdir / "crash_arm64.c"
    src.write_text("int main(void) { volatile int *p = 0; *p = 1; return 0; }\n")
    exe = workdir / "crash_arm64"
    built = subprocess.run([cc, "-static", "-O0", "-o", str(exe), str(src)],
                           capture_output=True, text=True)
    assert built.returncode == 0, \
        f"aarch64-linux-gnu-gcc -static failed (libc6-dev-arm64-cross installed?):\n{built.stderr}"
    run_dir = workdir / "arm64-run"
    run_dir.mkdir(exist_ok=True)

    def limits():
        _unlimited_core()
        # qemu re-raises the guest's signal on itself: keep the host's core of
        # qemu tiny (no memory) while qemu writes the guest's core.
        with open("/proc/self/coredump_filter", "w") as f:
            f.write("0")

    subprocess.run([qemu, str(exe)], cwd=run_dir, preexec_fn=limits, capture_output=True,
                   timeout=120)
    made = sorted(run_dir.glob("qemu_*.core"))
    for other in run_dir.iterdir():
        if other not in made:
            other.unlink()
    return made[0] if made else None


def craft_elf64_core(path: Path, machine: int) -> Path:
    """A minimal but well-formed ELF64 core (one PT_NOTE with an NT_PRSTATUS)
    for the given e_machine: an architecture test needs no emulator."""
    import struct
    desc = bytes(336)
    note = struct.pack("<III", 5, len(desc), 1) + b"CORE\0\0\0\0" + desc
    phoff, ehsize, phentsize = 64, 64, 56
    note_off = phoff + phentsize
    header = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
              + struct.pack("<HHIQQQIHHHHHH", 4, machine, 1, 0, phoff, 0, 0, ehsize,
                            phentsize, 1, 64, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 4, 0, note_off, 0, 0, len(note), 0, 4)
    path.write_bytes(header + phdr + note)
    return path


def terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


if __name__ == "__main__":  # make one by hand: cores.py FORMAT BINARY WORKDIR [STOP]
    c = make_core(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:5])
    print(c)


_COMMANDS_SCRIPT = r"""
import json, sys
import lldb
exe, core, *commands = sys.argv[1:]
debugger = lldb.SBDebugger.Create(False)
debugger.SetAsync(False)
target = debugger.CreateTarget(exe)
error = lldb.SBError()
process = target.LoadCore(core, error)
if error.Fail():
    sys.exit("cannot load the core: %s" % error)
outputs = []
for command in commands:
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(command, result)
    outputs.append({"ok": result.Succeeded(), "output": result.GetOutput() or "",
                    "error": result.GetError() or ""})
print(json.dumps(outputs))
"""


def lldb_commands_on_core(exe: Path, core: Path, *commands: str) -> list:
    """Run LLDB commands on a core in a fresh LLDB; [{"ok", "output", "error"}] per command."""
    env = lldb_environment()
    if isinstance(env, str):
        raise RuntimeError(env)
    out = subprocess.run(["/usr/bin/python3", "-c", _COMMANDS_SCRIPT, str(exe), str(core), *commands],
                         env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stdout + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])

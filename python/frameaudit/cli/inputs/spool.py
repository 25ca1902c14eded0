"""Compressed cores and cores that arrive through a pipe, made into a file
LLDB can load.

`open_core_input(name)` returns where to load a core from:

- a plain core file: the file itself, untouched;
- a core compressed with zstd (systemd-coredump's format), xz, gzip or lz4,
  told by its magic bytes whatever its name: decompressed;
- `-` (stdin: `coredumpctl dump -o - PID | frameaudit analyze -`), a FIFO or
  a /dev/fd/N of a pipe (`<(zstdcat core.zst)`): read whole, and
  decompressed if it is compressed.

Decompressed or piped bytes go to a private temporary file (mode 0600,
created in a fresh mode-0700 directory under $TMPDIR) that is unlinked, with
its directory, as soon as it is created: it has no name anyone could open,
and whatever ends frameaudit (a signal, SIGKILL, a crash) the kernel frees it
with the last descriptor. LLDB and the input checks open it as
/proc/self/fd/N (the worker inherits the descriptor at the same number).

At most FRAMEAUDIT_SPOOL_LIMIT bytes (default 64G; suffixes K, M, G, T) are
written per core; a full disk or the limit ends with one sentence naming
the core and what to do.
"""

import errno
import io
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import BinaryIO, List, Optional

from ..errors import InputError

STDIN = "-"
LIMIT_ENV = "FRAMEAUDIT_SPOOL_LIMIT"
DEFAULT_LIMIT = 64 << 30
CHUNK = 1 << 20

# (magic, name, command line for the external tool, Debian package)
COMPRESSIONS = [
    (b"\x28\xb5\x2f\xfd", "zstd", ["zstd", "-d", "-c", "-q"], "zstd"),
    (b"\xfd7zXZ\x00", "xz", None, None),
    (b"\x1f\x8b", "gzip", None, None),
    (b"\x04\x22\x4d\x18", "lz4", ["lz4", "-d", "-c", "-q"], "lz4"),
]
MAGIC_BYTES = max(len(m) for m, *_ in COMPRESSIONS)


@dataclass
class CoreInput:
    """A core to load: `path` for LLDB and the checks, `name` for people."""
    name: str
    path: str
    compression: Optional[str] = None
    fd: Optional[int] = None          # the spooled file's descriptor (keep it open)
    size: int = 0

    @property
    def fds(self):
        return (self.fd,) if self.fd is not None else ()

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


@dataclass
class Spools:
    """Every CoreInput opened for one command; close() frees their space."""
    inputs: List[CoreInput] = field(default_factory=list)

    def open(self, name: str) -> CoreInput:
        core = open_core_input(name)
        self.inputs.append(core)
        return core

    def close(self) -> None:
        for c in self.inputs:
            c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def spool_limit() -> int:
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_LIMIT
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    unit = text[-1:].upper()
    try:
        if unit in scale:
            return int(float(text[:-1]) * scale[unit])
        return int(text)
    except ValueError:
        return DEFAULT_LIMIT


def _size_text(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift:
            value = n / (1 << shift)
            return f"{value:.3g} {unit}iB"
    return f"{n} bytes"


def compression_of(head: bytes) -> Optional[str]:
    for magic, name, _tool, _package in COMPRESSIONS:
        if head.startswith(magic):
            return name
    return None


class _Prefixed:
    """A read()-able stream: `head` (already read to sniff the format), then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n is None or n < 0:
                data, self.head = self.head + self.rest.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            return data
        return self.rest.read(n if n is not None else -1)

    def readable(self) -> bool:
        return True


class _Tool:
    """Decompress through an external tool (zstd, lz4): `src` is fed to its
    stdin by a thread; its stdout is read()."""

    def __init__(self, name: str, argv: List[str], package: str, src, core_name: str):
        import shutil
        import subprocess
        import threading
        self.name, self.core_name = name, core_name
        tool = shutil.which(argv[0])
        if tool is None:
            raise InputError(core_name, f"is {name}-compressed and the {argv[0]} tool is missing; "
                                        f"install the Debian package {package}, or decompress it "
                                        f"first ({argv[0]} -d)")
        self.proc = subprocess.Popen([tool] + argv[1:], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.feeder = threading.Thread(target=self._feed, args=(src,), daemon=True)
        self.feeder.start()

    def _feed(self, src) -> None:
        try:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                self.proc.stdin.write(chunk)
        except (OSError, ValueError):
            pass
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def read(self, n: int) -> bytes:
        return self.proc.stdout.read1(n)

    def finish(self) -> None:
        self.proc.stdout.close()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        code = self.proc.wait()
        self.feeder.join(timeout=5)
        if code != 0:
            detail = " ".join(err.split()) or f"{self.name} exited with status {code}"
            raise InputError(self.core_name, f"cannot decompress it ({self.name}): {detail}")

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _private_file() -> tuple:
    """An open, already unlinked file in a fresh private directory: (fd, directory)."""
    import tempfile
    directory = tempfile.mkdtemp(prefix="frameaudit-spool-")
    try:
        fd = os.open(os.path.join(directory, "core"),
                     os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.unlink(os.path.join(directory, "core"))
    finally:
        os.rmdir(directory)
    return fd, os.path.dirname(directory)


def _spool(name: str, src, compression: Optional[str]) -> CoreInput:
    # Only a compressed or piped core needs these (a plain core, the common
    # case, is never spooled): imported here, not by every run.
    import gzip
    import lzma
    import tempfile
    import zlib
    limit = spool_limit()
    try:
        fd, where = _private_file()
    except OSError as e:
        raise InputError(name, f"cannot make a temporary file for it in {tempfile.gettempdir()}: "
                               f"{e.strerror or e} (set TMPDIR to a writable directory)")
    tool = None
    written = 0
    try:
        if compression == "gzip":
            reader = gzip.GzipFile(fileobj=src, mode="rb")
        elif compression == "xz":
            reader = lzma.LZMAFile(src)
        elif compression is not None:
            _magic, _n, argv, package = next(c for c in COMPRESSIONS if c[1] == compression)
            tool = reader = _Tool(compression, argv, package, src, name)
        else:
            reader = src
        while True:
            try:
                chunk = reader.read(CHUNK)
            except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
                if isinstance(e, OSError) and e.errno is not None:
                    raise InputError(name, f"cannot read it: {e.strerror}")
                raise InputError(name, f"cannot decompress it ({compression}): "
                                       f"{' '.join(str(e).split()) or type(e).__name__}")
            if not chunk:
                break
            if written + len(chunk) > limit:
                what = "decompressed, it is" if compression else "it is"
                raise InputError(name, f"{what} larger than the spool limit of {_size_text(limit)} "
                                       f"({LIMIT_ENV}); raise it, or decompress it to a file first")
            try:
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    written += n
                    view = view[n:]
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise InputError(name, f"no space left in {where} to "
                                           f"{'decompress' if compression else 'store'} it "
                                           f"({_size_text(written)} written); set TMPDIR to a "
                                           "file system with room, or free some")
                raise InputError(name, f"cannot store it in {where}: {e.strerror or e}")
        if tool is not None:
            tool.finish()
            tool = None
    except BaseException:
        if tool is not None:
            tool.abort()
        os.close(fd)
        raise
    if written == 0:
        os.close(fd)
        what = "stdin" if name == STDIN else name
        raise InputError(name, f"empty input: nothing came from {what}, not a core"
                         if compression is None else f"empty once decompressed ({compression}), not a core")
    return CoreInput(name, f"/proc/self/fd/{fd}", compression, fd, written)


def open_core_input(name: str) -> CoreInput:
    """Where to load the core `name` from (see the module's doc)."""
    if name == STDIN:
        # Unbuffered: a decompressor's feeding thread may still be blocked in
        # read() when a signal ends us, and a buffered stdin's lock would then
        # abort the interpreter's exit.
        src = io.FileIO(sys.stdin.fileno(), "rb", closefd=False)
        try:
            if os.isatty(src.fileno()):
                raise InputError(STDIN, "stdin is a terminal; pipe a core into it "
                                        "(coredumpctl dump -o - PID | frameaudit analyze -)")
        except (OSError, ValueError):
            raise InputError(STDIN, "stdin is closed; pipe a core into it")
        head = _read_head(src)
        return _spool(name, _Prefixed(head, src), compression_of(head))
    try:
        st = os.stat(name)
    except OSError:
        return CoreInput(name, name)  # the checks say what is wrong with it
    if stat.S_ISREG(st.st_mode):
        try:
            with open(name, "rb") as f:
                head = f.read(MAGIC_BYTES)
                compression = compression_of(head)
                if compression is None:
                    return CoreInput(name, name)
                f.seek(0)
                return _spool(name, f, compression)
        except OSError:
            return CoreInput(name, name)
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        try:
            f = open(name, "rb", buffering=0)  # unbuffered, as stdin above
        except OSError as e:
            raise InputError(name, f"cannot open: {e.strerror}")
        with f:
            head = _read_head(f)
            return _spool(name, _Prefixed(head, f), compression_of(head))
    return CoreInput(name, name)


def _read_head(src) -> bytes:
    head = b""
    while len(head) < MAGIC_BYTES:
        chunk = src.read(MAGIC_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head

"""Where a document goes, written so that it never harms what is there.

- stdout, or "-" given to an --output-FORMAT option.
- A regular file, or a name that does not exist yet: written whole to a
  temporary file in the same directory, then renamed over it (a reader never
  sees half a document; a crash leaves the old one). Through a symbolic link
  the link's target is replaced and the link stays.
- /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N (and /proc/<our
  pid>/fd/N): that file descriptor, written as it is (bash's `>(cmd)`
  passes /dev/fd/63; `-o /dev/stdout >>log` appends).
- Anything else that opens for writing (/dev/null, /dev/full, a terminal,
  a FIFO, a regular file reached through /proc or /dev): opened and written
  as it is, never replaced.
- A directory, a dangling symbolic link, a missing directory: an error
  before any work is done.

Every write error (a full disk, /dev/full, a closed descriptor) is a
CliError: one line on stderr, exit status 2.
"""

import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import List, Optional

from .errors import CliError

STDOUT = "-"
FORMATS = ("text", "json", "sarif", "html")

_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(\d+))/fd)/(\d+)")
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_MAX_LINKS = 40


@dataclass
class Destination:
    """How one output is written: kind "fd" (an open descriptor of ours),
    "replace" (a regular file, atomically) or "open" (opened as it is)."""
    name: str              # as the user gave it, for messages
    kind: str
    fd: Optional[int] = None
    path: Optional[str] = None   # "replace": the file to replace; "open": what to open

    @property
    def is_stdout(self) -> bool:
        return self.kind == "fd" and self.fd == 1


def _own_fd(path: str) -> Optional[int]:
    """The descriptor number if `path` names one of this process's descriptors."""
    if path in _STD_PATHS:
        return _STD_PATHS[path]
    m = _FD_PATH.fullmatch(path)
    if m and (m.group(1) is None or int(m.group(1)) == os.getpid()):
        return int(m.group(2))
    return None


def _fd_through_links(path: str) -> Optional[int]:
    """_own_fd of the path or of any symbolic link on its way (a link to /dev/stdout)."""
    p = path
    for _ in range(_MAX_LINKS):
        fd = _own_fd(p)
        if fd is not None:
            return fd
        if not os.path.islink(p):
            return None
        try:
            target = os.readlink(p)
        except OSError:
            return None
        p = os.path.normpath(os.path.join(os.path.dirname(p), target))
    return None


def _problem(name: str, what: str) -> CliError:
    return CliError(f"{name}: cannot write the output: {what}")


def resolve(name: Optional[str]) -> Destination:
    """Classify an output name (None or "-": stdout). Raises CliError for a
    destination that can never work (a directory, a dangling link, ...)."""
    if name is None or name == STDOUT:
        return Destination("stdout", "fd", fd=1)
    path = os.path.abspath(name)
    fd = _fd_through_links(path)
    if fd is not None:
        try:
            os.fstat(fd)
        except OSError:
            raise _problem(name, f"file descriptor {fd} is not open")
        return Destination(name, "fd", fd=fd)
    try:
        os.lstat(path)
    except FileNotFoundError:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise _problem(name, f"directory {directory} does not exist")
        if not os.access(directory, os.W_OK):
            raise _problem(name, f"directory {directory} is not writable")
        return Destination(name, "replace", path=path)
    except OSError as e:
        raise _problem(name, e.strerror or str(e))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _problem(name, f"it is a dangling symbolic link (to {os.readlink(path)})")
    except OSError as e:
        raise _problem(name, e.strerror or str(e))
    if stat.S_ISDIR(st.st_mode):
        raise CliError(f"{name}: is a directory; an output needs a file name")
    real = os.path.realpath(path)
    if stat.S_ISREG(st.st_mode) and not real.startswith(("/proc/", "/dev/")):
        directory = os.path.dirname(real)
        if not os.access(directory, os.W_OK):
            raise _problem(name, f"directory {directory} is not writable (the file is replaced "
                                 "whole, through a file beside it)")
        return Destination(name, "replace", path=real)
    return Destination(name, "open", path=path)


def check(name: Optional[str]) -> Destination:
    """Fail early (exit 2), before any long work, if `name` cannot be written."""
    dest = resolve(name)
    if dest.kind == "open" and not os.access(dest.path, os.W_OK):
        raise _problem(dest.name, "permission denied")
    return dest


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write(name: Optional[str], data: bytes) -> None:
    """Write `data` whole to the destination `name` (None: stdout)."""
    dest = resolve(name)
    try:
        if dest.kind == "fd":
            if dest.fd in (1, 2):
                # Anything Python buffered goes first (and its errors now, not at exit).
                (sys.stdout if dest.fd == 1 else sys.stderr).flush()
            _write_all(dest.fd, data)
        elif dest.kind == "open":
            flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY
            if stat.S_ISREG(os.stat(dest.path).st_mode):
                flags |= os.O_TRUNC
            fd = os.open(dest.path, flags)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        else:
            _replace(dest.path, data)
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as e:
        where = "stdout" if dest.is_stdout else dest.name
        raise CliError(f"{where}: cannot write the output: {e.strerror or e}")


def _replace(path: str, data: bytes) -> None:
    """Write a file beside `path`, then rename it over `path`. An existing
    file keeps its mode (and, for root, its owner)."""
    directory, base = os.path.split(path)
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    mode = (old.st_mode & 0o7777) if old else (0o666 & ~_umask())
    tmp = None
    for attempt in range(100):
        candidate = os.path.join(directory, f".{base}.frameaudit-{os.getpid()}-{attempt}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        tmp = candidate
        break
    if tmp is None:
        raise OSError(17, f"cannot create a temporary file in {directory}")
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            if old is not None and os.geteuid() == 0:
                try:
                    os.fchown(fd, old.st_uid, old.st_gid)
                except OSError:
                    pass
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass
class Output:
    """One document to write: its format and where (None: stdout)."""
    format: str
    name: Optional[str]


def requested_outputs(args) -> List[Output]:
    """The documents a command line asks for, each checked (CliError if one
    cannot be written). `--format F [-o FILE]` is one; each
    `--output-FORMAT FILE` ("-": stdout) another. With --output-* options,
    stdout gets the --format document only if --format or -o was given."""
    extra = [Output(f, getattr(args, f"output_{f}", None)) for f in FORMATS
             if getattr(args, f"output_{f}", None) is not None]
    outputs = []
    if args.output is not None or getattr(args, "format_given", True) or not extra:
        outputs.append(Output(args.format, args.output))
    outputs += extra
    seen = {}
    for out in outputs:
        if out.name == STDOUT:
            out.name = None
        dest = check(out.name)
        key = ("fd", dest.fd) if dest.kind == "fd" else ("path", dest.path)
        if key in seen:
            where = "stdout" if dest.is_stdout else out.name
            raise CliError(f"{where}: named for two outputs ({seen[key]} and {out.format}); "
                           "give each its own file")
        seen[key] = out.format
    return outputs

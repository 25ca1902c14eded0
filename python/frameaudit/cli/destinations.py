"""Where a document goes, written so that it never harms what is there.

- stdout, or "-" given to an --output-FORMAT option.
- A regular file, or a name that does not exist yet: written whole to a
  temporary file in the same directory, then renamed over it (a reader never
  sees half a document; a crash leaves the old one). The temporary file has
  no name until then where the file system allows it (O_TMPFILE), so
  nothing is left behind even by SIGKILL. Through a symbolic link the
  link's target is replaced and the link stays.
- Writer is the same, in pieces: `analyze` opens it before the analysis,
  its worker writes the document into it, and commit() puts it in place.
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

import errno
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


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def copy_range(out_fd: int, in_fd: int, offset: int, count: int) -> None:
    """Copy `count` bytes of the regular file in_fd from `offset` to out_fd
    (any file, pipe or device) without bringing them into Python."""
    while count > 0:
        try:
            n = os.sendfile(out_fd, in_fd, offset, min(count, 1 << 30))
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOSYS):
                raise
            n = 0  # a destination sendfile does not take: read and write
        if n == 0:
            data = os.pread(in_fd, min(count, 1 << 20), offset)
            if not data:
                raise OSError(errno.EIO, "a temporary file ended early")
            _write_all(out_fd, data)
            n = len(data)
        offset += n
        count -= n


def _where(dest: Destination) -> str:
    return "stdout" if dest.is_stdout else dest.name


def _write_error(dest: Destination, e: OSError) -> CliError:
    return CliError(f"{_where(dest)}: cannot write the output: {e.strerror or e}")


class Writer:
    """A destination opened for a document written in pieces (write(),
    copy()), then commit() (a replaced file is renamed into place) or
    abort() (a replaced file is left as it was). Every OSError but a broken
    pipe becomes a CliError naming the destination."""

    def __init__(self, dest: Destination):
        self.dest = dest
        self.fd: Optional[int] = None
        self._own = False          # we opened self.fd (close it)
        self._tmp: Optional[str] = None
        self._old = None
        try:
            if dest.kind == "fd":
                if dest.fd in (1, 2):
                    # Anything Python buffered goes first (and its errors now, not at exit).
                    (sys.stdout if dest.fd == 1 else sys.stderr).flush()
                self.fd = dest.fd
            elif dest.kind == "open":
                flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY
                if stat.S_ISREG(os.stat(dest.path).st_mode):
                    flags |= os.O_TRUNC
                self.fd, self._own = os.open(dest.path, flags), True
            else:
                self._begin_replace(dest.path)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _write_error(dest, e)

    def _begin_replace(self, path: str) -> None:
        """A file beside `path`, renamed over it by commit(). Where the file
        system can, it has no name until then (O_TMPFILE): a frameaudit
        killed while the document is written leaves nothing behind."""
        directory = os.path.dirname(path)
        try:
            self._old = os.stat(path)
        except FileNotFoundError:
            self._old = None
        flags = getattr(os, "O_TMPFILE", 0)
        if flags:
            try:
                self.fd = os.open(directory, flags | os.O_RDWR | os.O_CLOEXEC, 0o600)
                self._own, self._tmp = True, ""  # "": named at commit
                return
            except OSError:
                pass  # not on this file system: a named temporary file
        self.fd, self._tmp = self._named_beside(path, lambda name: os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        self._own = True

    def _link_beside(self, fd: int) -> str:
        """A name beside the target for the nameless file fd."""
        path = self.dest.path
        directory = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N (os.link takes the
            # linkat path only when given a dir_fd).
            return self._named_beside(path, lambda name: os.link(
                f"/proc/self/fd/{fd}", name, src_dir_fd=directory, follow_symlinks=True))[1]
        except FileExistsError:
            raise
        except OSError:
            pass  # no linkat through /proc here: copy it into a named file
        finally:
            os.close(directory)
        size = os.fstat(fd).st_size
        copy, name = self._named_beside(path, lambda name: os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        try:
            copy_range(copy, fd, 0, size)
            os.fsync(copy)
            os.fchmod(copy, os.fstat(fd).st_mode & 0o7777)
            st = os.fstat(fd)
            if os.geteuid() == 0:
                try:
                    os.fchown(copy, st.st_uid, st.st_gid)
                except OSError:
                    pass
        except BaseException:
            os.close(copy)
            os.unlink(name)
            raise
        os.close(copy)
        return name

    @staticmethod
    def _named_beside(path: str, make):
        """make(name) for the first free ".BASE.frameaudit-PID-N" beside path."""
        directory, base = os.path.split(path)
        for attempt in range(100):
            candidate = os.path.join(directory, f".{base}.frameaudit-{os.getpid()}-{attempt}")
            try:
                return make(candidate), candidate
            except FileExistsError:
                continue
        raise OSError(17, f"cannot create a temporary file in {directory}")

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _write_error(self.dest, e)

    def write(self, data) -> None:
        self._guard(_write_all, self.fd, data)

    def copy(self, in_fd: int, offset: int, count: int) -> None:
        """Append bytes [offset, offset + count) of the regular file in_fd."""
        self._guard(copy_range, self.fd, in_fd, offset, count)

    def commit(self) -> None:
        """The document is whole: a replaced file takes the old one's mode
        (and, for root, its owner) and is renamed over it."""
        if self._tmp is None:
            self._close()
            return
        try:
            self._guard(self._finish_replace)
        except BaseException:
            self.abort()
            raise

    def _finish_replace(self) -> None:
        fd, old = self.fd, self._old
        os.fsync(fd)
        if old is not None and os.geteuid() == 0:
            try:
                os.fchown(fd, old.st_uid, old.st_gid)
            except OSError:
                pass
        os.fchmod(fd, (old.st_mode & 0o7777) if old else (0o666 & ~_umask()))
        if self._tmp == "":  # an O_TMPFILE file: give it a name beside the target
            self._tmp = self._link_beside(fd)
        self._close()
        os.replace(self._tmp, self.dest.path)
        self._tmp = None

    def abort(self) -> None:
        self._close()
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
        self._tmp = None

    def _close(self) -> None:
        if self._own and self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd, self._own = None, False


def write(name: Optional[str], data: bytes) -> None:
    """Write `data` whole to the destination `name` (None: stdout)."""
    writer = Writer(resolve(name))
    try:
        writer.write(data)
        writer.commit()
    except BaseException:
        writer.abort()
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

"""Where the document goes, and how text is drawn.

- The document goes to stdout, or with -o to FILE; destinations.py says
  how each kind of FILE is written (a regular file whole, then renamed into
  place: a crash never leaves half a SARIF file for CI to upload).
- Text uses Unicode box drawing when its destination is UTF-8 (a -o file is
  always written as UTF-8; stdout when its encoding is UTF-8), else ASCII.
  Colour only on a terminal, never with NO_COLOR or TERM=dumb.
- While LLDB runs in-process, file descriptor 1 points at stderr, so nothing
  LLDB (or the debuggee) prints can get into a JSON/SARIF document; the
  document is written to the saved original stdout.
"""

import codecs
import os
import sys
from typing import Optional

from . import destinations


def _is_utf8(encoding: Optional[str]) -> bool:
    try:
        return bool(encoding) and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def use_unicode(output_file: Optional[str]) -> bool:
    if output_file is not None:
        return True
    return _is_utf8(getattr(sys.stdout, "encoding", None))


def use_color(output_file: Optional[str]) -> bool:
    if output_file is not None or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def check_output_path(path: Optional[str]) -> None:
    """Fail early (exit 2) if an output cannot be written, before any long work."""
    if path is not None:
        destinations.check(path)


class StdoutGuard:
    """Point fd 1 at stderr while LLDB runs; write() goes to the real stdout."""

    def __init__(self):
        self._saved: Optional[int] = None

    @property
    def saved(self) -> int:
        """The original stdout (valid until restore())."""
        return self._saved if self._saved is not None else 1

    def __enter__(self):
        sys.stdout.flush()
        self._saved = os.dup(1)
        os.dup2(2, 1)
        return self

    def __exit__(self, *exc):
        self.restore()
        return False

    def restore(self) -> None:
        if self._saved is not None:
            try:
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
            os.dup2(self._saved, 1)
            os.close(self._saved)
            self._saved = None


def document_encoding(output_file: Optional[str], utf8: bool = False) -> str:
    """JSON and SARIF (utf8=True) and files are UTF-8 whatever the locale;
    text to stdout follows stdout's encoding (what it cannot show is replaced)."""
    to_stdout = output_file is None or output_file == destinations.STDOUT
    if to_stdout and not utf8:
        return getattr(sys.stdout, "encoding", None) or "utf-8"
    return "utf-8"


def write_document(text: str, output_file: Optional[str], utf8: bool = False) -> None:
    """Write the whole document (destinations.py says how), encoded as
    document_encoding() says."""
    destinations.write(output_file,
                       text.encode(document_encoding(output_file, utf8), errors="replace"))

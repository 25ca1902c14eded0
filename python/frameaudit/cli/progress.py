"""A one-line progress display on stderr, for terminals only.

Shown only when stderr is a terminal, and only for text output or for
several inputs: a JSON or SARIF document on stdout is never interleaved with
anything, and a pipe or CI log never gets carriage-return noise.
"""

import os
import sys
import time
from typing import Optional, TextIO


def progress_wanted(output_format: str, inputs: int, stream: Optional[TextIO] = None) -> bool:
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty or os.environ.get("TERM") == "dumb":
        return False
    return output_format == "text" or inputs > 1


class Progress:
    """Rewrites one status line; clear() before printing anything else."""

    MIN_INTERVAL = 0.1  # seconds between redraws

    def __init__(self, enabled: bool, stream: Optional[TextIO] = None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._shown = False
        self._last = 0.0

    def update(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.MIN_INTERVAL:
            return
        self._last = now
        width = _width()
        if len(text) > width - 1:
            text = text[: max(0, width - 4)] + "..."
        try:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = True
        except (OSError, ValueError):
            self.enabled = False

    def clear(self) -> None:
        if self.enabled and self._shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._shown = False

    def message(self, line: str) -> None:
        """A permanent line (e.g. one core's error) without garbling the status line."""
        self.clear()
        self.stream.write(line + "\n")
        self.stream.flush()


def _width() -> int:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        columns = 0
    return columns if columns >= 20 else 80  # a pty nobody sized says 0

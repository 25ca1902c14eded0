"""The CLI's error types: everything that ends a command with exit status 2.

Each carries one sentence for one line on stderr; main() prints it and
returns 2. Nothing else in the CLI prints errors.
"""


class CliError(Exception):
    """A usage or input error: exit status 2, one line on stderr."""

    def __init__(self, message: str):
        super().__init__(message)
        # One line, always: an LLDB or OS message may carry newlines.
        self.message = " ".join(str(message).split())

    def __str__(self) -> str:
        return self.message

    @property
    def line(self) -> str:
        """What goes on stderr."""
        return f"frameaudit: {self.message}"


class UsageError(CliError):
    """Bad command line (unknown option, missing argument). The message starts
    with the (sub)command's name, as argparse's do."""

    @property
    def line(self) -> str:
        return self.message


class InputError(CliError):
    """A file the user named cannot be used: missing, not a core, wrong arch,
    truncated, mismatched executable, ..."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class EnvironmentProblem(CliError):
    """frameaudit itself cannot run here (no LLDB Python module, no core module)."""


class FormatProblem(Exception):
    """Raised by the file readers; the caller adds the file name (InputError)."""

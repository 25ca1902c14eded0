"""LLDB in-process: a debugger holding one core, or one launched program.

Synchronous mode throughout (every call returns when LLDB is done), no init
files read (--lldbinit FILE is the one way in), and everything torn down on
exit: a launched program is killed, never left running.

The symbol options (--sysroot, --solib-search-path, --debug-dir,
--debuginfod) become LLDB settings before the target exists, so the first
module lookup already sees them (options.lldb_commands).
"""

import os
from typing import Dict, List, Optional

from .errors import CliError, InputError
from .options import lldb_commands, lldb_quote as _quote, target_commands


class Debugger:
    """An SBDebugger for one target; use as a context manager."""

    def __init__(self, lldb, symbols: Optional[Dict] = None):
        self.lldb = lldb
        self.symbols = symbols or {}
        self.debugger = None
        self.target = None
        self.process = None
        self.applied: List[str] = []  # the LLDB commands run for the options, for -v

    def __enter__(self):
        lldb = self.lldb
        self.debugger = lldb.SBDebugger.Create(False)  # no ~/.lldbinit
        self.debugger.SetAsync(False)
        try:
            self._apply_symbol_options()
        except BaseException:
            self.close()
            raise
        return self

    def command(self, line: str) -> str:
        """Run one LLDB command; its output, or CliError with LLDB's message."""
        result = self.lldb.SBCommandReturnObject()
        self.debugger.GetCommandInterpreter().HandleCommand(line, result)
        if not result.Succeeded():
            raise CliError(f"LLDB refused '{line}': {_message_text(result.GetError(), 'failed')}")
        return result.GetOutput() or ""

    def _apply_symbol_options(self) -> None:
        lldbinit = self.symbols.get("lldbinit")
        if lldbinit:
            # Line by line (as `command source` would run them), so the first
            # failing command stops everything and is named with its line.
            try:
                with open(lldbinit, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError as e:
                raise InputError(lldbinit, f"--lldbinit: cannot read it: {e.strerror or e}")
            for number, text in enumerate(lines, 1):
                text = text.strip()
                if not text or text.startswith("#"):
                    continue
                result = self.lldb.SBCommandReturnObject()
                self.debugger.GetCommandInterpreter().HandleCommand(text, result)
                if not result.Succeeded():
                    raise InputError(lldbinit, f"--lldbinit: line {number} ({text}) failed: "
                                     + _message_text(result.GetError(), "unknown error"))
            self.applied.append(f"command source {lldbinit}")
        for line in lldb_commands(self.symbols):
            self.command(line)
            self.applied.append(line)

    def module_lines(self) -> List[str]:
        """'<module> (from <path>), symbols: <file>' for every module, for -v."""
        lines = []
        if self.target is None or not self.target.IsValid():
            return lines
        for i in range(self.target.GetNumModules()):
            m = self.target.GetModuleAtIndex(i)
            path = m.GetFileSpec().fullpath if m.GetFileSpec() else None
            sym = m.GetSymbolFileSpec().fullpath if m.GetSymbolFileSpec() else None
            has_lines = m.GetNumCompileUnits() > 0
            what = (f"debug info from {sym}" if sym and sym != path and has_lines
                    else "debug info in the file" if has_lines else "no debug info")
            lines.append(f"module {path or '?'}: {what}")
        return lines

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        if self.process is not None and self.process.IsValid():
            state = self.process.GetState()
            if self.process.GetProcessID() and state not in (self.lldb.eStateExited,
                                                              self.lldb.eStateDetached):
                # A live debuggee must not outlive us; a core's "process" just goes.
                self.process.Kill()
        self.process = None
        if self.debugger is not None:
            if self.target is not None and self.target.IsValid():
                self.debugger.DeleteTarget(self.target)
            self.lldb.SBDebugger.Destroy(self.debugger)
        self.target = None
        self.debugger = None

    def create_target(self, executable: Optional[str]) -> None:
        error = self.lldb.SBError()
        self.target = self.debugger.CreateTarget(executable or "", None, None, True, error)
        if not self.target or not self.target.IsValid():
            raise InputError(executable or "(no executable)",
                             f"LLDB cannot load it: {_message(error, 'unknown error')}")
        for line in target_commands(self.symbols):
            self.command(line)
            self.applied.append(line)

    def load_core(self, core_path: str, executable: Optional[str]) -> None:
        self.create_target(executable)
        error = self.lldb.SBError()
        self.process = self.target.LoadCore(core_path, error)
        if error.Fail() or not self.process or not self.process.IsValid():
            raise InputError(core_path, f"LLDB cannot load the core: {_message(error, 'no process')}")
        if self.process.GetNumThreads() == 0:
            raise InputError(core_path, "LLDB finds no threads in the core")

    def launch(self, program: str, args: List[str], stdio: dict, environment: List[str],
               stop_at_entry: bool = False) -> None:
        """Launch and return at the first stop (or exit). stdio: fd -> (path, read, write)."""
        lldb = self.lldb
        self.create_target(program)
        info = lldb.SBLaunchInfo(args)
        # Its own process group: one killpg ends the program and its children.
        info.SetLaunchFlags(info.GetLaunchFlags() | lldb.eLaunchFlagLaunchInSeparateProcessGroup)
        if stop_at_entry:
            info.SetLaunchFlags(info.GetLaunchFlags() | lldb.eLaunchFlagStopAtEntry)
        info.SetWorkingDirectory(os.getcwd())
        info.SetEnvironmentEntries(environment, False)
        for fd, (path, read, write) in sorted(stdio.items()):
            info.AddOpenFileAction(fd, path, read, write)
        error = lldb.SBError()
        self.process = self.target.Launch(info, error)
        if error.Fail() or not self.process or not self.process.IsValid():
            self.process = None
            raise CliError(f"{program}: LLDB cannot launch it: {_message(error, 'unknown error')}")


def _message(error, default: str) -> str:
    text = error.GetCString() if error else None
    return " ".join((text or default).split())


def _message_text(text: Optional[str], default: str) -> str:
    return " ".join((text or default).split())


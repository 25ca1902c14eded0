"""LLDB in-process: a debugger holding one core, or one launched program.

Synchronous mode throughout (every call returns when LLDB is done), no init
files read, and everything torn down on exit: a launched program is killed,
never left running.
"""

import os
from typing import List, Optional

from .errors import CliError, InputError


class Debugger:
    """An SBDebugger for one target; use as a context manager."""

    def __init__(self, lldb):
        self.lldb = lldb
        self.debugger = None
        self.target = None
        self.process = None

    def __enter__(self):
        lldb = self.lldb
        self.debugger = lldb.SBDebugger.Create(False)  # no ~/.lldbinit
        self.debugger.SetAsync(False)
        return self

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

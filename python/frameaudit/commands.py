"""The `frameaudit` (alias `fa`) LLDB commands of the Python front-end.

Everything a user sees (names, help, options, error sentences, output,
completion candidates) comes from the core's shared command table
(frameaudit._core.commands, the same C++ the native plugin uses), so both
front-ends behave the same. This module only hands LLDB's words to the core,
gathers the debuggee through LLDBTarget, reports progress and prints.

On LLDB 18+ the subcommands are parsed commands (lldb.plugins.parsed_cmd)
that declare no options to LLDB: LLDB would print its own option list and
its own argument names in `help` (a second, differently named list) and
reject malformed options with its own sentences. Instead every word reaches
the core's parser, and completion (option names, thread indexes, formats,
files, module names) is the core's, through handle_argument_completion.
Older LLDB gets classic commands whose words are split with shlex (no
completion).
"""

import os
import shlex
import sys
from typing import List, Optional

import lldb

from . import _core
from .lldb_target import LLDBTarget, debuggee_state

_commands = _core.commands

try:  # LLDB 18+
    from lldb.plugins.parsed_cmd import ParsedCommand as _ParsedCommandBase
    # FRAMEAUDIT_CLASSIC_COMMANDS=1 forces the LLDB < 18 path (to test it).
    HAVE_PARSED_COMMANDS = os.environ.get("FRAMEAUDIT_CLASSIC_COMMANDS", "") != "1"
except ImportError:  # pragma: no cover - LLDB < 18
    _ParsedCommandBase = object
    HAVE_PARSED_COMMANDS = False

FRONT_END = "Python front-end"

_PROGRESS_TITLES = {"lint": "frameaudit: linting modules"}


class _Progress:
    """The core's progress(done, total) as an SBProgress (LLDB 20+): LLDB's
    status line shows it and lldb-dap sends progressStart/Update/End. One
    unit of work is not reported; older LLDB reports nothing."""

    def __init__(self, debugger, title: str, expected: int = 0):
        self.debugger, self.title = debugger, title
        self.progress = None
        self.reported = 0
        # Start now when the amount of work is known: reading the threads
        # from LLDB is most of the wait (see the native plugin's reporter).
        self.units = 0
        if expected >= 2 and hasattr(lldb, "SBProgress"):
            self._start(expected)

    def _start(self, total: int) -> None:
        # One unit more: rendering the report, which ends with close().
        self.units = total + 1
        self.progress = lldb.SBProgress(self.title, "", self.units, self.debugger)

    def __call__(self, done: int, total: int) -> None:
        if total < 2 or not hasattr(lldb, "SBProgress"):
            return
        if self.progress is None:
            self._start(total)
        if self.reported < done <= self.units - 1:
            detail = "writing the report" if done == self.units - 1 else f"{done} of {total}"
            self.progress.Increment(done - self.reported, detail)
            self.reported = done

    def close(self) -> None:
        if self.progress is not None:
            self.progress.Finalize()
            self.progress = None


def run_subcommand(name: str, debugger, words: List[str], result) -> bool:
    """Run `frameaudit <name> <words...>` and fill `result`. The single place
    where frameaudit errors become LLDB command errors. Never raises."""
    try:
        text = _execute(name, debugger, words)
    except _core.FrameauditError as e:
        return _fail(result, e.message)
    except Exception as e:  # noqa: BLE001 - a bug: report it, never crash LLDB
        return _fail(result, _commands.messages.internal_error(f"{type(e).__name__}: {e}"))
    if text:
        result.PutCString(text)
    result.SetStatus(lldb.eReturnStatusSuccessFinishResult)
    return True


def _fail(result, message: str) -> bool:
    result.SetError(message)
    result.SetStatus(lldb.eReturnStatusFailed)
    return False


def _execute(name: str, debugger, words: List[str]) -> str:
    options = _commands.parse_options(name, words)
    if options.help:
        return _commands.help_text(name)
    target = debugger.GetSelectedTarget()
    if name == "provider":
        from . import frame_provider
        return frame_provider.command(debugger, target, options.provider_on)
    process = target.GetProcess() if target.IsValid() else lldb.SBProcess()
    _commands.check_debuggee(name, target.IsValid(), debuggee_state(process))
    adapter = LLDBTarget(target, process)
    expected = 0
    if name != "lint":
        expected = (process.GetNumThreads() if options.all_threads
                    else max(1, len(options.threads)))
    progress = _Progress(debugger, _PROGRESS_TITLES.get(name, "frameaudit: analysing threads"),
                         expected)
    try:
        if name == "lint":
            return _commands.run_lint_command(adapter, adapter.modules(), options, progress)
        return _commands.run_analysis_command(adapter, options, progress)
    finally:
        progress.close()


def _info(name: str):
    for sub in _commands.subcommands():
        if sub.name == name:
            return sub
    raise KeyError(name)


# -- completion --------------------------------------------------------------

def _thread_indexes(debugger) -> List[str]:
    process = debugger.GetSelectedTarget().GetProcess()
    if not process.IsValid():
        return []
    return [str(process.GetThreadAtIndex(i).GetIndexID()) for i in range(process.GetNumThreads())]


def _module_names(debugger) -> List[str]:
    target = debugger.GetSelectedTarget()
    if not target.IsValid():
        return []
    names = []
    for i in range(target.GetNumModules()):
        name = target.GetModuleAtIndex(i).GetFileSpec().GetFilename()
        if name:
            names.append(name)
    return names


def _files(prefix: str) -> List[str]:
    """File names for an output file: entries of prefix's directory that
    start with its last part; directories end with '/'."""
    directory, slash, start = prefix.rpartition("/")
    head = directory + slash  # "", "dir/" or "/"
    listing = os.path.expanduser(head) if head else "."
    try:
        entries = sorted(os.listdir(listing))
    except OSError:
        return []
    out = []
    for entry in entries[:1000]:
        if not entry.startswith(start) or (entry.startswith(".") and not start.startswith(".")):
            continue
        full = head + entry
        out.append(full + "/" if os.path.isdir(os.path.join(listing, entry)) else full)
    return out


def complete(name: str, debugger, words: List[str], cursor: int):
    """The core's candidates for words[cursor], with what the debugger knows."""
    return _commands.complete(name, words, cursor, _thread_indexes(debugger),
                              _module_names(debugger), _files)


def _completion_answer(candidates):
    """A handle_argument_completion answer in parsed_cmd's protocol."""
    if not candidates:
        return True  # handled: nothing to offer
    if len(candidates) == 1:
        word = candidates[0][0]
        return {"completion": word, "mode": "partial" if word.endswith("/") else "complete"}
    return {"values": [w for w, _ in candidates], "descriptions": [d for _, d in candidates]}


# -- LLDB 18+: parsed commands ---------------------------------------------

# The one argument each subcommand declares to LLDB, which LLDB shows in
# its "Syntax:" line; the core's parser reads every word.
_ARGUMENT_TYPES = {"lint": "eArgTypeModule", "provider": "eArgTypeBoolean"}


class _ParsedSubcommand(_ParsedCommandBase):
    """A subcommand whose words the core parses and completes."""

    subcommand = ""

    def __init__(self, debugger, internal_dict):
        self.debugger = debugger
        super().__init__(debugger, internal_dict)

    def setup_command_definition(self):
        parser = self.get_parser()
        arg_type = getattr(lldb, _ARGUMENT_TYPES.get(self.subcommand, "eArgTypeValue"))
        parser.add_argument_set([parser.make_argument_element(arg_type, repeat="optional")])

    def get_short_help(self):
        return _info(self.subcommand).help

    def get_long_help(self):
        return _info(self.subcommand).long_help

    def get_repeat_command(self, command):
        # Enter on an empty line must not run a whole audit again.
        return ""

    def handle_argument_completion(self, args, arg_pos, cursor_pos):
        try:
            words = [str(a) for a in args]
            if arg_pos < len(words):
                words[arg_pos] = words[arg_pos][:cursor_pos]
            return _completion_answer(complete(self.subcommand, self.debugger, words, arg_pos))
        except Exception:  # noqa: BLE001 - completion must never break the prompt
            return True

    def __call__(self, debugger, args, exe_ctx, result):
        words = [str(a) for a in args] if args is not None else []
        run_subcommand(self.subcommand, debugger, words, result)


# -- LLDB < 18: classic commands -------------------------------------------

class _RawSubcommand:
    """A subcommand that receives its raw argument string (LLDB < 18)."""

    subcommand = ""

    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        return _info(self.subcommand).help

    def get_long_help(self):
        return _info(self.subcommand).long_help

    def __call__(self, debugger, command, exe_ctx, result):
        try:
            words = shlex.split(command or "")
        except ValueError as e:
            _fail(result, f"{e} (see `help frameaudit {self.subcommand}`).")
            return
        run_subcommand(self.subcommand, debugger, words, result)


def _class_name(name: str) -> str:
    return name.capitalize() + "Command"


# One class per subcommand, named ChainCommand, AuditCommand, ... (LLDB
# registers a command by class name).
_BASE = _ParsedSubcommand if HAVE_PARSED_COMMANDS else _RawSubcommand
for _sub in _commands.subcommands():
    _cls = type(_class_name(_sub.name), (_BASE,), {
        "subcommand": _sub.name,
        "__doc__": _sub.help,
    })
    globals()[_cls.__name__] = _cls
del _sub, _cls


# -- registration ----------------------------------------------------------

# Debugger ids this front-end registered its commands in (survives a reload
# of the package, which `command script import` does on a second import).
_registered = sys.modules[__name__].__dict__.setdefault("_registered", set())


def _handle(debugger, command: str):
    ret = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(command, ret, False)
    return ret


def command_exists(debugger, name: str) -> bool:
    """True if `name` is a command, alias or container in this debugger."""
    interp = debugger.GetCommandInterpreter()
    if interp.CommandExists(name) or interp.AliasExists(name):
        return True
    if hasattr(interp, "UserCommandExists") and interp.UserCommandExists(name):
        return True
    # Containers (`command container add`, SBCommandInterpreter::
    # AddMultiwordCommand) are in none of the lists above; `help` finds them.
    return _handle(debugger, "help " + name).Succeeded()


def container_syntax() -> str:
    """What `command container add -H` gets (see register)."""
    return _commands.COMMAND_NAME + "\n\n" + _commands.command_long_help().strip("\n")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _say(debugger, text: str) -> None:
    """Print on the debugger's output (where LLDB prints command results)."""
    data = text.encode("utf-8")
    try:
        out = debugger.GetOutputFile()
        if out.IsValid():
            out.Write(data)
            out.Flush()
            return
    except Exception:  # noqa: BLE001 - older SWIG signatures; fall back to stdout
        pass
    sys.stdout.write(text)
    sys.stdout.flush()


def register(debugger, module: str = __name__) -> bool:
    """Add `frameaudit`, its subcommands and the `fa` alias to `debugger`.

    Stays out of the way (says so, registers nothing) when another
    `frameaudit` command (the native plugin) is already there. Returns True
    if this front-end's commands are (now) registered.
    """
    name = _commands.COMMAND_NAME
    ours = debugger.GetID() in _registered
    if not ours and command_exists(debugger, name):
        _say(debugger, _commands.messages.already_loaded(FRONT_END))
        return False
    if not ours:
        # `command container add -H` stores its text as the container's
        # syntax (LLDB 22), which `help` prints after "Syntax: ": the
        # command's name, then the long help, reads as the native plugin's
        # `help frameaudit` does.
        ret = _handle(debugger, "command container add -h %s -H %s %s" % (
            _quote(_commands.command_help()), _quote(container_syntax()), name))
        if not ret.Succeeded():
            _say(debugger, f"frameaudit: cannot add the `{name}` command: {ret.GetError()}")
            return False
        _registered.add(debugger.GetID())
    flag = "-p" if HAVE_PARSED_COMMANDS else ""
    for sub in _commands.subcommands():
        # -o: a re-import replaces our own subcommands with the reloaded classes.
        ret = _handle(debugger, f"command script add -o {flag} -c {module}.{_class_name(sub.name)} "
                                f"{name} {sub.name}")
        if not ret.Succeeded():
            _say(debugger, f"frameaudit: cannot add `{name} {sub.name}`: {ret.GetError()}")
    alias = _commands.ALIAS_NAME
    if not command_exists(debugger, alias):
        # `help fa` prints only the alias's own long help: give it all of
        # what `help frameaudit` says.
        full = _commands.command_long_help() + _commands.subcommand_list_help()
        # `command alias` takes raw input, where LLDB runs `...` as an
        # expression unless the backtick is escaped.
        _handle(debugger, f"command alias -H {_quote(full).replace('`', chr(92) + '`')} "
                          f"-- {alias} {name}")
    if not HAVE_PARSED_COMMANDS:
        _say(debugger, "frameaudit: this LLDB has no parsed Python commands (LLDB 18+); the "
                       "frameaudit commands work the same but without tab completion of "
                       "their options.\n")
    return True

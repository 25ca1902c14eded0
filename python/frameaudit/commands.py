"""The `frameaudit` (alias `fa`) LLDB commands of the Python front-end.

Everything a user sees (names, help, options, error sentences, output) comes
from the core's shared command table (frameaudit._core.commands, the same C++
the native plugin uses), so both front-ends behave the same. This module only
declares the options to LLDB, turns what LLDB parsed back into the argument
words the core's parser reads, gathers the debuggee through LLDBTarget and
prints the result.

On LLDB 18+ the subcommands are parsed commands (lldb.plugins.parsed_cmd):
LLDB parses the options, completes thread indexes and module names, and
builds `help`. Older LLDB gets classic commands whose words are split with
shlex and parsed by the core alone (no completion).
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
    process = target.GetProcess() if target.IsValid() else lldb.SBProcess()
    _commands.check_debuggee(name, target.IsValid(), debuggee_state(process))
    adapter = LLDBTarget(target, process)
    if name == "lint":
        return _commands.run_lint_command(adapter, adapter.modules(), options)
    return _commands.run_analysis_command(adapter, options)


def _info(name: str):
    for sub in _commands.subcommands():
        if sub.name == name:
            return sub
    raise KeyError(name)


# -- LLDB 18+: parsed commands ---------------------------------------------

# LLDB needs a short option per option; options the shared table gives no
# short form get a distinct unprintable one, which LLDB treats as "long only"
# (it prints and accepts only --name).
_LONG_ONLY_SHORTS = "\x01\x02\x03\x04\x05\x06\x07"

_VALUE_TYPES = {
    "thread": "eArgTypeThreadIndex",
    "max-depth": "eArgTypeCount",
    "format": "eArgTypeFormat",
}


class _ParsedSubcommand(_ParsedCommandBase):
    """A subcommand whose options LLDB parses. The values LLDB hands over
    are turned back into words for the core's parser, which checks them and
    says what is wrong in the same sentences as the native plugin."""

    subcommand = ""

    def __init__(self, debugger, internal_dict):
        self._words: List[str] = []
        super().__init__(debugger, internal_dict)

    def setup_command_definition(self):
        parser = self.get_parser()
        spare = iter(_LONG_ONLY_SHORTS)
        for option in _info(self.subcommand).options:
            short = option.short_name or next(spare)
            kwargs = {}
            if option.argument:
                kwargs["value_type"] = getattr(lldb, _VALUE_TYPES.get(option.long_name, ""),
                                               lldb.eArgTypeNone)
                kwargs["default"] = None
            parser.add_option(short, option.long_name, option.help,
                              dest=option.long_name.replace("-", "_"), **kwargs)
        if self.subcommand == "lint":
            parser.add_argument_set(
                [parser.make_argument_element(lldb.eArgTypeShlibName, repeat="optional")])

    def get_short_help(self):
        return _info(self.subcommand).help

    def get_long_help(self):
        return _info(self.subcommand).long_help

    def option_parsing_started(self):
        self._words = []
        super().option_parsing_started()

    def set_option_value(self, exe_ctx, opt_name, opt_value):
        option = self.get_parser().get_option_element(opt_name)
        if option is None:
            return False
        if "value_type" in option:
            self._words.append(f"--{opt_name}={'' if opt_value is None else opt_value}")
        else:
            self._words.append(f"--{opt_name}")
        option["_value_set"] = True
        return True

    def handle_option_argument_completion(self, long_option, cursor_pos):
        if long_option == "format":
            return {"values": ["text", "json"]}
        return False

    def __call__(self, debugger, args, exe_ctx, result):
        words = list(self._words)
        self._words = []
        operands = [str(a) for a in args] if args is not None else []
        if operands:
            words += ["--"] + operands
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
        ret = _handle(debugger, "command container add -h %s -H %s %s" % (
            _quote(_commands.command_help()), _quote(_commands.command_long_help()), name))
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
        _handle(debugger, f"command alias {alias} {name}")
    if not HAVE_PARSED_COMMANDS:
        _say(debugger, "frameaudit: this LLDB has no parsed Python commands (LLDB 18+); the "
                       "frameaudit commands work the same but without tab completion of "
                       "their options.\n")
    return True

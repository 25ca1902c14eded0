"""The man page and the bash and zsh completions, generated from the argparse
parser (main.build_parser) at build time, so they never drift from the
options the tool really takes. python/frameaudit/cli/launcher.cmake runs

    python3 -m frameaudit.cli.shell_files OUTDIR VERSION

and installs OUTDIR/frameaudit.1 to share/man/man1, OUTDIR/frameaudit.bash to
share/bash-completion/completions/frameaudit and OUTDIR/_frameaudit to
share/zsh/site-functions.

How an option's value is completed follows from the parser alone: its
choices when it has them, directories for metavar DIR, files for FILE, EXE,
CORE, BINARY and PROGRAM, nothing for numbers, seconds and URLs.
"""

import argparse
import datetime
import os
import sys
from typing import Dict, List, Tuple

from .main import EPILOG_EXIT, build_parser

DIR_METAVARS = {"DIR"}
FILE_METAVARS = {"FILE", "EXE", "CORE", "BINARY", "PROGRAM"}
ENVIRONMENT = [
    ("NO_COLOR", "when set (to anything), no colour unless --color always"),
    ("COLUMNS", "the text width when --width is not given"),
    ("DEBUGINFOD_URLS", "debuginfod servers (space-separated) when --debuginfod is not given"),
    ("FRAMEAUDIT_TIMEOUT", "seconds before analyze gives up on a core (default 600)"),
    ("FRAMEAUDIT_DEBUG", "1: show tracebacks of internal errors and LLDB's own messages"),
    ("FRAMEAUDIT_LLDB_PYTHON", "the directory of LLDB's Python module, if `lldb -P` is wrong"),
]


def subcommands(parser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _summaries(parser) -> Dict[str, str]:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return {a.dest: a.help or "" for a in action._choices_actions}  # noqa: SLF001
    return {}


def options(parser) -> List[argparse.Action]:
    return [a for a in parser._actions  # noqa: SLF001
            if a.option_strings and a.help is not argparse.SUPPRESS]


def positionals(parser) -> List[argparse.Action]:
    return [a for a in parser._actions  # noqa: SLF001
            if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001


def _metavar(action) -> str:
    if action.metavar:
        return str(action.metavar).split()[-1].strip("[].")
    return action.dest.upper()


def value_kind(action) -> Tuple[str, List[str]]:
    """("none"|"choices"|"dir"|"file"|"text", choices) for an action's value."""
    if action.nargs == 0:
        return "none", []
    if action.choices:
        return "choices", [str(c) for c in action.choices]
    metavar = _metavar(action)
    if metavar in DIR_METAVARS:
        return "dir", []
    if metavar in FILE_METAVARS:
        return "file", []
    return "text", []


# --- bash -------------------------------------------------------------------

def bash_completion(parser) -> str:
    subs = subcommands(parser)
    top = " ".join(list(subs) + [o for a in options(parser) for o in a.option_strings])
    lines = [
        "# bash completion for frameaudit; generated from its argparse parser",
        "# File names go through mapfile: spaces in them stay inside one name.",
        "# (python/frameaudit/cli/shell_files.py): do not edit.",
        "_frameaudit() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local cmd="" i opts=""',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        f"        {'|'.join(subs)}) cmd=${{COMP_WORDS[i]}}; break ;;",
        "        esac",
        "    done",
        '    if [ -z "$cmd" ]; then',
        f'        COMPREPLY=($(compgen -W "{top}" -- "$cur"))',
        "        return",
        "    fi",
        "    # `run ... -- PROGRAM ARGS`: after --, the program's own words.",
        '    if [ "$cmd" = run ]; then',
        "        for ((i = 2; i < COMP_CWORD; i++)); do",
        '            if [ "${COMP_WORDS[i]}" = -- ]; then',
        '                if [ $((i + 1)) -eq "$COMP_CWORD" ]; then',
        '                    mapfile -t COMPREPLY < <(compgen -c -- "$cur")',
        "                else",
        '                    mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
        "                fi",
        "                return",
        "            fi",
        "        done",
        "    fi",
        '    case "$cmd" in',
    ]
    for name, sub in subs.items():
        lines.append(f"    {name})")
        by_kind: Dict[str, List[str]] = {"dir": [], "file": [], "text": []}
        choice_cases = []
        for a in options(sub):
            kind, choices = value_kind(a)
            if kind == "choices":
                choice_cases.append((a.option_strings, choices))
            elif kind in by_kind:
                by_kind[kind] += a.option_strings
        lines.append('        case "$prev" in')
        for strings, choices in choice_cases:
            lines.append(f"        {'|'.join(strings)}) "
                         f"COMPREPLY=($(compgen -W \"{' '.join(choices)}\" -- \"$cur\")); return ;;")
        if by_kind["dir"]:
            lines.append(f"        {'|'.join(by_kind['dir'])}) "
                         "mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); return ;;")
        if by_kind["file"]:
            lines.append(f"        {'|'.join(by_kind['file'])}) "
                         "mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); return ;;")
        if by_kind["text"]:
            lines.append(f"        {'|'.join(by_kind['text'])}) return ;;")
        lines.append("        esac")
        words = [o for a in options(sub) for o in a.option_strings]
        if name == "run":
            words.append("--")
        lines.append(f'        opts="{" ".join(words)}"')
        lines.append("        ;;")
    lines += [
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        "    else",
        '        mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
        "    fi",
        "}",
        "complete -o filenames -o bashdefault -F _frameaudit frameaudit",
        "",
    ]
    return "\n".join(lines)


# --- zsh --------------------------------------------------------------------

def _zsh_text(text: str) -> str:
    """A description inside '...[...]': no quotes, brackets or colons."""
    text = " ".join((text or "").split())
    for bad, good in (("'", ""), ("[", "("), ("]", ")"), (":", " -"), ("\\", "/")):
        text = text.replace(bad, good)
    return text


def _zsh_spec(action) -> str:
    kind, choices = value_kind(action)
    description = _zsh_text(action.help.split(";")[0].split("(")[0] if action.help else "")
    repeat = "*" if isinstance(action, argparse._AppendAction) else ""  # noqa: SLF001
    value = {"none": "", "choices": f":{_metavar(action).lower()}:({' '.join(choices)})",
             "dir": ":directory:_files -/", "file": ":file:_files",
             "text": f":{_metavar(action).lower()}: "}[kind]
    strings = action.option_strings
    if len(strings) == 1:
        return f"'{repeat}{strings[0]}[{description}]{value}'"
    exclusive = "" if repeat else f"({' '.join(strings)})"
    return (f"'{exclusive}'{repeat}{{{','.join(strings)}}}'[{description}]{value}'")


def zsh_completion(parser) -> str:
    subs = subcommands(parser)
    summaries = _summaries(parser)
    lines = [
        "#compdef frameaudit",
        "# zsh completion for frameaudit; generated from its argparse parser",
        "# (python/frameaudit/cli/shell_files.py): do not edit.",
        "",
        "_frameaudit() {",
        "    local curcontext=$curcontext state line",
        "    local -a commands",
        "    commands=(",
    ]
    for name in subs:
        lines.append(f"        '{name}:{_zsh_text(summaries.get(name, ''))}'")
    lines += [
        "    )",
        "    _arguments -C \\",
    ]
    for a in options(parser):
        lines.append(f"        {_zsh_spec(a)} \\")
    lines += [
        "        '1: :->command' \\",
        "        '*:: :->arguments'",
        "    case $state in",
        "    command) _describe -t commands 'frameaudit command' commands ;;",
        "    arguments)",
        "        case $line[1] in",
    ]
    for name, sub in subs.items():
        lines.append(f"        {name})")
        lines.append("            _arguments \\")
        for a in options(sub):
            lines.append(f"                {_zsh_spec(a)} \\")
        if name == "run":
            lines.append("                '(-)1:program:_command_names -e' \\")
            lines.append("                '(-)*::arguments:_normal'")
        else:
            pos = positionals(sub)
            if pos:
                metavar = _metavar(pos[0]).lower()
                files = "_files" if _metavar(pos[0]) in FILE_METAVARS else " "
                lines.append(f"                '*:{metavar}:{files}'")
            else:
                lines[-1] = lines[-1].rstrip(" \\")
        lines.append("            ;;")
    lines += [
        "        esac",
        "        ;;",
        "    esac",
        "}",
        "",
        '_frameaudit "$@"',
        "",
    ]
    return "\n".join(lines)


# --- man page ---------------------------------------------------------------

def _roff(text: str) -> str:
    text = (text or "").replace("\\", "\\e").replace("-", "\\-")
    out = []
    for line in text.splitlines() or [""]:
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def _option_label(action) -> str:
    kind, choices = value_kind(action)
    value = ""
    if kind == "choices":
        value = " " + "|".join(choices)
    elif kind != "none":
        value = " " + _metavar(action)
    return ", ".join(f"\\fB{_roff(s)}\\fR" + (f" \\fI{_roff(value.strip())}\\fR" if value else "")
                     for s in action.option_strings)


def man_page(parser, version: str, date: str) -> str:
    subs = subcommands(parser)
    out = [
        '.\\" Generated from frameaudit\'s argparse parser by python/frameaudit/cli/shell_files.py.',
        f'.TH FRAMEAUDIT 1 "{date}" "frameaudit {_roff(version)}" "User Commands"',
        ".SH NAME",
        "frameaudit \\- audit stack frames and sra stack allocations in crash dumps and live runs",
        ".SH SYNOPSIS",
    ]
    for name, sub in subs.items():
        usage = " ".join(sub.format_usage().replace("usage: ", "", 1).split())
        out += [".PP", _roff(usage)]
    out += [".PP", "\\fBframeaudit \\-\\-version\\fR", ".SH DESCRIPTION",
            _roff(parser.description or ""),
            ".SH COMMANDS"]
    for name, sub in subs.items():
        out += [f".SS {name}", _roff(sub.description or "")]
        for a in positionals(sub):
            out += [".TP", f"\\fI{_roff(_metavar(a))}\\fR", _roff(a.help or "")]
        groups = [(g.title, g._group_actions) for g in sub._action_groups]  # noqa: SLF001
        for title, actions in groups:
            shown = [a for a in actions if a.option_strings and a.help is not argparse.SUPPRESS]
            if not shown:
                continue
            if title not in ("options", "optional arguments"):
                out.append(f".PP\n\\fI{_roff(title)}\\fR")
            for a in shown:
                out += [".TP", _option_label(a), _roff(a.help % vars(a) if "%(" in (a.help or "")
                                                       else a.help or "")]
        if sub.epilog:
            examples = [l for l in sub.epilog.splitlines() if l.startswith("example")]
            for e in examples:
                out += [".PP", "Example:", ".nf", "    " + _roff(e.split(":", 1)[1].strip()), ".fi"]
    out += [".SH EXIT STATUS", _roff(EPILOG_EXIT.replace("exit status: ", "").capitalize() + ".")]
    out += [".SH ENVIRONMENT"]
    for name, what in ENVIRONMENT:
        out += [".TP", f"\\fB{name}\\fR", _roff(what)]
    out += [".SH SEE ALSO", "\\fBlldb\\fR(1), \\fBeu\\-stack\\fR(1), \\fBdebuginfod\\fR(8), "
            "\\fBgcore\\fR(1); docs/user\\-guide.md and docs/ci\\-guide.md in the sources.", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.stderr.write("usage: python3 -m frameaudit.cli.shell_files OUTDIR VERSION\n")
        return 2
    outdir, version = argv
    os.makedirs(outdir, exist_ok=True)
    parser = build_parser(version)
    # SOURCE_DATE_EPOCH (reproducible builds) fixes the date in the man page.
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    when = (datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    files = {"frameaudit.1": man_page(parser, version, when.strftime("%Y-%m-%d")),
             "frameaudit.bash": bash_completion(parser),
             "_frameaudit": zsh_completion(parser)}
    for name, text in files.items():
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

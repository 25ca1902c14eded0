"""`frameaudit lint [--format F] [-o FILE] [--output-FORMAT FILE]... [--fail-on S] BINARY...`

Static check of every sra_alloc call site in each binary (docs/lint.md). Every binary is checked first (exists, x86-64 ELF executable or shared
library): a bad one is one line on stderr and exit 2. Output: the core's
lint text, or one JSON document / one SARIF run covering all binaries.
"""

import sys

from .. import core_api, exit_codes
from ..errors import InputError
from ..inputs.executable import inspect_program
from ..destinations import requested_outputs
from ..errors import CliError
from ..output import write_document


def lint_command(args, layout) -> int:
    outputs = requested_outputs(args)
    problems = []
    for path in args.binaries:
        try:
            # No LLDB here: files that crash LLDB are still fine to lint.
            inspect_program(path, "an executable or shared library", lldb_checks=False)
        except InputError as e:
            problems.append(e)
    if problems:
        for p in problems[:-1]:
            sys.stderr.write(p.line + "\n")
        raise problems[-1]
    core = core_api.import_core()
    results = []
    for path in args.binaries:
        try:
            results.append(core_api.lint_file(path))
        except core.FrameauditError as e:
            raise InputError(path, f"cannot lint it: {getattr(e, 'message', e)}")
    failed = False
    for out in outputs:
        text, (errors, warnings, _notes) = core_api.render_lint(results, out.format)
        try:
            write_document(text, out.name, utf8=out.format != "text")
        except CliError as e:
            sys.stderr.write(e.line + "\n")
            failed = True
    if failed:
        return exit_codes.ERROR
    return exit_codes.verdict(errors, warnings, args.fail_on)

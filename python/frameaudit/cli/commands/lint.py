"""`frameaudit lint [--format F] [-o FILE] [--fail-on S] BINARY...`

Static check of every sra_alloc call site in each binary (CONTRACT section
5). Every binary is checked first (exists, x86-64 ELF executable or shared
library): a bad one is one line on stderr and exit 2. Output: the core's
lint text, or one JSON document / one SARIF run covering all binaries.
"""

import sys

from .. import core_api, exit_codes
from ..errors import InputError
from ..inputs.executable import inspect_program
from ..output import check_output_path, write_document


def lint_command(args, layout) -> int:
    check_output_path(args.output)
    problems = []
    for path in args.binaries:
        try:
            inspect_program(path, "an executable or shared library")
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
    text, (errors, warnings, _notes) = core_api.render_lint(results, args.format)
    write_document(text, args.output, utf8=args.format != "text")
    return exit_codes.verdict(errors, warnings, args.fail_on)

"""frameaudit on cores of real Debian programs, against LLDB's and gdb's
own unwinders (corpus.py makes the cores, compare.py compares).

One test per program and core format. Each asserts:

- frameaudit reads the core and gives a document;
- it has no error or warning finding (none of these programs uses sra);
- on every thread where LLDB and the second witness (gdb; for a minidump,
  LLDB's live unwind at the same stop) agree, frameaudit's frames are
  exactly theirs: every pc and CFA, down to the outermost frame (_start,
  __libc_start_main_impl, clone3).

Threads where the two witnesses disagree are reported (as a warning and in
<build>/tests/realworld/cores/<program>/report.txt), not asserted. A
program the corpus needs and cannot find fails, naming its package.
"""

import os
import warnings

import pytest

import compare
import corpus

SELECTED = [p for p in corpus.PROGRAMS
            if not os.environ.get("RW_PROGRAMS")
            or p.name in os.environ["RW_PROGRAMS"].split(",")]

_RESULTS = {}


def results(prog):
    """Every format's CoreReport for `prog`, made once per session."""
    if prog.name not in _RESULTS:
        try:
            reports = compare.analyse_program(prog)
        except corpus.Missing as e:
            reports = e
        else:
            compare.write_report(reports, corpus.cores_dir() / prog.name / "report.txt")
        _RESULTS[prog.name] = reports
    got = _RESULTS[prog.name]
    if isinstance(got, Exception):
        pytest.fail(str(got), pytrace=False)
    return got


@pytest.mark.parametrize("fmt", corpus.FORMATS)
@pytest.mark.parametrize("prog", SELECTED, ids=lambda p: p.name)
def test_frames_match_lldb_and_gdb(prog, fmt):
    report = results(prog)[fmt]
    notes = compare.core_notes(report)
    if notes:
        print("\n".join(notes))
        warnings.warn(f"{prog.name} {fmt}: " + "; ".join(
            n for n in notes if not n.startswith(" ")))
    problems = compare.core_problems(report)
    if problems:
        row = dict(zip(compare.HEADER, compare.summary_row(report)))
        pytest.fail(f"{prog.name} ({prog.state}), {fmt} core {report.core.path}: "
                    f"{row['threads exact']} judged threads exact, frames vs LLDB "
                    f"{row['frames vs LLDB']}\n" + "\n".join(problems), pytrace=False)

"""frameaudit: audit stack frames and sra stack allocations.

Two ways in:

- In LLDB: ``command script import <dir>/frameaudit`` registers the
  ``frameaudit`` command (alias ``fa``) with ``chain``, ``audit``,
  ``regions``, ``map`` and ``lint``, and a frame recognizer that explains a
  stop inside ``sra_alloc``. ``help frameaudit`` lists them.
- From Python: the analysis core, no LLDB needed::

      import frameaudit
      report = frameaudit.analyze(my_target, all_threads=True)
      print(frameaudit.render_text(report))

  where ``my_target`` is a :class:`frameaudit.Target` subclass
  (:class:`frameaudit.lldb_target.LLDBTarget` implements it over LLDB's SB
  API, for live processes and cores).
"""

from ._core import (  # noqa: F401 - the package's public API
    DebuggerFrame,
    Finding,
    FindingKindInfo,
    Frame,
    FrameauditError,
    LintCallSite,
    LintResult,
    MemoryRegion,
    Region,
    Registers,
    Report,
    Symbol,
    Target,
    TargetInfo,
    ThreadInfo,
    ThreadReport,
    analyze,
    finding_kinds,
    lint_elf_file,
    lint_report,
    plain_function_name,
    render_chain,
    render_json,
    render_json_array,
    render_lint_text,
    render_map,
    render_regions,
    render_sarif,
    render_text,
    version,
)

__version__ = version()

__all__ = [
    "DebuggerFrame", "Finding", "FindingKindInfo", "Frame", "FrameauditError", "LintCallSite",
    "LintResult", "MemoryRegion", "Region", "Registers", "Report", "Symbol", "Target",
    "TargetInfo", "ThreadInfo", "ThreadReport", "analyze", "finding_kinds", "lint_elf_file",
    "lint_report", "plain_function_name", "render_chain", "render_json", "render_json_array",
    "render_lint_text", "render_map", "render_regions", "render_sarif", "render_text",
    "version",
]


def __lldb_init_module(debugger, internal_dict):
    """Called by LLDB's ``command script import``: register the commands and
    the sra_alloc frame recognizer in this debugger. The recognizer is added
    even when the native plugin owns the ``frameaudit`` command: the plugin
    has none (LLDB's C++ SB API cannot register one)."""
    from . import commands, recognizer

    commands.register(debugger, commands.__name__)
    recognizer.register(debugger, recognizer.__name__)

"""Which executable goes with a core, and whether a given one matches.

The core names its program (ELF: NT_FILE/NT_AUXV/NT_PRPSINFO notes; minidump:
the first module). `--exe` overrides that; either way the file must be an
x86-64 ELF executable and, where both sides carry a GNU build id, the same
build the core was written from (else LLDB silently shows wrong symbols).
"""

import os
from typing import Optional, Sequence

from ..errors import FormatProblem, InputError
from . import elf_file
from .core_file import CoreFile, describe_unknown, lldb_crash_checks, open_input
from .elf_file import ET_CORE, ET_DYN, ET_EXEC, EM_X86_64, ElfFile


def inspect_program(path: str, what: str = "an executable", lldb_checks: bool = True) -> Optional[str]:
    """Check `path` is an x86-64 ELF executable or shared object; return its build id.
    lldb_checks: also refuse what LLDB crashes on (LLDB will load it)."""
    f, size = open_input(path, what)
    with f:
        head = f.read(4)
        if size == 0:
            raise InputError(path, f"empty file (0 bytes), not {what}")
        if head != elf_file.ELF_MAGIC:
            raise InputError(path, describe_unknown(head + f.read(4), what))
        try:
            elf = ElfFile(f, size)
            if elf.type == ET_CORE:
                raise InputError(path, f"is a core file, not {what}")
            if elf.type not in (ET_EXEC, ET_DYN):
                raise InputError(path, f"is {elf_file.TYPES.get(elf.type, 'an ELF file of unknown type')}, "
                                       f"not {what}")
            if elf.machine != EM_X86_64 or not elf.is_64_le:
                raise InputError(path, f"is for another architecture ({elf.describe_arch()}); "
                                       "frameaudit handles x86-64 only")
            if lldb_checks and lldb_crash_checks():
                elf.check_symbol_tables()
            return elf_file.file_build_id(elf)
        except FormatProblem as e:
            raise InputError(path, str(e))


def _moved(named: str, sysroot: Optional[str], search_dirs: Sequence[str]) -> Optional[str]:
    """Where --sysroot or --solib-search-path put the program the core names."""
    candidates = []
    if sysroot:
        candidates.append(os.path.join(sysroot, named.lstrip("/")))
    candidates += [os.path.join(d, os.path.basename(named)) for d in search_dirs]
    return next((c for c in candidates if os.path.isfile(c)), None)


def resolve_executable(core: CoreFile, exe: Optional[str], sysroot: Optional[str] = None,
                       search_dirs: Sequence[str] = ()) -> str:
    """The absolute path of the executable to load `core` with: --exe, else
    the one the core names (under --sysroot first, then as named, then by
    name in each --solib-search-path directory)."""
    if exe is not None:
        build_id = inspect_program(exe)
        _check_match(core, exe, build_id, given=True)
        return os.path.abspath(exe)
    named = core.executable
    if not named:
        raise InputError(core.path, f"the {core.format_name} does not name its executable; "
                                    "pass it with --exe PROGRAM")
    if sysroot and os.path.isfile(os.path.join(sysroot, named.lstrip("/"))):
        named = os.path.join(sysroot, named.lstrip("/"))
    elif not os.path.isfile(named):
        named = _moved(named, None, search_dirs) or named
    if not os.path.isfile(named):
        raise InputError(core.path, f"its executable {named} (named in the core) does not exist here; "
                                    "pass it with --exe PROGRAM")
    try:
        build_id = inspect_program(named)
    except InputError as e:
        raise InputError(core.path, f"its executable {named} (named in the core) cannot be used "
                                    f"({e.problem}); pass the right one with --exe PROGRAM")
    _check_match(core, named, build_id, given=False)
    return os.path.abspath(named)


def _check_match(core: CoreFile, exe: str, build_id: Optional[str], given: bool) -> None:
    if core.build_id and build_id:
        if core.build_id != build_id:
            if given:
                raise InputError(exe, f"does not match core {core.path}: its build id is {build_id[:16]}... "
                                      f"but the core's program has {core.build_id[:16]}...")
            raise InputError(core.path, f"its executable {exe} (named in the core) has changed since the "
                                        f"core was written (build id {build_id[:16]}... vs "
                                        f"{core.build_id[:16]}... in the core); pass the program that "
                                        "crashed with --exe PROGRAM")
        return
    if not given:
        return
    # No build ids to compare: fall back to the program's name.
    name = os.path.basename(exe)
    if core.executable:
        expected = os.path.basename(core.executable)
        if name != expected:
            raise InputError(exe, f"does not match core {core.path}: the core is of {expected!r}")
    elif core.program_name and name[:15] != core.program_name:
        raise InputError(exe, f"does not match core {core.path}: the core is of {core.program_name!r}")

"""Validate a core file before LLDB sees it, and read what it says about its
program.

`inspect_core(path)` accepts ELF cores (kernel, gdb `gcore`) and minidumps
(LLDB `process save-core`) of x86-64 processes and returns a CoreFile; every
other input raises InputError with one sentence naming the file and what is
wrong (missing, empty, not a core, an executable, another architecture,
truncated, corrupt). LLDB itself accepts many broken cores silently or fails
with a vague message, so these checks come first.
"""

import os
import stat
import struct
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..errors import FormatProblem, InputError
from . import elf_file, minidump_file
from .elf_file import ET_CORE, ET_DYN, ET_EXEC, ET_REL, EM_X86_64, PT_LOAD, PT_NOTE, ElfFile

NT_PRSTATUS = 1
NT_PRPSINFO = 3
NT_AUXV = 6
NT_FILE = 0x46494C45
AT_PHDR = 3
AT_ENTRY = 9

# Checks of files that LLDB crashes on (not merely refuses): on by default;
# FRAMEAUDIT_LLDB_CRASH_CHECKS=0 hands such a file to LLDB anyway (to see
# what LLDB does with it, or to test a fixed LLDB).
CRASH_CHECKS_ENV = "FRAMEAUDIT_LLDB_CRASH_CHECKS"


def lldb_crash_checks() -> bool:
    return os.environ.get(CRASH_CHECKS_ENV, "1") != "0"


# Formats people hand us by mistake, by magic bytes.
_OTHER_FORMATS = [
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file (systemd-coredump stores cores so); decompress it first (zstd -d)"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first (gunzip)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file; decompress it first (unxz)"),
    (b"\x04\x22\x4d\x18", "an lz4-compressed file; decompress it first (lz4 -d)"),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a zip archive"),
]


@dataclass
class MappedFile:
    start: int
    end: int
    offset: int  # file offset in bytes
    path: str


@dataclass
class CoreFile:
    path: str
    format: str  # "elf" or "minidump"
    size: int
    threads: int
    executable: Optional[str]   # the main program's path as the core names it
    program_name: Optional[str]  # NT_PRPSINFO pr_fname (15 chars at most), ELF only
    build_id: Optional[str]     # the main program's GNU build id, when the core has it

    @property
    def format_name(self) -> str:
        return "minidump" if self.format == "minidump" else "ELF core"


def open_input(path: str, what: str):
    """Open a file the user named, or raise InputError saying why not."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file")
    except OSError as e:
        raise InputError(path, f"cannot access: {e.strerror}")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, f"is a directory, not {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(path, f"is not a regular file, not {what}")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InputError(path, f"cannot open: {e.strerror}")
    return f, st.st_size


def describe_unknown(head: bytes, what: str = "a core file") -> str:
    """Why `head` is not `what`: a format people mistake for it, or unknown content."""
    for magic, known in _OTHER_FORMATS:
        if head.startswith(magic):
            return f"is {known}, not {what}" if "decompress" not in known else f"is {known}"
    if what == "a core file":
        return "not a core file (neither an ELF core nor a minidump: unrecognised content)"
    return f"not {what} (not an ELF file: unrecognised content)"


def inspect_core(path: str) -> CoreFile:
    f, size = open_input(path, "a core file")
    with f:
        if size == 0:
            raise InputError(path, "empty file (0 bytes), not a core")
        head = f.read(8)
        try:
            if head[:4] == elf_file.ELF_MAGIC:
                return _inspect_elf_core(path, f, size)
            if head[:4] == minidump_file.MDMP_MAGIC:
                return _inspect_minidump(path, f, size)
        except FormatProblem as e:
            raise InputError(path, str(e))
        except OSError as e:
            raise InputError(path, f"cannot read: {e.strerror}")
        if elf_file.ELF_MAGIC.startswith(head) or minidump_file.MDMP_MAGIC.startswith(head):
            raise InputError(path, f"truncated: only {size} bytes")
        raise InputError(path, describe_unknown(head))


# --- ELF cores ---------------------------------------------------------------

def _inspect_elf_core(path: str, f, size: int) -> CoreFile:
    elf = ElfFile(f, size)
    if elf.type != ET_CORE:
        if elf.type in (ET_EXEC, ET_DYN):
            raise InputError(path, f"is not a core but {elf_file.TYPES[elf.type][:-1]}, "
                                   f"{elf.describe_arch()}); pass the core file, and the program with --exe")
        if elf.type == ET_REL:
            raise InputError(path, "is a relocatable object file (.o), not a core")
        raise InputError(path, f"is not a core (ELF type {elf.type:#x})")
    if elf.machine != EM_X86_64 or not elf.is_64_le:
        raise InputError(path, f"is a core of another architecture ({elf.describe_arch()}); "
                               "frameaudit analyses x86-64 cores only")
    segments = elf.segments()
    if not segments:
        raise FormatProblem("corrupt core: no program headers")
    elf.check_segments_in_file(segments)
    elf.check_section_headers_in_file()
    if lldb_crash_checks():
        elf.check_loads_disjoint(segments)
    notes = [s for s in segments if s.type == PT_NOTE]
    if not notes:
        raise FormatProblem("corrupt core: no PT_NOTE segment (no threads or registers)")
    threads = 0
    program_name = None
    auxv: Dict[int, int] = {}
    mapped: List[MappedFile] = []
    for seg in notes:
        for note in elf.notes(seg):
            if note.name != b"CORE":
                continue
            if note.type == NT_PRSTATUS:
                threads += 1
            elif note.type == NT_PRPSINFO and len(note.desc) >= 56 + 16:
                program_name = note.desc[40:56].split(b"\0", 1)[0].decode(errors="replace") or None
            elif note.type == NT_AUXV:
                auxv = _parse_auxv(note.desc)
            elif note.type == NT_FILE:
                mapped = _parse_nt_file(note.desc)
    if threads == 0:
        raise FormatProblem("corrupt core: no thread (NT_PRSTATUS note)")
    executable, exe_start = _main_program(mapped, auxv, program_name)
    build_id = _build_id_in_memory(elf, segments, exe_start) if exe_start is not None else None
    return CoreFile(path, "elf", size, threads, executable, program_name, build_id)


def _parse_auxv(desc: bytes) -> Dict[int, int]:
    out = {}
    for i in range(0, len(desc) - 15, 16):
        key, value = struct.unpack_from("<QQ", desc, i)
        if key == 0:
            break
        out.setdefault(key, value)
    return out


def _parse_nt_file(desc: bytes) -> List[MappedFile]:
    if len(desc) < 16:
        return []
    count, page_size = struct.unpack_from("<QQ", desc, 0)
    if count > 1 << 20 or 16 + count * 24 > len(desc):
        return []
    names = desc[16 + count * 24:].split(b"\0")
    out = []
    for i in range(min(count, len(names))):
        start, end, pgoff = struct.unpack_from("<QQQ", desc, 16 + i * 24)
        out.append(MappedFile(start, end, pgoff * page_size,
                              names[i].decode(errors="surrogateescape")))
    return out


def _main_program(mapped: List[MappedFile], auxv: Dict[int, int],
                  program_name: Optional[str]) -> Tuple[Optional[str], Optional[int]]:
    """The main program's path and the address of its first page."""
    path = None
    for key in (AT_PHDR, AT_ENTRY):
        addr = auxv.get(key)
        if addr is None:
            continue
        for m in mapped:
            if m.start <= addr < m.end:
                path = m.path
                break
        if path:
            break
    if path is None and program_name:
        # pr_fname is the first 15 bytes of the program's file name.
        for m in mapped:
            if os.path.basename(m.path)[:15] == program_name:
                path = m.path
                break
    if path is None:
        return None, None
    starts = [m.start for m in mapped if m.path == path and m.offset == 0]
    return path, (min(starts) if starts else None)


def _build_id_in_memory(elf: ElfFile, segments, start: int) -> Optional[str]:
    """The main program's build id from its ELF header page, if the core holds it
    (the kernel's default coredump_filter keeps the first page of ELF mappings)."""
    hdr = elf.read_memory(segments, start, 64)
    if not hdr or hdr[:4] != elf_file.ELF_MAGIC or hdr[4] != 2 or hdr[5] != 1:
        return None
    phoff, = struct.unpack_from("<Q", hdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", hdr, 54)
    if phentsize != 56 or not 0 < phnum < 256:
        return None
    table = elf.read_memory(segments, start + phoff, phnum * 56)
    if not table:
        return None
    phdrs = [struct.unpack_from("<IIQQQQQQ", table, i * 56) for i in range(phnum)]
    loads = [p for p in phdrs if p[0] == PT_LOAD]
    if not loads:
        return None
    bias = start - (loads[0][3] & ~0xFFF)
    for p_type, _flags, _off, vaddr, _pa, filesz, _memsz, _align in phdrs:
        if p_type != PT_NOTE or not 0 < filesz <= 4096:
            continue
        data = elf.read_memory(segments, vaddr + bias, filesz)
        if not data:
            continue
        try:
            bid = elf_file.build_id_from_notes(elf_file.parse_notes(data))
        except FormatProblem:
            continue
        if bid:
            return bid
    return None


# --- minidumps ---------------------------------------------------------------

def _inspect_minidump(path: str, f, size: int) -> CoreFile:
    md = minidump_file.read_minidump(f, size, check_threads=lldb_crash_checks())
    if md.processor != minidump_file.PROCESSOR_AMD64:
        raise InputError(path, f"is a minidump of another architecture ({md.arch_name}); "
                               "frameaudit analyses x86-64 cores only")
    if md.threads == 0:
        raise FormatProblem("corrupt minidump: no threads")
    main = md.modules[0] if md.modules else None
    executable = main.name if main and main.name.startswith("/") else None
    return CoreFile(path, "minidump", size, md.threads, executable, None,
                    main.build_id if main else None)

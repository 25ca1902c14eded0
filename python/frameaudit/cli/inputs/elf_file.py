"""A small, bounds-checked ELF reader: header, program headers, notes.

Just enough to tell a usable x86-64 core from everything else before LLDB
sees it, and to read build ids. Reads only what it needs from the file (cores
can be gigabytes). Every problem raises FormatProblem with one sentence.
"""

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterator, List, Optional, Tuple

from ..errors import FormatProblem

ELF_MAGIC = b"\x7fELF"

ET_NONE, ET_REL, ET_EXEC, ET_DYN, ET_CORE = 0, 1, 2, 3, 4
EM_X86_64 = 62
PT_LOAD, PT_NOTE = 1, 4
SHT_SYMTAB, SHT_DYNSYM = 2, 11
PN_XNUM = 0xFFFF
NT_GNU_BUILD_ID = 3

# e_machine -> how people name it; enough to say which architecture a core is.
MACHINES = {
    2: "SPARC", 3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64",
    22: "s390x", 40: "ARM", 43: "SPARC64", 50: "IA-64", 62: "x86-64",
    183: "AArch64", 243: "RISC-V", 258: "LoongArch",
}

TYPES = {ET_NONE: "an ELF file without a type", ET_REL: "a relocatable object file (ELF ET_REL)",
         ET_EXEC: "an executable (ELF ET_EXEC)", ET_DYN: "an executable or shared library (ELF ET_DYN)",
         ET_CORE: "a core file (ELF ET_CORE)"}

# Notes are small (a few KiB a thread); bound what one PT_NOTE may make us read.
MAX_NOTE_BYTES = 256 * 1024 * 1024
MAX_PHNUM = 1 << 20


def machine_name(machine: int) -> str:
    return MACHINES.get(machine, f"machine {machine}")


@dataclass
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    align: int


@dataclass
class Note:
    name: bytes
    type: int
    desc: bytes


class ElfFile:
    """An open ELF64 little-endian file. `check_*` methods raise FormatProblem."""

    def __init__(self, f: BinaryIO, size: int):
        self.f = f
        self.size = size
        ident = self._read(0, 16, "the ELF identification")
        self.elf_class = ident[4]
        self.data = ident[5]
        if self.elf_class not in (1, 2):
            raise FormatProblem(f"invalid ELF header (class byte {self.elf_class:#x}, expected 1 or 2)")
        if self.data not in (1, 2):
            raise FormatProblem(f"invalid ELF header (data byte {self.data:#x}, expected 1 or 2)")
        endian = "<" if self.data == 1 else ">"
        if self.elf_class == 1:
            hdr = self._read(0, 52, "the ELF header")
            (self.type, self.machine) = struct.unpack_from(endian + "HH", hdr, 16)
            self.phoff = self.shoff = self.phentsize = self.phnum = 0
            return
        hdr = self._read(0, 64, "the ELF header")
        (self.type, self.machine, _version, self.entry, self.phoff, self.shoff, _flags,
         _ehsize, self.phentsize, self.phnum, self.shentsize, self.shnum,
         _shstrndx) = struct.unpack_from(endian + "HHIQQQIHHHHHH", hdr, 16)

    @property
    def is_64_le(self) -> bool:
        return self.elf_class == 2 and self.data == 1

    def describe_arch(self) -> str:
        if self.is_64_le:
            return machine_name(self.machine)
        bits = "32-bit" if self.elf_class == 1 else "64-bit"
        endian = "" if self.data == 1 else " big-endian"
        return f"{machine_name(self.machine)}, {bits}{endian}"

    # --- raw access -------------------------------------------------------

    def _read(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FormatProblem(
                f"truncated: {what} needs bytes {offset:#x}..{offset + length:#x} "
                f"but the file has only {self.size} bytes")
        self.f.seek(offset)
        data = self.f.read(length)
        if len(data) != length:
            raise FormatProblem(f"truncated: could not read {what} at offset {offset:#x}")
        return data

    # --- program headers --------------------------------------------------

    def segment_count(self) -> int:
        if self.phnum != PN_XNUM:
            return self.phnum
        # Extended numbering: the real count is section header 0's sh_info.
        if self.shoff == 0:
            raise FormatProblem("invalid ELF header (e_phnum is PN_XNUM but there is no section header 0)")
        sh0 = self._read(self.shoff, 64, "section header 0 (extended program header count)")
        return struct.unpack_from("<I", sh0, 44)[0]

    def segments(self) -> List[Segment]:
        if not self.is_64_le:
            raise FormatProblem("not a 64-bit little-endian ELF file")
        count = self.segment_count()
        if count == 0:
            return []
        if self.phentsize != 56:
            raise FormatProblem(f"invalid ELF header (program header size {self.phentsize}, expected 56)")
        if count > MAX_PHNUM:
            raise FormatProblem(f"invalid ELF header ({count} program headers)")
        table = self._read(self.phoff, count * 56, f"the program header table ({count} entries)")
        out = []
        for i in range(count):
            (p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz,
             p_align) = struct.unpack_from("<IIQQQQQQ", table, i * 56)
            out.append(Segment(p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align))
        return out

    def check_section_headers_in_file(self) -> None:
        """gdb's cores end with a section header table: a cut there is a truncation too."""
        if self.shoff == 0 or self.shnum == 0:
            return
        end = self.shoff + self.shnum * self.shentsize
        if end > self.size:
            raise FormatProblem(
                f"truncated: the section header table ends at byte {end} "
                f"but the file has only {self.size} bytes ({_bytes(end - self.size)} missing)")

    def check_segments_in_file(self, segments: List[Segment]) -> None:
        """Every PT_LOAD / PT_NOTE must lie wholly in the file (else truncated)."""
        for i, seg in enumerate(segments):
            if seg.type not in (PT_LOAD, PT_NOTE) or seg.filesz == 0:
                continue
            end = seg.offset + seg.filesz
            if end > self.size:
                kind = f"PT_LOAD for {seg.vaddr:#x}" if seg.type == PT_LOAD else "PT_NOTE"
                raise FormatProblem(
                    f"truncated: segment {i} ({kind}) ends at byte {end} "
                    f"but the file has only {self.size} bytes ({_bytes(end - self.size)} missing)")

    def check_loads_disjoint(self, segments: List[Segment]) -> None:
        """No two PT_LOAD segments of a core map the same address: the kernel,
        gdb and LLDB never write that, and LLDB misreads or crashes on it."""
        loads = sorted((s.vaddr, s.vaddr + s.memsz, i) for i, s in enumerate(segments)
                       if s.type == PT_LOAD and s.memsz > 0)
        for (start, end, i), (next_start, _next_end, j) in zip(loads, loads[1:]):
            if next_start < end:
                raise FormatProblem(
                    f"corrupt core: PT_LOAD segments {i} and {j} both map {next_start:#x} "
                    "(the memory segments of a core never overlap; LLDB would misread or crash on it)")

    # --- sections (executables) -------------------------------------------

    def check_symbol_tables(self) -> None:
        """.symtab and .dynsym must have ELF64's 24-byte entries: LLDB divides
        by the entry size (SIGFPE on 0)."""
        if not self.is_64_le or self.shoff == 0 or self.shnum == 0 or self.shentsize != 64:
            return
        if self.shoff + self.shnum * 64 > self.size:
            return  # check_section_headers_in_file's business
        table = self._read(self.shoff, self.shnum * 64, "the section header table")
        for i in range(self.shnum):
            sh_type, = struct.unpack_from("<I", table, i * 64 + 4)
            if sh_type not in (SHT_SYMTAB, SHT_DYNSYM):
                continue
            entsize, = struct.unpack_from("<Q", table, i * 64 + 56)
            if entsize != 24:
                name = ".symtab" if sh_type == SHT_SYMTAB else ".dynsym"
                raise FormatProblem(
                    f"corrupt ELF file: its {name} section (section {i}) has entries of "
                    f"{entsize} bytes, not 24; LLDB cannot load it")

    # --- notes ------------------------------------------------------------

    def notes(self, seg: Segment) -> Iterator[Note]:
        if seg.filesz > MAX_NOTE_BYTES:
            raise FormatProblem(f"PT_NOTE segment of {seg.filesz} bytes is implausibly large")
        data = self._read(seg.offset, seg.filesz, "a PT_NOTE segment")
        yield from parse_notes(data, seg.offset)

    # --- memory image (cores) --------------------------------------------

    def read_memory(self, segments: List[Segment], addr: int, length: int) -> Optional[bytes]:
        """Bytes at a virtual address of a core, from the PT_LOAD holding them, or None."""
        for seg in segments:
            if seg.type != PT_LOAD or not (seg.vaddr <= addr and addr + length <= seg.vaddr + seg.filesz):
                continue
            offset = seg.offset + (addr - seg.vaddr)
            if offset + length > self.size:
                return None
            self.f.seek(offset)
            data = self.f.read(length)
            return data if len(data) == length else None
        return None


def parse_notes(data: bytes, where: int = 0) -> Iterator[Note]:
    """ELF notes in `data` (4-byte aligned, as Linux writes them)."""
    pos = 0
    count = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
        name_start = pos + 12
        desc_start = name_start + _align4(namesz)
        end = desc_start + _align4(descsz)
        if desc_start + descsz > len(data):
            raise FormatProblem(f"corrupt note at offset {where + pos:#x} "
                                f"(sizes {namesz}/{descsz} run past the end of the PT_NOTE)")
        name = data[name_start:name_start + namesz].rstrip(b"\0")
        yield Note(name, ntype, data[desc_start:desc_start + descsz])
        pos = end
        count += 1
        if count > 10_000_000:
            raise FormatProblem("corrupt notes (too many)")
    if pos < len(data) and any(data[pos:]):
        raise FormatProblem(f"corrupt note at offset {where + pos:#x} (a partial note header)")


def _bytes(n: int) -> str:
    return "1 byte" if n == 1 else f"{n} bytes"


def _align4(n: int) -> int:
    return (n + 3) & ~3


def build_id_from_notes(notes) -> Optional[str]:
    for note in notes:
        if note.type == NT_GNU_BUILD_ID and note.name == b"GNU" and note.desc:
            return note.desc.hex()
    return None


def open_elf(path: str) -> Tuple[BinaryIO, int]:
    f = open(path, "rb")
    return f, os.fstat(f.fileno()).st_size


def file_build_id(elf: ElfFile) -> Optional[str]:
    """The GNU build id of an executable or library file, if it has one."""
    try:
        for seg in elf.segments():
            if seg.type == PT_NOTE and seg.offset + seg.filesz <= elf.size:
                bid = build_id_from_notes(elf.notes(seg))
                if bid:
                    return bid
    except FormatProblem:
        return None
    return None

"""A small, bounds-checked minidump reader (the format LLDB's
`process save-core --plugin-name=minidump` writes).

Checks the header, the stream directory and that every stream and memory
range lies in the file; reads the CPU architecture and the module list (the
first module is the main executable, with its ELF build id). Every problem
raises FormatProblem with one sentence.
"""

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, List, Optional

from ..errors import FormatProblem

MDMP_MAGIC = b"MDMP"
MDMP_VERSION = 0xA793

THREAD_LIST = 3
MODULE_LIST = 4
MEMORY_LIST = 5
SYSTEM_INFO = 7
MEMORY64_LIST = 9

STREAM_NAMES = {THREAD_LIST: "ThreadList", MODULE_LIST: "ModuleList", MEMORY_LIST: "MemoryList",
                SYSTEM_INFO: "SystemInfo", MEMORY64_LIST: "Memory64List"}

PROCESSOR_AMD64 = 9
PROCESSORS = {0: "i386", 5: "ARM", 6: "IA-64", 9: "x86-64",
              12: "AArch64", 0x8001: "SPARC", 0x8002: "PowerPC",
              0x8003: "AArch64", 0x8004: "MIPS", 0x8005: "PowerPC64", 0x8006: "MIPS64"}

CV_ELF_BUILD_ID = b"LEpB"  # 0x4270454c: Breakpad/LLDB "ELF build id" CodeView record
MAX_STREAMS = 1 << 16
MAX_MODULES = 1 << 16
MAX_RANGES = 1 << 24
THREAD_ENTRY = 48  # MINIDUMP_THREAD: ids, TEB, stack descriptor, context location


@dataclass
class Module:
    base: int
    size: int
    name: str
    build_id: Optional[str]


@dataclass
class Minidump:
    size: int
    processor: Optional[int] = None
    threads: int = 0
    modules: List[Module] = field(default_factory=list)

    @property
    def arch_name(self) -> str:
        if self.processor is None:
            return "unknown architecture"
        return PROCESSORS.get(self.processor, f"processor architecture {self.processor:#x}")


class _Reader:
    def __init__(self, f: BinaryIO, size: int):
        self.f, self.size = f, size

    def read(self, offset: int, length: int, what: str) -> bytes:
        if offset + length > self.size:
            raise FormatProblem(
                f"truncated minidump: {what} needs bytes {offset:#x}..{offset + length:#x} "
                f"but the file has only {self.size} bytes")
        self.f.seek(offset)
        data = self.f.read(length)
        if len(data) != length:
            raise FormatProblem(f"truncated minidump: could not read {what}")
        return data


def read_minidump(f: BinaryIO, size: int, check_threads: bool = True) -> Minidump:
    r = _Reader(f, size)
    header = r.read(0, 32, "the header")
    magic, version, nstreams, dir_rva = struct.unpack_from("<4sIII", header, 0)
    if magic != MDMP_MAGIC:
        raise FormatProblem("not a minidump")
    if version & 0xFFFF != MDMP_VERSION:
        raise FormatProblem(f"unsupported minidump version {version & 0xFFFF:#x}")
    if nstreams > MAX_STREAMS:
        raise FormatProblem(f"corrupt minidump header ({nstreams} streams)")
    directory = r.read(dir_rva, nstreams * 12, f"the stream directory ({nstreams} streams)")
    md = Minidump(size)
    streams = {}
    for i in range(nstreams):
        stype, dsize, rva = struct.unpack_from("<III", directory, i * 12)
        if dsize == 0:
            continue
        name = STREAM_NAMES.get(stype, f"{stype:#x}")
        if rva + dsize > size:
            raise FormatProblem(
                f"truncated minidump: stream {name} ends at byte {rva + dsize} "
                f"but the file has only {size} bytes")
        streams.setdefault(stype, (rva, dsize))

    if SYSTEM_INFO not in streams:
        raise FormatProblem("corrupt minidump: no SystemInfo stream (cannot tell the architecture)")
    rva, dsize = streams[SYSTEM_INFO]
    md.processor = struct.unpack_from("<H", r.read(rva, 2, "SystemInfo"), 0)[0]

    if THREAD_LIST not in streams:
        raise FormatProblem("corrupt minidump: no ThreadList stream")
    rva, dsize = streams[THREAD_LIST]
    md.threads = struct.unpack_from("<I", r.read(rva, 4, "ThreadList"), 0)[0]
    if check_threads:
        _check_threads(r, rva, dsize, md.threads)

    if MEMORY64_LIST in streams:
        rva, _ = streams[MEMORY64_LIST]
        count, base_rva = struct.unpack_from("<QQ", r.read(rva, 16, "Memory64List"), 0)
        if count > MAX_RANGES:
            raise FormatProblem(f"corrupt minidump: Memory64List claims {count} ranges")
        table = r.read(rva + 16, count * 16, "the Memory64List descriptors")
        total = sum(struct.unpack_from("<Q", table, i * 16 + 8)[0] for i in range(count))
        if base_rva + total > size:
            raise FormatProblem(
                f"truncated minidump: memory contents end at byte {base_rva + total} "
                f"but the file has only {size} bytes ({base_rva + total - size} bytes missing)")
    if MEMORY_LIST in streams:
        rva, _ = streams[MEMORY_LIST]
        count = struct.unpack_from("<I", r.read(rva, 4, "MemoryList"), 0)[0]
        if count > MAX_RANGES:
            raise FormatProblem(f"corrupt minidump: MemoryList claims {count} ranges")
        table = r.read(rva + 4, count * 16, "the MemoryList descriptors")
        for i in range(count):
            dsize, drva = struct.unpack_from("<II", table, i * 16 + 8)
            if drva + dsize > size:
                raise FormatProblem(
                    f"truncated minidump: memory range {i} ends at byte {drva + dsize} "
                    f"but the file has only {size} bytes")

    if MODULE_LIST in streams:
        md.modules = _modules(r, *streams[MODULE_LIST])
    return md


def _check_threads(r: _Reader, rva: int, dsize: int, count: int) -> None:
    """Every thread entry inside its stream, its registers and stack inside the
    file: LLDB reads past the stream (and crashes) when the count lies."""
    if 4 + count * THREAD_ENTRY > dsize:
        fits = max(0, (dsize - 4) // THREAD_ENTRY)
        raise FormatProblem(
            f"corrupt minidump: the ThreadList stream claims {count} threads but has room for "
            f"{fits} ({dsize} bytes); LLDB would read past it")
    table = r.read(rva + 4, count * THREAD_ENTRY, "the ThreadList entries")
    for i in range(count):
        stack_size, stack_rva, context_size, context_rva = struct.unpack_from(
            "<IIII", table, i * THREAD_ENTRY + 32)
        for what, size, at in (("stack", stack_size, stack_rva),
                               ("registers", context_size, context_rva)):
            if size and at + size > r.size:
                raise FormatProblem(
                    f"truncated minidump: thread {i}'s {what} end at byte {at + size} "
                    f"but the file has only {r.size} bytes")


def _modules(r: _Reader, rva: int, dsize: int) -> List[Module]:
    count = struct.unpack_from("<I", r.read(rva, 4, "ModuleList"), 0)[0]
    if count > MAX_MODULES:
        raise FormatProblem(f"corrupt minidump: ModuleList claims {count} modules")
    table = r.read(rva + 4, count * 108, "the ModuleList entries")
    out = []
    for i in range(count):
        entry = table[i * 108:(i + 1) * 108]
        base, size, _checksum, _stamp, name_rva = struct.unpack_from("<QIIII", entry, 0)
        cv_size, cv_rva = struct.unpack_from("<II", entry, 76)
        name = _string(r, name_rva)
        build_id = None
        if 4 < cv_size <= 4096:
            cv = r.read(cv_rva, cv_size, f"module {i}'s CodeView record")
            if cv[:4] == CV_ELF_BUILD_ID:
                build_id = cv[4:].hex() or None
        out.append(Module(base, size, name, build_id))
    return out


def _string(r: _Reader, rva: int) -> str:
    length = struct.unpack_from("<I", r.read(rva, 4, "a module name"), 0)[0]
    if length > 65536:
        raise FormatProblem("corrupt minidump: a module name is implausibly long")
    return r.read(rva + 4, length, "a module name").decode("utf-16-le", errors="replace")

"""Type stubs of frameaudit._core, the pybind11 module over the analysis core."""

from typing import Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union

FrameKind = Literal["normal", "dynamic", "relocated", "allocator", "unknown"]
ChainEnd = Literal["outermost", "null_rbp", "misaligned", "out_of_stack", "not_monotonic",
                   "cycle", "bad_return_address", "unreadable", "max_depth"]
RegionState = Literal["live", "dead", "corrupt"]
Evidence = Literal["header", "stub", "span"]
Severity = Literal["error", "warning", "note"]
ErrorCode = Literal["invalid_argument", "no_process", "unsupported_arch", "unreadable",
                    "bad_input", "internal"]


class FrameauditError(Exception):
    """An operation of the core failed; ``code`` says why."""
    message: str
    code: ErrorCode
    def __init__(self, message: str, code: ErrorCode = ...) -> None: ...


# -- what a Target hands the core ---------------------------------------------

class MemoryRegion:
    start: int
    end: int
    readable: bool
    writable: bool
    executable: bool
    is_stack: Optional[bool]
    name: str
    def __init__(self, start: int, end: int, readable: bool = False, writable: bool = False,
                 executable: bool = False, is_stack: Optional[bool] = None,
                 name: str = "") -> None: ...

class Registers:
    rip: int
    rsp: int
    rbp: int
    general: List[Tuple[str, int]]
    def __init__(self, rip: int = 0, rsp: int = 0, rbp: int = 0,
                 general: Sequence[Tuple[str, int]] = ...) -> None: ...

class DebuggerFrame:
    pc: int
    cfa: Optional[int]
    sp: Optional[int]
    fp: Optional[int]
    def __init__(self, pc: int, cfa: Optional[int] = None, sp: Optional[int] = None,
                 fp: Optional[int] = None) -> None: ...

class ThreadInfo:
    tid: int
    index: int
    name: Optional[str]
    registers: Registers
    debugger_frames: Optional[List[DebuggerFrame]]
    stop_reason: str
    is_selected: bool
    def __init__(self, tid: int, index: int, name: Optional[str] = None,
                 registers: Registers = ..., debugger_frames: Optional[Sequence[DebuggerFrame]] = None,
                 stop_reason: str = "", is_selected: bool = False) -> None: ...

class Symbol:
    module: Optional[str]
    function: Optional[str]
    function_start: Optional[int]
    function_end: Optional[int]
    inlined: List[str]
    file: Optional[str]
    line: Optional[int]
    def __init__(self, module: Optional[str] = None, function: Optional[str] = None,
                 function_start: Optional[int] = None, function_end: Optional[int] = None,
                 inlined: Sequence[str] = ..., file: Optional[str] = None,
                 line: Optional[int] = None) -> None: ...

class TargetInfo:
    executable: Optional[str]
    core: Optional[str]
    pid: Optional[int]
    arch: str
    def __init__(self, executable: Optional[str] = None, core: Optional[str] = None,
                 pid: Optional[int] = None, arch: str = "x86_64") -> None: ...


class Target:
    """Subclass and implement every method (see help(frameaudit.Target))."""
    def __init__(self) -> None: ...
    def info(self) -> Union[TargetInfo, Dict[str, object]]: ...
    def read_memory(self, address: int, size: int) -> Union[bytes, bytearray, memoryview, None]: ...
    def memory_regions(self) -> Sequence[Union[MemoryRegion, Dict[str, object]]]: ...
    def threads(self) -> Sequence[Union[ThreadInfo, Dict[str, object]]]: ...
    def symbolize(self, pc: int) -> Union[Symbol, Dict[str, object], None]: ...
    def allocator_entries(self) -> Sequence[int]: ...
    def clear_symbol_cache(self) -> None: ...


# -- the report (read-only) -----------------------------------------------------

class LinkCheck:
    name: str
    passed: bool
    detail: str

class ChainLink:
    address: int
    saved_rbp: int
    return_address: int
    call_target: Optional[int]
    checks: List[LinkCheck]

class FrameVariable:
    name: str
    type: str
    size: int
    parameter: bool
    pointer: bool
    where: str
    address: int
    reg: str
    value: Optional[int]
    why: str

class Frame:
    index: int
    pc: int
    cfa: Optional[int]
    rsp: Optional[int]
    rbp: Optional[int]
    function: Optional[str]
    inlined: List[str]
    module: Optional[str]
    file: Optional[str]
    line: Optional[int]
    static_size: Optional[int]
    span: Optional[int]
    dynamic_bytes: Optional[int]
    kind: FrameKind
    regions: List[str]
    function_start: Optional[int]
    saved_rbp_slot: Optional[int]
    note: str
    variables: List[FrameVariable]
    registers: List[Tuple[str, int]]

class CallSite:
    pc: int
    function: Optional[str]
    file: Optional[str]
    line: Optional[int]

class Region:
    id: str
    base: int
    size: int
    reserved: int
    frame: Optional[int]
    function: Optional[str]
    call_site: Optional[CallSite]
    state: RegionState
    evidence: Evidence
    sequence: Optional[int]

class StackRange:
    low: int
    high: int

class ThreadReport:
    tid: int
    index: int
    name: Optional[str]
    stack: Optional[StackRange]
    registers: Registers
    frames: List[Frame]
    chain_end: ChainEnd
    chain_end_detail: str
    regions: List[Region]
    links: List[ChainLink]
    stop_reason: str
    is_selected: bool

class Finding:
    kind: str
    severity: Severity
    thread: Optional[int]
    frame: Optional[int]
    region: Optional[str]
    function: Optional[str]
    address: Optional[int]
    file: Optional[str]
    line: Optional[int]
    message: str

class Summary:
    threads: int
    frames: int
    regions: int
    errors: int
    warnings: int
    notes: int

class Report:
    tool_version: str
    target: TargetInfo
    threads: List[ThreadReport]
    findings: List[Finding]
    summary: Summary

class FindingKindInfo:
    kind: str
    default_severity: Severity
    summary: str
    help: str

class LintCallSite:
    address: int
    function: Optional[str]
    function_start: int
    safe: bool
    reason: str
    file: Optional[str]
    line: Optional[int]

class LintResult:
    module: str
    code_bytes: int
    call_sites: List[LintCallSite]
    findings: List[Finding]


# -- functions ----------------------------------------------------------------

def analyze(target: Target, *, threads: Sequence[int] = ..., all_threads: bool = False,
            max_depth: int = 1000000, dead_scan_bytes: int = 65536,
            compare_unwinder: bool = True,
            progress: Optional[Callable[[int, int], None]] = None,
            debug_dirs: Sequence[str] = ..., frame_variables: bool = False) -> Report: ...
def render_json(report: Report) -> str: ...
def render_json_array(reports: Sequence[Report]) -> str: ...
def render_sarif(reports: Sequence[Report], *, runs: str = "per-core", min_level: str = "note",
                 category: str = "frameaudit", max_runs: int = 0) -> str: ...
def merge_sarif(logs: Sequence[str], *, runs: str = "per-core", max_runs: int = 0) -> str: ...
def render_text(report: Report, *, unicode: bool = True, color: bool = False,
                width: int = 120) -> str: ...
def render_chain(report: Report, *, unicode: bool = True, color: bool = False,
                 width: int = 120) -> str: ...
def render_regions(report: Report, *, unicode: bool = True, color: bool = False,
                   width: int = 120) -> str: ...
def render_map(report: Report, thread: ThreadReport, *, unicode: bool = True,
               color: bool = False, width: int = 120) -> str: ...
def render_lint_text(results: Sequence[LintResult]) -> str: ...
def render_backtrace(report: Report) -> str: ...
def frame_annotation(frame: Frame, repaired: bool = False) -> str: ...
def render_map_svg(report: Report) -> str: ...
def render_html(report: Report) -> str: ...
def write_output_file(path: str, data: str) -> None: ...
def lint_elf_file(path: str, load_bias: int = 0) -> LintResult: ...
def lint_report(results: Sequence[LintResult], target: TargetInfo) -> Report: ...
def plain_function_name(name: str) -> str: ...
def is_elf_core(path: str) -> bool: ...
def open_elf_core(core: str, *, executable: Optional[str] = None, sysroot: Optional[str] = None,
                  solib_search_paths: Sequence[str] = ...,
                  debug_dirs: Sequence[str] = ...) -> Target: ...
def version() -> str: ...
def finding_kinds() -> List[FindingKindInfo]: ...


# -- the shared `frameaudit` debugger command --------------------------------------

class commands:  # a submodule: frameaudit._core.commands
    COMMAND_NAME: str
    ALIAS_NAME: str

    class OptionInfo:
        short_name: Optional[str]
        long_name: str
        argument: Optional[str]
        help: str
        repeatable: bool

    class SubcommandInfo:
        name: str
        help: str
        syntax: str
        long_help: str
        options: List["commands.OptionInfo"]

    class CommandOptions:
        subcommand: str
        threads: List[int]
        all_threads: bool
        format: Literal["text", "json"]
        max_depth: Optional[int]
        ascii: bool
        svg: Optional[str]
        module: Optional[str]
        provider_on: Optional[bool]
        help: bool

    class ModuleInfo:
        path: str
        name: str
        load_bias: int
        references_allocator: bool
        debug_info: bool
        def __init__(self, path: str, name: str, load_bias: int = 0,
                     references_allocator: bool = False, debug_info: bool = False) -> None: ...

    @staticmethod
    def command_help() -> str: ...
    @staticmethod
    def command_long_help() -> str: ...
    @staticmethod
    def subcommand_list_help() -> str: ...
    @staticmethod
    def complete(subcommand: str, words: Sequence[str], cursor: int,
                 thread_indexes: Sequence[str] = ..., modules: Sequence[str] = ...,
                 files: Optional[Callable[[str], Sequence[str]]] = None
                 ) -> List[Tuple[str, str]]: ...
    @staticmethod
    def subcommands() -> List["commands.SubcommandInfo"]: ...
    @staticmethod
    def help_text(subcommand: str) -> str: ...
    @staticmethod
    def parse_options(subcommand: str, args: Sequence[str]) -> "commands.CommandOptions": ...
    @staticmethod
    def check_debuggee(subcommand: str, has_target: bool,
                       state: Literal["none", "running", "stopped", "exited"]) -> None: ...
    @staticmethod
    def run_analysis_command(target: Target, options: "commands.CommandOptions",
                             progress: Optional[Callable[[int, int], None]] = None) -> str: ...
    @staticmethod
    def run_lint_command(target: Target, modules: Sequence["commands.ModuleInfo"],
                         options: "commands.CommandOptions",
                         progress: Optional[Callable[[int, int], None]] = None) -> str: ...
    @staticmethod
    def render_command_output(report: Report, options: "commands.CommandOptions") -> str: ...

    class messages:
        NO_TARGET: str
        NO_PROCESS: str
        PROCESS_RUNNING: str
        PROCESS_EXITED: str
        @staticmethod
        def already_loaded(this_front_end: str) -> str: ...
        @staticmethod
        def internal_error(what: str) -> str: ...

SRA_AUDIT_HEADER_SIZE: int
SRA_STUB_SIZE: int
SRA_STACK_RESERVE: int
SRA_AUDIT_MAGIC: int

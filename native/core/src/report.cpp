// report.cpp: the contract spellings of the report's enums, the summary, and
// the catalogue of finding kinds (shared by every renderer and by --help).
#include "frameaudit/report.h"

namespace frameaudit {

const char *to_string(FrameKind k) {
  switch (k) {
  case FrameKind::Normal:
    return "normal";
  case FrameKind::Dynamic:
    return "dynamic";
  case FrameKind::Relocated:
    return "relocated";
  case FrameKind::Allocator:
    return "allocator";
  case FrameKind::Unknown:
    return "unknown";
  }
  return "unknown";
}

const char *to_string(ChainEnd e) {
  switch (e) {
  case ChainEnd::Outermost:
    return "outermost";
  case ChainEnd::NullRbp:
    return "null_rbp";
  case ChainEnd::Misaligned:
    return "misaligned";
  case ChainEnd::OutOfStack:
    return "out_of_stack";
  case ChainEnd::NotMonotonic:
    return "not_monotonic";
  case ChainEnd::Cycle:
    return "cycle";
  case ChainEnd::BadReturnAddress:
    return "bad_return_address";
  case ChainEnd::Unreadable:
    return "unreadable";
  case ChainEnd::MaxDepth:
    return "max_depth";
  }
  return "unreadable";
}

const char *to_string(RegionState s) {
  switch (s) {
  case RegionState::Live:
    return "live";
  case RegionState::Dead:
    return "dead";
  case RegionState::Corrupt:
    return "corrupt";
  }
  return "corrupt";
}

const char *to_string(Evidence e) {
  switch (e) {
  case Evidence::Header:
    return "header";
  case Evidence::Stub:
    return "stub";
  case Evidence::Span:
    return "span";
  }
  return "span";
}

const char *to_string(UnwindMethod m) {
  switch (m) {
  case UnwindMethod::Context:
    return "context";
  case UnwindMethod::Cfi:
    return "cfi";
  case UnwindMethod::FramePointer:
    return "frame_pointer";
  case UnwindMethod::Decoded:
    return "decoded";
  case UnwindMethod::Scan:
    return "scan";
  }
  return "context";
}

const char *to_string(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "note";
}

const char *to_string(CheckKind k) {
  switch (k) {
  case CheckKind::Aligned:
    return "aligned";
  case CheckKind::InStack:
    return "in_stack";
  case CheckKind::Monotonic:
    return "monotonic";
  case CheckKind::NoCycle:
    return "no_cycle";
  case CheckKind::Readable:
    return "readable";
  case CheckKind::ReturnInCode:
    return "return_in_code";
  case CheckKind::CallBeforeReturn:
    return "call_before_return";
  case CheckKind::Frame0:
    return "frame0";
  case CheckKind::FrameSize:
    return "frame_size";
  case CheckKind::SignalTrampoline:
    return "signal_trampoline";
  case CheckKind::SignalFrame:
    return "signal_frame";
  case CheckKind::Cfi:
    return "cfi";
  }
  return "?";
}

void LinkChecks::add(CheckKind kind, bool passed, std::string detail) {
  if (count_ < kCapacity && !detail.empty())
    details_.emplace_back(count_, std::move(detail));
  add(kind, passed);
}

LinkCheck LinkChecks::operator[](size_t i) const {
  LinkCheck c{to_string(kinds_[i]), (passed_ >> i & 1u) != 0, {}};
  for (const auto &[at, detail] : details_)
    if (at == i)
      c.detail = detail;
  return c;
}

void summarize(Report &report) {
  Summary s;
  s.threads = report.threads.size();
  for (const auto &t : report.threads) {
    s.frames += t.frames.size();
    s.regions += t.regions.size();
  }
  for (const auto &f : report.findings) {
    if (f.kind == finding_kind::kMissingSymbols || f.kind == finding_kind::kModuleMismatch)
      ++s.incomplete;
    switch (f.severity) {
    case Severity::Error:
      ++s.errors;
      break;
    case Severity::Warning:
      ++s.warnings;
      break;
    case Severity::Note:
      ++s.notes;
      break;
    }
  }
  report.summary = s;
}

const std::vector<FindingKindInfo> &finding_kinds() {
  static const std::vector<FindingKindInfo> kinds = {
      {finding_kind::kBrokenChain, Severity::Error,
       "The RBP chain of a thread breaks before the outermost frame.",
       "A saved RBP or return address on the stack fails a check (alignment, inside the stack, "
       "strictly increasing, return address after a call in executable code). Frames above the "
       "break cannot be trusted. A raw sra_alloc call in a caller whose epilogue restores RSP with "
       "`add $N,%rsp` is a common cause; the finding names it when lint can see it.",
       "Run `frameaudit lint` on the modules in the failing thread: a raw sra_alloc call in an "
       "unsafe caller is the usual cause; replace it with SRA_ALLOC(). Otherwise look at the frame "
       "just below the break for a stack buffer overflow (build with -fstack-protector-all or "
       "AddressSanitizer and rerun). Frames above the break are not trustworthy."},
      {finding_kind::kUnwinderMismatch, Severity::Warning,
       "The debugger's unwinder and the RBP chain disagree.",
       "LLDB's own backtrace and the frame-pointer walk give different frames. After a relocating "
       "allocation the CFI of an RSP-based caller no longer describes its frame, so one of the two "
       "is wrong; the message says at which frame they diverge.",
       "Trust the frame-pointer walk (`fa chain`) for this thread. If the diverging frame calls "
       "sra_alloc, check that it uses SRA_ALLOC() and that it is built with frame pointers "
       "(-fno-omit-frame-pointer); otherwise the debug info or the core may not match the binary."},
      {finding_kind::kRelocatedFrame, Severity::Note,
       "A frame's RSP was lowered by the stack relocation allocator.",
       "The frame holds blocks from sra_alloc: its RSP is below what its prologue set up. This is "
       "expected when the caller is safe (SRA_ALLOC); listed so the blocks can be found.",
       "Nothing to fix when the caller uses SRA_ALLOC(): this marks where the allocator's blocks "
       "are. Run `frameaudit lint` on the module if the caller uses raw sra_alloc."},
      {finding_kind::kRegionOverflow, Severity::Error, "A write ran past the end of an allocated block.",
       "The audit header directly above the block fails its integrity check, or the stub remnant "
       "above a plain block no longer holds the caller's RBP and return address. Something wrote "
       "past the block's end.",
       "Find the write past the block: check the sizes passed to sra_alloc/SRA_ALLOC at the call "
       "site against what the code writes into the block, and rerun the test with the audit "
       "allocator (libsra_audit.a) or AddressSanitizer to stop at the write."},
      {finding_kind::kDanglingPointer, Severity::Error, "A pointer into a released block is still held.",
       "A live frame slot or a register of the thread holds an address inside a block whose "
       "function already returned (a dead block). Using it reads or writes memory that later calls "
       "reuse. Error when the block lies in released stack below RSP; warning when live frames "
       "reuse its memory, and when a caller's slot points into a younger frame's block (a stale "
       "pointer whose memory the block reuses, or the block's address escaped to a caller: it "
       "dangles when that frame returns).",
       "Do not keep or return a pointer to a stack block after the function that allocated it "
       "returns: allocate in the caller that outlives its users, or copy the data to heap memory "
       "(malloc) before returning."},
      {finding_kind::kUnsafeCaller, Severity::Error, "sra_alloc is called from a function that trusts RSP.",
       "The caller restores RSP with `add $N,%rsp` (or only pops) on a return path, or addresses "
       "its frame through RSP after the call. After the allocation lowers RSP those instructions "
       "read the wrong slots: callee-saved registers and the return are corrupted. Use "
       "SRA_ALLOC().",
       "Replace the raw sra_alloc() call with SRA_ALLOC(), or build the caller so its frame is "
       "dynamic and its epilogue restores RSP from RBP (for example with a VLA or alloca in it and "
       "-fno-omit-frame-pointer); then rerun `frameaudit lint` on the binary."},
      {finding_kind::kUnexplainedDynamic, Severity::Warning, "A frame is larger than its prologue explains.",
       "The frame's span (CFA - RSP) exceeds its static size, and neither a compiler-known alloca "
       "nor an allocator call explains it. This can be a stack pivot or corruption.",
       "Check the frame for a stack pivot, a longjmp into a dead frame or memory corruption; if "
       "the function uses inline assembly or a custom allocator that moves RSP, this may be "
       "expected."},
      {finding_kind::kMisalignedFrame, Severity::Warning,
       "A frame's RSP or CFA breaks the 16-byte ABI alignment.",
       "At a call the System V ABI requires RSP to be 16-byte aligned. A frame whose CFA is not "
       "16-byte aligned crashes SSE code and points to a corrupted or hand-written frame.",
       "Check hand-written assembly and signal or thread entry points in the frame's module for a "
       "missing 16-byte alignment of RSP before calls; otherwise the frame is corrupt: look for a "
       "stack buffer overflow just below it."},
      {finding_kind::kStackExhaustionRisk, Severity::Warning, "The thread is close to the end of its stack.",
       "Less than the allocator's safety reserve (32 KiB) or an eighth of the stack remains below "
       "RSP (for the main thread's growable stack, below an assumed 8 MiB limit). Further "
       "allocations will fail and deeper calls may hit the guard page.",
       "Reduce what the thread allocates on its stack (large SRA_ALLOC or VLA sizes, deep "
       "recursion), or give the thread a bigger stack (pthread_attr_setstacksize, `ulimit -s` for "
       "the main thread)."},
      {finding_kind::kMissingSymbols, Severity::Warning,
       "A module that holds frames was not found or has no symbols.",
       "The debugger did not load the file a frame runs in, or the file has no function symbols "
       "and "
       "no debug file was found. Frames there are unwound with less evidence, and frame kinds and "
       "region owners may be uncertain.",
       "Supply the file (--sysroot, --solib-search-path) or its debug file (--debug-dir, "
       "--debuginfod; "
       "in LLDB `target symbols add`)."},
      {finding_kind::kModuleMismatch, Severity::Warning,
       "The file on this machine is not the one the target ran.",
       "The module's build ID in the target's memory differs from the build ID of the file the "
       "debugger loaded (the library was rebuilt or replaced after the crash). Its code, CFI and "
       "symbols may not match the stack.",
       "Supply the exact file the target ran with --sysroot or --solib-search-path, or analyse the "
       "core on the machine that wrote it."},
      {finding_kind::kCfiMismatch, Severity::Warning,
       "A frame's CFI and its RBP link lead to different callers.",
       "The function keeps a frame pointer (its prologue sets RBP up), but its CFI at the pc is "
       "not the frame-pointer rule, and the return address (or caller's RBP) it gives differs from "
       "the pair at RBP. One of the two is wrong; the message says which one the walk believed.",
       "Check the function's CFI (`readelf --debug-dump=frames`, `.cfi_*` directives in "
       "hand-written assembly) against its prologue; if both are right, look for a write that "
       "corrupted the saved RBP or return address of that frame."},
      {finding_kind::kUnjudgedCaller, Severity::Warning,
       "lint stopped at its bound on work in a function that calls sra_alloc.",
       "Following the control flow from the function's calls to sra_alloc visited more states than "
       "lint's bound per function (64 per instruction plus 4,096, docs/lint.md): the call sites "
       "where no unsafe path was found before it stopped have no verdict. Functions that compilers "
       "emit stay far below the bound; hand-written or generated code with many diverging stack "
       "depths can reach it.",
       "Check the named call sites by hand (every path from the call must restore RSP from RBP "
       "before it returns or addresses its frame through RSP), or use SRA_ALLOC() there."},
  };
  return kinds;
}

} // namespace frameaudit

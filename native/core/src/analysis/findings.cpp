// findings.cpp: turning one thread's frames and regions into findings. Each
// rule is stated in docs/analysis.md ("Findings"); the messages say what is
// wrong, where, and what to do about it.
#include <algorithm>

#include "analysis/thread_work.h"
#include "frameaudit/lint.h"
#include "frameaudit/names.h"
#include "sra_layout.h"

namespace frameaudit::detail {
namespace {

// The main thread's [stack] mapping grows on demand up to RLIMIT_STACK,
// which a snapshot does not show; assume the usual default.
constexpr uint64_t kDefaultStackLimit = 8ull << 20;
// The kernel keeps this gap between a growing stack and the mapping below.
constexpr uint64_t kStackGuardGap = 1ull << 20;
// Bounded output: a corrupted stack can hold thousands of stale pointers.
constexpr size_t kMaxDanglingPerThread = 32;
/// Frames whose debug-info variables the dangling-pointer rule reads (the
/// innermost ones); deeper frames are judged by their raw slots.
constexpr size_t kMaxVariableFrames = 20'000;
// The System V red zone below RSP that a leaf function may use.
constexpr uint64_t kRedZone = 128;
// Callee-saved registers: they hold values of live frames (the innermost
// function's, or kept for a caller), unlike the scratch registers, which
// after a call hold whatever the callee left.
constexpr const char *kCalleeSaved[] = {"rbx", "r12", "r13", "r14", "r15"};

Finding make(const char *kind, Severity sev, const ThreadReport &t) {
  Finding f;
  f.kind = kind;
  f.severity = sev;
  f.thread = t.index;
  return f;
}

void locate(Finding &out, const Frame &f) {
  out.frame = f.index;
  out.function = f.function;
  out.address = f.pc;
  out.file = f.file;
  out.line = f.line;
}

std::string where(const CallSite &c) {
  std::string s = c.function ? *c.function : hex(c.pc);
  if (c.file) {
    const auto slash = c.file->rfind('/');
    s += " (" + (slash == std::string::npos ? *c.file : c.file->substr(slash + 1));
    if (c.line)
      s += ":" + std::to_string(*c.line);
    s += ")";
  }
  return s;
}

// Lint's rule (check_allocator_caller): a function that calls the allocator
// and then returns, or addresses its frame through RSP, before restoring RSP
// from RBP. Returns the verdict of its first unsafe call, if any.
std::optional<AllocatorCallVerdict> unsafe_call(TargetCache &cache, const FunctionFacts *fn) {
  // Allocator callers are ordinary functions; a huge "function" comes from
  // bounds that cannot be trusted, and following its control flow could take
  // seconds.
  constexpr size_t kMaxCallerBytes = 8 * 1024;
  if (!fn || !fn->calls_allocator || fn->code.empty() || fn->code.size() > kMaxCallerBytes)
    return std::nullopt;
  std::vector<uint64_t> targets = cache.allocator_entries();
  size_t calls = 0;
  for (const CallSiteInfo &c : fn->info.calls)
    if (c.target && cache.is_allocator_address(*c.target)) {
      targets.push_back(*c.target);
      ++calls;
    }
  constexpr size_t kMaxAllocatorCalls = 16; // each is followed through the function
  if (calls > kMaxAllocatorCalls)
    return std::nullopt;
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  const AllocatorCallerCheck check = check_allocator_caller(fn->code, fn->start, targets);
  for (const AllocatorCallVerdict &v : check.calls)
    if (!v.safe)
      return v;
  return std::nullopt;
}

bool overrun_reaches(const ThreadReport &t, const ThreadWork &w, uint64_t slot);

void broken_chain(TargetCache &cache, const ThreadWork &w, const ThreadReport &t,
                  std::vector<Finding> &out) {
  if (t.chain_end == ChainEnd::Outermost || t.frames.empty())
    return;
  const Frame &last = t.frames.back();
  // A chain broken by an attributed overrun is reported as that block's
  // region-overflow (the pair at the last frame's RBP, or the one before it
  // that gave the last frame its RBP).
  if (t.chain_end != ChainEnd::MaxDepth) {
    for (size_t back = 0; back < 2 && back < t.frames.size(); ++back) {
      const Frame &f = t.frames[t.frames.size() - 1 - back];
      if (f.saved_rbp_slot && overrun_reaches(t, w, *f.saved_rbp_slot))
        return;
    }
  }
  Finding f = make(finding_kind::kBrokenChain,
                   t.chain_end == ChainEnd::MaxDepth ? Severity::Warning : Severity::Error, t);
  locate(f, last);
  std::string msg = "The RBP chain of thread " + std::to_string(t.index) + " stops early (" +
                    to_string(t.chain_end) + "): " + t.chain_end_detail;
  // The frame whose saved pair is bad, or the one that called it, is where an
  // unsafe allocator caller would have lowered RSP and returned through it.
  for (size_t back = 0; back < 2 && back < t.frames.size(); ++back) {
    const size_t i = t.frames.size() - 1 - back;
    const FunctionFacts *fn = w.walk.facts[i].fn;
    const auto verdict = unsafe_call(cache, fn);
    if (!verdict)
      continue;
    std::string site = hex(verdict->address);
    const Symbol &s = cache.symbol(verdict->address);
    if (s.file && s.line) {
      const auto slash = s.file->rfind('/');
      site += " (" + (slash == std::string::npos ? *s.file : s.file->substr(slash + 1)) + ":" +
              std::to_string(*s.line) + ")";
    }
    msg += " Likely cause: " + (fn->name ? *fn->name : hex(fn->start)) + " calls sra_alloc at " +
           site + " and " +
           (verdict->reason.empty() ? std::string("trusts RSP afterwards") : verdict->reason) +
           "; use SRA_ALLOC() there (see `frameaudit lint`).";
    break;
  }
  if (t.chain_end != ChainEnd::MaxDepth)
    msg += " Frames beyond this point are missing.";
  else
    msg += " Raise --max-depth to see more.";
  f.message = std::move(msg);
  out.push_back(std::move(f));
}

void unwinder_mismatch(TargetCache &cache, const ThreadWork &w, const ThreadReport &t,
                       std::vector<Finding> &out) {
  const auto &dbg = w.snap.info.debugger_frames;
  if (!dbg || dbg->empty())
    return;
  // LLDB lists inlined functions as frames of their own with the CFA of the
  // physical frame they live in (and the outer ones with the inlined call
  // site as pc): keep the innermost of each run sharing a CFA, whose pc is
  // the real one.
  std::vector<DebuggerFrame> phys;
  for (const DebuggerFrame &d : *dbg) {
    if (!phys.empty() && d.cfa && phys.back().cfa == d.cfa)
      continue;
    phys.push_back(d);
  }
  const size_t n = std::min(phys.size(), t.frames.size());
  auto name = [&](uint64_t pc, size_t idx) {
    const Symbol &s = cache.symbol(idx == 0 || pc == 0 ? pc : pc - 1);
    return hex(pc) + (s.function ? " (" + *s.function + ")" : std::string());
  };
  for (size_t i = 0; i < n; ++i) {
    if (phys[i].pc == t.frames[i].pc)
      continue;
    // A frame the walk repaired just below: the debugger followed the CFI
    // that sra_alloc invalidated, and its frames are the wrong ones.
    const bool repaired = i > 0 && t.frames[i - 1].repaired;
    Finding f = make(finding_kind::kUnwinderMismatch, repaired ? Severity::Note : Severity::Warning, t);
    locate(f, t.frames[i]);
    f.message =
        "At frame " + std::to_string(i) + " the debugger's unwinder has pc " + name(phys[i].pc, i) +
        " but frameaudit has " + name(t.frames[i].pc, i) + "; frames from here on disagree. " +
        (repaired
             ? "Frame " + std::to_string(i - 1) +
                   " trusts RSP after sra_alloc: the debugger applied its CFI to the lowered RSP, "
                   "frameaudit added the bytes the allocator reserved. frameaudit's frames are "
                   "believed."
             : std::string("A frame that trusts RSP after sra_alloc (or a function without frame "
                           "pointer) misleads one of the two unwinders."));
    out.push_back(std::move(f));
    return;
  }
  // Lengths: past a broken chain the debugger may know more; past the
  // outermost RBP frame it may list start-up code without frame pointers
  // (and front-ends pass at most a prefix of the debugger's frames).
  if (t.chain_end != ChainEnd::Outermost && t.chain_end != ChainEnd::MaxDepth &&
      phys.size() > t.frames.size()) {
    Finding f = make(finding_kind::kUnwinderMismatch, Severity::Warning, t);
    locate(f, t.frames.back());
    f.message = "The debugger's unwinder goes on past frame " +
                std::to_string(t.frames.size() - 1) +
                " (next: " + name(phys[t.frames.size()].pc, t.frames.size()) +
                ") where the RBP chain breaks; compare `bt` with `frameaudit chain`.";
    out.push_back(std::move(f));
  }
}

// A frame whose function keeps a frame pointer, where its CFI and its RBP
// link lead to different callers (UnwindDisagreement).
void cfi_mismatch(TargetCache &cache, const ThreadWork &w, const ThreadReport &t,
                  std::vector<Finding> &out) {
  auto name = [&](uint64_t pc) {
    const Symbol &s = cache.symbol(pc == 0 ? pc : pc - 1);
    return hex(pc) + (s.function ? " (" + *s.function + ")" : std::string());
  };
  for (const UnwindDisagreement &d : w.walk.disagreements) {
    if (d.frame >= t.frames.size())
      continue;
    Finding f = make(finding_kind::kCfiMismatch, Severity::Warning, t);
    locate(f, t.frames[d.frame]);
    std::string cfi =
        !d.cfi_cfa ? "its CFI rule gives no CFA"
        : !d.cfi_return
            ? "its CFI gives CFA " + hex(*d.cfi_cfa) + " with no readable return address"
            : "its CFI gives CFA " + hex(*d.cfi_cfa) + " and return address " + name(*d.cfi_return);
    f.message = "At " + frame_label(t.frames[d.frame]) +
                ", a function that keeps a frame pointer, " + cfi + ", but the pair at RBP " +
                hex(d.rbp) + " holds return address " + name(d.rbp_return) + ". ";
    if (d.cfi_believed)
      f.message +=
          "The CFI is believed (its return address passes the link checks, or it ends the thread "
          "there); the frames above follow it.";
    else
      f.message +=
          "The RBP link is believed: " +
          std::string(d.cfi_return ? "the CFI's return address is not just after a call in code"
                                   : "the CFI leads nowhere") +
          "; the frames above follow the chain.";
    f.message += " Hand-written CFI, a misread prologue or corrupted stack memory is the cause.";
    out.push_back(std::move(f));
  }
}

// Only code that follows the System V ABI keeps 16-byte alignment at calls:
// not JIT code outside every module, not Go, and not the thread's first
// frame, whose "CFA" the kernel or clone set up. Without modules (hand-made
// images) every frame is held to it.
bool abi_aligned_code(TargetCache &cache, const ThreadReport &t, const Frame &fr) {
  if (fr.index + 1 == t.frames.size() && t.chain_end == ChainEnd::Outermost && fr.index > 0)
    return false;
  if (cache.modules().listed() == 0)
    return true;
  // Compiled code carries CFI; code without it (V8's embedded builtins,
  // hand-written assembly) keeps its own conventions.
  const uint64_t pc = fr.index == 0 || fr.pc == 0 ? fr.pc : fr.pc - 1;
  return cache.modules().follows_sysv_abi(pc) && cache.modules().row_at(pc) != nullptr;
}

// CFI describes the frame exactly: what it allocates is not unexplained.
bool has_cfi(TargetCache &cache, const Frame &fr) {
  const uint64_t pc = fr.index == 0 || fr.pc == 0 ? fr.pc : fr.pc - 1;
  return cache.modules().row_at(pc) != nullptr;
}

void frame_findings(TargetCache &cache, const ThreadReport &t, const ThreadWork &w,
                    std::vector<Finding> &out) {
  for (const Frame &fr : t.frames) {
    const FunctionFacts *fn = w.walk.facts[fr.index].fn;
    if (fr.repaired) {
      // The walk proved it: this frame's CFI is RSP-based, yet sra_alloc lowered its RSP.
      Finding f = make(finding_kind::kUnsafeCaller, Severity::Error, t);
      locate(f, fr);
      std::string site;
      if (const auto verdict = unsafe_call(cache, fn)) {
        site = " at " + hex(verdict->address);
        const Symbol &s = cache.symbol(verdict->address);
        if (s.file && s.line)
          site += " (" + std::string(basename(*s.file)) + ":" + std::to_string(*s.line) + ")";
        if (!verdict->reason.empty())
          site += " and " + verdict->reason;
      }
      f.message =
          frame_label(fr) +
          " addresses its frame through RSP (its CFI CFA is RSP-based), yet it calls "
          "sra_alloc" +
          site + ": its RSP is " + std::to_string(fr.dynamic_bytes.value_or(0)) +
          " bytes lower than its CFI says, so an epilogue that restores RSP with `add $N,%rsp` "
          "pops "
          "callee-saved registers and the return address from the block. The walk repaired its CFA "
          "from the allocator's stub remnants. Use SRA_ALLOC() there (see `frameaudit lint`).";
      out.push_back(std::move(f));
    }
    if (fr.kind == FrameKind::Relocated) {
      Finding f = make(finding_kind::kRelocatedFrame, Severity::Note, t);
      locate(f, fr);
      std::string ids;
      for (const auto &id : fr.regions)
        ids += (ids.empty() ? "" : ", ") + id;
      f.message = frame_label(fr) + " was lowered by " +
                  std::to_string(fr.dynamic_bytes.value_or(0)) + " bytes by sra_alloc" +
                  (ids.empty() ? "" : " (blocks " + ids + ")") +
                  "; its blocks live until it returns.";
      out.push_back(std::move(f));
    }
    if (fr.kind == FrameKind::Unknown && fr.dynamic_bytes && *fr.dynamic_bytes > 0 && fn &&
        fn->info.decoded && !fn->info.dynamic_alloca && !fn->calls_allocator &&
        fr.regions.empty() && !has_cfi(cache, fr) && cache.uses_allocator()) {
      Finding f = make(finding_kind::kUnexplainedDynamic, Severity::Warning, t);
      locate(f, fr);
      f.message = frame_label(fr) + " spans " + std::to_string(*fr.span) +
                  " bytes but its prologue sets up " + std::to_string(*fr.static_size) + "; " +
                  std::to_string(*fr.dynamic_bytes) +
                  " bytes are explained by neither alloca nor sra_alloc. Look for a stack pivot, a "
                  "corrupted saved RBP or hand-written assembly in this function.";
      out.push_back(std::move(f));
    }
    // The sigreturn trampoline's "CFA" is the interrupted RSP, which can be anything.
    const bool trampoline = w.walk.facts[fr.index].position == FramePosition::Signal;
    if (fr.cfa && *fr.cfa % 16 != 0 && !trampoline && abi_aligned_code(cache, t, fr)) {
      Finding f = make(finding_kind::kMisalignedFrame, Severity::Warning, t);
      locate(f, fr);
      f.message =
          frame_label(fr) + " has CFA " + hex(*fr.cfa) +
          ", not 16-byte aligned: its caller's RSP was misaligned at the call (the System V ABI "
          "requires 16). Check hand-written assembly or a corrupted saved RBP.";
      out.push_back(std::move(f));
    }
  }
}

// What an overrun out of region r destroyed, lowest first: its remnant's
// fields, blocks of the same frame above it, the frame's locals, its saved
// RBP and return address, the caller's frame.
std::vector<std::string> destroyed(const ThreadReport &t, const Region &r, const RegionFacts &rf) {
  std::vector<std::string> out;
  const uint64_t e = *rf.overrun_end, end = rf.block_end, top = end + rf.remnant_size;
  if (rf.remnant_size == 32) {
    if (e > end)
      out.push_back("its audit header's size");
    if (e > end + 8)
      out.push_back("the header's sequence number and check");
    if (e > end + 16)
      out.push_back("the header's copy of the caller's RBP");
    if (e > end + 24)
      out.push_back("the header's call site");
  } else {
    if (e > end)
      out.push_back("its stub remnant's saved RBP");
    if (e > end + 8)
      out.push_back("the stub remnant's return address");
  }
  for (auto it = t.regions.rbegin(); it != t.regions.rend(); ++it)
    if (&*it != &r && it->frame == r.frame && it->base >= top && it->base < e)
      out.push_back("block " + it->id +
                    (it->state == RegionState::Corrupt ? "" : " and its header"));
  if (!r.frame || *r.frame >= t.frames.size())
    return out;
  const Frame &f = t.frames[*r.frame];
  if (!f.saved_rbp_slot)
    return out;
  const uint64_t slot = *f.saved_rbp_slot;
  if (e > top && top < slot)
    out.push_back(std::to_string(std::min(e, slot) - top) + " bytes of " + frame_label(f) +
                  "'s own frame");
  if (e > slot)
    out.push_back(frame_label(f) + "'s saved RBP at " + hex(slot));
  if (e > slot + 8)
    out.push_back("its return address at " + hex(slot + 8));
  if (e > slot + 16) {
    std::string caller =
        *r.frame + 1 < t.frames.size() ? frame_label(t.frames[*r.frame + 1]) : "its caller";
    out.push_back(std::to_string(e - slot - 16) + " bytes of " + caller + "'s frame");
  }
  return out;
}

std::string join(const std::vector<std::string> &items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i)
    s += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + items[i];
  return s;
}

// True if an attributed overrun reached the pair at `slot` (a frame's saved
// RBP and return address): the chain broke because of it.
bool overrun_reaches(const ThreadReport &t, const ThreadWork &w, uint64_t slot) {
  for (size_t i = 0; i < t.regions.size(); ++i) {
    const RegionFacts &rf = w.region_facts[i];
    if (rf.overrun_end && t.regions[i].base<slot && * rf.overrun_end> slot)
      return true;
  }
  return false;
}

void region_findings(const ThreadReport &t, const ThreadWork &w, std::vector<Finding> &out) {
  for (size_t i = 0; i < t.regions.size(); ++i) {
    const Region &r = t.regions[i];
    const RegionFacts &rf = w.region_facts[i];
    if (r.state != RegionState::Corrupt && !rf.suspect)
      continue;
    // An overrun that reached the frame's saved RBP is proof in either mode.
    const bool broke_frame = rf.overrun_end && r.frame && *r.frame < t.frames.size() &&
                             t.frames[*r.frame].saved_rbp_slot &&
                             *rf.overrun_end > *t.frames[*r.frame].saved_rbp_slot;
    Finding f = make(finding_kind::kRegionOverflow,
                     rf.suspect && !broke_frame ? Severity::Warning : Severity::Error, t);
    f.region = r.id;
    f.frame = r.frame;
    f.function = r.function;
    f.address = r.base;
    if (r.call_site) {
      f.file = r.call_site->file;
      f.line = r.call_site->line;
    }
    std::string msg =
        "Block " + r.id + " at " + hex(r.base) +
        (r.call_site ? " (allocated at " + where(*r.call_site) + ")" : std::string()) + ": " +
        rf.corruption + ".";
    if (rf.overrun_end) {
      const uint64_t past = *rf.overrun_end - rf.block_end;
      msg += " A write ran out of the block (at most " + std::to_string(rf.block_end - r.base) +
             " bytes): the " + std::to_string(past) + " bytes above its end continue " +
             rf.overrun_pattern + ", so it went at least " + std::to_string(past) +
             (past == 1 ? " byte" : " bytes") + " past the end, destroying " +
             join(destroyed(t, r, rf)) + ".";
      if (r.frame && *r.frame < t.frames.size() && t.frames[*r.frame].saved_rbp_slot &&
          *rf.overrun_end > *t.frames[*r.frame].saved_rbp_slot &&
          t.chain_end != ChainEnd::Outermost && t.chain_end != ChainEnd::MaxDepth)
        msg += " The RBP chain stops there (" + std::string(to_string(t.chain_end)) +
               "): frames above are lost.";
      msg += " Check the writes into it against its size.";
    } else if (rf.forged) {
      msg += " The allocator never writes such a header: it was forged, copied or left stale by "
             "something else. Find what writes into the block's header.";
    } else if (rf.suspect) {
      msg += " In plain mode nothing else records the block: a write past its end may have "
             "destroyed the "
             "remnant; link libsra_audit.a to know.";
    } else {
      msg +=
          " Something wrote past the end of the block; check the writes into it against its size.";
    }
    f.message = std::move(msg);
    out.push_back(std::move(f));
  }
}

// Pointers into dead blocks, and pointers a frame holds into a younger
// frame's block (docs/analysis.md, "Findings"). Released stack below RSP is
// in use by nothing, so a pointer into a dead block there is an error; memory
// a live frame occupies may be what the pointer means now (a local, a newer
// block at the same address), so a pointer into reused memory is a warning.
void dangling_pointers(TargetCache &cache, const ThreadReport &t, const ThreadWork &w,
                       DataWords &data, std::vector<Finding> &out) {
  // Without a recovered block, a pointer into released stack is believed
  // only where sra's users hold it: code and data of a module that calls
  // sra_alloc. Elsewhere stale addresses are routine (a returned callee's
  // buffer left in a register, a cursor in a global that nothing reads) and
  // without variable information nothing tells them from a real one.
  const bool any_modules = cache.modules().listed() > 0;
  auto sra_code = [&](uint64_t addr) {
    if (!any_modules)
      return true; // a hand-made image: no module to tell
    const ModuleFacts *m = cache.modules().module_at(addr);
    return m && m->module.references_allocator;
  };
  auto frame_pc = [&](uint32_t i) {
    const Frame &f = t.frames[i];
    return i == 0 || f.pc == 0 ? f.pc : f.pc - 1;
  };
  struct Span {
    uint64_t lo, hi;
    const Region *r;
  };
  std::vector<Span> dead, owned;
  // Regions are numbered high to low: read backwards, the spans come sorted.
  for (auto it = t.regions.rbegin(); it != t.regions.rend(); ++it) {
    const Region &r = *it;
    if (r.size == 0)
      continue;
    if (r.state == RegionState::Dead)
      dead.push_back({r.base, r.base + r.size, &r});
    else if (r.frame && r.evidence != Evidence::Span)
      owned.push_back({r.base, r.base + r.size, &r});
  }
  // Released stack: below RSP, inside the thread's stack. Frame 0 may keep
  // locals in the red zone (128 bytes below RSP) when it calls nothing.
  const Registers &regs0 = w.snap.info.registers;
  // Only frame 0 itself (its slots and the registers) can mean its red
  // zone: a caller stored its pointers before the leaf existed.
  uint64_t released_hi = 0, released_lo = 0, red_zone_lo = 0;
  if (t.stack && regs0.rsp > t.stack->low && regs0.rsp <= t.stack->high) {
    released_lo = t.stack->low;
    released_hi = red_zone_lo = regs0.rsp;
    const FunctionFacts *fn0 = w.walk.facts.empty() ? nullptr : w.walk.facts[0].fn;
    if (!fn0 || fn0->info.calls.empty() || !fn0->info.decoded)
      red_zone_lo = regs0.rsp - std::min<uint64_t>(regs0.rsp - released_lo, kRedZone);
  }
  auto in_released = [&](uint64_t v, bool frame0) {
    return v % 16 == 0 && v >= released_lo && v < (frame0 ? red_zone_lo : released_hi);
  };
  if (dead.empty() && owned.empty() && released_hi == 0)
    return;
  auto by_lo = [](const Span &a, const Span &b) { return a.lo < b.lo; };
  for (auto *spans : {&dead, &owned})
    if (!std::is_sorted(spans->begin(), spans->end(), by_lo))
      std::sort(spans->begin(), spans->end(), by_lo);
  // Dead blocks may overlap (one in reused memory reaching below RSP over a
  // released one), so each span also knows the highest end among it and the
  // spans before it: the walk back from the last span starting at or below v
  // stops as soon as nothing earlier can reach v.
  auto with_reach = [](const std::vector<Span> &spans) {
    std::vector<uint64_t> reach(spans.size());
    uint64_t m = 0;
    for (size_t i = 0; i < spans.size(); ++i)
      reach[i] = m = std::max(m, spans[i].hi);
    return reach;
  };
  const std::vector<uint64_t> dead_reach = with_reach(dead), owned_reach = with_reach(owned);
  auto hit = [](const std::vector<Span> &spans, const std::vector<uint64_t> &reach,
                uint64_t v) -> const Region * {
    if (spans.empty() || v < spans.front().lo || v >= reach.back())
      return nullptr; // outside every span: most slots (code addresses, small numbers)
    auto it = std::upper_bound(spans.begin(), spans.end(), v,
                               [](uint64_t x, const Span &s) { return x < s.lo; });
    for (size_t i = static_cast<size_t>(it - spans.begin()); i > 0 && reach[i - 1] > v; --i)
      if (v < spans[i - 1].hi)
        return spans[i - 1].r;
    return nullptr;
  };
  const Registers &regs = regs0;
  const uint64_t rsp = regs.rsp;
  size_t count = 0;
  auto report = [&](const Region &r, uint64_t value, std::optional<uint32_t> frame,
                    const std::string &holder) {
    const bool released = r.base + r.size <= rsp;
    Finding f = make(finding_kind::kDanglingPointer, released ? Severity::Error : Severity::Warning, t);
    f.region = r.id;
    if (frame)
      locate(f, t.frames[*frame]);
    f.address = value;
    const std::string alloc = r.call_site ? " allocated at " + where(*r.call_site) : std::string();
    if (released)
      f.message =
          holder + " holds " + hex(value) + ", inside released block " + r.id + alloc +
          ", whose function has returned. The memory is reused by later calls: do not return or "
          "keep pointers to SRA_ALLOC blocks beyond their caller.";
    else
      f.message =
          holder + " holds " + hex(value) + ", inside dead block " + r.id + alloc +
          ", whose function has returned; live frames reuse that memory now, so the pointer "
          "reads whatever lives there. Do not return or keep pointers to SRA_ALLOC blocks "
          "beyond their caller.";
    out.push_back(std::move(f));
    ++count;
  };
  // A slot of frame `holder` pointing into a block of a younger frame: the
  // value predates the younger frame (a pointer to a returned call's block
  // whose memory that frame reuses) or the younger frame stored it there (its
  // block's address escaped to a caller). Memory cannot tell the two apart;
  // either way it dangles when the younger frame returns.
  auto report_younger = [&](const Region &r, uint64_t value, uint32_t holder, uint64_t slot) {
    Finding f = make(finding_kind::kDanglingPointer, Severity::Warning, t);
    f.region = r.id;
    locate(f, t.frames[holder]);
    f.address = value;
    const Frame &owner = t.frames[*r.frame];
    const std::string alloc =
        r.call_site ? " (allocated at " + where(*r.call_site) + ")" : std::string();
    f.message =
        "The stack slot at " + hex(slot) + " in " + frame_label(t.frames[holder]) + " holds " +
        hex(value) + ", inside block " + r.id + alloc + " of the younger " + frame_label(owner) +
        ": a caller cannot have received this block's address before " + frame_label(owner) +
        " allocated it, so either the pointer is older (a block of a function that has returned, "
        "whose memory this block reuses) or the block's address escaped to a caller. Either way it "
        "dangles when " +
        frame_label(owner) + " returns.";
    out.push_back(std::move(f));
    ++count;
  };
  // A pointer into released stack where no block was recovered: the call
  // that owned the memory returned and later calls reused it.
  auto report_released = [&](uint64_t value, std::optional<uint32_t> frame,
                             const std::string &holder, const std::string &evidence) {
    Finding f = make(finding_kind::kDanglingPointer, Severity::Error, t);
    if (frame)
      locate(f, t.frames[*frame]);
    f.address = value;
    f.message =
        holder + " holds " + hex(value) + ", " + std::to_string(rsp - value) +
        " bytes below RSP in thread " + std::to_string(t.index) +
        "'s released stack: whatever lived there (a block or a local of a "
        "function that has returned) is gone, and later calls reuse the memory. Evidence: " +
        evidence +
        ". Do not return or keep pointers to SRA_ALLOC blocks or locals beyond their function.";
    out.push_back(std::move(f));
    ++count;
  };
  const std::optional<uint32_t> frame0 =
      t.frames.empty() ? std::nullopt : std::optional<uint32_t>(0);
  // Pointer variables of live frames, per the debug info (docs/analysis.md,
  // "Variables"): read where the frame keeps them at its pc, so a stale slot
  // of a variable out of scope is never read. A frame with debug info is
  // judged by its variables alone for pointers into released stack; its raw
  // slots still count where they point into a recovered dead block.
  std::vector<bool> described(t.frames.size(), false);
  std::vector<std::string> registers_named; // frame 0's registers a variable reported
  // Registers are recovered only as deep as the last frame of the
  // allocator's users among the innermost kMaxVariableFrames.
  size_t described_frames = 0;
  if (any_modules)
    for (size_t i = std::min<size_t>(t.frames.size(), kMaxVariableFrames); i > 0; --i)
      if (sra_code(frame_pc(static_cast<uint32_t>(i - 1)))) {
        described_frames = i;
        break;
      }
  if (described_frames > 0) {
    const std::vector<RegState> frame_regs = frame_registers(cache, w, t.frames, described_frames);
    for (uint32_t i = 0; i < frame_regs.size(); ++i) {
      // Only the allocator's users: elsewhere a pointer into released stack
      // is not believed without a recovered block (above), and the raw
      // slots find those; reading a library's debug info (libc's is
      // compressed) would cost more than the whole walk.
      if (!sra_code(frame_pc(i)))
        continue;
      bool has_debug_info = false;
      const std::vector<FrameVariable> vars =
          frame_variables(cache, w, t.frames[i], w.walk.facts[i], frame_regs[i], &has_debug_info);
      described[i] = has_debug_info;
      for (const FrameVariable &v : vars) {
        if (!v.pointer || !v.value || *v.value == 0)
          continue;
        if (count >= kMaxDanglingPerThread)
          return;
        const std::string holder = "The pointer variable " + v.name + " (" + v.type + ") of " +
                                   frame_label(t.frames[i]);
        const uint64_t value = *v.value;
        bool reported = false;
        if (const Region *r = hit(dead, dead_reach, value)) {
          report(*r, value, i, holder);
          reported = true;
        } else if (in_released(value, i == 0) && sra_code(frame_pc(i))) {
          report_released(value, i, holder,
                          "the debug info's pointer variable " + v.name +
                              ", in scope at the pc and read where the frame keeps it");
          reported = true;
        }
        if (reported && i == 0 && v.where == FrameVariable::Where::Register)
          registers_named.push_back(v.reg);
      }
    }
  }
  std::vector<std::pair<std::string, uint64_t>> regs_to_check = regs.general;
  regs_to_check.emplace_back("rbp", regs.rbp);
  for (const auto &[name, value] : regs_to_check) {
    if (count >= kMaxDanglingPerThread)
      return;
    if (std::find(registers_named.begin(), registers_named.end(), name) != registers_named.end())
      continue; // reported as the variable it holds
    if (const Region *r = hit(dead, dead_reach, value)) {
      report(*r, value, frame0, "Register " + name);
      continue;
    }
    bool callee_saved = false;
    for (const char *c : kCalleeSaved)
      callee_saved = callee_saved || name == c;
    if (callee_saved && in_released(value, true) && frame0 && sra_code(frame_pc(0)))
      report_released(
          value, frame0, "Register " + name,
          "a callee-saved register (it holds a value of a live frame; no variable information)");
  }
  // Writable data of the executable and its libraries: globals and statics.
  // Others' data can only hold a pointer into a recovered dead block.
  auto scan_data = [&](const std::vector<DataChunk> &chunks, bool users) {
    for (const DataChunk &c : chunks) {
      for (size_t k = 0; k < c.words.size(); ++k) {
        const uint64_t v = c.words[k];
        if (v < released_lo ||
            (v >= released_hi && (dead.empty() || v < dead.front().lo || v >= dead_reach.back())))
          continue; // cheap reject: most words are no stack address
        const uint64_t at = c.address + 8 * k;
        const std::string holder =
            "The global at " + hex(at) + (c.module.empty() ? "" : " (in " + c.module + ")");
        if (count >= kMaxDanglingPerThread)
          return false;
        if (const Region *r = hit(dead, dead_reach, v))
          report(*r, v, std::nullopt, holder);
        else if (users && in_released(v, false))
          report_released(v, std::nullopt, holder,
                          "a word of writable data (no variable information)");
      }
    }
    return true;
  };
  if ((released_hi != 0 || !dead.empty()) && !scan_data(data.of_allocator_users(), true))
    return;
  if (!dead.empty() && !scan_data(data.of_others(), false))
    return;
  // Live slots: [RSP, stack high), 8-byte aligned.
  const StackImage &img = w.snap.image;
  if (img.empty() || rsp >= img.high())
    return;
  for (uint64_t a = std::max((rsp + 7) & ~uint64_t{7}, img.low()); a + 8 <= img.high(); a += 8) {
    const auto v = img.u64(a);
    if (!v)
      continue;
    const Region *r = hit(dead, dead_reach, *v);
    // Only 16-byte aligned values, as the allocator hands blocks out: stale
    // interior addresses (a returned callee's cursor into a buffer) linger in
    // uninitialised slots of callers and would drown the kept block pointers.
    const Region *o = r || *v % 16 != 0 ? nullptr : hit(owned, owned_reach, *v);
    const bool rel = !r && !o && in_released(*v, false);
    if (!r && !o && !rel)
      continue;
    const auto frame = frame_holding(t.frames, a);
    if (rel && (!frame || (*frame == 0 && !in_released(*v, true)) || !sra_code(frame_pc(*frame)) ||
                described[*frame]))
      continue;
    if (rel)
      report_released(*v, frame,
                      "The stack slot at " + hex(a) + " in " + frame_label(t.frames[*frame]),
                      "a raw stack slot of a live frame (no variable information)");
    else if (r)
      report(*r, *v, frame,
             "The stack slot at " + hex(a) +
                 (frame ? " in " + frame_label(t.frames[*frame]) : std::string()));
    else if (frame && *o->frame < *frame)
      report_younger(*o, *v, *frame, a);
    else
      continue;
    if (count >= kMaxDanglingPerThread)
      return;
  }
}

void stack_exhaustion(TargetCache &cache, const ThreadWork &w, const ThreadReport &t,
                      std::vector<Finding> &out) {
  if (!t.stack)
    return;
  // A handler on an alternate signal stack (Python's faulthandler, a
  // crash reporter): that block of heap or static memory is sized for the
  // handler; what the thread has left is judged on the stack it interrupted.
  const StackRange stack = w.walk.interrupted_stack.value_or(*t.stack);
  const uint64_t rsp = w.walk.interrupted_stack ? w.walk.interrupted_rsp : t.registers.rsp;
  uint64_t low = stack.low;
  const MemoryRegion *region = cache.region_at(rsp);
  // The main thread's stack grows on demand: the mapping the kernel names
  // [stack], or (cores do not carry that name) the anonymous mapping that
  // holds the RSP of the thread whose tid is the process id.
  const auto pid = cache.target().info().pid;
  const bool main_thread = pid && *pid > 0 && t.tid == static_cast<uint64_t>(*pid);
  const bool grows =
      region &&
      (region->name == "[stack]" ||
       (region->name.empty() && (main_thread || (region->is_stack && *region->is_stack))));
  if (grows) {
    // A stack that already grew past the usual RLIMIT_STACK shows that the
    // limit is larger, by how much the snapshot cannot tell: no evidence of
    // a risk.
    if (stack.high - stack.low > kDefaultStackLimit)
      return;
    // The main thread's stack can grow down to RLIMIT_STACK below its top,
    // but not into the guard gap above the next mapping down.
    low = stack.high > kDefaultStackLimit ? stack.high - kDefaultStackLimit : 0;
    const auto &regions = cache.regions();
    auto it = std::find_if(regions.begin(), regions.end(),
                           [&](const MemoryRegion &r) { return r.start == region->start; });
    if (it != regions.begin() && it != regions.end()) {
      const uint64_t floor = std::prev(it)->end + kStackGuardGap;
      low = std::max(low, floor);
    }
    low = std::min(low, stack.low);
  }
  if (rsp < low)
    return;
  const uint64_t size = stack.high - low;
  const uint64_t remaining = rsp - low;
  // sra's reserve matters only to a target that has sra.
  const uint64_t threshold = cache.uses_allocator() ? std::max(kStackReserve, size / 8) : size / 8;
  if (remaining >= threshold)
    return;
  Finding f = make(finding_kind::kStackExhaustionRisk, Severity::Warning, t);
  if (!t.frames.empty())
    locate(f, t.frames[0]);
  f.address = rsp;
  f.message =
      "Thread " + std::to_string(t.index) + " has " + std::to_string(remaining) + " bytes of its " +
      std::to_string(size) + "-byte stack left below RSP (less than " +
      (threshold == kStackReserve ? std::string("sra's 32 KiB reserve")
                                  : std::string("an eighth of the stack")) +
      "): further sra_alloc calls return NULL and deeper calls may hit the guard page. Allocate "
      "large blocks on the heap or give the thread a bigger stack.";
  out.push_back(std::move(f));
}

} // namespace

void add_findings(TargetCache &cache, const ThreadWork &work, const ThreadReport &thread,
                  const AnalysisOptions &options, DataWords &data, std::vector<Finding> &out) {
  broken_chain(cache, work, thread, out);
  if (options.compare_unwinder)
    unwinder_mismatch(cache, work, thread, out);
  cfi_mismatch(cache, work, thread, out);
  frame_findings(cache, thread, work, out);
  region_findings(thread, work, out);
  dangling_pointers(cache, thread, work, data, out);
  stack_exhaustion(cache, work, thread, out);
}

} // namespace frameaudit::detail

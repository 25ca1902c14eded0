// frame_coverage.cpp: every byte a relocated frame's RSP moved below its
// static part, accounted for (docs/analysis.md, "Coverage"). The allocator
// reserves [p, R) per block and keeps its header (audit) or stub remnant
// (plain) at the top of it; the compiler adds the alloca gap and pushed
// stack arguments. Bytes the allocator reserved that no intact header or
// stub accounts for are a block whose remnant was destroyed: a write ran
// past a block's end (or something else overwrote it). In audit mode that
// is proof of corruption; in plain mode the stub remnant is all there is.
#include <algorithm>
#include <cstring>

#include <unordered_map>

#include "analysis/thread_work.h"
#include "decode/instruction.h"
#include "sra_layout.h"

namespace frameaudit::detail {
namespace {

constexpr uint64_t kMaxAllocaGap = 64;
// How far above a damaged remnant an overrun is followed: through the
// frame's static part and its saved pair into the caller's frame.
constexpr uint64_t kMaxOverrunFollow = 64 * 1024;

struct Hole {
  uint64_t lo = 0, hi = 0;
  bool at_top = false, at_bottom = false;
};

// The allocator calls of a frame's function (both parts of a split one).
std::vector<uint64_t> allocator_call_sites(TargetCache &cache, const FunctionFacts *fn, const FunctionFacts *owner) {
  std::vector<uint64_t> sites;
  for (const FunctionFacts *part : {fn, owner}) {
    if (!part || (part == owner && owner == fn))
      continue;
    for (const CallSiteInfo &c : part->info.calls)
      if (c.target && cache.is_allocator_address(*c.target))
        sites.push_back(c.return_address);
  }
  std::sort(sites.begin(), sites.end());
  sites.erase(std::unique(sites.begin(), sites.end()), sites.end());
  return sites;
}

class Accountant {
public:
  Accountant(TargetCache &cache, ThreadWork &work) : cache_(cache), work_(work) {
    const AllocatorMode mode = cache.allocator_mode();
    audit_ = mode == AllocatorMode::Audit;
    remnant_ = audit_ ? kAuditHeaderSize : kStubSize;
  }

  void run() {
    // The regions each frame owns, highest first (one pass, no per-frame
    // containers: deep stacks have few relocated frames).
    std::vector<size_t> owned;
    for (size_t i = 0; i < work_.regions.size(); ++i)
      if (work_.regions[i].frame)
        owned.push_back(i);
    std::sort(owned.begin(), owned.end(), [&](size_t a, size_t b) {
      const Region &x = work_.regions[a], &y = work_.regions[b];
      return *x.frame != *y.frame ? *x.frame < *y.frame : x.base > y.base;
    });
    size_t k = 0;
    const size_t n = work_.regions.size(); // lost blocks are appended after
    for (size_t i = 0; i < work_.walk.frames.size(); ++i) {
      std::vector<size_t> mine;
      while (k < owned.size() && *work_.regions[owned[k]].frame < i)
        ++k;
      while (k < owned.size() && *work_.regions[owned[k]].frame == i)
        mine.push_back(owned[k++]);
      if (work_.walk.frames[i].kind == FrameKind::Relocated)
        account(i, mine);
    }
    for (size_t i = 0; i < n; ++i)
      if (work_.regions[i].state == RegionState::Corrupt && work_.regions[i].frame)
        attribute(i);
  }

private:
  void account(size_t i, const std::vector<size_t> &mine);

  // True if every allocator call in fn is SRA_ALLOC's: a dynamic allocation
  // (its zero-sized alloca, `sub %reg,%rsp`) since the previous call. A raw
  // sra_alloc call may sit in a frame with VLAs or alloca of any size (the
  // decoder knows they exist, not how big they are), so there the bytes not
  // covered by headers cannot be told from compiler allocations.
  bool only_safe_form(const FunctionFacts *fn) {
    if (!fn)
      return true;
    auto [it, fresh] = safe_form_.try_emplace(fn->start, true);
    if (!fresh)
      return it->second;
    bool dynamic_since_call = false;
    for (const decode::Insn &in : decode::decode_all(fn->code, fn->start)) {
      if (in.op == decode::Op::SubRspReg || in.op == decode::Op::SetRspOther)
        dynamic_since_call = true;
      if (in.op != decode::Op::Call)
        continue;
      const uint64_t ret = in.address + in.length;
      const bool to_allocator =
          std::any_of(fn->info.calls.begin(), fn->info.calls.end(), [&](const CallSiteInfo &c) {
            return c.return_address == ret && c.target && cache_.is_allocator_address(*c.target);
          });
      if (to_allocator && !dynamic_since_call)
        it->second = false;
      dynamic_since_call = false;
    }
    return it->second;
  }

  // The R in (hi - kMaxAllocaGap, hi] whose [R - 16, R) still ends with
  // the high bytes of the pair [slot][call_site] exactly where an overrun
  // out of the block at lo stopped (the overrun wrote the low bytes; the
  // survivors begin at its end, or one byte later past a string's NUL).
  // At least 3 bytes: the upper bytes of addresses in one module are alike
  // and a stale return address elsewhere would match them alone. Else hi.
  uint64_t remnant_top(uint64_t lo, uint64_t hi, uint64_t slot, uint64_t call_site, uint64_t min_reserved) {
    const auto o = find_overrun(work_.snap.image, lo, lo + 16, hi);
    if (!o)
      return hi;
    uint8_t want[16];
    std::memcpy(want, &slot, 8);
    std::memcpy(want + 8, &call_site, 8);
    uint64_t best = hi;
    int best_n = 2;
    for (uint64_t r = hi; r >= lo + min_reserved && hi - r <= kMaxAllocaGap; r -= 16) {
      const uint8_t *b = work_.snap.image.data(r - kStubSize, kStubSize);
      if (!b)
        continue;
      int n = 0;
      while (n < 16 && b[15 - n] == want[15 - n])
        ++n;
      if (n > best_n && (r - n == o->end || r - n == o->end + 1)) {
        best_n = n;
        best = r;
      }
    }
    return best;
  }
  void attribute(size_t region);

  TargetCache &cache_;
  ThreadWork &work_;
  bool audit_ = false;
  uint64_t remnant_ = kStubSize;
  std::unordered_map<uint64_t, bool> safe_form_; ///< function start -> only_safe_form
};

void Accountant::account(size_t i, const std::vector<size_t> &mine) {
  Frame &f = work_.walk.frames[i];
  const FrameFacts &facts = work_.walk.facts[i];
  if (!f.cfa || !f.rsp || !f.static_size || *f.static_size <= 0)
    return;
  const uint64_t top = *f.cfa - static_cast<uint64_t>(*f.static_size), bottom = *f.rsp;
  if (top <= bottom)
    return;
  const FunctionFacts *setup = facts.owner ? facts.owner : facts.fn;
  if (!only_safe_form(facts.fn) || (facts.owner && !only_safe_form(facts.owner))) {
    if (std::any_of(mine.begin(), mine.end(), [&](size_t r) { return work_.regions[r].evidence == Evidence::Span; }))
      f.note = "lowered by raw sra_alloc calls and compiler allocations (VLA, alloca) whose bytes cannot be "
               "told apart";
    return;
  }
  const bool realigned = setup && setup->info.realigns_stack;
  std::optional<size_t> span;
  std::vector<size_t> intact; // header and stub regions, highest first
  for (size_t r : mine) {
    if (work_.regions[r].evidence == Evidence::Span)
      span = r;
    else
      intact.push_back(r);
  }
  // The holes between what the regions cover, highest first.
  std::vector<Hole> holes;
  uint64_t cursor = top;
  for (size_t r : intact) {
    const Region &reg = work_.regions[r];
    const uint64_t end = reg.base + reg.reserved;
    if (end < cursor && cursor > bottom)
      holes.push_back(Hole{std::max(end, bottom), cursor, cursor == top, false});
    cursor = std::min(cursor, reg.base);
  }
  if (cursor > bottom)
    holes.push_back(Hole{bottom, cursor, cursor == top, true});

  // The alloca gap: from the static part's bottom to the first block's R.
  uint64_t gap = 0;
  if (!intact.empty() && !holes.empty() && holes.front().at_top && !holes.front().at_bottom) {
    const uint64_t g = holes.front().hi - holes.front().lo;
    if (g <= kMaxAllocaGap && g % 16 == 0)
      gap = g;
  }
  // Stack arguments of the call this frame is making sit at its bottom.
  uint64_t args = 0;
  if (f.index > 0 && facts.fn) {
    const int64_t a = outgoing_argument_bytes(*facts.fn, f.pc);
    args = a > 0 ? static_cast<uint64_t>(a) : 0;
  }
  // The smallest block the allocator can reserve (16 bytes and its remnant).
  const uint64_t min_reserved = 16 + remnant_;
  const std::vector<uint64_t> sites = allocator_call_sites(cache_, facts.fn, facts.owner);
  std::vector<uint64_t> used;
  for (size_t r : intact)
    if (work_.regions[r].call_site)
      used.push_back(work_.regions[r].call_site->pc);

  uint64_t lost_bytes = 0;
  for (const Hole &h : holes) {
    uint64_t lo = h.lo, hi = h.hi;
    if (!intact.empty() && !h.at_bottom && hi - lo == gap)
      continue; // the alloca gap above a block
    // A block's R lies the alloca gap below the block above it (or below
    // the static part); unknown without an intact block, except that a
    // realigned frame may have up to 48 bytes of padding there.
    if (!intact.empty() || !h.at_top)
      hi -= std::min(hi - lo, gap);
    else if (realigned)
      hi -= std::min(hi - lo, kMaxAllocaGap - 16);
    if (h.at_bottom)
      lo += std::min(hi - lo, args);
    if (hi - lo < min_reserved)
      continue; // padding too small for any block
    // Reserved bytes no intact header or stub accounts for: a block whose
    // remnant is gone. Its call site is the one allocator call not already
    // accounted for (or the only one).
    std::optional<CallSite> site;
    std::vector<uint64_t> left;
    for (uint64_t s : sites)
      if (std::find(used.begin(), used.end(), s) == used.end())
        left.push_back(s);
    if (left.size() == 1 || (left.empty() && sites.size() == 1)) {
      const uint64_t pc = left.size() == 1 ? left[0] : sites[0];
      const Symbol &s = cache_.symbol(pc - 1);
      site = CallSite{pc, s.function, s.file, s.line};
    }
    // Without a block above to learn the alloca gap from, what is left of
    // the remnant [caller's RBP][call site] may show where R is: its high
    // bytes, the last an overrun from below reaches.
    if (h.at_top && intact.empty() && site && f.saved_rbp_slot)
      hi = remnant_top(lo, hi, *f.saved_rbp_slot, site->pc, min_reserved);
    Region r;
    if (span && lost_bytes == 0) {
      r = work_.regions[*span];
    } else {
      r.frame = f.index;
      r.function = f.function;
    }
    r.base = lo;
    r.reserved = hi - lo;
    r.size = r.reserved - remnant_; // best bound
    r.evidence = audit_ ? Evidence::Header : Evidence::Stub;
    r.state = audit_ ? RegionState::Corrupt : RegionState::Live;
    r.call_site = site;
    RegionFacts facts_out;
    facts_out.block_end = hi - remnant_;
    facts_out.remnant_size = remnant_;
    facts_out.suspect = !audit_;
    facts_out.corruption = "no intact " + std::string(audit_ ? "audit header" : "stub remnant") + " covers the " +
                           std::to_string(r.reserved) + " bytes [" + hex(lo) + ", " + hex(hi) +
                           ") the allocator reserved in " + frame_label(f) + "; the " +
                           (audit_ ? "header" : "stub remnant") + " at " + hex(hi - remnant_) + " is gone";
    if (auto o = find_overrun(work_.snap.image, lo, hi - remnant_,
                              std::min(work_.snap.image.high(), hi + kMaxOverrunFollow))) {
      facts_out.overrun_end = o->end;
      facts_out.overrun_pattern = o->pattern;
    }
    if (span && lost_bytes == 0) {
      work_.regions[*span] = std::move(r);
      work_.region_facts[*span] = std::move(facts_out);
    } else {
      work_.regions.push_back(std::move(r));
      work_.region_facts.push_back(std::move(facts_out));
    }
    lost_bytes += hi - lo;
  }
  if (lost_bytes > 0)
    f.note = "lowered by sra_alloc; " + std::to_string(lost_bytes) + " reserved bytes have no intact " +
             (audit_ ? "header" : "stub remnant");
  else if (span)
    f.note = "lowered by " + std::to_string(f.dynamic_bytes.value_or(0)) +
             " bytes before any block (SRA_ALLOC's alloca gap, or an allocation that returned NULL)";
}

// A corrupt block found by its stub: did a write run out of it?
void Accountant::attribute(size_t i) {
  Region &r = work_.regions[i];
  RegionFacts &facts = work_.region_facts[i];
  if (facts.block_end != 0 || facts.forged || r.reserved < remnant_)
    return;
  facts.block_end = r.base + r.reserved - remnant_;
  facts.remnant_size = remnant_;
  if (auto o = find_overrun(work_.snap.image, r.base, facts.block_end,
                            std::min(work_.snap.image.high(), facts.block_end + remnant_ + kMaxOverrunFollow))) {
    facts.overrun_end = o->end;
    facts.overrun_pattern = o->pattern;
  }
}

} // namespace

void account_frames(TargetCache &cache, ThreadWork &work) {
  Accountant a(cache, work);
  a.run();
}

} // namespace frameaudit::detail

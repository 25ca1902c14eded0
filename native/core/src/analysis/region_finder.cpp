// region_finder.cpp: the allocator's blocks, recovered from what sra_alloc
// leaves on the stack (docs/analysis.md, "Regions"). Every allocation's R
// (the caller's RSP before the call) is 16-byte aligned, and [R-16, R) keeps
// the call's stub [caller's RBP][return address] until something overwrites
// it; in audit mode adds size, sequence and check. Blocks of one
// frame stack downward, so each stub also bounds the block above it.
#include <algorithm>

#include "analysis/thread_work.h"
#include "sra_layout.h"

namespace frameaudit::detail {
namespace {

// The most a compiler's zero-sized alloca has been seen to move RSP.
constexpr uint64_t kMaxAllocaGap = 64;
// Stale stubs kept for the stack map (it draws a handful below RSP).
constexpr size_t kMaxStaleStubs = 64;

uint64_t round16(uint64_t n) {
  return (n + 15) & ~uint64_t{15};
}

struct Header {
  uint64_t size = 0;
  uint32_t seq = 0;
  uint32_t check = 0;
  uint64_t saved_rbp = 0;
  uint64_t call_site = 0;
  bool valid = false; ///< the integrity check matches
};

std::optional<Header> header_at(const StackImage &image, uint64_t addr) {
  const uint8_t *p = image.data(addr, kAuditHeaderSize);
  if (!p)
    return std::nullopt;
  const AuditHeader a = read_audit_header(p, addr);
  Header h;
  h.size = a.h.size;
  h.seq = a.h.seq;
  h.check = a.h.check;
  h.saved_rbp = a.h.saved_rbp;
  h.call_site = a.h.call_site;
  h.valid = a.valid;
  return h;
}

// A stub-shaped pair [x][y] at a 16-byte aligned address whose y returns from
// an allocator call.
struct Pair {
  uint64_t address = 0;
  uint64_t saved_rbp = 0;
  uint64_t ret = 0;
  AllocatorCall call;
};

class RegionFinder {
public:
  RegionFinder(TargetCache &cache, ThreadWork &work, const AnalysisOptions &options)
      : cache_(cache), work_(work), image_(work.snap.image), options_(options) {}

  void run() {
    for (size_t i = 0; i < work_.walk.frames.size(); ++i)
      scan_live_frame(i);
    index_live_slots();
    scan_reused();
    scan_released();
  }

private:
  std::optional<Pair> pair_at(uint64_t a) {
    const auto x = image_.u64(a), y = image_.u64(a + 8);
    if (!x || !y || !cache_.is_executable(*y))
      return std::nullopt;
    auto call = cache_.allocator_call_before(*y);
    if (!call)
      return std::nullopt;
    return Pair{a, *x, *y, *call};
  }

  // The call before `ret` lies in frame f's function: in its bounds, or in
  // another part of the same function (a hot/cold split gives one function
  // two ranges under one name).
  bool returns_into(uint64_t ret, const Frame &f, const FunctionFacts *fn) {
    if (fn && ret > fn->start && ret <= fn->end)
      return true;
    if (!fn && !f.function)
      return true; // nothing known: the saved RBP must match instead
    if (!f.function || !cache_.is_executable(ret))
      return false;
    const Symbol &s = cache_.symbol(ret - 1);
    return s.function && *s.function == *f.function;
  }

  // The intact audit header below stub pair p of the frame whose RBP is slot.
  std::optional<Header> valid_header(const Pair &p, uint64_t slot) {
    if (p.address < image_.low() + kStubSize)
      return std::nullopt;
    auto h = header_at(image_, p.address - kStubSize);
    if (h && h->valid && h->saved_rbp == slot && h->call_site == p.ret &&
        h->size <= p.address - kStubSize - image_.low())
      return h;
    return std::nullopt;
  }

  CallSite call_site(uint64_t ret) {
    const Symbol &s = cache_.symbol(ret - 1);
    return CallSite{ret, s.function, s.file, s.line};
  }

  void add(Region r, std::string corruption = {}, bool forged = false) {
    work_.regions.push_back(std::move(r));
    RegionFacts facts;
    facts.corruption = std::move(corruption);
    facts.forged = forged;
    work_.region_facts.push_back(std::move(facts));
  }

  // A pair [x][y] of a live frame: x is the frame's RBP (slot) and y returns
  // into its function. Below RSP that is the relocated stub copy of its
  // newest block (or an allocation in progress); anywhere, a header naming it
  // belongs to that frame. A returned function called from the same depth
  // has the same RBP, so the function decides.
  //
  // A frame addressed through RSP (an unsafe caller the walk repaired) has no
  // slot: there a pair at `address` inside the frame, or below it, that
  // returns into its function is its own stub.
  bool names_live_frame(uint64_t saved_rbp, uint64_t ret, uint64_t address) {
    auto it = std::lower_bound(live_slots_.begin(), live_slots_.end(),
                               std::make_pair(saved_rbp, uint32_t{0}));
    for (; it != live_slots_.end() && it->first == saved_rbp; ++it) {
      const uint32_t i = it->second;
      if (returns_into(ret, work_.walk.frames[i], work_.walk.facts[i].fn))
        return true;
    }
    for (uint32_t i : slotless_) {
      const Frame &f = work_.walk.frames[i];
      if (address < *f.cfa && returns_into(ret, f, work_.walk.facts[i].fn))
        return true;
    }
    return false;
  }

  /// A frame whose blocks are scanned without a saved-RBP slot: repaired by
  /// the walk (its CFA is RSP-based, and sra_alloc lowered its RSP).
  static bool rsp_based_owner(const Frame &f) {
    return !f.saved_rbp_slot && f.repaired && f.rsp && f.cfa && *f.cfa >= *f.rsp + 8 + kStubSize;
  }

  void index_live_slots() {
    live_slots_.reserve(work_.walk.frames.size());
    for (const Frame &f : work_.walk.frames)
      if (f.saved_rbp_slot)
        live_slots_.emplace_back(*f.saved_rbp_slot, f.index);
    // The walk is monotonic, so the slots come sorted: no n log n sort on
    // deep stacks (the sort is a safeguard).
    if (!std::is_sorted(live_slots_.begin(), live_slots_.end()))
      std::sort(live_slots_.begin(), live_slots_.end());
    for (const Frame &f : work_.walk.frames)
      if (rsp_based_owner(f))
        slotless_.push_back(f.index);
  }

  Region dead_from_header(const Header &h, uint64_t at, const Pair &p) {
    Region r;
    r.evidence = Evidence::Header;
    r.state = RegionState::Dead;
    r.size = h.size;
    r.base = at - round16(h.size);
    r.reserved = at + kAuditHeaderSize - r.base;
    r.sequence = h.seq;
    r.call_site = call_site(p.ret);
    r.function = r.call_site->function;
    return r;
  }

  // Why a header whose check is valid cannot describe its block ("" if it
  // can): the block would reach below the thread's stack or the owner
  // frame's RSP, or its reserved size disagrees with the next stub down.
  std::string impossible_size(const Header &h, uint64_t at, uint64_t rsp, uint64_t lower,
                              bool has_next) {
    const uint64_t low = work_.snap.stack ? work_.snap.stack->low : image_.low();
    const std::string claim = " passes its check but claims " + std::to_string(h.size) + " bytes";
    if (h.size > at - std::min(at, low))
      return claim + ", more than the whole stack below it (a forged or stale header)";
    if (h.size > at - std::min(at, rsp))
      return claim + ": the block would reach " + std::to_string(round16(h.size) - (at - rsp)) +
             " bytes below its frame's RSP " + hex(rsp) + " (a forged or stale header)";
    const uint64_t base = at - round16(h.size);
    if (has_next && base != lower)
      return claim + ", so its block would begin at " + hex(base) +
             ", but the next block's stub down ends at " + hex(lower) +
             " (a forged or stale header)";
    return {};
  }

  void scan_live_frame(size_t i);
  void scan_reused();
  void scan_released();

  TargetCache &cache_;
  ThreadWork &work_;
  const StackImage &image_;
  const AnalysisOptions &options_;
  std::vector<std::pair<uint64_t, uint32_t>> live_slots_; ///< (saved-RBP slot, frame index), sorted
  std::vector<uint32_t> slotless_;                        ///< frames rsp_based_owner() scans
};

void RegionFinder::scan_live_frame(size_t i) {
  const Frame &f = work_.walk.frames[i];
  const FunctionFacts *fn = work_.walk.facts[i].fn;
  // Without a slot, an RSP-based frame's stubs end below its return address
  // (at CFA - 8) and each holds whatever RBP was at the call: the stub
  // itself, not a slot, is what a header must agree with.
  const bool slotless = rsp_based_owner(f);
  if (!slotless && (!f.saved_rbp_slot || !f.rsp || *f.saved_rbp_slot < *f.rsp + kStubSize))
    return;
  if (fn && fn->is_allocator)
    return; // an allocation in progress belongs to no one yet
  const uint64_t slot = slotless ? *f.cfa - 8 : *f.saved_rbp_slot, rsp = *f.rsp;

  // The frame's own stubs: its RBP, and a return address right after an
  // allocator call inside its own function. Highest first.
  std::vector<Pair> pairs;
  for (uint64_t a = (slot - kStubSize) & ~uint64_t{15}; a >= rsp && a + kStubSize <= slot;
       a -= 16) {
    const auto y = image_.u64(a + 8);
    if (y && returns_into(*y, f, fn)) {
      if (auto p = pair_at(a))
        pairs.push_back(*p);
    }
    if (a < 16)
      break;
  }
  // SRA_ALLOC's zero-sized alloca may itself move RSP (GCC -O0 rounds it up
  // to 16 bytes) just before each allocator call, so consecutive blocks can
  // have a gap: R(k+1) = p(k) - gap. Every expansion in one function compiles
  // alike, and the first one starts where the prologue left RSP, so the gap
  // is the distance from the static frame's bottom to the first block's R.
  uint64_t gap = 0;
  std::optional<int64_t> st = f.static_size;
  // A frame in a split-off part has its parent's static size (measure_frames):
  // the parent's prologue also says whether the frame was realigned.
  const FunctionFacts *setup = work_.walk.facts[i].owner ? work_.walk.facts[i].owner : fn;
  if (!st && !pairs.empty()) {
    // Stopped in a split-off part (f.cold): the part holding the allocator
    // call has the prologue.
    const FunctionFacts *caller = cache_.function_at(pairs.front().ret - 1);
    if (caller && caller->has_frame_pointer() && caller->name && f.function &&
        *caller->name == *f.function) {
      st = caller->info.static_size;
      setup = caller;
    }
  }
  if (!pairs.empty() && f.cfa && st && *st > 0 && setup && !setup->info.realigns_stack) {
    const uint64_t bottom = *f.cfa - static_cast<uint64_t>(*st);
    const uint64_t first_r = pairs.front().address + kStubSize;
    if (bottom >= first_r && bottom - first_r <= kMaxAllocaGap && (bottom - first_r) % 16 == 0)
      gap = bottom - first_r;
  } else if (pairs.size() > 1) {
    // Without the static size, an intact audit header shows the gap: its
    // block's exact base minus the R of the next stub down.
    for (size_t k = 0; k + 1 < pairs.size(); ++k) {
      const auto upper = valid_header(pairs[k], slot);
      if (!upper)
        continue;
      const uint64_t base = pairs[k].address - kStubSize - round16(upper->size);
      const uint64_t r_lower = pairs[k + 1].address + kStubSize;
      if (base >= r_lower && base - r_lower <= kMaxAllocaGap) {
        gap = base - r_lower;
        break;
      }
    }
  }
  if (gap > 0) {
    // With a gap, the relocated stub copy of a block (at its base - 16) is
    // not overwritten by the next stub and may survive: identical to the
    // stub above it, with the next stub exactly `gap` below it.
    std::vector<Pair> stubs;
    for (size_t k = 0; k < pairs.size(); ++k) {
      const bool copy = !stubs.empty() && pairs[k].saved_rbp == stubs.back().saved_rbp &&
                        pairs[k].ret == stubs.back().ret && k + 1 < pairs.size() &&
                        pairs[k + 1].address + gap == pairs[k].address;
      if (!copy)
        stubs.push_back(pairs[k]);
    }
    pairs = std::move(stubs);
  }
  for (size_t k = 0; k < pairs.size(); ++k) {
    const Pair &p = pairs[k];
    const uint64_t top = p.address + kStubSize; // R
    uint64_t lower = rsp;
    if (k + 1 < pairs.size()) {
      lower = pairs[k + 1].address + kStubSize;
      if (top - lower >= gap + kStubSize)
        lower += gap;
    }
    Region r;
    r.frame = f.index;
    r.function = f.function;
    r.call_site = call_site(p.ret);
    std::optional<Header> h;
    if (p.address >= rsp + kStubSize)
      h = header_at(image_, p.address - kStubSize);
    const uint64_t caller_rbp = slotless ? p.saved_rbp : slot;
    const bool header_ok = h && h->valid && h->saved_rbp == caller_rbp && h->call_site == p.ret;
    const bool audit =
        p.call.mode == AllocatorMode::Audit || (p.call.mode == AllocatorMode::Unknown && header_ok);
    // A valid check proves who wrote the header, not that its size is
    // possible: a forged or stale header can claim any size.
    const std::string impossible =
        header_ok ? impossible_size(*h, p.address - kStubSize, rsp,
                                    k + 1 < pairs.size() ? lower : rsp, k + 1 < pairs.size())
                  : std::string();
    if (header_ok && impossible.empty()) {
      r.evidence = Evidence::Header;
      r.size = h->size;
      r.base = p.address - kStubSize - round16(h->size);
      r.reserved = top - r.base;
      r.sequence = h->seq;
      add(std::move(r));
    } else if (audit) {
      // The size is what an overflow hits first; the next block down (or the
      // frame's RSP) still bounds the block.
      r.evidence = Evidence::Header;
      r.state = RegionState::Corrupt;
      r.base = lower;
      r.reserved = top - lower;
      r.size = r.reserved >= kAuditHeaderSize ? r.reserved - kAuditHeaderSize : 0;
      add(std::move(r),
          "its audit header at " + hex(p.address - kStubSize) +
              (!impossible.empty()         ? impossible
               : p.saved_rbp != caller_rbp ? " has lost the caller's RBP"
                                           : " fails its integrity check"),
          !impossible.empty());
    } else {
      r.evidence = Evidence::Stub;
      r.base = lower;
      r.reserved = top - lower;
      r.size = r.reserved >= kStubSize ? r.reserved - kStubSize : 0;
      if (slotless || p.saved_rbp == slot) {
        add(std::move(r));
      } else {
        r.state = RegionState::Corrupt;
        add(std::move(r), "its stub remnant at " + hex(p.address) + " holds " + hex(p.saved_rbp) +
                              " where the caller's RBP " + hex(slot) + " belongs");
      }
    }
  }
}

// Audit headers of returned calls in memory live frames now occupy: a
// function returned and another (or the same one again) was called at that
// depth, or a frame's RSP moved down over a returned callee's stack. A header
// proves itself (its check covers its own address) and names the frame that
// allocated (saved RBP, call site); every live frame's blocks lie inside its
// own [RSP, slot), so a header naming no live frame belongs to a returned
// one: its block is dead, and its memory may be reused by what lives there now.
void RegionFinder::scan_reused() {
  const uint64_t rsp = work_.snap.info.registers.rsp;
  if (image_.empty() || !work_.snap.stack || work_.walk.frames.empty())
    return;
  // The walked frames cover [RSP, top); above top lie frames the walk did not
  // reach, whose own blocks would name no walked frame.
  uint64_t top = rsp;
  for (const Frame &f : work_.walk.frames) {
    if (f.cfa)
      top = std::max(top, *f.cfa);
    else if (f.saved_rbp_slot)
      top = std::max(top, *f.saved_rbp_slot + kStubSize);
  }
  top = std::min(top, image_.high());
  const StackRange stack = *work_.snap.stack;
  for (uint64_t h = (rsp + 15) & ~uint64_t{15}; h + kAuditHeaderSize <= top; h += 16) {
    const auto hd = header_at(image_, h);
    if (!hd || !hd->valid || hd->size > h - stack.low)
      continue;
    const auto p = pair_at(h + kStubSize);
    if (!p || p->saved_rbp != hd->saved_rbp || p->ret != hd->call_site ||
        names_live_frame(p->saved_rbp, p->ret, h + kStubSize))
      continue;
    add(dead_from_header(*hd, h, *p));
  }
}

void RegionFinder::scan_released() {
  const uint64_t rsp = work_.snap.info.registers.rsp;
  if (image_.empty() || rsp <= image_.low() + kStubSize || !work_.snap.stack)
    return;
  const StackRange stack = *work_.snap.stack;
  const size_t first_dead = work_.regions.size();
  std::vector<Pair> plain, stale;
  const uint64_t bottom =
      std::max(image_.low(), rsp > options_.dead_scan_bytes ? rsp - options_.dead_scan_bytes : 0);
  for (uint64_t a = (rsp - kStubSize) & ~uint64_t{15}; a >= bottom; a -= 16) {
    if (auto p = pair_at(a)) {
      stale.push_back(*p);
      // A pair of a live frame below RSP is the relocated stub copy of its
      // last block (or an allocation still in progress): not a dead block.
      if (!names_live_frame(p->saved_rbp, p->ret, a)) {
        std::optional<Header> h;
        if (a >= image_.low() + kStubSize)
          h = header_at(image_, a - kStubSize);
        if (h && h->valid && h->saved_rbp == p->saved_rbp && h->call_site == p->ret &&
            h->size <= a - kStubSize - stack.low) {
          add(dead_from_header(*h, a - kStubSize, *p));
        } else if (p->call.mode != AllocatorMode::Audit && p->saved_rbp % 16 == 0 &&
                   p->saved_rbp > a + kStubSize && p->saved_rbp < stack.high) {
          plain.push_back(*p);
        }
      }
    }
    if (a < 16)
      break;
  }
  // Plain mode: a returned frame's stubs, grouped by its RBP. Consecutive
  // stubs bound a block; the lowest pair of a group is taken to be the
  // relocated copy that the last allocation's `leave; ret` consumed.
  std::stable_sort(plain.begin(), plain.end(), [](const Pair &a, const Pair &b) {
    return a.saved_rbp != b.saved_rbp ? a.saved_rbp < b.saved_rbp : a.address > b.address;
  });
  for (size_t k = 0; k + 1 < plain.size(); ++k) {
    if (plain[k].saved_rbp != plain[k + 1].saved_rbp)
      continue;
    Region r;
    r.evidence = Evidence::Stub;
    r.state = RegionState::Dead;
    r.base = plain[k + 1].address + kStubSize;
    r.reserved = plain[k].address + kStubSize - r.base;
    r.size = r.reserved - kStubSize;
    r.call_site = call_site(plain[k].ret);
    r.function = r.call_site->function;
    add(std::move(r));
  }
  // Stale stubs for the stack map: every pair no dead block accounts for
  // (the pair at the top of a dead block is that block's remnant, drawn with
  // it): relocated copies of live and dead blocks, remnants of plain blocks
  // that could not be bounded. Highest first, as scanned.
  for (const Pair &p : stale) {
    if (work_.stale_stubs.size() >= kMaxStaleStubs)
      break;
    bool remnant = false;
    for (size_t i = first_dead; i < work_.regions.size() && !remnant; ++i) {
      const Region &r = work_.regions[i];
      remnant = p.address >= r.base && p.address + kStubSize <= r.base + r.reserved;
    }
    if (remnant)
      continue;
    StaleStub s;
    s.address = p.address;
    s.saved_rbp = p.saved_rbp;
    s.return_address = p.ret;
    s.function = cache_.symbol(p.ret - 1).function;
    work_.stale_stubs.push_back(std::move(s));
  }
}

} // namespace

void find_regions(TargetCache &cache, ThreadWork &work, const AnalysisOptions &options) {
  RegionFinder finder(cache, work, options);
  finder.run();
}

} // namespace frameaudit::detail

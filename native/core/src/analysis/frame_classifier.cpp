// frame_classifier.cpp: each frame's sizes and kind (docs/analysis.md,
// "Frames"). static_size is what the prologue sets up, span what the frame
// occupies at the moment (CFA - RSP), dynamic_bytes the difference; the kind
// says what explains the difference.
#include <algorithm>

#include "analysis/thread_work.h"
#include "decode/instruction.h"

namespace frameaudit::detail {
namespace {

// A realigning prologue (and $-N,%rsp) pads the frame by less than N bytes;
// no compiler realigns to more than 64 (AVX-512).
constexpr int64_t kMaxRealignPadding = 64;

Region span_region(TargetCache &cache, const Frame &f, const FunctionFacts *fn, const FunctionFacts *owner) {
  Region r;
  r.base = *f.rsp;
  r.size = static_cast<uint64_t>(*f.dynamic_bytes);
  r.reserved = r.size;
  r.frame = f.index;
  r.function = f.function;
  r.state = RegionState::Live;
  r.evidence = Evidence::Span;
  // With a single allocator call in the function the call site is certain.
  std::optional<uint64_t> only;
  int count = 0;
  for (const FunctionFacts *part : {fn, owner}) {
    if (!part)
      continue;
    for (const CallSiteInfo &c : part->info.calls) {
      if (c.target && cache.is_allocator_address(*c.target)) {
        only = c.return_address;
        ++count;
      }
    }
  }
  if (count == 1) {
    const Symbol &s = cache.symbol(*only - 1);
    r.call_site = CallSite{*only, s.function, s.file, s.line};
  }
  return r;
}

// Why nothing is known about the code at a frame's pc.
std::string unknown_code_note(const FunctionFacts *fn) {
  if (!fn)
    return "no function known at this pc: the debugger has no symbol with bounds here";
  if (fn->code.empty())
    return "code of " + fn->name.value_or("the function") + " unreadable at " + hex(fn->start);
  return "code of " + fn->name.value_or("the function") + " does not decode at its start " + hex(fn->start);
}

// Frame 0 (or an interrupted context) whose decoded setup put the return
// address where the stack holds none: say where the code put it.
std::string contradiction_note(TargetCache &cache, const FunctionFacts &fn, const Frame &f) {
  const uint64_t code_end = fn.start + fn.code.size();
  if (f.pc < fn.start || f.pc >= code_end)
    return "decoded frame setup contradicted by the stack: frame pointer used, sizes unknown";
  const PrologueState &st = cache.state_at(fn, f.pc);
  return "decoded frame setup contradicted by the stack: the code at this pc puts the return address at "
         "RSP + " +
         std::to_string(st.rsp_offset_from_cfa - 8) +
         ", which holds no return address; the pair at RBP was used and the sizes are unknown";
}

} // namespace

// Stack arguments pushed for the call a frame is making (GCC pushes them,
// right before the call, unless -maccumulate-outgoing-args): they lie below
// the frame's static part but are no dynamic allocation. The bytes pushed or
// subtracted from RSP in the call's basic block, walking back from the call.
int64_t outgoing_argument_bytes(const FunctionFacts &fn, uint64_t return_address) {
  const auto insns = decode::decode_all(fn.code, fn.start);
  auto it = std::find_if(insns.begin(), insns.end(),
                         [&](const decode::Insn &in) { return in.address + in.length == return_address; });
  if (it == insns.end() || it->op != decode::Op::Call)
    return 0;
  int64_t bytes = 0;
  for (int steps = 0; it != insns.begin() && steps < 64; ++steps) {
    --it;
    if (it->address < fn.info.prologue_end)
      return bytes; // the prologue's own pushes and sub are the static part
    switch (it->op) {
    case decode::Op::PushReg:
    case decode::Op::PushOther: bytes += 8; break;
    case decode::Op::Pop: bytes -= 8; break;
    case decode::Op::AdjustRsp: bytes -= it->delta; break;
    case decode::Op::Call:
    case decode::Op::Jmp:
    case decode::Op::Jcc:
    case decode::Op::Ret:
    case decode::Op::Trap:
    case decode::Op::SubRspReg:
    case decode::Op::SetRspOther:
    case decode::Op::Leave:
    case decode::Op::LeaRspFromRbp:
    case decode::Op::MovRbpToRsp:
    case decode::Op::AndRsp: return bytes;
    default: break;
    }
  }
  return bytes;
}

std::optional<uint32_t> frame_holding(const std::vector<Frame> &frames, uint64_t addr) {
  // Frames are ordered by RSP (the walk is monotonic): find the last frame
  // whose RSP is at or below addr and check its CFA.
  auto it = std::upper_bound(frames.begin(), frames.end(), addr,
                             [](uint64_t a, const Frame &f) { return a < f.rsp.value_or(0); });
  if (it == frames.begin())
    return std::nullopt;
  --it;
  if (it->rsp && it->cfa && addr >= *it->rsp && addr < *it->cfa)
    return it->index;
  return std::nullopt;
}

void measure_frames(TargetCache &cache, ThreadWork &work) {
  auto &frames = work.walk.frames;
  for (size_t i = 0; i < frames.size(); ++i) {
    Frame &f = frames[i];
    FrameFacts &facts = work.walk.facts[i];
    // A frame in a split-off part walked through RBP: its frame is its
    // parent's, and so is its static size. The return address (the next
    // frame's pc) follows the call that entered the parent.
    if (facts.fn && facts.fn->fragment && facts.position == FramePosition::Body && !facts.setup_contradicted) {
      std::optional<uint64_t> ret;
      if (i + 1 < frames.size() && work.walk.facts[i + 1].position != FramePosition::Signal)
        ret = frames[i + 1].pc;
      facts.owner = cache.parent_of(*facts.fn, ret);
    }
    const FunctionFacts *setup = facts.owner ? facts.owner : facts.fn;
    if (facts.static_at_pc)
      f.static_size = facts.static_at_pc;
    else if (setup && setup->has_frame_pointer() && !facts.setup_contradicted &&
             facts.position != FramePosition::Signal)
      f.static_size = setup->info.static_size;
    if (f.cfa && f.rsp && *f.cfa >= *f.rsp)
      f.span = static_cast<int64_t>(*f.cfa - *f.rsp);
    if (f.span && f.static_size)
      f.dynamic_bytes = *f.span - *f.static_size;
  }
}

void classify_frames(TargetCache &cache, ThreadWork &work) {
  auto &frames = work.walk.frames;
  std::vector<int> evidence(frames.size(), 0);
  for (const Region &r : work.regions)
    if (r.frame && *r.frame < frames.size())
      ++evidence[*r.frame];

  std::vector<Region> spans;
  for (size_t i = 0; i < frames.size(); ++i) {
    Frame &f = frames[i];
    const FrameFacts &facts = work.walk.facts[i];
    const FunctionFacts *fn = facts.fn;
    if (facts.position == FramePosition::Signal) {
      f.kind = FrameKind::Unknown; // the kernel's frame: no function set it up
      continue;
    }
    if (fn && fn->is_allocator) {
      f.kind = FrameKind::Allocator;
      f.note = "inside sra_alloc";
      continue;
    }
    if (facts.position != FramePosition::Body && f.dynamic_bytes && *f.dynamic_bytes == 0) {
      f.kind = FrameKind::Normal;
      continue; // frame 0 stopped in a prologue, an epilogue or a frameless function
    }
    if (!fn || !fn->info.decoded) {
      f.kind = FrameKind::Unknown;
      f.note = unknown_code_note(fn);
      continue;
    }
    if (facts.setup_contradicted) {
      f.kind = FrameKind::Unknown;
      f.note = contradiction_note(cache, *fn, f);
      continue;
    }
    if (f.repaired) {
      // An RSP-based caller whose CFA the walk repaired from stub remnants.
      f.kind = FrameKind::Relocated;
      continue;
    }
    // A split-off part has the frame its parent set up.
    const FunctionFacts *setup = facts.owner ? facts.owner : fn;
    if (!setup->has_frame_pointer()) {
      // The RBP pair this frame was given belongs to the nearest caller that
      // keeps a frame pointer: its span covers more than its own frame.
      f.kind = FrameKind::Unknown;
      f.note = fn->fragment ? "split-off part of " + fn->name.value_or("a function") +
                                  ": the part with its prologue is not known (no jump back into it, no call "
                                  "to it before the return address), so its static size is unknown"
                            : "no frame pointer: span includes callers' frames";
      continue;
    }
    if (!f.dynamic_bytes) {
      f.kind = FrameKind::Unknown;
      f.note = "frame size unknown";
      continue;
    }
    const int64_t dyn = *f.dynamic_bytes;
    if (dyn < 0) {
      f.kind = FrameKind::Unknown;
      f.note = "span smaller than the prologue's static size";
      continue;
    }
    if (dyn == 0) {
      f.kind = FrameKind::Normal;
      continue;
    }
    if (evidence[i] > 0 || fn->calls_allocator || setup->calls_allocator) {
      f.kind = FrameKind::Relocated;
      f.note = evidence[i] > 0 ? "lowered by sra_alloc" : "lowered by sra_alloc (no header or stub left)";
      if (evidence[i] == 0)
        spans.push_back(span_region(cache, f, fn, facts.owner));
      continue;
    }
    if (fn->info.dynamic_alloca || setup->info.dynamic_alloca) {
      f.kind = FrameKind::Dynamic;
      f.note = "compiler-known dynamic allocation";
      continue;
    }
    if (f.index > 0 && outgoing_argument_bytes(*fn, f.pc) == dyn) {
      f.kind = FrameKind::Normal;
      f.note = "stack arguments of the call it is making";
      continue;
    }
    if (setup->info.realigns_stack && dyn < kMaxRealignPadding) {
      f.kind = FrameKind::Normal;
      f.note = "stack realignment padding";
      continue;
    }
    f.kind = FrameKind::Unknown;
    f.note = "unexplained dynamic bytes";
  }
  for (Region &r : spans) {
    work.regions.push_back(std::move(r));
    work.region_facts.emplace_back();
  }
}

void number_regions(ThreadWork &work, uint32_t thread_index) {
  std::vector<size_t> order(work.regions.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return work.regions[a].base > work.regions[b].base;
  });
  std::vector<Region> regions;
  std::vector<RegionFacts> facts;
  regions.reserve(order.size());
  facts.reserve(order.size());
  for (size_t n = 0; n < order.size(); ++n) {
    regions.push_back(std::move(work.regions[order[n]]));
    facts.push_back(std::move(work.region_facts[order[n]]));
    regions.back().id = "t" + std::to_string(thread_index) + ".r" + std::to_string(n);
  }
  work.regions = std::move(regions);
  work.region_facts = std::move(facts);
  for (const Region &r : work.regions)
    if (r.frame && *r.frame < work.walk.frames.size())
      work.walk.frames[*r.frame].regions.push_back(r.id);
}

} // namespace frameaudit::detail

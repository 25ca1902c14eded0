// frame_zero.cpp: frame 0 from the decoded prologue state, the way LLDB's
// assembly inspection unwinds a frame whose CFI cannot be trusted: before
// `push %rbp` the return address is at RSP, between the push and the
// `mov %rsp,%rbp` it is at RSP + 8, after the epilogue's restore it is back
// at RSP + pops, and a function without frame pointer has it at
// RSP + (CFA - RSP) - 8. Inside sra_alloc the same rules hold: its body is
// RBP-based on either side of the relocation (RBP points at the original
// stub before, at the relocated copy after), and after its `leave` the
// return address is at RSP. A split-off part of a function (f.cold) has no
// prologue: RBP is its parent's frame pointer until the part's own epilogue
// restores RSP from it.
#include "unwind/frame_zero.h"

namespace frameaudit::detail {

FrameZero locate_frame_zero(TargetCache &cache, const StackImage &image, const Registers &regs) {
  FrameZero z;
  const FunctionFacts *fn = cache.function_at(regs.rip);
  z.facts.fn = fn;
  if (!fn || !fn->info.decoded || regs.rip < fn->start || regs.rip >= fn->start + fn->code.size()) {
    z.how = "function unknown: assumed to have its frame pointer set up";
    return z;
  }
  const PrologueState st = cache.state_at(*fn, regs.rip);
  if (fn->fragment && !(st.in_epilogue && st.rsp_offset_exact)) {
    // The part's own bytes set up nothing: it runs in the frame its
    // parent's prologue built, up to its own RSP restore.
    const FunctionFacts *parent = cache.parent_of(*fn, image.u64(regs.rbp + 8));
    z.how = "in a split-off part of " +
            (parent && parent->name ? *parent->name : fn->name.value_or("its function")) +
            ": the frame pointer its parent set up holds, pair at RBP";
    return z;
  }
  const bool body = st.frame_pointer_set && !st.in_epilogue;
  if (body) {
    z.how = "frame pointer set up: pair at RBP";
    return z;
  }
  if (!st.rsp_offset_exact || st.rsp_offset_from_cfa < 8 || st.rsp_offset_from_cfa % 8 != 0) {
    // After a realignment or a dynamic allocation in a function without
    // frame pointer nothing but CFI locates the CFA; RBP is the best guess.
    z.how = "CFA - RSP not constant here: assumed frame pointer";
    return z;
  }
  z.rbp_based = false;
  z.cfa = regs.rsp + static_cast<uint64_t>(st.rsp_offset_from_cfa);
  z.return_slot = z.cfa - 8;
  z.facts.static_at_pc = st.rsp_offset_from_cfa;
  z.caller_rbp = regs.rbp;
  if (st.rbp_pushed && st.saved_rbp_cfa_offset && *st.saved_rbp_cfa_offset >= 16 &&
      *st.saved_rbp_cfa_offset <= st.rsp_offset_from_cfa) {
    z.saved_rbp_slot = z.cfa - static_cast<uint64_t>(*st.saved_rbp_cfa_offset);
    z.caller_rbp = image.u64(*z.saved_rbp_slot).value_or(0);
  }
  if (st.in_epilogue) {
    z.facts.position = FramePosition::Epilogue;
    z.how = "in the epilogue: return address at RSP + " + std::to_string(st.rsp_offset_from_cfa - 8);
  } else if (fn->info.has_frame_pointer) {
    z.facts.position = st.rbp_pushed ? FramePosition::Prologue : FramePosition::Entry;
    z.how = st.rbp_pushed ? "in the prologue after push %rbp: caller's RBP at RSP + " +
                                std::to_string(st.rsp_offset_from_cfa - *st.saved_rbp_cfa_offset)
                          : "in the prologue before push %rbp: return address at RSP + " +
                                std::to_string(st.rsp_offset_from_cfa - 8);
  } else {
    z.facts.position = FramePosition::Frameless;
    z.how = "no frame pointer: return address at RSP + " + std::to_string(st.rsp_offset_from_cfa - 8);
  }
  return z;
}

} // namespace frameaudit::detail

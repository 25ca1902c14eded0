// function_decoder.cpp: one function's prologue, calls and return paths from
// a linear sweep of its bytes (decode_function), and the frame state at a pc
// inside it (prologue_state_at), which the walker needs for frame 0.
#include <algorithm>
#include <unordered_set>

#include "decode/instruction.h"
#include "frameaudit/function_info.h"

namespace frameaudit {
namespace {

using decode::Insn;
using decode::Op;
using decode::Reg;

// Compilers put the prologue within the first few instructions; scheduling
// may interleave ordinary moves with the pushes, so allow some slack.
constexpr size_t kMaxPrologueInstructions = 64;
// An epilogue is short: the RSP restore, up to six pops, maybe a reload.
constexpr size_t kMaxEpilogueLookback = 32;
// How far into the function a shrink-wrapping early exit test may lie.
constexpr size_t kMaxShrinkWrapTest = 12;

// Is the push %rbp at insns[i] the frame pointer's, i.e. followed by
// mov %rsp,%rbp with only ordinary instructions in between (GCC schedules
// e.g. `xor %eax,%eax` there)?
bool sets_frame_pointer(const std::vector<Insn> &insns, size_t i) {
  for (size_t k = i + 1; k < insns.size() && k <= i + 12; ++k) {
    if (insns[k].op == Op::MovRspToRbp)
      return true;
    if (insns[k].op != Op::Other)
      return false;
  }
  return false;
}

struct PrologueScan {
  size_t last = 0; // index one past the last prologue instruction
};

// Walk the prologue, filling the frame fields of `fi`.
PrologueScan scan_prologue(const std::vector<Insn> &insns, FunctionInfo &fi) {
  PrologueScan scan;
  int64_t offset = 8; // CFA - RSP: the return address
  bool rbp_pushed = false, subbed = false;
  fi.prologue_end = fi.start;
  size_t i = 0;
  if (!insns.empty() && insns[0].op == Op::Endbr64) {
    fi.prologue_end = insns[0].end();
    scan.last = i = 1;
  }
  auto take = [&](size_t idx) {
    fi.prologue_end = insns[idx].end();
    scan.last = idx + 1;
  };
  std::vector<uint64_t> early_targets; // branch targets of shrink-wrapping tests
  for (; i < insns.size() && i < kMaxPrologueInstructions; ++i) {
    const Insn &in = insns[i];
    bool stop = false;
    switch (in.op) {
    case Op::PushReg:
      if (subbed) { // pushes after the fixed allocation are outgoing arguments
        stop = true;
        break;
      }
      offset += 8;
      if (in.reg == Reg::Rbp && !fi.saved_rbp_cfa_offset)
        fi.saved_rbp_cfa_offset = offset;
      if (in.reg == Reg::Rbp && !fi.has_frame_pointer && !rbp_pushed &&
          sets_frame_pointer(insns, i)) {
        rbp_pushed = true;
      } else {
        ++fi.callee_saved_pushes;
      }
      take(i);
      break;
    case Op::PushOther:
      // GCC's DRAP prologue re-pushes the return address (push -8(%r10))
      // after realigning; anything else is an argument push.
      if (fi.realigns_stack && !subbed && !fi.has_frame_pointer) {
        offset += 8;
        take(i);
      } else {
        stop = true;
      }
      break;
    case Op::MovRspToRbp:
      if (rbp_pushed && !fi.has_frame_pointer) {
        fi.has_frame_pointer = true;
        fi.frame_pointer_cfa_offset = offset;
        take(i);
      } else {
        stop = true;
      }
      break;
    case Op::AdjustRsp:
      if (in.delta < 0) {
        fi.fixed_sub += -in.delta;
        offset += -in.delta;
        subbed = true;
        take(i);
      } else {
        stop = true;
      }
      break;
    case Op::AndRsp:
      fi.realigns_stack = true;
      take(i);
      break;
    case Op::Other:
    case Op::Endbr64:
      break; // scheduled in between; does not end the prologue
    case Op::Jcc:
      // Shrink-wrapping (GCC): an early test branches around the frame; the
      // prologue follows on the fall-through path or at the branch target.
      stop = offset != 8 || fi.realigns_stack || i >= kMaxShrinkWrapTest;
      if (!stop && in.target)
        early_targets.push_back(*in.target);
      break;
    case Op::Ret:
    case Op::Jmp:
    case Op::Trap: {
      // `test; jne .Lframe; ret; .Lframe: push %rbp ...`: an early exit
      // inline, the prologue at the earlier branch's target right after it.
      stop = true;
      if (offset != 8 || fi.realigns_stack || early_targets.empty())
        break;
      size_t k = i + 1;
      while (k < insns.size() && (insns[k].padding || insns[k].op == Op::Trap))
        ++k;
      if (k < insns.size() && std::find(early_targets.begin(), early_targets.end(),
                                        insns[k].address) != early_targets.end()) {
        i = k - 1; // continue the scan there
        stop = false;
      }
      break;
    }
    default:
      stop = true; // control flow, dynamic allocation, any other RSP write
      break;
    }
    if (stop)
      break;
  }
  fi.static_size = offset;
  return scan;
}

// Classify the return path ending at insns[idx] (a ret or a jmp) by walking
// back through its basic block.
Epilogue classify_return(const std::vector<Insn> &insns, size_t idx,
                         const std::unordered_set<uint64_t> &branch_targets) {
  Epilogue e;
  e.ret_address = e.restore_address = insns[idx].address;
  e.kind = EpilogueKind::None;
  uint64_t first_pop = 0;
  const size_t lowest = idx > kMaxEpilogueLookback ? idx - kMaxEpilogueLookback : 0;
  for (size_t j = idx; j-- > lowest;) {
    const Insn &in = insns[j];
    if (in.ends_block() || in.op == Op::Jcc || in.op == Op::Call)
      break; // the previous block
    bool done = true;
    switch (in.op) {
    case Op::Pop:
      ++e.pops;
      first_pop = in.address;
      done = false;
      break;
    case Op::Leave:
      e.kind = EpilogueKind::Leave;
      break;
    case Op::LeaRspFromRbp:
      e.kind = EpilogueKind::LeaFromRbp;
      break;
    case Op::MovRbpToRsp:
      e.kind = EpilogueKind::MovFromRbp;
      break;
    case Op::SetRspOther:
      e.kind = EpilogueKind::FromOtherRegister;
      break;
    case Op::AdjustRsp:
      if (in.delta > 0) {
        e.kind = EpilogueKind::AddToRsp;
        e.add_amount = in.delta;
      } else {
        done = false; // odd; keep looking
        j = lowest;   // but do not look further than this
      }
      break;
    case Op::PushReg:
    case Op::PushOther:
    case Op::SubRspReg:
    case Op::AndRsp:
      j = lowest;
      done = false;
      break; // not an epilogue any more
    default:
      done = false;
      break;
    }
    if (done) {
      e.restore_address = in.address;
      return e;
    }
    if (branch_targets.count(in.address))
      break; // reached from elsewhere too: the restore is not in this block
  }
  if (e.pops > 0) {
    e.kind = EpilogueKind::PopsOnly;
    e.restore_address = first_pop;
  }
  return e;
}

// Follow the control flow from the entry (direct branches and fall-through
// only; bounded: each instruction is visited at most twice) and tell whether
// `pc` is reached only on paths that have not run the prologue yet.
bool reached_only_before_prologue(const std::vector<Insn> &insns, const FunctionInfo &fn,
                                  uint64_t pc) {
  if (fn.prologue_end <= fn.start || insns.empty())
    return false;
  auto index_of = [&](uint64_t a) -> std::optional<size_t> {
    auto it = std::lower_bound(insns.begin(), insns.end(), a,
                               [](const Insn &in, uint64_t x) { return in.address < x; });
    if (it == insns.end() || it->address != a)
      return std::nullopt;
    return static_cast<size_t>(it - insns.begin());
  };
  const auto target = index_of(pc);
  if (!target)
    return false;
  std::vector<uint8_t> seen(insns.size(), 0); // bit 0: reached before, bit 1: after the prologue
  std::vector<std::pair<size_t, bool>> work{{0, false}};
  while (!work.empty()) {
    auto [i, after] = work.back();
    work.pop_back();
    const uint8_t bit = after ? 2 : 1;
    if (i >= insns.size() || (seen[i] & bit))
      continue;
    seen[i] |= bit;
    const Insn &in = insns[i];
    const bool next_after = after || in.end() == fn.prologue_end;
    if (in.op == Op::Jcc || in.op == Op::Jmp) {
      if (in.target)
        if (auto t = index_of(*in.target))
          work.push_back({*t, next_after});
      if (in.op == Op::Jmp)
        continue;
    }
    if (in.op == Op::Ret || in.op == Op::Trap)
      continue;
    work.push_back({i + 1, next_after});
  }
  return seen[*target] == 1;
}

// The frame state at pc along the control flow from the entry (direct
// branches and fall-through; each instruction visited once, first path
// wins), or std::nullopt if no such path reaches pc (a switch target).
std::optional<PrologueState> frame_state_by_flow(const std::vector<Insn> &insns, uint64_t pc) {
  if (insns.empty())
    return std::nullopt;
  auto index_of = [&](uint64_t a) -> std::optional<size_t> {
    auto it = std::lower_bound(insns.begin(), insns.end(), a,
                               [](const Insn &in, uint64_t x) { return in.address < x; });
    if (it == insns.end() || it->address != a)
      return std::nullopt;
    return static_cast<size_t>(it - insns.begin());
  };
  const auto target = index_of(pc);
  if (!target)
    return std::nullopt;
  struct Flow {
    size_t index;
    PrologueState st;
    int64_t fp_offset; // CFA - RBP while frame_pointer_set
  };
  std::vector<uint8_t> seen(insns.size(), 0);
  std::vector<Flow> work{{0, PrologueState{}, 0}};
  while (!work.empty()) {
    Flow f = work.back();
    work.pop_back();
    if (f.index >= insns.size() || seen[f.index])
      continue;
    seen[f.index] = 1;
    if (f.index == *target)
      return f.st;
    const Insn &in = insns[f.index];
    PrologueState &st = f.st;
    switch (in.op) {
    case Op::PushReg:
      st.rsp_offset_from_cfa += 8;
      if (in.reg == Reg::Rbp && !st.rbp_pushed) {
        st.rbp_pushed = true;
        st.saved_rbp_cfa_offset = st.rsp_offset_from_cfa;
      }
      break;
    case Op::PushOther:
      st.rsp_offset_from_cfa -= in.delta;
      break;
    case Op::Pop:
      st.rsp_offset_from_cfa -= 8;
      if (in.reg == Reg::Rbp) {
        st.rbp_pushed = st.frame_pointer_set = false;
        st.saved_rbp_cfa_offset.reset();
      }
      break;
    case Op::MovRspToRbp:
      if (st.rbp_pushed && st.rsp_offset_exact) {
        st.frame_pointer_set = true;
        f.fp_offset = st.rsp_offset_from_cfa;
      }
      break;
    case Op::AdjustRsp:
      st.rsp_offset_from_cfa -= in.delta;
      break;
    case Op::Leave:
      if (st.frame_pointer_set) {
        st.rsp_offset_from_cfa = f.fp_offset - 8;
        st.rsp_offset_exact = true;
      }
      st.rbp_pushed = st.frame_pointer_set = false;
      st.saved_rbp_cfa_offset.reset();
      break;
    case Op::LeaRspFromRbp:
      if (st.frame_pointer_set) {
        st.rsp_offset_from_cfa = f.fp_offset - in.delta;
        st.rsp_offset_exact = true;
      }
      break;
    case Op::MovRbpToRsp:
      if (st.frame_pointer_set) {
        st.rsp_offset_from_cfa = f.fp_offset;
        st.rsp_offset_exact = true;
      }
      break;
    case Op::AndRsp:
    case Op::SubRspReg:
    case Op::SetRspOther:
      st.rsp_offset_exact = false;
      break;
    default:
      break;
    }
    const size_t next = f.index + 1;
    switch (in.op) {
    case Op::Ret:
    case Op::Trap:
      break;
    case Op::Jmp:
      if (in.target)
        if (auto t = index_of(*in.target))
          work.push_back({*t, st, f.fp_offset});
      break;
    case Op::Jcc:
      if (in.target)
        if (auto t = index_of(*in.target))
          work.push_back({*t, st, f.fp_offset});
      work.push_back({next, st, f.fp_offset});
      break;
    default:
      work.push_back({next, st, f.fp_offset});
      break;
    }
  }
  return std::nullopt;
}

// The state at pc after a return path's RSP restore (pc in
// (restore, ret]): the return address is above the pops still to run.
std::optional<PrologueState> epilogue_state(const FunctionInfo &fn, const std::vector<Insn> &insns,
                                            uint64_t pc) {
  for (const Epilogue &e : fn.epilogues) {
    if (!(pc > e.restore_address && pc <= e.ret_address))
      continue;
    if (e.kind == EpilogueKind::None)
      continue;
    PrologueState st;
    st.in_epilogue = true;
    // Pending pops, in execution order: each pops the slot just above the
    // previous one, the last one the slot right below the return address.
    std::vector<Reg> pending;
    for (const Insn &in : insns) {
      if (in.address >= pc && in.address < e.ret_address && in.op == Op::Pop)
        pending.push_back(in.reg);
      if (pending.size() > 64)
        break;
    }
    const int64_t offset = 8 + 8 * static_cast<int64_t>(pending.size());
    st.rsp_offset_from_cfa = offset;
    for (size_t k = 0; k < pending.size(); ++k) {
      if (pending[k] == Reg::Rbp) {
        // leave has already restored the caller's RBP; otherwise the caller's
        // RBP is still saved until this pop.
        st.rbp_pushed = true;
        st.saved_rbp_cfa_offset = offset - 8 * static_cast<int64_t>(k);
        st.frame_pointer_set = fn.has_frame_pointer;
        break;
      }
    }
    return st;
  }
  return std::nullopt;
}

} // namespace

const char *to_string(EpilogueKind kind) {
  switch (kind) {
  case EpilogueKind::Leave:
    return "leave";
  case EpilogueKind::LeaFromRbp:
    return "lea-from-rbp";
  case EpilogueKind::MovFromRbp:
    return "mov-from-rbp";
  case EpilogueKind::AddToRsp:
    return "add-to-rsp";
  case EpilogueKind::PopsOnly:
    return "pops-only";
  case EpilogueKind::None:
    return "none";
  case EpilogueKind::FromOtherRegister:
    return "from-other-register";
  }
  return "none";
}

FunctionInfo decode_function(std::span<const uint8_t> code, uint64_t start) {
  return decode::analyze_function(decode::decode_all(code, start), start, start + code.size());
}

namespace decode {

FunctionInfo analyze_function(const std::vector<Insn> &insns, uint64_t start, uint64_t end) {
  FunctionInfo fi;
  fi.start = start;
  fi.end = end;
  const bool has_code = end > start;
  fi.decoded = !insns.empty();
  fi.truncated = insns.empty() ? has_code : insns.back().end() != fi.end;
  fi.prologue_end = start;
  if (insns.empty())
    return fi;
  const size_t scan_end = scan_prologue(insns, fi).last;

  std::unordered_set<uint64_t> targets;
  for (size_t i = 0; i < insns.size(); ++i) {
    const Insn &in = insns[i];
    if ((in.op == Op::Jmp || in.op == Op::Jcc) && in.target && *in.target >= fi.start &&
        *in.target < fi.end)
      targets.insert(*in.target);
    if (in.op == Op::SubRspReg)
      fi.dynamic_alloca = true;
    // clang -O0 allocates with `mov %rax,%rsp` (RSP computed from itself);
    // an RSP load right before a return is an epilogue (GCC's DRAP), not that.
    if (in.op == Op::SetRspOther && i >= scan_end) {
      bool returns = false;
      for (size_t k = i + 1; k < insns.size() && k <= i + 3; ++k)
        returns |= insns[k].op == Op::Ret || insns[k].op == Op::Jmp;
      if (!returns)
        fi.dynamic_alloca = true;
    }
  }
  const bool frameless = !fi.has_frame_pointer && fi.static_size == 8;
  bool sets_rbp = false, moves_rsp = false, calls = false;
  for (const Insn &in : insns) {
    switch (in.op) {
    case Op::MovRspToRbp:
      sets_rbp = true;
      break;
    case Op::PushReg:
    case Op::PushOther:
    case Op::Pop:
    case Op::AdjustRsp:
    case Op::AndRsp:
    case Op::SubRspReg:
    case Op::Leave:
    case Op::LeaRspFromRbp:
    case Op::MovRbpToRsp:
    case Op::SetRspOther:
      moves_rsp = true;
      break;
    case Op::Call:
      calls = true;
      break;
    case Op::Jmp:
    case Op::Jcc:
      if (in.target && (*in.target < fi.start || *in.target >= fi.end) &&
          std::find(fi.jumps_out.begin(), fi.jumps_out.end(), *in.target) == fi.jumps_out.end())
        fi.jumps_out.push_back(*in.target);
      break;
    default:
      break;
    }
  }
  for (size_t i = 0; i < insns.size(); ++i) {
    const Insn &in = insns[i];
    if (in.op == Op::Call) {
      CallSiteInfo c;
      c.address = in.address;
      c.return_address = in.end();
      c.target = in.target;
      c.indirect = in.indirect;
      c.slot = in.slot;
      c.length = in.length;
      fi.calls.push_back(c);
    } else if (in.op == Op::Ret) {
      fi.epilogues.push_back(classify_return(insns, i, targets));
    } else if (in.op == Op::Jmp) {
      const bool leaves = in.target ? (*in.target < fi.start || *in.target >= fi.end)
                                    : (in.slot.has_value() || !in.notrack);
      if (!leaves)
        continue;
      Epilogue e = classify_return(insns, i, targets);
      // A jump out of the function is a tail call only after an epilogue (or
      // from a frameless function); otherwise it goes to a split-off part of
      // the same function (GCC's .cold) or is a switch through a register.
      const bool rip_slot = in.indirect && in.slot.has_value();
      if (e.kind == EpilogueKind::None && !frameless && !rip_slot)
        continue;
      e.tail_call = true;
      fi.epilogues.push_back(e);
    }
  }
  // Code that never sets RBP from RSP yet restores RSP from RBP, allocates
  // below a frame pointer, or calls at the entry's CFA - RSP of 8 (every
  // compiler aligns RSP to 16 before a call) runs in a frame set up by other
  // code: a split-off part of a function (its prologue is in the parent).
  if (!sets_rbp && fi.static_size == 8 && !fi.realigns_stack) {
    bool restores_from_rbp = false;
    for (const Epilogue &e : fi.epilogues)
      restores_from_rbp |= e.kind == EpilogueKind::Leave || e.kind == EpilogueKind::LeaFromRbp ||
                           e.kind == EpilogueKind::MovFromRbp;
    fi.borrows_frame =
        restores_from_rbp || fi.dynamic_alloca || (calls && !moves_rsp && !fi.truncated);
  }
  return fi;
}

} // namespace decode

PrologueState prologue_state_at(const FunctionInfo &fn, std::span<const uint8_t> code,
                                uint64_t pc) {
  PrologueState st;
  if (pc < fn.start || pc >= fn.end)
    return st;
  // Re-decode: the caller caches FunctionInfo, not instructions. Only the
  // prologue and, for an epilogue, the few instructions up to the ret matter.
  const std::vector<Insn> insns = decode::decode_all(code, fn.start);

  // At a return (ret or tail jump) the return address is at RSP, whatever
  // path led there: also right for frameless and shrink-wrapped exits.
  for (const Epilogue &e : fn.epilogues) {
    if (pc == e.ret_address) {
      st.in_epilogue = e.kind != EpilogueKind::None;
      return st;
    }
  }

  // A split-off part runs in its parent's frame: the flow from its own
  // first byte says nothing about RSP. After its RSP restore the pops left
  // locate the return address; elsewhere the parent's frame pointer holds.
  if (fn.borrows_frame) {
    if (auto epilogue = epilogue_state(fn, insns, pc))
      return *epilogue;
    st.rbp_pushed = st.frame_pointer_set = true;
    st.rsp_offset_exact = false;
    return st;
  }

  // Where the control flow from the entry reaches pc, track RSP along it:
  // exact even for code the prologue scan cannot see (a prologue deep in a
  // shrink-wrapped function, argument pushes in a frameless one).
  if (auto flow = frame_state_by_flow(insns, pc)) {
    for (const Epilogue &e : fn.epilogues)
      if (e.kind != EpilogueKind::None && pc > e.restore_address && pc <= e.ret_address)
        flow->in_epilogue = true;
    return *flow;
  }

  // In an epilogue: count the pops still to execute before the ret.
  if (auto epilogue = epilogue_state(fn, insns, pc))
    return *epilogue;

  // In the prologue: simulate up to pc.
  if (pc < fn.prologue_end) {
    int64_t offset = 8;
    for (size_t i = 0; i < insns.size() && insns[i].address < pc; ++i) {
      const Insn &in = insns[i];
      switch (in.op) {
      case Op::PushReg:
        offset += 8;
        if (in.reg == Reg::Rbp && !st.rbp_pushed) {
          st.rbp_pushed = true;
          st.saved_rbp_cfa_offset = offset;
        }
        break;
      case Op::PushOther:
        offset -= in.delta;
        break;
      case Op::MovRspToRbp:
        if (st.rbp_pushed)
          st.frame_pointer_set = true;
        break;
      case Op::AdjustRsp:
        offset -= in.delta;
        break;
      case Op::AndRsp:
        st.rsp_offset_exact = false;
        break;
      default:
        break;
      }
    }
    st.rsp_offset_from_cfa = offset;
    return st;
  }

  // In a block only the code before the prologue reaches (a shrink-wrapped
  // early exit): nothing is set up there.
  if (reached_only_before_prologue(insns, fn, pc))
    return st;

  // In the body.
  st.rbp_pushed = fn.saved_rbp_cfa_offset.has_value();
  st.frame_pointer_set = fn.has_frame_pointer;
  st.saved_rbp_cfa_offset = fn.saved_rbp_cfa_offset;
  st.rsp_offset_from_cfa = fn.static_size;
  st.rsp_offset_exact = !fn.realigns_stack && !fn.dynamic_alloca;
  return st;
}

} // namespace frameaudit

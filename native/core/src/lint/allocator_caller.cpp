// allocator_caller.cpp: the core rule of lint, shared with the audit: is a
// function that calls sra_alloc safe? sra_alloc returns with the caller's RSP
// lowered by an amount the compiler does not know. That is harmless only if
// every path from the call to a return resets RSP from RBP before popping
// anything, and never addresses the frame relative to RSP in between. So,
// from each call, follow the control flow (bounded, no recursion) tracking
// how far the function itself has pushed below the lowered RSP since.
#include <algorithm>
#include <deque>
#include <unordered_set>

#include "decode/instruction.h"
#include "frameaudit/lint.h"

namespace frameaudit {
namespace {

using decode::Insn;
using decode::Op;

// One path being followed: where, and what it did to RSP since the call.
struct Work {
  size_t index = 0;
  int64_t depth = 0; // bytes pushed/subtracted below the lowered RSP since the call
  bool dynamic_area =
      false; // a dynamic allocation happened since: RSP-relative lea is the compiler's own
  int64_t last_add = -1;  // index of the last add $N,%rsp since the last call
  int64_t first_pop = -1; // index of the first pop after it
};

struct Event {
  uint64_t culprit = 0;
  std::string reason;
  bool access = false; // an RSP-based access rather than a return path
};

constexpr int64_t kDepthLimit = 1 << 18;

uint64_t state_key(const Work &w) {
  const int64_t d = std::clamp<int64_t>(w.depth, -kDepthLimit, kDepthLimit) + kDepthLimit;
  return (static_cast<uint64_t>(w.index) << 21) | (static_cast<uint64_t>(d) << 1) |
         (w.dynamic_area ? 1 : 0);
}

class CallerAnalysis {
public:
  CallerAnalysis(std::span<const uint8_t> code, uint64_t start, std::span<const uint64_t> targets)
      : code_(code), start_(start), targets_(targets.begin(), targets.end()) {
    insns_ = decode::decode_all(code, start);
    end_ = start + code.size();
  }

  AllocatorCallerCheck run() {
    AllocatorCallerCheck out;
    out.function = decode::analyze_function(insns_, start_, end_);
    for (const Epilogue &e : out.function.epilogues)
      if (e.tail_call)
        tail_jumps_.insert(e.ret_address);
    for (size_t i = 0; i < insns_.size(); ++i) {
      const Insn &in = insns_[i];
      if (!is_allocator_transfer(in))
        continue;
      AllocatorCallVerdict v;
      v.address = in.address;
      if (in.op == Op::Jmp) {
        v.tail_call = true;
        v.safe = false;
        v.culprit = in.address;
        v.reason = "it tail-jumps to sra_alloc (`" + text(in.address) + "` at " + hex(in.address) +
                   "), so the block is carved out of the frame of its own caller, which does not "
                   "expect its RSP to move";
      } else {
        follow(i, v, out.function);
      }
      out.calls.push_back(std::move(v));
    }
    return out;
  }

private:
  bool is_allocator_transfer(const Insn &in) const {
    if (in.op != Op::Call && in.op != Op::Jmp)
      return false;
    if (in.target && targets_.count(*in.target))
      return true;
    return in.slot && targets_.count(*in.slot);
  }

  std::string text(uint64_t address) const {
    return decode::format_instruction(code_, start_, address);
  }

  std::optional<size_t> index_of(uint64_t address) const {
    auto it = std::lower_bound(insns_.begin(), insns_.end(), address,
                               [](const Insn &in, uint64_t a) { return in.address < a; });
    if (it == insns_.end() || it->address != address)
      return std::nullopt;
    return static_cast<size_t>(it - insns_.begin());
  }

  // Where an indirect jump that is not a tail call (a switch) may go: jump
  // tables are not read, so take every block that only a jump can reach:
  // the first instruction after a ret, jmp or trap and its alignment
  // padding, unless a direct branch targets it (then it is an ordinary
  // block, reached that way).
  const std::vector<size_t> &indirect_successors() {
    if (!indirect_ready_) {
      indirect_ready_ = true;
      std::unordered_set<uint64_t> direct;
      for (const Insn &in : insns_)
        if ((in.op == Op::Jmp || in.op == Op::Jcc) && in.target)
          direct.insert(*in.target);
      for (size_t i = 1; i < insns_.size(); ++i) {
        if (!insns_[i - 1].ends_block())
          continue;
        size_t k = i;
        while (k < insns_.size() && (insns_[k].padding || insns_[k].op == Op::Trap))
          ++k;
        if (k < insns_.size() && !direct.count(insns_[k].address))
          indirect_.push_back(k);
      }
    }
    return indirect_;
  }

  std::string return_reason(const Work &w, const Insn &ret, bool tail, uint64_t &culprit) const {
    const std::string where = (tail ? "its tail call at " : "its return path at ") +
                              hex(ret.address) + " (`" + text(ret.address) + "`)";
    if (w.last_add >= 0) {
      const Insn &add = insns_[static_cast<size_t>(w.last_add)];
      culprit = add.address;
      return where + " restores RSP with `" + text(add.address) + "` at " + hex(add.address) +
             " instead of from RBP: after sra_alloc lowered RSP, the pops and the return read the "
             "allocated block, not the saved registers and return address";
    }
    if (w.first_pop >= 0) {
      const Insn &pop = insns_[static_cast<size_t>(w.first_pop)];
      culprit = pop.address;
      return where + " restores RSP only by pops (from `" + text(pop.address) + "` at " +
             hex(pop.address) +
             "), never from RBP: after sra_alloc lowered RSP they read the allocated block, not "
             "the "
             "saved registers and return address";
    }
    culprit = ret.address;
    return where +
           " does not restore RSP at all: after sra_alloc lowered RSP the return address is "
           "read from the allocated block";
  }

  // Does the straight-line code from insns_[i] allocate dynamically (sub
  // %reg,%rsp or an RSP load) before it calls, returns or goes far?
  bool allocates_soon(size_t i) const {
    for (size_t steps = 0; i < insns_.size() && steps < 32; ++steps) {
      const Insn &in = insns_[i];
      if (in.op == Op::SubRspReg || in.op == Op::SetRspOther)
        return true;
      if (in.op == Op::Call || in.op == Op::Ret || in.op == Op::Trap || in.op == Op::Jcc ||
          (in.rsp_memory && !in.rsp_lea && !in.probe))
        return false;
      if (in.op == Op::Jmp) {
        auto t = in.target ? index_of(*in.target) : std::nullopt;
        if (!t)
          return false;
        i = *t;
        continue;
      }
      ++i;
    }
    return false;
  }

  // SRA_ALLOC's tail: right after the call it tests the gap the compiler
  // keeps between RSP and its dynamic allocations, and only if there is one
  // allocates it again below the block. Either way the code after it sees
  // RSP as a dynamic pointer it manages: no gap means it keeps no argument
  // area there; a gap means it just moved it. Recognised by its shape: the
  // first conditional branch after the call, one side of which allocates.
  bool sra_alloc_gap_check(size_t call_index) const {
    for (size_t i = call_index + 1; i < insns_.size() && i <= call_index + 12; ++i) {
      const Insn &in = insns_[i];
      if (in.op == Op::Jcc) {
        auto t = in.target ? index_of(*in.target) : std::nullopt;
        if (!t)
          return false;
        return allocates_soon(*t) != allocates_soon(i + 1);
      }
      if (in.op != Op::Other || in.rsp_memory)
        return false;
    }
    return false;
  }

  void follow(size_t call_index, AllocatorCallVerdict &verdict, FunctionInfo &fi) {
    std::vector<Event> events;
    std::unordered_set<uint64_t> seen;
    std::unordered_set<uint64_t> reported;
    std::deque<Work> work;
    auto push = [&](Work w) {
      if (w.index >= insns_.size())
        return; // fell off the end of the function
      if (seen.insert(state_key(w)).second)
        work.push_back(w);
    };
    Work first;
    first.index = call_index + 1;
    first.dynamic_area = sra_alloc_gap_check(call_index);
    push(first);
    // Bounded: each (instruction, depth, flag) state is visited once, and
    // the total work is capped for pathological inputs.
    size_t steps = 0;
    const size_t max_steps = 64 * insns_.size() + 4096;
    bool gave_up = false;
    while (!work.empty()) {
      if (++steps > max_steps) {
        gave_up = true;
        break;
      }
      Work w = work.front();
      work.pop_front();
      const Insn &in = insns_[w.index];

      // RSP-based memory operands: fine below what the function pushed
      // itself since the call (outgoing arguments) or in the red zone;
      // anything else (its static frame, or argument slots pushed before the
      // call and reused by GCC's deferred pops) now lies in or above the block.
      // After a dynamic allocation on this path RSP is the compiler's own
      // moving pointer again (the new area, outgoing arguments). Probes
      // (or $0 from -fstack-clash-protection) change nothing.
      if (in.rsp_memory && !w.dynamic_area && !in.probe) {
        const bool ok = in.rsp_lea ? (in.rsp_disp >= 0 && in.rsp_disp < w.depth)
                                   : (in.rsp_disp < 0 ||
                                      in.rsp_disp + static_cast<int64_t>(in.rsp_size) <= w.depth);
        if (!ok && reported.insert(in.address).second) {
          const std::string t = text(in.address);
          fi.rsp_accesses_after_alloc.push_back(RspAccess{in.address, t});
          events.push_back({in.address,
                            "it addresses its frame through RSP after the call (`" + t + "` at " +
                                hex(in.address) +
                                "): sra_alloc lowered RSP, so this reaches the allocated block, "
                                "not the frame slot the compiler meant",
                            true});
        }
      }

      Work next = w;
      next.index = w.index + 1;
      switch (in.op) {
      case Op::Leave:
      case Op::LeaRspFromRbp:
      case Op::MovRbpToRsp:
        continue; // RSP is what the compiler expects again: this path is safe
      case Op::Ret: {
        uint64_t culprit = 0;
        std::string why = return_reason(w, in, false, culprit);
        if (reported.insert(in.address).second)
          events.push_back({culprit, why});
        continue;
      }
      case Op::Trap:
        continue;
      case Op::Jcc:
        push(next);
        if (in.target)
          if (auto t = index_of(*in.target))
            push(Work{*t, w.depth, w.dynamic_area, w.last_add, w.first_pop});
        continue;
      case Op::Jmp: {
        if (tail_jumps_.count(in.address)) {
          uint64_t culprit = 0;
          std::string why = return_reason(w, in, true, culprit);
          if (reported.insert(in.address).second)
            events.push_back({culprit, why});
          continue;
        }
        if (in.target) {
          if (auto t = index_of(*in.target))
            push(Work{*t, w.depth, w.dynamic_area, w.last_add, w.first_pop});
          continue; // else: a jump to a split-off part (.cold): not followed
        }
        if (in.indirect && !in.slot)
          for (size_t t : indirect_successors())
            push(Work{t, w.depth, w.dynamic_area, w.last_add, w.first_pop});
        continue;
      }
      case Op::Call:
        next.last_add = next.first_pop = -1;
        if (is_allocator_transfer(in))
          next.depth = 0; // another allocation: RSP lowered again
        if (w.index + 1 >= insns_.size())
          continue; // a noreturn call at the very end
        push(next);
        continue;
      case Op::PushReg:
        next.depth += 8;
        break;
      case Op::PushOther:
        next.depth -= in.delta;
        break;
      case Op::Pop:
        next.depth -= 8;
        if (next.first_pop < 0)
          next.first_pop = static_cast<int64_t>(w.index);
        break;
      case Op::AdjustRsp:
        next.depth -= in.delta;
        if (in.delta > 0) {
          next.last_add = static_cast<int64_t>(w.index);
          next.first_pop = -1;
        }
        break;
      case Op::SubRspReg:
      case Op::AndRsp:
      case Op::SetRspOther:
        // A dynamic allocation (sub %reg,%rsp; clang -O0's mov %rax,%rsp) or
        // realignment: RSP moves by an unknown amount relative to itself;
        // still not restored from RBP.
        next.depth = 0;
        next.dynamic_area = true;
        break;
      default:
        break;
      }
      push(next);
    }

    if (events.empty()) {
      if (gave_up) {
        // Too many paths to follow: say nothing rather than guess.
        verdict.reason.clear();
      }
      return;
    }
    // The return paths first (the corruption happens there for sure), then
    // by address, so the message is the same whatever order paths ran in.
    std::stable_sort(events.begin(), events.end(), [](const Event &a, const Event &b) {
      return a.access != b.access ? !a.access : a.culprit < b.culprit;
    });
    verdict.safe = false;
    verdict.culprit = events.front().culprit;
    verdict.reason = events.front().reason;
    if (events.size() > 1)
      verdict.reason += " (and " + std::to_string(events.size() - 1) + " more such " +
                        (events.size() == 2 ? "place" : "places") + ")";
  }

  std::span<const uint8_t> code_;
  uint64_t start_ = 0, end_ = 0;
  std::unordered_set<uint64_t> targets_;
  std::unordered_set<uint64_t> tail_jumps_;
  std::vector<Insn> insns_;
  std::vector<size_t> indirect_;
  bool indirect_ready_ = false;
};

} // namespace

AllocatorCallerCheck check_allocator_caller(std::span<const uint8_t> code, uint64_t start,
                                            std::span<const uint64_t> allocator_targets) {
  return CallerAnalysis(code, start, allocator_targets).run();
}

} // namespace frameaudit

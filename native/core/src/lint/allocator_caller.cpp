// allocator_caller.cpp: the core rule of lint, shared with the audit: is a
// function that calls sra_alloc safe? sra_alloc returns with the caller's RSP
// lowered by an amount the compiler does not know. That is harmless only if
// every path from the call to a return resets RSP from RBP before popping
// anything, and never addresses the frame relative to RSP in between. So,
// from each call, follow the control flow (bounded, no recursion) tracking
// how far the function itself has pushed below the lowered RSP since.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <unordered_map>
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

// One place that makes a call unsafe; its sentence is written only for the
// event a verdict shows (formatting instructions costs more than finding them).
struct Event {
  uint64_t culprit = 0;
  bool access = false;                   // an RSP-based access rather than a return path
  uint64_t at = 0;                       // the place: the ret, tail jump or access (one event each)
  bool tail = false;                     // the return path is a tail jump
  int64_t last_add = -1, first_pop = -1; // the path's epilogue (see Work)
};

constexpr int64_t kDepthLimit = 1 << 18;

// The bound on work per function (docs/lint.md, "Work"): states followed,
// summed over all its allocator calls.
constexpr size_t kStepsPerInstruction = 64;
constexpr size_t kStepsBase = 4096;

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
    budget_ = kStepsPerInstruction * insns_.size() + kStepsBase;
    std::vector<std::pair<size_t, size_t>> calls; // instruction index, its start
    for (size_t i = 0; i < insns_.size(); ++i)
      if (insns_[i].op == Op::Call && is_allocator_transfer(insns_[i]))
        calls.emplace_back(i, start_for(i, sra_alloc_gap_check(i)));
    // Calls first in address order, then the starts their paths reach with
    // another dynamic-area flag; follow() may add more as it goes.
    for (size_t id = 0; id < starts_.size(); ++id)
      follow(id, out.function);
    const std::vector<Summary> summaries = summarize_starts();
    out.work = steps_;
    out.work_bound = budget_;

    size_t next_call = 0;
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
        const Summary &sum = summaries[component_[calls[next_call++].second]];
        if (sum.first) {
          v.safe = false;
          v.culprit = sum.first->culprit;
          v.reason = reason(*sum.first);
          if (sum.capped)
            v.reason +=
                " (and at least " + std::to_string(kCountedPlaces - 1) + " more such places)";
          else if (sum.places.size() > 1)
            v.reason += " (and " + std::to_string(sum.places.size() - 1) + " more such " +
                        (sum.places.size() == 2 ? "place" : "places") + ")";
        } else if (sum.incomplete) {
          // Not every path was followed: say so rather than guess.
          v.judged = false;
          v.reason = unjudged_reason();
        }
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

  uint64_t return_culprit(const Work &w, const Insn &ret) const {
    if (w.last_add >= 0)
      return insns_[static_cast<size_t>(w.last_add)].address;
    if (w.first_pop >= 0)
      return insns_[static_cast<size_t>(w.first_pop)].address;
    return ret.address;
  }

  std::string reason(const Event &e) const {
    if (e.access) {
      return "it addresses its frame through RSP after the call (`" + text(e.at) + "` at " +
             hex(e.at) +
             "): sra_alloc lowered RSP, so this reaches the allocated block, not the frame slot "
             "the compiler meant";
    }
    const std::string where = (e.tail ? "its tail call at " : "its return path at ") + hex(e.at) +
                              " (`" + text(e.at) + "`)";
    if (e.last_add >= 0) {
      const Insn &add = insns_[static_cast<size_t>(e.last_add)];
      return where + " restores RSP with `" + text(add.address) + "` at " + hex(add.address) +
             " instead of from RBP: after sra_alloc lowered RSP, the pops and the return read the "
             "allocated block, not the saved registers and return address";
    }
    if (e.first_pop >= 0) {
      const Insn &pop = insns_[static_cast<size_t>(e.first_pop)];
      return where + " restores RSP only by pops (from `" + text(pop.address) + "` at " +
             hex(pop.address) +
             "), never from RBP: after sra_alloc lowered RSP they read the allocated block, not "
             "the "
             "saved registers and return address";
    }
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

  // One exploration start: the instruction after an allocator call, RSP just
  // lowered (depth 0), with or without a dynamic area on the way there. A call
  // reached from another call starts the same exploration again, so each start
  // is followed once and its results shared (see docs/lint.md, "Work").
  struct Start {
    size_t call_index = 0;
    bool dynamic_area = false;
    bool followed = false;
    bool incomplete = false;   // the bound on work stopped it
    std::vector<Event> events; // one per place (ret, tail jump, access), by `at`
    std::vector<size_t> exits; // starts reached through further allocator calls
  };

  size_t start_for(size_t call_index, bool dynamic_area) {
    const uint64_t key = (static_cast<uint64_t>(call_index) << 1) | (dynamic_area ? 1 : 0);
    auto [it, fresh] = start_ids_.emplace(key, starts_.size());
    if (fresh) {
      Start s;
      s.call_index = call_index;
      s.dynamic_area = dynamic_area;
      starts_.push_back(std::move(s));
    }
    return it->second;
  }

  // Follow the paths from one start until RSP is restored from RBP, the path
  // returns, or it reaches another allocator call (an exit: that call's own
  // start). Each (instruction, depth, flag) state is visited once per start;
  // every step counts against the function's budget.
  void follow(size_t id, FunctionInfo &fi) {
    starts_[id].followed = true;
    std::vector<Event> events;
    std::vector<size_t> exits;
    std::unordered_set<uint64_t> seen;
    std::unordered_set<uint64_t> reported;
    std::vector<Work> work; // a FIFO: work[head..] is still to do
    size_t head = 0;
    auto push = [&](Work w) {
      if (w.index >= insns_.size())
        return; // fell off the end of the function
      if (seen.insert(state_key(w)).second)
        work.push_back(w);
    };
    Work first;
    first.index = starts_[id].call_index + 1;
    first.dynamic_area = starts_[id].dynamic_area;
    push(first);
    bool incomplete = false;
    while (head < work.size()) {
      if (steps_ >= budget_) {
        incomplete = true;
        break;
      }
      ++steps_;
      const Work w = work[head++];
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
          if (accesses_listed_.insert(in.address).second)
            fi.rsp_accesses_after_alloc.push_back(RspAccess{in.address, text(in.address)});
          events.push_back({in.address, true, in.address});
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
        if (reported.insert(in.address).second)
          events.push_back(
              {return_culprit(w, in), false, in.address, false, w.last_add, w.first_pop});
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
          if (reported.insert(in.address).second)
            events.push_back(
                {return_culprit(w, in), false, in.address, true, w.last_add, w.first_pop});
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
        if (is_allocator_transfer(in)) {
          // Another allocation: RSP lowered again, and from here on the paths
          // are that call's own (with this path's dynamic area).
          exits.push_back(start_for(w.index, w.dynamic_area));
          continue;
        }
        next.last_add = next.first_pop = -1;
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
    std::sort(events.begin(), events.end(),
              [](const Event &a, const Event &b) { return a.at < b.at; });
    std::sort(exits.begin(), exits.end());
    exits.erase(std::unique(exits.begin(), exits.end()), exits.end());
    Start &s = starts_[id];
    s.events = std::move(events);
    s.exits = std::move(exits);
    s.incomplete = incomplete;
  }

  // What every start reaches, through the starts it exits to: the first
  // event by the message order (return paths first, then by culprit), the
  // number of distinct places (counted up to kCountedPlaces), and whether the
  // bound cut any of it. The exits form a graph with cycles (loops around
  // calls); its strongly connected components, found by Tarjan's algorithm
  // without recursion, come out callees first, so one pass sums them up.
  struct Summary {
    std::optional<Event> first;
    std::vector<uint64_t> places; // sorted, at most kCountedPlaces
    bool capped = false;
    bool incomplete = false;
  };
  static constexpr size_t kCountedPlaces = 16;

  static bool before(const Event &a, const Event &b) {
    if (a.access != b.access)
      return !a.access;
    return a.culprit != b.culprit ? a.culprit < b.culprit : a.at < b.at;
  }

  static void merge(Summary &into, const Summary &from) {
    if (from.first && (!into.first || before(*from.first, *into.first)))
      into.first = from.first;
    into.incomplete = into.incomplete || from.incomplete;
    into.capped = into.capped || from.capped;
    std::vector<uint64_t> both;
    both.reserve(into.places.size() + from.places.size());
    std::set_union(into.places.begin(), into.places.end(), from.places.begin(), from.places.end(),
                   std::back_inserter(both));
    if (both.size() > kCountedPlaces) {
      both.resize(kCountedPlaces);
      into.capped = true;
    }
    into.places = std::move(both);
  }

  // One summary per component; component_ maps each start to its own.
  std::vector<Summary> summarize_starts() {
    const size_t n = starts_.size();
    std::vector<size_t> component(n, SIZE_MAX), index(n, SIZE_MAX), low(n, 0);
    std::vector<Summary> summaries; // per component
    std::vector<size_t> stack;
    std::vector<bool> on_stack(n, false);
    size_t counter = 0;
    struct Frame {
      size_t node, edge;
    };
    std::vector<Frame> frames;
    for (size_t root = 0; root < n; ++root) {
      if (index[root] != SIZE_MAX)
        continue;
      frames.push_back({root, 0});
      index[root] = low[root] = counter++;
      stack.push_back(root);
      on_stack[root] = true;
      while (!frames.empty()) {
        Frame &f = frames.back();
        const std::vector<size_t> &exits = starts_[f.node].exits;
        if (f.edge < exits.size()) {
          const size_t to = exits[f.edge++];
          if (index[to] == SIZE_MAX) {
            index[to] = low[to] = counter++;
            stack.push_back(to);
            on_stack[to] = true;
            frames.push_back({to, 0});
          } else if (on_stack[to]) {
            low[f.node] = std::min(low[f.node], index[to]);
          }
          continue;
        }
        const size_t node = f.node;
        frames.pop_back();
        if (!frames.empty())
          low[frames.back().node] = std::min(low[frames.back().node], low[node]);
        if (low[node] != index[node])
          continue;
        // `node` roots a component: pop it, then sum its members' own events
        // and the components they exit to (all finished already).
        const size_t c = summaries.size();
        summaries.emplace_back();
        std::vector<size_t> members;
        for (;;) {
          const size_t m = stack.back();
          stack.pop_back();
          on_stack[m] = false;
          component[m] = c;
          members.push_back(m);
          if (m == node)
            break;
        }
        Summary sum;
        for (size_t m : members) {
          const Start &s = starts_[m];
          Summary own;
          own.incomplete = s.incomplete || !s.followed;
          for (const Event &e : s.events) {
            if (!own.first || before(e, *own.first))
              own.first = e;
            own.places.push_back(e.at);
          }
          if (own.places.size() > kCountedPlaces) {
            own.places.resize(kCountedPlaces);
            own.capped = true;
          }
          merge(sum, own);
          for (size_t to : s.exits)
            if (component[to] != c)
              merge(sum, summaries[component[to]]);
        }
        summaries[c] = std::move(sum);
      }
    }
    component_ = std::move(component);
    return summaries;
  }

  std::string unjudged_reason() const {
    return "lint stopped following its paths at the bound on work per function (" +
           std::to_string(budget_) +
           " steps for this one, docs/lint.md) before it found a return path or an access that "
           "trusts RSP; check it by hand";
  }

  std::span<const uint8_t> code_;
  uint64_t start_ = 0, end_ = 0;
  std::unordered_set<uint64_t> targets_;
  std::unordered_set<uint64_t> tail_jumps_;
  std::vector<Insn> insns_;
  std::vector<size_t> indirect_;
  bool indirect_ready_ = false;
  std::vector<Start> starts_;
  std::unordered_map<uint64_t, size_t> start_ids_;
  std::unordered_set<uint64_t> accesses_listed_;
  std::vector<size_t> component_;
  size_t steps_ = 0;
  size_t budget_ = 0;
};

} // namespace

AllocatorCallerCheck check_allocator_caller(std::span<const uint8_t> code, uint64_t start,
                                            std::span<const uint64_t> allocator_targets) {
  return CallerAnalysis(code, start, allocator_targets).run();
}

} // namespace frameaudit

// rbp_walker.cpp: the frame-pointer walk. Each frame's RBP points at its pair
// [caller's RBP][return address]; following the pairs gives the physical
// frames. Every pair is checked before it is believed (docs/analysis.md,
// "The RBP chain"), and the first failed check ends the walk with its reason.
// Iterative, bounded by max_depth; cycles are impossible past the
// monotonicity check, and a pointer back to an earlier pair is named a cycle.
#include <algorithm>
#include <array>
#include <cstdio>

#include "walker/frame_zero.h"
#include "walker/walk.h"

namespace frameaudit::detail {

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string frame_label(const Frame &frame) {
  return "frame " + std::to_string(frame.index) + " (" +
         (frame.function ? *frame.function : hex(frame.pc)) + ")";
}

namespace {

// Where a thread or a process begins: RBP is 0 there by the ABI (the kernel
// and clone zero it, _start keeps it so), so the chain legitimately ends.
constexpr std::array<const char *, 10> kEntryFunctions = {
    "_start",         "__libc_start_main", "__libc_start_call_main", "start_thread", "clone",
    "clone3",         "__clone",           "__clone3",               "__clone_internal",
    "thread_start"};

bool is_entry_function(const std::optional<std::string> &name) {
  if (!name)
    return false;
  for (const char *e : kEntryFunctions)
    if (*name == e)
      return true;
  return false;
}

void fill_symbol(Frame &f, const Symbol &s) {
  f.function = s.function;
  f.inlined = s.inlined;
  f.module = s.module;
  f.file = s.file;
  f.line = s.line;
  f.function_start = s.function_start;
}

class Walker {
public:
  Walker(TargetCache &cache, const ThreadSnapshot &thread, const WalkOptions &options)
      : cache_(cache), thread_(thread), options_(options) {}

  WalkResult run();

private:
  bool in_stack(uint64_t addr, uint64_t n) const {
    return thread_.stack && addr >= thread_.stack->low && addr <= thread_.stack->high &&
           n <= thread_.stack->high - addr;
  }
  void push_frame(uint64_t pc, std::optional<uint64_t> rsp, std::optional<uint64_t> rbp);
  void stop(ChainEnd end, std::string detail) {
    r_.end = end;
    r_.detail = std::move(detail);
  }
  // Check helpers: record the check on the link being built and say if it passed.
  bool check(ChainLink &link, const char *name, bool passed, std::string detail = {}) {
    if (options_.record_links)
      link.checks.push_back(LinkCheck{name, passed, std::move(detail)});
    return passed;
  }
  void keep(ChainLink &&link) {
    if (options_.record_links)
      r_.links.push_back(std::move(link));
  }
  bool check_return(ChainLink &link, uint64_t ret, const std::string &where);
  void end_at_zero_rbp();
  enum class Step { UseRbp, Next, Done };
  Step frameless_step(Frame &f, uint64_t rbp);
  // A return address that passes the link checks.
  bool plausible_return_value(uint64_t ret) {
    return ret != 0 && cache_.is_executable(ret) && !cache_.calls_before(ret).empty();
  }
  bool plausible_return(uint64_t slot) {
    const auto ret = thread_.image.u64(slot);
    return ret && plausible_return_value(*ret);
  }
  // A frame-pointer pair at rbp for a frame whose RSP is rsp.
  bool plausible_pair(uint64_t rbp, uint64_t rsp) {
    return rbp % 8 == 0 && rbp >= rsp && in_stack(rbp, 16) && plausible_return(rbp + 8);
  }

  TargetCache &cache_;
  const ThreadSnapshot &thread_;
  const WalkOptions &options_;
  WalkResult r_;
  std::vector<uint64_t> visited_; ///< pair addresses, ascending (the walk is monotonic)
};

void Walker::push_frame(uint64_t pc, std::optional<uint64_t> rsp, std::optional<uint64_t> rbp) {
  Frame f;
  f.index = static_cast<uint32_t>(r_.frames.size());
  f.pc = pc;
  f.rsp = rsp;
  f.rbp = rbp;
  FrameFacts facts;
  if (options_.symbolize || f.index == 0) {
    // A return address belongs to the call before it: pc - 1 names the
    // calling function even when the call is the last instruction (noreturn).
    const uint64_t lookup = f.index == 0 || pc == 0 ? pc : pc - 1;
    if (options_.symbolize)
      fill_symbol(f, cache_.symbol(lookup));
    facts.fn = cache_.function_at(lookup);
  } else {
    facts.fn = cache_.function_at(pc - 1);
    if (facts.fn)
      f.function_start = facts.fn->start;
  }
  r_.frames.push_back(std::move(f));
  r_.facts.push_back(facts);
}

bool Walker::check_return(ChainLink &link, uint64_t ret, const std::string &where) {
  const Frame &f = r_.frames.back();
  if (!check(link, "return_in_code", cache_.is_executable(ret),
             cache_.is_executable(ret) ? std::string() : hex(ret) + " is not in executable memory")) {
    stop(ChainEnd::BadReturnAddress, frame_label(f) + ": the return address " + hex(ret) + " at " +
                                         where + " is not in an executable mapping.");
    return false;
  }
  const auto &calls = cache_.calls_before(ret);
  if (!check(link, "call_before_return", !calls.empty(),
             calls.empty() ? "no call instruction ends at " + hex(ret)
             : calls.front().target ? "call " + hex(*calls.front().target)
                                    : std::string("indirect call"))) {
    stop(ChainEnd::BadReturnAddress, frame_label(f) + ": the return address " + hex(ret) + " at " +
                                         where + " does not follow a call instruction.");
    return false;
  }
  if (options_.record_links)
    link.call_target = calls.front().target;
  return true;
}

void Walker::end_at_zero_rbp() {
  const Frame &f = r_.frames.back();
  const FunctionFacts *fn = r_.facts.back().fn;
  if (is_entry_function(f.function)) {
    stop(ChainEnd::Outermost, frame_label(f) + " is where the thread begins and RBP is 0 there.");
  } else if (!fn || !fn->info.decoded) {
    stop(ChainEnd::Outermost, frame_label(f) +
                                  " has RBP 0 and its code is unknown: taken as the outermost frame.");
  } else if (!fn->info.has_frame_pointer) {
    stop(ChainEnd::Outermost,
         frame_label(f) + " keeps no frame pointer and RBP is 0 in it: the chain ends there.");
  } else {
    stop(ChainEnd::NullRbp,
         frame_label(f) + " sets up a frame pointer, yet its RBP is 0" +
             (f.index > 0 ? " (the saved RBP at " + hex(r_.frames[f.index - 1].saved_rbp_slot.value_or(0)) +
                                " is 0)"
                          : std::string()) +
             ": the chain was cut.");
  }
}

// A frame (above frame 0) whose function keeps no frame pointer: its RBP is
// its caller's (or a general register's), so its own pair is not at RBP. Its
// body has a constant CFA - RSP, so the return address is at
// RSP + static_size - 8, as for a frameless frame 0. Taken only if that
// return address passes the link checks; otherwise the RBP pair is tried.
Walker::Step Walker::frameless_step(Frame &f, uint64_t rbp) {
  FrameFacts &facts = r_.facts.back();
  const FunctionFacts *fn = facts.fn;
  if (!fn || !fn->info.decoded || fn->has_frame_pointer() || fn->fragment || fn->is_allocator || !f.rsp)
    return Step::UseRbp;
  const uint64_t code_end = fn->start + fn->code.size();
  const uint64_t at = f.pc < code_end ? f.pc : f.pc - 1;
  if (at < fn->start || at >= code_end)
    return Step::UseRbp;
  const PrologueState st = prologue_state_at(fn->info, fn->code, at);
  if (!st.rsp_offset_exact || st.in_epilogue || st.rsp_offset_from_cfa < 8 || st.rsp_offset_from_cfa % 8 != 0)
    return Step::UseRbp;
  const uint64_t cfa = *f.rsp + static_cast<uint64_t>(st.rsp_offset_from_cfa);
  if (cfa < *f.rsp || !in_stack(cfa - 8, 8) || !plausible_return(cfa - 8))
    return Step::UseRbp;
  const uint64_t ret = *thread_.image.u64(cfa - 8);
  uint64_t caller_rbp = rbp;
  if (st.rbp_pushed && st.saved_rbp_cfa_offset && *st.saved_rbp_cfa_offset >= 16 &&
      *st.saved_rbp_cfa_offset <= st.rsp_offset_from_cfa)
    caller_rbp = thread_.image.u64(cfa - static_cast<uint64_t>(*st.saved_rbp_cfa_offset)).value_or(0);
  f.cfa = cfa;
  facts.position = FramePosition::Frameless;
  facts.static_at_pc = st.rsp_offset_from_cfa;
  f.note = "no frame pointer: return address at RSP + " + std::to_string(st.rsp_offset_from_cfa - 8);
  ChainLink link;
  link.address = cfa - 16;
  link.saved_rbp = caller_rbp;
  link.return_address = ret;
  check(link, "frame_size", true, f.note);
  check(link, "return_in_code", true);
  const auto &calls = cache_.calls_before(ret);
  check(link, "call_before_return", true, calls.front().target ? "call " + hex(*calls.front().target) : "indirect call");
  if (options_.record_links)
    link.call_target = calls.front().target;
  keep(std::move(link));
  if (r_.frames.size() >= options_.max_depth) {
    stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " + std::to_string(options_.max_depth) +
                                 " frames; the chain goes on.");
    return Step::Done;
  }
  push_frame(ret, cfa, caller_rbp);
  return Step::Next;
}

WalkResult Walker::run() {
  const Registers &regs = thread_.info.registers;
  push_frame(regs.rip, regs.rsp, regs.rbp);
  if (!thread_.stack) {
    stop(ChainEnd::OutOfStack, "RSP " + hex(regs.rsp) + " is not inside any readable mapping" +
                                   (thread_.stack_problem.empty() ? "" : " (" + thread_.stack_problem + ")") +
                                   ": no frame can be walked.");
    return std::move(r_);
  }
  if (options_.max_depth == 0) {
    stop(ChainEnd::MaxDepth, "the maximum depth is 0.");
    return std::move(r_);
  }

  FrameZero z = locate_frame_zero(cache_, thread_);
  r_.facts[0].position = z.facts.position;
  r_.facts[0].static_at_pc = z.facts.static_at_pc;
  r_.frames[0].note = z.how;

  uint64_t slot = regs.rbp; // the pair address of the frame being finished
  uint64_t floor = regs.rsp; // the pair must lie at or above this
  if (!z.rbp_based && !plausible_return(z.return_slot) && plausible_pair(regs.rbp, regs.rsp)) {
    // The decoded prologue state put the return address where there is
    // none (a prologue the decoder misread, code reached by a jump from
    // another function), while RBP holds a sound pair: trust RBP, as LLDB
    // falls back from assembly inspection to the frame-pointer plan.
    z.rbp_based = true;
    r_.facts[0].position = FramePosition::Body;
    r_.facts[0].static_at_pc.reset();
    r_.facts[0].setup_contradicted = true;
    r_.frames[0].note = "decoded frame setup contradicted by the stack: frame pointer used";
  }
  if (!z.rbp_based) {
    // Frame 0's return address is found from RSP; its caller's RBP is in a
    // register or in the slot the prologue pushed it to.
    Frame &f0 = r_.frames[0];
    f0.cfa = z.cfa;
    ChainLink link;
    link.address = z.return_slot - 8;
    link.saved_rbp = z.caller_rbp;
    check(link, "frame0", true, z.how);
    const auto ret = thread_.image.u64(z.return_slot);
    if (!check(link, "in_stack", in_stack(z.return_slot, 8),
               in_stack(z.return_slot, 8) ? std::string() : hex(z.return_slot) + " is outside the stack")) {
      keep(std::move(link));
      stop(ChainEnd::OutOfStack, frame_label(f0) + ": its return address slot " + hex(z.return_slot) +
                                     " is outside the thread's stack.");
      return std::move(r_);
    }
    if (!ret) {
      keep(std::move(link));
      stop(ChainEnd::Unreadable,
           frame_label(f0) + ": its return address slot " + hex(z.return_slot) + " cannot be read.");
      return std::move(r_);
    }
    link.return_address = *ret;
    if (*ret == 0) {
      keep(std::move(link));
      stop(ChainEnd::Outermost, frame_label(f0) + " has return address 0: it is the outermost frame.");
      return std::move(r_);
    }
    if (!check_return(link, *ret, hex(z.return_slot))) {
      keep(std::move(link));
      return std::move(r_);
    }
    keep(std::move(link));
    if (options_.max_depth <= 1) {
      stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of 1 frame.");
      return std::move(r_);
    }
    push_frame(*ret, z.cfa, z.caller_rbp);
    slot = z.caller_rbp;
    floor = z.cfa;
  }

  for (;;) {
    Frame &f = r_.frames.back();
    if (f.index > 0 && is_entry_function(f.function)) {
      // glibc's start-up code keeps no frame pointer: what its RBP holds is
      // not a pair (often 0 or 1), and nothing calls it.
      stop(ChainEnd::Outermost, frame_label(f) + " is where the thread begins: the walk ends there.");
      break;
    }
    if (f.index > 0) {
      const auto step = frameless_step(f, slot);
      if (step == Step::Done)
        break;
      if (step == Step::Next) {
        slot = r_.frames.back().rbp.value_or(0);
        floor = r_.frames.back().rsp.value_or(0);
        continue;
      }
    }
    if (slot == 0) {
      end_at_zero_rbp();
      break;
    }
    ChainLink link;
    link.address = slot;
    if (!check(link, "aligned", slot % 8 == 0, slot % 8 == 0 ? "" : hex(slot) + " is not 8-byte aligned")) {
      keep(std::move(link));
      stop(ChainEnd::Misaligned, frame_label(f) + ": RBP " + hex(slot) + " is not 8-byte aligned.");
      break;
    }
    if (!check(link, "in_stack", in_stack(slot, 16),
               in_stack(slot, 16) ? "" : hex(slot) + " is outside the stack")) {
      keep(std::move(link));
      stop(ChainEnd::OutOfStack, frame_label(f) + ": RBP " + hex(slot) + " is outside the thread's stack [" +
                                     hex(thread_.stack->low) + ", " + hex(thread_.stack->high) + ").");
      break;
    }
    if (slot < floor) {
      const bool cycle = std::binary_search(visited_.begin(), visited_.end(), slot);
      check(link, "monotonic", false, hex(slot) + " is below " + hex(floor));
      if (cycle) {
        check(link, "no_cycle", false, hex(slot) + " was visited before");
        keep(std::move(link));
        stop(ChainEnd::Cycle, frame_label(f) + ": RBP " + hex(slot) +
                                  " points back to a pair already walked: the chain loops.");
      } else {
        keep(std::move(link));
        stop(ChainEnd::NotMonotonic, frame_label(f) + ": RBP " + hex(slot) + " is below " + hex(floor) +
                                         ", where a caller's frame cannot be.");
      }
      break;
    }
    check(link, "monotonic", true);
    check(link, "no_cycle", true);
    const auto saved = thread_.image.u64(slot);
    const auto ret = thread_.image.u64(slot + 8);
    if (!saved || !ret) {
      check(link, "readable", false, "the pair at " + hex(slot) + " cannot be read");
      keep(std::move(link));
      stop(ChainEnd::Unreadable, frame_label(f) + ": the pair at RBP " + hex(slot) + " cannot be read.");
      break;
    }
    f.cfa = slot + 16;
    f.saved_rbp_slot = slot;
    visited_.push_back(slot);
    link.saved_rbp = *saved;
    link.return_address = *ret;
    if (*ret == 0) {
      keep(std::move(link));
      stop(ChainEnd::Outermost, frame_label(f) + " has return address 0: it is the outermost frame.");
      break;
    }
    if (!check_return(link, *ret, hex(slot + 8))) {
      keep(std::move(link));
      break;
    }
    keep(std::move(link));
    if (r_.frames.size() >= options_.max_depth) {
      stop(ChainEnd::MaxDepth, "the walk stopped at the maximum depth of " +
                                   std::to_string(options_.max_depth) + " frames; the chain goes on.");
      break;
    }
    push_frame(*ret, slot + 16, *saved);
    floor = slot + 16;
    slot = *saved;
  }
  return std::move(r_);
}

} // namespace

WalkResult walk_rbp_chain(TargetCache &cache, const ThreadSnapshot &thread, const WalkOptions &options) {
  Walker w(cache, thread, options);
  return w.run();
}

} // namespace frameaudit::detail

// frame_variables.cpp: the registers of each frame as the walk recovered
// them, and the debug-info variables in scope at each frame's pc evaluated
// against those registers (docs/analysis.md, "Variables"). The dangling-pointer
// rule reads pointer variables from here; the frame provider shows them in
// LLDB for the frames LLDB's own unwinder got wrong.
#include "analysis/thread_work.h"
#include "unwind/cfi_eval.h"

#include <algorithm>
#include <cstring>

namespace frameaudit::detail {

namespace {

constexpr int kCalleeSavedRegs[] = {kRbx, kRbp, kR12, kR13, kR14, kR15};

uint64_t symbol_pc(const Frame &f, const FrameFacts &facts) {
  return facts.at_instruction || f.pc == 0 ? f.pc : f.pc - 1;
}

// Reads 8 bytes from the thread's stack image, else from the target.
auto stack_reader(TargetCache &cache, const ThreadWork &w) {
  return [&cache, &img = w.snap.image](uint64_t a) -> std::optional<uint64_t> {
    if (auto v = img.u64(a))
      return v;
    return cache.read_u64(a);
  };
}

} // namespace

std::vector<RegState> frame_registers(TargetCache &cache, const ThreadWork &w,
                                      const std::vector<Frame> &frames, size_t count) {
  count = std::min(count, std::min(frames.size(), w.walk.facts.size()));
  std::vector<RegState> out(count);
  if (count == 0)
    return out;
  auto read = stack_reader(cache, w);
  const Registers &regs0 = w.snap.info.registers;
  for (const auto &[name, value] : regs0.general)
    if (int r = dwarf_number(name); r >= 0)
      out[0].set(r, value);
  out[0].set(kRsp, regs0.rsp);
  out[0].set(kRbp, regs0.rbp);
  out[0].set(kRip, regs0.rip);
  for (size_t i = 1; i < count; ++i) {
    const Frame &callee = frames[i - 1], &f = frames[i];
    const FrameFacts &callee_facts = w.walk.facts[i - 1];
    RegState &r = out[i];
    if (callee_facts.position == FramePosition::Signal && i >= 2 && frames[i - 2].cfa) {
      // The interrupted context: the kernel's ucontext above the handler's
      // CFA holds every general register (gregs at +40, in its own order).
      static constexpr int kGregs[] = {kR8,  kR9,  kR10, kR11, kR12, kR13, kR14, kR15,
                                       kRdi, kRsi, kRbp, kRbx, kRdx, kRax, kRcx, kRsp};
      const uint64_t uc = *frames[i - 2].cfa + 40;
      for (size_t k = 0; k < std::size(kGregs); ++k)
        if (auto v = read(uc + 8 * k))
          r.set(kGregs[k], *v);
    } else if (const CfiRow *row = cache.modules().row_at(symbol_pc(callee, callee_facts));
               row && callee.cfa) {
      const RegState &prev = out[i - 1];
      for (int reg : kCalleeSavedRegs) {
        const CfiRule &rule = row->regs[reg];
        // A callee-saved register the row has no rule for is one the
        // function does not touch (the psABI preserves it across calls).
        if (rule.kind == CfiRule::Kind::Same || rule.kind == CfiRule::Kind::Undefined) {
          if (auto v = prev.get(reg))
            r.set(reg, *v);
        } else if (rule.at_cfa) {
          if (auto v = read(*callee.cfa + static_cast<uint64_t>(*rule.at_cfa)))
            r.set(reg, *v);
        } else if (rule.kind == CfiRule::Kind::Expr) {
          auto v = eval_rule(rule, prev, callee.cfa, read);
          if (v && !rule.value)
            v = read(*v);
          if (v)
            r.set(reg, *v);
        }
      }
    }
    // What the walk itself established wins over a rule's reading.
    if (f.rsp)
      r.set(kRsp, *f.rsp);
    if (f.rbp)
      r.set(kRbp, *f.rbp);
    r.set(kRip, f.pc);
    // A repaired frame's RSP is lowered by the blocks its unsafe call left:
    // its variables live where its static frame put them, CFA - static size.
    if (f.repaired && f.cfa && f.static_size && *f.static_size > 0 &&
        static_cast<uint64_t>(*f.static_size) <= *f.cfa)
      r.set(kRsp, *f.cfa - static_cast<uint64_t>(*f.static_size));
  }
  return out;
}

std::vector<FrameVariable> frame_variables(TargetCache &cache, const ThreadWork &w, const Frame &f,
                                           const FrameFacts &facts, const RegState &regs,
                                           bool *has_debug_info) {
  std::vector<FrameVariable> out;
  const ScopeVariables *scope = cache.modules().variables_at(symbol_pc(f, facts));
  if (has_debug_info)
    *has_debug_info = scope != nullptr;
  if (!scope)
    return out;
  auto read = stack_reader(cache, w);
  std::optional<uint64_t> frame_base;
  if (scope->frame_base.kind == CfiRule::Kind::Expr)
    frame_base = eval_rule(scope->frame_base, regs, f.cfa, read);
  out.reserve(scope->vars.size());
  for (const VariableDesc &d : scope->vars) {
    FrameVariable &v = out.emplace_back();
    v.name = d.name;
    v.type = d.type;
    v.size = d.size;
    v.parameter = d.parameter;
    v.pointer = d.pointer;
    v.why = d.why;
    switch (d.form) {
    case VariableDesc::Form::Unavailable:
      break;
    case VariableDesc::Form::Implicit:
      v.where = FrameVariable::Where::Value;
      v.value = d.implicit;
      break;
    case VariableDesc::Form::Register:
      v.where = FrameVariable::Where::Register;
      v.reg = register_name(d.reg);
      v.value = regs.get(d.reg);
      if (!v.value) {
        v.where = FrameVariable::Where::Unavailable;
        v.why = std::string("in ") + register_name(d.reg) + ", which this frame's unwind did not recover";
      }
      break;
    case VariableDesc::Form::Expr: {
      CfiRule rule = d.location;
      bool ok = true;
      for (CfiOp &op : rule.ops)
        if (op.atom == 0x91) { // DW_OP_fbreg: the frame base plus an offset
          ok = ok && frame_base.has_value();
          op = CfiOp{0x0e, frame_base.value_or(0) + op.number, 0}; // DW_OP_const8u
        }
      const auto at = ok ? eval_rule(rule, regs, f.cfa, read) : std::nullopt;
      if (!at) {
        v.why = ok ? "its location needs a register this frame's unwind did not recover"
                   : "its function's frame base is unknown here";
        break;
      }
      if (rule.value) {
        v.where = FrameVariable::Where::Value;
        v.value = *at;
      } else {
        v.where = FrameVariable::Where::Memory;
        v.address = *at;
        if (v.pointer)
          v.value = read(*at);
      }
      break;
    }
    }
  }
  return out;
}

void fill_frame_variables(TargetCache &cache, const ThreadWork &w, ThreadReport &t) {
  const std::vector<RegState> regs = frame_registers(cache, w, t.frames, t.frames.size());
  for (size_t i = 0; i < regs.size(); ++i) {
    Frame &f = t.frames[i];
    auto details = std::make_shared<FrameDetails>();
    details->variables = frame_variables(cache, w, f, w.walk.facts[i], regs[i], nullptr);
    for (int r = 0; r < kDwarfRegs; ++r)
      if (auto v = regs[i].get(r))
        details->registers.emplace_back(register_name(r), *v);
    f.details = std::move(details);
  }
}

} // namespace frameaudit::detail

// cfi_eval.h: the registers of one frame as far as the unwinder knows them,
// and the evaluation of a CFI rule (a small DWARF expression) against them.
// Bounded: at most kMaxOps operations and kMaxStack values; anything else
// (an operation this evaluator does not know, an unreadable deref) makes the
// rule unusable rather than guessed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "elf/module_set.h"

namespace frameaudit::detail {

/// The DWARF number of a general register by name, or -1.
inline int dwarf_number(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kNames[] = {
      {"rax", kRax}, {"rdx", kRdx}, {"rcx", kRcx}, {"rbx", kRbx}, {"rsi", kRsi}, {"rdi", kRdi},
      {"rbp", kRbp}, {"rsp", kRsp}, {"r8", kR8},   {"r9", kR9},   {"r10", kR10}, {"r11", kR11},
      {"r12", kR12}, {"r13", kR13}, {"r14", kR14}, {"r15", kR15}};
  for (const auto &[n, r] : kNames)
    if (n == name)
      return r;
  return -1;
}

/// The name of DWARF register r ("?" beyond rip).
inline const char *register_name(int r) {
  static constexpr const char *kNames[] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi",
                                           "rbp", "rsp", "r8",  "r9",  "r10", "r11",
                                           "r12", "r13", "r14", "r15", "rip"};
  return r >= 0 && r < kDwarfRegs ? kNames[r] : "?";
}

/// Register values of one frame, by DWARF number; `known` bit i says reg i is.
struct RegState {
  std::array<uint64_t, kDwarfRegs> value{};
  uint32_t known = 0;
  bool has(int r) const { return r >= 0 && r < kDwarfRegs && (known >> r & 1u); }
  std::optional<uint64_t> get(int r) const { return has(r) ? std::optional<uint64_t>(value[r]) : std::nullopt; }
  void set(int r, uint64_t v) {
    value[r] = v;
    known |= 1u << r;
  }
  void clear(int r) { known &= ~(1u << r); }
};

/// Evaluate rule in a frame with registers regs and CFA cfa (ignored while
/// evaluating the CFA rule itself). For a location rule (`!rule.value`) the
/// result is the address the value is saved at; read_u64 reads it.
/// DW_OP_deref inside the expression reads through read_u64 too.
template <class Read>
std::optional<uint64_t> eval_rule(const CfiRule &rule, const RegState &regs, std::optional<uint64_t> cfa,
                                  Read &&read_u64) {
  constexpr size_t kMaxOps = 64, kMaxStack = 32;
  if (rule.kind != CfiRule::Kind::Expr || rule.ops.empty() || rule.ops.size() > kMaxOps)
    return std::nullopt;
  std::array<uint64_t, kMaxStack> st{};
  size_t n = 0;
  auto push = [&](uint64_t v) {
    if (n >= kMaxStack)
      return false;
    st[n++] = v;
    return true;
  };
  for (const CfiOp &op : rule.ops) {
    const uint8_t a = op.atom;
    bool ok = true;
    if (a >= 0x70 && a <= 0x8f) { // DW_OP_breg0..31
      auto r = regs.get(a - 0x70);
      ok = r && push(*r + op.number);
    } else if (a == 0x92) { // DW_OP_bregx
      auto r = regs.get(static_cast<int>(op.number));
      ok = r && push(*r + op.number2);
    } else if (a >= 0x50 && a <= 0x6f) { // DW_OP_reg0..31: the value is in the register
      auto r = regs.get(a - 0x50);
      ok = r && push(*r);
    } else if (a == 0x90) { // DW_OP_regx
      auto r = regs.get(static_cast<int>(op.number));
      ok = r && push(*r);
    } else if (a == 0x9c) { // DW_OP_call_frame_cfa
      ok = cfa && push(*cfa);
    } else if (a >= 0x30 && a <= 0x4f) { // DW_OP_lit0..31
      ok = push(a - 0x30);
    } else if ((a >= 0x08 && a <= 0x11)) { // DW_OP_const1u .. DW_OP_consts
      ok = push(op.number);
    } else if (a == 0x23) { // DW_OP_plus_uconst
      ok = n >= 1;
      if (ok)
        st[n - 1] += op.number;
    } else if (a == 0x22 || a == 0x1c || a == 0x1a || a == 0x21 || a == 0x1e || a == 0x24 || a == 0x25 ||
               a == 0x27) { // plus, minus, and, or, mul, shl, shr, xor
      ok = n >= 2;
      if (ok) {
        const uint64_t b = st[--n], x = st[n - 1];
        uint64_t r = 0;
        switch (a) {
        case 0x22: r = x + b; break;
        case 0x1c: r = x - b; break;
        case 0x1a: r = x & b; break;
        case 0x21: r = x | b; break;
        case 0x1e: r = x * b; break;
        case 0x24: r = b < 64 ? x << b : 0; break;
        case 0x25: r = b < 64 ? x >> b : 0; break;
        case 0x27: r = x ^ b; break;
        }
        st[n - 1] = r;
      }
    } else if (a == 0x06) { // DW_OP_deref
      ok = n >= 1;
      if (ok) {
        auto v = read_u64(st[n - 1]);
        ok = v.has_value();
        if (ok)
          st[n - 1] = *v;
      }
    } else if (a == 0x12) { // dup
      ok = n >= 1 && push(st[n - 1]);
    } else if (a == 0x13) { // drop
      ok = n >= 1;
      if (ok)
        --n;
    } else if (a == 0x16) { // swap
      ok = n >= 2;
      if (ok)
        std::swap(st[n - 1], st[n - 2]);
    } else {
      ok = false;
    }
    if (!ok)
      return std::nullopt;
  }
  if (n == 0)
    return std::nullopt;
  return st[n - 1];
}

} // namespace frameaudit::detail

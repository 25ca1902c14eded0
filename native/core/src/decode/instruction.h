// instruction.h: the decoder's private view of one x86-64 instruction.
// Zydis decodes; this reduces each instruction to what the frame analyses
// need (how it moves RSP, where it branches, whether it addresses memory
// through RSP), so the analyses never touch Zydis structures directly.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frameaudit/function_info.h"
#include "frameaudit/hex.h"

namespace frameaudit::decode {

/// What an instruction does to the stack pointer or the control flow.
enum class Op : uint8_t {
  Other,         ///< nothing the frame analyses care about
  Endbr64,       ///< endbr64
  PushReg,       ///< push %reg (reg in `reg`)
  PushOther,     ///< push $imm / push mem
  Pop,           ///< pop %reg (reg in `reg`; PopRsp is separate)
  MovRspToRbp,   ///< mov %rsp,%rbp
  AdjustRsp,     ///< add/sub $imm,%rsp or lea N(%rsp),%rsp: RSP += delta
  AndRsp,        ///< and $-N,%rsp (realignment)
  SubRspReg,     ///< sub %reg,%rsp (compiler-known dynamic allocation)
  Leave,         ///< leave
  LeaRspFromRbp, ///< lea N(%rbp),%rsp (N in `delta`)
  MovRbpToRsp,   ///< mov %rbp,%rsp
  SetRspOther,   ///< any other write of RSP (mov %reg,%rsp, lea N(%r10),%rsp, pop %rsp, ...)
  Call,          ///< call (direct target in `target`)
  Ret,           ///< ret / ret $imm
  Jmp,           ///< unconditional jmp (direct target in `target`)
  Jcc,           ///< conditional branch, loop, jrcxz (target in `target`)
  Trap,          ///< ud2, hlt, int3: no fall-through
};

/// Register numbers used in Insn::reg (the subset the analyses compare).
enum class Reg : uint8_t {
  None,
  Rax,
  Rcx,
  Rdx,
  Rbx,
  Rsp,
  Rbp,
  Rsi,
  Rdi,
  R8,
  R9,
  R10,
  R11,
  R12,
  R13,
  R14,
  R15,
  Other
};

struct Insn {
  uint64_t address = 0;
  uint8_t length = 0;
  Op op = Op::Other;
  Reg reg = Reg::None;            ///< PushReg / Pop
  int64_t delta = 0;              ///< AdjustRsp: change of RSP; AndRsp: the mask; LeaRspFromRbp: N
  std::optional<uint64_t> target; ///< direct Call / Jmp / Jcc target
  std::optional<uint64_t> slot;   ///< indirect Call / Jmp through [rip+disp]: the slot's address
  bool indirect = false;          ///< Call / Jmp through a register or memory
  bool notrack = false;           ///< notrack prefix (switch tables under CET)
  /// An explicit memory operand based on RSP (not push/pop/call/ret's
  /// implicit ones): rsp_disp is its displacement, rsp_size its byte size.
  bool rsp_memory = false;
  bool rsp_lea = false; ///< the RSP-based operand is an address computation (lea)
  /// or/xor/add/sub $0 to memory: a stack probe (-fstack-clash-protection),
  /// which leaves the memory as it was.
  bool probe = false;
  bool padding = false; ///< a nop of any length (alignment padding)
  int64_t rsp_disp = 0;
  uint32_t rsp_size = 0;

  uint64_t end() const { return address + length; }
  bool ends_block() const { return op == Op::Ret || op == Op::Jmp || op == Op::Trap; }
};

/// Decode one instruction at `code` (which holds the bytes from `address`
/// on). Returns std::nullopt if the bytes are not a valid instruction.
std::optional<Insn> decode_one(std::span<const uint8_t> code, uint64_t address);

/// Linear sweep over `code`, at most `max_instructions`; stops at the first
/// undecodable byte (the returned vector then ends before it).
std::vector<Insn> decode_all(std::span<const uint8_t> code, uint64_t start,
                             size_t max_instructions = 1u << 20);

/// decode_function over instructions already decoded from [start, end)
/// (for callers that need both, so the bytes are decoded once).
FunctionInfo analyze_function(const std::vector<Insn> &insns, uint64_t start, uint64_t end);

/// AT&T text of the instruction at `address` (which must lie inside
/// [start, start + code.size())), e.g. "addq $0x18, %rsp"; "(bad)" if it
/// does not decode.
std::string format_instruction(std::span<const uint8_t> code, uint64_t start, uint64_t address);


} // namespace frameaudit::decode

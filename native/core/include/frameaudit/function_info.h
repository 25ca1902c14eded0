// function_info.h: what the prologue/epilogue decoder (Zydis) learns about one
// function's machine code. Shared by the walker (frame 0, static sizes,
// classification) and by lint (unsafe callers).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace frameaudit {

/// How one return path (a `ret`, or a tail `jmp`) restores RSP.
enum class EpilogueKind {
  Leave,      ///< leave
  LeaFromRbp, ///< lea -N(%rbp),%rsp
  MovFromRbp, ///< mov %rbp,%rsp
  AddToRsp,   ///< add $N,%rsp: trusts RSP, unsafe after sra_alloc
  PopsOnly,   ///< only pops: trusts RSP
  None,       ///< ret with nothing (frameless leaf)
  /// RSP loaded from another register before the ret (GCC's DRAP epilogue
  /// `lea -8(%r10),%rsp`, a restore from a saved stack pointer): does not
  /// trust the current RSP.
  FromOtherRegister,
};

/// Contract-style spelling of an epilogue kind ("leave", "add-to-rsp", ...).
const char *to_string(EpilogueKind kind);

struct Epilogue {
  uint64_t ret_address = 0;     ///< the ret (or tail jmp) instruction
  uint64_t restore_address = 0; ///< the instruction that restores RSP (== ret_address if none)
  EpilogueKind kind = EpilogueKind::None;
  int64_t add_amount = 0; ///< N for AddToRsp
  int pops = 0;           ///< pops between the restore and the ret
  bool tail_call = false; ///< a jmp leaving the function after its epilogue
};

/// A call instruction inside the function.
struct CallSiteInfo {
  uint64_t address = 0;        ///< the call instruction
  uint64_t return_address = 0; ///< address after it
  std::optional<uint64_t>
      target; ///< direct target, or the PLT/GOT slot's resolved target when known
  bool indirect = false;
  /// For `call *disp(%rip)`: the address of the memory slot it calls through.
  std::optional<uint64_t> slot;
  uint8_t length = 0; ///< instruction length in bytes
};

/// An instruction after an allocator call that addresses the frame through RSP
/// (a load/store with base %rsp other than a push/pop/call), making it unsafe.
struct RspAccess {
  uint64_t address = 0;
  std::string text; ///< formatted instruction
};

/// Prologue state at a given offset (for frame 0 and frameless leaves).
struct PrologueState {
  bool rbp_pushed = false;         ///< push %rbp executed
  bool frame_pointer_set = false;  ///< mov %rsp,%rbp executed
  int64_t rsp_offset_from_cfa = 8; ///< CFA - RSP at that pc while RSP is static
  bool in_epilogue = false;        ///< pc is after the RSP restore, before the ret
  /// False when CFA - RSP is not a compile-time constant at pc (after a stack
  /// realignment, a dynamic allocation, or in a body that may hold either):
  /// use RBP there. rsp_offset_from_cfa is then the static part only.
  bool rsp_offset_exact = true;
  /// CFA - (address of the slot holding the caller's RBP) while rbp_pushed
  /// (16 for the usual push %rbp right after the return address).
  std::optional<int64_t> saved_rbp_cfa_offset;
};

struct FunctionInfo {
  uint64_t start = 0;
  uint64_t end = 0;
  bool decoded = false;           ///< false if the bytes could not be decoded at all
  bool has_frame_pointer = false; ///< push %rbp; mov %rsp,%rbp in the prologue
  bool realigns_stack = false;    ///< and $-N,%rsp after the frame setup
  /// Compiler-known dynamic allocation: sub %reg,%rsp, or (clang -O0) RSP
  /// loaded from a register outside an epilogue.
  bool dynamic_alloca = false;
  int callee_saved_pushes = 0; ///< pushes after the frame setup
  int64_t fixed_sub = 0;       ///< sub $N,%rsp in the prologue
  /// CFA - RSP once the prologue is done (8 + pushes*8 + fixed_sub), i.e. the
  /// static frame size the prologue sets up, including the return address.
  int64_t static_size = 0;
  uint64_t prologue_end = 0; ///< first address after the prologue
  std::vector<Epilogue> epilogues;
  std::vector<CallSiteInfo> calls;
  std::vector<RspAccess> rsp_accesses_after_alloc; ///< filled by analyze_allocator_caller (lint.h)
  /// CFA - RBP once the frame pointer is set (16 for push %rbp; mov %rsp,%rbp
  /// right at entry); 0 without a frame pointer.
  int64_t frame_pointer_cfa_offset = 0;
  /// CFA - (slot of the caller's RBP) if the prologue pushes %rbp (as frame
  /// pointer or as an ordinary callee-saved register).
  std::optional<int64_t> saved_rbp_cfa_offset;
  /// True if the linear sweep stopped before `end` at bytes that do not decode.
  bool truncated = false;
  /// The code sets up no frame of its own (no `mov %rsp,%rbp` anywhere, no
  /// prologue) yet relies on a frame pointer: it allocates dynamically
  /// (`sub %reg,%rsp`), restores RSP from RBP on a return path (`leave`,
  /// `lea -N(%rbp),%rsp`, `mov %rbp,%rsp`), or calls while never moving RSP
  /// (a call at CFA - RSP = 8 breaks the ABI's 16-byte alignment). Such code
  /// runs in a frame another part of its function set up: a split-off part
  /// (GCC's `f.cold`), whose symbol says so only without debug info.
  bool borrows_frame = false;
  /// Direct jmp/jcc targets outside [start, end) (tail calls, and the jumps a
  /// split-off part makes back into its parent), in code order, unique.
  std::vector<uint64_t> jumps_out;
};

/// Decode [start, start + code.size()) (the whole function). Never throws;
/// undecodable bytes end the linear sweep and leave decoded = false or
/// partial results.
FunctionInfo decode_function(std::span<const uint8_t> code, uint64_t start);

/// The prologue/epilogue state at `pc` inside the function (for frame 0).
PrologueState prologue_state_at(const FunctionInfo &fn, std::span<const uint8_t> code, uint64_t pc);

/// If the bytes just before `return_address` end with a call instruction,
/// describe it. `before` holds the up to 15 bytes preceding return_address
/// (its last byte is the one at return_address - 1). Candidates are tried
/// from the most common encodings on (5-byte `call rel32`, 6-byte
/// `call *disp(%rip)`, 2/3-byte `call *%reg`, ...); the first that decodes to
/// a call ending exactly at return_address wins.
std::optional<CallSiteInfo> decode_call_before(std::span<const uint8_t> before,
                                               uint64_t return_address);

/// Every call instruction that ends exactly at return_address, in the order
/// decode_call_before prefers them (the bytes before a return address can
/// decode several ways; a walker may check which target fits).
std::vector<CallSiteInfo> decode_calls_before(std::span<const uint8_t> before,
                                              uint64_t return_address);

/// True if `code` (at `address`) begins like sra_alloc (signature match, for
/// stripped binaries).
bool looks_like_allocator(std::span<const uint8_t> code);

} // namespace frameaudit

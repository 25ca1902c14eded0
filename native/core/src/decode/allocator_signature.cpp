// allocator_signature.cpp: recognise sra_alloc's entry sequence in a stripped
// binary, where no symbol names it. The match follows native/sra/sra_alloc.S
// and tolerates what assemblers and linkers change: the displacement of the
// TLS slot, and ld's relaxation of the initial-exec load
// (`mov x@gottpoff(%rip),%rax` -> `mov $x@tpoff,%rax`), or a direct
// `mov %fs:off,%rcx`.
#include <Zydis/Zydis.h>

#include "frameaudit/function_info.h"

namespace frameaudit {
namespace {

struct Decoded {
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

class Cursor {
public:
  explicit Cursor(std::span<const uint8_t> code) : code_(code) {
    ZydisDecoderInit(&dec_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  }
  // Decode the next instruction; false at the end or on invalid bytes.
  bool next(Decoded &d) {
    if (off_ >= code_.size())
      return false;
    if (!ZYAN_SUCCESS(
            ZydisDecoderDecodeFull(&dec_, code_.data() + off_, code_.size() - off_, &d.in, d.ops)))
      return false;
    off_ += d.in.length;
    return true;
  }

private:
  ZydisDecoder dec_;
  std::span<const uint8_t> code_;
  size_t off_ = 0;
};

bool reg_is(const ZydisDecodedOperand &op, ZydisRegister r) {
  return op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value == r;
}

bool is(const Decoded &d, ZydisMnemonic m) {
  return d.in.mnemonic == m;
}

bool mov_reg_reg(const Decoded &d, ZydisRegister dst, ZydisRegister src) {
  return is(d, ZYDIS_MNEMONIC_MOV) && d.in.operand_count_visible == 2 && reg_is(d.ops[0], dst) &&
         reg_is(d.ops[1], src);
}

// mov %fs:(%rax),%rcx or mov %fs:off,%rcx
bool fs_load_to_rcx(const Decoded &d, bool via_rax) {
  if (!is(d, ZYDIS_MNEMONIC_MOV) || d.in.operand_count_visible != 2 ||
      !reg_is(d.ops[0], ZYDIS_REGISTER_RCX))
    return false;
  const auto &m = d.ops[1];
  if (m.type != ZYDIS_OPERAND_TYPE_MEMORY || m.mem.segment != ZYDIS_REGISTER_FS)
    return false;
  return via_rax ? m.mem.base == ZYDIS_REGISTER_RAX : m.mem.base == ZYDIS_REGISTER_NONE;
}

} // namespace

bool looks_like_allocator(std::span<const uint8_t> code) {
  Cursor c(code);
  Decoded d;
  if (!c.next(d))
    return false;
  if (is(d, ZYDIS_MNEMONIC_ENDBR64) && !c.next(d))
    return false;
  if (!is(d, ZYDIS_MNEMONIC_PUSH) || !reg_is(d.ops[0], ZYDIS_REGISTER_RBP))
    return false;
  if (!c.next(d) || !mov_reg_reg(d, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSP))
    return false;

  // The thread's low stack bound, from TLS, into %rcx.
  if (!c.next(d))
    return false;
  if (fs_load_to_rcx(d, false)) {
    // already loaded
  } else {
    const bool tls_offset_to_rax =
        is(d, ZYDIS_MNEMONIC_MOV) && d.in.operand_count_visible == 2 &&
        reg_is(d.ops[0], ZYDIS_REGISTER_RAX) &&
        ((d.ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY && d.ops[1].mem.base == ZYDIS_REGISTER_RIP) ||
         d.ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE);
    if (!tls_offset_to_rax || !c.next(d) || !fs_load_to_rcx(d, true))
      return false;
  }
  // test %rcx,%rcx; jz .Linit; mov %rsp,%rdx; sub %rcx,%rdx
  if (!c.next(d) || !is(d, ZYDIS_MNEMONIC_TEST) || !reg_is(d.ops[0], ZYDIS_REGISTER_RCX) ||
      !reg_is(d.ops[1], ZYDIS_REGISTER_RCX))
    return false;
  if (!c.next(d) || !is(d, ZYDIS_MNEMONIC_JZ))
    return false;
  if (!c.next(d) || !mov_reg_reg(d, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RSP))
    return false;
  if (!c.next(d) || !is(d, ZYDIS_MNEMONIC_SUB) || !reg_is(d.ops[0], ZYDIS_REGISTER_RDX) ||
      !reg_is(d.ops[1], ZYDIS_REGISTER_RCX))
    return false;
  return true;
}

} // namespace frameaudit

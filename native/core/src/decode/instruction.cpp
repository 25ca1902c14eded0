// instruction.cpp: Zydis 4 behind the decoder's small Insn view (only the
// allocator signature match looks at Zydis operands directly).
#include "decode/instruction.h"

#include <Zydis/Zydis.h>

#include <cstdio>

namespace frameaudit::decode {
namespace {

const ZydisDecoder &decoder() {
  // Initialised once; ZydisDecoderDecodeFull only reads it, so sharing it
  // between threads is safe.
  static const ZydisDecoder d = [] {
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return dec;
  }();
  return d;
}

const ZydisFormatter &formatter() {
  static const ZydisFormatter f = [] {
    ZydisFormatter fmt;
    ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_ATT);
    // Read like objdump: lowercase hex, no zero padding.
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_ADDR_PADDING_RELATIVE,
                              ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_DISP_PADDING, ZYDIS_PADDING_DISABLED);
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_IMM_PADDING, ZYDIS_PADDING_DISABLED);
    return fmt;
  }();
  return f;
}

Reg map_reg(ZydisRegister r) {
  switch (r) {
  case ZYDIS_REGISTER_RAX:
    return Reg::Rax;
  case ZYDIS_REGISTER_RCX:
    return Reg::Rcx;
  case ZYDIS_REGISTER_RDX:
    return Reg::Rdx;
  case ZYDIS_REGISTER_RBX:
    return Reg::Rbx;
  case ZYDIS_REGISTER_RSP:
    return Reg::Rsp;
  case ZYDIS_REGISTER_RBP:
    return Reg::Rbp;
  case ZYDIS_REGISTER_RSI:
    return Reg::Rsi;
  case ZYDIS_REGISTER_RDI:
    return Reg::Rdi;
  case ZYDIS_REGISTER_R8:
    return Reg::R8;
  case ZYDIS_REGISTER_R9:
    return Reg::R9;
  case ZYDIS_REGISTER_R10:
    return Reg::R10;
  case ZYDIS_REGISTER_R11:
    return Reg::R11;
  case ZYDIS_REGISTER_R12:
    return Reg::R12;
  case ZYDIS_REGISTER_R13:
    return Reg::R13;
  case ZYDIS_REGISTER_R14:
    return Reg::R14;
  case ZYDIS_REGISTER_R15:
    return Reg::R15;
  case ZYDIS_REGISTER_NONE:
    return Reg::None;
  default:
    return Reg::Other;
  }
}

bool is_stack_pointer(ZydisRegister r) {
  return r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP ||
         r == ZYDIS_REGISTER_SPL;
}

bool is_reg(const ZydisDecodedOperand &op, ZydisRegister r) {
  return op.type == ZYDIS_OPERAND_TYPE_REGISTER && op.reg.value == r;
}

bool writes_stack_pointer(const ZydisDecodedOperand &op) {
  return op.visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT &&
         op.type == ZYDIS_OPERAND_TYPE_REGISTER && is_stack_pointer(op.reg.value) &&
         (op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0;
}

std::optional<uint64_t> absolute(const ZydisDecodedInstruction &in, const ZydisDecodedOperand &op,
                                 uint64_t address) {
  ZyanU64 result = 0;
  if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &op, address, &result)))
    return result;
  return std::nullopt;
}

// Branch / call operand: direct target or the rip-relative slot it goes through.
void branch_target(const ZydisDecodedInstruction &in, const ZydisDecodedOperand *ops, Insn &out) {
  const ZydisDecodedOperand &op = ops[0];
  if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
    out.target = absolute(in, op, out.address);
    return;
  }
  out.indirect = true;
  if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_RIP &&
      op.mem.index == ZYDIS_REGISTER_NONE)
    out.slot = absolute(in, op, out.address);
}

void classify(const ZydisDecodedInstruction &in, const ZydisDecodedOperand *ops, Insn &out) {
  const uint8_t n = in.operand_count_visible;
  out.notrack = (in.attributes & ZYDIS_ATTRIB_HAS_NOTRACK) != 0;

  // Memory operands based on RSP (explicit ones only: push/pop/call/ret
  // address the stack implicitly and are modelled by their Op).
  for (uint8_t i = 0; i < n; ++i) {
    const ZydisDecodedOperand &op = ops[i];
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY &&
        op.visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT && is_stack_pointer(op.mem.base)) {
      out.rsp_memory = true;
      out.rsp_lea = op.mem.type == ZYDIS_MEMOP_TYPE_AGEN;
      out.rsp_disp = op.mem.disp.has_displacement ? op.mem.disp.value : 0;
      out.rsp_size = op.size / 8;
    }
  }
  if ((in.mnemonic == ZYDIS_MNEMONIC_OR || in.mnemonic == ZYDIS_MNEMONIC_XOR ||
       in.mnemonic == ZYDIS_MNEMONIC_ADD || in.mnemonic == ZYDIS_MNEMONIC_SUB) &&
      n == 2 && ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY &&
      ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[1].imm.value.u == 0)
    out.probe = true;
  if (in.mnemonic == ZYDIS_MNEMONIC_NOP || in.mnemonic == ZYDIS_MNEMONIC_FNOP ||
      (in.mnemonic == ZYDIS_MNEMONIC_XCHG && n == 2 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
       ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ops[1].reg.value))
    out.padding = true;

  switch (in.meta.category) {
  case ZYDIS_CATEGORY_CALL:
    out.op = Op::Call;
    if (n >= 1)
      branch_target(in, ops, out);
    return;
  case ZYDIS_CATEGORY_RET:
    out.op = Op::Ret;
    return;
  case ZYDIS_CATEGORY_UNCOND_BR:
    out.op = Op::Jmp;
    if (n >= 1)
      branch_target(in, ops, out);
    return;
  case ZYDIS_CATEGORY_COND_BR:
    out.op = Op::Jcc;
    if (n >= 1)
      branch_target(in, ops, out);
    return;
  default:
    break;
  }

  switch (in.mnemonic) {
  case ZYDIS_MNEMONIC_ENDBR64:
    out.op = Op::Endbr64;
    return;
  case ZYDIS_MNEMONIC_UD0:
  case ZYDIS_MNEMONIC_UD1:
  case ZYDIS_MNEMONIC_UD2:
  case ZYDIS_MNEMONIC_HLT:
  case ZYDIS_MNEMONIC_INT3:
    out.op = Op::Trap;
    return;
  case ZYDIS_MNEMONIC_LEAVE:
    out.op = Op::Leave;
    return;
  case ZYDIS_MNEMONIC_PUSH:
    if (n >= 1 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && in.operand_width == 64) {
      out.op = Op::PushReg;
      out.reg = map_reg(ops[0].reg.value);
    } else {
      out.op = Op::PushOther;
      // A 16-bit push moves RSP by 2; model it as an adjustment.
      out.delta = -static_cast<int64_t>(in.operand_width / 8);
    }
    return;
  case ZYDIS_MNEMONIC_POP:
    if (n >= 1 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        is_stack_pointer(ops[0].reg.value)) {
      out.op = Op::SetRspOther;
    } else if (n >= 1 && ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && in.operand_width == 64) {
      out.op = Op::Pop;
      out.reg = map_reg(ops[0].reg.value);
    } else {
      // pop into memory or a 16-bit pop: still releases stack, relative to RSP.
      out.op = Op::Pop;
      out.reg = Reg::Other;
    }
    return;
  default:
    break;
  }

  if (n < 1 || !writes_stack_pointer(ops[0])) {
    if (in.mnemonic == ZYDIS_MNEMONIC_MOV && n == 2 && is_reg(ops[0], ZYDIS_REGISTER_RBP) &&
        is_reg(ops[1], ZYDIS_REGISTER_RSP))
      out.op = Op::MovRspToRbp;
    return;
  }

  // From here on the instruction writes RSP explicitly.
  const bool rsp64 = ops[0].reg.value == ZYDIS_REGISTER_RSP;
  switch (in.mnemonic) {
  case ZYDIS_MNEMONIC_SUB:
  case ZYDIS_MNEMONIC_ADD:
    if (rsp64 && n == 2 && ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      out.op = Op::AdjustRsp;
      const int64_t v = ops[1].imm.value.s;
      out.delta = in.mnemonic == ZYDIS_MNEMONIC_SUB ? -v : v;
      return;
    }
    if (rsp64 && n == 2 && ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
      // sub %reg,%rsp is the compilers' alloca; add %reg,%rsp releases such
      // an area: both are relative to the current (dynamic) RSP.
      out.op = Op::SubRspReg;
      return;
    }
    break;
  case ZYDIS_MNEMONIC_AND:
    if (rsp64 && n == 2 && ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      out.op = Op::AndRsp;
      out.delta = ops[1].imm.value.s;
      return;
    }
    break;
  case ZYDIS_MNEMONIC_LEA:
    if (rsp64 && n == 2 && ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY &&
        ops[1].mem.index == ZYDIS_REGISTER_NONE) {
      const int64_t disp = ops[1].mem.disp.has_displacement ? ops[1].mem.disp.value : 0;
      if (ops[1].mem.base == ZYDIS_REGISTER_RSP) {
        out.op = Op::AdjustRsp;
        out.delta = disp;
        out.rsp_memory = false; // an adjustment, not an access
        out.rsp_lea = false;
        return;
      }
      if (ops[1].mem.base == ZYDIS_REGISTER_RBP) {
        out.op = Op::LeaRspFromRbp;
        out.delta = disp;
        return;
      }
    }
    break;
  case ZYDIS_MNEMONIC_MOV:
    if (rsp64 && n == 2 && is_reg(ops[1], ZYDIS_REGISTER_RBP)) {
      out.op = Op::MovRbpToRsp;
      return;
    }
    break;
  default:
    break;
  }
  out.op = Op::SetRspOther;
}

} // namespace

std::optional<Insn> decode_one(std::span<const uint8_t> code, uint64_t address) {
  if (code.empty())
    return std::nullopt;
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder(), code.data(), code.size(), &in, ops)))
    return std::nullopt;
  Insn out;
  out.address = address;
  out.length = in.length;
  classify(in, ops, out);
  return out;
}

std::vector<Insn> decode_all(std::span<const uint8_t> code, uint64_t start,
                             size_t max_instructions) {
  std::vector<Insn> out;
  out.reserve(code.size() / 4 + 1);
  size_t offset = 0;
  // Every iteration consumes at least one byte, so this ends.
  while (offset < code.size() && out.size() < max_instructions) {
    auto insn = decode_one(code.subspan(offset), start + offset);
    if (!insn || insn->length == 0)
      break;
    offset += insn->length;
    out.push_back(*insn);
  }
  return out;
}

std::string format_instruction(std::span<const uint8_t> code, uint64_t start, uint64_t address) {
  if (address < start || address - start >= code.size())
    return "(bad)";
  const auto bytes = code.subspan(address - start);
  ZydisDecodedInstruction in;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder(), bytes.data(), bytes.size(), &in, ops)))
    return "(bad)";
  char buf[256];
  if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(
          &formatter(), &in, ops, in.operand_count_visible, buf, sizeof buf, address, nullptr)))
    return "(bad)";
  return buf;
}


} // namespace frameaudit::decode

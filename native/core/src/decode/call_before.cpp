// call_before.cpp: is the instruction that ends at a return address a call?
// x86 cannot be decoded backwards, so try every start 2..15 bytes back and
// keep the candidates that decode to a call ending exactly there.
#include "decode/instruction.h"
#include "frameaudit/function_info.h"

namespace frameaudit {

std::vector<CallSiteInfo> decode_calls_before(std::span<const uint8_t> before,
                                              uint64_t return_address) {
  // Most likely encodings first: call rel32 (5), call *disp(%rip) (6),
  // call *%reg (2, 3 with REX), call *disp8(%reg) (3, 4), then the rest.
  static constexpr size_t kOrder[] = {5, 6, 2, 3, 7, 4, 8, 9, 10, 11, 12, 13, 14, 15};
  std::vector<CallSiteInfo> out;
  for (size_t len : kOrder) {
    if (len > before.size() || len > return_address)
      continue;
    const auto bytes = before.subspan(before.size() - len);
    const uint64_t address = return_address - len;
    auto insn = decode::decode_one(bytes, address);
    if (!insn || insn->op != decode::Op::Call || insn->length != len)
      continue;
    CallSiteInfo c;
    c.address = address;
    c.return_address = return_address;
    c.target = insn->target;
    c.indirect = insn->indirect;
    c.slot = insn->slot;
    c.length = insn->length;
    out.push_back(c);
  }
  // `ff d3` (call *%rbx) also ends `41 ff d3` (call *%r11): when the byte
  // before an indirect candidate is a REX prefix that changes its register,
  // the longer reading is the one compilers emit, so it goes first.
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t k = out[i].length;
    if (!out[i].indirect || k + 1 > before.size())
      continue;
    const uint8_t prev = before[before.size() - k - 1];
    if (prev < 0x41 || prev > 0x4f || prev == 0x48)
      continue;
    for (size_t j = i + 1; j < out.size(); ++j) {
      if (out[j].length == k + 1 && out[j].indirect) {
        CallSiteInfo longer = out[j];
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(j));
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(i), longer);
        ++i; // the shorter one moved to i + 1; do not revisit it
        break;
      }
    }
  }
  return out;
}

std::optional<CallSiteInfo> decode_call_before(std::span<const uint8_t> before,
                                               uint64_t return_address) {
  auto all = decode_calls_before(before, return_address);
  if (all.empty())
    return std::nullopt;
  return all.front();
}

} // namespace frameaudit

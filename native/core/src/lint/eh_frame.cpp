// eh_frame.cpp: a minimal, bounds-checked walk over .eh_frame CIE/FDE
// records: only what it takes to get each FDE's code range (the CIE's
// pointer encoding), nothing of the CFA programs.
#include "lint/eh_frame.h"

#include "lint/byte_cursor.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <unordered_map>

namespace frameaudit::lint {
namespace {

constexpr uint32_t kPtGnuEhFrame = 0x6474e550;
constexpr size_t kMaxRecords = 10'000'000;

// A cursor over bytes whose first byte lives at virtual address `base`.
class Reader : public ByteCursor {
public:
  Reader(std::span<const uint8_t> bytes, uint64_t base) : ByteCursor(bytes), base_(base) {}
  // A DW_EH_PE-encoded pointer.
  std::optional<uint64_t> encoded(uint8_t enc) {
    if (enc == 0xff) // DW_EH_PE_omit
      return std::nullopt;
    const uint64_t field = base_ + pos_;
    uint64_t v = 0;
    switch (enc & 0x0f) {
    case 0x00:
      v = fixed<uint64_t>();
      break;
    case 0x01:
      v = uleb();
      break;
    case 0x02:
      v = fixed<uint16_t>();
      break;
    case 0x03:
      v = fixed<uint32_t>();
      break;
    case 0x04:
      v = fixed<uint64_t>();
      break;
    case 0x09:
      v = static_cast<uint64_t>(sleb());
      break;
    case 0x0a:
      v = static_cast<uint64_t>(int64_t(fixed<int16_t>()));
      break;
    case 0x0b:
      v = static_cast<uint64_t>(int64_t(fixed<int32_t>()));
      break;
    case 0x0c:
      v = fixed<uint64_t>();
      break;
    default:
      ok_ = false;
      return std::nullopt;
    }
    if (!ok_)
      return std::nullopt;
    switch (enc & 0x70) {
    case 0x00:
      break;
    case 0x10:
      v += field;
      break; // pcrel
    default:
      break; // textrel/datarel/funcrel: not used for FDE ranges by GNU tools
    }
    return v;
  }

private:
  uint64_t base_;
};

// The CIE's FDE pointer encoding ('R' augmentation), or absptr.
std::optional<uint8_t> parse_cie(std::span<const uint8_t> bytes, uint64_t base, size_t body,
                                 size_t end) {
  Reader r(bytes.first(end), base);
  r.seek(body);
  const uint8_t version = r.fixed<uint8_t>();
  std::string aug;
  for (int i = 0; i < 16 && r.ok(); ++i) {
    const char c = static_cast<char>(r.fixed<uint8_t>());
    if (c == 0)
      break;
    aug.push_back(c);
  }
  if (!r.ok())
    return std::nullopt;
  if (aug.find("eh") != std::string::npos)
    r.fixed<uint64_t>(); // old GCC: eh_ptr
  r.uleb();              // code alignment
  r.sleb();              // data alignment
  if (version == 1)
    r.fixed<uint8_t>();
  else
    r.uleb();          // return address register
  uint8_t fde_enc = 0; // DW_EH_PE_absptr
  if (!aug.empty() && aug[0] == 'z') {
    r.uleb(); // augmentation data length
    for (size_t i = 1; i < aug.size() && r.ok(); ++i) {
      switch (aug[i]) {
      case 'R':
        fde_enc = r.fixed<uint8_t>();
        break;
      case 'P': {
        const uint8_t penc = r.fixed<uint8_t>();
        r.encoded(penc & 0x7f); // the personality pointer, skipped
        break;
      }
      case 'L':
        r.fixed<uint8_t>();
        break;
      case 'S':
      case 'B':
      case 'G':
        break;
      default:
        return r.ok() ? std::optional<uint8_t>(fde_enc) : std::nullopt;
      }
    }
  }
  if (!r.ok())
    return std::nullopt;
  return fde_enc;
}

void scan(std::span<const uint8_t> bytes, uint64_t base, std::vector<CodeRange> &out) {
  std::unordered_map<size_t, std::optional<uint8_t>> cies;
  size_t pos = 0;
  for (size_t records = 0; records < kMaxRecords && bytes.size() - pos >= 4; ++records) {
    Reader r(bytes, base);
    r.seek(pos);
    uint64_t length = r.fixed<uint32_t>();
    if (length == 0)
      break; // terminator
    if (length == 0xffffffffu)
      length = r.fixed<uint64_t>();
    const size_t body = r.pos();
    if (!r.ok() || length > bytes.size() - body || length < 4)
      break;
    const size_t end = body + static_cast<size_t>(length);
    const uint32_t id = r.fixed<uint32_t>();
    if (id != 0) { // an FDE: id is the distance back to its CIE
      if (id <= body) {
        const size_t cie_pos = body - id;
        auto it = cies.find(cie_pos);
        if (it == cies.end()) {
          std::optional<uint8_t> enc;
          Reader c(bytes, base);
          c.seek(cie_pos);
          uint64_t clen = c.fixed<uint32_t>();
          if (clen == 0xffffffffu)
            clen = c.fixed<uint64_t>();
          const size_t cbody = c.pos() + 4; // after the CIE id
          if (c.ok() && clen >= 4 && clen <= bytes.size() - c.pos() && c.fixed<uint32_t>() == 0)
            enc = parse_cie(bytes, base, cbody, c.pos() - 4 + static_cast<size_t>(clen));
          it = cies.emplace(cie_pos, enc).first;
        }
        if (it->second) {
          Reader f(bytes.first(end), base);
          f.seek(r.pos());
          auto begin = f.encoded(*it->second);
          auto range = f.encoded(*it->second & 0x0f);
          if (f.ok() && begin && range && *range > 0 && *begin + *range > *begin)
            out.push_back({*begin, *begin + *range});
        }
      }
    }
    pos = end;
  }
}

} // namespace

std::vector<CodeRange> fde_ranges(const ElfImage &image) {
  std::vector<CodeRange> out;
  if (const ElfSection *s = image.section(".eh_frame")) {
    scan(image.data(*s), s->addr, out);
  } else {
    // No section headers: .eh_frame_hdr (PT_GNU_EH_FRAME) points at .eh_frame.
    for (const auto &p : image.segments()) {
      if (p.type != kPtGnuEhFrame || p.filesz < 4)
        continue;
      auto hdr = image.bytes_at(p.vaddr, p.filesz);
      if (hdr.size() < 4 || hdr[0] != 1)
        continue;
      Reader r(hdr, p.vaddr);
      r.seek(4);
      auto eh = r.encoded(hdr[1]);
      if (!eh)
        continue;
      // The records run to the end of the load segment holding them.
      for (const auto &l : image.segments()) {
        if (l.type == 1 && *eh >= l.vaddr && *eh - l.vaddr < l.filesz) {
          scan(image.bytes_at(*eh, l.filesz - (*eh - l.vaddr)), *eh, out);
          break;
        }
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CodeRange &a, const CodeRange &b) { return a.start < b.start; });
  return out;
}

} // namespace frameaudit::lint

// eh_frame.cpp: FDE ranges through libdw.
//
// Enumeration: dwarf_next_cfi walks the .eh_frame records (lengths, CIE and
// FDE framing, the CIE's augmentation string and data: libdw's parser);
// only the FDE's two address fields are decoded here, with the encoding its
// CIE's 'R' augmentation names (the fixed-size forms compilers and
// assemblers write, absolute or pc-relative). A file without section
// headers is read the same way from the .eh_frame that PT_GNU_EH_FRAME
// (.eh_frame_hdr) points to.
//
// Not the alternative, .eh_frame_hdr's sorted table with each FDE's range
// from libdw's CFI (dwarf_getcfi_elf, dwarf_cfi_addrframe): dwarf_frame_info
// gives the range of one CFI row, not of the FDE, so every end would take a
// search of probes, each running the FDE's CFA program (liblldb: 0.25 s
// instead of 0.07 s for the whole lint); and where lld leaves a zero-length
// FDE at the start of a real one (four functions of liblldb-22), the table
// holds that start twice and libdw's lookup answers with the empty FDE, so
// those functions would be lost. Static executables have no table at all.
#include "lint/eh_frame.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <unordered_map>

namespace frameaudit::lint {
namespace {

constexpr size_t kMaxRecords = 10'000'000;

template <class T> T rd(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The size of a fixed-size DW_EH_PE value format, or 0 if not fixed.
size_t encoded_size(uint8_t enc) {
  switch (enc & 0x0f) {
  case DW_EH_PE_absptr:
  case DW_EH_PE_udata8:
  case DW_EH_PE_sdata8:
    return 8;
  case DW_EH_PE_udata4:
  case DW_EH_PE_sdata4:
    return 4;
  case DW_EH_PE_udata2:
  case DW_EH_PE_sdata2:
    return 2;
  default:
    return 0;
  }
}

// A fixed-size DW_EH_PE value at p (within [p, end)), absolute or
// pc-relative to field (the value's own address).
std::optional<uint64_t> read_encoded(const uint8_t *&p, const uint8_t *end, uint8_t enc,
                                     uint64_t field) {
  const size_t n = encoded_size(enc);
  if (n == 0 || static_cast<size_t>(end - p) < n || ((enc & 0x70) != 0 && (enc & 0x70) != DW_EH_PE_pcrel))
    return std::nullopt;
  uint64_t v = 0;
  switch (enc & 0x0f) {
  case DW_EH_PE_udata2:
    v = rd<uint16_t>(p);
    break;
  case DW_EH_PE_sdata2:
    v = static_cast<uint64_t>(int64_t(rd<int16_t>(p)));
    break;
  case DW_EH_PE_udata4:
    v = rd<uint32_t>(p);
    break;
  case DW_EH_PE_sdata4:
    v = static_cast<uint64_t>(int64_t(rd<int32_t>(p)));
    break;
  default:
    v = rd<uint64_t>(p);
    break;
  }
  p += n;
  return (enc & 0x70) == DW_EH_PE_pcrel ? v + field : v;
}

// The CIE's FDE pointer encoding ('R' in its augmentation), absptr without.
std::optional<uint8_t> fde_encoding(const Dwarf_CIE &cie) {
  const char *aug = cie.augmentation;
  if (!aug || aug[0] != 'z')
    return DW_EH_PE_absptr;
  const uint8_t *p = cie.augmentation_data;
  const uint8_t *end = p ? p + cie.augmentation_data_size : nullptr;
  for (const char *c = aug + 1; *c && p; ++c) {
    switch (*c) {
    case 'R':
      return p < end ? std::optional<uint8_t>(*p) : std::nullopt;
    case 'P': { // the personality: its encoding, then a pointer to skip
      if (p >= end)
        return std::nullopt;
      const size_t n = encoded_size(*p);
      if (n == 0 || static_cast<size_t>(end - p) < 1 + n)
        return std::nullopt;
      p += 1 + n;
      break;
    }
    case 'L':
      ++p;
      break;
    case 'S':
    case 'B':
      break;
    default:
      return DW_EH_PE_absptr;
    }
  }
  return DW_EH_PE_absptr;
}

// The .eh_frame records and the address of their first byte: the section,
// or, without section headers, from where .eh_frame_hdr's eh_frame_ptr
// points to the end of the load segment holding it.
std::pair<std::span<const uint8_t>, uint64_t> eh_frame_bytes(const ElfImage &img) {
  if (const ElfSection *s = img.section(".eh_frame"))
    return {img.data(*s), s->addr};
  for (const auto &p : img.segments()) {
    if (p.type != PT_GNU_EH_FRAME)
      continue;
    const auto hdr = img.bytes_at(p.vaddr, p.filesz);
    if (hdr.size() < 4 || hdr[0] != 1)
      continue;
    const uint8_t *at = hdr.data() + 4;
    const auto eh = read_encoded(at, hdr.data() + hdr.size(), hdr[1], p.vaddr + 4);
    if (!eh)
      continue;
    for (const auto &l : img.segments())
      if (l.type == PT_LOAD && *eh >= l.vaddr && *eh - l.vaddr < l.filesz)
        return {img.bytes_at(*eh, l.filesz - (*eh - l.vaddr)), *eh};
  }
  return {};
}

void scan(const ElfImage &img, std::vector<CodeRange> &out) {
  const auto [bytes, base] = eh_frame_bytes(img);
  const auto *ident = reinterpret_cast<const unsigned char *>(elf_getident(img.elf(), nullptr));
  if (bytes.empty() || !ident)
    return;
  Elf_Data data{};
  data.d_buf = const_cast<uint8_t *>(bytes.data());
  data.d_size = bytes.size();
  data.d_type = ELF_T_BYTE;
  std::unordered_map<Dwarf_Off, std::optional<uint8_t>> cies; // CIE offset -> FDE encoding
  Dwarf_Off off = 0;
  for (size_t records = 0; records < kMaxRecords && off < bytes.size(); ++records) {
    Dwarf_Off next = 0;
    Dwarf_CFI_Entry entry;
    const int r = dwarf_next_cfi(ident, &data, true, off, &next, &entry);
    if (r == 1 || next <= off || next == Dwarf_Off(-1))
      break; // the end, or an error libdw cannot skip
    if (r == 0 && !dwarf_cfi_cie_p(&entry)) {
      auto it = cies.find(entry.fde.CIE_pointer);
      if (it == cies.end()) {
        Dwarf_Off cie_next = 0;
        Dwarf_CFI_Entry cie;
        std::optional<uint8_t> enc;
        if (dwarf_next_cfi(ident, &data, true, entry.fde.CIE_pointer, &cie_next, &cie) == 0 &&
            dwarf_cfi_cie_p(&cie))
          enc = fde_encoding(cie.cie);
        it = cies.emplace(entry.fde.CIE_pointer, enc).first;
      }
      const uint8_t *p = entry.fde.start;
      const uint64_t field = base + static_cast<uint64_t>(p - bytes.data());
      if (it->second) {
        const auto begin = read_encoded(p, entry.fde.end, *it->second, field);
        const auto range = read_encoded(p, entry.fde.end, *it->second & 0x0f, 0);
        if (begin && range && *range > 0 && *begin + *range > *begin)
          out.push_back({*begin, *begin + *range});
      }
    }
    off = next;
  }
}

} // namespace

std::vector<CodeRange> fde_ranges(const ElfImage &image) {
  std::vector<CodeRange> out;
  if (image.elf())
    scan(image, out);
  std::sort(out.begin(), out.end(),
            [](const CodeRange &a, const CodeRange &b) { return a.start < b.start; });
  return out;
}

} // namespace frameaudit::lint

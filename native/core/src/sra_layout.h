// sra_layout.h: the allocator's layout as the analysis reads it, taken from
// the allocator's own header (native/sra/include/sra.h, docs/allocator.md):
// the audit header, the stub remnant, the reserve and the check.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include <sra.h>

namespace frameaudit::detail {

inline constexpr uint64_t kAuditHeaderSize = SRA_AUDIT_HEADER_SIZE;
inline constexpr uint64_t kStubSize = SRA_STUB_SIZE;
inline constexpr uint64_t kStackReserve = SRA_STACK_RESERVE;
static_assert(sizeof(sra_audit_header) == kAuditHeaderSize);

/// SRA_AUDIT_MAGIC's bytes in memory (little endian), as the audit build's
/// code stores them.
inline constexpr std::array<uint8_t, 8> audit_magic_bytes() {
  std::array<uint8_t, 8> b{};
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<uint8_t>(SRA_AUDIT_MAGIC >> (8 * i));
  return b;
}

/// The audit header read from `bytes` (kAuditHeaderSize of them) at address
/// addr, and whether its check matches.
struct AuditHeader {
  sra_audit_header h{};
  bool valid = false;
};
inline AuditHeader read_audit_header(const uint8_t *bytes, uint64_t addr) {
  AuditHeader out;
  std::memcpy(&out.h, bytes, sizeof out.h);
  out.valid = sra_audit_header_valid(&out.h, addr) != 0;
  return out;
}

} // namespace frameaudit::detail

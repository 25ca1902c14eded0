// elf_image.h: a small, bounds-checked reader of ELF64 x86-64 files for
// lint: sections, program headers, symbols, relocations, and reading bytes
// by virtual address. Every offset and size from the file is checked before
// use; a malformed file yields an Error or empty results, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frameaudit/result.h"

namespace frameaudit::lint {

struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t addr = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t entsize = 0;
  bool executable() const { return (flags & 0x4) != 0; } // SHF_EXECINSTR
};

struct ElfSegment {
  uint32_t type = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t vaddr = 0;
  uint64_t filesz = 0;
  uint64_t memsz = 0;
  bool executable() const { return (flags & 0x1) != 0; } // PF_X
};

struct ElfSymbol {
  std::string_view name; ///< points into the mapped file
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0; ///< STT_*
  uint8_t bind = 0; ///< STB_*
  uint16_t shndx = 0;
  bool defined() const { return shndx != 0; }
};

struct ElfRelocation {
  uint64_t offset = 0; ///< r_offset: the slot's virtual address
  uint32_t type = 0;   ///< R_X86_64_*
  uint32_t symbol = 0; ///< index into the linked symbol table
  int64_t addend = 0;
};

/// A mapped ELF file. Movable, not copyable; the mapping lives as long as
/// the object (symbol names and spans point into it).
class ElfImage {
public:
  /// Map and validate `path`: ELF64, little endian, x86-64, headers inside
  /// the file.
  static Result<ElfImage> open(const std::string &path);

  ElfImage(ElfImage &&) noexcept;
  ElfImage &operator=(ElfImage &&) noexcept;
  ~ElfImage();

  uint16_t type() const { return type_; } ///< ET_EXEC (2) or ET_DYN (3), ...
  const std::vector<ElfSection> &sections() const { return sections_; }
  const std::vector<ElfSegment> &segments() const { return segments_; }
  const ElfSection *section(std::string_view name) const;

  /// The section's bytes in the file (empty for SHT_NOBITS or if out of bounds).
  std::span<const uint8_t> data(const ElfSection &s) const;
  /// Bytes at [vaddr, vaddr + size) from the file, through the section or
  /// load segment that holds them; empty if not all present in the file.
  std::span<const uint8_t> bytes_at(uint64_t vaddr, uint64_t size) const;
  /// True if vaddr lies in executable code (an SHF_EXECINSTR section, or a
  /// PF_X segment when the file has no section headers).
  bool is_code(uint64_t vaddr) const;

  /// Symbols of a SHT_SYMTAB or SHT_DYNSYM section (bounded by the section size).
  std::vector<ElfSymbol> symbols(const ElfSection &symtab) const;
  /// Relocations of a SHT_RELA section.
  std::vector<ElfRelocation> relocations(const ElfSection &rela) const;

  std::span<const uint8_t> file() const { return {base_, size_}; }

private:
  ElfImage() = default;
  Result<bool> parse(const std::string &path);
  void unmap();

  const uint8_t *base_ = nullptr;
  size_t size_ = 0;
  uint16_t type_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<ElfSegment> segments_;
};

} // namespace frameaudit::lint

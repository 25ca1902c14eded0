// elf_image.cpp: an ELF file through libelf. The file's identification
// bytes are checked first (so a 32-bit, big-endian or foreign file gets its
// own sentence); then libelf maps it (ELF_C_READ_MMAP) and reads the ELF,
// program and section headers (gelf_*), names (elf_strptr), section data
// (elf_getdata), symbols and relocations. libelf reads lazily and clamps
// some counts to the file, so the extent of every header table, load
// segment and section is checked here against the file's size: a truncated
// file is an Error, not a quietly shorter one.
#include "lint/elf_image.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace frameaudit::lint {
namespace {

bool in_file(uint64_t offset, uint64_t size, size_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

const char *machine_name(uint16_t m) {
  switch (m) {
  case EM_386:
    return "i386";
  case EM_ARM:
    return "ARM";
  case EM_AARCH64:
    return "AArch64";
  case EM_RISCV:
    return "RISC-V";
  case EM_MIPS:
    return "MIPS";
  case EM_PPC:
    return "PowerPC";
  case EM_PPC64:
    return "PowerPC64";
  case EM_S390:
    return "s390";
  default:
    return nullptr;
  }
}

Error bad(const std::string &path, const std::string &what) {
  return Error{Error::Code::BadInput, "'" + path + "' " + what};
}

} // namespace

ElfImage::ElfImage(ElfImage &&o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), elf_(o.elf_), raw_(o.raw_), size_(o.size_),
      type_(o.type_), sections_(std::move(o.sections_)), segments_(std::move(o.segments_)) {
  o.fd_ = -1;
  o.elf_ = nullptr;
  o.raw_ = nullptr;
  o.size_ = 0;
}

ElfImage &ElfImage::operator=(ElfImage &&o) noexcept {
  if (this != &o) {
    close();
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    elf_ = o.elf_;
    raw_ = o.raw_;
    size_ = o.size_;
    type_ = o.type_;
    sections_ = std::move(o.sections_);
    segments_ = std::move(o.segments_);
    o.fd_ = -1;
    o.elf_ = nullptr;
    o.raw_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

ElfImage::~ElfImage() {
  close();
}

void ElfImage::close() {
  if (elf_)
    elf_end(elf_);
  if (fd_ >= 0)
    ::close(fd_);
  elf_ = nullptr;
  fd_ = -1;
  raw_ = nullptr;
  size_ = 0;
}

Result<ElfImage> ElfImage::open(const std::string &path) {
  ElfImage img;
  img.path_ = path;
  auto r = img.parse();
  if (!r)
    return r.error();
  return img;
}

Result<bool> ElfImage::parse() {
  const std::string &path = path_;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    return make_error(Error::Code::Unreadable,
                      "cannot open '" + path + "': " + std::strerror(errno) + ".");
  struct stat st {};
  if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
    return make_error(Error::Code::BadInput, "'" + path + "' is not a regular file.");
  if (st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr)))
    return bad(path, "is not an ELF file (too short).");
  size_ = static_cast<size_t>(st.st_size);

  unsigned char ident[EI_NIDENT];
  if (pread(fd_, ident, sizeof ident, 0) != static_cast<ssize_t>(sizeof ident))
    return make_error(Error::Code::Unreadable,
                      "cannot read '" + path + "': " + std::strerror(errno) + ".");
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0)
    return bad(path, "is not an ELF file.");
  if (ident[EI_CLASS] == ELFCLASS32)
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path + "' is a 32-bit ELF file; frameaudit supports x86-64 only.");
  if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB)
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path +
                          "' is not a little-endian ELF64 file; frameaudit supports x86-64 only.");

  elf_version(EV_CURRENT);
  elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
  if (!elf_ || elf_kind(elf_) != ELF_K_ELF)
    return bad(path, std::string("is truncated or corrupt: ") + elf_errmsg(-1) + ".");
  size_t raw_size = 0;
  raw_ = reinterpret_cast<const uint8_t *>(elf_rawfile(elf_, &raw_size));
  if (!raw_ || raw_size != size_)
    return bad(path, "is truncated or corrupt: it cannot be mapped whole.");
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf_, &eh))
    return bad(path, std::string("is truncated or corrupt: ") + elf_errmsg(-1) + ".");
  type_ = eh.e_type;
  if (eh.e_machine != EM_X86_64) {
    const char *name = machine_name(eh.e_machine);
    return make_error(Error::Code::UnsupportedArch,
                      "'" + path + "' is built for " +
                          (name ? std::string(name) : "machine " + std::to_string(eh.e_machine)) +
                          "; frameaudit supports x86-64 only.");
  }

  // Program headers. libelf limits their count to what the file holds:
  // check the table the header describes.
  size_t phnum = eh.e_phnum;
  if (phnum == PN_XNUM && elf_getphdrnum(elf_, &phnum) != 0)
    return bad(path, "is truncated or corrupt: its program header count is unreadable.");
  if (phnum) {
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        !in_file(eh.e_phoff, uint64_t(sizeof(Elf64_Phdr)) * phnum, size_))
      return bad(path, "is truncated or corrupt: its program headers lie outside the file.");
    segments_.reserve(phnum);
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (!gelf_getphdr(elf_, static_cast<int>(i), &ph))
        return bad(path, "is truncated or corrupt: a program header is unreadable.");
      const ElfSegment s{ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz};
      if (s.type == PT_LOAD && !in_file(s.offset, s.filesz, size_))
        return bad(path, "is truncated: a loadable segment ends past the end of the file.");
      segments_.push_back(s);
    }
  }

  // Section headers (elf_getshdrnum and elf_getshdrstrndx follow extended
  // numbering into section 0).
  if (eh.e_shoff) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || !in_file(eh.e_shoff, sizeof(Elf64_Shdr), size_))
      return bad(path, "is truncated or corrupt: its section headers lie outside the file.");
    // libelf limits the count to what the file holds: check the header's.
    size_t shnum = eh.e_shnum;
    if (shnum == 0 && elf_getshdrnum(elf_, &shnum) != 0)
      return bad(path, "is truncated or corrupt: its section count is unreadable.");
    if (shnum > (size_ - eh.e_shoff) / sizeof(Elf64_Shdr))
      return bad(path, "is truncated: its section headers end past the end of the file.");
    size_t shstrndx = 0;
    const bool have_names = elf_getshdrstrndx(elf_, &shstrndx) == 0;
    sections_.reserve(shnum);
    for (size_t i = 0; i < shnum; ++i) {
      Elf_Scn *scn = elf_getscn(elf_, i);
      GElf_Shdr sh;
      if (!scn || !gelf_getshdr(scn, &sh))
        return bad(path, "is truncated or corrupt: a section header is unreadable.");
      ElfSection s{i, {}, sh.sh_type, sh.sh_flags, sh.sh_addr, sh.sh_offset,
                   sh.sh_size, sh.sh_link, sh.sh_info, sh.sh_entsize};
      if (i != 0 && have_names)
        if (const char *n = elf_strptr(elf_, shstrndx, sh.sh_name))
          s.name = n;
      sections_.push_back(std::move(s));
    }
    for (const auto &s : sections_) {
      if (s.type == SHT_NOBITS || s.type == SHT_NULL)
        continue;
      if (!in_file(s.offset, s.size, size_))
        return bad(path, "is truncated: section " + (s.name.empty() ? std::string("?") : s.name) +
                             " ends past the end of the file.");
    }
  }
  if (sections_.empty() && segments_.empty())
    return bad(path, "has neither sections nor segments.");
  return true;
}

const ElfSection *ElfImage::section(std::string_view name) const {
  for (const auto &s : sections_)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::span<const uint8_t> ElfImage::data(const ElfSection &s) const {
  if (s.type == SHT_NOBITS || s.type == SHT_NULL || !elf_)
    return {};
  Elf_Scn *scn = elf_getscn(elf_, s.index);
  Elf_Data *d = scn ? elf_getdata(scn, nullptr) : nullptr;
  if (!d || !d->d_buf)
    return {};
  return {static_cast<const uint8_t *>(d->d_buf), d->d_size};
}

std::span<const uint8_t> ElfImage::bytes_at(uint64_t vaddr, uint64_t size) const {
  for (const auto &s : sections_) {
    if (s.type == SHT_NOBITS || s.addr == 0 || (s.flags & SHF_ALLOC) == 0)
      continue;
    if (vaddr >= s.addr && vaddr - s.addr < s.size && size <= s.size - (vaddr - s.addr)) {
      const auto bytes = data(s);
      const uint64_t off = vaddr - s.addr;
      if (bytes.size() == s.size)
        return bytes.subspan(static_cast<size_t>(off), static_cast<size_t>(size));
    }
  }
  // Load segments: the file as libelf mapped it (segments have no Elf_Data).
  for (const auto &p : segments_) {
    if (p.type != PT_LOAD)
      continue;
    if (vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz && size <= p.filesz - (vaddr - p.vaddr)) {
      const uint64_t off = p.offset + (vaddr - p.vaddr);
      if (raw_ && in_file(off, size, size_))
        return {raw_ + off, static_cast<size_t>(size)};
    }
  }
  return {};
}

bool ElfImage::is_code(uint64_t vaddr) const {
  if (!sections_.empty()) {
    for (const auto &s : sections_)
      if (s.executable() && vaddr >= s.addr && vaddr - s.addr < s.size)
        return true;
    return false;
  }
  for (const auto &p : segments_)
    if (p.type == PT_LOAD && p.executable() && vaddr >= p.vaddr && vaddr - p.vaddr < p.memsz)
      return true;
  return false;
}

std::vector<ElfSymbol> ElfImage::symbols(const ElfSection &symtab) const {
  std::vector<ElfSymbol> out;
  if ((symtab.type != SHT_SYMTAB && symtab.type != SHT_DYNSYM) || !elf_)
    return out;
  Elf_Scn *scn = elf_getscn(elf_, symtab.index);
  Elf_Data *d = scn ? elf_getdata(scn, nullptr) : nullptr;
  if (!d || d->d_type != ELF_T_SYM)
    return out;
  const size_t n = d->d_size / sizeof(Elf64_Sym);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(d, static_cast<int>(i), &sym))
      break;
    ElfSymbol s;
    if (const char *name = elf_strptr(elf_, symtab.link, sym.st_name))
      s.name = name;
    s.type = GELF_ST_TYPE(sym.st_info);
    s.bind = GELF_ST_BIND(sym.st_info);
    s.shndx = sym.st_shndx;
    s.value = sym.st_value;
    s.size = sym.st_size;
    out.push_back(s);
  }
  return out;
}

std::vector<ElfRelocation> ElfImage::relocations(const ElfSection &rela) const {
  std::vector<ElfRelocation> out;
  if (rela.type != SHT_RELA || !elf_)
    return out;
  Elf_Scn *scn = elf_getscn(elf_, rela.index);
  Elf_Data *d = scn ? elf_getdata(scn, nullptr) : nullptr;
  if (!d || d->d_type != ELF_T_RELA)
    return out;
  const size_t n = d->d_size / sizeof(Elf64_Rela);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    GElf_Rela r;
    if (!gelf_getrela(d, static_cast<int>(i), &r))
      break;
    out.push_back(ElfRelocation{r.r_offset, static_cast<uint32_t>(GELF_R_TYPE(r.r_info)),
                                static_cast<uint32_t>(GELF_R_SYM(r.r_info)), r.r_addend});
  }
  return out;
}

} // namespace frameaudit::lint

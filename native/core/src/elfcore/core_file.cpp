// core_file.cpp: the ELF header, program headers and notes of a core, read
// from libelf's image of the file. Note layouts are the kernel's for x86-64
// (struct elf_prstatus, elf_prpsinfo, siginfo_t; NT_FILE as
// fs/binfmt_elf.c writes it), which gdb's gcore writes too.
#include "elfcore/core_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace frameaudit::detail {
namespace {

// struct elf_prstatus (x86-64): pr_cursig at 12, pr_pid at 32, pr_reg at 112.
constexpr size_t kPrstatusCursig = 12;
constexpr size_t kPrstatusPid = 32;
constexpr size_t kPrstatusReg = 112;
constexpr size_t kUserRegs = 27;
// struct elf_prpsinfo (x86-64): pr_pid at 24, pr_fname[16] at 40.
constexpr size_t kPrpsinfoPid = 24;
constexpr size_t kPrpsinfoFname = 40;
constexpr size_t kFnameSize = 16;
// siginfo_t: si_signo, si_errno, si_code, then the union at 16.
constexpr size_t kSiginfoUnion = 16;
// Notes the kernel never writes this many of; a bound on garbage.
constexpr size_t kMaxNotes = 1 << 20;
constexpr size_t kMaxFiles = 1 << 20;

template <class T> T load(const unsigned char *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

Error bad(const std::string &path, const std::string &why) {
  return make_error(Error::Code::BadInput, path + ": " + why);
}

} // namespace

CoreFile::~CoreFile() {
  if (elf_)
    elf_end(elf_);
  if (fd_ >= 0)
    ::close(fd_);
}

Result<std::unique_ptr<CoreFile>> CoreFile::open(const std::string &path) {
  std::unique_ptr<CoreFile> core(new CoreFile());
  elf_version(EV_CURRENT);
  core->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (core->fd_ < 0)
    return make_error(Error::Code::Unreadable, path + ": cannot open it: " + std::strerror(errno));
  core->elf_ = elf_begin(core->fd_, ELF_C_READ_MMAP, nullptr);
  if (!core->elf_ || elf_kind(core->elf_) != ELF_K_ELF)
    return bad(path, "not an ELF file");
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(core->elf_, &ehdr))
    return bad(path, "its ELF header is unreadable (truncated?)");
  if (ehdr.e_type != ET_CORE)
    return bad(path, "an ELF file but not a core (e_type " + std::to_string(ehdr.e_type) + ")");
  if (ehdr.e_machine != EM_X86_64 || gelf_getclass(core->elf_) != ELFCLASS64)
    return make_error(Error::Code::UnsupportedArch,
                      path + ": a core of machine " + std::to_string(ehdr.e_machine) +
                          ", not x86-64; frameaudit audits x86-64 stacks only");
  core->raw_ = reinterpret_cast<const unsigned char *>(elf_rawfile(core->elf_, &core->raw_size_));
  if (!core->raw_)
    return bad(path, "cannot read the file");
  size_t phnum = 0;
  if (elf_getphdrnum(core->elf_, &phnum) != 0 || phnum == 0)
    return bad(path, "no program headers (truncated?)");
  std::vector<std::pair<uint64_t, uint64_t>> notes;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(core->elf_, static_cast<int>(i), &ph))
      return bad(path, "program header " + std::to_string(i) + " is unreadable (truncated?)");
    if (ph.p_type == PT_NOTE) {
      notes.emplace_back(ph.p_offset, ph.p_filesz);
    } else if (ph.p_type == PT_LOAD && ph.p_memsz > 0) {
      CoreSegment s;
      s.vaddr = ph.p_vaddr;
      s.memsz = ph.p_memsz;
      s.offset = ph.p_offset;
      // A truncated core holds less than its headers promise.
      uint64_t in_file = ph.p_offset < core->raw_size_ ? core->raw_size_ - ph.p_offset : 0;
      s.filesz = std::min({ph.p_filesz, ph.p_memsz, in_file});
      s.readable = ph.p_flags & PF_R;
      s.writable = ph.p_flags & PF_W;
      s.executable = ph.p_flags & PF_X;
      core->segments_.push_back(s);
    }
  }
  std::stable_sort(core->segments_.begin(), core->segments_.end(),
                   [](const CoreSegment &a, const CoreSegment &b) { return a.vaddr < b.vaddr; });
  for (auto [off, size] : notes) {
    if (off >= core->raw_size_)
      continue;
    core->parse_notes(core->raw_ + off, std::min<uint64_t>(size, core->raw_size_ - off));
  }
  if (core->threads_.empty())
    return bad(path, "no thread in its notes (no readable NT_PRSTATUS: truncated or not a "
                     "Linux core?)");
  if (!core->pid_)
    core->pid_ = static_cast<int64_t>(core->threads_.front().tid);
  return core;
}

void CoreFile::parse_notes(const unsigned char *data, size_t size) {
  size_t pos = 0;
  for (size_t n = 0; n < kMaxNotes && pos + 12 <= size; ++n) {
    const uint32_t namesz = load<uint32_t>(data + pos);
    const uint32_t descsz = load<uint32_t>(data + pos + 4);
    const uint32_t type = load<uint32_t>(data + pos + 8);
    const uint64_t name_at = pos + 12;
    const uint64_t desc_at = name_at + ((uint64_t{namesz} + 3) & ~uint64_t{3});
    const uint64_t next = desc_at + ((uint64_t{descsz} + 3) & ~uint64_t{3});
    if (desc_at > size || desc_at + descsz > size)
      return; // the rest is garbage or cut off
    pos = next;
    std::string_view name(reinterpret_cast<const char *>(data + name_at), namesz ? namesz - 1 : 0);
    if (name != "CORE" && name != "LINUX")
      continue;
    const unsigned char *d = data + desc_at;
    if (type == NT_PRSTATUS && name == "CORE") {
      if (descsz < kPrstatusReg + kUserRegs * 8)
        continue;
      CoreThread t;
      t.cursig = load<int16_t>(d + kPrstatusCursig);
      t.tid = static_cast<uint32_t>(load<int32_t>(d + kPrstatusPid));
      // A name noted before the first thread (gdb writes NT_PRPSINFO first) is its.
      t.name = std::move(pending_name_);
      pending_name_.reset();
      t.regs.resize(kUserRegs);
      for (size_t r = 0; r < kUserRegs; ++r)
        t.regs[r] = load<uint64_t>(d + kPrstatusReg + r * 8);
      threads_.push_back(std::move(t));
    } else if (type == NT_PRPSINFO && name == "CORE") {
      if (descsz < kPrpsinfoFname + kFnameSize)
        continue;
      pid_ = load<int32_t>(d + kPrpsinfoPid);
      const char *fname = reinterpret_cast<const char *>(d + kPrpsinfoFname);
      std::string name(fname, strnlen(fname, kFnameSize));
      if (!threads_.empty())
        threads_.back().name = std::move(name);
      else
        pending_name_ = std::move(name);
    } else if (type == NT_SIGINFO && name == "CORE") {
      if (descsz < kSiginfoUnion + 16 || threads_.empty())
        continue;
      CoreSiginfo s;
      s.signo = load<int32_t>(d);
      s.code = load<int32_t>(d + 8);
      s.addr = load<uint64_t>(d + kSiginfoUnion);
      s.pid = load<int32_t>(d + kSiginfoUnion);
      s.uid = load<uint32_t>(d + kSiginfoUnion + 4);
      threads_.back().siginfo = s;
    } else if (type == NT_AUXV && name == "CORE") {
      for (uint64_t a = 0; a + 16 <= descsz; a += 16)
        if (load<uint64_t>(d + a) == AT_ENTRY)
          entry_ = load<uint64_t>(d + a + 8);
    } else if (type == NT_FILE && name == "CORE") {
      if (descsz < 16)
        continue;
      const uint64_t count = load<uint64_t>(d);
      if (count > kMaxFiles || 16 + count * 24 > descsz)
        continue;
      const char *names = reinterpret_cast<const char *>(d + 16 + count * 24);
      const char *names_end = reinterpret_cast<const char *>(d + descsz);
      for (uint64_t i = 0; i < count && names < names_end; ++i) {
        CoreFileMapping m;
        m.start = load<uint64_t>(d + 16 + i * 24);
        m.end = load<uint64_t>(d + 16 + i * 24 + 8);
        m.page_offset = load<uint64_t>(d + 16 + i * 24 + 16);
        size_t len = strnlen(names, static_cast<size_t>(names_end - names));
        m.path.assign(names, len);
        names += len + 1;
        files_.push_back(std::move(m));
      }
    }
  }
}

size_t CoreFile::read(uint64_t addr, std::span<std::byte> buf) const {
  size_t done = 0;
  while (done < buf.size()) {
    const uint64_t at = addr + done;
    if (at < addr)
      break;
    auto it = std::upper_bound(segments_.begin(), segments_.end(), at,
                               [](uint64_t a, const CoreSegment &s) { return a < s.vaddr; });
    if (it == segments_.begin())
      break;
    const CoreSegment &s = *std::prev(it);
    const uint64_t in = at - s.vaddr;
    if (in >= s.filesz)
      break;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(s.filesz - in, buf.size() - done));
    std::memcpy(buf.data() + done, raw_ + s.offset + in, n);
    done += n;
  }
  return done;
}

} // namespace frameaudit::detail

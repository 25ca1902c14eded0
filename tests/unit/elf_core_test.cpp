// elf_core_test.cpp: the ELF core target (frameaudit/elf_core.h) on hand-made
// cores: one thread, one PT_LOAD, the notes the kernel writes; and the same
// core truncated, with garbage notes, of another machine, or not a core. A
// broken core gives a clear error or less data, never a crash.
#include <gtest/gtest.h>

#include <elf.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "frameaudit/elf_core.h"

namespace {

using frameaudit::Error;

// Layout of the hand-made core:
//   0x000 Elf64_Ehdr                         (64 bytes)
//   0x040 Elf64_Phdr PT_NOTE, PT_LOAD        (2 x 56 bytes)
//   0x100 notes: NT_PRSTATUS (336), NT_PRPSINFO (136), NT_SIGINFO (128)
//   0x400 the PT_LOAD's bytes: 0x1000 bytes at kStackAddr, "stack" + i & 0xff
constexpr uint64_t kStackAddr = 0x7ffff000;
constexpr size_t kNotesAt = 0x100, kLoadAt = 0x400, kLoadSize = 0x1000;
constexpr uint64_t kRip = 0x401136, kRsp = 0x7ffff800, kRbp = 0x7ffff810;
constexpr int kSigsegv = 11;

template <class T> void put(std::vector<unsigned char> &b, size_t at, T v) {
  if (b.size() < at + sizeof v)
    b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

size_t put_note(std::vector<unsigned char> &b, size_t at, uint32_t type,
                const std::vector<unsigned char> &desc) {
  put<uint32_t>(b, at, 5); // "CORE\0"
  put<uint32_t>(b, at + 4, static_cast<uint32_t>(desc.size()));
  put<uint32_t>(b, at + 8, type);
  std::memcpy(b.data() + at + 12, "CORE\0\0\0", 8);
  b.resize(std::max(b.size(), at + 20 + desc.size()));
  std::memcpy(b.data() + at + 20, desc.data(), desc.size());
  return at + 20 + ((desc.size() + 3) & ~size_t{3});
}

std::vector<unsigned char> make_core(uint16_t machine = EM_X86_64, uint16_t type = ET_CORE) {
  std::vector<unsigned char> b(kLoadAt + kLoadSize, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  put(b, 0, eh);

  // struct elf_prstatus: pr_cursig at 12, pr_pid at 32, pr_reg at 112
  // (user_regs_struct: rbp is register 4, rip 16, rsp 19).
  std::vector<unsigned char> prstatus(336, 0);
  put<int16_t>(prstatus, 12, kSigsegv);
  put<int32_t>(prstatus, 32, 4242);
  put<uint64_t>(prstatus, 112 + 4 * 8, kRbp);
  put<uint64_t>(prstatus, 112 + 16 * 8, kRip);
  put<uint64_t>(prstatus, 112 + 19 * 8, kRsp);
  put<uint64_t>(prstatus, 112 + 10 * 8, 0xaaaa); // rax
  // struct elf_prpsinfo: pr_pid at 24, pr_fname[16] at 40.
  std::vector<unsigned char> prpsinfo(136, 0);
  put<int32_t>(prpsinfo, 24, 4242);
  std::memcpy(prpsinfo.data() + 40, "handmade", 8);
  // siginfo_t: SIGSEGV, SEGV_MAPERR, si_addr 0x10.
  std::vector<unsigned char> siginfo(128, 0);
  put<int32_t>(siginfo, 0, kSigsegv);
  put<int32_t>(siginfo, 8, 1);
  put<uint64_t>(siginfo, 16, 0x10);
  size_t end = put_note(b, kNotesAt, NT_PRSTATUS, prstatus);
  end = put_note(b, end, NT_PRPSINFO, prpsinfo);
  end = put_note(b, end, NT_SIGINFO, siginfo);

  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = kNotesAt;
  note.p_filesz = end - kNotesAt;
  put(b, sizeof eh, note);
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_flags = PF_R | PF_W;
  load.p_offset = kLoadAt;
  load.p_vaddr = kStackAddr;
  load.p_filesz = load.p_memsz = kLoadSize;
  put(b, sizeof eh + sizeof load, load);
  for (size_t i = 0; i < kLoadSize; ++i)
    b[kLoadAt + i] = static_cast<unsigned char>(i);
  return b;
}

std::string write_file(const std::string &name, const std::vector<unsigned char> &bytes) {
  std::string path = ::testing::TempDir() + "/elf_core_test_" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

TEST(ElfCore, ReadsThreadsRegistersAndMemory) {
  std::string path = write_file("good", make_core());
  ASSERT_TRUE(frameaudit::is_elf_core(path));
  auto target = frameaudit::open_elf_core(path);
  ASSERT_TRUE(target) << target.error().message;
  auto info = (*target)->info();
  EXPECT_EQ(info.pid, 4242);
  EXPECT_EQ(info.arch, "x86_64");
  auto threads = (*target)->threads();
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0].tid, 4242u);
  EXPECT_EQ(threads[0].index, 1u);
  EXPECT_TRUE(threads[0].is_selected);
  EXPECT_EQ(threads[0].name, "handmade");
  // LLDB's words for the same siginfo (docs/formats.md, "Engines").
  EXPECT_EQ(threads[0].stop_reason, "SIGSEGV: address not mapped to object (fault address=0x10)");
  EXPECT_EQ(threads[0].registers.rip, kRip);
  EXPECT_EQ(threads[0].registers.rsp, kRsp);
  EXPECT_EQ(threads[0].registers.rbp, kRbp);
  ASSERT_FALSE(threads[0].registers.general.empty());
  EXPECT_EQ(threads[0].registers.general[0], (std::pair<std::string, uint64_t>{"rax", 0xaaaa}));

  auto regions = (*target)->memory_regions();
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].start, kStackAddr);
  EXPECT_EQ(regions[0].end, kStackAddr + kLoadSize);
  EXPECT_TRUE(regions[0].readable && regions[0].writable && !regions[0].executable);

  std::vector<std::byte> buf(16);
  EXPECT_EQ((*target)->read_memory(kStackAddr + 0x10, buf), 16u);
  EXPECT_EQ(buf[0], std::byte{0x10});
  // The segment's last 8 bytes, then nothing: a short read, not garbage.
  EXPECT_EQ((*target)->read_memory(kStackAddr + kLoadSize - 8, buf), 8u);
  EXPECT_EQ((*target)->read_memory(0x1000, buf), 0u);
  // No modules in the core: nothing to symbolize, no allocator.
  EXPECT_FALSE((*target)->symbolize(kRip).function);
  EXPECT_TRUE((*target)->allocator_entries().empty());
}

TEST(ElfCore, TruncatedInsideTheMemoryGivesShortReads) {
  auto bytes = make_core();
  bytes.resize(kLoadAt + 0x100);
  std::string path = write_file("cut_memory", bytes);
  auto target = frameaudit::open_elf_core(path);
  ASSERT_TRUE(target) << target.error().message;
  std::vector<std::byte> buf(0x200);
  EXPECT_EQ((*target)->read_memory(kStackAddr, buf), 0x100u);
}

TEST(ElfCore, TruncatedHeadersAreBadInput) {
  for (size_t size : {size_t{0}, size_t{10}, size_t{63}, size_t{80}, kNotesAt + 30}) {
    auto bytes = make_core();
    bytes.resize(size);
    std::string path = write_file("cut_" + std::to_string(size), bytes);
    auto target = frameaudit::open_elf_core(path);
    ASSERT_FALSE(target) << size;
    EXPECT_EQ(target.error().code, Error::Code::BadInput) << size;
    EXPECT_NE(target.error().message.find(path), std::string::npos) << target.error().message;
  }
}

TEST(ElfCore, GarbageNotesAreBadInput) {
  auto bytes = make_core();
  for (size_t i = kNotesAt; i < kLoadAt; ++i)
    bytes[i] = static_cast<unsigned char>(0xff - (i & 0x7));
  std::string path = write_file("garbage_notes", bytes);
  auto target = frameaudit::open_elf_core(path);
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code, Error::Code::BadInput);
  EXPECT_NE(target.error().message.find("no thread"), std::string::npos) << target.error().message;
}

TEST(ElfCore, AnotherMachineIsUnsupportedArch) {
  std::string path = write_file("aarch64", make_core(EM_AARCH64));
  auto target = frameaudit::open_elf_core(path);
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code, Error::Code::UnsupportedArch);
  EXPECT_NE(target.error().message.find("not x86-64"), std::string::npos) << target.error().message;
}

TEST(ElfCore, NotACoreIsBadInput) {
  std::string exe = write_file("exec", make_core(EM_X86_64, ET_EXEC));
  EXPECT_FALSE(frameaudit::is_elf_core(exe));
  auto target = frameaudit::open_elf_core(exe);
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().code, Error::Code::BadInput);
  auto missing = frameaudit::open_elf_core(::testing::TempDir() + "/elf_core_test_absent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Error::Code::Unreadable);
}

} // namespace

// lint_elf_test.cpp: lint_elf_file's input checks: every kind of file that
// is not a complete x86-64 ELF gives a clear Error, never a crash; and a
// real ELF (this test binary) lints without finding the allocator.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "frameaudit/lint.h"

namespace frameaudit {
namespace {

std::string self_path() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::vector<uint8_t> read_all(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TempFile {
public:
  explicit TempFile(const std::vector<uint8_t> &bytes) {
    char name[] = "/tmp/frameaudit_lint_elf_XXXXXX";
    const int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      if (!bytes.empty() &&
          write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
        path_.clear();
      close(fd);
    }
  }
  ~TempFile() {
    if (!path_.empty())
      std::remove(path_.c_str());
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

Error lint_error(const std::vector<uint8_t> &bytes) {
  TempFile f(bytes);
  auto r = lint_elf_file(f.path());
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

TEST(LintElf, MissingFileAndDirectory) {
  auto r = lint_elf_file("/nonexistent/frameaudit/file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Error::Code::Unreadable);
  EXPECT_NE(r.error().message.find("/nonexistent/frameaudit/file"), std::string::npos);
  r = lint_elf_file("/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Error::Code::BadInput);
}

TEST(LintElf, NotElf) {
  const std::string text =
      "#!/bin/sh\necho this is a shell script, long enough to pass the size check\n";
  auto e = lint_error(std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_EQ(e.code, Error::Code::BadInput);
  EXPECT_NE(e.message.find("not an ELF file"), std::string::npos) << e.message;
  e = lint_error({});
  EXPECT_EQ(e.code, Error::Code::BadInput);
  e = lint_error({0x7f, 'E', 'L', 'F'});
  EXPECT_EQ(e.code, Error::Code::BadInput);
}

TEST(LintElf, WrongClassOrMachine) {
  auto self = read_all(self_path());
  ASSERT_GT(self.size(), 64u);
  auto elf32 = self;
  elf32[4] = 1; // ELFCLASS32
  auto e = lint_error(elf32);
  EXPECT_EQ(e.code, Error::Code::UnsupportedArch);
  EXPECT_NE(e.message.find("32-bit"), std::string::npos) << e.message;
  auto arm = self;
  arm[18] = 183; // EM_AARCH64
  arm[19] = 0;
  e = lint_error(arm);
  EXPECT_EQ(e.code, Error::Code::UnsupportedArch);
  EXPECT_NE(e.message.find("AArch64"), std::string::npos) << e.message;
  auto big = self;
  big[5] = 2; // big endian
  EXPECT_EQ(lint_error(big).code, Error::Code::UnsupportedArch);
}

TEST(LintElf, TruncatedAnywhere) {
  auto self = read_all(self_path());
  ASSERT_GT(self.size(), 4096u);
  // Cut at many places: the headers, the middle, just before the end.
  for (size_t cut :
       {size_t(64), size_t(100), size_t(4096), self.size() / 3, self.size() / 2, self.size() - 1}) {
    SCOPED_TRACE(cut);
    std::vector<uint8_t> part(self.begin(), self.begin() + static_cast<std::ptrdiff_t>(cut));
    auto e = lint_error(part);
    EXPECT_EQ(e.code, Error::Code::BadInput);
    EXPECT_NE(e.message.find("truncated"), std::string::npos) << e.message;
  }
}

TEST(LintElf, CorruptHeadersNeverCrash) {
  auto self = read_all(self_path());
  ASSERT_GT(self.size(), 4096u);
  // Scribble over the ELF header fields and the first section/segment
  // headers; any result is fine as long as it is a result.
  uint32_t seed = 1;
  for (int round = 0; round < 200; ++round) {
    auto bytes = self;
    for (int k = 0; k < 8; ++k) {
      seed = seed * 1103515245u + 12345u;
      const size_t at = 16 + (seed >> 8) % 48;
      bytes[at] = static_cast<uint8_t>(seed >> 3);
    }
    TempFile f(bytes);
    auto r = lint_elf_file(f.path());
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

TEST(LintElf, ThisBinaryHasNoAllocatorCalls) {
  auto r = lint_elf_file(self_path(), 0x1000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->code_bytes, 0u);
  EXPECT_TRUE(r->call_sites.empty());
  EXPECT_TRUE(r->findings.empty());
  EXPECT_EQ(r->module, self_path());
}

TEST(LintReport, WrapsFindings) {
  LintResult a, b;
  Finding f;
  f.kind = "unsafe-caller";
  f.severity = Severity::Error;
  f.message = "x";
  a.findings = {f, f};
  b.findings = {f};
  TargetInfo t;
  t.executable = "/bin/true";
  Report r = lint_report({a, b}, t);
  EXPECT_TRUE(r.threads.empty());
  EXPECT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(r.summary.errors, 3u);
  EXPECT_EQ(r.summary.threads, 0u);
  EXPECT_EQ(r.target.executable, "/bin/true");
  EXPECT_FALSE(r.tool_version.empty());
}

} // namespace
} // namespace frameaudit

// dwfl_session.h: one libdwfl session that finds separate debug files the
// standard way (.gnu_debuglink next to the file and in its .debug
// directory, build ID under /usr/lib/debug), then under extra directories.
// The analysis's module layer, lint's line tables and the ELF core target
// (which finds a core's files its own way first) all open theirs here.
#pragma once

#include <elfutils/libdwfl.h>

#include <string>
#include <vector>

namespace frameaudit::detail {

class DwflSession {
public:
  using FindElf = decltype(Dwfl_Callbacks::find_elf);

  explicit DwflSession(const std::vector<std::string> &debug_dirs,
                       FindElf find_elf = dwfl_build_id_find_elf) {
    path_ = ":.debug:/usr/lib/debug";
    for (const std::string &d : debug_dirs)
      path_ += ":" + d;
    path_ptr_ = path_.data();
    callbacks_.find_elf = find_elf;
    callbacks_.find_debuginfo = dwfl_standard_find_debuginfo;
    callbacks_.section_address = dwfl_offline_section_address;
    callbacks_.debuginfo_path = &path_ptr_;
    dwfl_ = dwfl_begin(&callbacks_);
  }
  ~DwflSession() {
    if (dwfl_)
      dwfl_end(dwfl_);
  }
  // libdwfl keeps pointers to the callbacks and the path: never moved.
  DwflSession(const DwflSession &) = delete;
  DwflSession &operator=(const DwflSession &) = delete;

  /// The session, or nullptr when libdwfl could not start one.
  Dwfl *get() const { return dwfl_; }

private:
  std::string path_;
  char *path_ptr_ = nullptr;
  Dwfl_Callbacks callbacks_{};
  Dwfl *dwfl_ = nullptr;
};

} // namespace frameaudit::detail

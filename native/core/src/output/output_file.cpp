// output_file.cpp: write_output_file(). The file is opened with O_NOFOLLOW
// and checked with fstat before anything is written or truncated, so a
// symlink, FIFO or device at the path is refused rather than replaced (and
// opening a FIFO never blocks: O_NONBLOCK until the check has passed).
#include "frameaudit/output_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace frameaudit {
namespace {

Error refuse(const std::string &path, const std::string &why) {
  return make_error(Error::Code::InvalidArgument, "cannot write '" + path + "': " + why + ".");
}

const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode))
    return "it is a directory";
  if (S_ISFIFO(mode))
    return "it is a FIFO, not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "it is a device, not a regular file";
  if (S_ISSOCK(mode))
    return "it is a socket, not a regular file";
  if (S_ISLNK(mode))
    return "it is a symbolic link; name the file it points to";
  return "it is not a regular file";
}

} // namespace

std::optional<Error> write_output_file(const std::string &path, std::string_view data) {
  if (path.empty())
    return make_error(Error::Code::InvalidArgument, "no output file named.");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return refuse(path, kind_of(st.st_mode));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ELOOP)
      return refuse(path, kind_of(S_IFLNK));
    return refuse(path, std::strerror(errno));
  }
  // The path may have changed between lstat and open: check what was opened.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return refuse(path, kind_of(st.st_mode));
  }
  if (::ftruncate(fd, 0) != 0) {
    int err = errno;
    ::close(fd);
    return refuse(path, std::strerror(err));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return refuse(path, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0)
    return refuse(path, std::strerror(errno));
  return std::nullopt;
}

} // namespace frameaudit

// output_file.h: writing a rendered document (SVG, HTML) to a path a user
// named, without ever replacing something that is not a regular file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "frameaudit/result.h"

namespace frameaudit {

/// Write `data` to `path`: creates a new file or truncates a regular one.
/// Refuses (an InvalidArgument error with one sentence) a symlink, a
/// directory, a device, a FIFO or a socket, and never follows a symlink at
/// the last component. Nothing is written on error.
std::optional<Error> write_output_file(const std::string &path, std::string_view data);

} // namespace frameaudit

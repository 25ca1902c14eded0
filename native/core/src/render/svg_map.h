// svg_map.h: the stack map of one thread drawn as SVG elements, shared by
// `fa map --svg` (every thread in one picture) and the HTML report (one
// picture per thread beside its tables).
#pragma once

#include <string>

#include "frameaudit/report.h"

namespace frameaudit::render {

/// One thread's panel: SVG elements positioned from (0, 0), and its size.
struct SvgPanel {
  std::string body;
  double width = 0;
  double height = 0;
};

/// `link_prefix`: when not empty, frames and blocks link to "#<prefix>f<i>"
/// and "#<prefix><region id>" (the HTML report's table rows).
SvgPanel draw_stack_panel(const Report &report, const ThreadReport &thread,
                          const std::string &link_prefix = "");

/// Text made safe for XML character data and attribute values.
std::string xml_escape(std::string_view text);

/// `<svg ...>` wrapping panels stacked top to bottom.
std::string svg_document(const std::vector<SvgPanel> &panels);

} // namespace frameaudit::render

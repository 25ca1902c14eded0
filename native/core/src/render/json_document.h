// json_document.h: the frameaudit/1 document (CONTRACT section 7) as an
// ordered nlohmann value. render_json prints it; the SARIF writer reuses the
// target and summary objects for its run properties.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frameaudit/report.h"

namespace frameaudit::render {

using Json = nlohmann::ordered_json;

/// A string from a report, made valid UTF-8 (nlohmann throws otherwise).
Json json_string(const std::string &s);
/// An address as CONTRACT section 7 wants it: "0x7ffd5a1c2e40".
Json json_address(uint64_t value);

Json target_json(const TargetInfo &target);
Json summary_json(const Summary &summary);
Json report_json(const Report &report);

/// The document written straight into a string, without building the tree
/// (bounded memory for deep stacks); same bytes as dump_json(report_json()).
std::string stream_json(const Report &report);
std::string stream_json_array(const std::vector<Report> &reports);

/// Pretty-printed with 2-space indent and a trailing newline; never throws
/// on odd strings (they are already valid UTF-8, and replaced if not).
std::string dump_json(const Json &value);

} // namespace frameaudit::render

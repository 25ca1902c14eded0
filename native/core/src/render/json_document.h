// json_document.h: the frameaudit/1 document (docs/formats.md, "JSON document"), written
// straight into a string by render_json; and the pieces of it the SARIF
// writer reuses (target and summary objects) as ordered nlohmann values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frameaudit/report.h"

namespace frameaudit::render {

using Json = nlohmann::ordered_json;

/// The document, laid out as docs/formats.md says (pretty-printed skeleton,
/// one line per frame, region and finding) with a trailing newline. Memory
/// is the output string alone, allocated once. May throw std::bad_alloc;
/// render_json catches it.
std::string write_json(const Report &report);
/// A JSON array of documents, in order: each element is write_json's text
/// of that report indented by two spaces.
std::string write_json_array(const std::vector<Report> &reports);

/// A string from a report, made valid UTF-8 (nlohmann throws otherwise).
Json json_string(const std::string &s);
/// An address as docs/formats.md, "JSON document" wants it: "0x7ffd5a1c2e40".
Json json_address(uint64_t value);

/// The document's `target` and `summary` objects, as nlohmann values.
Json target_json(const TargetInfo &target);
Json summary_json(const Summary &summary);

/// Pretty-printed with 2-space indent and a trailing newline; never throws
/// on odd strings (they are already valid UTF-8, and replaced if not).
std::string dump_json(const Json &value);

} // namespace frameaudit::render

// fixture_replay_test.cpp: the core against real fixtures. Replays memory
// images captured from stopped fixtures (capture_image.py, run by the CTest
// test `fixture_images`) and checks the report against each fixture's own
// ground truth (sra-fixture/1): every thread's expected call chain appears in
// its frames, every live block is a live region with the exact base,
// reserved size, function and call-site line (and exact size in audit mode),
// no dead block is reported live, nothing is corrupt in a correct fixture,
// and a dangling-pointer finding exactly where the fixture keeps a pointer to
// a dead block (required in audit mode),
// every chain frame owning a live block is relocated and the frame of
// fixture_stop is never unknown.
// Skipped when FRAMEAUDIT_CAPTURED_IMAGES does not name a directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "captured_image_test_util.h"
#include "frameaudit/analysis.h"

using namespace frameaudit;
namespace fs = std::filesystem;

namespace {

std::string hexs(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

std::string describe(const ThreadReport &t) {
  std::ostringstream o;
  o << "thread " << t.index << " tid " << t.tid << " chain_end " << to_string(t.chain_end) << ": "
    << t.chain_end_detail << "\n";
  for (const auto &f : t.frames)
    o << "  #" << f.index << " " << hexs(f.pc) << " " << f.function.value_or("?") << " rsp "
      << hexs(f.rsp.value_or(0)) << " cfa " << hexs(f.cfa.value_or(0)) << " static "
      << f.static_size.value_or(-1) << " span " << f.span.value_or(-1) << " kind "
      << to_string(f.kind) << " " << f.note << "\n";
  for (const auto &r : t.regions)
    o << "  " << r.id << " base " << hexs(r.base) << " size " << r.size << " reserved "
      << r.reserved << " frame " << (r.frame ? std::to_string(*r.frame) : "-") << " "
      << r.function.value_or("?") << " line "
      << (r.call_site && r.call_site->line ? std::to_string(*r.call_site->line) : "-") << " "
      << to_string(r.state) << " " << to_string(r.evidence) << "\n";
  return o.str();
}

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> problems(const Report &report, const nlohmann::json &truth) {
  std::vector<std::string> out;
  const bool audit = truth["mode"] == "audit";
  std::set<unsigned> damaged; // blocks the fixture overran or forged (truth "corrupt")
  if (truth.contains("corrupt") && truth["corrupt"].is_array())
    for (const auto &id : truth["corrupt"])
      damaged.insert(id.get<unsigned>());
  std::map<uint64_t, const ThreadReport *> threads;
  for (const auto &t : report.threads)
    threads[t.tid] = &t;
  for (const auto &expected : truth["threads"]) {
    const uint64_t tid = expected["tid"];
    auto it = threads.find(tid);
    if (it == threads.end()) {
      out.push_back("thread " + std::to_string(tid) + ": missing");
      continue;
    }
    const ThreadReport &t = *it->second;
    // The kernel's signal frame sits between a handler and the code it
    // interrupted (the fixture notes it as "signal_trampoline_after").
    std::vector<std::string> names;
    for (const auto &f : t.frames)
      if (f.note.value_or("").rfind("signal frame", 0) != 0)
        names.push_back(f.function.value_or("?"));
    std::vector<std::string> chain = expected["chain"];
    if (!chain.empty() &&
        std::search(names.begin(), names.end(), chain.begin(), chain.end()) == names.end())
      out.push_back("thread " + std::to_string(tid) + ": the frames lack the expected chain\n" +
                    describe(t));
    // Every chain frame owning a live block was lowered by the allocator;
    // the frame the fixture stops in (any stop: breakpoint, trap, abort,
    // crash) is decodable and gets a kind.
    std::set<std::string> owners;
    for (const auto &b : truth["blocks"])
      if (b["tid"] == tid && b["live"].get<bool>())
        owners.insert(b["function"].get<std::string>());
    const std::string stop_function = truth.value("stop_function", "fixture_stop");
    for (const auto &f : t.frames) {
      const std::string name = f.function.value_or("?");
      if (owners.count(name) && std::find(chain.begin(), chain.end(), name) != chain.end() &&
          f.kind != FrameKind::Relocated)
        out.push_back("thread " + std::to_string(tid) + " frame " + std::to_string(f.index) + " " +
                      name + ": kind " + to_string(f.kind) + " (" + f.note.value_or("") +
                      "), expected relocated\n" + describe(t));
      if (name == stop_function && f.kind == FrameKind::Unknown)
        out.push_back("thread " + std::to_string(tid) + " frame " + std::to_string(f.index) + " " +
                      name + ": kind unknown (" + f.note.value_or("") + ")\n" + describe(t));
    }
    std::map<uint64_t, const Region *> regions;
    for (const auto &r : t.regions)
      regions[r.base] = &r;
    for (const auto &b : truth["blocks"]) {
      if (b["tid"] != tid)
        continue;
      const uint64_t ptr = std::stoull(b["ptr"].get<std::string>(), nullptr, 16);
      const std::string label = "thread " + std::to_string(tid) + " block " +
                                b["label"].get<std::string>() + " at " + hexs(ptr);
      auto r = regions.find(ptr);
      if (!b["live"].get<bool>()) {
        // A later live block may reuse a dead block's address (a frame at
        // the same depth allocating the same size): that region is live.
        bool reused = false;
        for (const auto &o : truth["blocks"])
          reused |= o["live"].get<bool>() && o["tid"] == tid && o["ptr"] == b["ptr"];
        if (!reused && r != regions.end() && r->second->state == RegionState::Live)
          out.push_back(label + ": dead block reported live");
        continue;
      }
      if (r == regions.end()) {
        out.push_back(label + ": no region\n" + describe(t));
        continue;
      }
      const Region &g = *r->second;
      // A block the fixture damaged on purpose (an overrun, a forged
      // header): its sizes are no longer what was allocated, but the damage
      // is found and named at it.
      if (damaged.count(b["id"].get<unsigned>())) {
        bool finding = false;
        for (const auto &f : report.findings)
          finding |= f.kind == "region-overflow" && f.region == g.id;
        if (!finding)
          out.push_back(label + ": damaged block without a region-overflow finding");
        continue;
      }
      const uint64_t size = b["size"], reserved = b["reserved"];
      // The overflow fixture writes past one block on purpose: it is corrupt.
      const bool overflowed = !truth["overflow"].is_null() && truth["overflow"]["block"] == b["id"];
      if (overflowed) {
        if (g.state != RegionState::Corrupt)
          out.push_back(label + ": overflowed block not corrupt (" + to_string(g.state) + ")");
        bool finding = false;
        for (const auto &f : report.findings)
          finding |= f.kind == "region-overflow" && f.region == g.id;
        if (!finding)
          out.push_back(label + ": no region-overflow finding");
        continue;
      }
      if (g.state != RegionState::Live)
        out.push_back(label + ": state " + to_string(g.state));
      if (audit && (g.size != size || g.evidence != Evidence::Header))
        out.push_back(label + ": size " + std::to_string(g.size) + " != " + std::to_string(size) +
                      " (evidence " + to_string(g.evidence) + ")");
      if (!audit && !(size <= g.size && g.size <= reserved))
        out.push_back(label + ": size " + std::to_string(g.size) + " outside [" +
                      std::to_string(size) + ", " + std::to_string(reserved) + "]");
      if (g.reserved != reserved)
        out.push_back(label + ": reserved " + std::to_string(g.reserved) +
                      " != " + std::to_string(reserved) + "\n" + describe(t));
      if (g.function.value_or("") != b["function"].get<std::string>())
        out.push_back(label + ": function " + g.function.value_or("null"));
      const int line = b["line"];
      if (!g.call_site || g.call_site->line.value_or(0) != static_cast<uint32_t>(line) ||
          !ends_with(g.call_site->file.value_or(""), "/" + b["file"].get<std::string>()))
        out.push_back(
            label + ": call site line " +
            (g.call_site && g.call_site->line ? std::to_string(*g.call_site->line) : "null") +
            " != " + std::to_string(line));
    }
  }
  // A correct fixture overflows nothing (the overflow and overrun fixtures
  // record their own).
  if (truth["overflow"].is_null() && damaged.empty()) {
    for (const auto &f : report.findings)
      if (f.kind == "region-overflow")
        out.push_back("region-overflow in a correct fixture: " + f.message);
  }
  // Pointers kept to a dead block are found in audit mode (plain mode too, in
  // practice); a fixture that keeps none gets no dangling-pointer finding of
  // any severity.
  const bool kept =
      truth.contains("dangling") && truth["dangling"].is_array() && !truth["dangling"].empty();
  size_t dangling = 0;
  for (const auto &f : report.findings)
    if (f.kind == "dangling-pointer") {
      ++dangling;
      if (!kept)
        out.push_back("dangling-pointer in a fixture that keeps no dangling pointer: " + f.message);
    }
  if (kept && audit && dangling == 0)
    out.push_back("pointers kept to a dead block, but no dangling-pointer finding");
  return out;
}

TEST(FixtureReplay, ReproducesGroundTruth) {
  const char *dir = std::getenv("FRAMEAUDIT_CAPTURED_IMAGES");
  if (!dir || !fs::is_directory(dir))
    GTEST_SKIP() << "FRAMEAUDIT_CAPTURED_IMAGES is not set (the CTest test fixture_images sets it)";
  size_t images = 0;
  std::vector<fs::path> paths;
  for (const auto &e : fs::directory_iterator(dir))
    if (ends_with(e.path().string(), ".image.json"))
      paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const auto &path : paths) {
    std::string base =
        path.string().substr(0, path.string().size() - std::string(".image.json").size());
    std::ifstream tin(base + ".truth.json");
    if (!tin)
      continue;
    nlohmann::json truth;
    tin >> truth;
    fa_test::CapturedImage img;
    std::string error;
    ASSERT_TRUE(img.load(path.string(), error)) << error;
    AnalysisOptions opt;
    opt.all_threads = true;
    auto report = analyze(img, opt);
    ASSERT_TRUE(report.ok()) << path << ": " << report.error().message;
    if (std::getenv("FRAMEAUDIT_REPLAY_VERBOSE"))
      for (const auto &t : report->threads)
        std::cout << path.filename().string() << ": " << describe(t);
    if (std::getenv("FRAMEAUDIT_REPLAY_FINDINGS"))
      for (const auto &f : report->findings)
        std::cout << "FINDING " << path.filename().string() << ": " << f.kind << " "
                  << to_string(f.severity) << " " << f.message << "\n";
    for (const auto &p : problems(*report, truth))
      ADD_FAILURE() << path.filename().string() << ": " << p;
    ++images;
  }
  EXPECT_GT(images, 0u) << "no images in " << dir;
}

} // namespace

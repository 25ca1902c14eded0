// dispatch.cpp: what chain/audit/regions/map do once their options are
// parsed: check the thread selection, analyse, and pick the renderer.
#include <algorithm>

#include "commands/gathered_target.h"
#include "frameaudit/commands.h"
#include "frameaudit/output_file.h"
#include "frameaudit/render.h"

namespace frameaudit::commands {
namespace {

std::string describe_threads(const std::vector<ThreadInfo> &threads) {
  std::string s;
  size_t shown = std::min<size_t>(threads.size(), 16);
  for (size_t i = 0; i < shown; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(threads[i].index);
  }
  if (shown < threads.size())
    s += ", ...";
  return s;
}

// Each -t value must name a thread: by index first, then by tid, as
// analyze() matches them.
std::optional<Error> check_thread_selection(const std::vector<ThreadInfo> &threads,
                                            const CommandOptions &options) {
  if (threads.empty())
    return make_error(Error::Code::NoProcess, "the process has no threads to inspect.");
  for (uint64_t wanted : options.threads) {
    bool found = std::any_of(threads.begin(), threads.end(), [&](const ThreadInfo &t) {
      return t.index == wanted || t.tid == wanted;
    });
    if (!found)
      return make_error(Error::Code::InvalidArgument,
                        "no thread with index or id " + std::to_string(wanted) +
                            " (thread indexes: " + describe_threads(threads) + ").");
  }
  return std::nullopt;
}

} // namespace

std::string render_command_output(const Report &report, const CommandOptions &options) {
  if (options.format == OutputFormat::Json)
    return render_json(report);
  RenderOptions render;
  render.unicode = !options.ascii;
  switch (options.subcommand) {
  case Subcommand::Chain:
    return render_chain(report, render);
  case Subcommand::Regions:
    return render_regions(report, render);
  case Subcommand::Backtrace:
    return render_backtrace(report);
  case Subcommand::Map: {
    if (options.svg)
      return render_map_svg(report);
    std::string out;
    for (const auto &thread : report.threads) {
      if (!out.empty())
        out += "\n";
      out += render_map(report, thread, render);
    }
    return out;
  }
  case Subcommand::Audit:
  case Subcommand::Lint:
  case Subcommand::Provider:
    break;
  }
  return render_text(report, render);
}

Result<std::string> run_analysis_command(Target &target, const CommandOptions &options,
                                         const ProgressCallback &progress) {
  if (options.subcommand == Subcommand::Lint || options.subcommand == Subcommand::Provider)
    return make_error(Error::Code::Internal, "not an analysis command.");
  GatheredTarget gathered(target);
  if (auto err = check_thread_selection(gathered.threads(), options))
    return *err;
  AnalysisOptions analysis = analysis_options(options);
  analysis.progress = progress;
  Result<Report> report = analyze(gathered, analysis);
  if (!report)
    return report.error();
  std::string out = render_command_output(*report, options);
  if (options.subcommand == Subcommand::Map && options.svg) {
    if (auto err = write_output_file(*options.svg, out))
      return *err;
    size_t frames = 0;
    for (const auto &t : report->threads)
      frames += t.frames.size();
    return "wrote the stack map of " + std::to_string(report->threads.size()) +
           (report->threads.size() == 1 ? " thread" : " threads") + " (" + std::to_string(frames) +
           " frames) to " + *options.svg + "\n";
  }
  return out;
}

} // namespace frameaudit::commands

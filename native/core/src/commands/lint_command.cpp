// lint_command.cpp: `frameaudit lint` over a debugger's modules: which
// modules to lint, source lines for call sites the file's debug info did not
// give, and the rendering.
#include "frameaudit/commands.h"
#include "frameaudit/render.h"

namespace frameaudit::commands {
namespace {

Result<std::vector<const ModuleInfo *>> select_modules(const std::vector<ModuleInfo> &modules,
                                                       const CommandOptions &options) {
  std::vector<const ModuleInfo *> chosen;
  if (options.module) {
    for (const auto &m : modules)
      if (m.path == *options.module)
        return std::vector<const ModuleInfo *>{&m};
    for (const auto &m : modules)
      if (m.name == *options.module)
        return std::vector<const ModuleInfo *>{&m};
    return make_error(Error::Code::InvalidArgument,
                      "no module '" + *options.module +
                          "' in the target (see `image list`; give its full path or file name).");
  }
  for (const auto &m : modules)
    if (m.references_allocator)
      chosen.push_back(&m);
  return chosen;
}

void fill_location(Target &target, uint64_t address, std::optional<std::string> &file,
                   std::optional<uint32_t> &line) {
  if (file)
    return;
  Symbol s = target.symbolize(address);
  if (s.file) {
    file = s.file;
    line = s.line;
  }
}

} // namespace

Result<std::string> run_lint_command(Target &target, const std::vector<ModuleInfo> &modules,
                                     const CommandOptions &options,
                                     const ProgressCallback &progress) {
  auto chosen = select_modules(modules, options);
  if (!chosen)
    return chosen.error();
  if (chosen->empty() && options.format == OutputFormat::Text)
    return std::string(
        "No module of the target references sra_alloc; name one to lint it anyway.\n");
  std::vector<LintResult> results;
  size_t done = 0;
  for (const ModuleInfo *m : *chosen) {
    if (progress)
      progress(done++, chosen->size());
    Result<LintResult> r = lint_elf_file(m->path, m->load_bias);
    if (!r)
      return r.error();
    for (auto &site : r->call_sites)
      fill_location(target, site.address, site.file, site.line);
    for (auto &finding : r->findings)
      if (finding.address)
        fill_location(target, *finding.address, finding.file, finding.line);
    results.push_back(std::move(*r));
  }
  if (progress)
    progress(done, chosen->size());
  if (options.format == OutputFormat::Json)
    return render_json(lint_report(results, target.info()));
  return render_lint_text(results);
}

} // namespace frameaudit::commands

// SPDX-License-Identifier: MIT
// `git promptops init`: scaffold .promptops.toml, an example prompt and a dataset; set up textconv.
// `init --ci github|gitlab` writes the CI workflow alone (templates/ci/).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <promptops/util/error.hpp>

#include "context.hpp"
#include "hooks.hpp"
#include "templates.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

struct InitOptions {
  bool force = false;
  std::string ci;  // empty: the project scaffold; "github" or "gitlab": that CI file alone
};

// A CI system's workflow: the template, where it goes, and what the user does next.
struct CiWorkflow {
  std::string_view name;
  std::string_view source;  // under templates/
  std::string_view target;  // under the work tree
  std::string_view next;
};

constexpr CiWorkflow k_ci_workflows[] = {
    {"github", "ci/github-actions.yml", ".github/workflows/promptops.yml",
     "Next: set the Actions variable PROMPTOPS_REPO to the git URL of the git-promptops sources,\n"
     "the secrets your providers' keys need, then commit the file.\n"},
    {"gitlab", "ci/gitlab-ci.yml", ".gitlab-ci.yml",
     "Next: set the CI/CD variables PROMPTOPS_REPO (the git URL of the git-promptops sources) and\n"
     "PROMPTOPS_GITLAB_TOKEN, and your providers' keys, then commit the file.\n"},
};

struct Scaffold {
  std::string_view source;  // under templates/
  std::string_view target;  // under the work tree
};

constexpr Scaffold k_scaffold[] = {
    {"promptops.toml", ".promptops.toml"},
    {"prompts/support/classify.toml", "prompts/support/classify.toml"},
    {"prompts/summarize.prompt", "prompts/summarize.prompt"},
    {"evals/classify.jsonl", "evals/classify.jsonl"},
};

std::string_view template_content(std::string_view path) {
  for (const EmbeddedFile& file : embedded_templates()) {
    if (file.path == path) {
      return file.content;
    }
  }
  throw Error("template '" + std::string(path) + "' is missing from this build");
}

// .gitattributes is the user's file, shared with other tools (LFS, eol): the diff=promptops lines
// that it lacks are appended, and nothing is ever replaced, even with --force.
std::string scaffold_gitattributes(const std::filesystem::path& target, std::size_t& written) {
  const std::string_view content = template_content("gitattributes");
  const std::optional<std::string> existing = util::read_file(target);
  if (!existing) {
    util::write_file_atomic(target, content);
    ++written;
    return "created  .gitattributes\n";
  }
  std::vector<std::string> have;
  for (const std::string& line : util::split(*existing, '\n')) {
    have.emplace_back(util::trim(line));
  }
  std::string missing;
  for (const std::string& line : gitattributes_lines()) {
    if (std::find(have.begin(), have.end(), line) == have.end()) {
      missing += line + "\n";
    }
  }
  if (missing.empty()) {
    return "kept     .gitattributes (has the diff=promptops lines)\n";
  }
  std::string updated = *existing;
  if (!updated.empty() && updated.back() != '\n') {
    updated += "\n";
  }
  const std::string_view comment = content.substr(0, content.find('\n') + 1);
  updated += std::string(comment.starts_with("#") ? comment : "") + missing;
  util::write_file_atomic(target, updated);
  ++written;
  return "appended .gitattributes (the diff=promptops lines)\n";
}

// Writes the CI file alone: the project may be initialized already, and --force then replaces
// that one file, never the user's prompts or config.
std::string scaffold_ci_workflow(const std::filesystem::path& workdir, std::string_view name, bool force) {
  const auto* workflow = std::find_if(std::begin(k_ci_workflows), std::end(k_ci_workflows),
                                      [&](const CiWorkflow& item) { return item.name == name; });
  if (workflow == std::end(k_ci_workflows)) {
    throw UsageError("unknown CI system '" + std::string(name) + "'", "use github or gitlab");
  }
  const std::filesystem::path target = workdir / workflow->target;
  std::error_code ec;
  const bool exists = std::filesystem::exists(target, ec);
  if (exists && !force) {
    return "kept     " + std::string(workflow->target) + " (exists; --force overwrites)\n";
  }
  util::write_file_atomic(target, template_content(workflow->source));
  return (exists ? "replaced " : "created  ") + std::string(workflow->target) + "\n\n" +
         std::string(workflow->next);
}

void run_init(Context& context, const InitOptions& options) {
  git::Repository& repo = context.repo();
  if (repo.is_bare()) {
    throw GitError("cannot initialize a bare repository", "run init in a clone with a working tree");
  }
  if (!options.ci.empty()) {
    context.out(scaffold_ci_workflow(repo.workdir(), options.ci, options.force));
    return;
  }
  std::string report;
  std::size_t created = 0;
  for (const Scaffold& item : k_scaffold) {
    const std::filesystem::path target = repo.workdir() / item.target;
    std::error_code ec;
    const bool exists = std::filesystem::exists(target, ec);
    if (exists && !options.force) {
      report += "kept     " + std::string(item.target) + " (exists; --force overwrites)\n";
      continue;
    }
    util::write_file_atomic(target, template_content(item.source));
    report += (exists ? "replaced " : "created  ") + std::string(item.target) + "\n";
    ++created;
  }
  report += scaffold_gitattributes(repo.workdir() / ".gitattributes", created);
  for (const ConfigEntry& entry : configure_textconv(repo)) {
    report += "set      git config " + entry.name + " = " + entry.value + "\n";
  }
  report += created > 0 ? "\nNext: git promptops lint && git promptops list, then commit the files.\n" : "";
  if (!hooks_installed(repo)) {
    report += std::string(created > 0 ? "" : "\n") +
              "Hooks: git promptops hooks install (blocks commits that regress a prompt)\n";
  }
  context.out(report);
}

}  // namespace

void add_init(CLI::App& app, Context& context) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* command = app.add_subcommand("init", "scaffold .promptops.toml, an example prompt and a dataset");
  command->add_flag("--force", options->force, "overwrite files that already exist");
  command->add_option("--ci", options->ci, "write only the CI workflow of github or gitlab")
      ->type_name("SYSTEM")
      ->check(CLI::IsMember({"github", "gitlab"}));
  command->callback([&context, options] { run_init(context, *options); });
}

}  // namespace promptops::cli

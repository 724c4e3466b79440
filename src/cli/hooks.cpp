// SPDX-License-Identifier: MIT
// `git promptops hooks install|uninstall`: the pre-commit and pre-push shims in git's hooks directory.
#include "hooks.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <promptops/util/error.hpp>

#include "context.hpp"
#include "templates.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/process.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_hook_names[] = {"pre-commit", "pre-push"};
// The second line of every shim (hooks/*), followed by its version number.
constexpr std::string_view k_marker = "# git-promptops hook shim ";
// Where `install --force` moves a hook of the user's own, and `uninstall` restores it from.
constexpr std::string_view k_backup_suffix = ".before-promptops";
constexpr fs::perms k_executable = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec;

struct HooksOptions {
  bool force = false;
  bool manual = false;
};

// The shim version in the marker on a hook's second line (the first is "#!/bin/sh"); nullopt
// when the hook is not ours. Only that line counts, so a hook of the user's own that merely
// quotes our shim is never taken for it (and never removed by uninstall).
std::optional<int> shim_version(std::string_view content) {
  const std::size_t first_end = content.find('\n');
  if (first_end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view line = content.substr(first_end + 1);
  line = line.substr(0, line.find('\n'));
  if (!line.starts_with(k_marker)) {
    return std::nullopt;
  }
  line.remove_prefix(k_marker.size());
  int version = 0;
  const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), version);
  if (error != std::errc() || end == line.data() || (end != line.data() + line.size() && *end != ' ')) {
    return std::nullopt;
  }
  return version;
}

std::string_view shim_content(std::string_view name) {
  for (const EmbeddedFile& file : embedded_hooks()) {
    if (file.path == name) {
      return file.content;
    }
  }
  throw Error("the " + std::string(name) + " hook shim is missing from this build");
}

int shim_version_of_build(std::string_view name) {
  const auto version = shim_version(shim_content(name));
  if (!version) {
    throw Error("the " + std::string(name) + " hook shim of this build has no version marker");
  }
  return *version;
}

// git's hooks directory: core.hooksPath when set (relative to the work tree root, or to the git
// dir of a bare repository, where git runs hooks; "~/" is $HOME), else <common-dir>/hooks, which
// linked worktrees share.
fs::path hooks_directory(const git::Repository& repo) {
  const std::optional<std::string> configured = repo.config_string("core.hooksPath");
  if (!configured || configured->empty()) {
    return (repo.common_dir() / "hooks").lexically_normal();
  }
  std::string value = *configured;
  const char* home = std::getenv("HOME");
  if ((value == "~" || value.starts_with("~/")) && home != nullptr) {
    value = std::string(home) + value.substr(1);
  }
  fs::path path(value);
  if (path.is_relative()) {
    path = (repo.is_bare() ? repo.git_dir() : repo.workdir()) / path;
  }
  return path.lexically_normal();
}

// The path relative to the work tree root when it is inside it, else absolute.
std::string shown(const git::Repository& repo, const fs::path& path) {
  std::error_code ec;
  const fs::path full = fs::weakly_canonical(path, ec);
  if (ec) {
    return path.string();
  }
  if (!repo.is_bare()) {
    const fs::path root = fs::weakly_canonical(repo.workdir(), ec);
    const fs::path relative = ec ? fs::path() : full.lexically_relative(root);
    if (!relative.empty() && *relative.begin() != "..") {
      return relative.string();
    }
  }
  return full.string();
}

bool present(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found && !ec;
}

enum class HookKind { absent, ours, foreign };

struct Hook {
  fs::path path;
  HookKind kind = HookKind::absent;
  int version = 0;  // of our shim
  std::string content;
  bool executable = false;
};

Hook inspect(const fs::path& path) {
  Hook hook;
  hook.path = path;
  if (!present(path)) {
    return hook;
  }
  // A directory or a dangling symlink reads as nothing and is foreign: never overwritten.
  hook.content = util::read_file(path).value_or("");
  const std::optional<int> version = shim_version(hook.content);
  hook.kind = version ? HookKind::ours : HookKind::foreign;
  hook.version = version.value_or(0);
  std::error_code ec;
  hook.executable = (fs::status(path, ec).permissions() & fs::perms::owner_exec) != fs::perms::none;
  return hook;
}

fs::path backup_path(const fs::path& hook) { return fs::path(hook.string() + std::string(k_backup_suffix)); }

void move_file(const git::Repository& repo, const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    throw Error("cannot move '" + shown(repo, from) + "' to '" + shown(repo, to) + "': " + ec.message(),
                "check the permissions of the hooks directory");
  }
}

void write_shim(const fs::path& path, std::string_view name) {
  util::write_file_atomic(path, shim_content(name), k_executable);
}

// The git config that names `git promptops textconv` as the diff driver of diff=promptops files.
const std::vector<ConfigEntry>& textconv_driver() {
  static const std::vector<ConfigEntry> entries = {{"diff.promptops.textconv", "git promptops textconv"},
                                                   {"diff.promptops.cachetextconv", "true"}};
  return entries;
}

// "'a'" or "'a' and 'b'".
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " and " : ", ") + ("'" + items[i] + "'");
  }
  return out;
}

// The textconv config that is not set yet, as "git config" lines, and the .gitattributes lines
// when the file does not mention diff=promptops; empty when both are in place.
std::string textconv_advice(const git::Repository& repo, bool config_done) {
  std::string out;
  if (!config_done) {
    for (const auto& [name, value] : textconv_driver()) {
      if (!repo.config_string(name)) {
        out += "    git config " + name + " '" + value + "'\n";
      }
    }
    if (!out.empty()) {
      out = "\nFor readable prompt diffs, set the textconv driver:\n" + out;
    }
  }
  if (repo.is_bare()) {
    return out;
  }
  const std::optional<std::string> attributes = util::read_file(repo.workdir() / ".gitattributes");
  if (!attributes || attributes->find("diff=promptops") == std::string::npos) {
    out += "\nFor readable prompt diffs, add to .gitattributes (with your prompt roots for prompts/):\n";
    for (const std::string& line : gitattributes_lines()) {
      out += "    " + line + "\n";
    }
  }
  return out;
}

void run_manual(Context& context, const fs::path& directory) {
  const git::Repository& repo = context.repo();
  std::string out = "Nothing was changed. To call git-promptops from hooks of your own:\n";
  for (const char* name : k_hook_names) {
    const Hook hook = inspect(directory / name);
    const char* state = hook.kind == HookKind::absent ? "absent"
                        : hook.kind == HookKind::ours ? "our shim"
                                                      : "a hook of your own";
    out += "\n" + shown(repo, hook.path) + " (" + state + ")";
    if (std::string_view(name) == "pre-push") {
      out +=
          ": git writes the refs being pushed on its stdin, which our line must get unread;\n"
          "make this the hook's last line:\n"
          "    exec git promptops hook pre-push \"$@\"\n"
          "or, when the hook reads stdin itself, save it at the top and replay it:\n"
          "    input=$(cat)\n"
          "    printf '%s\\n' \"$input\" | git promptops hook pre-push \"$@\" || exit $?\n";
    } else {
      out +=
          ": add this line (before any final 'exit 0'):\n"
          "    git promptops hook pre-commit \"$@\" || exit $?\n";
    }
  }
  context.out(out + textconv_advice(repo, false));
}

void run_install(Context& context, const HooksOptions& options) {
  const git::Repository& repo = context.repo();
  const fs::path directory = hooks_directory(repo);
  if (options.manual) {
    run_manual(context, directory);
    return;
  }
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) {
    throw Error("cannot create the hooks directory '" + shown(repo, directory) + "': " + ec.message(),
                "check core.hooksPath and the permissions of its parent");
  }
  std::string out;
  std::vector<std::string> foreign;
  std::vector<std::string> blocked_backups;
  for (const char* name : k_hook_names) {
    const Hook hook = inspect(directory / name);
    const std::string path = shown(repo, hook.path);
    const int ours = shim_version_of_build(name);
    switch (hook.kind) {
      case HookKind::absent:
        write_shim(hook.path, name);
        out += "installed " + path + "\n";
        break;
      case HookKind::ours:
        if (hook.version > ours && !options.force) {
          out += "kept " + path + " (shim " + std::to_string(hook.version) +
                 " is newer than this git-promptops's " + std::to_string(ours) + ")\n";
        } else if (hook.version == ours && hook.content == shim_content(name) && hook.executable) {
          out += "up to date " + path + "\n";
        } else {
          write_shim(hook.path, name);
          out += "updated " + path +
                 (hook.version != ours
                      ? " (shim " + std::to_string(hook.version) + " -> " + std::to_string(ours) + ")"
                      : std::string()) +
                 "\n";
        }
        break;
      case HookKind::foreign: {
        if (!options.force) {
          foreign.push_back(path);
          break;
        }
        const fs::path backup = backup_path(hook.path);
        if (present(backup)) {
          blocked_backups.push_back(path);
          break;
        }
        move_file(repo, hook.path, backup);
        write_shim(hook.path, name);
        out += "installed " + path + " (yours is saved as " + shown(repo, backup) + ")\n";
        break;
      }
    }
  }
  std::string config;
  for (const ConfigEntry& entry : configure_textconv(repo)) {
    config += "set git config " + entry.name + " = " + entry.value + "\n";
  }
  context.out(out + config + textconv_advice(repo, true));

  if (!foreign.empty()) {
    const bool one = foreign.size() == 1;
    throw Error(std::string(one ? "hook " : "hooks ") + quoted_list(foreign) +
                    (one ? " is not a git-promptops shim; left unchanged"
                         : " are not git-promptops shims; left unchanged"),
                "rerun with --force to save yours as <hook>" + std::string(k_backup_suffix) +
                    " and install ours, or with --manual for the line to add to yours");
  }
  if (!blocked_backups.empty()) {
    throw Error("cannot save " + quoted_list(blocked_backups) + ": a " + std::string(k_backup_suffix) +
                    " backup from an earlier --force is in the way; left unchanged",
                "remove or rename the old backup, then rerun 'git promptops hooks install --force'");
  }
}

void run_uninstall(Context& context) {
  const git::Repository& repo = context.repo();
  const fs::path directory = hooks_directory(repo);
  std::string out;
  for (const char* name : k_hook_names) {
    const Hook hook = inspect(directory / name);
    const std::string path = shown(repo, hook.path);
    const fs::path backup = backup_path(hook.path);
    const bool has_backup = present(backup);
    if (hook.kind == HookKind::foreign) {
      out += "kept " + path + " (not a git-promptops shim)\n";
      continue;
    }
    if (hook.kind == HookKind::ours) {
      std::error_code ec;
      fs::remove(hook.path, ec);
      if (ec) {
        throw Error("cannot remove '" + path + "': " + ec.message(),
                    "check the permissions of the hooks directory");
      }
    }
    if (has_backup) {
      move_file(repo, backup, hook.path);
      out += "restored " + path + " (from " + shown(repo, backup) + ")\n";
    } else if (hook.kind == HookKind::ours) {
      out += "removed " + path + "\n";
    } else {
      out += "skipped " + path + " (not installed)\n";
    }
  }
  context.out(out);
}

}  // namespace

std::vector<ConfigEntry> configure_textconv(const git::Repository& repo) {
  std::vector<ConfigEntry> set;
  for (const ConfigEntry& entry : textconv_driver()) {
    if (repo.config_string(entry.name)) {
      continue;  // the user's own choice (e.g. a full path to the binary) wins
    }
    const util::ProcessResult result =
        util::run_process({"git", "config", "--local", entry.name, entry.value}, "",
                          repo.is_bare() ? repo.git_dir() : repo.workdir(), std::chrono::seconds(30));
    if (!result.started || result.exit_code != 0) {
      const std::string_view err = util::trim(result.err);
      const std::string why(err.substr(0, err.find('\n')));
      throw Error("cannot set git config '" + entry.name + "'" + (why.empty() ? "" : ": " + why),
                  "set it yourself: git config " + entry.name + " '" + entry.value + "'");
    }
    set.push_back(entry);
  }
  return set;
}

std::vector<std::string> gitattributes_lines() {
  std::vector<std::string> lines;
  for (const EmbeddedFile& file : embedded_templates()) {
    if (file.path != "gitattributes") {
      continue;
    }
    for (const std::string& line : util::split(file.content, '\n')) {
      const std::string_view text = util::trim(line);
      if (!text.empty() && text.front() != '#') {
        lines.emplace_back(text);
      }
    }
  }
  return lines;
}

bool hooks_installed(const git::Repository& repo) {
  return inspect(hooks_directory(repo) / "pre-commit").kind == HookKind::ours;
}

void add_hooks(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("hooks", "install or remove the pre-commit and pre-push hooks");
  command->require_subcommand(1);

  auto options = std::make_shared<HooksOptions>();
  CLI::App* install = command->add_subcommand(
      "install", "write the pre-commit and pre-push shims into git's hooks directory (core.hooksPath)");
  CLI::Option* force = install->add_flag("--force", options->force,
                                         "replace hooks of your own, saving each as <hook>.before-promptops");
  install
      ->add_flag("--manual", options->manual, "change nothing; print the lines to add to hooks of your own")
      ->excludes(force);
  install->callback([&context, options] { run_install(context, *options); });

  CLI::App* uninstall = command->add_subcommand(
      "uninstall", "remove our shims and restore the hooks that install --force saved");
  uninstall->callback([&context] { run_uninstall(context); });
}

}  // namespace promptops::cli

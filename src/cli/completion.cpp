// SPDX-License-Identifier: MIT
// `git promptops completion bash|zsh`: shell completion generated from the command table (the
// parser's own subcommands and flags), with prompt names, NAME@ALIAS and revisions from the
// repository at completion time.
#include <CLI/CLI.hpp>

#include <promptops/util/strings.hpp>

#include "context.hpp"

namespace promptops::cli {

namespace {

// The words a command level takes: its visible subcommands, and its flags.
struct Level {
  std::string key;  // "" for git-promptops itself, "eval", "alias set"
  std::vector<std::string> subcommands;
  std::vector<std::string> flags;
};

std::vector<std::string> flags_of(const CLI::App& app) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_snames()) {
      flags.push_back("-" + name);
    }
    for (const std::string& name : option->get_lnames()) {
      flags.push_back("--" + name);
    }
  }
  return flags;
}

// `app` and its visible subcommands, depth first; hidden ones (an empty group: `hook`) are left out.
void collect_levels(const CLI::App& app, const std::string& key, std::vector<Level>& levels) {
  Level level{key, {}, flags_of(app)};
  const std::vector<const CLI::App*> subs = app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
  for (const CLI::App* sub : subs) {
    level.subcommands.push_back(sub->get_name());
  }
  levels.push_back(std::move(level));
  for (const CLI::App* sub : subs) {
    collect_levels(*sub, key.empty() ? sub->get_name() : key + " " + sub->get_name(), levels);
  }
}

// A shell function `name KEY` that prints the words of the level KEY, from `field`.
std::string lookup_function(const std::string& name, const std::vector<Level>& levels,
                            std::vector<std::string> Level::*field) {
  std::string out = name + " () {\n\tcase \"$1\" in\n";
  for (const Level& level : levels) {
    if (!(level.*field).empty()) {
      out += "\t\"" + level.key + "\") echo \"" + util::join(level.*field, " ") + "\" ;;\n";
    }
  }
  return out + "\tesac\n}\n\n";
}

// What both shells share: the tables and the candidates for a word, one per line.
constexpr const char* k_candidates = R"SH(# Prompt names, NAME@ALIAS for each alias, then revisions (git's own list when its completion
# is loaded).
__git_promptops_positional () {
	git-promptops list --format tsv 2>/dev/null | sed 1d | cut -f1
	git for-each-ref --format='%(refname)' refs/tags/promptops/ 2>/dev/null |
		sed -e 's|^refs/tags/promptops/||' -e 's|/\([^/]*\)$|@\1|'
	if command -v __git_refs >/dev/null 2>&1; then
		__git_refs | grep -v '^promptops/'
	else
		echo HEAD
		git for-each-ref --format='%(refname:short)' refs/heads refs/remotes refs/tags 2>/dev/null |
			grep -v '^promptops/'
	fi
}

# Sets the caller's cmd, sub and dashes (1 after "--") from the words before the one completed.
__git_promptops_scan () {
	local word
	for word in "$@"; do
		case "$word" in
		--) dashes=1 ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd="$word"
			elif [ -z "$sub" ] && [ -n "$(__git_promptops_subcommands "$cmd")" ]; then
				sub="$word"
			fi
			;;
		esac
	done
}

# The candidates for word $3 after command $1 and subcommand $2; $4 is 1 after "--" (prompt names
# only).
__git_promptops_candidates () {
	if [ "$4" = 1 ]; then
		git-promptops list --format tsv 2>/dev/null | sed 1d | cut -f1
		return
	fi
	local level="$1${2:+ $2}"
	case "$3" in
	-*) __git_promptops_flags "$level" | tr ' ' '\n' ;;
	*)
		local subcommands="$(__git_promptops_subcommands "$level")"
		if [ -n "$subcommands" ]; then
			echo "$subcommands" | tr ' ' '\n'
		elif [ -n "$1" ]; then
			__git_promptops_positional
		fi
		;;
	esac
}

)SH";

constexpr const char* k_bash = R"SH(# $1: the index in COMP_WORDS of the first word after the program ("promptops" or "git-promptops");
# $2: "git" when git's completion called.
__git_promptops_complete () {
	local first="$1" cur="${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" dashes=0
	__git_promptops_scan "${COMP_WORDS[@]:first:COMP_CWORD-first}"
	local candidates="$(__git_promptops_candidates "$cmd" "$sub" "$cur" "$dashes")" word
	# The words come from the repository (prompt and ref names): matched as text, never expanded
	# (compgen -W would run a $(...) in a ref name).
	COMPREPLY=()
	while IFS= read -r word; do
		if [[ -n "$word" && "$word" == "$cur"* ]]; then
			COMPREPLY+=("$word${2:+ }")  # git's completion adds no space itself
		fi
	done <<<"$candidates"
}

# `git promptops ...`: git's completion loads this file as git-promptops's and calls this.
_git_promptops () {
	local i first=2  # after `git ALIAS` when an alias stands for promptops
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [ "${COMP_WORDS[i]}" = promptops ]; then
			first=$((i + 1))
			break
		fi
	done
	((first <= COMP_CWORD)) || return 0
	__git_promptops_complete "$first" git
}

# `git-promptops ...`
__git_promptops_program () {
	__git_promptops_complete 1
}

complete -o bashdefault -o default -F __git_promptops_program git-promptops
)SH";

constexpr const char* k_zsh = R"SH(# `git promptops ...` (zsh's git completion calls _git-promptops) and `git-promptops ...`: in
# both, words[2] is the first word after the program.
_git-promptops () {
	local cmd="" sub="" dashes=0
	__git_promptops_scan "${(@)words[2,CURRENT-1]}"
	local -a candidates
	candidates=("${(@f)$(__git_promptops_candidates "$cmd" "$sub" "${words[CURRENT]}" "$dashes")}")
	compadd -- "${candidates[@]}"
}

_git-promptops "$@"
)SH";

std::string completion_script(const CLI::App& root, const std::string& shell) {
  std::vector<Level> levels;
  collect_levels(root, "", levels);
  std::string out = shell == "zsh" ? "#compdef git-promptops\n" : "";
  out += "# git-promptops completion for " + shell +
         ", generated by `git promptops completion " + shell + "` from its command table.\n\n";
  out += lookup_function("__git_promptops_subcommands", levels, &Level::subcommands);
  out += lookup_function("__git_promptops_flags", levels, &Level::flags);
  out += k_candidates;
  return out + (shell == "zsh" ? k_zsh : k_bash);
}

}  // namespace

void add_completion(CLI::App& app, Context& context) {
  auto shell = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("completion", "print the bash or zsh completion script");
  command->add_option("shell", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  command->callback([&app, &context, shell] { context.out(completion_script(app, *shell)); });
}

}  // namespace promptops::cli

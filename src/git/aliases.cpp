// SPDX-License-Identifier: MIT
// Prompt aliases as annotated tags refs/tags/promptops/<prompt>/<alias>, moved compare-and-swap.
#include <algorithm>
#include <ctime>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

constexpr std::string_view k_tag_prefix = "promptops/";
constexpr std::string_view k_ref_prefix = "refs/tags/promptops/";

std::string tag_name(std::string_view prompt, std::string_view alias) {
  return std::string(k_tag_prefix) + std::string(prompt) + "/" + std::string(alias);
}

std::string ref_name(std::string_view prompt, std::string_view alias) {
  return "refs/tags/" + tag_name(prompt, alias);
}

bool is_valid_ref_name(const std::string& name) {
  int valid = 0;
  return git_reference_name_is_valid(&valid, name.c_str()) == 0 && valid != 0;
}

// The user-facing form of an alias, as the CLI spells it.
std::string display(std::string_view prompt, std::string_view alias) {
  return std::string(prompt) + "@" + std::string(alias);
}

// Throws UsageError unless `prompt` and `alias` make a valid alias ref; the alias is one component.
void require_valid(std::string_view prompt, std::string_view alias) {
  if (!is_valid_ref_component(prompt)) {
    throw UsageError("invalid prompt name '" + std::string(prompt) + "' for an alias",
                     "prompt names must be valid in a git ref (see git check-ref-format)");
  }
  if (alias.find('/') != std::string_view::npos || !is_valid_ref_component(alias)) {
    throw UsageError("invalid alias name '" + std::string(alias) + "'",
                     "alias names are one git ref component: no '/', '..', spaces, '~^:?*[\\' "
                     "or a trailing '.lock'");
  }
  if (!is_valid_ref_name(ref_name(prompt, alias))) {
    throw UsageError("invalid alias '" + display(prompt, alias) + "'",
                     "alias and prompt names must be valid in a git ref (see git check-ref-format)");
  }
}

bool valid_names(std::string_view prompt, std::string_view alias) {
  return alias.find('/') == std::string_view::npos && is_valid_ref_component(prompt) &&
         is_valid_ref_component(alias) && is_valid_ref_name(ref_name(prompt, alias));
}

std::string iso_utc(std::int64_t time) {
  const auto t = static_cast<std::time_t>(time);
  std::tm utc{};
  if (::gmtime_r(&t, &utc) == nullptr) {
    return std::to_string(time);
  }
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, n);
}

// The alias `reference` points at, or nullopt when it does not lead to a commit.
std::optional<Alias> alias_from(const Repository::Impl& impl, const git_reference& reference,
                                std::string prompt, std::string name) {
  git_reference* raw_resolved = nullptr;
  if (git_reference_resolve(&raw_resolved, &reference) < 0) {
    return std::nullopt;  // a dangling symbolic ref
  }
  const ReferenceHandle resolved(raw_resolved);
  // Borrowed from `resolved`.
  const git_oid* target = git_reference_target(resolved.get());
  if (target == nullptr) {
    return std::nullopt;
  }
  git_object* raw_object = nullptr;
  const int rc = git_object_lookup(&raw_object, impl.repo.get(), target, GIT_OBJECT_ANY);
  if (rc == GIT_ENOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading alias '" + display(prompt, name) + "'");
  const ObjectHandle object(raw_object);

  Alias out;
  out.prompt = std::move(prompt);
  out.name = std::move(name);
  if (git_object_type(object.get()) == GIT_OBJECT_TAG) {
    const auto* tag = reinterpret_cast<const git_tag*>(object.get());
    out.tag = from_git(*target);
    // Borrowed from `object`.
    const char* message = git_tag_message(tag);
    out.message = message != nullptr ? message : "";
    out.tagger = person_from(git_tag_tagger(tag));
  }
  git_object* raw_commit = nullptr;
  const int peel_rc = git_object_peel(&raw_commit, object.get(), GIT_OBJECT_COMMIT);
  if (peel_rc == GIT_ENOTFOUND || peel_rc == GIT_EINVALIDSPEC || peel_rc == GIT_EPEEL) {
    return std::nullopt;  // a tag of a blob or a tree is not an alias
  }
  check(peel_rc, "peeling alias '" + display(out.prompt, out.name) + "'");
  const ObjectHandle commit(raw_commit);
  out.commit = from_git(*git_object_id(commit.get()));
  return out;
}

// The reference, or nullptr when it does not exist.
ReferenceHandle lookup_reference(const Repository::Impl& impl, const std::string& name) {
  git_reference* raw = nullptr;
  const int rc = git_reference_lookup(&raw, impl.repo.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) {
    return ReferenceHandle();
  }
  check(rc, "reading " + name);
  return ReferenceHandle(raw);
}

// An existing alias ref that `name` cannot coexist with in a file-per-ref store: one of its
// parents ("refs/tags/promptops/a/b" for ".../a/b/c") or a ref below it (".../a/b/c/d").
std::optional<std::string> conflicting_ref(const Repository::Impl& impl, const std::string& name) {
  for (std::size_t slash = name.find('/', k_ref_prefix.size()); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    const std::string parent = name.substr(0, slash);
    if (lookup_reference(impl, parent)) {
      return parent;
    }
  }
  git_reference_iterator* raw = nullptr;
  const std::string below = name + "/";
  check(git_reference_iterator_glob_new(&raw, impl.repo.get(), (below + "*").c_str()), "listing aliases");
  const ReferenceIteratorHandle iterator(raw);
  const char* child = nullptr;  // borrowed from the iterator
  while (git_reference_next_name(&child, iterator.get()) == 0) {
    if (std::string_view(child).substr(0, below.size()) == below) {
      return std::string(child);
    }
  }
  return std::nullopt;
}

[[noreturn]] void throw_moved(std::string_view prompt, std::string_view alias) {
  throw GitError("alias '" + display(prompt, alias) + "' was moved by someone else meanwhile",
                 "run the command again");
}

}  // namespace

bool is_valid_ref_component(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') {
    return false;
  }
  // The prefix makes `name` the tail of a full ref name, so git's component rules apply to it.
  return is_valid_ref_name("refs/promptops-check/" + std::string(name));
}

std::vector<Alias> Repository::aliases(std::string_view prompt) const {
  std::string prefix(k_ref_prefix);
  if (!prompt.empty()) {
    prefix += std::string(prompt) + "/";
  }
  git_reference_iterator* raw = nullptr;
  // A glob lets the ref backend walk only refs/tags/promptops; '*' also matches '/' here.
  const std::string glob = prefix + "*";
  check(git_reference_iterator_glob_new(&raw, m_impl->repo.get(), glob.c_str()), "listing aliases");
  const ReferenceIteratorHandle iterator(raw);
  std::vector<Alias> out;
  git_reference* raw_ref = nullptr;
  int rc = 0;
  while ((rc = git_reference_next(&raw_ref, iterator.get())) == 0) {
    const ReferenceHandle reference(raw_ref);
    const std::string_view full = git_reference_name(reference.get());
    if (full.substr(0, prefix.size()) != prefix) {
      continue;
    }
    // Everything after refs/tags/promptops/ is "<prompt>/<alias>"; the alias is the last part.
    const std::string_view rest = full.substr(k_ref_prefix.size());
    const std::size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
      continue;
    }
    std::string alias_prompt(rest.substr(0, slash));
    if (!prompt.empty() && alias_prompt != prompt) {
      continue;  // an alias of a prompt nested below `prompt`
    }
    if (auto alias =
            alias_from(*m_impl, *reference, std::move(alias_prompt), std::string(rest.substr(slash + 1)))) {
      out.push_back(std::move(*alias));
    }
  }
  if (rc != GIT_ITEROVER) {
    check(rc, "listing aliases");
  }
  std::sort(out.begin(), out.end(), [](const Alias& a, const Alias& b) {
    return a.prompt != b.prompt ? a.prompt < b.prompt : a.name < b.name;
  });
  return out;
}

std::optional<Alias> Repository::find_alias(std::string_view prompt, std::string_view alias) const {
  if (!valid_names(prompt, alias)) {
    return std::nullopt;  // no such ref can exist
  }
  const ReferenceHandle reference = lookup_reference(*m_impl, ref_name(prompt, alias));
  if (!reference) {
    return std::nullopt;
  }
  return alias_from(*m_impl, *reference, std::string(prompt), std::string(alias));
}

Alias Repository::set_alias(std::string_view prompt, std::string_view alias, const Oid& commit,
                            std::string_view reason) {
  require_valid(prompt, alias);
  const std::string name = ref_name(prompt, alias);

  git_object* raw_target = nullptr;
  const int lookup_rc = git_object_lookup(&raw_target, m_impl->repo.get(), to_git(commit), GIT_OBJECT_COMMIT);
  if (lookup_rc == GIT_ENOTFOUND) {
    throw GitError("commit " + commit.hex() + " not found: " + last_error_message());
  }
  check(lookup_rc, "reading commit " + commit.hex());
  const ObjectHandle target(raw_target);

  // What the alias points at now: the old value for the compare-and-swap and the message.
  const ReferenceHandle current = lookup_reference(*m_impl, name);
  std::optional<git_oid> old_ref_target;
  std::string previous = "none";
  if (current) {
    // Borrowed from `current`; a symbolic alias ref has no direct target and is replaced.
    if (const git_oid* old = git_reference_target(current.get())) {
      old_ref_target = *old;
    }
    if (auto old_alias = alias_from(*m_impl, *current, std::string(prompt), std::string(alias))) {
      previous = old_alias->commit.hex();
    }
  }

  if (!current) {
    if (const auto conflict = conflicting_ref(*m_impl, name)) {
      throw GitError("cannot create alias '" + display(prompt, alias) + "': '" + *conflict + "' exists",
                     "an alias name cannot also be the name of a prompt that has aliases; "
                     "choose another alias name");
    }
  }

  const Person tagger = signature(true);
  std::string message = "promptops: alias " + std::string(alias) + " of " + std::string(prompt) + " -> " +
                        commit.hex() + "\n\nprevious: " + previous + "\nmoved-by: " + tagger.name + " <" +
                        tagger.email + ">" + "\nmoved-at: " + iso_utc(tagger.time) + "\n";
  if (!reason.empty()) {
    std::string one_line(reason);
    std::replace(one_line.begin(), one_line.end(), '\n', ' ');
    message += "reason: " + one_line + "\n";
  }

  git_signature* raw_signature = nullptr;
  check(git_signature_new(&raw_signature, tagger.name.c_str(), tagger.email.c_str(),
                          static_cast<git_time_t>(tagger.time), tagger.offset_minutes),
        "making the tagger signature");
  const SignatureHandle signature_handle(raw_signature);
  git_oid tag_id{};
  check(git_tag_annotation_create(&tag_id, m_impl->repo.get(), tag_name(prompt, alias).c_str(), target.get(),
                                  signature_handle.get(), message.c_str()),
        "creating the tag of alias '" + display(prompt, alias) + "'");

  const std::string log_message = "promptops: alias " + display(prompt, alias) + " -> " + commit.hex();
  git_reference* raw_ref = nullptr;
  int rc = 0;
  if (old_ref_target) {
    rc = git_reference_create_matching(&raw_ref, m_impl->repo.get(), name.c_str(), &tag_id, 1,
                                       &*old_ref_target, log_message.c_str());
  } else if (current) {
    // A symbolic ref (never made by this tool): replace it; there is no value to compare.
    rc = git_reference_create(&raw_ref, m_impl->repo.get(), name.c_str(), &tag_id, 1, log_message.c_str());
  } else {
    rc = git_reference_create(&raw_ref, m_impl->repo.get(), name.c_str(), &tag_id, 0, log_message.c_str());
  }
  // GIT_ENOTFOUND: with an expected old value, the ref was deleted meanwhile.
  if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS || (old_ref_target && rc == GIT_ENOTFOUND)) {
    throw_moved(prompt, alias);
  }
  check(rc, "updating " + name);
  const ReferenceHandle updated(raw_ref);

  Alias out;
  out.prompt = std::string(prompt);
  out.name = std::string(alias);
  out.commit = commit;
  out.tag = from_git(tag_id);
  out.message = std::move(message);
  out.tagger = tagger;
  return out;
}

bool Repository::remove_alias(std::string_view prompt, std::string_view alias) {
  if (!valid_names(prompt, alias)) {
    return false;  // no such ref can exist
  }
  const ReferenceHandle reference = lookup_reference(*m_impl, ref_name(prompt, alias));
  if (!reference) {
    return false;
  }
  // git_reference_delete checks that the ref still has the value read above.
  const int rc = git_reference_delete(reference.get());
  if (rc == GIT_EMODIFIED) {
    throw_moved(prompt, alias);
  }
  if (rc == GIT_ENOTFOUND) {
    return false;
  }
  check(rc, "removing alias '" + display(prompt, alias) + "'");
  return true;
}

}  // namespace promptops::git

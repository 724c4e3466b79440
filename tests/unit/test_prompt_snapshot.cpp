// SPDX-License-Identifier: MIT
// Unit tests for links and limits: how snapshots read the working tree, a commit and the index
// (links are never followed, special files never opened, sizes capped before reading).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"
#include <promptops/util/file.hpp>

using namespace promptops;
using promptops::test::TempDir;
using promptops::test::TempRepo;
namespace fs = std::filesystem;

namespace {

const char* const k_prompt = "template = \"Hi {{name}}\"\n[vars]\nname = { required = true }\n";
const char* const k_marker = "MARKER-7f3a-secret";

std::vector<std::string> link_lines(const std::vector<SnapshotLink>& links) {
  std::vector<std::string> out;
  for (const SnapshotLink& link : links) {
    out.push_back(link.path + " -> " + link.target);
  }
  return out;
}

std::vector<std::string> prompt_names(const std::vector<PromptFile>& files) {
  std::vector<std::string> out;
  for (const PromptFile& file : files) {
    out.push_back(file.name);
  }
  return out;
}

std::string kind_name(SnapshotFile::Kind kind) {
  switch (kind) {
    case SnapshotFile::Kind::file:
      return "file";
    case SnapshotFile::Kind::missing:
      return "missing";
    case SnapshotFile::Kind::outside:
      return "outside";
    case SnapshotFile::Kind::link:
      return "link";
    case SnapshotFile::Kind::special:
      return "special";
    case SnapshotFile::Kind::too_large:
      return "too_large";
  }
  return "?";
}

// "kind link=... content" of one fetch, for exact checks.
std::string describe(const SnapshotFile& file) {
  std::string out = kind_name(file.kind);
  if (!file.link.empty()) {
    out += " " + file.link;
  }
  if (file.kind == SnapshotFile::Kind::too_large) {
    out += " " + std::to_string(file.size);
  } else if (!file.content.empty()) {
    out += " '" + file.content + "'";
  }
  return out;
}

// The message of the ConfigError that `read` throws, or "no error".
template <class Read>
std::string error_of(Read read) {
  try {
    read();
  } catch (const ConfigError& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "no error";
}

// A repository with a prompt root full of links: a file link inside the tree, a file link out of
// it, a directory link out of it, three loops, and a dataset link to a file with a marker.
struct LinkedRepo {
  TempDir outside;
  TempRepo repo;

  LinkedRepo() {
    std::ofstream(outside.path() / "secret.toml") << "template = \"" << k_marker << "\"\n";
    std::ofstream(outside.path() / "key.csv") << "question\n" << k_marker << "\n";
    repo.write("prompts/a.toml", k_prompt);
    repo.write("prompts/sub/b.toml", k_prompt);
    repo.write("evals/ok.csv", "name\nAnn\n");
    fs::create_symlink("a.toml", repo.path() / "prompts/inner.toml");
    fs::create_symlink(outside.path() / "secret.toml", repo.path() / "prompts/outer.toml");
    fs::create_symlink(outside.path(), repo.path() / "prompts/etc");
    for (const char* loop : {"prompts/l1", "prompts/l2", "prompts/sub/l3"}) {
      fs::create_symlink(".", repo.path() / loop);
    }
    fs::create_symlink(outside.path() / "key.csv", repo.path() / "evals/k.csv");
    fs::create_symlink(outside.path(), repo.path() / "evals/far");
  }

  std::string target(const char* name) const { return (outside.path() / name).string(); }
  std::string dir() const { return outside.path().string(); }
};

}  // namespace

TEST_CASE("repository paths are normalized, and absolute, climbing and .git paths are refused", "[snapshot]") {
  CHECK(repository_path("evals/a.csv") == "evals/a.csv");
  CHECK(repository_path("./evals//./a.csv") == "evals/a.csv");
  CHECK_FALSE(repository_path("").has_value());
  CHECK_FALSE(repository_path("/etc/passwd").has_value());
  CHECK_FALSE(repository_path("../../etc/passwd").has_value());
  CHECK_FALSE(repository_path("evals/../../x").has_value());
  CHECK_FALSE(repository_path("evals/../x").has_value());  // ".." is refused even when it stays inside
  CHECK_FALSE(repository_path(".git/config").has_value());
  CHECK_FALSE(repository_path("sub/.GIT/config").has_value());
  CHECK(repository_path(".github/x.csv") == ".github/x.csv");
  CHECK(size_limit(FileRole::prompt) == 1048576);
  CHECK(size_limit(FileRole::config) == 1048576);
  CHECK(size_limit(FileRole::dataset) == 268435456);
}

TEST_CASE("read_beneath follows no link, opens no special file and reads at most the limit", "[snapshot]") {
  TempDir dir;
  fs::create_directories(dir.path() / "d");
  std::ofstream(dir.path() / "d/f.txt") << "0123456789";
  fs::create_symlink("f.txt", dir.path() / "d/inside");
  fs::create_symlink("/dev/zero", dir.path() / "zero");
  fs::create_symlink("d", dir.path() / "dirlink");
  REQUIRE(::mkfifo((dir.path() / "fifo").c_str(), 0600) == 0);
  const auto read = [&](const char* path, std::uint64_t max) { return util::read_beneath(dir.path(), path, max); };
  using Kind = util::TreeFile::Kind;

  CHECK(read("d/f.txt", 10).kind == Kind::regular);
  CHECK(read("d/f.txt", 10).bytes == "0123456789");
  CHECK(read("d/f.txt", 9).kind == Kind::too_large);
  CHECK(read("d/f.txt", 9).size == 10);
  CHECK(read("d/f.txt", 9).bytes.empty());
  CHECK(read("d/nothing", 10).kind == Kind::missing);
  CHECK(read("d", 10).kind == Kind::missing);
  CHECK(read("d/f.txt/x", 10).kind == Kind::missing);
  CHECK(read("d/../d/f.txt", 10).kind == Kind::missing);

  const util::TreeFile inside = read("d/inside", 100);
  CHECK(inside.kind == Kind::link);  // a link inside the tree is a link too, as git stores it
  CHECK(inside.link == "d/inside");
  CHECK(inside.bytes == "f.txt");
  const util::TreeFile zero = read("zero", 100);
  CHECK(zero.kind == Kind::link);
  CHECK(zero.bytes == "/dev/zero");
  const util::TreeFile through = read("dirlink/f.txt", 100);
  CHECK(through.kind == Kind::link);
  CHECK(through.link == "dirlink");
  CHECK(through.bytes == "d");
  CHECK(read("fifo", 100).kind == Kind::special);  // not opened: a reader would block forever
  CHECK(util::read_beneath("/dev", "zero", 100).kind == Kind::special);
}

TEST_CASE("the working tree lists no link, descends no directory link and reads no link", "[snapshot]") {
  LinkedRepo linked;
  const auto snapshot = worktree_snapshot(linked.repo.path());

  std::vector<SnapshotLink> links;
  CHECK(snapshot->list("prompts", &links) ==
        std::vector<std::string>{"prompts/a.toml", "prompts/sub/b.toml"});
  CHECK(link_lines(links) == std::vector<std::string>{
                                 "prompts/etc -> " + linked.dir(),
                                 "prompts/inner.toml -> a.toml",
                                 "prompts/l1 -> .",
                                 "prompts/l2 -> .",
                                 "prompts/outer.toml -> " + linked.target("secret.toml"),
                                 "prompts/sub/l3 -> .",
                             });
  CHECK(prompt_names(find_prompts(*snapshot, Config{})) == std::vector<std::string>{"a", "sub/b"});
  CHECK(snapshot->list("prompts/etc").empty());
  CHECK(snapshot->list("prompts/l1/l2/l1").empty());

  CHECK(describe(snapshot->fetch("prompts/inner.toml", 1000)) == "link prompts/inner.toml 'a.toml'");
  CHECK(describe(snapshot->fetch("evals/k.csv", 1000)) == "link evals/k.csv '" + linked.target("key.csv") + "'");
  CHECK(describe(snapshot->fetch("evals/far/key.csv", 1000)) == "link evals/far '" + linked.dir() + "'");
  CHECK(describe(snapshot->fetch("prompts/l1/a.toml", 1000)) == "link prompts/l1 '.'");
  CHECK(describe(snapshot->fetch("../outside", 1000)) == "outside");
  CHECK(describe(snapshot->fetch("evals/ok.csv", 9)) == "file 'name\nAnn\n'");
  CHECK(describe(snapshot->fetch("evals/ok.csv", 8)) == "too_large 9");
  CHECK_FALSE(snapshot->exists("evals/k.csv"));
  CHECK(snapshot->exists("evals/ok.csv"));

  CHECK(error_of([&] { snapshot->read("evals/k.csv", FileRole::dataset); }) ==
        "dataset 'evals/k.csv' is a symbolic link to '" + linked.target("key.csv") +
            "', which is not followed | git promptops reads only regular files inside the repository, as git "
            "tracks a link as a link: commit the file itself in its place");
  CHECK(error_of([&] { snapshot->read("evals/far/key.csv", FileRole::dataset); }) ==
        "dataset 'evals/far/key.csv' is under 'evals/far', a symbolic link to '" + linked.dir() +
            "', which is not followed | git promptops reads only regular files inside the repository, as git "
            "tracks a link as a link: commit the file itself in its place");
  CHECK_FALSE(snapshot->read("../outside").has_value());
}

TEST_CASE("a file over its role's cap is refused with its size, before it is read", "[snapshot]") {
  TempRepo repo;
  repo.write("prompts/big.toml", "description = \"" + std::string(1 << 20, 'x') + "\"\n");
  repo.write("evals/big.csv", "a\n" + std::string(1 << 20, 'x') + "\n");
  const auto snapshot = worktree_snapshot(repo.path());
  CHECK(error_of([&] { snapshot->read("prompts/big.toml"); }) ==
        "prompt file 'prompts/big.toml' is 1048593 bytes, over the 1 MiB limit for a prompt file | keep long "
        "reference text in a dataset and pass it in as a variable");
  CHECK(snapshot->read("evals/big.csv", FileRole::dataset)->size() == 1048579);
  CHECK(error_of([&] { snapshot->read("evals/big.csv", FileRole::config); }) ==
        "config 'evals/big.csv' is 1048579 bytes, over the 1 MiB limit for a config | keep long reference text in a "
        "dataset and pass it in as a variable");
  SnapshotFile big;
  big.kind = SnapshotFile::Kind::too_large;
  big.size = 300000000;
  CHECK(big.problem(FileRole::dataset, "evals/x.jsonl") ==
        "dataset 'evals/x.jsonl' is 300000000 bytes, over the 256 MiB limit for a dataset");
  CHECK(big.hint(FileRole::dataset) == "split it into smaller datasets, or sample the cases you evaluate on");

  const std::string sha = repo.commit("big files");
  const auto git_repo = git::Repository::discover(repo.path());
  const auto committed = commit_snapshot(git_repo, *git::Oid::parse(sha));
  CHECK(describe(committed->fetch("prompts/big.toml", size_limit(FileRole::prompt))) == "too_large 1048593");
  CHECK(committed->fetch("prompts/big.toml", 1048593).content.size() == 1048593);
  CHECK(describe(committed->fetch("prompts/big.toml", 10)) == "too_large 1048593");  // from the cache too
  CHECK(git_repo.blob_size(*git::Oid::parse(test::chomp(repo.git({"rev-parse", "HEAD:evals/big.csv"})))) == 1048579);
}

TEST_CASE("a commit and the index hold links as links: listed apart, never read as files", "[snapshot]") {
  LinkedRepo linked;
  const std::string sha = linked.repo.commit("links");
  const auto git_repo = git::Repository::discover(linked.repo.path());
  const auto committed = commit_snapshot(git_repo, *git::Oid::parse(sha));
  const auto index = index_snapshot(git_repo);
  for (const Snapshot* snapshot : {static_cast<const Snapshot*>(committed.get()), static_cast<const Snapshot*>(index.get())}) {
    INFO(snapshot->label());
    std::vector<SnapshotLink> links;
    CHECK(snapshot->list("prompts", &links) == std::vector<std::string>{"prompts/a.toml", "prompts/sub/b.toml"});
    CHECK(link_lines(links) == std::vector<std::string>{
                                   "prompts/etc -> " + linked.dir(),
                                   "prompts/inner.toml -> a.toml",
                                   "prompts/l1 -> .",
                                   "prompts/l2 -> .",
                                   "prompts/outer.toml -> " + linked.target("secret.toml"),
                                   "prompts/sub/l3 -> .",
                               });
    CHECK(describe(snapshot->fetch("prompts/outer.toml", 1000)) ==
          "link prompts/outer.toml '" + linked.target("secret.toml") + "'");
    CHECK(describe(snapshot->fetch("evals/k.csv", 1000)) == "link evals/k.csv '" + linked.target("key.csv") + "'");
    CHECK(describe(snapshot->fetch("evals/far/key.csv", 1000)) == "link evals/far '" + linked.dir() + "'");
    CHECK(describe(snapshot->fetch("evals/ok.csv", 1000)) == "file 'name\nAnn\n'");
    CHECK(describe(snapshot->fetch("evals/none.csv", 1000)) == "missing");
    CHECK(describe(snapshot->fetch("evals/../../x", 1000)) == "outside");
    CHECK_FALSE(snapshot->exists("evals/k.csv"));
  }
  CHECK(prompt_names(find_prompts(*committed, Config{})) == std::vector<std::string>{"a", "sub/b"});
}

TEST_CASE("a reference to a linked prompt names the link; lint warns about every link under a root",
          "[snapshot][registry]") {
  LinkedRepo linked;
  linked.repo.write("prompts/uses.toml",
                    "template = \"Q: {{question}}\"\n[vars]\nquestion = { required = true }\n[eval]\n"
                    "dataset = \"evals/k.csv\"\n");
  const std::string sha = linked.repo.commit("links");
  const auto git_repo = git::Repository::discover(linked.repo.path());
  const std::string hint =
      " | git promptops reads only regular files inside the repository, as git tracks a link as a link: commit "
      "the file itself in its place";
  CHECK(error_of([&] { resolve_reference(git_repo, Reference::parse("outer")); }) ==
        "prompt file 'prompts/outer.toml' is a symbolic link to '" + linked.target("secret.toml") +
            "', which is not followed (working tree)" + hint);
  CHECK(error_of([&] { resolve_reference(git_repo, Reference::parse("outer@HEAD")); }) ==
        "prompt file 'prompts/outer.toml' is a symbolic link to '" + linked.target("secret.toml") +
            "', which is not followed (" + sha.substr(0, 7) + ")" + hint);
  CHECK(error_of([&] { resolve_reference(git_repo, Reference::parse("etc/secret")); }) ==
        "prompt 'etc/secret' would be under 'prompts/etc', a symbolic link to '" + linked.dir() +
            "', which is not followed (working tree)" + hint);

  std::vector<std::unique_ptr<Snapshot>> snapshots;
  snapshots.push_back(worktree_snapshot(git_repo));
  snapshots.push_back(commit_snapshot(git_repo, *git::Oid::parse(sha)));
  for (const auto& snapshot : snapshots) {
    const std::string text = test::listing(lint(*snapshot));
    INFO(text);
    CHECK(text.find(k_marker) == std::string::npos);
    CHECK(text.find("prompts/uses.toml:4:1: error: dataset 'evals/k.csv' is a symbolic link to '" +
                    linked.target("key.csv") + "', which is not followed [symlink-not-followed]") != std::string::npos);
    for (const char* link : {"prompts/etc", "prompts/inner.toml", "prompts/l1", "prompts/l2", "prompts/outer.toml",
                             "prompts/sub/l3"}) {
      CHECK(text.find(std::string(link) + ": warning: '" + link + "' is a symbolic link to '") != std::string::npos);
    }
  }
}

TEST_CASE("a symlinked or oversized .promptops.toml is an error diagnostic, never read", "[snapshot][config]") {
  TempDir outside;
  std::ofstream(outside.path() / "config.toml") << "prompts = [\"" << k_marker << "\"]\n";
  TempRepo repo;
  fs::create_symlink(outside.path() / "config.toml", repo.path() / ".promptops.toml");
  const auto linked = load_config(*worktree_snapshot(repo.path()));
  CHECK(test::listing(linked.diagnostics) ==
        ".promptops.toml: error: config '.promptops.toml' is a symbolic link to '" +
            (outside.path() / "config.toml").string() +
            "', which is not followed [symlink-not-followed] (git promptops reads only regular files inside the "
            "repository, as git tracks a link as a link: commit the file itself in its place)\n");
  CHECK(linked.config.prompt_roots == std::vector<std::string>{"prompts"});

  fs::remove(repo.path() / ".promptops.toml");
  repo.write(".promptops.toml", "# " + std::string(1 << 20, 'x') + "\n");
  const auto big = load_config(*worktree_snapshot(repo.path()));
  REQUIRE(big.diagnostics.size() == 1);
  CHECK(big.diagnostics[0].code == "file-too-large");
}

// SPDX-License-Identifier: MIT
// Unit tests for the history engine: path_history() must equal `git log --first-parent -- PATH`.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <promptops/git/git.hpp>
#include <promptops/git/history.hpp>

#include "git/commit_graph.hpp"
#include "support/harness.hpp"

namespace {

namespace fs = std::filesystem;
using promptops::git::CommitGraph;
using promptops::git::HistoryOptions;
using promptops::git::HistoryStats;
using promptops::git::Oid;
using promptops::git::PathChange;
using promptops::git::Repository;
using promptops::test::TempDir;
using promptops::test::TempRepo;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream stream(text);
  std::string line;
  while (std::getline(stream, line)) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

std::string git_out(const fs::path& dir, const std::vector<std::string>& args,
                    const std::string& input = {}) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = promptops::test::run(dir, argv, {}, input);
  INFO("git " << args.front() << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

Oid rev_parse(const fs::path& dir, const std::string& rev) {
  const auto lines = lines_of(git_out(dir, {"rev-parse", "--verify", rev + "^{commit}"}));
  REQUIRE(lines.size() == 1);
  return Oid::parse(lines[0]).value();
}

std::vector<std::string> hexes(const std::vector<PathChange>& changes) {
  std::vector<std::string> out;
  for (const auto& change : changes) {
    out.push_back(change.commit.hex());
  }
  return out;
}

std::vector<std::string> git_history(const fs::path& dir, const std::string& path,
                                     const std::string& rev = "HEAD") {
  return lines_of(git_out(dir, {"log", "--first-parent", "--format=%H", rev, "--", path}));
}

// The id at `path` in each commit as git sees it, or 40 zeros where it is missing.
std::vector<std::string> git_ids(const fs::path& dir, const std::vector<std::string>& commits,
                                 std::string path) {
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  if (commits.empty()) {
    return {};
  }
  std::string input;
  for (const auto& commit : commits) {
    input += commit + ":" + (path == "." ? std::string() : path) + "\n";
  }
  std::vector<std::string> out;
  for (const auto& line : lines_of(git_out(dir, {"cat-file", "--batch-check=%(objectname)"}, input))) {
    out.push_back(line.find("missing") != std::string::npos ? std::string(40, '0') : line);
  }
  return out;
}

HistoryOptions read_mode(bool graph, bool bloom, bool cache = false) {
  HistoryOptions options;
  options.use_commit_graph = graph;
  options.use_bloom = bloom;
  options.use_cache = cache;
  return options;
}

// Checks path_history against git with the graph and Bloom on, graph only, and neither; returns
// the stats of the first.
HistoryStats expect_like_git(const fs::path& dir, const std::string& path, const std::string& rev = "HEAD") {
  INFO("path '" << path << "' at " << rev);
  const Repository repo = Repository::discover(dir);
  const auto expected = git_history(dir, path, rev);
  const Oid tip = rev_parse(dir, rev);
  HistoryStats full;
  std::vector<PathChange> changes;
  for (const auto& [graph, bloom] : {std::pair{true, true}, {true, false}, {false, false}}) {
    INFO("graph " << graph << " bloom " << bloom);
    HistoryStats stats;
    changes = promptops::git::path_history(repo, tip, path, read_mode(graph, bloom), &stats);
    CHECK(hexes(changes) == expected);
    CHECK_FALSE(stats.cache_used);
    if (graph && bloom) {
      full = stats;
    }
    if (!graph) {
      CHECK(stats.commits_from_graph == 0);
    }
    if (!bloom) {
      CHECK(stats.bloom_skips == 0);
    }
  }
  std::vector<std::string> ids;
  for (const auto& change : changes) {
    ids.push_back(change.blob.hex());
  }
  CHECK(ids == git_ids(dir, expected, path));
  return full;
}

fs::path objects_info(const fs::path& dir) { return dir / ".git" / "objects" / "info"; }

void remove_graphs(const fs::path& dir) {
  fs::remove(objects_info(dir) / "commit-graph");
  fs::remove_all(objects_info(dir) / "commit-graphs");
}

enum class GraphState { none, plain, bloom };

void write_graph(const fs::path& dir, GraphState state) {
  remove_graphs(dir);
  if (state == GraphState::plain) {
    git_out(dir, {"commit-graph", "write", "--reachable"});
  } else if (state == GraphState::bloom) {
    git_out(dir, {"commit-graph", "write", "--reachable", "--changed-paths"});
  }
}

// Every path in the three graph states, with the stats each state must show.
void check_states(const fs::path& dir, const std::vector<std::string>& paths) {
  for (const GraphState state : {GraphState::none, GraphState::plain, GraphState::bloom}) {
    write_graph(dir, state);
    INFO("graph state " << static_cast<int>(state));
    std::size_t from_graph = 0;
    std::size_t skips = 0;
    for (const auto& path : paths) {
      const HistoryStats stats = expect_like_git(dir, path);
      from_graph += stats.commits_from_graph;
      skips += stats.bloom_skips;
    }
    CHECK((from_graph > 0) == (state != GraphState::none));
    CHECK((skips > 0) == (state == GraphState::bloom));
  }
}

// A split chain: one layer, `extend` adds commits, then a second layer on top of it.
template <class Extend>
void check_split_chain(const fs::path& dir, const std::vector<std::string>& paths, Extend extend) {
  remove_graphs(dir);
  git_out(dir, {"commit-graph", "write", "--reachable", "--split", "--changed-paths"});
  extend();
  git_out(dir, {"commit-graph", "write", "--reachable", "--split=no-merge", "--changed-paths"});
  REQUIRE_FALSE(fs::exists(objects_info(dir) / "commit-graph"));
  const auto graph = CommitGraph::open(dir / ".git" / "objects");
  REQUIRE(graph != nullptr);
  CHECK(graph->layer_count() == 2);
  CHECK(graph->has_bloom());
  std::size_t skips = 0;
  for (const auto& path : paths) {
    INFO("split chain");
    const HistoryStats stats = expect_like_git(dir, path);
    CHECK(stats.commits_from_graph > 0);
    skips += stats.bloom_skips;
  }
  CHECK(skips > 0);
}

void make_executable(const TempRepo& repo, const std::string& path) {
  fs::permissions(repo.path() / path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

std::string checkout_new(TempRepo& repo, const std::string& branch, const std::string& from = "main") {
  return repo.git({"checkout", "-q", "-b", branch, from});
}

void merge(TempRepo& repo, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"merge", "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  repo.git(args);
}

}  // namespace

TEST_CASE("murmur3 matches git's test vectors and signedness differs only above 0x7f", "[history]") {
  using promptops::git::murmur3_seeded;
  CHECK(murmur3_seeded(0, "", false) == 0x00000000u);
  CHECK(murmur3_seeded(0, "Hello world!", false) == 0x627b0c2cu);
  CHECK(murmur3_seeded(0, "The quick brown fox jumps over the lazy dog", false) == 0x2e4ff723u);
  CHECK(murmur3_seeded(0x293ae76f, "prompts/a.toml", true) ==
        murmur3_seeded(0x293ae76f, "prompts/a.toml", false));
  CHECK(murmur3_seeded(0x293ae76f, "\xc3\xa9t\xc3\xa9", true) !=
        murmur3_seeded(0x293ae76f, "\xc3\xa9t\xc3\xa9", false));
}

TEST_CASE("linear history equals git log, including mode changes and empty commits", "[history]") {
  TempRepo repo;
  repo.write("a.txt", "1\n");
  repo.write("other.txt", "x\n");
  repo.commit("c1");
  repo.write("other.txt", "y\n");
  repo.commit("c2");
  repo.write("a.txt", "2\n");
  repo.commit("c3");
  repo.commit("empty");
  make_executable(repo, "a.txt");
  repo.commit("chmod +x");
  repo.write("a.txt", "1\n");
  repo.commit("back to the first content");
  repo.write("other.txt", "z\n");
  repo.commit("c7");

  const std::vector<std::string> paths = {"a.txt", "other.txt", "missing.txt", "."};
  check_states(repo.path(), paths);
  CHECK(git_history(repo.path(), "a.txt").size() == 4);
  check_split_chain(repo.path(), paths, [&] {
    repo.write("a.txt", "3\n");
    repo.commit("c8");
    repo.write("other.txt", "w\n");
    repo.commit("c9");
  });
}

TEST_CASE("merges: side-branch commits never show, merges that change the first parent do", "[history]") {
  TempRepo repo;
  repo.write("p/p.txt", "v1\n");
  repo.write("other.txt", "o1\n");
  repo.commit("start");

  checkout_new(repo, "side1");
  repo.write("p/p.txt", "v2\n");
  repo.commit("side1 a");
  repo.write("p/p.txt", "v3\n");
  repo.commit("side1 b");
  repo.git({"checkout", "-q", "main"});
  repo.write("other.txt", "o2\n");
  repo.commit("main moves on");
  merge(repo, {"--no-ff", "-m", "merge side1 (brings p.txt)", "side1"});

  checkout_new(repo, "side2");
  repo.write("other.txt", "o3\n");
  repo.commit("side2 unrelated");
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"--no-ff", "-m", "merge side2 (no p.txt change)", "side2"});

  checkout_new(repo, "side3");
  repo.write("p/p.txt", "v4\n");
  repo.commit("side3 changes p.txt");
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"-s", "ours", "-m", "merge side3 keeping ours", "side3"});

  checkout_new(repo, "side4");
  repo.write("p/p.txt", "v5\n");
  repo.commit("side4, fast-forwarded");
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"--ff-only", "side4"});

  for (const std::string branch : {"o1", "o2", "o3"}) {
    checkout_new(repo, branch);
    repo.write(branch == "o2" ? "p/p.txt" : branch + ".txt", branch + "\n");
    repo.commit("octopus part " + branch);
  }
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"--no-ff", "-m", "octopus", "o1", "o2", "o3"});
  repo.write("other.txt", "o4\n");
  repo.commit("after the octopus");

  const std::vector<std::string> paths = {"p/p.txt", "p", "o1.txt", "o3.txt", "other.txt", "nope"};
  const auto history = git_history(repo.path(), "p/p.txt");
  CHECK(history.size() == 4);  // start, merge side1, side4, octopus
  check_states(repo.path(), paths);

  // The octopus needs the EDGE chunk.
  write_graph(repo.path(), GraphState::plain);
  const auto graph = CommitGraph::open(repo.path() / ".git" / "objects");
  REQUIRE(graph != nullptr);
  const auto octopus = graph->find(rev_parse(repo.path(), "HEAD~1"));
  REQUIRE(octopus.has_value());
  const auto parents = graph->parents(*octopus);
  REQUIRE(parents.has_value());
  REQUIRE(parents->size() == 4);
  CHECK(graph->id_at((*parents)[3]) == rev_parse(repo.path(), "o3"));
  CHECK(graph->commit_time(*octopus) > 1700000000);

  check_split_chain(repo.path(), paths, [&] {
    checkout_new(repo, "side5");
    repo.write("p/p.txt", "v7\n");
    repo.commit("side5");
    repo.git({"checkout", "-q", "main"});
    merge(repo, {"--no-ff", "-m", "merge side5", "side5"});
    repo.write("other.txt", "o5\n");
    repo.commit("tail");
  });
}

TEST_CASE("a deleted and re-added file shows the deletion with a zero blob", "[history]") {
  TempRepo repo;
  repo.write("a.txt", "one\n");
  repo.commit("add");
  repo.write("a.txt", "two\n");
  repo.commit("modify");
  repo.remove("a.txt");
  repo.write("b.txt", "b\n");
  const std::string deleted = repo.commit("delete");
  repo.write("b.txt", "bb\n");
  repo.commit("unrelated");
  repo.write("a.txt", "two\n");
  repo.commit("re-add with the old content");
  repo.write("a.txt", "three\n");
  repo.commit("modify again");

  check_states(repo.path(), {"a.txt", "b.txt"});
  const Repository r = Repository::discover(repo.path());
  const auto changes =
      promptops::git::path_history(r, rev_parse(repo.path(), "HEAD"), "a.txt", read_mode(true, true));
  REQUIRE(changes.size() == 5);
  CHECK(changes[2].commit.hex() == deleted);
  CHECK(changes[2].deleted());
  CHECK_FALSE(changes[1].deleted());
  CHECK(changes[1].blob == changes[3].blob);  // same content, same blob
  check_split_chain(repo.path(), {"a.txt", "b.txt"}, [&] {
    repo.remove("a.txt");
    repo.commit("delete again");
    repo.write("b.txt", "bbb\n");
    repo.commit("b");
  });
}

TEST_CASE("a rename ends the old path's history with the deleting commit", "[history]") {
  TempRepo repo;
  repo.write("old.txt", "content\n");
  repo.write("x.txt", "x\n");
  repo.commit("add");
  repo.write("old.txt", "content 2\n");
  repo.commit("modify");
  repo.git({"mv", "old.txt", "new.txt"});
  const std::string renamed = repo.commit("rename");
  repo.write("new.txt", "content 3\n");
  repo.commit("modify new");
  repo.write("x.txt", "xx\n");
  repo.commit("unrelated");

  check_states(repo.path(), {"old.txt", "new.txt", "x.txt"});
  const auto old_history = git_history(repo.path(), "old.txt");
  REQUIRE(old_history.size() == 3);
  CHECK(old_history.front() == renamed);
  CHECK(git_history(repo.path(), "new.txt").back() == renamed);
  check_split_chain(repo.path(), {"old.txt", "new.txt"}, [&] {
    repo.git({"mv", "new.txt", "old.txt"});
    repo.commit("rename back");
    repo.write("x.txt", "xxx\n");
    repo.commit("unrelated 2");
  });
}

TEST_CASE("nested paths and directories follow subtree changes exactly", "[history]") {
  TempRepo repo;
  repo.write("deep/a/b/c/file.txt", "f1\n");
  repo.write("deep/a/b/other.txt", "o1\n");
  repo.write("deep/a/x.txt", "x1\n");
  repo.write("deep/top.txt", "t1\n");
  repo.write("z.txt", "z1\n");
  repo.commit("start");
  repo.write("deep/a/b/other.txt", "o2\n");
  repo.commit("sibling changes, file does not");
  repo.write("deep/a/b/c/file.txt", "f2\n");
  repo.commit("file changes");
  repo.write("deep/a/x.txt", "x2\n");
  repo.commit("uncle changes");
  repo.write("z.txt", "z2\n");
  repo.commit("outside changes");
  repo.write("deep/a/b/c/file.txt", "f1\n");
  repo.write("deep/a/b/other.txt", "o1\n");
  repo.commit("back to the first subtree (A-B-A for the memo)");
  repo.write("deep/a/b/c/sibling.txt", "s\n");
  repo.commit("a sibling in the same directory");
  repo.remove("deep/a/b/c/file.txt");
  repo.remove("deep/a/b/c/sibling.txt");
  repo.commit("directory c disappears");
  repo.write("deep/a/b/c/file.txt", "f3\n");
  repo.commit("and comes back");

  const std::vector<std::string> paths = {
      "deep/a/b/c/file.txt", "deep/a/b/c", "deep/a/b/c/", "deep/a/b", "deep", "deep/a/x.txt", "z.txt"};
  check_states(repo.path(), paths);
  check_split_chain(repo.path(), paths, [&] {
    repo.write("deep/a/b/c/file.txt", "f4\n");
    repo.commit("more");
    repo.write("z.txt", "z3\n");
    repo.commit("more outside");
  });
}

TEST_CASE("a path that switches between file, directory and symlink", "[history]") {
  TempRepo repo;
  repo.write("prompts/a.toml", "a1\n");
  repo.write("prompts/b.toml", "b1\n");
  repo.write("x", "file\n");
  repo.write("t", "prompts");
  repo.commit("start");
  repo.write("prompts/b.toml", "b2\n");
  repo.commit("b changes");
  repo.remove("x");
  repo.write("x/y", "now a directory\n");
  repo.commit("x becomes a directory");
  repo.write("x/y", "y2\n");
  repo.commit("x/y changes");
  fs::remove_all(repo.path() / "x");
  repo.write("x", "file\n");
  repo.commit("x is a file again, same content as before");
  repo.remove("t");
  fs::create_symlink("prompts", repo.path() / "t");
  repo.commit("t becomes a symlink with the same blob");
  repo.write("prompts/c/d.toml", "d\n");
  repo.commit("a nested prompt");

  check_states(repo.path(), {"prompts", "prompts/", "x", "x/y", "t", "prompts/c"});
  check_split_chain(repo.path(), {"prompts", "x"}, [&] {
    repo.write("prompts/a.toml", "a2\n");
    repo.commit("a changes");
    repo.write("z", "z\n");
    repo.commit("unrelated");
  });
}

TEST_CASE("a merge of an unrelated history", "[history]") {
  TempRepo repo;
  repo.write("p.txt", "main1\n");
  repo.commit("main root");
  repo.write("p.txt", "main2\n");
  repo.commit("main 2");
  repo.git({"checkout", "-q", "--orphan", "other"});
  repo.git({"rm", "-q", "-rf", "."});
  repo.write("q.txt", "other1\n");
  repo.write("r/p.txt", "other p\n");
  repo.commit("other root");
  repo.write("q.txt", "other2\n");
  repo.commit("other 2");
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"--allow-unrelated-histories", "-m", "merge unrelated", "other"});
  repo.write("p.txt", "main3\n");
  repo.commit("main 3");

  const std::vector<std::string> paths = {"p.txt", "q.txt", "r", "r/p.txt"};
  check_states(repo.path(), paths);
  CHECK(git_history(repo.path(), "q.txt").size() == 1);
  check_split_chain(repo.path(), paths, [&] {
    repo.write("q.txt", "main q\n");
    repo.commit("q on main");
    repo.write("p.txt", "main4\n");
    repo.commit("p on main");
  });
}

TEST_CASE("non-ASCII paths hash like git's version-1 Bloom filters", "[history]") {
  TempRepo repo;
  const std::string accented = "prompts/\xc3\xa9t\xc3\xa9/r\xc3\xa9sum\xc3\xa9.toml";
  for (int i = 0; i < 12; ++i) {
    repo.write("noise/n" + std::to_string(i % 4) + ".txt", std::to_string(i) + "\n");
    if (i % 3 == 0) {
      repo.write(accented, "v" + std::to_string(i) + "\n");
    }
    if (i % 5 == 0) {
      repo.write("\xce\xb6.txt", "z" + std::to_string(i) + "\n");
    }
    repo.commit("c" + std::to_string(i));
  }
  check_states(repo.path(), {accented, "prompts/\xc3\xa9t\xc3\xa9", "\xce\xb6.txt"});
}

TEST_CASE("a commit with more than 512 changes has a too-large filter and still counts", "[history]") {
  TempRepo repo;
  repo.write("a.txt", "a\n");
  repo.commit("start");
  for (int i = 0; i < 600; ++i) {
    repo.write("big/f" + std::to_string(i) + ".txt", std::to_string(i) + "\n");
  }
  repo.write("a.txt", "changed with the crowd\n");
  repo.commit("600 files at once");
  repo.write("b.txt", "b\n");
  repo.commit("small");
  check_states(repo.path(), {"a.txt", "big/f7.txt", "big", "b.txt"});
}

TEST_CASE("shallow clones end at the boundary, even with a full commit-graph copied in", "[history]") {
  TempRepo full;
  for (int i = 0; i < 6; ++i) {
    full.write("a.txt", "a" + std::to_string(i % 2 == 0 ? i : 0) + "\n");
    full.write("b.txt", "b" + std::to_string(i) + "\n");
    full.commit("c" + std::to_string(i));
  }
  TempDir dir;
  const fs::path clone = dir.path() / "shallow";
  git_out(dir.path(), {"clone", "-q", "--depth", "3", "file://" + full.path().string(), clone.string()});
  REQUIRE(fs::exists(clone / ".git" / "shallow"));
  for (const std::string path : {"a.txt", "b.txt", "missing"}) {
    expect_like_git(clone, path);
  }
  const Repository repo = Repository::discover(clone);
  CHECK(promptops::git::first_parent_chain(repo, rev_parse(clone, "HEAD")).size() == 3);

  // A graph from before the repository became shallow still knows the real parents.
  write_graph(full.path(), GraphState::bloom);
  fs::copy_file(objects_info(full.path()) / "commit-graph", objects_info(clone) / "commit-graph");
  const auto expected = git_history(clone, "a.txt");
  HistoryStats stats;
  const auto changes = promptops::git::path_history(Repository::discover(clone), rev_parse(clone, "HEAD"),
                                                    "a.txt", read_mode(true, true), &stats);
  CHECK(hexes(changes) == expected);
  CHECK(stats.commits_from_graph > 0);
  CHECK(promptops::git::first_parent_chain(repo, rev_parse(clone, "HEAD")).size() == 3);
}

TEST_CASE("first_parent_chain lists the chain newest first and stops before `stop`", "[history]") {
  TempRepo repo;
  for (int i = 0; i < 4; ++i) {
    repo.write("a.txt", std::to_string(i));
    repo.commit("c" + std::to_string(i));
  }
  checkout_new(repo, "side", "HEAD~1");
  repo.write("s.txt", "s");
  repo.commit("side");
  repo.git({"checkout", "-q", "main"});
  merge(repo, {"--no-ff", "-m", "merge", "side"});
  for (const GraphState state : {GraphState::none, GraphState::plain}) {
    write_graph(repo.path(), state);
    const Repository r = Repository::discover(repo.path());
    std::vector<std::string> chain;
    for (const Oid& id : promptops::git::first_parent_chain(r, rev_parse(repo.path(), "HEAD"))) {
      chain.push_back(id.hex());
    }
    CHECK(chain == lines_of(git_out(repo.path(), {"rev-list", "--first-parent", "HEAD"})));
    const auto stopped = promptops::git::first_parent_chain(r, rev_parse(repo.path(), "HEAD"),
                                                            rev_parse(repo.path(), "HEAD~2"));
    REQUIRE(stopped.size() == 2);
    CHECK(stopped[1] == rev_parse(repo.path(), "HEAD~1"));
    CHECK(
        promptops::git::first_parent_chain(r, rev_parse(repo.path(), "HEAD"), rev_parse(repo.path(), "HEAD"))
            .empty());
  }
}

TEST_CASE("the persistent cache: reuse, new commits, rewritten branches, corrupt files", "[history]") {
  TempRepo repo;
  for (int i = 0; i < 10; ++i) {
    repo.write("noise.txt", std::to_string(i));
    if (i % 3 == 0) {
      repo.write("prompts/a.toml", "v" + std::to_string(i));
    }
    repo.commit("c" + std::to_string(i));
  }
  const auto cached_history = [&](HistoryStats& stats) {
    const Repository r = Repository::discover(repo.path());
    return hexes(promptops::git::path_history(r, rev_parse(repo.path(), "HEAD"), "prompts/a.toml",
                                              read_mode(true, true, true), &stats));
  };
  const fs::path cache_dir = repo.path() / ".git" / "promptops" / "history";

  const GraphState state = GENERATE(GraphState::none, GraphState::bloom);
  {
    INFO("graph state " << static_cast<int>(state));
    write_graph(repo.path(), state);
    fs::remove_all(cache_dir);

    HistoryStats first;
    CHECK(cached_history(first) == git_history(repo.path(), "prompts/a.toml"));
    CHECK_FALSE(first.cache_used);
    REQUIRE(fs::is_directory(cache_dir));
    REQUIRE(std::distance(fs::directory_iterator(cache_dir), fs::directory_iterator()) == 1);

    SECTION("the same tip again walks nothing") {
      HistoryStats second;
      CHECK(cached_history(second) == git_history(repo.path(), "prompts/a.toml"));
      CHECK(second.cache_used);
      CHECK(second.commits_visited == 0);
      CHECK(second.trees_read == 0);
    }

    SECTION("N new commits walk exactly N commits") {
      for (int i = 0; i < 5; ++i) {
        repo.write("noise.txt", "new " + std::to_string(i));
        if (i == 0 || i == 3) {
          repo.write("prompts/a.toml", "new " + std::to_string(i));
        }
        repo.commit("new " + std::to_string(i));
      }
      HistoryStats stats;
      CHECK(cached_history(stats) == git_history(repo.path(), "prompts/a.toml"));
      CHECK(stats.cache_used);
      CHECK(stats.cache_new_commits == 5);
      CHECK(stats.commits_visited == 5);

      SECTION("the commit just above the cached tip changes the path") {
        repo.write("prompts/a.toml", "right above");
        repo.commit("above");
        HistoryStats above;
        const auto got = cached_history(above);
        CHECK(got == git_history(repo.path(), "prompts/a.toml"));
        CHECK(above.cache_new_commits == 1);
        CHECK(got.front() == rev_parse(repo.path(), "HEAD").hex());
      }
      SECTION("the commit just above the cached tip does not") {
        repo.write("noise.txt", "quiet");
        repo.commit("quiet");
        HistoryStats above;
        CHECK(cached_history(above) == git_history(repo.path(), "prompts/a.toml"));
        CHECK(above.cache_new_commits == 1);
      }
    }

    SECTION("a rewritten branch recomputes") {
      HistoryStats warm;
      cached_history(warm);
      repo.git({"reset", "-q", "--hard", "HEAD~2"});
      repo.write("prompts/a.toml", "rewritten");
      repo.commit("rewrite 1");
      repo.write("noise.txt", "rewritten");
      repo.commit("rewrite 2");
      HistoryStats stats;
      CHECK(cached_history(stats) == git_history(repo.path(), "prompts/a.toml"));
      CHECK_FALSE(stats.cache_used);
      HistoryStats again;
      CHECK(cached_history(again) == git_history(repo.path(), "prompts/a.toml"));
      CHECK(again.cache_used);
    }

    SECTION("another branch keeps its own cached tip") {
      const Oid main_tip = rev_parse(repo.path(), "HEAD");
      checkout_new(repo, "feature", "HEAD~3");
      repo.write("prompts/a.toml", "feature");
      repo.commit("feature");
      HistoryStats feature;
      CHECK(cached_history(feature) == git_history(repo.path(), "prompts/a.toml"));
      CHECK_FALSE(feature.cache_used);
      HistoryStats back;
      const Repository r = Repository::discover(repo.path());
      CHECK(hexes(promptops::git::path_history(r, main_tip, "prompts/a.toml", read_mode(true, true, true),
                                               &back)) == git_history(repo.path(), "prompts/a.toml", "main"));
      CHECK(back.cache_used);
      CHECK(back.commits_visited == 0);
    }

    SECTION("corrupt or foreign cache files are ignored") {
      const fs::path file = fs::directory_iterator(cache_dir)->path();
      const std::string good = repo.read(fs::relative(file, repo.path()).string());
      std::vector<std::string> bad = {"", "garbage", good.substr(0, good.size() / 2),
                                      good.substr(0, good.size() - 1)};
      std::string flipped = good;
      flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
      bad.push_back(flipped);
      for (const std::string& content : bad) {
        {
          std::ofstream out(file, std::ios::binary | std::ios::trunc);
          out << content;
        }
        HistoryStats stats;
        CHECK(cached_history(stats) == git_history(repo.path(), "prompts/a.toml"));
        CHECK_FALSE(stats.cache_used);
      }
      fs::remove(file);
      fs::create_directories(file);  // unreadable as a file
      HistoryStats stats;
      CHECK(cached_history(stats) == git_history(repo.path(), "prompts/a.toml"));
      CHECK_FALSE(stats.cache_used);
      fs::remove_all(file);
    }
  }
}

TEST_CASE("malformed commit-graph files are ignored; unknown Bloom versions disable Bloom", "[history]") {
  TempRepo repo;
  for (int i = 0; i < 8; ++i) {
    repo.write("noise.txt", std::to_string(i));
    if (i % 3 == 0) {
      repo.write("a.txt", std::to_string(i));
    }
    repo.commit("c" + std::to_string(i));
  }
  const fs::path graph_file = objects_info(repo.path()) / "commit-graph";
  const auto patch = [&](const std::function<void(std::string&)>& edit) {
    write_graph(repo.path(), GraphState::bloom);
    std::string data = repo.read(fs::relative(graph_file, repo.path()).string());
    edit(data);
    fs::permissions(graph_file, fs::perms::owner_write, fs::perm_options::add);
    std::ofstream out(graph_file, std::ios::binary | std::ios::trunc);
    out << data;
  };
  // Offset of a chunk's data, from the chunk table.
  const auto chunk_offset = [](const std::string& data, const char* id) -> std::size_t {
    const std::size_t chunks = static_cast<unsigned char>(data[6]);
    for (std::size_t i = 0; i < chunks; ++i) {
      if (data.compare(8 + 12 * i, 4, id) == 0) {
        std::size_t offset = 0;
        for (std::size_t b = 0; b < 8; ++b) {
          offset = (offset << 8) | static_cast<unsigned char>(data[8 + 12 * i + 4 + b]);
        }
        return offset;
      }
    }
    FAIL("no chunk " << id);
    return 0;
  };
  const fs::path objects = repo.path() / ".git" / "objects";

  SECTION("truncated") {
    patch([](std::string& data) { data.resize(data.size() / 2); });
    CHECK(CommitGraph::open(objects) == nullptr);
  }
  SECTION("a chunk offset past the end") {
    patch([](std::string& data) { data[8 + 12 + 4] = '\x7f'; });
    CHECK(CommitGraph::open(objects) == nullptr);
  }
  SECTION("a wrong magic") {
    patch([](std::string& data) { data[0] = 'X'; });
    CHECK(CommitGraph::open(objects) == nullptr);
  }
  SECTION("Bloom version 3 is unknown: no Bloom, graph still used") {
    patch([&](std::string& data) { data[chunk_offset(data, "BDAT") + 3] = 3; });
    const auto graph = CommitGraph::open(objects);
    REQUIRE(graph != nullptr);
    CHECK_FALSE(graph->has_bloom());
    const HistoryStats stats = expect_like_git(repo.path(), "a.txt");
    CHECK(stats.bloom_skips == 0);
    CHECK(stats.commits_from_graph > 0);
  }
  SECTION("Bloom version 2 hashes ASCII paths the same way") {
    patch([&](std::string& data) { data[chunk_offset(data, "BDAT") + 3] = 2; });
    const HistoryStats stats = expect_like_git(repo.path(), "a.txt");
    CHECK(stats.bloom_skips > 0);
  }
  SECTION("a chain naming a missing layer") {
    remove_graphs(repo.path());
    git_out(repo.path(), {"commit-graph", "write", "--reachable", "--split", "--changed-paths"});
    std::ofstream(objects_info(repo.path()) / "commit-graphs" / "commit-graph-chain", std::ios::app)
        << std::string(40, 'a') << "\n";
    CHECK(CommitGraph::open(objects) == nullptr);
  }
  expect_like_git(repo.path(), "a.txt");
  expect_like_git(repo.path(), "noise.txt");
}

namespace {

// Builds a random history with git fast-import: merges, octopus merges, fast-forwards, deletions,
// mode changes, a path that switches between file and directory, and unrelated noise.
class RandomHistory {
 public:
  explicit RandomHistory(unsigned seed) : m_rng(seed) {}

  std::string build(int commits) {
    State main;
    set(main, "a.txt", random_content());
    set(main, "p/a.txt", random_content());
    std::string changes = emit_all(main);
    int main_mark = commit("refs/heads/main", 0, {}, changes);
    int made = 1;
    while (made < commits) {
      const unsigned roll = next(100);
      if (roll < 12 && made + 6 < commits) {
        // One or two side branches forked here, merged (or fast-forwarded) back.
        const int sides = next(100) < 25 ? 2 : 1;
        std::vector<int> tips;
        std::vector<State> states;
        for (int s = 0; s < sides; ++s) {
          State side = main;
          int tip = main_mark;
          const int length = 1 + static_cast<int>(next(3));
          for (int k = 0; k < length; ++k) {
            std::string side_changes = mutate(side);
            tip = commit("refs/heads/side", k == 0 ? tip : 0, {}, side_changes);
            ++made;
          }
          tips.push_back(tip);
          states.push_back(side);
        }
        if (sides == 1 && next(100) < 30) {
          m_stream += "reset refs/heads/main\nfrom :" + std::to_string(tips[0]) + "\n\n";
          main = states[0];
          main_mark = tips[0];
          continue;
        }
        // The merge result takes each path group from main or from one side, at random.
        State merged = main;
        for (const auto& group : groups()) {
          const unsigned pick = next(static_cast<unsigned>(states.size()) + 1);
          if (pick > 0) {
            for (const auto& path : group) {
              copy_path(merged, states[pick - 1], path);
            }
          }
        }
        std::string merge_changes = diff(main, merged);
        main = merged;
        main_mark = commit("refs/heads/main", 0, tips, merge_changes);
        ++made;
        continue;
      }
      std::string main_changes = mutate(main);
      main_mark = commit("refs/heads/main", 0, {}, main_changes);
      ++made;
    }
    return m_stream + "done\n";
  }

  static std::vector<std::string> paths() {
    return {"a.txt", "p/a.txt", "p/q/b.txt", "p/q", "p", "r/x", "r/x/y", "s/t/u/v.txt", "s", "zz"};
  }

 private:
  struct File {
    std::string mode;
    std::string content;
    bool operator==(const File&) const = default;
  };
  using State = std::map<std::string, File>;

  static const std::vector<std::string>& files() {
    static const std::vector<std::string> list = {"a.txt",      "p/a.txt",   "p/q/b.txt",   "p/q/c.txt",
                                                  "r/x",        "r/x/y",     "s/t/u/v.txt", "noise1.txt",
                                                  "noise2.txt", "noise3.txt"};
    return list;
  }
  static std::vector<std::vector<std::string>> groups() {
    std::vector<std::vector<std::string>> out;
    for (const auto& file : files()) {
      if (file == "r/x/y") {
        continue;
      }
      out.push_back(file == "r/x" ? std::vector<std::string>{"r/x", "r/x/y"}
                                  : std::vector<std::string>{file});
    }
    return out;
  }

  unsigned next(unsigned bound) { return static_cast<unsigned>(m_rng() % bound); }
  std::string random_content() { return "content " + std::to_string(next(4)) + "\n"; }

  static std::string modify_line(const std::string& path, const File& file) {
    return "M " + file.mode + " inline " + path + "\ndata " + std::to_string(file.content.size()) + "\n" +
           file.content + "\n";
  }

  void set(State& state, const std::string& path, const std::string& content) {
    // r/x (a file) and r/x/y (a file in directory r/x) exclude each other.
    if (path == "r/x") {
      state.erase("r/x/y");
    } else if (path == "r/x/y") {
      state.erase("r/x");
    }
    auto it = state.find(path);
    const std::string mode = it != state.end() ? it->second.mode : "100644";
    state[path] = File{mode, content};
  }

  static void copy_path(State& to, const State& from, const std::string& path) {
    const auto it = from.find(path);
    if (it == from.end()) {
      to.erase(path);
    } else {
      to[path] = it->second;
    }
  }

  // fast-import commands that turn `before` into `after`; deletions first so that r/x and r/x/y
  // never collide.
  static std::string diff(const State& before, const State& after) {
    std::string out;
    for (const auto& [path, file] : before) {
      if (after.find(path) == after.end()) {
        out += "D " + path + "\n";
      }
    }
    for (const auto& [path, file] : after) {
      const auto it = before.find(path);
      if (it == before.end() || !(it->second == file)) {
        if ((path == "r/x" && before.count("r/x/y") != 0 && after.count("r/x/y") == 0) ||
            (path == "r/x/y" && before.count("r/x") != 0)) {
          out += "D r/x\n";
        }
        out += modify_line(path, file);
      }
    }
    return out;
  }

  static std::string emit_all(const State& state) { return diff(State{}, state); }

  std::string mutate(State& state) {
    const State before = state;
    const int operations = 1 + static_cast<int>(next(3));
    for (int i = 0; i < operations; ++i) {
      const std::string& path = files()[next(static_cast<unsigned>(files().size()))];
      const unsigned kind = next(10);
      if (kind < 6 || path.rfind("noise", 0) == 0) {
        set(state, path, random_content());
      } else if (kind < 8) {
        state.erase(path);
      } else if (state.count(path) != 0) {
        auto& mode = state[path].mode;
        mode = mode == "100644" ? "100755" : "100644";
      }
    }
    return diff(before, state);
  }

  int commit(const std::string& ref, int from, const std::vector<int>& merges, const std::string& changes) {
    const int mark = ++m_mark;
    const std::string when = std::to_string(1700000000 + mark * 60) + " +0000";
    m_stream += "commit " + ref + "\nmark :" + std::to_string(mark) + "\n";
    m_stream += "author A <a@example.com> " + when + "\ncommitter A <a@example.com> " + when + "\n";
    m_stream += "data 2\nc\n";
    if (from != 0) {
      m_stream += "from :" + std::to_string(from) + "\n";
    }
    for (const int merge_mark : merges) {
      m_stream += "merge :" + std::to_string(merge_mark) + "\n";
    }
    m_stream += changes + "\n";
    return mark;
  }

  std::mt19937 m_rng;
  std::string m_stream;
  int m_mark = 0;
};

}  // namespace

TEST_CASE("a random 300-commit history with merges matches git in every graph state", "[history]") {
  TempRepo repo;
  RandomHistory history(20240611);
  const auto r =
      promptops::test::run(repo.path(), {"git", "fast-import", "--quiet", "--done"}, {}, history.build(300));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto count = lines_of(git_out(repo.path(), {"rev-list", "--count", "main"}));
  CHECK(std::stoi(count.at(0)) >= 250);
  CHECK(lines_of(git_out(repo.path(), {"rev-list", "--merges", "main"})).size() > 10);
  check_states(repo.path(), RandomHistory::paths());

  // The cache walking from older tips to newer ones agrees with git at every step.
  write_graph(repo.path(), GraphState::bloom);
  for (const std::string path : {"p/a.txt", "r/x", "p"}) {
    for (const std::string rev : {"main~120", "main~40", "main~39", "main", "main~10"}) {
      INFO(path << " at " << rev);
      HistoryStats stats;
      const auto changes =
          promptops::git::path_history(Repository::discover(repo.path()), rev_parse(repo.path(), rev), path,
                                       read_mode(true, true, true), &stats);
      CHECK(hexes(changes) == git_history(repo.path(), path, rev));
      if (rev == "main~39") {
        CHECK(stats.cache_used);
        CHECK(stats.cache_new_commits == 1);
      }
    }
  }
}

// SPDX-License-Identifier: MIT
// End-to-end: links and limits. Tracked symlinks (out of the repository, to devices, in loops),
// dataset paths that climb out, special files and oversized files, in the working tree and read
// from a commit: nothing outside the repository is read, shown or sent, and every command ends.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
namespace fs = std::filesystem;

namespace {

const char* const k_marker = "MARKER-5d1c-private";
const char* const k_link_hint =
    "hint: git promptops reads only regular files inside the repository, as git tracks a link as a link: commit "
    "the file itself in its place\n";

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Every file under `dir` whose bytes contain `needle` (links are not followed), relative to `dir`.
std::vector<std::string> files_containing(const fs::path& dir, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && contains(read_text(it->path()), needle)) {
      found.push_back(fs::relative(it->path(), dir).string());
    }
  }
  return found;
}

// Runs the binary in the background and waits at most `seconds`: an old build that loops or reads
// forever is killed (exit 137) instead of hanging the suite.
RunResult run_bounded(const fs::path& cwd, const std::vector<std::string>& args, int seconds = 20) {
  BackgroundRun run(cwd, args);
  return run.wait(std::chrono::seconds(seconds));
}

// prompts/ask.toml: one required variable `question`, [eval] on line 5 naming `dataset`.
std::string ask_toml(const std::string& dataset) {
  return "description = \"ask\"\n"
         "template = \"Q: {{question}}\"\n"
         "[vars]\n"
         "question = { required = true }\n"
         "[eval]\n"
         "dataset = \"" +
         dataset + "\"\n";
}

// A project whose provider is a loopback server, with prompts/ask.toml on `dataset`.
struct AskProject {
  LlmServer server;
  TempDir outside;
  TempRepo repo;

  explicit AskProject(const std::string& dataset) {
    std::ofstream(outside.path() / "id_key") << "question\n" << k_marker << "\n";
    repo.write(".promptops.toml", config_toml(server));
    repo.write("prompts/ask.toml", ask_toml(dataset));
  }

  const fs::path& path() const { return repo.path(); }
  std::string secret() const { return (outside.path() / "id_key").string(); }

  // Nothing with the marker reached the server or any file of the repository (cache, notes,
  // results): the secret file itself is the only one that holds it.
  void check_nothing_left() const {
    CHECK(server.requests() == 0);
    CHECK(files_containing(repo.path(), k_marker).empty());
  }
};

// A repository whose prompt root holds two real prompts, a directory link and a file link out of
// the repository, and three loops (prompts/lN -> .), all committed.
struct LinkedRoot {
  TempDir outside;
  TempRepo repo;
  std::string head;

  LinkedRoot() {
    std::ofstream(outside.path() / "secret.toml") << "description = \"" << k_marker << "\"\ntemplate = \"x\"\n";
    repo.write("prompts/a.toml", "description = \"first\"\ntemplate = \"A {{x}}\"\n[vars]\nx = {}\n");
    repo.write("prompts/sub/b.toml", "description = \"second\"\ntemplate = \"B\"\n");
    fs::create_symlink(outside.path(), repo.path() / "prompts/etc");
    fs::create_symlink(outside.path() / "secret.toml", repo.path() / "prompts/outer.toml");
    for (const char* loop : {"prompts/l1", "prompts/l2", "prompts/l3"}) {
      fs::create_symlink(".", repo.path() / loop);
    }
    head = repo.commit("prompts and links");
  }

  const fs::path& path() const { return repo.path(); }
  std::string dir() const { return outside.path().string(); }
  std::string secret() const { return (outside.path() / "secret.toml").string(); }
};

const char* const k_real_prompts =
    "NAME   MODEL  VARIABLES  DESCRIPTION\n"
    "a             x          first\n"
    "sub/b                    second\n";

}  // namespace

// --- datasets -------------------------------------------------------------------------------------

TEST_CASE("a tracked dataset link out of the repository is never read, shown or sent", "[e2e][links]") {
  AskProject p("evals/k.csv");
  fs::create_directories(p.path() / "evals");
  fs::create_symlink(p.secret(), p.path() / "evals/k.csv");
  const std::string head = p.repo.commit("a dataset that is a link");
  const std::string refused = "dataset 'evals/k.csv' is a symbolic link to '" + p.secret() + "', which is not followed";

  const RunResult lint = run_bounded(p.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out == "prompts/ask.toml:5:1: error: " + refused + " [symlink-not-followed]\n  " + k_link_hint +
                        "1 error, 0 warnings\n");

  const RunResult worktree = run_bounded(p.path(), {"eval"});
  CHECK(worktree.exit_code == 2);
  CHECK(worktree.out.empty());
  CHECK(worktree.err == "git-promptops: error: prompts/ask.toml:5:1: " + refused + " (working tree)\n" + k_link_hint);

  const RunResult at_head = run_bounded(p.path(), {"eval", "HEAD"});
  CHECK(at_head.exit_code == 2);
  CHECK(at_head.out.empty());
  CHECK(at_head.err ==
        "git-promptops: error: prompts/ask.toml:5:1: " + refused + " (" + short_sha(head) + ")\n" + k_link_hint);

  const RunResult lint_head = run_bounded(p.path(), {"lint", "--at", "HEAD"});
  CHECK(lint_head.exit_code == 1);
  CHECK(lint_head.out == lint.out);

  for (const RunResult* r : {&lint, &worktree, &at_head, &lint_head}) {
    CHECK_FALSE(contains(r->out + r->err, k_marker));
  }
  p.check_nothing_left();
}

TEST_CASE("a dataset under a directory link is refused and names the link", "[e2e][links]") {
  AskProject p("evals/far/id_key");
  fs::create_directories(p.path() / "evals");
  fs::create_symlink(p.outside.path(), p.path() / "evals/far");
  const std::string head = p.repo.commit("a dataset directory that is a link");
  const std::string refused = "dataset 'evals/far/id_key' is under 'evals/far', a symbolic link to '" +
                              p.outside.path().string() + "', which is not followed";
  for (const std::string& at : {std::string(), std::string("HEAD")}) {
    const RunResult r = run_bounded(p.path(), at.empty() ? std::vector<std::string>{"eval"}
                                                           : std::vector<std::string>{"eval", at});
    CHECK(r.exit_code == 2);
    CHECK(r.err == "git-promptops: error: prompts/ask.toml:5:1: " + refused + " (" +
                       (at.empty() ? std::string("working tree") : short_sha(head)) + ")\n" + k_link_hint);
  }
  p.check_nothing_left();
}

TEST_CASE("a dataset link to /dev/zero and a fifo dataset end lint and eval at once", "[e2e][links][limits]") {
  AskProject p("evals/zero.jsonl");
  fs::create_directories(p.path() / "evals");
  fs::create_symlink("/dev/zero", p.path() / "evals/zero.jsonl");
  p.repo.commit("a dataset that is /dev/zero");
  const std::string zero = "dataset 'evals/zero.jsonl' is a symbolic link to '/dev/zero', which is not followed";

  const auto started = std::chrono::steady_clock::now();
  const RunResult lint = run_bounded(p.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out == "prompts/ask.toml:5:1: error: " + zero + " [symlink-not-followed]\n  " + k_link_hint +
                        "1 error, 0 warnings\n");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"eval"}, std::vector<std::string>{"eval", "HEAD"}}) {
    const RunResult eval = run_bounded(p.path(), args);
    CHECK(eval.exit_code == 2);
    CHECK(contains(eval.err, "git-promptops: error: prompts/ask.toml:5:1: " + zero));
  }

  SECTION("a fifo in the working tree is not opened") {
    p.repo.write("prompts/ask.toml", ask_toml("evals/pipe.jsonl"));
    REQUIRE(::mkfifo((p.path() / "evals/pipe.jsonl").c_str(), 0600) == 0);
    const RunResult fifo_lint = run_bounded(p.path(), {"lint"});
    CHECK(fifo_lint.exit_code == 1);
    CHECK(fifo_lint.out ==
          "prompts/ask.toml:5:1: error: dataset 'evals/pipe.jsonl' is not a regular file (a fifo, device or socket) "
          "[not-a-regular-file]\n  " +
              std::string(k_link_hint) + "1 error, 0 warnings\n");
    const RunResult fifo_eval = run_bounded(p.path(), {"eval"});
    CHECK(fifo_eval.exit_code == 2);
    CHECK(fifo_eval.err ==
          "git-promptops: error: prompts/ask.toml:5:1: dataset 'evals/pipe.jsonl' is not a regular file (a fifo, "
          "device or socket) (working tree)\n" +
              std::string(k_link_hint));
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(p.server.requests() == 0);
}

TEST_CASE("a dataset over 256 MiB is refused from its size, without reading it", "[e2e][limits]") {
  AskProject p("evals/big.jsonl");
  fs::create_directories(p.path() / "evals");
  // Sparse: 257 MiB of zeros that cost no disk.
  std::ofstream(p.path() / "evals/big.jsonl").close();
  REQUIRE(::truncate((p.path() / "evals/big.jsonl").c_str(), 257LL << 20) == 0);
  const std::string refused =
      "dataset 'evals/big.jsonl' is 269484032 bytes, over the 256 MiB limit for a dataset";
  const RunResult lint = run_bounded(p.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out == "prompts/ask.toml:5:1: error: " + refused +
                        " [file-too-large]\n  hint: split it into smaller datasets, or sample the cases you "
                        "evaluate on\n1 error, 0 warnings\n");
  const RunResult eval = run_bounded(p.path(), {"eval"});
  CHECK(eval.exit_code == 2);
  CHECK(eval.err == "git-promptops: error: prompts/ask.toml:5:1: " + refused +
                        " (working tree)\nhint: split it into smaller datasets, or sample the cases you evaluate on\n");
  CHECK(p.server.requests() == 0);
}

TEST_CASE("a dataset path that leaves the repository is an error at the prompt's [eval] line", "[e2e][links]") {
  for (const std::string dataset : {"../../etc/passwd", "/etc/passwd", "evals/../../x.csv", ".git/config"}) {
    INFO(dataset);
    AskProject p(dataset);
    p.repo.write("evals/x.csv", "question\nhi\n");
    p.repo.commit("a dataset outside");
    const std::string error = "git-promptops: error: prompts/ask.toml:5:1: dataset '" + dataset +
                              "' of prompt 'ask' is outside the repository\n"
                              "hint: give a path relative to the repository root in [eval] dataset of "
                              "prompts/ask.toml\n";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"eval"}, std::vector<std::string>{"eval", "HEAD"}}) {
      const RunResult r = run_bounded(p.path(), args);
      CHECK(r.exit_code == 2);
      CHECK(r.err == error);
    }
    const RunResult lint = run_bounded(p.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(contains(lint.out, "prompts/ask.toml:5:1: error: dataset '" + dataset +
                                 "' is outside the repository [dataset-outside-repository]\n"));
    CHECK(p.server.requests() == 0);
  }
}

// --- prompt roots ---------------------------------------------------------------------------------

TEST_CASE("links in a prompt root are not followed: three loops, a directory and a file out of the repository",
          "[e2e][links]") {
  LinkedRoot p;
  const auto started = std::chrono::steady_clock::now();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, std::vector<std::string>{"list", "--at", "HEAD"}}) {
    const RunResult list = run_bounded(p.path(), args);
    CHECK(list.exit_code == 0);
    CHECK(list.out == k_real_prompts);
    CHECK(list.err.empty());
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

  const RunResult lint = run_bounded(p.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  const std::string tail =
      "', which is not followed: it is not a prompt and nothing under it is listed [symlink-not-followed]\n"
      "  hint: git promptops reads only regular files inside the repository, as git tracks a link as a link: "
      "commit the files themselves in its place\n";
  CHECK(lint.out == "prompts/etc: warning: 'prompts/etc' is a symbolic link to '" + p.dir() + tail +
                        "prompts/l1: warning: 'prompts/l1' is a symbolic link to '." + tail +
                        "prompts/l2: warning: 'prompts/l2' is a symbolic link to '." + tail +
                        "prompts/l3: warning: 'prompts/l3' is a symbolic link to '." + tail +
                        "prompts/outer.toml: warning: 'prompts/outer.toml' is a symbolic link to '" + p.secret() +
                        tail + "0 errors, 5 warnings\n");
  const RunResult lint_head = run_bounded(p.path(), {"lint", "--at", "HEAD"});
  CHECK(lint_head.out == lint.out);

  const std::string sha = short_sha(p.head);
  const std::vector<std::pair<std::string, std::string>> renders = {
      {"outer", "prompt file 'prompts/outer.toml' is a symbolic link to '" + p.secret() +
                    "', which is not followed (working tree)"},
      {"outer@HEAD", "prompt file 'prompts/outer.toml' is a symbolic link to '" + p.secret() +
                         "', which is not followed (" + sha + ")"},
      {"etc/secret", "prompt 'etc/secret' would be under 'prompts/etc', a symbolic link to '" + p.dir() +
                         "', which is not followed (working tree)"},
      {"etc/secret@HEAD", "prompt 'etc/secret' would be under 'prompts/etc', a symbolic link to '" + p.dir() +
                              "', which is not followed (" + sha + ")"},
  };
  for (const auto& [ref, message] : renders) {
    for (const char* command : {"render", "show"}) {
      const RunResult r = run_bounded(p.path(), {command, ref});
      INFO(command << " " << ref);
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(r.err == "git-promptops: error: " + message + "\n" + k_link_hint);
    }
  }
}

TEST_CASE("a prompt root that is itself a link lists nothing and lint says why", "[e2e][links]") {
  TempDir outside;
  std::ofstream(outside.path() / "p.toml") << "description = \"" << k_marker << "\"\ntemplate = \"x\"\n";
  TempRepo repo;
  fs::create_symlink(outside.path(), repo.path() / "prompts");
  repo.commit("the prompt root is a link");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, std::vector<std::string>{"list", "--at", "HEAD"}}) {
    const RunResult list = run_bounded(repo.path(), args);
    CHECK(list.exit_code == 0);
    CHECK(list.out == "no prompts under prompts matching *.toml, *.prompt\n");
  }
  const RunResult lint = run_bounded(repo.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(contains(lint.out, "prompts: warning: 'prompts' is a symbolic link to '" + outside.path().string() + "'"));
  CHECK_FALSE(contains(lint.out + lint.err, k_marker));
}

TEST_CASE("a prompt root or config that leaves the repository is a config error", "[e2e][links]") {
  TempDir outside;
  std::ofstream(outside.path() / "config.toml") << "[providers.x]\nkind = \"openai\"\nbase_url = \"http://"
                                                 << k_marker << "\"\n";
  TempRepo repo;
  repo.write(".promptops.toml", "prompts = [\"../../etc\"]\n");
  const RunResult escaping = run_bounded(repo.path(), {"list"});
  CHECK(escaping.exit_code == 2);
  CHECK(escaping.err ==
        "git-promptops: error: .promptops.toml:1:11: 'prompts' must be an array of directories inside the "
        "repository\nhint: '../../etc' is empty, absolute or goes up with '..'\n");

  repo.remove(".promptops.toml");
  fs::create_symlink(outside.path() / "config.toml", repo.path() / ".promptops.toml");
  repo.commit("a config that is a link");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, std::vector<std::string>{"list", "--at", "HEAD"}}) {
    const RunResult list = run_bounded(repo.path(), args);
    CHECK(list.exit_code == 2);
    CHECK(list.err == "git-promptops: error: .promptops.toml: config '.promptops.toml' is a symbolic link to '" +
                          (outside.path() / "config.toml").string() + "', which is not followed\n" + k_link_hint);
  }
}

// --- sizes ----------------------------------------------------------------------------------------

TEST_CASE("a prompt file over 1 MiB is listed as invalid and not rendered, in the working tree and at HEAD",
          "[e2e][limits]") {
  TempRepo repo;
  repo.write("prompts/a.toml", "description = \"first\"\ntemplate = \"A\"\n");
  repo.write("prompts/big.toml", "description = \"" + std::string(1 << 20, 'x') + "\"\ntemplate = \"B\"\n");
  const std::string head = repo.commit("a big prompt");
  const std::string refused =
      "prompts/big.toml: prompt file 'prompts/big.toml' is 1048608 bytes, over the 1 MiB limit for a prompt file";
  for (const std::string& at : {std::string(), std::string("HEAD")}) {
    const RunResult list = run_bounded(repo.path(), at.empty() ? std::vector<std::string>{"list"}
                                                                 : std::vector<std::string>{"list", "--at", at});
    CHECK(list.exit_code == 0);
    CHECK(list.out ==
          "NAME  MODEL  VARIABLES  DESCRIPTION\n"
          "a                       first\n"
          "big                     (invalid: run git promptops lint big)\n");
    CHECK(list.err == "git-promptops: warning: " + refused + "\n");
    const RunResult render = run_bounded(repo.path(), {"render", at.empty() ? "big" : "big@" + at});
    CHECK(render.exit_code == 2);
    CHECK(render.err == "git-promptops: error: prompt file 'prompts/big.toml' is 1048608 bytes, over the 1 MiB "
                        "limit for a prompt file\nhint: keep long reference text in a dataset and pass it in as a "
                        "variable\n");
  }
  const RunResult lint = run_bounded(repo.path(), {"lint", "--at", "HEAD"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out == "prompts/big.toml: error: prompt file 'prompts/big.toml' is 1048608 bytes, over the 1 MiB limit "
                    "for a prompt file [file-too-large]\n  hint: keep long reference text in a dataset and pass it "
                    "in as a variable\n1 error, 0 warnings\n");
}

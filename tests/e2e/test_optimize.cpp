// SPDX-License-Identifier: MIT
// End-to-end tests of `optimize`: a real repository, the loopback model server and a scripted
// reflection model.
//
// The "model" knows each case's label from a hidden marker in the ticket ("#p" positive, "#n"
// negative). It answers right when the prompt speaks of the customer's "mood", or when the ticket
// is an easy one ("easy:"), and "neutral" (wrong) otherwise. The reflection model (recognised by
// its system message) answers the scripted proposals in order, each in a fenced block. So the
// search path, every score and every call can be worked out by hand:
//
//   train (--train-set)  t1 hard, t2 hard, t3 easy   -> minibatch of 3 = the whole training set
//   val   (--val-set)    v1 easy, v2 hard, v3 hard, v4 easy -> the current version scores 0.5
//
//   seed on val                                   4 calls
//   it 1: seed on the minibatch 3, reflection 1 -> "{{txt}}" rejected (no eval calls)
//   it 2: reflection 1 -> "politely" 1/3 on the minibatch, not better: 3
//   it 3: reflection 1 -> "mood" 3/3: 3, then validation 1.0: 4
//   then the winner passes every training case: nothing to reflect on, the search ends
//   = 20 calls; the winner's evaluation on evals/classify.jsonl (the same 7 cases) is all cached.
#include <csignal>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using json = nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

const char* const k_reflection_marker = "You improve the instructions";

const std::string k_prompt =
    "# Support ticket sentiment.\n"
    "description = \"sentiment of a support ticket\"  # one line\n"
    "tags = [\"support\", \"sentiment\"]\n"
    "\n"
    "template = \"Classify: {{text}}\"   # the seed\n"
    "\n"
    "[vars]\n"
    "text = { required = true, description = \"the ticket\" }\n"
    "\n"
    "[eval]\n"
    "dataset = \"evals/classify.jsonl\"\n"
    "metric = \"accuracy\"\n";

std::string prompt_with(const std::string& template_line) {
  std::string out = k_prompt;
  const std::string old = "template = \"Classify: {{text}}\"";
  out.replace(out.find(old), old.size(), template_line);
  return out;
}

std::string case_line(const std::string& id, const std::string& text, const std::string& expected) {
  json row = {{"id", id}, {"vars", {{"text", text}}}};
  if (!expected.empty()) {
    row["expected"] = expected;
  }
  return row.dump() + "\n";
}

std::string train_cases(bool labelled = true) {
  return case_line("t1", "slow refund #n", labelled ? "negative" : "") +
         case_line("t2", "the agent fixed it #p", labelled ? "positive" : "") +
         case_line("t3", "easy: thanks a lot #p", labelled ? "positive" : "");
}

std::string val_cases(bool labelled = true) {
  return case_line("v1", "easy: love it #p", labelled ? "positive" : "") +
         case_line("v2", "broken again #n", labelled ? "negative" : "") +
         case_line("v3", "never got a reply #n", labelled ? "negative" : "") +
         case_line("v4", "easy: awful #n", labelled ? "negative" : "");
}

// "promptops/optimize/classify-<UTC yyyymmdd-hhmmss>" for the time `t`.
std::string stamped_branch(std::time_t t) {
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  return std::string("promptops/optimize/classify-") + stamp;
}

// The Wilson interval as optimize prints it: "[0.150, 0.850]".
std::string wilson3(double k, double n) { return wilson_text(k, n, 3); }

struct OptimizeProject {
  LlmServer server;
  TempRepo repo;
  std::string base;
  std::mutex mutex;
  std::vector<std::string> proposals;  // the reflection model's answers, in order
  std::size_t next_proposal = 0;
  std::vector<std::string> reflection_prompts;
  std::vector<std::string> target_models;

  explicit OptimizeProject(const std::string& prompt = k_prompt, const std::string& extra_config = "") {
    server.set_responder([this](const json& body) { return answer(body); });
    repo.write(".promptops.toml", config_toml(server, "", extra_config));
    repo.write("prompts/classify.toml", prompt);
    repo.write("evals/classify.jsonl", train_cases() + val_cases());
    repo.write("train.jsonl", train_cases());
    repo.write("val.jsonl", val_cases());
    base = repo.commit("add classify");
  }

  std::string answer(const json& body) {
    const std::string text = LlmServer::prompt_text(body);
    const std::lock_guard<std::mutex> lock(mutex);
    if (contains(text, k_reflection_marker)) {
      reflection_prompts.push_back(text);
      const std::string proposal =
          proposals.empty() ? "" : proposals[std::min(next_proposal, proposals.size() - 1)];
      ++next_proposal;
      return "Here is a better version:\n\n```text\n" + proposal + "\n```\n\nIt should help.";
    }
    target_models.push_back(body.value("model", ""));
    const std::string label = contains(text, "#p") ? "positive" : "negative";
    if (body.value("model", "") == "ref-model") {
      return label;  // the reference always knows
    }
    return contains(text, "mood") || contains(text, "easy:") ? label : "neutral";
  }

  std::size_t reflections() {
    const std::lock_guard<std::mutex> lock(mutex);
    return reflection_prompts.size();
  }

  const std::filesystem::path& path() const { return repo.path(); }
};

const std::vector<std::string> k_script = {
    "Classify: {{txt}}",                                 // an undeclared variable, and drops {{text}}
    "Classify politely: {{text}}",                       // no better on the minibatch
    "Consider the customer's mood. Classify: {{text}}",  // right on every case
};

std::vector<std::string> optimize_args(std::vector<std::string> more = {}, const std::string& budget = "40") {
  std::vector<std::string> args = {"optimize",    "classify",    "--budget",  budget,
                                   "--train-set", "train.jsonl", "--val-set", "val.jsonl"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::vector<json> read_jsonl(const std::string& text) {
  std::vector<json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    out.push_back(json::parse(text.substr(start, end - start)));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

std::string optimize_branch(const TempRepo& repo) {
  std::string branches =
      repo.git({"for-each-ref", "--format=%(refname:short)", "refs/heads/promptops/optimize/"});
  while (!branches.empty() && branches.back() == '\n') {
    branches.pop_back();
  }
  return branches;
}

}  // namespace

TEST_CASE("optimize finds the better instructions and commits them on a new branch for review",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  const RunResult r = run_promptops(p.path(), optimize_args({"--log", "log.jsonl"}));
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  REQUIRE(r.exit_code == 0);

  // Every model call, counted: 20 of the budget of 40, three of them reflections.
  CHECK(p.server.requests() == 20);
  CHECK(p.reflections() == 3);

  const std::string branch = optimize_branch(p.repo);
  REQUIRE(std::regex_match(branch, std::regex(R"(promptops/optimize/classify-\d{8}-\d{6})")));
  std::string commit = p.repo.git({"rev-parse", branch});
  commit.pop_back();  // the newline
  const std::string short_commit = commit.substr(0, 7);
  CHECK(r.out ==
        "classify: accuracy 0.500 -> 1.000 on 4 validation cases (+0.500)\n"
        "  before  accuracy 0.500 " +
            wilson3(2, 4) + "  the version at " + short_sha(p.base) + "\n" + "  after   accuracy 1.000 " +
            wilson3(4, 4) + "  candidate 0 -> 3\n" +
            "  search  3 iterations, 3 proposed: 1 rejected, 1 not better, 1 kept\n"
            "  calls   20 of 40 (20 sent); 0 of them evaluated the winner on the whole dataset\n"
            "committed " +
            short_commit + " on new branch " + branch + "\n" + "  review: git promptops diff HEAD " + branch +
            "\n" + "  take:   git merge " + branch + "\n");

  // The commit: a child of HEAD that changes only the template value; HEAD, index and worktree
  // are untouched.
  CHECK(p.repo.git({"rev-parse", branch + "^"}) == p.base + "\n");
  CHECK(p.repo.git({"diff-tree", "-r", "--name-only", "--no-commit-id", branch}) ==
        "prompts/classify.toml\n");
  CHECK(p.repo.git({"show", branch + ":prompts/classify.toml"}) ==
        prompt_with("template = \"Consider the customer's mood. Classify: {{text}}\""));
  CHECK(p.repo.git({"rev-parse", "HEAD"}) == p.base + "\n");
  CHECK(p.repo.git({"symbolic-ref", "HEAD"}) == "refs/heads/main\n");
  CHECK(p.repo.git({"status", "--porcelain"}) == "?? log.jsonl\n");
  CHECK(p.repo.read("prompts/classify.toml") == k_prompt);

  // The message and its trailers.
  CHECK(p.repo.git({"log", "-1", "--format=%s", branch}) ==
        "optimize classify: accuracy 0.500 -> 1.000 on validation\n");
  CHECK(p.repo.git({"log", "-1", "--format=%(trailers:key=Promptops-Optimized-From,valueonly)", branch}) ==
        p.base + "\n\n");
  CHECK(p.repo.git({"log", "-1", "--format=%(trailers:key=Promptops-Metric,valueonly)", branch}) ==
        "accuracy 0.500 -> 1.000\n\n");
  const std::string body = p.repo.git({"log", "-1", "--format=%b", branch});
  CHECK(contains(
      body, "  before: accuracy 0.500 " + wilson3(2, 4) + " (the version at " + short_sha(p.base) + ")\n"));
  CHECK(contains(body, "  after:  accuracy 1.000 " + wilson3(4, 4) + " (candidate 0 -> 3)\n"));
  CHECK(contains(body,
                 "The search used 20 of 40 model calls (7 more kept for the evaluation on the whole dataset, "
                 "in this commit's notes) in 3 iterations: 3 candidates proposed, 1 rejected before "
                 "evaluation, 1 no better on their minibatch, 1 kept.\n"));

  // The winner's evaluation on the whole dataset is in the new commit's notes.
  const std::vector<json> notes = note_lines(p.repo, commit);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]["type"] == "eval");
  CHECK(notes[0]["prompt"] == "classify");
  CHECK(notes[0]["metric"] == "accuracy");
  CHECK(notes[0]["value"] == 1.0);
  CHECK(notes[0]["outcomes"] == "ppppppp");
  CHECK(notes[0]["dataset"] == "evals/classify.jsonl");
  // ... so eval of the branch needs no model call.
  p.server.reset_counters();
  const RunResult again = run_promptops(p.path(), {"eval", branch});
  CHECK(again.exit_code == 0);
  CHECK(p.server.requests() == 0);

  // The log: every candidate with its lineage and scores.
  const std::vector<json> log = read_jsonl(p.repo.read("log.jsonl"));
  REQUIRE(log.size() == 4);
  CHECK(log[0]["status"] == "seed");
  CHECK(log[0]["id"] == 0);
  CHECK(log[0]["validation"] == 0.5);
  CHECK(log[0]["val_scores"] == json::array({1.0, 0.0, 0.0, 1.0}));
  CHECK(log[0]["train"] == json::array({"t1", "t2", "t3"}));
  CHECK(log[0]["val"] == json::array({"v1", "v2", "v3", "v4"}));
  CHECK(log[0]["calls"] == 4);
  CHECK(log[1]["status"] == "rejected");
  CHECK(log[1]["id"] == 1);
  CHECK(log[1]["parent"] == 0);
  CHECK(log[1]["reason"] == "it uses variable 'txt', which the prompt does not declare");
  CHECK(log[1]["text"] == "Classify: {{txt}}");
  CHECK(log[1]["calls"] == 8);
  CHECK(log[2]["status"] == "not-better");
  CHECK(log[2]["parent_minibatch"] == 1.0);
  CHECK(log[2]["minibatch_score"] == 1.0);
  CHECK(log[2]["calls"] == 12);
  CHECK(log[3]["status"] == "accepted");
  CHECK(log[3]["id"] == 3);
  CHECK(log[3]["parent"] == 0);
  CHECK(log[3]["minibatch_score"] == 3.0);
  CHECK(log[3]["validation"] == 1.0);
  CHECK(log[3]["val_scores"] == json::array({1.0, 1.0, 1.0, 1.0}));
  CHECK(log[3]["calls"] == 20);

  // The reflection model saw the instructions, the failures and the allowed variables.
  const std::string first = p.reflection_prompts.at(0);
  CHECK(contains(first, "```\nClassify: {{text}}\n```"));
  CHECK(contains(first, "use no other variables than these: {{text}}."));
  CHECK(contains(first, "- text: slow refund #n\nOutput: neutral\nExpected: negative\nFeedback: wrong: "));
  CHECK(contains(first,
                 "- text: easy: thanks a lot #p\nOutput: positive\nExpected: positive\nFeedback: correct\n"));

  // Progress went to stderr, one line per step.
  CHECK(contains(r.err, "optimize: [4/40 calls] candidate 0 (current version): validation accuracy 0.500 " +
                            wilson3(2, 4) + "\n"));
  CHECK(contains(r.err,
                 "optimize: [8/40 calls] iteration 1: proposal 1 from candidate 0 rejected: it uses "
                 "variable 'txt', which the prompt does not declare\n"));
  CHECK(contains(r.err,
                 "optimize: [12/40 calls] iteration 2: proposal 2 from candidate 0: minibatch 1/3 -> 1/3, "
                 "not better\n"));
  CHECK(contains(r.err,
                 "optimize: [20/40 calls] iteration 3: proposal 3 from candidate 0: minibatch 1/3 -> 3/3, "
                 "validation accuracy 1.000 " +
                     wilson3(4, 4) + " (best 1.000)\n"));
}

TEST_CASE("a failure in the final evaluation says the commit is made and how to complete it",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  // A case of the dataset that the search never runs: only the final evaluation asks for it.
  p.repo.write("evals/classify.jsonl",
               train_cases() + val_cases() + case_line("x1", "only in the dataset #p", "positive"));
  p.base = p.repo.commit("one more case");
  Fault unauthorised;
  unauthorised.status = 401;
  p.server.inject_when("only in the dataset", unauthorised);
  const RunResult r = run_promptops(p.path(), optimize_args());
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  const std::string branch = optimize_branch(p.repo);
  REQUIRE(!branch.empty());
  const std::string commit = p.repo.git({"rev-parse", "--short=7", branch}).substr(0, 7);
  CHECK(contains(r.err, " (the commit " + commit +
                            " is made; its evaluation on the whole dataset and notes are not)\n"));
  CHECK(contains(r.err, "hint: run: git promptops eval " + commit + " -- classify\n"));
  CHECK(run(p.path(), {"git", "notes", "--ref=promptops", "show", commit}).exit_code == 1);  // no note
  CHECK(p.repo.git({"rev-parse", "HEAD"}) == p.base + "\n");
}

TEST_CASE("optimize rejects a proposal that drops a required variable without an evaluation call",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = {"Classify the ticket by mood.", "Consider the customer's mood. Classify: {{text}}"};
  const RunResult r = run_promptops(p.path(), optimize_args({"--log", "log.jsonl"}));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  // seed 4, it 1: minibatch 3 + reflection 1 (rejected), it 2: reflection 1 + 3 + 4 = 16.
  CHECK(p.server.requests() == 16);
  const std::vector<json> log = read_jsonl(p.repo.read("log.jsonl"));
  REQUIRE(log.size() == 3);
  CHECK(log[1]["status"] == "rejected");
  CHECK(log[1]["reason"] == "it drops required variable 'text'");
  CHECK(log[1]["calls"] == 8);
  CHECK(log[2]["status"] == "accepted");
  CHECK(log[2]["calls"] == 16);
}

TEST_CASE(
    "optimize exits 1 and commits nothing when no candidate beats the current version; the budget holds",
    "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = {"Classify politely: {{text}}"};  // every proposal is the same
  const std::string refs_before = p.repo.git({"for-each-ref"});
  const RunResult r = run_promptops(p.path(), {"optimize", "classify", "--budget", "30", "--train-set",
                                               "train.jsonl", "--val-set", "val.jsonl"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  // seed 4; it 1: 3 + 1 + 3 (not better) = 11; it 2: 1 (the same text again) = 12; it 3: 1 = 13;
  // another iteration could cost 11 more and 7 stay kept for the final evaluation: 13 + 18 > 30.
  CHECK(p.server.requests() == 13);
  CHECK(r.out ==
        "classify: accuracy 0.500 -> 0.500 on 4 validation cases\n"
        "  before  accuracy 0.500 " +
            wilson3(2, 4) + "  the version at " + short_sha(p.base) + "\n" +
            "  search  3 iterations, 3 proposed: 2 rejected, 1 not better, 0 kept\n"
            "  calls   13 of 30 (13 sent)\n"
            "no candidate beat the current version; nothing was committed\n");
  CHECK(contains(r.err, "rejected: the same text as an earlier candidate\n"));
  CHECK(p.repo.git({"for-each-ref"}) == refs_before);
  CHECK(p.repo.git({"status", "--porcelain"}).empty());
}

TEST_CASE("optimize refuses a budget that cannot pay for one iteration, before any model call",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  const RunResult r = run_promptops(p.path(), {"optimize", "classify", "--budget", "21", "--train-set",
                                               "train.jsonl", "--val-set", "val.jsonl"});
  CHECK(r.exit_code == 129);
  CHECK(r.err ==
        "git-promptops: error: --budget 21 is too small: 4 calls score the current version on 4 validation "
        "cases, "
        "one iteration takes up to 11 and the winner's evaluation on the whole dataset 7\n"
        "hint: use --budget 22 or more (a few times that finds more)\n");
  CHECK(p.server.requests() == 0);
}

TEST_CASE("optimize --commit puts the winner on the current branch and updates the working tree",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  // Git's hooks do not run, as with `git commit --no-verify`: this one would refuse the commit.
  p.repo.write(".git/hooks/pre-commit",
               "#!/bin/sh\necho ran > \"$(git rev-parse --git-dir)/hook-ran\"\nexit 1\n");
  std::filesystem::permissions(p.path() / ".git/hooks/pre-commit", std::filesystem::perms::owner_all);
  const RunResult r = run_promptops(p.path(), optimize_args({"--commit"}));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string head = p.repo.git({"rev-parse", "HEAD"});
  CHECK(contains(r.out, "committed " + head.substr(0, 7) + " on main\n"));
  CHECK(p.repo.git({"rev-parse", "HEAD^"}) == p.base + "\n");
  CHECK(optimize_branch(p.repo).empty());
  const std::string expected = prompt_with("template = \"Consider the customer's mood. Classify: {{text}}\"");
  CHECK(p.repo.read("prompts/classify.toml") == expected);
  CHECK(p.repo.git({"status", "--porcelain"}).empty());
  CHECK(p.repo.git({"log", "-1", "--format=%gs", "-g", "main"}) ==
        "commit: optimize classify: accuracy 0.500 -> 1.000 on validation\n");
  CHECK(note_lines(p.repo, "HEAD").size() == 1);
  CHECK(!std::filesystem::exists(p.path() / ".git/hook-ran"));
  // ... while `git commit` does run it.
  p.repo.write("README.md", "# demo\n");
  p.repo.git({"add", "README.md"});
  const RunResult by_git = run(p.path(), {"git", "commit", "-q", "-m", "readme"});
  CHECK(by_git.exit_code == 1);
  CHECK(std::filesystem::exists(p.path() / ".git/hook-ran"));
}

TEST_CASE("optimize --commit is refused when the prompt file has local changes, which stay as they were",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  const std::string edited = k_prompt + "# my edit\n";
  p.repo.write("prompts/classify.toml", edited);
  const RunResult r = run_promptops(p.path(), optimize_args({"--commit"}));
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "git-promptops: error: prompts/classify.toml has local changes, which --commit would overwrite\n"
        "hint: commit or stash them first, or leave out --commit to get a new branch\n");
  CHECK(p.server.requests() == 0);
  CHECK(p.repo.read("prompts/classify.toml") == edited);
  CHECK(p.repo.git({"rev-parse", "HEAD"}) == p.base + "\n");
}

TEST_CASE("an interrupted optimize exits 130 without a commit, and the same command resumes from the cache",
          "[e2e][optimize]") {
  // The uninterrupted run, for comparison.
  OptimizeProject whole;
  whole.proposals = k_script;
  REQUIRE(run_promptops(whole.path(), optimize_args()).exit_code == 0);
  const std::string whole_branch = optimize_branch(whole.repo);

  OptimizeProject p;
  p.proposals = k_script;
  p.server.set_latency(std::chrono::milliseconds(150));
  BackgroundRun run(p.path(), optimize_args());
  REQUIRE(wait_until([&] { return p.server.answered() >= 9; }));  // in iteration 2
  run.signal(SIGINT);
  const RunResult stopped = run.wait();
  INFO("stderr: " << stopped.err);
  CHECK(stopped.exit_code == 130);
  CHECK(contains(stopped.err, "no commit was made"));
  CHECK(optimize_branch(p.repo).empty());
  const std::size_t answered = p.server.answered();
  CHECK(answered < 20);

  p.server.set_latency(std::chrono::milliseconds(0));
  p.server.reset_counters();
  const RunResult resumed = run_promptops(p.path(), optimize_args());
  INFO("resumed stderr: " << resumed.err);
  REQUIRE(resumed.exit_code == 0);
  // Only what the first run did not receive is asked for; the path is the uninterrupted one.
  CHECK(p.server.requests() == 20 - answered);
  CHECK(contains(resumed.out, "  calls   20 of 40 ("));
  const std::string branch = optimize_branch(p.repo);
  CHECK(p.repo.git({"show", branch + ":prompts/classify.toml"}) ==
        whole.repo.git({"show", whole_branch + ":prompts/classify.toml"}));
}

TEST_CASE(
    "optimize --target-model with --reference-model labels the cases by the reference and migrates the model",
    "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  p.repo.write("evals/classify.jsonl", train_cases(false) + val_cases(false));
  p.repo.write("train.jsonl", train_cases(false));
  p.repo.write("val.jsonl", val_cases(false));
  p.base = p.repo.commit("unlabelled cases");
  const RunResult r = run_promptops(
      p.path(), optimize_args({"--target-model", "small-model", "--reference-model", "ref-model"}, "60"));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  // 7 reference answers, then the same search as with labels: 27. The final evaluation of the
  // unlabelled dataset on small-model is cached: the same prompts on the same model.
  CHECK(p.server.requests() == 27);
  CHECK(contains(r.err, "labelled 7 cases with local/ref-model's answers"));
  const std::string branch = optimize_branch(p.repo);
  std::string expected = prompt_with("template = \"Consider the customer's mood. Classify: {{text}}\"");
  expected += "\n[model]\nname = \"small-model\"\n";
  CHECK(p.repo.git({"show", branch + ":prompts/classify.toml"}) == expected);
  std::size_t ref = 0;
  for (const std::string& model : p.target_models) {
    ref += model == "ref-model" ? 1 : 0;
  }
  CHECK(ref == 7);
}

TEST_CASE("optimize --target-model on another provider writes that provider into the prompt",
          "[e2e][optimize]") {
  // The prompt takes its provider from [defaults.model]; the target is on another one.
  OptimizeProject p;
  p.proposals = k_script;
  p.repo.write(".promptops.toml", config_toml(p.server, "",
                                              "\n[providers.cheap]\nkind = \"openai\"\nbase_url = \"" +
                                                  p.server.base_url() + "\"\n"));
  p.base = p.repo.commit("a cheaper provider");
  const RunResult r = run_promptops(p.path(), optimize_args({"--target-model", "cheap/small-model"}));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::string expected = prompt_with("template = \"Consider the customer's mood. Classify: {{text}}\"");
  expected += "\n[model]\nprovider = \"cheap\"\nname = \"small-model\"\n";
  CHECK(p.repo.git({"show", optimize_branch(p.repo) + ":prompts/classify.toml"}) == expected);
}

TEST_CASE("optimize --train splits the dataset by seed and bad input gets one clear line",
          "[e2e][optimize]") {
  OptimizeProject p;
  p.proposals = k_script;
  const RunResult r = run_promptops(
      p.path(), {"optimize", "classify", "--budget", "60", "--train", "0.5", "--log", "log.jsonl"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("classify: accuracy 0.333 -> 1.000 on 3 validation cases (+0.667)\n", 0) == 0);
  const std::vector<json> log = read_jsonl(p.repo.read("log.jsonl"));
  REQUIRE(log.size() == 4);
  // Seed 0's draw of the 7 cases.
  CHECK(log[0]["train"] == json::array({"t2", "v1", "v3", "v4"}));
  CHECK(log[0]["val"] == json::array({"t1", "t3", "v2"}));
  std::vector<std::string> all = log[0]["train"].get<std::vector<std::string>>();
  const auto val = log[0]["val"].get<std::vector<std::string>>();
  CHECK(all.size() == 4);  // round(0.5 x 7)
  CHECK(val.size() == 3);
  all.insert(all.end(), val.begin(), val.end());
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"t1", "t2", "t3", "v1", "v2", "v3", "v4"});
  // The same seed, the same split; the branch names of this second and the next ones are taken, so
  // the run gets a "-2" one.
  const std::string first = optimize_branch(p.repo);
  const std::time_t now = std::time(nullptr);
  for (std::time_t t = now; t < now + 30; ++t) {
    run(p.path(), {"git", "branch", stamped_branch(t), "HEAD"});  // the first run's own is taken already
  }
  const RunResult again = run_promptops(
      p.path(), {"optimize", "classify", "--budget", "60", "--train", "0.5", "--log", "again.jsonl"});
  INFO("again: " << again.err);
  CHECK(again.exit_code == 0);
  CHECK(read_jsonl(p.repo.read("again.jsonl"))[0]["val"] == log[0]["val"]);
  const std::regex suffixed(
      R"(committed [0-9a-f]{7} on new branch (promptops/optimize/classify-\d{8}-\d{6}-2)\n)");
  std::smatch match;
  REQUIRE(std::regex_search(again.out, match, suffixed));
  CHECK(p.repo.git({"rev-parse", match[1].str() + "^{tree}"}) ==
        p.repo.git({"rev-parse", first + "^{tree}"}));
  // Another seed, another split.
  const RunResult other = run_promptops(p.path(), {"optimize", "classify", "--budget", "60", "--train", "0.5",
                                                   "--seed", "1", "--log", "other.jsonl"});
  CHECK(read_jsonl(p.repo.read("other.jsonl"))[0]["val"] != log[0]["val"]);

  const RunResult unknown = run_promptops(p.path(), {"optimize", "clasify"});
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "no prompt named 'clasify'"));
  CHECK(contains(unknown.err, "did you mean 'classify'?"));
  const RunResult half = run_promptops(p.path(), {"optimize", "classify", "--train-set", "train.jsonl"});
  CHECK(half.exit_code == 129);
  CHECK(contains(half.err, "--train-set and --val-set go together"));
  const RunResult missing = run_promptops(
      p.path(), {"optimize", "classify", "--train-set", "nope.jsonl", "--val-set", "val.jsonl"});
  CHECK(missing.exit_code == 129);
  CHECK(contains(missing.err, "cannot read --train-set nope.jsonl"));
  const RunResult fraction = run_promptops(p.path(), {"optimize", "classify", "--train", "1.5"});
  CHECK(fraction.exit_code == 129);
  const RunResult reference =
      run_promptops(p.path(), {"optimize", "classify", "--reference-model", "ref-model"});
  CHECK(reference.exit_code == 129);
  CHECK(contains(reference.err, "--reference-model needs --target-model"));
}

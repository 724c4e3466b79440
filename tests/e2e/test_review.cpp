// SPDX-License-Identifier: MIT
// End-to-end tests of `review`: the report of a branch against its base, in text, Markdown and JSON.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using namespace promptops::test::gate;

namespace {

// The text without the lines that start with `prefix` (latencies are not reproducible).
std::string without_lines(const std::string& text, const std::string& prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(start, end - start);
    if (!line.starts_with(prefix)) {
      out += line;
    }
    start = end;
  }
  return out;
}

// A branch `feature` off main whose one commit turns "Hey" into "Yo".
struct ReviewProject : GateProject {
  std::string head;
  ReviewProject() {
    repo.git({"checkout", "-q", "-b", "feature"});
    repo.write("prompts/greet.toml", prompt("Yo {{who}}!"));
    head = repo.commit("greet: yo");
  }
  std::string title() const { return short_sha(base) + ".." + short_sha(head); }
};

}  // namespace

TEST_CASE("review markdown of a regression lists the metrics, the gate, the flipped cases and the diff",
          "[e2e][review]") {
  ReviewProject project;
  const RunResult r = run_promptops(project.repo.path(), {"review", "main..feature", "--format", "markdown"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(without_lines(r.out, "| latency p50 |") ==
        "## Prompt review: " + project.title() +
            "\n"
            "\n"
            "❌ **Gate failed** · 1 prompt changed · 16 model calls, 0 cached answers\n"
            "\n"
            "### `greet` (modified) — FAILS\n"
            "\n"
            "| metric | before | after | change | p |\n"
            "|---|---:|---:|---:|---|\n"
            "| accuracy | 1.000 [0.68, 1.00] | 0.250 [0.07, 0.59] | -0.750 | 0.0313 (McNemar) |\n"
            "| mean_score | 1.000 | 0.250 | -0.750 | 0.0312 (sign-flip) |\n"  // exactly 2/64, printed %.4f
            "\n"
            "Gate:\n"
            "- ❌ accuracy 1.000 → 0.250 (-0.750; drop > max_drop 0.000, p = 0.0313 by McNemar)\n"
            "\n"
            "Flipped cases: 6 pass → fail, 0 fail → pass\n"
            "\n"
            "| case | flip | input | expected | before | after |\n"
            "|---|---|---|---|---|---|\n"
            "| `cid` | pass → fail | Cid | ok | ok | Yo Cid! |\n"
            "| `dee` | pass → fail | Dee | ok | ok | Yo Dee! |\n"
            "| `eve` | pass → fail | Eve | ok | ok | Yo Eve! |\n"
            "| `fay` | pass → fail | Fay | ok | ok | Yo Fay! |\n"
            "| `gus` | pass → fail | Gus | ok | ok | Yo Gus! |\n"
            "| `hal` | pass → fail | Hal | ok | ok | Yo Hal! |\n"
            "\n"
            "<details><summary>Prompt diff</summary>\n"
            "\n"
            "```\n"
            "--- user ---\n"
            "  [-Hey-]{+Yo+} {{who}}!\n"
            "chars: 12 → 11\n"
            "tokens: 2 → 2\n"
            "```\n"
            "\n"
            "</details>\n");
  CHECK(r.out.find("| latency p50 | ") != std::string::npos);
  CHECK(project.server.seen().size() == 16);

  // Again, from the cache; the default range is where HEAD leaves main.
  const RunResult again = run_promptops(project.repo.path(), {"review", "--format", "json"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(project.server.seen().size() == 16);
  const nlohmann::json doc = nlohmann::json::parse(again.out);
  CHECK(doc["base"] == project.base);
  CHECK(doc["head"] == project.head);
  CHECK(doc["passed"] == false);
  CHECK(doc["real_calls"] == 0);
  REQUIRE(doc["prompts"].size() == 1);
  const nlohmann::json& prompt = doc["prompts"][0];
  CHECK(prompt["gate"] == "FAILS");
  CHECK(prompt["verdict"]["newly_failing"].size() == 6);
  REQUIRE(prompt["flips"].size() == 6);
  CHECK(prompt["flips"][0]["id"] == "cid");
  CHECK(prompt["flips"][0]["before"]["output"] == "ok");
  CHECK(prompt["flips"][0]["after"]["output"] == "Yo Cid!");
  CHECK(prompt["flips"][0]["after"]["reasons"][0] == "expected \"ok\", got \"Yo Cid!\"");
  CHECK(prompt["metrics"][0]["metric"] == "accuracy");
  CHECK(prompt["metrics"][0]["p_value"].get<double>() == Approx(0.03125));
  CHECK(prompt["diff"] ==
        nlohmann::json({"--- user ---", "  [-Hey-]{+Yo+} {{who}}!", "chars: 12 → 11", "tokens: 2 → 2"}));
}

TEST_CASE("review --format html writes the page of both sides with the gate's verdict", "[e2e][review]") {
  ReviewProject project;
  const RunResult r = run_promptops(project.repo.path(), {"review", "main..feature", "--format", "html"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string& html = r.out;
  const auto has = [&html](const std::string& part) { return html.find(part) != std::string::npos; };
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(has("<h1>Prompt review: " + project.title() + "</h1>"));
  CHECK(has("Made by <code>git promptops review " + project.title() + "</code>"));
  CHECK(has("<ul class=\"notes\">\n<li>Gate FAILED · 1 prompt changed · 16 model calls, 0 cached answers</li>\n"
            "<li>greet (modified): FAILS</li>\n"
            "<li>greet: fails accuracy 1.000 → 0.250 (-0.750; drop &gt; max_drop 0.000, p = 0.0313 by McNemar)</li>\n"
            "</ul>"));
  // Base then head, the second paired with the first; the six flipped cases with the word diff.
  CHECK(has("data-value=\"1.000\""));
  CHECK(has("data-value=\"0.250\""));
  CHECK(has("<td class=\"num\">-0.750</td>"));
  CHECK(has("<tr class=\"case\" data-id=\"cid\" data-outcomes=\"pf\">"));
  CHECK(has("<p>pass → fail (6): "));
  CHECK(has("<p>The prompt's word diff:</p><pre class=\"prompt-diff\">template = <del>&quot;Hey</del><ins>&quot;Yo</ins>"));
  CHECK(project.server.seen().size() == 16);
  // From the cache the second time, the same page but for the calls.
  const RunResult again = run_promptops(project.repo.path(), {"review", "main..feature", "--format", "html"});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("<li>Gate FAILED · 1 prompt changed · 0 model calls, 0 cached answers</li>") !=
        std::string::npos);
  CHECK(project.server.seen().size() == 16);
}

TEST_CASE("review of a neutral change, an unchanged evaluation, and bad ranges", "[e2e][review]") {
  ReviewProject project;
  // Back to the base's template, plus a description: the evaluation is the base's.
  project.repo.write("prompts/greet.toml", "description = \"Greets\"\n" + project.prompt("Hey {{who}}!"));
  project.repo.commit("greet: describe");
  const RunResult r = run_promptops(project.repo.path(), {"review", "main..feature"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Prompt review: " + short_sha(project.base) + ".." +
                     short_sha(chomp_line(project.repo.git({"rev-parse", "HEAD"}))) +
                     "\n"
                     "gate: passed\n"
                     "\n"
                     "prompt greet (modified): evaluation unchanged\n"
                     "  description: (none) → Greets\n"
                     "  chars: 12 → 12\n"
                     "  tokens: 2 → 2\n");
  CHECK(project.server.seen().empty());

  CHECK(run_promptops(project.repo.path(), {"review", "main...feature"}).exit_code == 129);
  const RunResult unknown = run_promptops(project.repo.path(), {"review", "nope..feature"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "git-promptops: error: unknown revision 'nope'\n");
}

TEST_CASE("review of a revision that shares no history with HEAD is a usage error, not a crash",
          "[e2e][review]") {
  ReviewProject project;
  project.repo.git({"checkout", "-q", "--orphan", "elsewhere"});
  project.repo.commit("unrelated root");
  project.repo.git({"checkout", "-q", "feature"});
  const RunResult r = run_promptops(project.repo.path(), {"review", "elsewhere"});
  CHECK(r.exit_code == 129);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: 'elsewhere' and 'HEAD' share no history\n"
        "hint: review a branch against the one it came from\n");
}

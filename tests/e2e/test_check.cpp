// SPDX-License-Identifier: MIT
// End-to-end tests of `check` and the gate: staged, working tree and commit candidates against a
// baseline, judged by the loopback model server; real `git commit` through the installed hook.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using namespace promptops::test::gate;

TEST_CASE("check --staged with nothing staged, or only an unrelated file, checks nothing", "[e2e][check]") {
  GateProject project;
  RunResult r = project.check({"--staged"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "nothing to check: no prompt's content, dataset, model or assertions changed in the index against " +
            project.head_label() + "\n");
  project.repo.write("README.md", "# demo, edited\n");
  project.repo.git({"add", "README.md"});
  r = project.check({"--staged"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("nothing to check:"));
  CHECK(project.server.seen().empty());
}

TEST_CASE("check --staged fails a significant regression with the p-value and the newly failing cases",
          "[e2e][check]") {
  GateProject project;
  project.stage("Yo {{who}}!");
  const RunResult r = project.check({"--staged"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out == "check: index against " + project.head_label() +
                     "\n"
                     "FAIL   greet\n"
                     "  ✗ accuracy 1.000 → 0.250 (-0.750; drop > max_drop 0.000, p = 0.0313 by McNemar)\n"
                     "    newly failing (6): cid, dee, eve, fay, gus, hal\n"
                     "gate failed: 1 of 1 changed prompt regressed\n");
  // Baseline and candidate: eight cases each.
  CHECK(project.server.seen().size() == 16);
  // The baseline's evaluation went into the notes of HEAD.
  const std::vector<nlohmann::json> notes = note_lines(project.repo, "HEAD");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]["value"] == 1.0);

  // Again: everything from the cache, same verdict.
  const RunResult again = project.check({"--staged", "--format", "json"});
  CHECK(again.exit_code == 1);
  CHECK(project.server.seen().size() == 16);
  const nlohmann::json doc = nlohmann::json::parse(again.out);
  CHECK(doc["passed"] == false);
  REQUIRE(doc["prompts"].size() == 1);
  const nlohmann::json& verdict = doc["prompts"][0]["verdict"];
  CHECK(verdict["passed"] == false);
  CHECK(verdict["checks"][0]["metric"] == "accuracy");
  CHECK(verdict["checks"][0]["test"] == "mcnemar");
  CHECK(verdict["checks"][0]["p_value"].get<double>() == Approx(0.03125).epsilon(1e-12));
  CHECK(verdict["checks"][0]["too_few_cases"] == false);
  CHECK(verdict["newly_failing"] == nlohmann::json({"cid", "dee", "eve", "fay", "gus", "hal"}));
  CHECK(doc["prompts"][0]["change"] == "modified");
}

TEST_CASE("check passes a neutral change, and a drop that is not significant at the gate's confidence",
          "[e2e][check]") {
  SECTION("neutral") {
    GateProject project;
    project.stage("Hey {{who}}!!");
    const RunResult r = project.check({"--staged"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "check: index against " + project.head_label() +
                       "\n"
                       "ok     greet\n"
                       "    accuracy 1.000 → 1.000 (0.000; max_drop 0.000, p = 1.0000 by McNemar)\n"
                       "gate passed: 1 changed prompt judged\n");
  }
  SECTION("not significant at 0.99") {
    GateProject project("\n[gate]\nmax_drop = { accuracy = 0.05 }\nconfidence = 0.99\n");
    project.stage("Yo {{who}}!");
    const RunResult r = project.check({"--staged"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("    accuracy 1.000 → 0.250 (-0.750; drop > max_drop 0.050, p = 0.0313 by McNemar, "
                     "not significant at 0.99: too few cases to show a significant drop at 99%)\n") !=
          std::string::npos);
    CHECK(r.out.ends_with("gate passed: 1 changed prompt judged\n"));
    // 6 flips can never reach p < 0.01 (2 * 2^-6 = 0.03125): the JSON says so too.
    const RunResult json_run = project.check({"--staged", "--json"});
    const nlohmann::json check = nlohmann::json::parse(json_run.out)["prompts"][0]["verdict"]["checks"][0];
    CHECK(check["too_few_cases"] == true);
    CHECK(check["failed"] == false);
  }
}

TEST_CASE("check fails a candidate below the gate's min whatever the baseline", "[e2e][check]") {
  GateProject project("\n[gate]\nmin = { accuracy = 0.9 }\nmax_drop = { accuracy = 1.0 }\n");
  project.stage("Yo {{who}}!");
  const RunResult r = project.check({"--staged"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(
      r.out.find(
          "  ✗ accuracy 1.000 → 0.250 (-0.750; below min 0.900; max_drop 1.000, p = 0.0313 by McNemar)\n") !=
      std::string::npos);
}

TEST_CASE("check takes the gate from [defaults.gate] in the config under the prompt's own", "[e2e][check]") {
  GateProject project;
  project.repo.write(".promptops.toml",
                     config_toml(project.server) + "\n[defaults.gate]\nmin = { accuracy = 0.5 }\n");
  project.repo.git({"add", ".promptops.toml"});
  project.stage("Yo {{who}}!");
  const RunResult r = project.check({"--staged"});
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("  ✗ accuracy 1.000 → 0.250 (-0.750; below min 0.500)\n") != std::string::npos);
}

TEST_CASE("check of the working tree and of a commit; --against picks the baseline", "[e2e][check]") {
  GateProject project;
  project.repo.write("prompts/greet.toml", project.prompt("Yo {{who}}!"));
  RunResult r = project.check({});
  CHECK(r.exit_code == 1);
  CHECK(r.out.starts_with("check: working tree against " + project.head_label() + "\n"));
  const std::string bad = project.repo.commit("greet: yo");
  r = project.check({"HEAD"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.starts_with("check: " + short_sha(bad) + " against " + short_sha(project.base) + "\n"));
  CHECK(project.server.seen().size() == 16);  // the working tree had the same content: cached
  // Against itself nothing changed.
  r = project.check({"HEAD", "--against", "HEAD"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("nothing to check:"));
  r = project.check({"--against", "no-such-rev"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown revision 'no-such-rev'") != std::string::npos);
  r = project.check({"--staged", "HEAD"});
  CHECK(r.exit_code == 129);
}

TEST_CASE("check --offline gates only on cached results and says what it could not check", "[e2e][check]") {
  GateProject project;
  project.stage("Yo {{who}}!");
  RunResult r = project.check({"--staged", "--offline"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "check: index against " + project.head_label() +
                     "\n"
                     "skip   greet\n"
                     "    baseline not in the cache or notes (--offline): min only\n"
                     "    not in the cache or notes (--offline): not checked\n"
                     "gate passed: 0 changed prompts judged; not checked: greet\n");
  CHECK(project.server.seen().empty());
  // Once evaluated, --offline judges from the cache.
  CHECK(project.check({"--staged"}).exit_code == 1);
  r = project.check({"--staged", "--offline"});
  CHECK(r.exit_code == 1);
  CHECK(project.server.seen().size() == 16);
}

TEST_CASE("check uses results recorded in notes when the cache is empty", "[e2e][check]") {
  GateProject project;
  // Evaluate HEAD (writes notes), then drop the cache as a fresh clone would not have it.
  eval_json(project.repo.path(), {"HEAD"});
  CHECK(project.server.seen().size() == 8);
  REQUIRE(run_promptops(project.repo.path(), {"cache", "clear"}).exit_code == 0);
  project.stage("Yo {{who}}!");
  const RunResult r = project.check({"--staged"});
  CHECK(r.exit_code == 1);
  CHECK(project.server.seen().size() == 16);  // only the candidate's eight
}

TEST_CASE("check: added, deleted and lint-only prompts, and a prompt the dataset change touches",
          "[e2e][check]") {
  GateProject project;
  SECTION("added prompt: no baseline, judged by min only") {
    project.repo.write("prompts/other.toml", greet_toml("Hey {{who}}!"));
    project.repo.git({"add", "prompts/other.toml"});
    const RunResult r = project.check({"--staged"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "check: index against " + project.head_label() +
                       "\n"
                       "ok     other (new)\n"
                       "    accuracy 1.000 (no baseline)\n"
                       "gate passed: 1 changed prompt judged\n");
  }
  SECTION("deleted prompt") {
    project.repo.git({"rm", "-q", "prompts/greet.toml"});
    const RunResult r = project.check({"--staged"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "check: index against " + project.head_label() +
                       "\n"
                       "deleted greet\n"
                       "gate passed: 0 changed prompts judged\n");
    CHECK(project.server.seen().empty());
  }
  SECTION("a prompt without [eval] is linted only") {
    project.repo.write("prompts/plain.toml",
                       "template = \"Hi {{who}}\"\n[vars]\nwho = { default = \"you\" }\n");
    project.repo.git({"add", "prompts/plain.toml"});
    const RunResult r = project.check({"--staged"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("lint   plain (new): no [eval]; linted only\n") != std::string::npos);
  }
  SECTION("a lint error blocks") {
    project.repo.write("prompts/greet.toml", "template = \"Hey {{who}}!\"\n[eval\n");
    project.repo.git({"add", "prompts/greet.toml"});
    const RunResult r = project.check({"--staged"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.starts_with("prompts/greet.toml:2:"));
    CHECK(r.out.ends_with("check failed: fix the lint errors above (git promptops lint shows them all)\n"));
    CHECK(project.server.seen().empty());
  }
  SECTION("a changed dataset touches its prompt") {
    // Dee's expected answer becomes "nope": the candidate fails one case the baseline passed.
    std::string cases = greet_cases(k_names);
    const std::string dee = "\"expected\":\"ok\",\"id\":\"dee\"";
    REQUIRE(cases.find(dee) != std::string::npos);
    cases.replace(cases.find(dee), dee.size(), "\"expected\":\"nope\",\"id\":\"dee\"");
    project.repo.write("evals/greet.jsonl", cases);
    project.repo.git({"add", "evals/greet.jsonl"});
    const RunResult r = project.check({"--staged"});
    INFO(r.out);
    // Both sides are judged by the new dataset, so the prompt's own quality did not change.
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("    accuracy 0.875 → 0.875 (0.000;") != std::string::npos);
  }
}

TEST_CASE("check: a baseline that cannot render the candidate's dataset is judged by min only",
          "[e2e][check]") {
  GateProject project("\n[gate]\nmin = { accuracy = 0.5 }\n");
  // The variable `who` becomes `name` in the prompt and the dataset.
  std::string toml = project.prompt("Hey {{name}}!");
  toml.replace(toml.find("who = "), 4, "name");
  project.repo.write("prompts/greet.toml", toml);
  std::string cases = greet_cases(k_names);
  for (std::size_t at = cases.find("\"who\""); at != std::string::npos; at = cases.find("\"who\"", at)) {
    cases.replace(at, 5, "\"name\"");
  }
  project.repo.write("evals/greet.jsonl", cases);
  project.repo.git({"add", "-A"});
  const RunResult r = project.check({"--staged"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("    accuracy 1.000 (no baseline; min 0.500)\n") != std::string::npos);
  CHECK(r.out.find("    the baseline version cannot be judged by the candidate's dataset: ") !=
        std::string::npos);
}

TEST_CASE("a real git commit is blocked by the installed hook on a regression and allowed otherwise",
          "[e2e][check][hooks]") {
  GateProject project;
  const auto env = hook_env();
  const RunResult installed = run(project.repo.path(), {"git", "promptops", "hooks", "install"}, env);
  INFO(installed.err);
  REQUIRE(installed.exit_code == 0);

  project.stage("Yo {{who}}!");
  RunResult commit = run(project.repo.path(), {"git", "commit", "-q", "-m", "greet: yo"}, env);
  CHECK(commit.exit_code != 0);
  CHECK((commit.out + commit.err)
            .find("gate failed: 1 of 1 changed prompt regressed (to bypass once: git commit "
                  "--no-verify)") != std::string::npos);
  CHECK(chomp_line(project.repo.git({"rev-parse", "HEAD"})) == project.base);

  // An unrelated commit passes at once, without a model call.
  const std::size_t calls = project.server.seen().size();
  project.repo.git({"reset", "-q"});
  project.repo.write("README.md", "# demo 2\n");
  project.repo.git({"add", "README.md"});
  commit = run(project.repo.path(), {"git", "commit", "-q", "-m", "readme"}, env);
  CHECK(commit.exit_code == 0);
  CHECK(commit.out.empty());
  CHECK(project.server.seen().size() == calls);

  // A neutral change is allowed.
  project.stage("Hey {{who}}!!");
  commit = run(project.repo.path(), {"git", "commit", "-q", "-m", "greet: excited"}, env);
  INFO(commit.out << commit.err);
  CHECK(commit.exit_code == 0);

  // --no-verify bypasses the hook.
  project.stage("Yo {{who}}!");
  commit = run(project.repo.path(), {"git", "commit", "-q", "--no-verify", "-m", "greet: yo anyway"}, env);
  CHECK(commit.exit_code == 0);
  CHECK(repo_git_subject(project.repo, "HEAD") == "greet: yo anyway");
}

TEST_CASE("the pre-push hook checks the pushed range against the remote's tip", "[e2e][check][hooks]") {
  GateProject project;
  project.repo.write("prompts/greet.toml", project.prompt("Yo {{who}}!"));
  const std::string bad = project.repo.commit("greet: yo");
  const std::string line = "refs/heads/main " + bad + " refs/heads/main " + project.base + "\n";
  RunResult r =
      run_promptops(project.repo.path(), {"hook", "pre-push", "origin", "file:///nowhere"}, {}, line);
  CHECK(r.exit_code == 1);
  CHECK(r.out.starts_with("check: " + short_sha(bad) + " against " + short_sha(project.base) + "\n"));
  CHECK(r.out.ends_with("(to bypass once: git push --no-verify)\n"));
  // Pushing what the remote already has, or deleting a branch, checks nothing.
  const std::string same = "refs/heads/main " + bad + " refs/heads/main " + bad + "\n";
  r = run_promptops(project.repo.path(), {"hook", "pre-push", "origin", "x"}, {}, same);
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  const std::string zeros(40, '0');
  r = run_promptops(project.repo.path(), {"hook", "pre-push", "origin", "x"}, {},
                    "(delete) " + zeros + " refs/heads/old " + bad + "\n");
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
}

TEST_CASE("check: a baseline that cannot be read (fixed by this change) is judged by min only",
          "[e2e][check]") {
  GateProject project("\n[gate]\nmin = { accuracy = 0.5 }\n");
  project.repo.write("prompts/greet.toml", "template = \"Hey {{who}}!\"\n[vars\n");
  project.repo.commit("greet: broken");
  project.stage("Hey {{who}}!");
  const RunResult r = project.check({"--staged"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("    accuracy 1.000 (no baseline; min 0.500)\n"
                   "    the baseline version cannot be read (prompts/greet.toml:2:6: ") != std::string::npos);
  CHECK(project.server.seen().size() == 8);  // the candidate only
  // Broken the other way round, the candidate's lint error blocks.
  project.stage("Hey {{who}}!");
  project.repo.git({"commit", "-q", "-m", "fixed"});
  project.repo.write("prompts/greet.toml", "template = \"Hey {{who}}!\"\n[vars\n");
  project.repo.git({"add", "prompts/greet.toml"});
  CHECK(project.check({"--staged"}).exit_code == 1);
}

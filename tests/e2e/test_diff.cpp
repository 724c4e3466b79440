// SPDX-License-Identifier: MIT
// End-to-end tests of `diff`: fields, word diffs, renames, added and deleted prompts, JSON.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

struct Spec {
  std::string model = "gpt-4o-mini";
  std::string temperature = "0";
  std::string system = "You are friendly.\nKeep it short.\n";
  std::string user = "Hello {{who}}!";
};

std::string prompt_toml(const Spec& spec) {
  return "description = \"Greet someone\"\n\n[model]\nprovider = \"openai\"\nname = \"" + spec.model +
         "\"\ntemperature = " + spec.temperature +
         "\n\n[vars]\nwho = { required = true }\n\n[[messages]]\nrole = \"system\"\ncontent = \"\"\"\n" +
         spec.system + "\"\"\"\n\n[[messages]]\nrole = \"user\"\ncontent = \"" + spec.user + "\"\n";
}

const char* k_farewell = R"(description = "Say goodbye"

[[messages]]
role = "user"
content = "Goodbye {{who}}."
)";

struct GreetRepo {
  TempRepo repo;
  GreetRepo() {
    repo.write("prompts/greet.toml", prompt_toml(Spec{}));
    repo.commit("add greet");
  }
};

}  // namespace

TEST_CASE("diff shows changed model fields", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.write("prompts/greet.toml", prompt_toml(Spec{.model = "gpt-4o", .temperature = "0.2"}));
  greet.repo.commit("bigger model");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(r.out ==
        "prompt greet (prompts/greet.toml)\n"
        "  model.name: gpt-4o-mini → gpt-4o\n"
        "  model.temperature: 0 → 0.2\n"
        "  chars: 47 → 47\n"
        "  tokens: 8 → 8\n");
}

TEST_CASE("diff shows a word diff of the changed lines of a message", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.write("prompts/greet.toml",
                   prompt_toml(Spec{.system = "You are warm and friendly.\nKeep it short.\n"}));
  greet.repo.commit("warmer");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "prompt greet (prompts/greet.toml)\n"
        "  --- system ---\n"
        "    You are {+warm and +}friendly.\n"
        "  chars: 47 → 56\n"
        "  tokens: 8 → 10\n");
  SECTION("nothing to show when nothing changed") {
    const auto same = run_promptops(greet.repo.path(), {"diff", "HEAD", "HEAD"});
    REQUIRE(same.exit_code == 0);
    CHECK(same.out == "");
  }
  SECTION("names after -- restrict the prompts") {
    const auto other = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--", "other"});
    REQUIRE(other.exit_code == 0);
    CHECK(other.out == "");
    const auto named = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--", "greet"});
    CHECK(named.out == r.out);
  }
  SECTION("a third revision is a usage error") {
    const auto bad = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "greet"});
    CHECK(bad.exit_code == 129);
    CHECK(bad.out == "");
  }
}

TEST_CASE("diff reports a renamed prompt", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.git({"mv", "prompts/greet.toml", "prompts/welcome.toml"});
  greet.repo.commit("rename");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "prompt welcome (renamed from greet)\n"
        "  chars: 47 → 47\n"
        "  tokens: 8 → 8\n");
}

TEST_CASE("diff reports a prompt renamed with a small edit, and not a rewrite, as renamed", "[e2e][diff]") {
  GreetRepo greet;
  const std::string text = greet.repo.read("prompts/greet.toml");
  REQUIRE(text.find("Hello") != std::string::npos);
  std::string edited = text;
  edited.replace(edited.find("Hello"), 5, "Howdy");
  greet.repo.remove("prompts/greet.toml");
  greet.repo.write("prompts/welcome.toml", edited);
  greet.repo.commit("rename and edit");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["prompts"].size() == 1);
  CHECK(doc["prompts"][0]["status"] == "renamed");
  CHECK(doc["prompts"][0]["name"] == "welcome");
  CHECK(doc["prompts"][0]["similarity"].get<double>() > 0.8);
  CHECK(doc["prompts"][0]["similarity"].get<double>() < 1.0);
  REQUIRE(doc["prompts"][0]["messages"].size() == 1);
  CHECK(doc["prompts"][0]["messages"][0]["word_diff"].get<std::string>().find("[-Hello-]{+Howdy+}") !=
        std::string::npos);
  const auto text_out = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  CHECK(text_out.out.starts_with("prompt welcome (renamed from greet, "));

  // Rewritten completely: a deletion and an addition.
  greet.repo.write("prompts/welcome.toml",
                   "template = \"Completely different words here {{who}}\"\n[vars]\nwho = {}\n");
  greet.repo.git({"mv", "prompts/welcome.toml", "prompts/other.toml"});
  greet.repo.commit("rewrite");
  const auto rewrite = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--format", "json"});
  const auto statuses = nlohmann::json::parse(rewrite.out)["prompts"];
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0]["status"] == "added");
  CHECK(statuses[1]["status"] == "deleted");
}

TEST_CASE("diff reports added and deleted prompts whole", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.remove("prompts/greet.toml");
  greet.repo.write("prompts/farewell.toml", k_farewell);
  greet.repo.commit("farewell instead");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "prompt farewell (prompts/farewell.toml) added\n"
        "  description: (none) → Say goodbye\n"
        "  --- user ---\n"
        "    {+Goodbye {{who}}.+}\n"
        "  chars: 0 → 16\n"
        "  tokens: 0 → 2\n"
        "\n"
        "prompt greet (prompts/greet.toml) deleted\n"
        "  description: Greet someone → (none)\n"
        "  model.provider: openai → (none)\n"
        "  model.name: gpt-4o-mini → (none)\n"
        "  model.temperature: 0 → (none)\n"
        "  var.who: declared → (none)\n"
        "  var.who.required: true → (none)\n"
        "  --- system ---\n"
        "    [-You are friendly.-]\n"
        "    [-Keep it short.-]\n"
        "  --- user ---\n"
        "    [-Hello {{who}}!-]\n"
        "  chars: 47 → 0\n"
        "  tokens: 8 → 0\n");
}

TEST_CASE("diff with no revision compares HEAD with the working tree", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.write("prompts/greet.toml", prompt_toml(Spec{.user = "Hi {{who}}!"}));
  const auto r = run_promptops(greet.repo.path(), {"diff"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "prompt greet (prompts/greet.toml)\n"
        "  --- user ---\n"
        "    [-Hello-]{+Hi+} {{who}}!\n"
        "  chars: 47 → 44\n"
        "  tokens: 8 → 8\n");
  SECTION("one revision compares it with the working tree") {
    CHECK(run_promptops(greet.repo.path(), {"diff", "HEAD"}).out == r.out);
  }
}

TEST_CASE("diff --json gives fields, messages, sizes and metric", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.write("prompts/greet.toml", prompt_toml(Spec{.temperature = "0.5", .user = "Hi {{who}}!"}));
  greet.repo.commit("hi");
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--json"});
  REQUIRE(r.exit_code == 0);
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "schema_version": 1,
    "prompts": [{
      "name": "greet", "old_path": "prompts/greet.toml", "new_path": "prompts/greet.toml",
      "status": "modified",
      "similarity": null,
      "fields": [{"key": "model.temperature", "old": "0", "new": "0.5"}],
      "messages": [{"index": 1, "role": "user", "old": "Hello {{who}}!", "new": "Hi {{who}}!",
                    "word_diff": "[-Hello-]{+Hi+} {{who}}!"}],
      "chars": [47, 44], "tokens": [8, 8], "metric": null
    }]
  })");
  CHECK(nlohmann::json::parse(r.out) == expected);
}

namespace {

// A notes line as `eval` records it, for `prompt` with headline metric accuracy = `value`.
std::string eval_note_line(const std::string& prompt, double value) {
  const nlohmann::json metrics = {{"cases", 4},
                                  {"passed", 3},
                                  {"failed", 1},
                                  {"pass_rate", 0.75},
                                  {"pass_rate_ci", {0.3, 0.95}},
                                  {"mean_score", 0.75},
                                  {"labels", nullptr},
                                  {"tokens_in", 0},
                                  {"tokens_out", 0},
                                  {"cost", 0.0},
                                  {"cost_spent", 0.0},
                                  {"real_calls", 4},
                                  {"cached", 0},
                                  {"latency_ms", nullptr}};
  const nlohmann::json entry = {{"key", "eval:" + prompt + ":k"},
                                {"type", "eval"},
                                {"eval_key", "k"},
                                {"prompt", prompt},
                                {"path", "prompts/" + prompt + ".toml"},
                                {"model", "openai/gpt-4o-mini"},
                                {"dataset", "evals/x.jsonl"},
                                {"dataset_sha", "0"},
                                {"metric", "accuracy"},
                                {"value", value},
                                {"interval", nullptr},
                                {"metrics", metrics},
                                {"repeat", 1},
                                {"outcomes", "pppf"},
                                {"case_ids", {"a", "b", "c", "d"}},
                                {"scores", {1, 1, 1, 0}},
                                {"flaky", nlohmann::json::array()},
                                {"errors", 0},
                                {"evaluated_at", 1700000000}};
  return entry.dump();
}

}  // namespace

TEST_CASE("diff shows the eval metric that notes hold at both commits", "[e2e][diff]") {
  GreetRepo greet;
  greet.repo.git({"notes", "--ref=promptops", "add", "-m", eval_note_line("greet", 0.75), "HEAD"});
  greet.repo.write("prompts/greet.toml", prompt_toml(Spec{.user = "Hi {{who}}!"}));
  greet.repo.commit("hi");
  greet.repo.git({"notes", "--ref=promptops", "add", "-m", eval_note_line("greet", 0.9), "HEAD"});
  const auto r = run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "prompt greet (prompts/greet.toml)\n"
        "  --- user ---\n"
        "    [-Hello-]{+Hi+} {{who}}!\n"
        "  chars: 47 → 44\n"
        "  tokens: 8 → 8\n"
        "  metric accuracy: 0.750 → 0.900 (+0.150)\n");
  SECTION("as JSON") {
    const auto j =
        nlohmann::json::parse(run_promptops(greet.repo.path(), {"diff", "HEAD~1", "HEAD", "--json"}).out);
    const nlohmann::json& metric = j.at("prompts").at(0).at("metric");
    CHECK(metric.at("name") == "accuracy");
    CHECK(metric.at("old") == 0.75);
    CHECK(metric.at("new") == 0.9);
    CHECK(metric.at("delta").get<double>() == Approx(0.15));
  }
}

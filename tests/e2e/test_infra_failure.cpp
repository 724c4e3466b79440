// SPDX-License-Identifier: MIT
// End-to-end tests of a model server that is down: eval and check say it is an infrastructure
// failure, with the provider, its URL, the cause and the per-case results, and never a secret.
#include <memory>
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
using json = nlohmann::json;

namespace {

const std::string k_secret = "s3cret-token-0123456789";

// greet at HEAD with the provider at a server that is stopped once the commit is made: nothing
// listens on its port. The base URL carries user info and the key is set, neither to be printed.
struct DownProject {
  std::string url;  // the base URL as printed: no user info
  TempRepo repo;

  explicit DownProject(const std::vector<std::string>& names) {
    auto server = std::make_unique<LlmServer>();
    url = server->base_url();
    std::string config = config_toml(*server, "api_key_env = \"PROMPTOPS_TEST_KEY\"\nmax_retries = 1\n");
    const std::string plain = "\"" + url + "\"";
    const std::string with_user = "\"http://ci:" + k_secret + "@" + url.substr(std::string("http://").size()) + "\"";
    config.replace(config.find(plain), plain.size(), with_user);
    repo.write(".promptops.toml", config);
    repo.write("evals/greet.jsonl", greet_cases(names));
    repo.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
    repo.commit("add greet");
    server.reset();
  }

  RunResult run(const std::vector<std::string>& args) const {
    return run_promptops(repo.path(), args, {{"PROMPTOPS_TEST_KEY", k_secret}});
  }
};

}  // namespace

TEST_CASE("eval with the model server down names the provider, its URL, the cause and the results",
          "[e2e][eval]") {
  DownProject p({"Ann", "Bob", "Cid", "Dee"});
  const RunResult j = p.run({"eval", "HEAD", "--format", "json"});
  REQUIRE(j.exit_code == 2);
  const std::string file = json::parse(j.out).at("rows").at(0).at("results_file").get<std::string>();

  const RunResult r = p.run({"eval", "HEAD"});
  CHECK(r.exit_code == 2);
  CHECK(r.out == eval_table({greet_row(short_sha(p.repo.git({"rev-parse", "HEAD"})), "v1", "0.000",
                                       "4 without answer", "", "0", "add greet")}));
  CHECK(r.err == "1 evaluation (0 from the cache), 0 model calls, 0 cached answers\n"
                 "git-promptops: error: 4 of 4 cases got no answer from provider 'local' (" +
                     p.url +
                     "): Couldn't connect to server\n"
                     "hint: the per-case results are in " +
                     file +
                     "; run the same command again to retry them; answers already received are cached\n");
  CHECK(r.err.find(k_secret) == std::string::npos);
  CHECK(r.out.find(k_secret) == std::string::npos);
  // The results file says why for every case.
  const std::string results = read_text(file);
  CHECK(count_of(results, "\"error\":\"network: ") == 4);
  CHECK(results.find(k_secret) == std::string::npos);
}

TEST_CASE("check with the model server down says the gate could not be judged, never that it passed",
          "[e2e][check]") {
  DownProject p(k_names);
  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!"));
  p.repo.git({"add", "prompts/greet.toml"});
  const std::string head = chomp_line(p.repo.git({"rev-parse", "HEAD"}));
  const RunResult r = p.run({"check", "--staged"});
  CHECK(r.exit_code == 2);
  CHECK(r.out == "check: index against HEAD (" + short_sha(head) +
                     ")\n"
                     "skip   greet\n"
                     "    the baseline has 8 cases without an answer: min only\n"
                     "    8 cases got no answer: not judged\n"
                     "gate not judged: the model gave no answer for some cases (see the error below)\n");
  CHECK(r.out.find("gate passed") == std::string::npos);
  const std::string prefix = "git-promptops: error: 16 of 16 cases got no answer from provider 'local' (" + p.url +
                             "): Couldn't connect to server, so the gate could not be judged\n"
                             "hint: the per-case results are in ";
  CHECK(r.err.rfind(prefix, 0) == 0);
  INFO("stderr: " << r.err);
  // The candidate's file: a baseline without answers is set aside (min only), as the report says.
  CHECK(count_of(r.err, "/.git/promptops/results/") == 1);
  CHECK(r.err.find(k_secret) == std::string::npos);

  const RunResult j = p.run({"check", "--staged", "--format", "json"});
  CHECK(j.exit_code == 2);
  const json doc = json::parse(j.out);
  CHECK(doc.at("passed") == false);
  CHECK(doc.at("judged") == false);
}

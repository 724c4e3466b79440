// SPDX-License-Identifier: MIT
// optimize's search and write-back through a fake provider: the seed, one reflection that fixes
// every failure, convergence, the counted calls, the progress lines, and the commit it writes.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/eval/cache.hpp>
#include <promptops/git/git.hpp>
#include <promptops/workflows/optimize.hpp>
#include <promptops/providers/provider.hpp>

#include "support/eval_fixture.hpp"
#include "support/fake_provider.hpp"
#include "support/harness.hpp"

using namespace promptops;

namespace {

// The target answers IN only when its prompt carries HINT; the reflection adds HINT.
ChatResult answer(const ChatRequest& request) {
  ChatResponse response;
  const std::string& first = request.messages.at(0).content;
  if (first.rfind("You improve the instructions", 0) == 0) {
    response.text = "Here it is:\n```\n{{q}} HINT\n```\n";
  } else {
    response.text = request.messages.back().content.find("HINT") != std::string::npos ? "IN" : "OUT";
  }
  response.tokens_in = 1;
  response.tokens_out = 1;
  return ChatResult{response, CallError::none, "", 200, {}};
}

std::string cases(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    out += "{\"id\": \"" + id + "\", \"vars\": {\"q\": \"question " + id + "\"}, \"expected\": \"IN\"}\n";
  }
  return out;
}

}  // namespace

TEST_CASE("optimize: one reflection fixes every failure, the search converges, the winner is committed",
          "[optimize]") {
  test::isolate_process_environment();
  test::TempRepo repo;
  repo.write(".promptops.toml", test::fn_config());
  repo.write("evals/c.jsonl", cases({"e1", "e2"}));
  repo.write("prompts/c.toml",
             "template = \"{{q}}\"\n[vars]\nq = { required = true }\n[eval]\ndataset = \"evals/c.jsonl\"\n");
  const std::string sha = repo.commit("add c");
  git::Repository git_repo = git::Repository::discover(repo.path());
  const git::Oid base = *git::Oid::parse(sha);

  ResultCache cache(repo.path() / ".git" / "promptops" / "cache", true);
  std::size_t sent = 0;
  EvalServices services;
  services.cache = &cache;
  services.make_provider = [&sent](const ProviderSpec& spec) {
    return std::make_unique<FunctionProvider>(spec, [&sent](const ChatRequest& request) {
      ++sent;
      return answer(request);
    });
  };
  OptimizeOptions options;
  options.name = "c";
  options.budget = 30;
  options.train_set = std::pair<std::string, std::string>{"train.jsonl", cases({"t1", "t2", "t3"})};
  options.val_set = std::pair<std::string, std::string>{"val.jsonl", cases({"v1", "v2"})};
  std::vector<std::string> progress;
  std::vector<std::string> statuses;
  OptimizeCallbacks callbacks;
  callbacks.progress = [&](const std::string& line) { progress.push_back(line); };
  callbacks.log = [&](const nlohmann::json& record) { statuses.push_back(record.at("status")); };

  const OptimizeResult result = optimize(git_repo, base, options, services, callbacks);
  CHECK_FALSE(result.interrupted);
  CHECK(result.train == std::vector<std::size_t>{0, 1, 2});
  CHECK(result.val == std::vector<std::size_t>{3, 4});
  CHECK(result.val_ids == std::vector<std::string>{"v1", "v2"});
  CHECK(result.reserved == 2);  // the prompt's own dataset, evaluated at the new commit
  // Seed on validation 2; iteration 1: parent 3, reflection 1, proposal 3, validation 2. Then the
  // winner passes its minibatch three times (from its record, no call) and the search stops.
  CHECK(result.calls == 11);
  CHECK(result.real_calls == 11);
  CHECK(sent == 11);
  CHECK(result.iterations == 1);
  CHECK(result.proposed == 1);
  CHECK(result.rejected == 0);
  CHECK(result.not_better == 0);
  REQUIRE(result.pool.size() == 2);
  CHECK(result.best == 1);
  CHECK(result.pool[0].val_scores == std::vector<double>{0, 0});
  CHECK(result.pool[1].val_scores == std::vector<double>{1, 1});
  CHECK(result.pool[1].text == "{{q}} HINT");
  CHECK(result.pool[1].parent == std::optional<std::size_t>{0});
  CHECK(statuses == std::vector<std::string>{"seed", "accepted"});
  REQUIRE(progress.size() == 5);
  CHECK(progress[0] ==
        "optimize: [2/30 calls] candidate 0 (current version): validation pass_rate 0.000 [0.000, 0.658]");
  CHECK(progress[1] ==
        "optimize: [11/30 calls] iteration 1: proposal 1 from candidate 0: minibatch 0/3 -> 3/3, validation "
        "pass_rate 1.000 [0.342, 1.000] (best 1.000)");
  CHECK(progress[2] == "optimize: [11/30 calls] candidate 1 passes every case of its minibatch; nothing to "
                       "reflect on");
  CHECK(progress[4] == progress[2]);

  WriteBack how;
  how.now = 0;
  const WrittenBack written = write_back(git_repo, result, options, how, services);
  CHECK(written.new_branch);
  CHECK(written.branch == "promptops/optimize/c-19700101-000000");
  CHECK(written.final_calls == 2);
  CHECK(written.message.rfind("optimize c: ", 0) == 0);
  CHECK(repo.git({"show", written.branch + ":prompts/c.toml"}) ==
        "template = \"{{q}} HINT\"\n[vars]\nq = { required = true }\n[eval]\ndataset = \"evals/c.jsonl\"\n");
  CHECK(repo.git({"rev-parse", written.branch + "^"}) == sha + "\n");
  CHECK_FALSE(repo.git({"notes", "--ref=promptops", "show", written.commit.hex()}).empty());
}

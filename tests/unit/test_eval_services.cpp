// SPDX-License-Identifier: MIT
// Unit tests for provider identities: what an exec provider's identity may read, and when.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <promptops/providers/provider.hpp>

#include "eval/services.hpp"
#include "support/harness.hpp"
#include <promptops/util/sha1.hpp>

using namespace promptops;
namespace fs = std::filesystem;

namespace {

ProviderSpec exec_spec(const std::string& program) {
  ProviderSpec spec;
  spec.name = "script";
  spec.kind = "exec";
  spec.command = {program, "--flag"};
  return spec;
}

ProviderOptions options_in(const fs::path& workdir, bool trusted) {
  ProviderOptions options;
  options.workdir = workdir;
  options.exec_trusted = trusted;
  return options;
}

}  // namespace

TEST_CASE("an exec identity hashes only a regular file it may read", "[eval][trust]") {
  const test::TempDir work;
  const test::TempDir outside;
  std::ofstream(work.path() / "model.sh") << "echo inside\n";
  std::ofstream(outside.path() / "model.sh") << "echo outside\n";
  fs::create_symlink(outside.path() / "model.sh", work.path() / "link.sh");
  const std::string inside_sha = util::sha1_hex("echo inside\n");
  const std::string outside_sha = util::sha1_hex("echo outside\n");

  SECTION("a script in the work tree, trusted or not") {
    for (const bool trusted : {false, true}) {
      CHECK(provider_identity(exec_spec("./model.sh"), options_in(work.path(), trusted)) ==
            "exec ./model.sh --flag sha1:" + inside_sha);
    }
  }
  SECTION("a file outside the work tree only when trusted") {
    const std::string program = (outside.path() / "model.sh").string();
    CHECK(provider_identity(exec_spec(program), options_in(work.path(), false)) == "exec " + program + " --flag");
    CHECK(provider_identity(exec_spec(program), options_in(work.path(), true)) ==
          "exec " + program + " --flag sha1:" + outside_sha);
    CHECK(provider_identity(exec_spec("./link.sh"), options_in(work.path(), false)) == "exec ./link.sh --flag");
    CHECK(provider_identity(exec_spec("../" + outside.path().filename().string() + "/model.sh"),
                            options_in(work.path(), false))
              .find("sha1:") == std::string::npos);
  }
  SECTION("a device is never read, trusted or not") {
    for (const bool trusted : {false, true}) {
      CHECK(provider_identity(exec_spec("/dev/zero"), options_in(work.path(), trusted)) == "exec /dev/zero --flag");
    }
  }
  SECTION("a program looked up in PATH is not read") {
    CHECK(provider_identity(exec_spec("sh"), options_in(work.path(), true)) == "exec sh --flag");
  }
}

// SPDX-License-Identifier: MIT
// Unit tests for the content-addressed result cache and content keys.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <promptops/eval/cache.hpp>
#include <promptops/util/error.hpp>

#include "support/harness.hpp"
#include <promptops/util/sha1.hpp>

using namespace promptops;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

std::string key_of(const std::string& text) { return content_key({text}); }

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) {
    return out;
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) {
      out.push_back(entry.path());
    }
  }
  return out;
}

void write_raw(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("content keys hash length-prefixed parts", "[cache]") {
  SECTION("exact value") {
    CHECK(content_key({"ab", "c"}) == "e9df36e245ae208f71a379128bcc8b4e20b73fab");
    CHECK(content_key({"ab", "c"}) == util::sha1_hex("2:ab1:c"));
    CHECK(content_key({}) == util::sha1_hex(""));
  }
  SECTION("boundaries between parts matter") {
    CHECK(content_key({"ab", "c"}) != content_key({"a", "bc"}));
    CHECK(content_key({"abc"}) != content_key({"ab", "c"}));
    CHECK(content_key({"abc"}) != content_key({"abc", ""}));
    CHECK(content_key({"1:a"}) != content_key({"a"}));
  }
  SECTION("order matters") { CHECK(content_key({"x", "y"}) != content_key({"y", "x"})); }
  SECTION("keys are 40 lower-case hex digits and stable") {
    const std::string key = content_key({"openai", "gpt-4o", "{\"temperature\":0}", "0"});
    CHECK(key.size() == 40);
    CHECK(key.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(key == content_key({"openai", "gpt-4o", "{\"temperature\":0}", "0"}));
  }
}

TEST_CASE("the cache stores and returns JSON by kind and key", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "promptops" / "cache";
  ResultCache cache(dir);
  const std::string key = key_of("prompt v1");

  SECTION("round trip of nested JSON with unicode, at the fan-out path") {
    const json value = {{"output", "héllo ✓ 日本語 🙂"},
                        {"usage", {{"input_tokens", 12}, {"output_tokens", 3}}},
                        {"scores", json::array({0.5, 1, nullptr, true})},
                        {"nested", {{"a", {{"b", json::array({json::object(), "\n\t\""})}}}}}};
    cache.put("response", key, value);
    const fs::path path = dir / "response" / key.substr(0, 2) / (key.substr(2) + ".json");
    CHECK(fs::is_regular_file(path));
    const std::optional<json> back = cache.get("response", key);
    REQUIRE(back.has_value());
    CHECK(*back == value);
    CHECK(back->at("output").get<std::string>() == "héllo ✓ 日本語 🙂");
    SECTION("a second object over the same directory sees it") {
      const ResultCache other(dir);
      CHECK(other.get("response", key) == value);
    }
  }
  SECTION("kinds are separate namespaces") {
    cache.put("response", key, json{{"kind", "response"}});
    CHECK(cache.get("case", key) == std::nullopt);
    cache.put("case", key, json{{"kind", "case"}});
    CHECK(cache.get("response", key) == json{{"kind", "response"}});
    CHECK(cache.get("case", key) == json{{"kind", "case"}});
  }
  SECTION("put replaces an entry") {
    cache.put("case", key, 1);
    cache.put("case", key, 2);
    CHECK(cache.get("case", key) == json(2));
  }
  SECTION("an absent entry is a miss and creates nothing") {
    CHECK(cache.get("response", key) == std::nullopt);
    CHECK_FALSE(fs::exists(dir));
    const CacheStats stats = cache.stats();
    CHECK(stats.entries == 0);
    CHECK(stats.hits == 0);
    CHECK(stats.misses == 1);
    CHECK(stats.corrupt == 0);
  }
}

TEST_CASE("a disabled cache misses and writes nothing", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  const std::string key = key_of("x");
  ResultCache(dir).put("response", key, json{{"a", 1}});

  ResultCache disabled(dir, false);
  CHECK_FALSE(disabled.enabled());
  CHECK(disabled.get("response", key) == std::nullopt);
  disabled.put("response", key_of("y"), json{{"b", 2}});
  CHECK(files_under(dir).size() == 1);
  CHECK(ResultCache(dir).get("response", key_of("y")) == std::nullopt);
  SECTION("it still validates kind and key") {
    CHECK_THROWS_AS(disabled.get("../x", key), Error);
    CHECK_THROWS_AS(disabled.put("response", "nope", 1), Error);
  }
  SECTION("stats still report the directory") {
    const CacheStats stats = disabled.stats();
    CHECK(stats.entries == 1);
    CHECK(stats.misses == 1);
    CHECK(stats.hits == 0);
  }
}

TEST_CASE("a corrupt or unreadable entry is a miss, counted in stats", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  ResultCache cache(dir);
  const std::string key = key_of("case 1");
  const fs::path path = dir / "case" / key.substr(0, 2) / (key.substr(2) + ".json");

  SECTION("garbage") { write_raw(path, "{\"output\": \"trunc"); }
  SECTION("empty file") { write_raw(path, ""); }
  SECTION("binary") { write_raw(path, std::string("\x00\xff\xfe{", 4)); }

  std::optional<json> value;
  REQUIRE_NOTHROW(value = cache.get("case", key));
  CHECK(value == std::nullopt);
  const CacheStats stats = cache.stats();
  CHECK(stats.corrupt == 1);
  CHECK(stats.misses == 1);
  CHECK(stats.hits == 0);
  CHECK(stats.entries == 1);

  // A rerun recomputes and put() repairs the entry.
  cache.put("case", key, json{{"passed", true}});
  CHECK(cache.get("case", key) == json{{"passed", true}});
  CHECK(cache.stats().hits == 1);
}

TEST_CASE("cache stats count entries and bytes per kind", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  ResultCache cache(dir);

  SECTION("a missing directory gives zeros") {
    const CacheStats stats = cache.stats();
    CHECK(stats.kinds.empty());
    CHECK(stats.entries == 0);
    CHECK(stats.bytes == 0);
  }
  SECTION("entries and bytes are exact") {
    cache.put("response", key_of("a"), json{{"a", 1}});   // {"a":1}\n = 8 bytes
    cache.put("response", key_of("b"), json("xyz"));      // "xyz"\n = 6 bytes
    cache.put("case", key_of("a"), json::array({1, 2}));  // [1,2]\n = 6 bytes
    cache.put("case", key_of("a"), json::array({1, 2}));  // same key again: still one entry
    CHECK(cache.get("case", key_of("a")).has_value());
    CHECK_FALSE(cache.get("case", key_of("zzz")).has_value());

    // Neither a temp file of an interrupted write nor a stray file is an entry.
    const std::string key = key_of("a");
    write_raw(dir / "case" / key.substr(0, 2) / (key.substr(2) + ".json.tmp.Ab12Cd"), "{\"a\"");
    write_raw(dir / "case" / "README", "not an entry");
    write_raw(dir / "Bad_Kind" / key.substr(0, 2) / (key.substr(2) + ".json"), "1\n");

    const CacheStats stats = cache.stats();
    REQUIRE(stats.kinds.size() == 2);
    CHECK(stats.kinds.at("response").entries == 2);
    CHECK(stats.kinds.at("response").bytes == 14);
    CHECK(stats.kinds.at("case").entries == 1);
    CHECK(stats.kinds.at("case").bytes == 6);
    CHECK(stats.entries == 3);
    CHECK(stats.bytes == 20);
    CHECK(stats.hits == 1);
    CHECK(stats.misses == 1);
    CHECK(stats.corrupt == 0);
  }
}

TEST_CASE("cache clear removes every entry and leaves no files", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  ResultCache cache(dir);

  SECTION("an empty or missing cache clears nothing") { CHECK(cache.clear() == 0); }
  SECTION("entries and temp files are removed") {
    for (int i = 0; i < 5; ++i) {
      cache.put("response", key_of("r" + std::to_string(i)), json{{"i", i}});
    }
    cache.put("case", key_of("c"), json{{"passed", false}});
    const std::string key = key_of("c");
    write_raw(dir / "case" / key.substr(0, 2) / (key.substr(2) + ".json.tmp.XyZ123"), "{");

    CHECK(cache.clear() == 6);
    CHECK(files_under(dir).empty());
    CHECK(cache.stats().entries == 0);
    CHECK(cache.get("response", key_of("r0")) == std::nullopt);
    CHECK(cache.clear() == 0);

    cache.put("response", key_of("again"), 1);
    CHECK(cache.get("response", key_of("again")) == json(1));
  }
}

TEST_CASE("concurrent writers leave every entry readable", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  ResultCache cache(dir);
  constexpr int k_per_thread = 200;

  auto writer = [&cache](int thread) {
    for (int i = 0; i < k_per_thread; ++i) {
      const std::string id = std::to_string(thread) + "/" + std::to_string(i);
      cache.put("case", key_of(id), json{{"id", id}, {"thread", thread}});
      // Both threads also write one shared key with the same content.
      cache.put("response", key_of("shared"), json{{"shared", true}});
    }
  };
  std::thread first(writer, 0);
  std::thread second(writer, 1);
  first.join();
  second.join();

  for (int thread = 0; thread < 2; ++thread) {
    for (int i = 0; i < k_per_thread; ++i) {
      const std::string id = std::to_string(thread) + "/" + std::to_string(i);
      const std::optional<json> value = cache.get("case", key_of(id));
      REQUIRE(value.has_value());
      CHECK(value->at("id") == id);
    }
  }
  CHECK(cache.get("response", key_of("shared")) == json{{"shared", true}});
  const CacheStats stats = cache.stats();
  CHECK(stats.kinds.at("case").entries == 2 * k_per_thread);
  CHECK(stats.kinds.at("response").entries == 1);
  CHECK(stats.corrupt == 0);
  CHECK(files_under(dir).size() == 2 * k_per_thread + 1);  // no temp files left behind
}

TEST_CASE("invalid kinds and keys throw Error", "[cache]") {
  test::TempDir temp;
  ResultCache cache(temp.path() / "cache");
  const std::string key = key_of("k");

  SECTION("kinds") {
    for (const std::string& kind :
         std::vector<std::string>{"", "..", ".", "../etc", "a/b", "Response", "case ", "ré",
                                  std::string(33, 'a'), std::string("a\0b", 3)}) {
      CAPTURE(kind);
      CHECK_THROWS_AS(cache.get(kind, key), Error);
      CHECK_THROWS_AS(cache.put(kind, key, 1), Error);
    }
    CHECK_NOTHROW(cache.get("eval-v2", key));
    CHECK_NOTHROW(cache.get(std::string(32, 'a'), key));
  }
  SECTION("keys") {
    for (const std::string& bad :
         std::vector<std::string>{std::string(), key.substr(1), key + "0", std::string(40, 'g'),
                                  std::string(40, 'A'), "../../../../../../../../../../../etc/pw",
                                  std::string(38, 'a') + "/.", std::string(39, 'a') + '\0'}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(cache.get("case", bad), Error);
      CHECK_THROWS_AS(cache.put("case", bad, 1), Error);
    }
  }
  CHECK(files_under(temp.path() / "cache").empty());
}

TEST_CASE("a value that cannot be serialized throws Error and writes nothing", "[cache]") {
  test::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  ResultCache cache(dir);
  CHECK_THROWS_AS(cache.put("response", key_of("bad"), json(std::string("\xff\xfe"))), Error);
  CHECK(files_under(dir).empty());
}

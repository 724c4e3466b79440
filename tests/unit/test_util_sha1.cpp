// SPDX-License-Identifier: MIT
// Unit tests for util/sha1 against the FIPS 180 test vectors (checked with sha1sum).
#include <catch2/catch.hpp>

#include <string>

#include <promptops/util/sha1.hpp>

using namespace promptops;

TEST_CASE("sha1 matches the FIPS 180 vectors", "[util]") {
  SECTION("abc") { CHECK(util::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"); }
  SECTION("empty") { CHECK(util::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"); }
  SECTION("448-bit message") {
    CHECK(util::sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  }
  SECTION("896-bit message") {
    CHECK(util::sha1_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                         "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
          "a49b2446a02c645bf419f995b67091253a04a259");
  }
  SECTION("one million 'a'") {
    CHECK(util::sha1_hex(std::string(1'000'000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  }
}

TEST_CASE("sha1 gives the same digest however the input is split", "[util]") {
  const std::string message(1000, 'a');
  const std::string expected = util::sha1_hex(message);
  for (const std::size_t chunk : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u, 999u}) {
    util::Sha1 sha;
    for (std::size_t i = 0; i < message.size(); i += chunk) {
      sha.update(std::string_view(message).substr(i, chunk));
    }
    CHECK(sha.hex_digest() == expected);
  }
  SECTION("one million 'a' fed in 1000 pieces") {
    util::Sha1 sha;
    for (int i = 0; i < 1000; ++i) {
      sha.update(message);
    }
    CHECK(sha.hex_digest() == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  }
}

TEST_CASE("sha1 pads messages at the block boundaries", "[util]") {
  // Lengths 55, 56 and 64 take the one-block and two-block padding paths.
  CHECK(util::sha1_hex(std::string(55, 'a')) == "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  CHECK(util::sha1_hex(std::string(56, 'a')) == "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  CHECK(util::sha1_hex(std::string(64, 'a')) == "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

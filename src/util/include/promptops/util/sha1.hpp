// SPDX-License-Identifier: MIT
// SHA-1 (FIPS 180-4), used for content keys; not for security, only for addressing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace promptops::util {

// An incremental SHA-1: update() any number of times, then digest() or hex_digest() once.
// One object hashes one message; it is not reusable after the digest is taken.
class Sha1 {
 public:
  Sha1();

  // Feeds more bytes.
  void update(std::string_view data);

  // The 20-byte digest of everything fed so far. Finalizes the state: call it at most once.
  std::array<std::uint8_t, 20> digest();

  // digest() as 40 lower-case hex digits.
  std::string hex_digest();

 private:
  void process_block(const std::uint8_t* block);

  std::array<std::uint32_t, 5> m_state;
  std::array<std::uint8_t, 64> m_buffer{};
  std::size_t m_buffered = 0;
  std::uint64_t m_length = 0;  // bytes fed so far
};

// The SHA-1 of `data` as 40 lower-case hex digits.
std::string sha1_hex(std::string_view data);

}  // namespace promptops::util

// SPDX-License-Identifier: MIT
// SHA-1 (FIPS 180-4): the block compression, padding and hex output.
#include <promptops/util/sha1.hpp>

#include <algorithm>
#include <cstring>

namespace promptops::util {

namespace {

constexpr std::uint32_t rotl(std::uint32_t value, int bits) {
  return (value << bits) | (value >> (32 - bits));
}

}  // namespace

Sha1::Sha1() : m_state{0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u} {}

void Sha1::process_block(const std::uint8_t* block) {
  std::array<std::uint32_t, 80> w{};
  for (std::size_t i = 0; i < 16; ++i) {
    w[i] = (static_cast<std::uint32_t>(block[4 * i]) << 24) |
           (static_cast<std::uint32_t>(block[4 * i + 1]) << 16) |
           (static_cast<std::uint32_t>(block[4 * i + 2]) << 8) | static_cast<std::uint32_t>(block[4 * i + 3]);
  }
  for (std::size_t i = 16; i < 80; ++i) {
    w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  }
  std::uint32_t a = m_state[0];
  std::uint32_t b = m_state[1];
  std::uint32_t c = m_state[2];
  std::uint32_t d = m_state[3];
  std::uint32_t e = m_state[4];
  for (std::size_t i = 0; i < 80; ++i) {
    std::uint32_t f = 0;
    std::uint32_t k = 0;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    const std::uint32_t temp = rotl(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = temp;
  }
  m_state[0] += a;
  m_state[1] += b;
  m_state[2] += c;
  m_state[3] += d;
  m_state[4] += e;
}

void Sha1::update(std::string_view data) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t left = data.size();
  m_length += left;
  if (m_buffered > 0) {
    const std::size_t take = std::min(left, m_buffer.size() - m_buffered);
    std::memcpy(m_buffer.data() + m_buffered, bytes, take);
    m_buffered += take;
    bytes += take;
    left -= take;
    if (m_buffered < m_buffer.size()) {
      return;
    }
    process_block(m_buffer.data());
    m_buffered = 0;
  }
  while (left >= m_buffer.size()) {
    process_block(bytes);
    bytes += m_buffer.size();
    left -= m_buffer.size();
  }
  if (left > 0) {
    std::memcpy(m_buffer.data(), bytes, left);
    m_buffered = left;
  }
}

std::array<std::uint8_t, 20> Sha1::digest() {
  const std::uint64_t bit_length = m_length * 8;
  m_buffer[m_buffered++] = 0x80;
  if (m_buffered > 56) {
    std::memset(m_buffer.data() + m_buffered, 0, m_buffer.size() - m_buffered);
    process_block(m_buffer.data());
    m_buffered = 0;
  }
  std::memset(m_buffer.data() + m_buffered, 0, 56 - m_buffered);
  for (std::size_t i = 0; i < 8; ++i) {
    m_buffer[56 + i] = static_cast<std::uint8_t>(bit_length >> (56 - 8 * i));
  }
  process_block(m_buffer.data());
  m_buffered = 0;
  std::array<std::uint8_t, 20> out{};
  for (std::size_t i = 0; i < 5; ++i) {
    out[4 * i] = static_cast<std::uint8_t>(m_state[i] >> 24);
    out[4 * i + 1] = static_cast<std::uint8_t>(m_state[i] >> 16);
    out[4 * i + 2] = static_cast<std::uint8_t>(m_state[i] >> 8);
    out[4 * i + 3] = static_cast<std::uint8_t>(m_state[i]);
  }
  return out;
}

std::string Sha1::hex_digest() {
  static constexpr char k_hex[] = "0123456789abcdef";
  const std::array<std::uint8_t, 20> bytes = digest();
  std::string out;
  out.reserve(40);
  for (const std::uint8_t byte : bytes) {
    out.push_back(k_hex[byte >> 4]);
    out.push_back(k_hex[byte & 0x0f]);
  }
  return out;
}

std::string sha1_hex(std::string_view data) {
  Sha1 sha;
  sha.update(data);
  return sha.hex_digest();
}

}  // namespace promptops::util

#include "common/crc32c.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace hapm {
namespace {

TEST_CASE("crc32c of the standard check string is 0xE3069283", "[crc32c]") {
  const char* s = "123456789";
  CHECK(crc32c(s, std::strlen(s)) == 0xE3069283u);
}

TEST_CASE("crc32c of nothing is zero", "[crc32c]") {
  CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("crc32c of 32 zero bytes matches the RFC 3720 vector", "[crc32c]") {
  std::vector<uint8_t> zero(32, 0);
  CHECK(crc32c(zero.data(), zero.size()) == 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
}

TEST_CASE("crc32c chains: crc(a+b) equals crc(b) seeded with crc(a)", "[crc32c]") {
  std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  const uint32_t whole = crc32c(text.data(), text.size());
  for (size_t split = 0; split <= text.size(); ++split) {
    uint32_t first = crc32c(text.data(), split);
    uint32_t chained = crc32c(text.data() + split, text.size() - split, first);
    INFO("split at " << split);
    CHECK(chained == whole);
  }
}

TEST_CASE("crc32c notices a single flipped bit", "[crc32c]") {
  std::vector<uint8_t> buf(4096, 0x5A);
  const uint32_t before = crc32c(buf.data(), buf.size());
  buf[1234] ^= 0x10;
  CHECK(crc32c(buf.data(), buf.size()) != before);
}

}  // namespace
}  // namespace hapm

#include "common/units.h"

#include <catch2/catch.hpp>
#include <string>

namespace hapm {
namespace {

uint64_t size_of(const std::string& text) {
  auto r = parse_size(text);
  INFO(text << ": " << r.status().to_string());
  REQUIRE(r.is_ok());
  return r.value();
}

Code error_of(const std::string& text) {
  auto r = parse_size(text);
  INFO(text);
  REQUIRE_FALSE(r.is_ok());
  CHECK_FALSE(r.status().message().empty());
  return r.status().code();
}

TEST_CASE("sizes without a unit are bytes", "[units]") {
  CHECK(size_of("0") == 0);
  CHECK(size_of("4096") == 4096);
  CHECK(size_of("4096B") == 4096);
}

TEST_CASE("size units are powers of 1024 in every spelling", "[units]") {
  CHECK(size_of("1K") == 1024);
  CHECK(size_of("512KiB") == 512ull << 10);
  CHECK(size_of("64M") == 64ull << 20);
  CHECK(size_of("64MB") == 64ull << 20);
  CHECK(size_of("64m") == 64ull << 20);
  CHECK(size_of("4G") == 4ull << 30);
  CHECK(size_of("4GiB") == 4ull << 30);
  CHECK(size_of("2T") == 2ull << 40);
}

TEST_CASE("unknown size units are refused", "[units]") {
  CHECK(error_of("4X") == Code::InvalidArgument);
  CHECK(error_of("4GX") == Code::InvalidArgument);
  CHECK(error_of("4 G") == Code::InvalidArgument);
  CHECK(error_of("4Gigs") == Code::InvalidArgument);
  CHECK(error_of("4P") == Code::InvalidArgument);
}

TEST_CASE("text that is not a number is refused", "[units]") {
  CHECK(error_of("") == Code::InvalidArgument);
  CHECK(error_of("G") == Code::InvalidArgument);
  CHECK(error_of("-1") == Code::InvalidArgument);
  CHECK(error_of("lots") == Code::InvalidArgument);
}

TEST_CASE("sizes that overflow 64 bits are refused", "[units]") {
  CHECK(size_of("16777215T") == 16777215ull << 40);
  CHECK(error_of("16777216T") == Code::InvalidArgument);
  CHECK(error_of("99999999999999999999") == Code::InvalidArgument);
  CHECK(error_of("18446744073709551616") == Code::InvalidArgument);
  CHECK(size_of("18446744073709551615") == ~0ull);
}

TEST_CASE("sizes print with a binary unit", "[units]") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.0 KiB");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(64ull << 20) == "64.0 MiB");
  CHECK(format_size(4ull << 30) == "4.0 GiB");
  CHECK(format_size(3ull << 40) == "3.0 TiB");
}

TEST_CASE("a printed size parses back to the same bytes for whole units", "[units]") {
  for (uint64_t v : {1ull << 10, 7ull << 20, 5ull << 30}) {
    std::string s = format_size(v);
    // "7.0 MiB" -> "7MiB"
    std::string compact = s.substr(0, s.find('.')) + s.substr(s.find(' ') + 1);
    CHECK(size_of(compact) == v);
  }
}

}  // namespace
}  // namespace hapm

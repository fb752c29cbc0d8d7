// File data through the block maps: offsets and sizes, sparse files, offsets
// far beyond 4 GiB, truncate.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::pattern;
using test::TestFs;
using test::zeros;
constexpr uint64_t kRoot = format::kRootIno;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kTiB = 1ull << 40;

void set_size(TestFs& t, uint64_t ino, uint64_t size) {
  SetAttrRequest req;
  req.set_size = true;
  req.size = size;
  Attr out;
  HAPM_REQUIRE_OK(t->setattr(ino, req, &out));
  CHECK(out.size == size);
}

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

TEST_CASE("data written at many offsets and sizes reads back exactly", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  constexpr size_t kSpan = 3 << 20;
  std::vector<uint8_t> oracle(kSpan, 0);
  uint64_t size = 0;
  std::mt19937_64 rng(12345);
  const size_t sizes[] = {1, 7, 511, 4095, 4096, 4097, 8191, 12288, 65536 + 13, 300000};
  for (int i = 0; i < 300; ++i) {
    const size_t len = sizes[rng() % std::size(sizes)];
    const uint64_t off = rng() % (kSpan - len);
    std::vector<uint8_t> data = pattern(len, static_cast<uint64_t>(i) + 1);
    t.write(f, off, data);
    std::copy(data.begin(), data.end(), oracle.begin() + static_cast<long>(off));
    size = std::max<uint64_t>(size, off + len);
    CHECK(t.attr(f).size == size);
  }
  std::vector<uint8_t> whole = t.read(f, 0, kSpan);
  REQUIRE(whole.size() == size);
  CHECK(std::equal(whole.begin(), whole.end(), oracle.begin()));
  // Partial reads at awkward places.
  for (int i = 0; i < 200; ++i) {
    const size_t len = 1 + rng() % 20000;
    const uint64_t off = rng() % size;
    std::vector<uint8_t> got = t.read(f, off, len);
    const size_t expect = std::min<uint64_t>(len, size - off);
    REQUIRE(got.size() == expect);
    CHECK(std::equal(got.begin(), got.end(), oracle.begin() + static_cast<long>(off)));
  }
  t.remount();
  whole = t.read(f, 0, kSpan);
  CHECK(whole.size() == size);
  CHECK(std::equal(whole.begin(), whole.end(), oracle.begin()));
}

TEST_CASE("reads at or past end of file return nothing and stop at the end", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(5000, 1));
  CHECK(t.read(f, 5000, 100).empty());
  CHECK(t.read(f, 1 << 20, 100).empty());
  CHECK(t.read(f, 4990, 100).size() == 10);
  CHECK(t.read(f, 0, 0).empty());
}

TEST_CASE("writing zero bytes changes nothing", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  auto r = t->write(f, 1 << 20, "", 0);
  REQUIRE(r.is_ok());
  CHECK(r.value() == 0);
  CHECK(t.attr(f).size == 0);
}

TEST_CASE("overwriting in place keeps the block count", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(64 << 10, 1));
  const Attr before = t.attr(f);
  const uint64_t free_before = t.free_blocks();
  t.write(f, 1000, pattern(30000, 2));
  CHECK(t.attr(f).blocks_512 == before.blocks_512);
  CHECK(t.free_blocks() == free_before);
  std::vector<uint8_t> expect = pattern(64 << 10, 1);
  std::vector<uint8_t> second = pattern(30000, 2);
  std::copy(second.begin(), second.end(), expect.begin() + 1000);
  CHECK(t.read(f, 0, 64 << 10) == expect);
}

TEST_CASE("holes in a sparse file read as zeros and own no blocks", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "sparse");
  t.write(f, kGiB, std::vector<uint8_t>{0x42});
  const Attr a = t.attr(f);
  CHECK(a.size == kGiB + 1);
  CHECK(a.blocks_512 >= 8);      // the one data block
  CHECK(a.blocks_512 <= 8 * 8);  // plus a few map nodes, nothing for the hole
  CHECK(all_zero(t.read(f, 0, 64 << 10)));
  CHECK(all_zero(t.read(f, kGiB / 2, 100000)));
  std::vector<uint8_t> tail = t.read(f, kGiB - 4095, 5000);
  REQUIRE(tail.size() == 4096);
  CHECK(all_zero(std::vector<uint8_t>(tail.begin(), tail.end() - 1)));
  CHECK(tail.back() == 0x42);
}

TEST_CASE("data in the middle of a block keeps zeros around it", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 5000, pattern(100, 3));
  std::vector<uint8_t> got = t.read(f, 0, 5100);
  REQUIRE(got.size() == 5100);
  CHECK(all_zero(std::vector<uint8_t>(got.begin(), got.begin() + 5000)));
  CHECK(std::vector<uint8_t>(got.begin() + 5000, got.end()) == pattern(100, 3));
}

TEST_CASE("offsets beyond 4 GiB and in the TiB range work on a small pool", "[block_map]") {
  TestFs t(16ull << 20);
  const uint64_t f = t.make_file(kRoot, "far");
  const uint64_t offsets[] = {4 * kGiB - 100, 5 * kGiB + 123, kTiB, 3 * kTiB + 4095,
                              200 * kTiB + 7};
  for (size_t i = 0; i < std::size(offsets); ++i) t.write(f, offsets[i], pattern(10000, i + 10));
  CHECK(t.attr(f).size == 200 * kTiB + 7 + 10000);
  CHECK(t.attr(f).blocks_512 < 8 * 64);
  for (size_t i = 0; i < std::size(offsets); ++i) {
    INFO("offset " << offsets[i]);
    CHECK(t.read(f, offsets[i], 10000) == pattern(10000, i + 10));
    CHECK(all_zero(t.read(f, offsets[i] + 10000, 3000)));
  }
  t.remount();
  for (size_t i = 0; i < std::size(offsets); ++i)
    CHECK(t.read(f, offsets[i], 10000) == pattern(10000, i + 10));
}

TEST_CASE("writing past the largest file size fails with TooBig", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t limit = format::kBlockSize << (format::kMapFanoutShift * format::kMapHeightMax);
  auto r = t->write(f, limit, "x", 1);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::TooBig);
  CHECK(t.attr(f).size == 0);
  // The last byte below the limit is fine.
  t.write(f, limit - 1, std::vector<uint8_t>{1});
  CHECK(t.attr(f).size == limit);
}

TEST_CASE("truncate down then up reads zeros, including the rest of the tail block",
          "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, std::vector<uint8_t>(20000, 0xAB));
  set_size(t, f, 5000);
  CHECK(t.attr(f).size == 5000);
  CHECK(t.read(f, 0, 20000) == std::vector<uint8_t>(5000, 0xAB));
  set_size(t, f, 20000);
  std::vector<uint8_t> got = t.read(f, 0, 20000);
  REQUIRE(got.size() == 20000);
  CHECK(std::vector<uint8_t>(got.begin(), got.begin() + 5000) == std::vector<uint8_t>(5000, 0xAB));
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 5000, got.end())));

  // Growing by write after a shrink: the gap reads zeros too.
  set_size(t, f, 100);
  t.write(f, 9000, pattern(10, 4));
  got = t.read(f, 0, 9010);
  REQUIRE(got.size() == 9010);
  CHECK(std::vector<uint8_t>(got.begin(), got.begin() + 100) == std::vector<uint8_t>(100, 0xAB));
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 100, got.begin() + 9000)));

  t.remount();
  got = t.read(f, 0, 9010);
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 100, got.begin() + 9000)));
}

TEST_CASE("truncate to zero gives every block back", "[block_map]") {
  TestFs t;
  const uint64_t free_empty = t.free_blocks();
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t free_with_file = t.free_blocks();
  t.write(f, 0, pattern(1 << 20, 5));
  t.write(f, 3 * kGiB, pattern(5000, 6));
  CHECK(t.free_blocks() < free_with_file - 256);
  set_size(t, f, 0);
  CHECK(t.attr(f).blocks_512 == 0);
  CHECK(t.free_blocks() == free_with_file);
  CHECK(t.read(f, 0, 100).empty());
  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  CHECK(t.free_blocks() == free_empty);
}

TEST_CASE("truncating a huge sparse file frees its map nodes", "[block_map]") {
  TestFs t(16ull << 20);
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t free_before = t.free_blocks();
  for (int i = 0; i < 20; ++i)
    t.write(f, static_cast<uint64_t>(i) * 7 * kTiB + 12345, pattern(10, i));
  CHECK(t.free_blocks() < free_before);
  set_size(t, f, 2 * kTiB);
  CHECK(t.read(f, 12345, 10) == pattern(10, 0));
  CHECK(t.read(f, 7 * kTiB + 12345, 10).empty());
  // Grown back, the data past the cut is gone for good.
  set_size(t, f, 8 * kTiB);
  CHECK(all_zero(t.read(f, 7 * kTiB + 12345, 10)));
  set_size(t, f, 1);
  CHECK(t.free_blocks() + format::kMapHeightMax >= free_before);  // at most the map's spine
  set_size(t, f, 0);
  CHECK(t.free_blocks() == free_before);
}

TEST_CASE("a shrink inside a block keeps the data before the cut", "[block_map]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const std::vector<uint8_t> data = pattern(3 * 4096, 8);
  t.write(f, 0, data);
  for (uint64_t cut : {uint64_t{3 * 4096 - 1}, uint64_t{8192}, uint64_t{4097}, uint64_t{1}}) {
    INFO("cut at " << cut);
    set_size(t, f, cut);
    std::vector<uint8_t> got = t.read(f, 0, 3 * 4096);
    REQUIRE(got.size() == cut);
    CHECK(std::equal(got.begin(), got.end(), data.begin()));
  }
  set_size(t, f, 3 * 4096);
  std::vector<uint8_t> got = t.read(f, 0, 3 * 4096);
  CHECK(got[0] == data[0]);
  CHECK(all_zero(std::vector<uint8_t>(got.begin() + 1, got.end())));
}

}  // namespace
}  // namespace hapm

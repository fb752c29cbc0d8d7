// Sparse files, SEEK_DATA/SEEK_HOLE, and files larger than 4 GiB in a small pool.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

constexpr off_t kGiB = 1ll << 30;

TEST_CASE("a write at 1 GiB makes a sparse file that reads zeros in the hole", "[sparse]") {
  MountFixture fx;
  const std::string f = fx.path("sparse");
  const std::string data = pattern(4096, 11);
  Fd fd(::open(f.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.ok());
  REQUIRE(pwrite_all(fd.get(), data, kGiB) == 0);
  REQUIRE(::fsync(fd.get()) == 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_size == kGiB + 4096);
  // One data block plus a few map nodes, not a gigabyte.
  CHECK(st.st_blocks > 0);
  CHECK(st.st_blocks <= 64);

  CHECK(all_zero(pread_all(fd.get(), 1 << 20, 0)));
  CHECK(all_zero(pread_all(fd.get(), 1 << 20, kGiB / 2 + 12345)));
  CHECK(all_zero(pread_all(fd.get(), 4096, kGiB - 4096)));
  CHECK(diff_bytes(pread_all(fd.get(), 8192, kGiB), data) == "");

  CHECK(::lseek(fd.get(), 0, SEEK_DATA) == kGiB);
  CHECK(::lseek(fd.get(), 0, SEEK_HOLE) == 0);
  CHECK(::lseek(fd.get(), kGiB + 100, SEEK_DATA) == kGiB + 100);
  CHECK(::lseek(fd.get(), kGiB, SEEK_HOLE) == kGiB + 4096);
  CHECK(::lseek(fd.get(), kGiB + 4096, SEEK_DATA) == -1);
  CHECK(errno == ENXIO);

  // A second extent, then a punched middle of the first.
  REQUIRE(pwrite_all(fd.get(), data, 10 * 4096) == 0);
  REQUIRE(::fsync(fd.get()) == 0);
  CHECK(::lseek(fd.get(), 0, SEEK_DATA) == 10 * 4096);
  CHECK(::lseek(fd.get(), 10 * 4096, SEEK_HOLE) == 11 * 4096);
  CHECK(::lseek(fd.get(), 11 * 4096, SEEK_DATA) == kGiB);
  fd.reset();

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  Fd again(::open(f.c_str(), O_RDONLY));
  REQUIRE(again.ok());
  CHECK(diff_bytes(pread_all(again.get(), 4096, kGiB), data) == "");
  CHECK(diff_bytes(pread_all(again.get(), 4096, 10 * 4096), data) == "");
  CHECK(all_zero(pread_all(again.get(), 40960, 0)));
  CHECK(stat_of(f).st_blocks > 0);
  CHECK(stat_of(f).st_blocks <= 64);
}

TEST_CASE("a file beyond 4 GiB and 5 GiB reads back at the right offsets", "[sparse]") {
  MountFixture fx;  // the pool is far smaller than the file
  const std::string f = fx.path("large");
  struct Piece {
    off_t at;
    std::string data;
  };
  const Piece pieces[] = {
      {4 * kGiB - 300000, pattern(1 << 20, 1)},  // straddles the 4 GiB boundary
      {5 * kGiB + 123, pattern(70000, 2)},
      {5 * kGiB + kGiB / 2, pattern(4096, 3)},
      {12345, pattern(5000, 4)},
  };
  {
    Fd fd(::open(f.c_str(), O_RDWR | O_CREAT, 0644));
    REQUIRE(fd.ok());
    for (const auto& p : pieces) REQUIRE(pwrite_all(fd.get(), p.data, p.at) == 0);
    REQUIRE(::fsync(fd.get()) == 0);
    for (const auto& p : pieces) {
      INFO("offset " << p.at);
      CHECK(diff_bytes(pread_all(fd.get(), p.data.size(), p.at), p.data) == "");
    }
  }
  const off_t end = 5 * kGiB + kGiB / 2 + 4096;
  CHECK(stat_of(f).st_size == end);
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  Fd fd(::open(f.c_str(), O_RDONLY));
  REQUIRE(fd.ok());
  for (const auto& p : pieces) {
    INFO("offset " << p.at);
    CHECK(diff_bytes(pread_all(fd.get(), p.data.size(), p.at), p.data) == "");
    // The bytes just around each piece are holes (or the neighbouring piece).
    CHECK(all_zero(pread_all(fd.get(), 100, p.at + static_cast<off_t>(p.data.size()))));
  }
  CHECK(all_zero(pread_all(fd.get(), 4096, 4 * kGiB + kGiB / 2)));
  CHECK(stat_of(f).st_size == end);
  CHECK(pread_all(fd.get(), 10, end).empty());
  fd.reset();
  // Truncating it down frees the far blocks.
  REQUIRE(::truncate(f.c_str(), 20000) == 0);
  CHECK(stat_of(f).st_size == 20000);
  const std::string cut = slurp(f);
  REQUIRE(cut.size() == 20000);
  CHECK(diff_bytes(cut.substr(12345, pieces[3].data.size()), pieces[3].data) == "");
  CHECK(all_zero(cut.substr(12345 + pieces[3].data.size())));
  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

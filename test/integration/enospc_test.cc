// A full pool: ENOSPC (not a crash), nothing corrupted, space back after unlink.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr int kChunksMax = 16 * 4 + 8;  // a 16 MiB pool cannot take more

// Appends chunks with an fsync after each (with the writeback cache the
// error may surface at write or at fsync) until ENOSPC; returns how many
// chunks were acknowledged and the errno that stopped it.
int fill(const std::string& path, uint64_t seed, int* stop_errno) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  REQUIRE(fd.ok());
  *stop_errno = 0;
  int acked = 0;
  for (int i = 0; i < kChunksMax; i++) {
    int e = pwrite_all(fd.get(), pattern(kChunk, seed + i), static_cast<off_t>(i) * kChunk);
    if (e == 0 && ::fsync(fd.get()) != 0) e = errno;
    if (e != 0) {
      *stop_errno = e;
      break;
    }
    acked++;
  }
  int close_rc = fd.close_now();
  if (close_rc != 0) CHECK(errno == ENOSPC);
  return acked;
}

uint64_t free_blocks(const std::string& mnt) {
  struct statvfs sv {};
  REQUIRE(::statvfs(mnt.c_str(), &sv) == 0);
  return sv.f_bfree;
}

TEST_CASE("a full pool returns ENOSPC, stays consistent and gets its space back", "[enospc]") {
  FixtureOptions options;
  options.pool_size = "16M";
  MountFixture fx(options);
  REQUIRE(write_file(fx.path("small"), "still here") == 0);
  const uint64_t free_at_start = free_blocks(fx.mnt());

  int stop = 0;
  const int acked = fill(fx.path("filler"), 100, &stop);
  INFO("acknowledged " << acked << " chunks of " << kChunk << " bytes");
  CHECK(stop == ENOSPC);
  CHECK(acked > 8);  // the pool held a good part of its size
  CHECK(acked < kChunksMax);
  // Metadata-only operations still work or fail cleanly on a full pool.
  int e = errno_of(::mkdir(fx.path("dir-on-full-pool").c_str(), 0755));
  CHECK((e == 0 || e == ENOSPC));
  CHECK(slurp(fx.path("small")) == "still here");

  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);

  fx.mount();
  // Every acknowledged chunk is intact.
  {
    Fd fd(::open(fx.path("filler").c_str(), O_RDONLY));
    REQUIRE(fd.ok());
    int bad = 0;
    std::string first_bad;
    for (int i = 0; i < acked; i++) {
      std::string d = diff_bytes(pread_all(fd.get(), kChunk, static_cast<off_t>(i) * kChunk),
                                 pattern(kChunk, 100 + i));
      if (!d.empty() && bad++ == 0) first_bad = "chunk " + std::to_string(i) + ": " + d;
    }
    INFO("size " << stat_of(fx.path("filler")).st_size << "; first bad " << first_bad);
    CHECK(bad == 0);
  }
  REQUIRE(::unlink(fx.path("filler").c_str()) == 0);
  ::rmdir(fx.path("dir-on-full-pool").c_str());
  CHECK(eventually([&] { return free_blocks(fx.mnt()) + 16 >= free_at_start; }));

  // The same amount fits again.
  int stop2 = 0;
  const int acked2 = fill(fx.path("filler2"), 500, &stop2);
  CHECK(acked2 >= acked);
  CHECK(slurp(fx.path("small")) == "still here");
  REQUIRE(fx.unmount() == 0);
  auto r2 = fx.fsck();
  INFO(r2.command.describe());
  CHECK(r2.exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

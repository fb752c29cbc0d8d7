// Bad input to the CLI: missing, small, truncated, foreign or newer pools,
// missing or busy mountpoints, a pool mounted twice, bad flags. Each must
// give the documented exit code, a stderr line naming the problem, and
// leave the pool file exactly as it was.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <initializer_list>
#include <string>

#include <catch2/catch.hpp>

#include "fs/pool_format.h"
#include "fs/pool_header.h"
#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool mentions_any(const std::string& text, std::initializer_list<const char*> words) {
  const std::string l = lower(text);
  for (const char* w : words) {
    if (l.find(lower(w)) != std::string::npos) return true;
  }
  return false;
}

// Rewrites both header copies through `edit`, with valid checksums, so that
// only the field the test changed is wrong.
void edit_headers(const std::string& pool, const std::function<void(format::PoolHeader&)>& edit) {
  Fd fd(::open(pool.c_str(), O_RDWR));
  REQUIRE(fd.ok());
  for (uint64_t block : {format::kHeaderBlock, format::kBackupHeaderBlock}) {
    const off_t at = static_cast<off_t>(block * format::kBlockSize);
    format::PoolHeader h{};
    REQUIRE(::pread(fd.get(), &h, sizeof h, at) == static_cast<ssize_t>(sizeof h));
    REQUIRE(h.magic == format::kPoolMagic);
    REQUIRE(h.crc == header_crc(h));  // our idea of the checksum is hapm's
    edit(h);
    h.crc = header_crc(h);
    REQUIRE(::pwrite(fd.get(), &h, sizeof h, at) == static_cast<ssize_t>(sizeof h));
  }
}

// `hapm mount` (background mode, so a wrongly successful mount returns) must
// fail with `code`, name the problem, mount nothing and change nothing.
void expect_mount_refused(MountFixture& fx, const std::string& pool, const std::string& mnt,
                          int code, std::initializer_list<const char*> words,
                          const std::vector<std::string>& extra = {}) {
  const std::string before = file_digest(pool);
  const int mounts_before = mount_count(mnt);
  std::vector<std::string> args{"mount", pool, mnt, "--log-file", fx.dir() + "/refused.log"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_hapm(args, 30'000);
  const bool mounted = mount_count(mnt) > mounts_before;
  if (mounted) run_command({"umount", "-l", mnt});  // undo only what the refused command did
  INFO("hapm mount " << pool << " " << mnt << ": " << r.describe());
  CHECK(r.exit_code == code);
  CHECK_FALSE(mounted);
  CHECK(mentions_any(r.err, words));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') <= 5);  // a clear line, not a dump
  CHECK(file_digest(pool) == before);
}

FixtureOptions unmounted_options() {
  FixtureOptions options;
  options.pool_size = "64M";
  options.mount = false;
  return options;
}

TEST_CASE("mount and fsck refuse a missing pool", "[badinput]") {
  MountFixture fx(unmounted_options());
  const std::string missing = fx.dir() + "/no-such-pool";
  expect_mount_refused(fx, missing, fx.mnt(), 1, {"no-such-pool", "no such file", "not found"});
  CHECK(::access(missing.c_str(), F_OK) != 0);  // and did not create it
  auto r = run_fsck(missing);
  INFO(r.command.describe());
  CHECK(r.exit_code() == 8);
}

TEST_CASE("mount refuses a file too small to be a pool", "[badinput]") {
  MountFixture fx(unmounted_options());
  const std::string tiny = fx.dir() + "/tiny";
  REQUIRE(write_file(tiny, pattern(4096, 1)) == 0);
  expect_mount_refused(fx, tiny, fx.mnt(), 1, {"small", "size", "short", "not a hapm pool"});
  CHECK(run_fsck(tiny).exit_code() == 8);
  CHECK(file_digest(tiny) != "");
  const std::string empty = fx.dir() + "/empty";
  REQUIRE(write_file(empty, "") == 0);
  expect_mount_refused(fx, empty, fx.mnt(), 1, {"small", "size", "short", "empty"});
}

TEST_CASE("mount refuses a truncated pool", "[badinput]") {
  MountFixture fx(unmounted_options());
  REQUIRE(::truncate(fx.pool().c_str(), 32 << 20) == 0);
  expect_mount_refused(fx, fx.pool(), fx.mnt(), 1,
                       {"truncat", "size", "small", "short", "expected", "geometry"});
  const std::string before = file_digest(fx.pool());
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK((r.exit_code() == 4 || r.exit_code() == 8));
  CHECK(file_digest(fx.pool()) == before);
}

TEST_CASE("mount refuses a file with the wrong magic", "[badinput]") {
  MountFixture fx(unmounted_options());
  {
    Fd fd(::open(fx.pool().c_str(), O_RDWR));
    REQUIRE(fd.ok());
    for (off_t at : {off_t{0}, static_cast<off_t>(format::kBlockSize)}) {
      REQUIRE(::pwrite(fd.get(), "X", 1, at) == 1);
    }
  }
  expect_mount_refused(fx, fx.pool(), fx.mnt(), 1, {"magic", "not a hapm pool", "not a pool"});
  const std::string before = file_digest(fx.pool());
  CHECK(fx.fsck().exit_code() == 8);
  CHECK(file_digest(fx.pool()) == before);
}

TEST_CASE("mount refuses a pool of a newer layout version", "[badinput]") {
  MountFixture fx(unmounted_options());
  edit_headers(fx.pool(), [](format::PoolHeader& h) { h.arch.layout_version = 2; });
  expect_mount_refused(fx, fx.pool(), fx.mnt(), 1, {"version", "layout", "newer"});
  const std::string before = file_digest(fx.pool());
  CHECK(fx.fsck().exit_code() == 8);
  CHECK(file_digest(fx.pool()) == before);
}

TEST_CASE("mount refuses a pool from a foreign architecture", "[badinput]") {
  MountFixture fx(unmounted_options());
  SECTION("32-bit words") {
    edit_headers(fx.pool(), [](format::PoolHeader& h) { h.arch.word_size = 4; });
  }
  SECTION("64 KiB pages") {
    edit_headers(fx.pool(), [](format::PoolHeader& h) { h.arch.page_size = 65536; });
  }
  SECTION("big-endian") {
    edit_headers(fx.pool(), [](format::PoolHeader& h) { h.arch.endian_marker = 0x04030201; });
  }
  SECTION("big-endian magic") {
    Fd fd(::open(fx.pool().c_str(), O_RDWR));
    REQUIRE(fd.ok());
    for (off_t at : {off_t{0}, static_cast<off_t>(format::kBlockSize)}) {
      const uint64_t swapped = format::kPoolMagicSwapped;
      REQUIRE(::pwrite(fd.get(), &swapped, 8, at) == 8);
    }
  }
  expect_mount_refused(fx, fx.pool(), fx.mnt(), 1,
                       {"architecture", "endian", "foreign", "word", "page"});
  const std::string before = file_digest(fx.pool());
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 8);
  CHECK(file_digest(fx.pool()) == before);
}

TEST_CASE("mount refuses a missing or busy mountpoint", "[badinput]") {
  MountFixture fx;  // mounted
  MountFixture other(unmounted_options());
  expect_mount_refused(
      other, other.pool(), other.dir() + "/no-such-dir", 1,
      {"no-such-dir", "mountpoint", "mount point", "no such", "not found", "does not exist"});
  // fx's mountpoint is already a hapm mount.
  expect_mount_refused(other, other.pool(), fx.mnt(), 1, {"busy", "already", "mounted"});
  CHECK(is_mounted(fx.mnt()));
  REQUIRE(write_file(fx.path("alive"), "yes") == 0);
  CHECK(slurp(fx.path("alive")) == "yes");
}

TEST_CASE("the same pool cannot be mounted twice, nor checked while mounted", "[badinput]") {
  MountFixture fx;
  REQUIRE(write_file(fx.path("f"), "content") == 0);
  const std::string second = fx.dir() + "/mnt2";
  REQUIRE(::mkdir(second.c_str(), 0755) == 0);
  // The first mount is idle, so its pool does not change under the digest.
  ::sync();
  expect_mount_refused(fx, fx.pool(), second, 1, {"busy", "in use", "locked", "already"});
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 8);
  CHECK(mentions_any(r.command.err + r.command.out, {"busy", "in use", "mounted", "locked"}));
  CHECK(slurp(fx.path("f")) == "content");
}

TEST_CASE("bad flags are usage errors that change nothing", "[badinput]") {
  MountFixture fx(unmounted_options());
  expect_mount_refused(fx, fx.pool(), fx.mnt(), 2, {"--bogus"}, {"--bogus"});
  const std::string before = file_digest(fx.pool());

  auto r = run_hapm({"mount", fx.pool()});  // no mountpoint
  CHECK(r.exit_code == 2);
  r = run_hapm({"frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK_FALSE(r.err.empty());
  r = run_hapm({"fsck", fx.pool(), "--no-such-flag"});
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != 1);  // not "corrected": nothing may have run

  // mkfs: bad sizes are refused and create nothing.
  const std::string fresh = fx.dir() + "/fresh";
  r = run_hapm({"mkfs", fresh, "--size", "banana"});
  INFO(r.describe());
  CHECK((r.exit_code == 1 || r.exit_code == 2));
  CHECK(mentions_any(r.err, {"banana", "size"}));
  r = run_hapm({"mkfs", fresh, "--size", "1M"});
  CHECK((r.exit_code == 1 || r.exit_code == 2));
  CHECK(mentions_any(r.err, {"small", "size", "minimum", "at least"}));
  CHECK(::access(fresh.c_str(), F_OK) != 0);

  // mkfs over an existing pool needs --force.
  r = run_hapm({"mkfs", fx.pool(), "--size", "16M"});
  CHECK(r.exit_code == 1);
  CHECK(mentions_any(r.err, {"exists", "--force"}));
  CHECK(file_digest(fx.pool()) == before);
  CHECK(fx.fsck().exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

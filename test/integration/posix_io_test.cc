// Reading and writing file data through a real mount: sizes, offsets, open
// flags, truncation, fallocate, unlinked-but-open files.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

constexpr size_t kMiB = 1 << 20;

uint64_t free_bytes(const std::string& path) {
  struct statvfs sv {};
  REQUIRE(::statvfs(path.c_str(), &sv) == 0);
  return static_cast<uint64_t>(sv.f_bfree) * sv.f_frsize;
}

TEST_CASE("files of many sizes read back exactly, also after a remount", "[io]") {
  MountFixture fx;
  const std::vector<size_t> sizes = {1,        2,    511,      512,          4095,
                                     4096,     4097, 8191,     65536,        131073,
                                     kMiB - 1, kMiB, kMiB + 1, 2 * kMiB + 7, 3 * kMiB};
  std::map<std::string, std::string> expected;
  for (size_t i = 0; i < sizes.size(); i++) {
    std::string name = fx.path("f" + std::to_string(sizes[i]));
    expected[name] = pattern(sizes[i], i + 1);
    REQUIRE(write_file(name, expected[name]) == 0);
  }
  auto check_all = [&] {
    for (const auto& [name, data] : expected) {
      INFO(name);
      int err = 0;
      std::string got = slurp(name, &err);
      REQUIRE(err == 0);
      CHECK(stat_of(name).st_size == static_cast<off_t>(data.size()));
      CHECK(got.size() == data.size());
      CHECK(diff_bytes(got, data) == "");
    }
  };
  check_all();
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  check_all();
}

TEST_CASE("writes at unaligned offsets match an in-memory model", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("model");
  std::string model = pattern(10000, 7);
  REQUIRE(write_file(name, model) == 0);
  Fd fd(::open(name.c_str(), O_RDWR));
  REQUIRE(fd.ok());
  struct Op {
    off_t offset;
    size_t len;
  };
  // Inside a block, across block boundaries, at EOF, and past EOF (the gap
  // must read as zeros).
  const std::vector<Op> ops = {{1, 1},     {4095, 2},      {4097, 8190},  {8191, 3000},
                               {9999, 1},  {10000, 5},     {12345, 4096}, {20000, 70000},
                               {65535, 2}, {131071, 4099}, {3, 100000},   {200000, 1}};
  uint64_t seed = 100;
  for (const auto& op : ops) {
    std::string data = pattern(op.len, seed++);
    REQUIRE(pwrite_all(fd.get(), data, op.offset) == 0);
    size_t end = static_cast<size_t>(op.offset) + op.len;
    if (model.size() < end) model.resize(end, '\0');
    model.replace(static_cast<size_t>(op.offset), op.len, data);
    INFO("after pwrite at " << op.offset << " of " << op.len);
    REQUIRE(diff_bytes(pread_all(fd.get(), model.size() + 10, 0), model) == "");
    // Unaligned reads of a part of the file.
    for (off_t at : {off_t{1}, off_t{4095}, off_t{4097}, static_cast<off_t>(model.size() / 3)}) {
      size_t n = std::min<size_t>(5000, model.size() - static_cast<size_t>(at));
      CHECK(diff_bytes(pread_all(fd.get(), n, at), model.substr(static_cast<size_t>(at), n)) == "");
    }
  }
  REQUIRE(::fsync(fd.get()) == 0);
  fd.reset();
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(diff_bytes(slurp(name), model) == "");
}

TEST_CASE("O_APPEND writes always land at the end", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("log");
  REQUIRE(write_file(name, "head:") == 0);
  Fd a(::open(name.c_str(), O_WRONLY | O_APPEND));
  Fd b(::open(name.c_str(), O_WRONLY | O_APPEND));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::string expected = "head:";
  for (int i = 0; i < 20; i++) {
    std::string piece = (i % 2 ? "b" : "a") + std::to_string(i) + pattern(i * 700, i);
    int fd = i % 2 ? b.get() : a.get();
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);  // must not matter with O_APPEND
    REQUIRE(::write(fd, piece.data(), piece.size()) == static_cast<ssize_t>(piece.size()));
    expected += piece;
    CHECK(::lseek(fd, 0, SEEK_CUR) == static_cast<off_t>(expected.size()));
  }
  a.reset();
  b.reset();
  CHECK(diff_bytes(slurp(name), expected) == "");
}

TEST_CASE("O_TRUNC empties a file and O_EXCL refuses an existing name", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("t");
  REQUIRE(write_file(name, pattern(3 * kMiB, 1)) == 0);
  {
    Fd fd(::open(name.c_str(), O_WRONLY | O_TRUNC));
    REQUIRE(fd.ok());
    struct stat st {};
    REQUIRE(::fstat(fd.get(), &st) == 0);
    CHECK(st.st_size == 0);
    REQUIRE(pwrite_all(fd.get(), "xyz", 0) == 0);
  }
  CHECK(slurp(name) == "xyz");
  // The old blocks must not reappear when the file grows again.
  REQUIRE(::truncate(name.c_str(), 2 * kMiB) == 0);
  std::string after = slurp(name);
  REQUIRE(after.size() == 2 * kMiB);
  CHECK(after.substr(0, 3) == "xyz");
  CHECK(all_zero(after.substr(3)));

  CHECK(errno_of(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644)) == EEXIST);
  REQUIRE(::symlink("nowhere", fx.path("dangling").c_str()) == 0);
  CHECK(errno_of(::open(fx.path("dangling").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644)) == EEXIST);
  Fd fresh(::open(fx.path("fresh").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640));
  REQUIRE(fresh.ok());
  CHECK((stat_of(fx.path("fresh")).st_mode & 07777) == (0640 & ~current_umask()));
}

TEST_CASE("truncate and ftruncate grow with zeros and shrink for good", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("tr");
  const std::string data = pattern(300000, 3);
  REQUIRE(write_file(name, data) == 0);
  Fd fd(::open(name.c_str(), O_RDWR));
  REQUIRE(fd.ok());
  auto size_of = [&] {
    struct stat st {};
    REQUIRE(::fstat(fd.get(), &st) == 0);
    return st.st_size;
  };
  // Shrink to an unaligned size, then grow: bytes past the cut are zeros even
  // inside the block that kept its first part.
  REQUIRE(::ftruncate(fd.get(), 5000) == 0);
  CHECK(size_of() == 5000);
  REQUIRE(::ftruncate(fd.get(), 300000) == 0);
  std::string got = pread_all(fd.get(), 400000, 0);
  REQUIRE(got.size() == 300000);
  CHECK(diff_bytes(got.substr(0, 5000), data.substr(0, 5000)) == "");
  CHECK(all_zero(got.substr(5000)));

  REQUIRE(::truncate(name.c_str(), 0) == 0);
  CHECK(size_of() == 0);
  CHECK(pread_all(fd.get(), 10, 0).empty());
  REQUIRE(::truncate(name.c_str(), 10 * kMiB + 1) == 0);
  CHECK(size_of() == static_cast<off_t>(10 * kMiB + 1));
  std::string grown = pread_all(fd.get(), 11 * kMiB, 0);
  CHECK(grown.size() == 10 * kMiB + 1);
  CHECK(all_zero(grown));
  // A grown-but-unwritten file owns (next to) no blocks.
  CHECK(stat_of(name).st_blocks < 64);
  CHECK(errno_of(::truncate(fx.path("missing").c_str(), 1)) == ENOENT);
  CHECK(errno_of(::truncate(fx.mnt().c_str(), 1)) == EISDIR);
}

TEST_CASE("fallocate allocates zeros and punches holes", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("fa");
  Fd fd(::open(name.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.ok());
  REQUIRE(::fallocate(fd.get(), 0, 0, 1 * kMiB) == 0);
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(kMiB));
  CHECK(st.st_blocks >= static_cast<blkcnt_t>(kMiB / 512));
  CHECK(all_zero(pread_all(fd.get(), kMiB, 0)));

  // KEEP_SIZE beyond EOF (preallocation) is optional; either way the size
  // stays.
  const int keep = errno_of(::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, kMiB, kMiB));
  CHECK((keep == 0 || keep == EOPNOTSUPP));
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(kMiB));

  const std::string data = pattern(kMiB, 9);
  REQUIRE(pwrite_all(fd.get(), data, 0) == 0);
  REQUIRE(::fsync(fd.get()) == 0);
  REQUIRE(::fstat(fd.get(), &st) == 0);
  const blkcnt_t blocks_before = st.st_blocks;
  // Unaligned on both ends: partial blocks are zeroed, whole ones freed.
  const off_t hole_at = 100000, hole_len = 500000;
  REQUIRE(::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hole_at, hole_len) ==
          0);
  std::string expected = data;
  std::fill(expected.begin() + hole_at, expected.begin() + hole_at + hole_len, '\0');
  CHECK(diff_bytes(pread_all(fd.get(), 2 * kMiB, 0), expected) == "");
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(kMiB));
  CHECK(st.st_blocks < blocks_before);
  CHECK(st.st_blocks <= blocks_before - (hole_len / 4096 - 2) * 8);
  REQUIRE(::fsync(fd.get()) == 0);
  fd.reset();
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(diff_bytes(slurp(name), expected) == "");
}

TEST_CASE("statfs free space drops after writing 32 MiB and returns after unlink", "[io]") {
  MountFixture fx;
  struct statvfs sv {};
  REQUIRE(::statvfs(fx.mnt().c_str(), &sv) == 0);
  CHECK(sv.f_bsize > 0);
  CHECK(sv.f_blocks > 0);
  CHECK(sv.f_bfree <= sv.f_blocks);
  CHECK(sv.f_files > 0);
  CHECK(sv.f_namemax == 255);
  const uint64_t before = free_bytes(fx.mnt());
  const std::string name = fx.path("big");
  {
    Fd fd(::open(name.c_str(), O_WRONLY | O_CREAT, 0644));
    REQUIRE(fd.ok());
    for (int i = 0; i < 32; i++) REQUIRE(pwrite_all(fd.get(), pattern(kMiB, i), i * kMiB) == 0);
    REQUIRE(::fsync(fd.get()) == 0);
  }
  const uint64_t during = free_bytes(fx.mnt());
  INFO("free before " << before << ", after writing " << during);
  CHECK(during + 32 * kMiB <= before);
  REQUIRE(::unlink(name.c_str()) == 0);
  // Space comes back once the kernel forgets the inode (asynchronously).
  CHECK(eventually([&] { return free_bytes(fx.mnt()) + 64 * 1024 >= before; }));
}

TEST_CASE("an unlinked open file stays readable and its space is freed after close", "[io]") {
  MountFixture fx;
  const std::string name = fx.path("ghost");
  const std::string data = pattern(8 * kMiB, 5);
  const uint64_t before = free_bytes(fx.mnt());
  REQUIRE(write_file(name, data) == 0);
  Fd fd(::open(name.c_str(), O_RDWR));
  REQUIRE(fd.ok());
  REQUIRE(::fsync(fd.get()) == 0);
  REQUIRE(::unlink(name.c_str()) == 0);
  CHECK(errno_of(::access(name.c_str(), F_OK)) == ENOENT);
  CHECK(diff_bytes(pread_all(fd.get(), data.size(), 0), data) == "");
  // Still writable, too.
  REQUIRE(pwrite_all(fd.get(), "tail", static_cast<off_t>(data.size())) == 0);
  CHECK(pread_all(fd.get(), 4, static_cast<off_t>(data.size())) == "tail");
  struct stat st {};
  REQUIRE(::fstat(fd.get(), &st) == 0);
  CHECK(st.st_nlink == 0);
  CHECK(free_bytes(fx.mnt()) + 8 * kMiB <= before);
  fd.reset();
  CHECK(eventually([&] { return free_bytes(fx.mnt()) + 64 * 1024 >= before; }));
  // Nothing left behind for fsck to find either.
  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

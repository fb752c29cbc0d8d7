// mmap through a real mount: stores through a MAP_SHARED mapping reach the
// pool file once msync(MS_SYNC) returns (proved by killing the daemon without
// a clean unmount and finding the bytes in the pool), and mappings see data
// written with write().
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

constexpr size_t kFileSize = 1 << 20;

// A mapping that unmaps itself.
class Mapping {
 public:
  Mapping(int fd, size_t len, int prot) : len_(len) {
    addr_ = ::mmap(nullptr, len, prot, MAP_SHARED, fd, 0);
  }
  ~Mapping() {
    if (ok()) ::munmap(addr_, len_);
  }
  bool ok() const { return addr_ != MAP_FAILED; }
  char* data() const { return static_cast<char*>(addr_); }

 private:
  void* addr_ = MAP_FAILED;
  size_t len_;
};

// A pattern no pool can contain by accident: a tag unique to this run plus
// 64 KiB of pseudo-random bytes.
std::string unique_pattern() {
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  std::string tag = "hapm-mmap-test-" + std::to_string(::getpid()) + "-" + std::to_string(now);
  return tag + pattern(65536, static_cast<uint64_t>(now));
}

TEST_CASE("stores through MAP_SHARED reach the pool once msync returns", "[mmap]") {
  MountFixture fx;
  const std::string f = fx.path("mapped");
  const std::string pat = unique_pattern();
  const size_t at = 128 * 1024 + 17;  // unaligned, spans several pages
  {
    Fd fd(::open(f.c_str(), O_RDWR | O_CREAT, 0644));
    REQUIRE(fd.ok());
    REQUIRE(::ftruncate(fd.get(), kFileSize) == 0);
    Mapping map(fd.get(), kFileSize, PROT_READ | PROT_WRITE);
    REQUIRE(map.ok());
    CHECK(std::memcmp(map.data(), std::string(4096, '\0').data(), 4096) == 0);
    std::memcpy(map.data() + at, pat.data(), pat.size());
    REQUIRE(::msync(map.data(), kFileSize, MS_SYNC) == 0);
    // Coherent with read() on the same file.
    CHECK(diff_bytes(pread_all(fd.get(), pat.size(), static_cast<off_t>(at)), pat) == "");
  }
  // No clean unmount: only what the daemon had stored in the pool survives.
  fx.kill9();
  const std::string pool = read_file(fx.pool());
  CHECK(::memmem(pool.data(), pool.size(), pat.data(), pat.size()) != nullptr);

  auto r = fx.fsck({"--repair"});
  INFO(r.command.describe());
  CHECK((r.exit_code() == 0 || r.exit_code() == 1));
  if (r.exit_code() == 1) CHECK(fx.fsck().exit_code() == 0);

  fx.mount();
  const std::string back = slurp(f);
  REQUIRE(back.size() == kFileSize);
  CHECK(diff_bytes(back.substr(at, pat.size()), pat) == "");
  CHECK(all_zero(back.substr(0, at)));
  CHECK(all_zero(back.substr(at + pat.size())));
}

TEST_CASE("a second msync of changed pages also reaches the pool", "[mmap]") {
  MountFixture fx;
  const std::string f = fx.path("twice");
  const std::string first = unique_pattern(), second = unique_pattern() + "second";
  {
    Fd fd(::open(f.c_str(), O_RDWR | O_CREAT, 0644));
    REQUIRE(fd.ok());
    REQUIRE(::ftruncate(fd.get(), kFileSize) == 0);
    Mapping map(fd.get(), kFileSize, PROT_READ | PROT_WRITE);
    REQUIRE(map.ok());
    std::memcpy(map.data(), first.data(), first.size());
    REQUIRE(::msync(map.data(), kFileSize, MS_SYNC) == 0);
    // Dirty the same pages again: the kernel must write them back again.
    std::memcpy(map.data(), second.data(), second.size());
    REQUIRE(::msync(map.data(), kFileSize, MS_SYNC) == 0);
  }
  fx.kill9();
  const std::string pool = read_file(fx.pool());
  CHECK(::memmem(pool.data(), pool.size(), second.data(), second.size()) != nullptr);
  fx.mount();
  CHECK(diff_bytes(slurp(f).substr(0, second.size()), second) == "");
}

TEST_CASE("mmap reads data written with write(), before and after a remount", "[mmap]") {
  MountFixture fx;
  const std::string f = fx.path("written");
  const std::string data = pattern(3 * 65536 + 100, 21);
  REQUIRE(write_file(f, data) == 0);
  auto check_mapping = [&] {
    Fd fd(::open(f.c_str(), O_RDONLY));
    REQUIRE(fd.ok());
    Mapping map(fd.get(), data.size(), PROT_READ);
    REQUIRE(map.ok());
    CHECK(diff_bytes(std::string(map.data(), data.size()), data) == "");
  };
  check_mapping();
  // A write() after the mapping exists shows through it as well.
  {
    Fd fd(::open(f.c_str(), O_RDWR));
    REQUIRE(fd.ok());
    Mapping map(fd.get(), data.size(), PROT_READ);
    REQUIRE(map.ok());
    REQUIRE(pwrite_all(fd.get(), "CHANGED", 4096) == 0);
    CHECK(std::string(map.data() + 4096, 7) == "CHANGED");
  }
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  Fd fd(::open(f.c_str(), O_RDONLY));
  REQUIRE(fd.ok());
  Mapping map(fd.get(), data.size(), PROT_READ);
  REQUIRE(map.ok());
  std::string expected = data;
  expected.replace(4096, 7, "CHANGED");
  CHECK(diff_bytes(std::string(map.data(), data.size()), expected) == "");
}

}  // namespace
}  // namespace hapm::test

// A filesystem on a heap pool for unit tests: mkfs, mount, remount, crash,
// and small helpers that turn the callback-style API into values.
#pragma once

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fs/filesystem.h"
#include "fs/mkfs.h"
#include "fs/ram_pool.h"

namespace hapm::test {

#define HAPM_REQUIRE_OK(expr)                \
  do {                                       \
    ::hapm::Status hapm_s_ = (expr);         \
    INFO("status: " << hapm_s_.to_string()); \
    REQUIRE(hapm_s_.is_ok());                \
  } while (0)

#define HAPM_REQUIRE_CODE(expr, expected)    \
  do {                                       \
    ::hapm::Status hapm_s_ = (expr);         \
    INFO("status: " << hapm_s_.to_string()); \
    REQUIRE(hapm_s_.code() == (expected));   \
  } while (0)

// A volatile domain that calls back after every store and at every drain (a
// fence), so a test can copy the pool as a crash of the process at that
// moment would leave it.
class FenceDomain final : public PersistDomain {
 public:
  std::function<void()> on_store;
  std::function<void()> on_drain;
  void store(void* dst, const void* src, size_t len, StoreKind) override {
    std::memmove(dst, src, len);
    if (on_store) on_store();
  }
  void fill(void* dst, int byte, size_t len) override {
    std::memset(dst, byte, len);
    if (on_store) on_store();
  }
  void flush(const void*, size_t) override {}
  void drain() override {
    if (on_drain) on_drain();
  }
  std::string describe() const override { return "fence-recording (tests)"; }
};

inline std::vector<uint8_t> pattern(size_t size, uint64_t seed) {
  std::vector<uint8_t> out(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
  return out;
}

class TestFs {
 public:
  explicit TestFs(uint64_t pool_size = 32ull << 20, MkfsOptions options = {}) : pool_(pool_size) {
    Status s = make_filesystem(pool_.memory(), options);
    INFO("mkfs: " << s.to_string());
    REQUIRE(s.is_ok());
    mount();
    // Directories keep their blocks when entries go (as in ext4), so give the
    // root its first block now: tests can then compare free space before and
    // after creating and removing entries without counting it.
    make_file(format::kRootIno, ".prime");
    HAPM_REQUIRE_OK(fs_->unlink(format::kRootIno, ".prime"));
  }
  ~TestFs() {
    if (fs_) (void)fs_->unmount();
  }

  Filesystem& fs() { return *fs_; }
  Filesystem* operator->() { return fs_.get(); }
  RamPool& pool() { return pool_; }
  const RecoveryReport& report() const { return report_; }

  void mount() {
    report_ = RecoveryReport{};
    auto r = Filesystem::mount(pool_.memory(), MountOptions{}, &report_);
    INFO("mount: " << r.status().to_string());
    REQUIRE(r.is_ok());
    fs_ = std::move(r.value());
  }
  // Clean unmount, then mount again.
  void remount() {
    HAPM_REQUIRE_OK(fs_->unmount());
    fs_.reset();
    mount();
  }
  // The process dies: the Filesystem goes away without unmount().
  void crash_and_remount() {
    fs_.reset();
    mount();
  }
  void drop() { fs_.reset(); }

  // A regular file, with the kernel reference from creation already dropped.
  uint64_t make_file(uint64_t parent, std::string_view name, uint32_t perm = 0644) {
    Attr a;
    HAPM_REQUIRE_OK(fs_->mknod(parent, name, S_IFREG | perm, 0, Caller{}, &a));
    fs_->forget(a.ino, 1);
    return a.ino;
  }
  uint64_t make_dir(uint64_t parent, std::string_view name, uint32_t perm = 0755) {
    Attr a;
    HAPM_REQUIRE_OK(fs_->mkdir(parent, name, S_IFDIR | perm, Caller{}, &a));
    fs_->forget(a.ino, 1);
    return a.ino;
  }
  // Looks up without keeping the reference. 0 when absent.
  uint64_t ino_of(uint64_t parent, std::string_view name) {
    Attr a;
    Status s = fs_->lookup(parent, name, &a);
    if (!s.is_ok()) {
      INFO("lookup " << name << ": " << s.to_string());
      REQUIRE(s.code() == Code::NotFound);
      return 0;
    }
    fs_->forget(a.ino, 1);
    return a.ino;
  }
  Attr attr(uint64_t ino) {
    Attr a;
    HAPM_REQUIRE_OK(fs_->getattr(ino, &a));
    return a;
  }
  void write(uint64_t ino, uint64_t offset, const std::vector<uint8_t>& data) {
    auto r = fs_->write(ino, offset, data.data(), data.size());
    INFO("write at " << offset << ": " << r.status().to_string());
    REQUIRE(r.is_ok());
    REQUIRE(r.value() == data.size());
  }
  std::vector<uint8_t> read(uint64_t ino, uint64_t offset, size_t size) {
    std::vector<uint8_t> out;
    Status s = fs_->read(ino, offset, size, [&](const struct iovec* iov, int count) {
      for (int i = 0; i < count; ++i) {
        const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
        out.insert(out.end(), p, p + iov[i].iov_len);
      }
    });
    INFO("read at " << offset << ": " << s.to_string());
    REQUIRE(s.is_ok());
    return out;
  }
  uint64_t free_blocks() { return fs_->statfs().free_blocks; }
  uint64_t free_inodes() { return fs_->statfs().free_inodes; }

  // Every entry of a directory except "." and "..", read `batch` entries per
  // call as a kernel with a small buffer would.
  std::vector<std::string> list(uint64_t dir, size_t batch = 64) {
    std::vector<std::string> names;
    uint64_t cookie = 0;
    for (int calls = 0; calls < 10'000'000; ++calls) {
      size_t taken = 0;
      HAPM_REQUIRE_OK(fs_->readdir(dir, cookie, [&](const DirEntryView& e) {
        if (taken == batch) return false;
        ++taken;
        cookie = e.next_offset;
        if (e.name != "." && e.name != "..") names.emplace_back(e.name);
        return true;
      }));
      if (taken == 0) return names;
    }
    FAIL("readdir never reached the end");
    return names;
  }

 private:
  RamPool pool_;
  RecoveryReport report_;
  std::unique_ptr<Filesystem> fs_;
};

inline std::vector<uint8_t> zeros(size_t n) {
  return std::vector<uint8_t>(n, 0);
}

}  // namespace hapm::test

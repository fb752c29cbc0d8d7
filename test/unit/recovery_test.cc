// Mount, unmount, crash and recovery: the clean flag, orphans, and every crash
// image of a metadata operation recovering to before or after it.
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>  // RENAME_EXCHANGE
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "fs/pool_header.h"
#include "test/unit/fs_fixture.h"
#include "tools/fsck.h"

namespace hapm {
namespace {

using test::FenceDomain;
using test::pattern;
using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;
constexpr uint64_t kPoolSize = 16ull << 20;

format::PoolHeader header_of(RamPool& pool) {
  auto r = read_header(pool.memory());
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return r.value();
}

// fsck of a copy of the pool must find nothing wrong.
void require_fsck_clean(const std::vector<uint8_t>& image) {
  RamPool copy(image);
  FsckReport report = run_fsck(copy.memory(), FsckOptions{});
  std::string problems;
  for (const FsckProblem& p : report.problems) problems += p.kind + ": " + p.detail + "\n";
  INFO("fsck: " << report.error << "\n" << problems);
  CHECK(report.exit_code == kFsckClean);
  CHECK(report.problems.empty());
}

// Everything a user could observe, as text: the tree with types, sizes, link
// counts, contents, symlink targets and xattrs, plus free space.
std::string observe(Filesystem& fs) {
  std::ostringstream out;
  std::function<void(uint64_t, const std::string&)> walk = [&](uint64_t dir,
                                                               const std::string& path) {
    std::map<std::string, uint64_t> entries;
    Status s = fs.readdir(dir, 0, [&](const DirEntryView& e) {
      if (e.name != "." && e.name != "..") entries[std::string(e.name)] = e.ino;
      return true;
    });
    REQUIRE(s.is_ok());
    for (const auto& [name, ino] : entries) {
      Attr a;
      REQUIRE(fs.getattr(ino, &a).is_ok());
      const std::string p = path + "/" + name;
      out << p << " ino=" << ino << " mode=" << std::oct << a.mode << std::dec
          << " nlink=" << a.nlink << " size=" << a.size << " blocks=" << a.blocks_512;
      if (S_ISREG(a.mode)) {
        uint32_t crc = 0;
        REQUIRE(fs.read(ino, 0, 4 << 20, [&](const struct iovec* iov, int n) {
                    for (int i = 0; i < n; ++i) crc = crc32c(iov[i].iov_base, iov[i].iov_len, crc);
                  }).is_ok());
        out << " crc=" << crc;
      } else if (S_ISLNK(a.mode)) {
        std::string target;
        REQUIRE(fs.readlink(ino, &target).is_ok());
        out << " -> " << target;
      }
      std::string names;
      REQUIRE(fs.listxattr(ino, &names).is_ok());
      for (size_t b = 0, e; b < names.size(); b = e + 1) {
        e = names.find('\0', b);
        std::string value;
        REQUIRE(fs.getxattr(ino, names.substr(b, e - b), &value).is_ok());
        out << " " << names.substr(b, e - b) << "=" << value;
      }
      out << "\n";
      if (S_ISDIR(a.mode)) walk(ino, p);
    }
  };
  walk(kRoot, "");
  const FsStats st = fs.statfs();
  out << "free_blocks=" << st.free_blocks << " free_inodes=" << st.free_inodes << "\n";
  return out.str();
}

TEST_CASE("unmount and mount keep everything", "[recovery]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "dir");
  const uint64_t f = t.make_file(d, "file");
  t.write(f, 0, pattern(300000, 1));
  t.write(f, 5ull << 30, pattern(100, 2));
  Attr a;
  HAPM_REQUIRE_OK(t->symlink(kRoot, "link", "dir/file", Caller{}, &a));
  t->forget(a.ino, 1);
  HAPM_REQUIRE_OK(t->link(f, kRoot, "hard", &a));
  t->forget(a.ino, 1);
  HAPM_REQUIRE_OK(t->setxattr(f, "user.k", "v", 0));
  const std::string before = observe(t.fs());
  const uint64_t commits = t->journal_commits();
  CHECK(commits > 0);

  t.remount();
  CHECK(t.report().was_clean);
  CHECK_FALSE(t.report().journal_replayed);
  CHECK(t.report().orphans_reclaimed == 0);
  CHECK(observe(t.fs()) == before);
  CHECK_FALSE(t.report().summary().empty());

  t.drop();
  require_fsck_clean(t.pool().bytes());
}

TEST_CASE("the clean flag is cleared while mounted and set by unmount", "[recovery]") {
  TestFs t;
  CHECK(header_of(t.pool()).clean == 0);
  const uint64_t mounts = header_of(t.pool()).mount_count;
  HAPM_REQUIRE_OK(t->unmount());
  CHECK(header_of(t.pool()).clean == 1);
  CHECK(header_of(t.pool()).mount_count == mounts);
  t.drop();
  t.mount();
  CHECK(t.report().was_clean);
  CHECK(header_of(t.pool()).clean == 0);
  CHECK(header_of(t.pool()).mount_count == mounts + 1);
}

TEST_CASE("a filesystem dropped without unmount is reported unclean at the next mount",
          "[recovery]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(50000, 3));
  const std::string before = observe(t.fs());
  t.crash_and_remount();
  CHECK_FALSE(t.report().was_clean);
  CHECK(observe(t.fs()) == before);
  t.remount();
  CHECK(t.report().was_clean);
}

TEST_CASE("an unlinked open file is reclaimed as an orphan at the next mount", "[recovery]") {
  TestFs t;
  const uint64_t free_blocks = t.free_blocks();
  const uint64_t free_inodes = t.free_inodes();
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "tmp", S_IFREG | 0600, 0, Caller{}, &a));
  HAPM_REQUIRE_OK(t->open(a.ino, O_RDWR));
  t.write(a.ino, 0, pattern(2 << 20, 4));
  t->forget(a.ino, 1);
  HAPM_REQUIRE_OK(t->unlink(kRoot, "tmp"));
  CHECK(t.free_blocks() < free_blocks);

  t.crash_and_remount();  // still open when the process died
  CHECK_FALSE(t.report().was_clean);
  CHECK(t.report().orphans_reclaimed == 1);
  CHECK(t.free_blocks() == free_blocks);
  CHECK(t.free_inodes() == free_inodes);
  Attr gone;
  HAPM_REQUIRE_CODE(t->getattr(a.ino, &gone), Code::NotFound);
  t.drop();
  require_fsck_clean(t.pool().bytes());
}

TEST_CASE("a clean unmount with a file still open reclaims it and leaves no orphan", "[recovery]") {
  TestFs t;
  const uint64_t free_blocks = t.free_blocks();
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "tmp", S_IFREG | 0600, 0, Caller{}, &a));
  HAPM_REQUIRE_OK(t->open(a.ino, O_RDWR));
  t.write(a.ino, 0, pattern(100000, 5));
  HAPM_REQUIRE_OK(t->unlink(kRoot, "tmp"));
  t.remount();
  CHECK(t.report().orphans_reclaimed == 0);
  CHECK(t.free_blocks() == free_blocks);
}

TEST_CASE("the unsafe shutdown count is reported as unknown, unchanged or changed", "[recovery]") {
  RamPool pool(kPoolSize);
  HAPM_REQUIRE_OK(make_filesystem(pool.memory(), MkfsOptions{}));
  auto mount_with = [&](std::optional<uint64_t> usc) {
    MountOptions options;
    options.unsafe_shutdown_count = usc;
    RecoveryReport report;
    auto fs = Filesystem::mount(pool.memory(), options, &report);
    REQUIRE(fs.is_ok());
    HAPM_REQUIRE_OK(fs.value()->unmount());
    return report.unsafe_shutdowns;
  };
  CHECK(mount_with(std::nullopt).rfind("unknown", 0) == 0);
  mount_with(5);
  CHECK(mount_with(5) == "5 (unchanged)");
  CHECK(mount_with(7) == "7 (changed: was 5)");
}

TEST_CASE("a read-only mount refuses changes and writes nothing", "[recovery]") {
  RamPool pool(kPoolSize);
  HAPM_REQUIRE_OK(make_filesystem(pool.memory(), MkfsOptions{}));
  uint64_t f = 0;
  {
    RecoveryReport report;
    auto fs = Filesystem::mount(pool.memory(), MountOptions{}, &report);
    REQUIRE(fs.is_ok());
    Attr a;
    HAPM_REQUIRE_OK(fs.value()->mknod(kRoot, "f", S_IFREG | 0644, 0, Caller{}, &a));
    f = a.ino;
    HAPM_REQUIRE_OK(fs.value()->unmount());
  }
  const std::vector<uint8_t> before = pool.bytes();
  MountOptions options;
  options.read_only = true;
  RecoveryReport report;
  auto mounted = Filesystem::mount(pool.memory(), options, &report);
  REQUIRE(mounted.is_ok());
  Filesystem& fs = *mounted.value();
  Attr a;
  HAPM_REQUIRE_OK(fs.lookup(kRoot, "f", &a));
  HAPM_REQUIRE_CODE(fs.mknod(kRoot, "g", S_IFREG | 0644, 0, Caller{}, &a), Code::ReadOnly);
  HAPM_REQUIRE_CODE(fs.unlink(kRoot, "f"), Code::ReadOnly);
  HAPM_REQUIRE_CODE(fs.setxattr(f, "user.x", "y", 0), Code::ReadOnly);
  CHECK(fs.write(f, 0, "x", 1).status().code() == Code::ReadOnly);
  HAPM_REQUIRE_OK(fs.unmount());
  CHECK(pool.bytes() == before);
}

// Runs `op` on a fresh filesystem (after `setup`), copying the pool after
// every store and at every fence (a process crash at any of those moments);
// every copy must recover to exactly the state before or after `op`.
void check_crash_images(const std::string& what, const std::function<void(TestFs&)>& setup,
                        const std::function<void(Filesystem&)>& op) {
  INFO("operation: " << what);
  // TestFs gives the tree; the fenced pool is a byte copy of it.
  TestFs t(kPoolSizeMin);  // small: every image is a full copy
  setup(t);
  HAPM_REQUIRE_OK(t->unmount());
  t.drop();

  std::vector<uint8_t> bytes = t.pool().bytes();
  FenceDomain domain;
  PoolMemory memory(bytes.data(), bytes.size(), domain);
  RecoveryReport report;
  auto mounted = Filesystem::mount(memory, MountOptions{}, &report);
  REQUIRE(mounted.is_ok());
  Filesystem& fs = *mounted.value();
  const std::string before = observe(fs);

  std::vector<std::vector<uint8_t>> images;
  domain.on_drain = [&] { images.push_back(bytes); };
  domain.on_store = domain.on_drain;
  op(fs);
  domain.on_drain = nullptr;
  domain.on_store = nullptr;
  const std::string after = observe(fs);
  CHECK(before != after);
  CHECK(images.size() >= 2);

  for (size_t i = 0; i < images.size(); ++i) {
    INFO("crash image " << i << " of " << images.size());
    RamPool crashed(images[i]);
    RecoveryReport rr;
    auto recovered = Filesystem::mount(crashed.memory(), MountOptions{}, &rr);
    INFO(recovered.status().to_string());
    REQUIRE(recovered.is_ok());
    const std::string state = observe(*recovered.value());
    const bool is_before = state == before;
    const bool is_after = state == after;
    INFO("before:\n" << before << "after:\n" << after << "recovered:\n" << state);
    CHECK((is_before || is_after));
    HAPM_REQUIRE_OK(recovered.value()->unmount());
    recovered.value().reset();
    require_fsck_clean(crashed.bytes());
  }
  HAPM_REQUIRE_OK(fs.unmount());
}

TEST_CASE("every crash image of a metadata operation recovers to before or after it",
          "[recovery][crash]") {
  auto base = [](TestFs& t) {
    const uint64_t d = t.make_dir(kRoot, "d");
    const uint64_t f = t.make_file(kRoot, "f");
    t.write(f, 0, pattern(40000, 6));
    const uint64_t g = t.make_file(d, "g");
    t.write(g, 0, pattern(9000, 7));
    t.make_dir(d, "empty");
  };
  auto ino = [](Filesystem& fs, uint64_t parent, const char* name) {
    Attr a;
    REQUIRE(fs.lookup(parent, name, &a).is_ok());
    fs.forget(a.ino, 1);
    return a.ino;
  };
  Attr a;
  check_crash_images("create", base, [&](Filesystem& fs) {
    REQUIRE(fs.mknod(kRoot, "new", S_IFREG | 0644, 0, Caller{}, &a).is_ok());
    fs.forget(a.ino, 1);
  });
  check_crash_images("mkdir", base, [&](Filesystem& fs) {
    REQUIRE(fs.mkdir(kRoot, "nd", S_IFDIR | 0755, Caller{}, &a).is_ok());
    fs.forget(a.ino, 1);
  });
  check_crash_images("symlink", base, [&](Filesystem& fs) {
    REQUIRE(fs.symlink(kRoot, "sl", "d/g", Caller{}, &a).is_ok());
    fs.forget(a.ino, 1);
  });
  check_crash_images("append", base, [&](Filesystem& fs) {
    std::vector<uint8_t> data = pattern(100000, 8);
    auto r = fs.write(ino(fs, kRoot, "f"), 40000, data.data(), data.size());
    REQUIRE(r.is_ok());
  });
  check_crash_images("truncate", base, [&](Filesystem& fs) {
    SetAttrRequest req;
    req.set_size = true;
    req.size = 5000;
    REQUIRE(fs.setattr(ino(fs, kRoot, "f"), req, &a).is_ok());
  });
  check_crash_images("unlink", base,
                     [&](Filesystem& fs) { REQUIRE(fs.unlink(kRoot, "f").is_ok()); });
  check_crash_images("rmdir", base, [&](Filesystem& fs) {
    REQUIRE(fs.rmdir(ino(fs, kRoot, "d"), "empty").is_ok());
  });
  check_crash_images("link", base, [&](Filesystem& fs) {
    REQUIRE(fs.link(ino(fs, kRoot, "f"), ino(fs, kRoot, "d"), "f2", &a).is_ok());
    fs.forget(a.ino, 1);
  });
  check_crash_images("rename across directories", base, [&](Filesystem& fs) {
    REQUIRE(fs.rename(kRoot, "f", ino(fs, kRoot, "d"), "moved", 0).is_ok());
  });
  check_crash_images("rename replacing a file", base, [&](Filesystem& fs) {
    REQUIRE(fs.rename(ino(fs, kRoot, "d"), "g", kRoot, "f", 0).is_ok());
  });
  check_crash_images("rename exchange", base, [&](Filesystem& fs) {
    REQUIRE(fs.rename(kRoot, "f", ino(fs, kRoot, "d"), "g", RENAME_EXCHANGE).is_ok());
  });
  check_crash_images("setxattr", base, [&](Filesystem& fs) {
    REQUIRE(fs.setxattr(ino(fs, kRoot, "f"), "user.k", "value", 0).is_ok());
  });
  check_crash_images("chmod", base, [&](Filesystem& fs) {
    SetAttrRequest req;
    req.set_mode = true;
    req.mode = 0600;
    REQUIRE(fs.setattr(ino(fs, kRoot, "f"), req, &a).is_ok());
  });
  check_crash_images("fallocate", base, [&](Filesystem& fs) {
    REQUIRE(fs.fallocate(ino(fs, kRoot, "f"), 0, 0, 128 << 10).is_ok());
  });
  check_crash_images("punch hole", base, [&](Filesystem& fs) {
    REQUIRE(
        fs.fallocate(ino(fs, kRoot, "f"), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 16384)
            .is_ok());
  });
}

}  // namespace
}  // namespace hapm

// Hard links, link counts, and the life of an unlinked inode that is still
// open or referenced.
#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::pattern;
using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;

TEST_CASE("a hard link shares the inode and counts its links", "[link]") {
  TestFs t;
  const uint64_t free_inodes = t.free_inodes();
  const uint64_t free_blocks = t.free_blocks();
  const uint64_t d = t.make_dir(kRoot, "d");
  const uint64_t f = t.make_file(kRoot, "f");
  t.write(f, 0, pattern(9000, 1));
  Attr a;
  HAPM_REQUIRE_OK(t->link(f, d, "g", &a));
  t->forget(a.ino, 1);
  CHECK(a.ino == f);
  CHECK(a.nlink == 2);
  CHECK(t.ino_of(d, "g") == f);
  CHECK(t.attr(f).nlink == 2);

  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  CHECK(t.attr(f).nlink == 1);
  CHECK(t.read(f, 0, 9000) == pattern(9000, 1));
  t.remount();
  CHECK(t.attr(f).nlink == 1);
  CHECK(t.read(f, 0, 9000) == pattern(9000, 1));

  HAPM_REQUIRE_OK(t->unlink(d, "g"));
  HAPM_REQUIRE_CODE(t->getattr(f, &a), Code::NotFound);
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "d"));
  CHECK(t.free_inodes() == free_inodes);
  CHECK(t.free_blocks() == free_blocks);
}

TEST_CASE("a directory cannot be hard-linked", "[link]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  Attr a;
  HAPM_REQUIRE_CODE(t->link(d, kRoot, "d2", &a), Code::PermissionDenied);
  CHECK(t.ino_of(kRoot, "d2") == 0);
  CHECK(t.attr(d).nlink == 2);
}

TEST_CASE("a hard link into a missing directory or a file fails", "[link]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  Attr a;
  HAPM_REQUIRE_CODE(t->link(f, f, "x", &a), Code::NotADirectory);
  CHECK(t.attr(f).nlink == 1);
}

TEST_CASE("an unlinked open file keeps its data until release, then its space comes back",
          "[link]") {
  TestFs t;
  const uint64_t free_blocks = t.free_blocks();
  const uint64_t free_inodes = t.free_inodes();
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "tmp", S_IFREG | 0600, 0, Caller{}, &a));
  const uint64_t f = a.ino;
  HAPM_REQUIRE_OK(t->open(f, O_RDWR));
  t.write(f, 0, pattern(1 << 20, 2));
  const uint64_t free_in_use = t.free_blocks();
  CHECK(free_in_use + 256 <= free_blocks);

  t->forget(f, 1);  // the kernel's reference goes; the open handle stays
  HAPM_REQUIRE_OK(t->unlink(kRoot, "tmp"));
  CHECK(t.ino_of(kRoot, "tmp") == 0);
  const Attr open_attr = t.attr(f);
  CHECK(open_attr.nlink == 0);
  CHECK(t.read(f, 0, 1 << 20) == pattern(1 << 20, 2));
  t.write(f, 1 << 20, pattern(4096, 3));  // still writable
  CHECK(t.free_blocks() < free_in_use);
  CHECK(t.free_inodes() == free_inodes - 1);

  t->release(f);
  CHECK(t.free_blocks() == free_blocks);
  CHECK(t.free_inodes() == free_inodes);
  HAPM_REQUIRE_CODE(t->getattr(f, &a), Code::NotFound);
}

TEST_CASE("an unlinked file still referenced by the kernel is freed at forget", "[link]") {
  TestFs t;
  const uint64_t free_blocks = t.free_blocks();
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "f", S_IFREG | 0600, 0, Caller{}, &a));
  t.write(a.ino, 0, pattern(100000, 4));
  HAPM_REQUIRE_OK(t->lookup(kRoot, "f", &a));  // a second reference
  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  CHECK(t.free_blocks() < free_blocks);
  t->forget(a.ino, 1);
  CHECK(t.free_blocks() < free_blocks);  // one reference left
  t->forget(a.ino, 1);
  CHECK(t.free_blocks() == free_blocks);
}

TEST_CASE("a file opened twice is freed at the last release", "[link]") {
  TestFs t;
  const uint64_t free_inodes = t.free_inodes();
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_OK(t->open(f, O_RDONLY));
  HAPM_REQUIRE_OK(t->open(f, O_WRONLY));
  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  t->release(f);
  CHECK(t.free_inodes() == free_inodes - 1);
  CHECK(t.attr(f).nlink == 0);
  t->release(f);
  CHECK(t.free_inodes() == free_inodes);
}

TEST_CASE("a removed directory that is still referenced has no entries and no links", "[link]") {
  TestFs t;
  Attr a;
  HAPM_REQUIRE_OK(t->mkdir(kRoot, "d", S_IFDIR | 0755, Caller{}, &a));
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "d"));
  Attr after;
  HAPM_REQUIRE_OK(t->getattr(a.ino, &after));
  CHECK(after.nlink == 0);
  HAPM_REQUIRE_CODE(t->mknod(a.ino, "x", S_IFREG | 0644, 0, Caller{}, &after), Code::NotFound);
  t->forget(a.ino, 1);
  HAPM_REQUIRE_CODE(t->getattr(a.ino, &after), Code::NotFound);
}

}  // namespace
}  // namespace hapm

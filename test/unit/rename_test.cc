// rename(2) and its flags on the filesystem API.
#include <stdio.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::pattern;
using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;

// The ".." entry of a directory, as readdir reports it.
uint64_t dotdot(TestFs& t, uint64_t dir) {
  uint64_t parent = 0;
  HAPM_REQUIRE_OK(t->readdir(dir, 0, [&](const DirEntryView& e) {
    if (e.name == "..") parent = e.ino;
    return parent == 0;
  }));
  return parent;
}

TEST_CASE("rename moves a name within a directory", "[rename]") {
  TestFs t;
  const uint64_t a = t.make_file(kRoot, "a");
  t.write(a, 0, pattern(1000, 1));
  HAPM_REQUIRE_OK(t->rename(kRoot, "a", kRoot, "b", 0));
  CHECK(t.ino_of(kRoot, "a") == 0);
  CHECK(t.ino_of(kRoot, "b") == a);
  CHECK(t.attr(a).nlink == 1);
  CHECK(t.read(a, 0, 1000) == pattern(1000, 1));
  CHECK(t.list(kRoot) == std::vector<std::string>{"b"});
  t.remount();
  CHECK(t.ino_of(kRoot, "b") == a);
  CHECK(t.ino_of(kRoot, "a") == 0);
}

TEST_CASE("rename over an existing file replaces it and frees the old one", "[rename]") {
  TestFs t;
  const uint64_t free_inodes = t.free_inodes();
  const uint64_t a = t.make_file(kRoot, "a");
  t.write(a, 0, pattern(5000, 2));
  const uint64_t free_blocks_with_a = t.free_blocks();
  const uint64_t b = t.make_file(kRoot, "b");
  t.write(b, 0, pattern(100000, 3));
  HAPM_REQUIRE_OK(t->rename(kRoot, "a", kRoot, "b", 0));
  CHECK(t.ino_of(kRoot, "b") == a);
  CHECK(t.ino_of(kRoot, "a") == 0);
  CHECK(t.read(a, 0, 5000) == pattern(5000, 2));
  Attr gone;
  HAPM_REQUIRE_CODE(t->getattr(b, &gone), Code::NotFound);
  CHECK(t.free_inodes() == free_inodes - 1);
  CHECK(t.free_blocks() == free_blocks_with_a);
}

TEST_CASE("rename moves files and directories across directories", "[rename]") {
  TestFs t;
  const uint64_t d1 = t.make_dir(kRoot, "d1");
  const uint64_t d2 = t.make_dir(kRoot, "d2");
  const uint64_t f = t.make_file(d1, "x");
  HAPM_REQUIRE_OK(t->rename(d1, "x", d2, "y", 0));
  CHECK(t.ino_of(d1, "x") == 0);
  CHECK(t.ino_of(d2, "y") == f);

  const uint64_t sub = t.make_dir(d1, "sub");
  CHECK(t.attr(d1).nlink == 3);
  CHECK(t.attr(d2).nlink == 2);
  HAPM_REQUIRE_OK(t->rename(d1, "sub", d2, "sub", 0));
  CHECK(t.attr(d1).nlink == 2);
  CHECK(t.attr(d2).nlink == 3);
  CHECK(dotdot(t, sub) == d2);
  t.remount();
  CHECK(t.ino_of(d2, "sub") == sub);
  CHECK(dotdot(t, sub) == d2);
  CHECK(t.attr(d1).nlink == 2);
  CHECK(t.attr(d2).nlink == 3);
}

TEST_CASE("RENAME_NOREPLACE refuses an existing target and changes nothing", "[rename]") {
  TestFs t;
  const uint64_t a = t.make_file(kRoot, "a");
  const uint64_t b = t.make_file(kRoot, "b");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", kRoot, "b", RENAME_NOREPLACE), Code::AlreadyExists);
  CHECK(t.ino_of(kRoot, "a") == a);
  CHECK(t.ino_of(kRoot, "b") == b);
  HAPM_REQUIRE_OK(t->rename(kRoot, "a", kRoot, "c", RENAME_NOREPLACE));
  CHECK(t.ino_of(kRoot, "c") == a);
  CHECK(t.ino_of(kRoot, "a") == 0);
}

TEST_CASE("RENAME_EXCHANGE swaps two names atomically", "[rename]") {
  TestFs t;
  const uint64_t a = t.make_file(kRoot, "a");
  const uint64_t b = t.make_file(kRoot, "b");
  HAPM_REQUIRE_OK(t->rename(kRoot, "a", kRoot, "b", RENAME_EXCHANGE));
  CHECK(t.ino_of(kRoot, "a") == b);
  CHECK(t.ino_of(kRoot, "b") == a);
  CHECK(t.attr(a).nlink == 1);
  CHECK(t.attr(b).nlink == 1);
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", kRoot, "missing", RENAME_EXCHANGE), Code::NotFound);
  CHECK(t.ino_of(kRoot, "a") == b);
}

TEST_CASE("RENAME_EXCHANGE of a file and a directory across directories fixes links", "[rename]") {
  TestFs t;
  const uint64_t d1 = t.make_dir(kRoot, "d1");
  const uint64_t d2 = t.make_dir(kRoot, "d2");
  const uint64_t f = t.make_file(d1, "f");
  const uint64_t sub = t.make_dir(d2, "sub");
  CHECK(t.attr(d2).nlink == 3);
  HAPM_REQUIRE_OK(t->rename(d1, "f", d2, "sub", RENAME_EXCHANGE));
  CHECK(t.ino_of(d1, "f") == sub);
  CHECK(t.ino_of(d2, "sub") == f);
  CHECK(dotdot(t, sub) == d1);
  CHECK(t.attr(d1).nlink == 3);
  CHECK(t.attr(d2).nlink == 2);
}

TEST_CASE("both rename flags at once are invalid", "[rename]") {
  TestFs t;
  t.make_file(kRoot, "a");
  t.make_file(kRoot, "b");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", kRoot, "b", RENAME_NOREPLACE | RENAME_EXCHANGE),
                    Code::InvalidArgument);
}

TEST_CASE("a directory cannot move into its own subtree", "[rename]") {
  TestFs t;
  const uint64_t a = t.make_dir(kRoot, "a");
  const uint64_t b = t.make_dir(a, "b");
  const uint64_t c = t.make_dir(b, "c");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", c, "a", 0), Code::InvalidArgument);
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", a, "self", 0), Code::InvalidArgument);
  HAPM_REQUIRE_CODE(t->rename(a, "b", c, "x", 0), Code::InvalidArgument);
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", c, "a", RENAME_NOREPLACE), Code::InvalidArgument);
  t.make_file(c, "leaf");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "a", c, "leaf", RENAME_EXCHANGE), Code::InvalidArgument);
  CHECK(t.ino_of(kRoot, "a") == a);
  CHECK(t.ino_of(a, "b") == b);
  CHECK(t.ino_of(b, "c") == c);
  CHECK(dotdot(t, a) == kRoot);
}

TEST_CASE("rename of a directory over a directory needs the target to be empty", "[rename]") {
  TestFs t;
  const uint64_t free_inodes = t.free_inodes();
  const uint64_t src = t.make_dir(kRoot, "src");
  t.make_dir(kRoot, "full");
  t.make_file(t.ino_of(kRoot, "full"), "x");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "src", kRoot, "full", 0), Code::NotEmpty);
  const uint64_t empty = t.make_dir(kRoot, "empty");
  const uint32_t root_links = t.attr(kRoot).nlink;
  HAPM_REQUIRE_OK(t->rename(kRoot, "src", kRoot, "empty", 0));
  CHECK(t.ino_of(kRoot, "empty") == src);
  CHECK(t.ino_of(kRoot, "src") == 0);
  CHECK(t.attr(kRoot).nlink == root_links - 1);
  Attr gone;
  HAPM_REQUIRE_CODE(t->getattr(empty, &gone), Code::NotFound);
  CHECK(t.free_inodes() == free_inodes - 3);  // src, full, full/x
}

TEST_CASE("rename refuses to mix files and directories", "[rename]") {
  TestFs t;
  t.make_file(kRoot, "f");
  t.make_dir(kRoot, "d");
  HAPM_REQUIRE_CODE(t->rename(kRoot, "d", kRoot, "f", 0), Code::NotADirectory);
  HAPM_REQUIRE_CODE(t->rename(kRoot, "f", kRoot, "d", 0), Code::IsADirectory);
  HAPM_REQUIRE_CODE(t->rename(kRoot, "missing", kRoot, "x", 0), Code::NotFound);
  CHECK(t.list(kRoot).size() == 2);
}

TEST_CASE("rename onto itself or onto another link of the same file changes nothing", "[rename]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_OK(t->rename(kRoot, "f", kRoot, "f", 0));
  CHECK(t.ino_of(kRoot, "f") == f);
  Attr a;
  HAPM_REQUIRE_OK(t->link(f, kRoot, "g", &a));
  t->forget(f, 1);
  HAPM_REQUIRE_OK(t->rename(kRoot, "f", kRoot, "g", 0));
  // POSIX: both names remain.
  CHECK(t.ino_of(kRoot, "f") == f);
  CHECK(t.ino_of(kRoot, "g") == f);
  CHECK(t.attr(f).nlink == 2);
}

}  // namespace
}  // namespace hapm

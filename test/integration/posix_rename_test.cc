// rename(2) and renameat2(2) semantics through a real mount.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

int rename2(const std::string& from, const std::string& to, unsigned flags) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags);
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST_CASE("rename moves names within and across directories", "[rename]") {
  MountFixture fx;
  REQUIRE(::mkdir(fx.path("d1").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("d2").c_str(), 0755) == 0);
  REQUIRE(write_file(fx.path("a"), "alpha") == 0);
  const ino_t ino = stat_of(fx.path("a")).st_ino;

  REQUIRE(::rename(fx.path("a").c_str(), fx.path("b").c_str()) == 0);
  CHECK_FALSE(exists(fx.path("a")));
  CHECK(slurp(fx.path("b")) == "alpha");
  CHECK(stat_of(fx.path("b")).st_ino == ino);

  REQUIRE(::rename(fx.path("b").c_str(), fx.path("d1/c").c_str()) == 0);
  CHECK_FALSE(exists(fx.path("b")));
  CHECK(slurp(fx.path("d1/c")) == "alpha");

  // A directory with content moves across directories; link counts follow.
  REQUIRE(::mkdir(fx.path("d1/sub").c_str(), 0755) == 0);
  REQUIRE(write_file(fx.path("d1/sub/inner"), "in") == 0);
  const nlink_t d1_links = stat_of(fx.path("d1")).st_nlink;
  const nlink_t d2_links = stat_of(fx.path("d2")).st_nlink;
  REQUIRE(::rename(fx.path("d1/sub").c_str(), fx.path("d2/moved").c_str()) == 0);
  CHECK(slurp(fx.path("d2/moved/inner")) == "in");
  CHECK(stat_of(fx.path("d1")).st_nlink == d1_links - 1);
  CHECK(stat_of(fx.path("d2")).st_nlink == d2_links + 1);
  CHECK(stat_of(fx.path("d2/moved/..")).st_ino == stat_of(fx.path("d2")).st_ino);

  // Renaming a name onto itself changes nothing.
  REQUIRE(::rename(fx.path("d1/c").c_str(), fx.path("d1/c").c_str()) == 0);
  CHECK(slurp(fx.path("d1/c")) == "alpha");
  CHECK(errno_of(::rename(fx.path("nope").c_str(), fx.path("x").c_str())) == ENOENT);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(slurp(fx.path("d1/c")) == "alpha");
  CHECK(slurp(fx.path("d2/moved/inner")) == "in");
  CHECK_FALSE(exists(fx.path("d1/sub")));
  CHECK(stat_of(fx.path("d2/moved/..")).st_ino == stat_of(fx.path("d2")).st_ino);
}

TEST_CASE("rename over an existing file replaces it atomically", "[rename]") {
  MountFixture fx;
  REQUIRE(write_file(fx.path("new"), "new content") == 0);
  REQUIRE(write_file(fx.path("old"), "old content") == 0);
  Fd old_fd(::open(fx.path("old").c_str(), O_RDONLY));
  REQUIRE(old_fd.ok());
  REQUIRE(::rename(fx.path("new").c_str(), fx.path("old").c_str()) == 0);
  CHECK_FALSE(exists(fx.path("new")));
  CHECK(slurp(fx.path("old")) == "new content");
  // The replaced inode lives on for whoever has it open.
  CHECK(pread_all(old_fd.get(), 100, 0) == "old content");

  // Two names of the same inode: rename does nothing (POSIX).
  REQUIRE(::link(fx.path("old").c_str(), fx.path("alias").c_str()) == 0);
  REQUIRE(::rename(fx.path("old").c_str(), fx.path("alias").c_str()) == 0);
  CHECK(exists(fx.path("old")));
  CHECK(exists(fx.path("alias")));
  CHECK(stat_of(fx.path("old")).st_nlink == 2);
}

TEST_CASE("rename of directories: over empty, not over non-empty, not into itself", "[rename]") {
  MountFixture fx;
  for (const char* d : {"src", "empty", "full", "src/child", "src/child/grandchild"}) {
    REQUIRE(::mkdir(fx.path(d).c_str(), 0755) == 0);
  }
  REQUIRE(write_file(fx.path("full/f"), "x") == 0);
  REQUIRE(write_file(fx.path("file"), "x") == 0);

  CHECK(errno_of(::rename(fx.path("src").c_str(), fx.path("full").c_str())) == ENOTEMPTY);
  CHECK(errno_of(::rename(fx.path("src").c_str(), fx.path("src/child/x").c_str())) == EINVAL);
  CHECK(errno_of(::rename(fx.path("src").c_str(), fx.path("src/child/grandchild/x").c_str())) ==
        EINVAL);
  CHECK(errno_of(::rename(fx.path("src").c_str(), fx.path("file").c_str())) == ENOTDIR);
  CHECK(errno_of(::rename(fx.path("file").c_str(), fx.path("empty").c_str())) == EISDIR);
  CHECK(exists(fx.path("src/child/grandchild")));
  CHECK(exists(fx.path("full/f")));

  const nlink_t root_links = stat_of(fx.mnt()).st_nlink;
  REQUIRE(::rename(fx.path("src").c_str(), fx.path("empty").c_str()) == 0);
  CHECK_FALSE(exists(fx.path("src")));
  CHECK(exists(fx.path("empty/child/grandchild")));
  CHECK(stat_of(fx.mnt()).st_nlink == root_links - 1);  // one subdirectory fewer
}

TEST_CASE("renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE", "[rename]") {
  MountFixture fx;
  REQUIRE(write_file(fx.path("a"), "A") == 0);
  REQUIRE(write_file(fx.path("b"), "B") == 0);
  CHECK(errno_of(rename2(fx.path("a"), fx.path("b"), RENAME_NOREPLACE)) == EEXIST);
  CHECK(slurp(fx.path("a")) == "A");
  CHECK(slurp(fx.path("b")) == "B");
  REQUIRE(rename2(fx.path("a"), fx.path("c"), RENAME_NOREPLACE) == 0);
  CHECK(slurp(fx.path("c")) == "A");

  REQUIRE(rename2(fx.path("b"), fx.path("c"), RENAME_EXCHANGE) == 0);
  CHECK(slurp(fx.path("b")) == "A");
  CHECK(slurp(fx.path("c")) == "B");
  CHECK(errno_of(rename2(fx.path("b"), fx.path("missing"), RENAME_EXCHANGE)) == ENOENT);
  CHECK(errno_of(rename2(fx.path("b"), fx.path("c"), RENAME_EXCHANGE | RENAME_NOREPLACE)) ==
        EINVAL);

  // A file and a directory in different parents trade places; the
  // directory's ".." and both parents' link counts follow.
  REQUIRE(::mkdir(fx.path("p1").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("p2").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("p2/dir").c_str(), 0700) == 0);
  REQUIRE(write_file(fx.path("p2/dir/inside"), "inside") == 0);
  REQUIRE(write_file(fx.path("p1/file"), "file") == 0);
  const nlink_t p1 = stat_of(fx.path("p1")).st_nlink, p2 = stat_of(fx.path("p2")).st_nlink;
  REQUIRE(rename2(fx.path("p1/file"), fx.path("p2/dir"), RENAME_EXCHANGE) == 0);
  CHECK(S_ISDIR(stat_of(fx.path("p1/file")).st_mode));
  CHECK(S_ISREG(stat_of(fx.path("p2/dir")).st_mode));
  CHECK(slurp(fx.path("p1/file/inside")) == "inside");
  CHECK(slurp(fx.path("p2/dir")) == "file");
  CHECK(stat_of(fx.path("p1/file/..")).st_ino == stat_of(fx.path("p1")).st_ino);
  CHECK(stat_of(fx.path("p1")).st_nlink == p1 + 1);
  CHECK(stat_of(fx.path("p2")).st_nlink == p2 - 1);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(slurp(fx.path("p1/file/inside")) == "inside");
  CHECK(slurp(fx.path("p2/dir")) == "file");
  CHECK(stat_of(fx.path("p1/file/..")).st_ino == stat_of(fx.path("p1")).st_ino);
  CHECK(stat_of(fx.path("p1")).st_nlink == p1 + 1);
  CHECK(stat_of(fx.path("p2")).st_nlink == p2 - 1);
  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

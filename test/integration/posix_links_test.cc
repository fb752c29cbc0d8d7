// Hard links and symbolic links through a real mount.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

std::string read_link(const std::string& path, int* err) {
  std::string buf(PATH_MAX + 1, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  *err = n < 0 ? errno : 0;
  buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return buf;
}

TEST_CASE("hard links share one inode and its content", "[links]") {
  MountFixture fx;
  REQUIRE(::mkdir(fx.path("d").c_str(), 0755) == 0);
  REQUIRE(write_file(fx.path("one"), "first") == 0);
  REQUIRE(::link(fx.path("one").c_str(), fx.path("two").c_str()) == 0);
  REQUIRE(::link(fx.path("one").c_str(), fx.path("d/three").c_str()) == 0);
  struct stat a = stat_of(fx.path("one")), b = stat_of(fx.path("two")),
              c = stat_of(fx.path("d/three"));
  CHECK(a.st_ino == b.st_ino);
  CHECK(a.st_ino == c.st_ino);
  CHECK(a.st_nlink == 3);
  CHECK(c.st_nlink == 3);

  // Writes through one name are seen through the others.
  REQUIRE(write_file(fx.path("two"), "second, longer content") == 0);
  CHECK(slurp(fx.path("one")) == "second, longer content");
  CHECK(slurp(fx.path("d/three")) == "second, longer content");

  REQUIRE(::unlink(fx.path("one").c_str()) == 0);
  CHECK(stat_of(fx.path("two")).st_nlink == 2);
  CHECK(slurp(fx.path("two")) == "second, longer content");

  CHECK(errno_of(::link(fx.path("two").c_str(), fx.path("d/three").c_str())) == EEXIST);
  CHECK(errno_of(::link(fx.path("d").c_str(), fx.path("dlink").c_str())) == EPERM);
  CHECK(errno_of(::link(fx.path("gone").c_str(), fx.path("x").c_str())) == ENOENT);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(stat_of(fx.path("two")).st_nlink == 2);
  CHECK(stat_of(fx.path("two")).st_ino == stat_of(fx.path("d/three")).st_ino);
  REQUIRE(::unlink(fx.path("two").c_str()) == 0);
  CHECK(stat_of(fx.path("d/three")).st_nlink == 1);
  CHECK(slurp(fx.path("d/three")) == "second, longer content");
  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);
}

TEST_CASE("directory link counts follow mkdir and rmdir", "[links]") {
  MountFixture fx;
  const nlink_t root = stat_of(fx.mnt()).st_nlink;
  CHECK(root == 2);
  REQUIRE(::mkdir(fx.path("a").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("b").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("a/c").c_str(), 0755) == 0);
  CHECK(stat_of(fx.mnt()).st_nlink == root + 2);
  CHECK(stat_of(fx.path("a")).st_nlink == 3);
  CHECK(stat_of(fx.path("b")).st_nlink == 2);
  CHECK(errno_of(::rmdir(fx.path("a").c_str())) == ENOTEMPTY);
  REQUIRE(::rmdir(fx.path("a/c").c_str()) == 0);
  REQUIRE(::rmdir(fx.path("a").c_str()) == 0);
  CHECK(stat_of(fx.mnt()).st_nlink == root + 1);
  CHECK(errno_of(::mkdir(fx.path("b").c_str(), 0755)) == EEXIST);
  REQUIRE(write_file(fx.path("f"), "") == 0);
  CHECK(errno_of(::rmdir(fx.path("f").c_str())) == ENOTDIR);
  CHECK(errno_of(::unlink(fx.path("b").c_str())) == EISDIR);
}

TEST_CASE("symlinks keep their targets, up to 4095 bytes", "[links]") {
  MountFixture fx;
  REQUIRE(write_file(fx.path("target"), "through the link") == 0);
  REQUIRE(::symlink("target", fx.path("rel").c_str()) == 0);
  REQUIRE(::symlink(fx.path("target").c_str(), fx.path("abs").c_str()) == 0);
  REQUIRE(::symlink("does/not/exist", fx.path("dangling").c_str()) == 0);
  int err = 0;
  CHECK(read_link(fx.path("rel"), &err) == "target");
  CHECK(err == 0);
  CHECK(read_link(fx.path("abs"), &err) == fx.path("target"));
  struct stat st = stat_of(fx.path("rel"));
  CHECK(S_ISLNK(st.st_mode));
  CHECK(st.st_size == 6);
  CHECK(slurp(fx.path("rel")) == "through the link");
  CHECK(slurp(fx.path("abs")) == "through the link");
  slurp(fx.path("dangling"), &err);
  CHECK(err == ENOENT);
  read_link(fx.path("target"), &err);
  CHECK(err == EINVAL);

  // Long targets: every length up to the kernel's 4095-byte limit.
  std::string longest;
  for (size_t len : {100, 255, 256, 1000, 4000, 4095}) {
    std::string t;
    while (t.size() < len) t += "component-" + std::to_string(t.size()) + "/";
    t.resize(len);
    if (t.back() == '/') t.back() = 'x';
    const std::string name = fx.path("long" + std::to_string(len));
    INFO("target length " << len);
    REQUIRE(::symlink(t.c_str(), name.c_str()) == 0);
    CHECK(read_link(name, &err) == t);
    CHECK(stat_of(name).st_size == static_cast<off_t>(len));
    longest = t;
  }
  CHECK(errno_of(::symlink(std::string(4096, 'y').c_str(), fx.path("toolong").c_str())) ==
        ENAMETOOLONG);
  CHECK(errno_of(::symlink("x", fx.path("rel").c_str())) == EEXIST);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(read_link(fx.path("rel"), &err) == "target");
  CHECK(read_link(fx.path("long4095"), &err) == longest);
  CHECK(slurp(fx.path("abs")) == "through the link");
}

}  // namespace
}  // namespace hapm::test

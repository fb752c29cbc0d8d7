// user.* extended attributes through a real mount.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

int set(const std::string& path, const char* name, const std::string& value, int flags = 0) {
  return errno_of(::setxattr(path.c_str(), name, value.data(), value.size(), flags));
}

// The value, or sets *err (ENODATA, ...).
std::string get(const std::string& path, const char* name, int* err) {
  std::string buf(65536, '\0');
  ssize_t n = ::getxattr(path.c_str(), name, buf.data(), buf.size());
  *err = n < 0 ? errno : 0;
  buf.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return buf;
}

std::set<std::string> list(const std::string& path) {
  std::string buf(65536, '\0');
  ssize_t n = ::listxattr(path.c_str(), buf.data(), buf.size());
  REQUIRE(n >= 0);
  std::set<std::string> names;
  for (size_t at = 0; at < static_cast<size_t>(n);) {
    std::string name(buf.c_str() + at);
    names.insert(name);
    at += name.size() + 1;
  }
  return names;
}

TEST_CASE("xattrs can be set, read, listed and removed", "[xattr]") {
  MountFixture fx;
  const std::string f = fx.path("file");
  REQUIRE(write_file(f, "data") == 0);
  int err = 0;
  get(f, "user.none", &err);
  CHECK(err == ENODATA);
  CHECK(list(f).empty());

  REQUIRE(set(f, "user.colour", "blue") == 0);
  REQUIRE(set(f, "user.empty", "") == 0);
  const std::string binary = std::string("a\0b\xff", 4) + pattern(1000, 3);
  REQUIRE(set(f, "user.binary", binary) == 0);
  CHECK(get(f, "user.colour", &err) == "blue");
  CHECK(get(f, "user.empty", &err).empty());
  CHECK(err == 0);
  CHECK(diff_bytes(get(f, "user.binary", &err), binary) == "");
  CHECK(list(f) == std::set<std::string>{"user.colour", "user.empty", "user.binary"});

  // Size probes and too-small buffers.
  CHECK(::getxattr(f.c_str(), "user.colour", nullptr, 0) == 4);
  char small[2];
  CHECK(::getxattr(f.c_str(), "user.colour", small, sizeof small) == -1);
  CHECK(errno == ERANGE);
  const ssize_t list_len = ::listxattr(f.c_str(), nullptr, 0);
  CHECK(list_len ==
        static_cast<ssize_t>(sizeof("user.colour") + sizeof("user.empty") + sizeof("user.binary")));
  char short_list[5];
  CHECK(::listxattr(f.c_str(), short_list, sizeof short_list) == -1);
  CHECK(errno == ERANGE);

  // XATTR_CREATE / XATTR_REPLACE.
  CHECK(set(f, "user.colour", "red", XATTR_CREATE) == EEXIST);
  CHECK(get(f, "user.colour", &err) == "blue");
  CHECK(set(f, "user.absent", "x", XATTR_REPLACE) == ENODATA);
  CHECK(list(f).count("user.absent") == 0);
  REQUIRE(set(f, "user.colour", "a much longer red", XATTR_REPLACE) == 0);
  CHECK(get(f, "user.colour", &err) == "a much longer red");
  REQUIRE(set(f, "user.fresh", "new", XATTR_CREATE) == 0);

  REQUIRE(::removexattr(f.c_str(), "user.empty") == 0);
  CHECK(errno_of(::removexattr(f.c_str(), "user.empty")) == ENODATA);
  get(f, "user.empty", &err);
  CHECK(err == ENODATA);

  // Directories carry xattrs too.
  REQUIRE(::mkdir(fx.path("d").c_str(), 0755) == 0);
  REQUIRE(set(fx.path("d"), "user.dir", "yes") == 0);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK(get(f, "user.colour", &err) == "a much longer red");
  CHECK(diff_bytes(get(f, "user.binary", &err), binary) == "");
  CHECK(get(fx.path("d"), "user.dir", &err) == "yes");
  CHECK(list(f) == std::set<std::string>{"user.colour", "user.binary", "user.fresh"});
  CHECK(slurp(f) == "data");
}

TEST_CASE("xattrs that do not fit are refused cleanly", "[xattr]") {
  MountFixture fx;
  const std::string f = fx.path("file");
  REQUIRE(write_file(f, "") == 0);
  REQUIRE(set(f, "user.small", "kept") == 0);
  // Bigger than the per-inode xattr space: refused, nothing else lost.
  const int e = set(f, "user.huge", pattern(60000, 1));
  CHECK((e == E2BIG || e == ENOSPC || e == ERANGE));
  int err = 0;
  CHECK(get(f, "user.small", &err) == "kept");
  get(f, "user.huge", &err);
  CHECK(err == ENODATA);
  // Fill up with medium values until refused; all the accepted ones read back.
  int accepted = 0;
  for (int i = 0; i < 64; i++) {
    std::string name = "user.v" + std::to_string(i);
    if (set(f, name.c_str(), pattern(300, i)) != 0) break;
    accepted++;
  }
  CHECK(accepted > 0);
  for (int i = 0; i < accepted; i++) {
    std::string name = "user.v" + std::to_string(i);
    CHECK(diff_bytes(get(f, name.c_str(), &err), pattern(300, i)) == "");
  }
  CHECK(get(f, "user.small", &err) == "kept");
  const std::string long_name = "user." + std::string(251, 'n');  // 256 > XATTR_NAME_MAX
  CHECK(set(f, long_name.c_str(), "v") == ERANGE);
}

}  // namespace
}  // namespace hapm::test

// user.* extended attributes.
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;

std::set<std::string> names_of(TestFs& t, uint64_t ino) {
  std::string list;
  HAPM_REQUIRE_OK(t->listxattr(ino, &list));
  std::set<std::string> names;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find('\0', start);
    REQUIRE(end != std::string::npos);  // every name is NUL-terminated
    names.insert(list.substr(start, end - start));
    start = end + 1;
  }
  return names;
}

std::string value_of(TestFs& t, uint64_t ino, const std::string& name) {
  std::string v;
  HAPM_REQUIRE_OK(t->getxattr(ino, name, &v));
  return v;
}

TEST_CASE("xattrs can be set, read, listed and removed", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  CHECK(names_of(t, f).empty());
  HAPM_REQUIRE_OK(t->setxattr(f, "user.colour", "blue", 0));
  HAPM_REQUIRE_OK(t->setxattr(f, "user.size", "large", 0));
  CHECK(value_of(t, f, "user.colour") == "blue");
  CHECK(value_of(t, f, "user.size") == "large");
  CHECK(names_of(t, f) == std::set<std::string>{"user.colour", "user.size"});

  HAPM_REQUIRE_OK(t->setxattr(f, "user.colour", "a much longer shade of green", 0));
  CHECK(value_of(t, f, "user.colour") == "a much longer shade of green");
  CHECK(value_of(t, f, "user.size") == "large");

  HAPM_REQUIRE_OK(t->removexattr(f, "user.colour"));
  CHECK(names_of(t, f) == std::set<std::string>{"user.size"});
  std::string v;
  HAPM_REQUIRE_CODE(t->getxattr(f, "user.colour", &v), Code::NoData);
  HAPM_REQUIRE_CODE(t->removexattr(f, "user.colour"), Code::NoData);
}

TEST_CASE("xattr values may be empty or binary", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const std::string binary("\0\x01\xff\0tail", 8);
  HAPM_REQUIRE_OK(t->setxattr(f, "user.empty", "", 0));
  HAPM_REQUIRE_OK(t->setxattr(f, "user.bin", binary, 0));
  CHECK(value_of(t, f, "user.empty").empty());
  CHECK(value_of(t, f, "user.bin") == binary);
  CHECK(names_of(t, f).count("user.empty") == 1);
}

TEST_CASE("XATTR_CREATE refuses an existing name and XATTR_REPLACE a missing one", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_CODE(t->setxattr(f, "user.k", "v1", XATTR_REPLACE), Code::NoData);
  CHECK(names_of(t, f).empty());
  HAPM_REQUIRE_OK(t->setxattr(f, "user.k", "v1", XATTR_CREATE));
  HAPM_REQUIRE_CODE(t->setxattr(f, "user.k", "v2", XATTR_CREATE), Code::AlreadyExists);
  CHECK(value_of(t, f, "user.k") == "v1");
  HAPM_REQUIRE_OK(t->setxattr(f, "user.k", "v3", XATTR_REPLACE));
  CHECK(value_of(t, f, "user.k") == "v3");
}

TEST_CASE("a value too big for the xattr space fails with NoSpace and changes nothing", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_OK(t->setxattr(f, "user.keep", "kept", 0));
  const std::string huge(format::kXattrSpace + 1, 'v');
  HAPM_REQUIRE_CODE(t->setxattr(f, "user.huge", huge, 0), Code::NoSpace);
  CHECK(names_of(t, f) == std::set<std::string>{"user.keep"});
  CHECK(value_of(t, f, "user.keep") == "kept");

  // Filling the space name by name ends in NoSpace too, keeping what fit.
  const std::string chunk(500, 'c');
  int stored = 0;
  Status last;
  for (int i = 0; i < 20; ++i) {
    last = t->setxattr(f, "user.fill" + std::to_string(i), chunk, 0);
    if (!last.is_ok()) break;
    ++stored;
  }
  CHECK(last.code() == Code::NoSpace);
  CHECK(stored >= 5);
  CHECK(names_of(t, f).size() == static_cast<size_t>(stored) + 1);
  for (int i = 0; i < stored; ++i) CHECK(value_of(t, f, "user.fill" + std::to_string(i)) == chunk);
}

TEST_CASE("an xattr name longer than 255 bytes is out of range", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const std::string long_name = "user." + std::string(251, 'n');
  HAPM_REQUIRE_CODE(t->setxattr(f, long_name, "v", 0), Code::OutOfRange);
  const std::string max_name = "user." + std::string(250, 'n');
  HAPM_REQUIRE_OK(t->setxattr(f, max_name, "v", 0));
  CHECK(value_of(t, f, max_name) == "v");
}

TEST_CASE("xattr namespaces other than user, trusted and security are not supported", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_CODE(t->setxattr(f, "system.posix_acl_access", "v", 0), Code::NotSupported);
  HAPM_REQUIRE_CODE(t->setxattr(f, "nonsense", "v", 0), Code::NotSupported);
  HAPM_REQUIRE_CODE(t->setxattr(f, "user.", "v", 0), Code::NotSupported);
  CHECK(names_of(t, f).empty());
  HAPM_REQUIRE_OK(t->setxattr(f, "trusted.x", "1", 0));
  HAPM_REQUIRE_OK(t->setxattr(f, "security.y", "2", 0));
  CHECK(names_of(t, f) == std::set<std::string>{"trusted.x", "security.y"});
}

TEST_CASE("xattrs persist across unmount and mount", "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t d = t.make_dir(kRoot, "d");
  HAPM_REQUIRE_OK(t->setxattr(f, "user.a", "1", 0));
  HAPM_REQUIRE_OK(t->setxattr(f, "user.b", std::string(1000, 'b'), 0));
  HAPM_REQUIRE_OK(t->setxattr(d, "user.dir", "yes", 0));
  t.remount();
  CHECK(names_of(t, f) == std::set<std::string>{"user.a", "user.b"});
  CHECK(value_of(t, f, "user.b") == std::string(1000, 'b'));
  CHECK(value_of(t, d, "user.dir") == "yes");
  t.crash_and_remount();
  CHECK(value_of(t, f, "user.a") == "1");
}

TEST_CASE("changing xattrs does not leak blocks and removing the last one frees its block",
          "[xattr]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  const uint64_t free_before = t.free_blocks();
  const Attr before = t.attr(f);
  HAPM_REQUIRE_OK(t->setxattr(f, "user.v", "0", 0));
  const uint64_t free_with_xattr = t.free_blocks();
  CHECK(free_with_xattr < free_before);
  CHECK(t.attr(f).blocks_512 > before.blocks_512);
  for (int i = 1; i <= 100; ++i) HAPM_REQUIRE_OK(t->setxattr(f, "user.v", std::to_string(i), 0));
  CHECK(t.free_blocks() == free_with_xattr);
  CHECK(value_of(t, f, "user.v") == "100");
  HAPM_REQUIRE_OK(t->removexattr(f, "user.v"));
  CHECK(t.free_blocks() == free_before);
  CHECK(t.attr(f).blocks_512 == before.blocks_512);
}

TEST_CASE("unlinking a file frees its xattr block", "[xattr]") {
  TestFs t;
  const uint64_t free_before = t.free_blocks();
  const uint64_t f = t.make_file(kRoot, "f");
  HAPM_REQUIRE_OK(t->setxattr(f, "user.v", std::string(3000, 'x'), 0));
  HAPM_REQUIRE_OK(t->unlink(kRoot, "f"));
  CHECK(t.free_blocks() == free_before);
}

}  // namespace
}  // namespace hapm

// Permissions (checked by the kernel with default_permissions, for every
// user because root mounts with allow_other), chmod, chown and timestamps.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

constexpr uid_t kNobody = 65534;

// Runs `action` in a child process as uid/gid 65534 and returns what it
// returned (an errno value, 0 for success); -1 if the child failed oddly.
int as_nobody(const std::function<int()>& action) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) {
      _exit(250);
    }
    _exit(action() & 0xff);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 250) return -1;
  return WEXITSTATUS(status);
}

int try_open(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

int64_t ns_of(const struct timespec& t) {
  return t.tv_sec * 1'000'000'000ll + t.tv_nsec;
}

TEST_CASE("other users are refused or allowed by the permission bits", "[perm]") {
  MountFixture fx;
  REQUIRE(write_file(fx.path("secret"), "top secret", 0600) == 0);
  REQUIRE(::chmod(fx.path("secret").c_str(), 0600) == 0);
  REQUIRE(write_file(fx.path("public"), "for everyone", 0644) == 0);
  REQUIRE(::chmod(fx.path("public").c_str(), 0644) == 0);
  REQUIRE(::mkdir(fx.path("closed").c_str(), 0755) == 0);
  REQUIRE(::mkdir(fx.path("open").c_str(), 0777) == 0);
  REQUIRE(::chmod(fx.path("open").c_str(), 0777) == 0);
  REQUIRE(::mkdir(fx.path("private").c_str(), 0700) == 0);
  REQUIRE(write_file(fx.path("private/inner"), "x", 0644) == 0);

  CHECK(as_nobody([&] { return try_open(fx.path("secret"), O_RDONLY); }) == EACCES);
  CHECK(as_nobody([&] { return try_open(fx.path("public"), O_RDONLY); }) == 0);
  CHECK(as_nobody([&] {
          int err = 0;
          std::string s = slurp(fx.path("public"), &err);
          return err != 0 ? err : (s == "for everyone" ? 0 : 99);
        }) == 0);
  CHECK(as_nobody([&] { return try_open(fx.path("public"), O_WRONLY); }) == EACCES);
  CHECK(as_nobody([&] { return try_open(fx.path("closed/new"), O_WRONLY | O_CREAT); }) == EACCES);
  CHECK(as_nobody([&] { return try_open(fx.path("private/inner"), O_RDONLY); }) == EACCES);
  CHECK(as_nobody([&] { return errno_of(::chmod(fx.path("public").c_str(), 0777)); }) == EPERM);
  CHECK(as_nobody([&] { return errno_of(::unlink(fx.path("closed/../public").c_str())); }) ==
        EACCES);

  // Creating in a world-writable directory works and the file is theirs.
  CHECK(as_nobody([&] { return try_open(fx.path("open/mine"), O_WRONLY | O_CREAT); }) == 0);
  struct stat st = stat_of(fx.path("open/mine"));
  CHECK(st.st_uid == kNobody);
  CHECK(st.st_gid == kNobody);
  // The owner may chmod their own file.
  CHECK(as_nobody([&] { return errno_of(::chmod(fx.path("open/mine").c_str(), 0600)); }) == 0);
  CHECK((stat_of(fx.path("open/mine")).st_mode & 07777) == 0600);
  // Root reads anything.
  CHECK(slurp(fx.path("secret")) == "top secret");
}

TEST_CASE("files are created with the requested mode, chmod and chown stick", "[perm]") {
  MountFixture fx;
  const mode_t saved = ::umask(0);
  for (mode_t mode : {0600, 0644, 0755, 0000, 0777, 01777, 02755}) {
    const std::string name = fx.path("m" + std::to_string(mode));
    Fd fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode));
    REQUIRE(fd.ok());
    INFO("mode " << std::oct << mode);
    CHECK((stat_of(name).st_mode & 07777) == mode);
    CHECK(S_ISREG(stat_of(name).st_mode));
  }
  REQUIRE(::mkdir(fx.path("dir").c_str(), 0711) == 0);
  CHECK((stat_of(fx.path("dir")).st_mode & 07777) == 0711);
  ::umask(saved);

  const std::string f = fx.path("m420");  // 0644
  struct stat before = stat_of(f);
  REQUIRE(::chmod(f.c_str(), 0751) == 0);
  CHECK((stat_of(f).st_mode & 07777) == 0751);
  CHECK(ns_of(stat_of(f).st_ctim) >= ns_of(before.st_ctim));
  REQUIRE(::chown(f.c_str(), 1234, 5678) == 0);
  CHECK(stat_of(f).st_uid == 1234);
  CHECK(stat_of(f).st_gid == 5678);
  REQUIRE(::chown(f.c_str(), static_cast<uid_t>(-1), 42) == 0);
  CHECK(stat_of(f).st_uid == 1234);
  CHECK(stat_of(f).st_gid == 42);
  REQUIRE(::lchown(fx.path("dir").c_str(), 7, 8) == 0);
  CHECK(stat_of(fx.path("dir")).st_uid == 7);

  REQUIRE(fx.unmount() == 0);
  fx.mount();
  CHECK((stat_of(f).st_mode & 07777) == 0751);
  CHECK(stat_of(f).st_uid == 1234);
  CHECK(stat_of(f).st_gid == 42);
  CHECK(stat_of(fx.path("dir")).st_gid == 8);
}

TEST_CASE("utimensat sets, keeps and refreshes timestamps", "[perm]") {
  MountFixture fx;
  const std::string f = fx.path("times");
  REQUIRE(write_file(f, "t") == 0);
  struct timespec ts[2] = {{1'000'000'000, 123'456'789}, {1'500'000'000, 987'654'321}};
  REQUIRE(::utimensat(AT_FDCWD, f.c_str(), ts, 0) == 0);
  struct stat st = stat_of(f);
  CHECK(ns_of(st.st_atim) == ns_of(ts[0]));
  CHECK(ns_of(st.st_mtim) == ns_of(ts[1]));

  // UTIME_OMIT keeps one, UTIME_NOW sets the other to the current time.
  struct timespec now_before {};
  ::clock_gettime(CLOCK_REALTIME, &now_before);
  struct timespec partial[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  REQUIRE(::utimensat(AT_FDCWD, f.c_str(), partial, 0) == 0);
  struct timespec now_after {};
  ::clock_gettime(CLOCK_REALTIME, &now_after);
  st = stat_of(f);
  CHECK(ns_of(st.st_atim) == ns_of(ts[0]));
  // The kernel's and our clock agree to within a timer tick.
  CHECK(ns_of(st.st_mtim) >= ns_of(now_before) - 20'000'000);
  CHECK(ns_of(st.st_mtim) <= ns_of(now_after) + 20'000'000);

  // Writing updates mtime (set it to the past first so any change shows).
  REQUIRE(::utimensat(AT_FDCWD, f.c_str(), ts, 0) == 0);
  {
    Fd fd(::open(f.c_str(), O_WRONLY));
    REQUIRE(fd.ok());
    REQUIRE(pwrite_all(fd.get(), "more", 1) == 0);
    REQUIRE(::fsync(fd.get()) == 0);
  }
  CHECK(ns_of(stat_of(f).st_mtim) > ns_of(ts[1]));

  REQUIRE(::utimensat(AT_FDCWD, f.c_str(), ts, 0) == 0);
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  st = stat_of(f);
  CHECK(ns_of(st.st_atim) == ns_of(ts[0]));
  CHECK(ns_of(st.st_mtim) == ns_of(ts[1]));
}

}  // namespace
}  // namespace hapm::test

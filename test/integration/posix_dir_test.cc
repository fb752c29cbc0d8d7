// Directories: readdir while the directory changes, and a directory with
// 100,000 entries.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test/integration/mount_fixture.h"
#include "test/integration/test_util.h"

namespace hapm::test {
namespace {

// Names in one pass of readdir, with how often each appeared.
std::map<std::string, int> list_dir(const std::string& path, int* err) {
  std::map<std::string, int> names;
  *err = 0;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    *err = errno;
    return names;
  }
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      *err = errno;
      break;
    }
    names[e->d_name]++;
  }
  ::closedir(d);
  return names;
}

int create_empty(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

TEST_CASE("readdir under concurrent create and unlink lists stable entries exactly once", "[dir]") {
  MountFixture fx;
  const std::string dir = fx.path("busy");
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  // Long names so one listing needs many FUSE readdir requests, resumed at
  // the cookies while the churn below moves things around.
  constexpr int kStable = 600;
  auto stable_name = [](int i) { return "stable-entry-with-a-longish-name-" + std::to_string(i); };
  for (int i = 0; i < kStable; i++) REQUIRE(create_empty(dir + "/" + stable_name(i)) == 0);

  std::atomic<bool> stop{false};
  std::atomic<int> churn_errors{0};
  std::atomic<long> churn_ops{0};
  std::thread churn([&] {
    std::mt19937 rng(1234);
    std::vector<int> live;
    // Bounded in count; the lister normally stops it much earlier.
    for (long step = 0; step < 2'000'000 && !stop.load(); step++) {
      if (live.size() < 300 && (live.empty() || rng() % 2 == 0)) {
        int id = static_cast<int>(step);
        if (create_empty(dir + "/churn-" + std::to_string(id)) != 0) churn_errors++;
        live.push_back(id);
      } else {
        size_t k = rng() % live.size();
        if (::unlink((dir + "/churn-" + std::to_string(live[k])).c_str()) != 0) churn_errors++;
        live[k] = live.back();
        live.pop_back();
      }
      churn_ops++;
    }
  });

  int listings = 0, bad_listings = 0;
  std::string first_problem;
  for (; listings < 150; listings++) {
    int err = 0;
    auto names = list_dir(dir, &err);
    std::string problem;
    if (err != 0) problem = "readdir failed: " + std::string(strerror(err));
    for (const auto& [name, count] : names) {
      if (count != 1) problem += " '" + name + "' listed " + std::to_string(count) + " times;";
    }
    for (int i = 0; i < kStable; i++) {
      if (names.count(stable_name(i)) == 0) problem += " missing " + stable_name(i) + ";";
    }
    if (names["."] != 1 || names[".."] != 1) problem += " dot entries wrong;";
    if (!problem.empty()) {
      bad_listings++;
      if (first_problem.empty()) first_problem = problem.substr(0, 2000);
    }
  }
  stop = true;
  churn.join();
  INFO("listings " << listings << ", churn operations " << churn_ops.load());
  INFO("first problem: " << first_problem);
  CHECK(churn_errors.load() == 0);
  CHECK(bad_listings == 0);
  CHECK(churn_ops.load() > 0);
}

TEST_CASE("a directory with 100,000 entries", "[dir][slow]") {
  constexpr int kEntries = 100'000;
  FixtureOptions options;
  options.pool_size = "512M";
  options.mkfs_args = {"--inodes", "131072"};
  MountFixture fx(options);
  const std::string dir = fx.path("huge");
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  auto name_of = [](int i) { return "entry-" + std::to_string(i); };
  int create_failures = 0, first_err = 0;
  for (int i = 0; i < kEntries; i++) {
    int e = create_empty(dir + "/" + name_of(i));
    if (e != 0 && create_failures++ == 0) first_err = e;
  }
  INFO("first create error: " << strerror(first_err));
  REQUIRE(create_failures == 0);

  std::set<ino_t> inodes;
  for (int i : {0, 1, 14, 15, 16, 4999, 50000, 77777, kEntries - 1}) {
    struct stat st = stat_of(dir + "/" + name_of(i));
    CHECK(S_ISREG(st.st_mode));
    inodes.insert(st.st_ino);
  }
  CHECK(inodes.size() == 9);
  CHECK(create_empty(dir + "/" + name_of(123)) == EEXIST);
  CHECK(errno_of(::access((dir + "/entry-" + std::to_string(kEntries)).c_str(), F_OK)) == ENOENT);

  auto check_listing = [&] {
    int err = 0;
    auto names = list_dir(dir, &err);
    REQUIRE(err == 0);
    CHECK(names.size() == static_cast<size_t>(kEntries) + 2);
    int dups = 0, missing = 0;
    for (const auto& [name, count] : names) dups += count != 1;
    for (int i = 0; i < kEntries; i++) missing += names.count(name_of(i)) == 0;
    CHECK(dups == 0);
    CHECK(missing == 0);
  };
  check_listing();
  REQUIRE(fx.unmount() == 0);
  fx.mount();
  check_listing();

  int unlink_failures = 0;
  for (int i = 0; i < kEntries; i++) {
    unlink_failures += ::unlink((dir + "/" + name_of(i)).c_str()) != 0;
  }
  CHECK(unlink_failures == 0);
  int err = 0;
  auto rest = list_dir(dir, &err);
  CHECK(rest.size() == 2);
  REQUIRE(::rmdir(dir.c_str()) == 0);
  REQUIRE(fx.unmount() == 0);
  auto r = fx.fsck();
  INFO(r.command.describe());
  CHECK(r.exit_code() == 0);
}

}  // namespace
}  // namespace hapm::test

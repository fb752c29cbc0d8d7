// Directories through the filesystem API: entries, names, readdir cookies,
// and a directory of 100,000 entries.
#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test/unit/fs_fixture.h"

namespace hapm {
namespace {

using test::TestFs;
constexpr uint64_t kRoot = format::kRootIno;

std::string name_of(const char* prefix, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%06d", prefix, i);
  return buf;
}

TEST_CASE("a created file can be looked up and unlinked", "[directory]") {
  TestFs t;
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "hello", S_IFREG | 0640, 0, Caller{7, 8}, &a));
  CHECK(a.ino > kRoot);
  CHECK(S_ISREG(a.mode));
  CHECK((a.mode & 07777) == 0640);
  CHECK(a.nlink == 1);
  CHECK(a.uid == 7);
  CHECK(a.gid == 8);
  CHECK(a.size == 0);
  t->forget(a.ino, 1);

  Attr found;
  HAPM_REQUIRE_OK(t->lookup(kRoot, "hello", &found));
  CHECK(found.ino == a.ino);
  CHECK(found.generation == a.generation);
  t->forget(found.ino, 1);

  HAPM_REQUIRE_OK(t->unlink(kRoot, "hello"));
  HAPM_REQUIRE_CODE(t->lookup(kRoot, "hello", &found), Code::NotFound);
  HAPM_REQUIRE_CODE(t->unlink(kRoot, "hello"), Code::NotFound);
  CHECK(t.list(kRoot).empty());
}

TEST_CASE("readdir starts with . and .. pointing at the directory and its parent", "[directory]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  t.make_file(d, "f");
  std::vector<std::pair<std::string, uint64_t>> seen;
  std::vector<uint32_t> types;
  HAPM_REQUIRE_OK(t->readdir(d, 0, [&](const DirEntryView& e) {
    seen.emplace_back(std::string(e.name), e.ino);
    types.push_back(e.type);
    return true;
  }));
  REQUIRE(seen.size() == 3);
  CHECK(seen[0] == std::make_pair(std::string("."), d));
  CHECK(seen[1] == std::make_pair(std::string(".."), kRoot));
  CHECK(seen[2].first == "f");
  CHECK(types[0] == DT_DIR);
  CHECK(types[1] == DT_DIR);
  CHECK(types[2] == DT_REG);

  seen.clear();
  HAPM_REQUIRE_OK(t->readdir(kRoot, 0, [&](const DirEntryView& e) {
    seen.emplace_back(std::string(e.name), e.ino);
    return true;
  }));
  REQUIRE(seen.size() >= 2);
  CHECK(seen[1] == std::make_pair(std::string(".."), kRoot));  // the root is its own parent
}

TEST_CASE("readdir reports the type of every kind of entry", "[directory]") {
  TestFs t;
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, "fifo", S_IFIFO | 0600, 0, Caller{}, &a));
  t->forget(a.ino, 1);
  HAPM_REQUIRE_OK(t->symlink(kRoot, "link", "target", Caller{}, &a));
  t->forget(a.ino, 1);
  t.make_dir(kRoot, "dir");
  t.make_file(kRoot, "file");
  std::map<std::string, uint32_t> types;
  HAPM_REQUIRE_OK(t->readdir(kRoot, 0, [&](const DirEntryView& e) {
    types[std::string(e.name)] = e.type;
    return true;
  }));
  CHECK(types["fifo"] == DT_FIFO);
  CHECK(types["link"] == DT_LNK);
  CHECK(types["dir"] == DT_DIR);
  CHECK(types["file"] == DT_REG);
}

TEST_CASE("a symlink stores its target", "[directory]") {
  TestFs t;
  const std::string long_target(4000, 'x');
  for (const std::string& target : {std::string("../some/where"), long_target}) {
    Attr a;
    HAPM_REQUIRE_OK(t->symlink(kRoot, "l", target, Caller{}, &a));
    CHECK(S_ISLNK(a.mode));
    CHECK(a.size == target.size());
    std::string got;
    HAPM_REQUIRE_OK(t->readlink(a.ino, &got));
    CHECK(got == target);
    t.remount();
    got.clear();
    HAPM_REQUIRE_OK(t->readlink(t.ino_of(kRoot, "l"), &got));
    CHECK(got == target);
    HAPM_REQUIRE_OK(t->unlink(kRoot, "l"));
  }
  const uint64_t f = t.make_file(kRoot, "plain");
  std::string got;
  HAPM_REQUIRE_CODE(t->readlink(f, &got), Code::InvalidArgument);
}

TEST_CASE("a name of 255 bytes is fine and 256 bytes is too long", "[directory]") {
  TestFs t;
  const std::string ok(255, 'a');
  const std::string too_long(256, 'b');
  Attr a;
  HAPM_REQUIRE_OK(t->mknod(kRoot, ok, S_IFREG | 0644, 0, Caller{}, &a));
  t->forget(a.ino, 1);
  const uint64_t f = a.ino;
  CHECK(t.ino_of(kRoot, ok) == f);
  std::vector<std::string> names = t.list(kRoot);
  REQUIRE(names.size() == 1);
  CHECK(names[0] == ok);

  HAPM_REQUIRE_CODE(t->mknod(kRoot, too_long, S_IFREG | 0644, 0, Caller{}, &a), Code::NameTooLong);
  HAPM_REQUIRE_CODE(t->mkdir(kRoot, too_long, S_IFDIR | 0755, Caller{}, &a), Code::NameTooLong);
  HAPM_REQUIRE_CODE(t->symlink(kRoot, too_long, "x", Caller{}, &a), Code::NameTooLong);
  HAPM_REQUIRE_CODE(t->link(f, kRoot, too_long, &a), Code::NameTooLong);
  HAPM_REQUIRE_CODE(t->rename(kRoot, ok, kRoot, too_long, 0), Code::NameTooLong);
  CHECK(t.list(kRoot) == std::vector<std::string>{ok});
}

TEST_CASE("creating a name that exists fails with AlreadyExists", "[directory]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "x");
  t.make_dir(kRoot, "d");
  Attr a;
  HAPM_REQUIRE_CODE(t->mknod(kRoot, "x", S_IFREG | 0644, 0, Caller{}, &a), Code::AlreadyExists);
  HAPM_REQUIRE_CODE(t->mkdir(kRoot, "x", S_IFDIR | 0755, Caller{}, &a), Code::AlreadyExists);
  HAPM_REQUIRE_CODE(t->mkdir(kRoot, "d", S_IFDIR | 0755, Caller{}, &a), Code::AlreadyExists);
  HAPM_REQUIRE_CODE(t->symlink(kRoot, "d", "x", Caller{}, &a), Code::AlreadyExists);
  HAPM_REQUIRE_CODE(t->link(f, kRoot, "d", &a), Code::AlreadyExists);
  CHECK(t.ino_of(kRoot, "x") == f);
  CHECK(t.list(kRoot).size() == 2);
}

TEST_CASE("rmdir refuses a directory that is not empty", "[directory]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  t.make_file(d, "f");
  HAPM_REQUIRE_CODE(t->rmdir(kRoot, "d"), Code::NotEmpty);
  CHECK(t.ino_of(kRoot, "d") == d);
  HAPM_REQUIRE_OK(t->unlink(d, "f"));
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "d"));
  CHECK(t.ino_of(kRoot, "d") == 0);
}

TEST_CASE("file and directory operations refuse the wrong kind of entry", "[directory]") {
  TestFs t;
  const uint64_t f = t.make_file(kRoot, "f");
  t.make_dir(kRoot, "d");
  Attr a;
  HAPM_REQUIRE_CODE(t->rmdir(kRoot, "f"), Code::NotADirectory);
  HAPM_REQUIRE_CODE(t->unlink(kRoot, "d"), Code::IsADirectory);
  HAPM_REQUIRE_CODE(t->lookup(f, "x", &a), Code::NotADirectory);
  HAPM_REQUIRE_CODE(t->mknod(f, "x", S_IFREG | 0644, 0, Caller{}, &a), Code::NotADirectory);
  HAPM_REQUIRE_CODE(t->readdir(f, 0, [](const DirEntryView&) { return true; }),
                    Code::NotADirectory);
  HAPM_REQUIRE_CODE(t->rmdir(kRoot, "missing"), Code::NotFound);
}

TEST_CASE("mkdir and rmdir keep the parent's link count", "[directory]") {
  TestFs t;
  const uint32_t root_links = t.attr(kRoot).nlink;
  CHECK(root_links == 2);
  const uint64_t d = t.make_dir(kRoot, "d");
  CHECK(t.attr(d).nlink == 2);
  CHECK(t.attr(kRoot).nlink == root_links + 1);
  t.make_dir(d, "sub");
  CHECK(t.attr(d).nlink == 3);
  t.make_file(d, "file");  // files do not count
  CHECK(t.attr(d).nlink == 3);
  HAPM_REQUIRE_OK(t->rmdir(d, "sub"));
  CHECK(t.attr(d).nlink == 2);
  HAPM_REQUIRE_OK(t->unlink(d, "file"));
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "d"));
  CHECK(t.attr(kRoot).nlink == root_links);
}

TEST_CASE("a removed directory gives back its inode and blocks", "[directory]") {
  TestFs t;
  const uint64_t blocks = t.free_blocks();
  const uint64_t inodes = t.free_inodes();
  const uint64_t d = t.make_dir(kRoot, "d");
  for (int i = 0; i < 100; ++i) t.make_file(d, name_of("f", i));
  CHECK(t.free_inodes() == inodes - 101);
  for (int i = 0; i < 100; ++i) HAPM_REQUIRE_OK(t->unlink(d, name_of("f", i)));
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "d"));
  CHECK(t.free_inodes() == inodes);
  CHECK(t.free_blocks() == blocks);
}

TEST_CASE("directory entries survive unmount and mount", "[directory]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  std::set<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    expected.insert(name_of("e", i));
    t.make_file(d, name_of("e", i));
  }
  for (int i = 0; i < 1000; i += 3) {
    HAPM_REQUIRE_OK(t->unlink(d, name_of("e", i)));
    expected.erase(name_of("e", i));
  }
  t.remount();
  REQUIRE(t.ino_of(kRoot, "d") == d);
  std::vector<std::string> names = t.list(d, 17);
  CHECK(std::set<std::string>(names.begin(), names.end()) == expected);
  CHECK(names.size() == expected.size());
}

TEST_CASE("resuming readdir from a saved cookie neither skips nor repeats surviving entries",
          "[directory]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  std::vector<std::string> original;
  for (int i = 0; i < 200; ++i) {
    original.push_back(name_of("o", i));
    t.make_file(d, original.back());
  }

  // First part: 50 entries, as a kernel with a small buffer reads them.
  std::vector<std::string> first;
  uint64_t cookie = 0;
  size_t taken = 0;
  HAPM_REQUIRE_OK(t->readdir(d, 0, [&](const DirEntryView& e) {
    if (taken == 50) return false;
    ++taken;
    cookie = e.next_offset;
    if (e.name != "." && e.name != "..") first.emplace_back(e.name);
    return true;
  }));
  REQUIRE(first.size() == 48);
  const std::set<std::string> read_already(first.begin(), first.end());

  // Meanwhile: remove some read and some unread entries (including the last
  // one read, whose slot the cookie follows), and add new ones.
  std::set<std::string> removed;
  auto remove = [&](const std::string& name) {
    HAPM_REQUIRE_OK(t->unlink(d, name));
    removed.insert(name);
  };
  remove(first.back());
  for (int i = 0; i < 48; i += 4) remove(first[i]);
  std::vector<std::string> unread;
  for (const std::string& n : original)
    if (!read_already.count(n)) unread.push_back(n);
  REQUIRE(unread.size() == 152);
  for (size_t i = 0; i < unread.size(); i += 5) remove(unread[i]);
  std::set<std::string> added;
  for (int i = 0; i < 100; ++i) {
    added.insert(name_of("n", i));
    t.make_file(d, name_of("n", i));
  }

  // Second part, from the saved cookie, in small batches.
  std::vector<std::string> second;
  for (int calls = 0; calls < 10'000; ++calls) {
    size_t got = 0;
    HAPM_REQUIRE_OK(t->readdir(d, cookie, [&](const DirEntryView& e) {
      if (got == 13) return false;
      ++got;
      cookie = e.next_offset;
      if (e.name != "." && e.name != "..") second.emplace_back(e.name);
      return true;
    }));
    if (got == 0) break;
  }

  std::multiset<std::string> all(first.begin(), first.end());
  all.insert(second.begin(), second.end());
  for (const std::string& n : original) {
    INFO(n);
    if (read_already.count(n)) {
      CHECK(all.count(n) == 1);  // read once before, never again
    } else if (removed.count(n)) {
      CHECK(all.count(n) == 0);  // removed before it was reached
    } else {
      CHECK(all.count(n) == 1);  // survived: exactly once
    }
  }
  for (const std::string& n : added) {
    INFO(n);
    CHECK(all.count(n) <= 1);  // new entries may or may not appear, never twice
  }
  for (const std::string& n : second) CHECK((added.count(n) || !removed.count(n)));
}

TEST_CASE("concurrent creates, unlinks, lookups and readdirs keep every entry exactly once",
          "[directory][threads]") {
  TestFs t;
  const uint64_t d = t.make_dir(kRoot, "d");
  constexpr int kWriters = 4, kPerWriter = 300;
  std::atomic<int> writers_done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        const std::string name = name_of(("w" + std::to_string(w) + "-").c_str(), i);
        Attr a;
        if (!t->mknod(d, name, S_IFREG | 0644, 0, Caller{}, &a).is_ok()) ++failures;
        t->forget(a.ino, 1);
        if (i % 2 == 1 && !t->unlink(d, name).is_ok()) ++failures;  // keep the even ones
      }
      ++writers_done;
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      for (int round = 0; round < 10'000 && writers_done < kWriters; ++round) {
        std::set<std::string> seen;
        Status s = t->readdir(d, 0, [&](const DirEntryView& e) {
          if (!seen.insert(std::string(e.name)).second) ++failures;  // a repeat
          return true;
        });
        if (!s.is_ok()) ++failures;
        Attr a;
        Status l = t->lookup(d, name_of("w0-", 0), &a);
        if (l.is_ok())
          t->forget(a.ino, 1);
        else if (l.code() != Code::NotFound)
          ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CHECK(failures == 0);
  std::vector<std::string> names = t.list(d, 50);
  CHECK(names.size() == kWriters * kPerWriter / 2);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK(t.attr(d).nlink == 2);
}

TEST_CASE("a directory of 100,000 entries works", "[directory][large]") {
  constexpr int kEntries = 100'000;
  MkfsOptions options;
  options.inode_count = kEntries + 1024;
  TestFs t(128ull << 20, options);
  const uint64_t blocks = t.free_blocks();
  const uint64_t inodes = t.free_inodes();
  const uint64_t d = t.make_dir(kRoot, "big");

  std::vector<uint64_t> inos(kEntries);
  for (int i = 0; i < kEntries; ++i) {
    Attr a;
    Status s = t->mknod(d, name_of("entry-", i), S_IFREG | 0644, 0, Caller{}, &a);
    if (!s.is_ok()) {
      INFO("create " << i << ": " << s.to_string());
      REQUIRE(s.is_ok());
    }
    t->forget(a.ino, 1);
    inos[i] = a.ino;
  }
  CHECK(std::set<uint64_t>(inos.begin(), inos.end()).size() == kEntries);

  for (int i = 0; i < kEntries; i += 997) {
    INFO(i);
    CHECK(t.ino_of(d, name_of("entry-", i)) == inos[i]);
  }
  CHECK(t.ino_of(d, "entry-missing") == 0);

  std::vector<std::string> names = t.list(d, 1000);
  CHECK(names.size() == kEntries);
  std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == kEntries);
  CHECK(unique.count(name_of("entry-", 0)) == 1);
  CHECK(unique.count(name_of("entry-", kEntries - 1)) == 1);

  for (int i = 0; i < kEntries; ++i) {
    Status s = t->unlink(d, name_of("entry-", i));
    if (!s.is_ok()) {
      INFO("unlink " << i << ": " << s.to_string());
      REQUIRE(s.is_ok());
    }
  }
  CHECK(t.list(d).empty());
  HAPM_REQUIRE_OK(t->rmdir(kRoot, "big"));
  CHECK(t.free_inodes() == inodes);
  CHECK(t.free_blocks() == blocks);
}

}  // namespace
}  // namespace hapm

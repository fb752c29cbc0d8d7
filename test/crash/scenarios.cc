#include "test/crash/scenarios.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/xattr.h>

#include <cstdio>

namespace hapm::crash {

namespace {

using Run = std::function<Status(FsDriver&)>;

constexpr uint64_t kBigBytes = (2ull << 20) + 777;  // spans two block-map leaves' worth of writes

Step op(std::string what, Run run) {
  return Step{std::move(what), std::move(run), false};
}
// fsync of each path, then of the root: POSIX makes fsync(fd) durable for
// that file's data and metadata, so the paths are the ones the step changed.
Step sync(std::vector<std::string> paths) {
  std::string what = "fsync";
  for (const std::string& p : paths) what += " " + p;
  return Step{what,
              [paths](FsDriver& d) {
                for (const std::string& p : paths) HAPM_TRY(d.fsync(p));
                return d.fsync("/");
              },
              true};
}

// A scenario of one operation followed by fsyncs of what it changed.
Scenario single(std::string name, std::vector<std::string> synced, Run run, Run extra_setup = {}) {
  std::string what = name;
  return Scenario{std::move(name),
                  std::move(extra_setup),
                  {op(std::move(what), std::move(run)), sync(std::move(synced))}};
}

Status make_big(FsDriver& d) {
  HAPM_TRY(d.create("/big"));
  return d.write("/big", 0, pattern(9, kBigBytes));
}

std::vector<Scenario> build() {
  std::vector<Scenario> s;
  s.push_back(single("create", {"/new.txt"}, [](FsDriver& d) { return d.create("/new.txt"); }));
  s.push_back(single("write-small", {"/a.txt"},
                     [](FsDriver& d) { return d.write("/a.txt", 30, pattern(20, 40)); }));
  s.push_back(single("write-large", {"/empty"}, [](FsDriver& d) {
    return d.write("/empty", 0, pattern(21, (1ull << 20) + (256 << 10) + 123));
  }));
  s.push_back(single("write-unaligned", {"/b.bin"},
                     [](FsDriver& d) { return d.write("/b.bin", 3001, pattern(22, 9000)); }));
  s.push_back(single("write-extend", {"/a.txt"},
                     [](FsDriver& d) { return d.write("/a.txt", 100, pattern(23, 6000)); }));
  s.push_back(single("write-past-eof", {"/dir1/d.txt"}, [](FsDriver& d) {
    return d.write("/dir1/d.txt", 100000, pattern(24, 3000));
  }));
  s.push_back(single("truncate-shrink", {"/b.bin"},
                     [](FsDriver& d) { return d.truncate("/b.bin", 5000); }));
  s.push_back(
      single("truncate-grow", {"/a.txt"}, [](FsDriver& d) { return d.truncate("/a.txt", 50000); }));
  s.push_back(single(
      "truncate-large", {"/big"}, [](FsDriver& d) { return d.truncate("/big", 4097); }, make_big));
  s.push_back(single("unlink", {"/dir1"}, [](FsDriver& d) { return d.unlink("/dir1/d.txt"); }));
  s.push_back(single("unlink-hardlinked", {"/dir1/c.txt"},
                     [](FsDriver& d) { return d.unlink("/c.hard"); }));
  s.push_back(single(
      "unlink-large", {}, [](FsDriver& d) { return d.unlink("/big"); }, make_big));
  s.push_back(
      single("rename", {"/a2.txt"}, [](FsDriver& d) { return d.rename("/a.txt", "/a2.txt"); }));
  s.push_back(
      single("rename-over", {"/b.bin"}, [](FsDriver& d) { return d.rename("/a.txt", "/b.bin"); }));
  s.push_back(single("rename-across", {"/dir1", "/dir2", "/dir2/c2.txt"},
                     [](FsDriver& d) { return d.rename("/dir1/c.txt", "/dir2/c2.txt"); }));
  s.push_back(single("rename-dir-across", {"/dir1", "/dir2", "/dir2/sub"},
                     [](FsDriver& d) { return d.rename("/dir1/sub", "/dir2/sub"); }));
  s.push_back(single("rename-exchange", {"/dir1", "/a.txt", "/dir1/sub"},
                     [](FsDriver& d) { return d.rename("/a.txt", "/dir1/sub", RENAME_EXCHANGE); }));
  s.push_back(single("link", {"/dir2", "/b.bin"},
                     [](FsDriver& d) { return d.link("/b.bin", "/dir2/b.link"); }));
  s.push_back(single("mkdir", {"/dir2", "/dir2/newdir"},
                     [](FsDriver& d) { return d.mkdir("/dir2/newdir"); }));
  s.push_back(single("rmdir", {}, [](FsDriver& d) { return d.rmdir("/dir2"); }));
  s.push_back(
      single("symlink", {"/dir1"}, [](FsDriver& d) { return d.symlink("../b.bin", "/dir1/sl"); }));
  s.push_back(single("symlink-long", {"/dir1"}, [](FsDriver& d) {
    return d.symlink(std::string(1000, 'x') + "/target", "/dir1/long");
  }));
  s.push_back(single("chmod", {"/b.bin"}, [](FsDriver& d) { return d.chmod("/b.bin", 0600); }));
  s.push_back(single("chown", {"/dir1/c.txt"},
                     [](FsDriver& d) { return d.chown("/dir1/c.txt", 1000, 1000); }));
  s.push_back(single("utimens", {"/dir1/c.txt"}, [](FsDriver& d) {
    return d.utimens("/dir1/c.txt", 1'000'000'001, 2'000'000'002);
  }));
  s.push_back(single("setxattr", {"/b.bin"}, [](FsDriver& d) {
    return d.setxattr("/b.bin", "user.new", std::string(300, 'v'));
  }));
  s.push_back(single("setxattr-replace", {"/a.txt"}, [](FsDriver& d) {
    return d.setxattr("/a.txt", "user.color", "ultramarine", XATTR_REPLACE);
  }));
  s.push_back(single("removexattr", {"/a.txt"},
                     [](FsDriver& d) { return d.removexattr("/a.txt", "user.color"); }));
  s.push_back(single("fallocate", {"/dir1/d.txt"},
                     [](FsDriver& d) { return d.fallocate("/dir1/d.txt", 0, 0, 65536); }));
  s.push_back(single("punch-hole", {"/b.bin"}, [](FsDriver& d) {
    return d.fallocate("/b.bin", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192);
  }));
  // A clean unmount rewrites both pool headers (clean flag) through the journal.
  s.push_back(Scenario{
      "unmount", {}, {Step{"unmount", [](FsDriver& d) { return d.fs().unmount(); }, true}}});
  // Several operations, none synced, then one fsync: every crash image must
  // be one of the prefixes, and the whole batch once the fsync returned.
  s.push_back(Scenario{
      "fsync",
      {},
      {op("write /a.txt", [](FsDriver& d) { return d.write("/a.txt", 0, pattern(30, 50)); }),
       op("create /dir2/f", [](FsDriver& d) { return d.create("/dir2/f"); }),
       op("write /dir2/f", [](FsDriver& d) { return d.write("/dir2/f", 0, pattern(31, 5000)); }),
       op("chmod /b.bin", [](FsDriver& d) { return d.chmod("/b.bin", 0640); }),
       op("unlink /dir1/d.txt", [](FsDriver& d) { return d.unlink("/dir1/d.txt"); }),
       sync({"/a.txt", "/dir2/f", "/b.bin", "/dir1", "/dir2"})}});
  return s;
}

}  // namespace

Status populate(FsDriver& d) {
  HAPM_TRY(d.create("/a.txt"));
  HAPM_TRY(d.write("/a.txt", 0, pattern(1, 100)));
  HAPM_TRY(d.setxattr("/a.txt", "user.color", "blue"));
  HAPM_TRY(d.create("/b.bin"));
  HAPM_TRY(d.write("/b.bin", 0, pattern(2, 20000)));
  HAPM_TRY(d.create("/empty"));
  HAPM_TRY(d.mkdir("/dir1"));
  HAPM_TRY(d.create("/dir1/c.txt"));
  HAPM_TRY(d.write("/dir1/c.txt", 0, pattern(3, 3000)));
  HAPM_TRY(d.create("/dir1/d.txt"));
  HAPM_TRY(d.write("/dir1/d.txt", 0, pattern(4, 10)));
  HAPM_TRY(d.mkdir("/dir1/sub"));
  HAPM_TRY(d.create("/dir1/sub/e.txt"));
  HAPM_TRY(d.write("/dir1/sub/e.txt", 0, pattern(5, 5000)));
  HAPM_TRY(d.setxattr("/dir1/sub", "user.dir", "yes"));
  HAPM_TRY(d.mkdir("/dir2"));
  HAPM_TRY(d.symlink("a.txt", "/link"));
  HAPM_TRY(d.link("/dir1/c.txt", "/c.hard"));
  return Status::ok();
}

const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> scenarios = build();  // immutable once built
  return scenarios;
}

const Scenario* find_scenario(const std::string& name) {
  for (const Scenario& s : all_scenarios())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace hapm::crash

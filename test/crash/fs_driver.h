// Path-based calls on a Filesystem, the way the FUSE front end makes them:
// every lookup reference is forgotten at once and every open is released,
// so no inode stays pinned and space accounting is as after a remount.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/filesystem.h"

namespace hapm::crash {

// Deterministic file contents: `len` bytes derived from `seed`.
std::vector<uint8_t> pattern(uint64_t seed, size_t len);

class FsDriver {
 public:
  explicit FsDriver(Filesystem& fs) : fs_(fs) {}
  Filesystem& fs() { return fs_; }

  Result<uint64_t> resolve(std::string_view path);
  Status create(std::string_view path, uint32_t mode = 0644);
  Status write(std::string_view path, uint64_t offset, const std::vector<uint8_t>& bytes);
  Status truncate(std::string_view path, uint64_t size);
  Status unlink(std::string_view path);
  Status mkdir(std::string_view path, uint32_t mode = 0755);
  Status rmdir(std::string_view path);
  Status symlink(std::string_view target, std::string_view path);
  Status link(std::string_view existing, std::string_view path);
  Status rename(std::string_view from, std::string_view to, unsigned flags = 0);
  Status chmod(std::string_view path, uint32_t mode);
  Status chown(std::string_view path, uint32_t uid, uint32_t gid);
  Status utimens(std::string_view path, int64_t atime_ns, int64_t mtime_ns);
  Status setxattr(std::string_view path, std::string_view name, std::string_view value,
                  int flags = 0);
  Status removexattr(std::string_view path, std::string_view name);
  Status fallocate(std::string_view path, int mode, uint64_t offset, uint64_t length);
  Status fsync(std::string_view path);

 private:
  // The parent directory's inode and the last component.
  Result<std::pair<uint64_t, std::string>> split(std::string_view path);

  Filesystem& fs_;
  Caller caller_{};
};

}  // namespace hapm::crash

// Reading the mount table (/proc/self/mountinfo): is a directory already a
// mount point, and where is a pool mounted.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace hapm {

struct MountEntry {
  std::string mount_point;  // absolute, unescaped
  std::string fstype;       // "fuse.hapm", "ext4", ...
  std::string source;       // "hapm:/abs/pool" for hapm mounts
};

// Parses a mountinfo text (see proc(5)); lines that do not parse are skipped.
std::vector<MountEntry> parse_mountinfo(const std::string& text);
// The mount table of this process's mount namespace.
Result<std::vector<MountEntry>> read_mountinfo();
// The fsname (mount source) under which a pool at absolute `pool_path` is mounted.
std::string hapm_mount_source(const std::string& pool_path);

}  // namespace hapm

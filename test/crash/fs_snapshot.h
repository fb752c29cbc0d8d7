// The observable state of a mounted filesystem: every path with its
// attributes, symlink target, extended attributes and file contents, plus
// the statfs counters. Crash images are judged by comparing snapshots.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace hapm::crash {

struct NodeState {
  Attr attr;
  uint64_t dotdot = 0;           // directories: the ".." entry
  std::string target;            // symlinks
  std::vector<uint8_t> content;  // regular files
  std::map<std::string, std::string> xattrs;
};

struct Snapshot {
  std::map<std::string, NodeState> nodes;  // "/" is the root; "/dir/name"
  FsStats stats;
};

// Walks the whole tree (bounded: at most `nodes_max` entries). Fails with the
// first operation that fails: on a crash image that is itself a finding.
Result<Snapshot> take_snapshot(Filesystem& fs, size_t nodes_max = 10000);

// Differences of metadata (names, attributes, targets, xattrs, statfs) and,
// when `contents` is set, of file bytes. Empty: equal. At most `max` lines.
std::vector<std::string> diff_metadata(const Snapshot& got, const Snapshot& want, size_t max = 8);
std::vector<std::string> diff_contents(const Snapshot& got, const Snapshot& want, size_t max = 8);

// Contents where writes may be partly durable: with the metadata of `base`,
// each byte of every file must equal `base`'s byte or that of one of `later`
// (the states the interrupted steps were heading to) at the same offset.
std::vector<std::string> diff_contents_mixed(const Snapshot& got, const Snapshot& base,
                                             const std::vector<const Snapshot*>& later,
                                             size_t max = 8);

// One line per node, for failure reports.
std::string describe(const Snapshot& snap);

}  // namespace hapm::crash

// The oracle of the SIGKILL crash test: an in-memory model of the workload's
// directory tree, the operations that change it (each one acknowledged only
// after fsync of the file and of the directories it touched), and the check
// of a tree found on a remounted pool against the model.
//
// After a crash, every acknowledged operation must be there exactly. The one
// operation that was in flight when the daemon died may be absent or present;
// if it wrote data, each byte may be old or new (nothing promises atomicity
// for unacknowledged writes), and the size anywhere between old and new.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>

namespace hapm::test::crash {

// Paths are relative to the workload root ("d3", "d3/f17"); "" is the root.
struct Tree {
  std::set<std::string> dirs;
  std::map<std::string, uint64_t> files;  // path -> model inode id
  std::map<uint64_t, std::string> data;   // model inode id -> content
  uint64_t next_id = 1;                   // next model inode id
  uint64_t next_name = 1;                 // names are never reused

  size_t links(uint64_t id) const;
};

enum class Kind { Create, Append, Overwrite, Truncate, Rename, Link, Unlink, Mkdir, Rmdir };

struct Op {
  Kind kind = Kind::Create;
  std::string path, path2;  // path2: rename/link destination
  uint64_t offset = 0;      // overwrite offset, truncate size
  std::string bytes;        // data written
  std::string describe() const;
};

// An operation and the tree it leads to. `data_id` is the file whose bytes
// the operation changes (0 for pure namespace operations).
struct Step {
  Op op;
  Tree after;
  uint64_t data_id = 0;
};

struct PlanLimits {
  size_t files_max = 40;
  size_t dirs_max = 12;
  size_t depth_max = 3;
  size_t small_write_max = 64 * 1024;  // most writes
  size_t large_write_max = 1 << 20;    // now and then
  size_t file_size_max = 2 << 20;      // appends and overwrites stay below
};

// Picks a random operation valid on `tree` and the tree after it.
Step plan(const Tree& tree, std::mt19937_64& rng, const PlanLimits& limits = {});

// What a directory walk of the mounted workload root found.
struct Observed {
  std::set<std::string> dirs;
  std::map<std::string, ino_t> files;        // path -> st_ino
  std::map<ino_t, std::string> data;         // st_ino -> content
  std::map<ino_t, nlink_t> nlink;            // st_ino -> st_nlink (files)
  std::map<std::string, nlink_t> dir_nlink;  // dir path -> st_nlink
  std::string error;                         // walk failure, or "" when complete
};

// Walks `root` (bounded in depth and entries) and reads every file.
Observed observe(const std::string& root);

// Checks `seen` against the state before the in-flight step and the state
// after it (`step` may be null: nothing was in flight). Returns "" when the
// tree is acceptable and sets *adopted to the model of what was found;
// otherwise a description of every difference.
std::string verify(const Observed& seen, const Tree& before, const Step* step, Tree* adopted);

}  // namespace hapm::test::crash

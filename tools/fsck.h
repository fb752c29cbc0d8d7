// hapm fsck: the checker. Walks every structure of a pool independently of
// the filesystem core's DRAM state, reports each problem, and with repair
// fixes what is safely fixable (through journal transactions, so a crash
// during repair is itself recoverable).
//
// Exit codes follow e2fsck: 0 clean, 1 problems corrected, 4 problems left
// uncorrected, 8 operational error (cannot open, foreign pool, ...).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fs/filesystem.h"
#include "fs/pool_memory.h"

namespace hapm {

constexpr int kFsckClean = 0;
constexpr int kFsckCorrected = 1;
constexpr int kFsckUncorrected = 4;
constexpr int kFsckOperationalError = 8;

struct FsckOptions {
  bool repair = false;
  // Called with the fraction done (0..1) now and then; may be empty.
  std::function<void(double)> progress;
};

struct FsckProblem {
  std::string kind;    // stable identifier, e.g. "leaked-block", "bad-link-count"
  std::string detail;  // for people: what, where
  bool repaired = false;
  uint64_t ino = 0;  // the inode concerned, 0 when none
  std::string path;  // its path when known ("" when unreachable or unknown)
};

struct FsckReport {
  int exit_code = kFsckClean;
  std::string error;  // operational error, when exit_code == 8
  RecoveryReport recovery;
  std::vector<FsckProblem> problems;
  void add_problem(std::string kind, std::string detail, bool repaired) {
    FsckProblem p;
    p.kind = std::move(kind);
    p.detail = std::move(detail);
    p.repaired = repaired;
    problems.push_back(std::move(p));
  }
  uint64_t inodes_used = 0, directories = 0, files = 0, symlinks = 0;
  // Data area only (blocks from data_block on): referenced by some inode / all.
  uint64_t blocks_used = 0, blocks_total = 0;
  uint64_t journal_seq = 0;  // last committed transaction: the point the pool is at
  bool repair_mode = false;  // run with repair (changes the advice in the last line)
  std::string pool_uuid;
  // "clean", "corrected", "uncorrected" or "error", from exit_code.
  std::string verdict() const;
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Runs recovery (journal replay, orphans, trims) and then every check.
FsckReport run_fsck(PoolMemory& pool, const FsckOptions& options);

}  // namespace hapm

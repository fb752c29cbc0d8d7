// Recording a scenario and judging one crash image of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fs/ram_pool.h"
#include "test/crash/fs_snapshot.h"
#include "test/crash/recording_domain.h"
#include "test/crash/scenarios.h"

namespace hapm::crash {

// A scenario run on a RecordingPool: the log of its stores and fences, and
// the state after each step as the live filesystem saw it.
struct Recording {
  CrashLog log;
  // states[0]: before the first step, states[j]: after step j, as the pool
  // holds it (the program view mounted); live: as the filesystem showed it.
  std::vector<Snapshot> states, live;
  // After an fsync step, where the pool and the live view still differ:
  // something the fsync did not make durable (I1).
  std::vector<std::string> fsync_gaps;
  std::vector<uint64_t> step_fence;  // step_fence[j]: drains done when step j returned (j >= 1)
  std::vector<bool> durable;         // durable[j]: step j was an fsync
  // (total - free) - fsck's count, for blocks and inodes, on the final image:
  // the same offsets must hold on every crash image.
  int64_t blocks_offset = 0, inodes_offset = 0;
  uint64_t drain_calls = 0;  // drain() calls the steps made
  // The pool when the log started, with the replication dirty map attached
  // and all clean: every chunk a crash image changed against it must have
  // its dirty bit durable in that image (fs/dirty_map.h).
  std::vector<uint8_t> baseline;

  // Earliest and latest state index a crash image at `point` may show.
  size_t min_state(size_t point) const;
  size_t max_state(size_t point) const;
};

// `skip_drains`: drain calls (numbered from the first step) that are made
// to do nothing, for mutation testing of the checker.
Result<Recording> record(const Scenario& scenario, const std::vector<uint64_t>& skip_drains = {});

// Runs the scenario again on a plain RamPool and compares every state with
// the recording, timestamps aside: the recording domain must not change
// what the filesystem does. Returns the differences.
std::vector<std::string> cross_check(const Scenario& scenario, const Recording& rec);

struct ImageVerdict {
  std::vector<std::string> problems;  // empty: the image passed
  int matched_state = -1;
  bool mixed_data = false;  // matched with partly durable file data
};

struct CheckOptions {
  bool fsck_after_unmount = true;
  bool check_dirty_map = true;
};

// Memory for the two working copies of an image, reused from image to image:
// allocating and freeing two pools per image dominated the run under ASan.
class ScratchPools {
 public:
  // Copy `which` (0 or 1) of `image`, as a volatile pool.
  PoolMemory& load(int which, const std::vector<uint8_t>& image);

 private:
  std::vector<uint8_t> bytes_[2];
  VolatileDomain domain_;
  std::unique_ptr<PoolMemory> memory_[2];
};

// Recovery + fsck on one copy; mount-time recovery, state comparison and
// free-space accounting on another.
ImageVerdict check_image(const std::vector<uint8_t>& image, const Recording& rec, size_t min_state,
                         size_t max_state, const CheckOptions& options, ScratchPools& scratch);

// Chunks that differ between `image` and `baseline` but whose dirty bit is
// not set in `image`: changes a resync would miss.
std::vector<std::string> dirty_map_gaps(const std::vector<uint8_t>& image,
                                        const std::vector<uint8_t>& baseline);

// The checks that need no expected state (saved images): recovery leaves a
// clean pool, it mounts, every node is readable, unmount and fsck are clean.
std::vector<std::string> check_image_standalone(const std::vector<uint8_t>& image,
                                                ScratchPools& scratch);

}  // namespace hapm::crash

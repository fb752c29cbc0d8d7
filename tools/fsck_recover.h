// fsck's recovery step (see fsck_recover.cc).
#pragma once

#include "fs/pool_format.h"
#include "fs/pool_memory.h"
#include "tools/fsck.h"

namespace hapm::fsck {

// Checks and replays the journal, makes block maps safe to follow, then runs
// the core's recovery. Fills r.recovery and adds the problems it found to
// r.problems; `h` becomes the header as recovery left it. False (with
// r.error set) when the pool header cannot be read any more.
// `progress` is called with 0..1 for the part of the work done here.
bool recover_for_fsck(PoolMemory& pool, bool repair, FsckReport& r, format::PoolHeader& h,
                      const std::function<void(double)>& progress);

}  // namespace hapm::fsck

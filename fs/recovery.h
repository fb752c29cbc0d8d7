// Crash recovery, shared by mount and fsck: from any crash image of the pool
// to a consistent filesystem.
#pragma once

#include "common/status.h"
#include "fs/filesystem.h"

namespace hapm {

// Checks the header (R15), replays a committed journal transaction, frees
// orphan inodes (nlink 0: unlinked while open, then crashed) and blocks past
// end-of-file (an interrupted truncate). Writes nothing when there is nothing
// to recover. Does not change the clean flag.
Result<format::PoolHeader> recover_pool(PoolMemory& pool, RecoveryReport* report);

}  // namespace hapm

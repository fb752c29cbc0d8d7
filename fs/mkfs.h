// Creating a filesystem on a pool (hapm mkfs).
#pragma once

#include <cstdint>

#include "common/status.h"
#include "fs/pool_format.h"
#include "fs/pool_memory.h"

namespace hapm {

struct MkfsOptions {
  uint64_t inode_count = 0;  // 0: one per 16 KiB of pool, at least 1024
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
  uint32_t root_mode = 0755;
};

// Smallest pool mkfs accepts.
constexpr uint64_t kPoolSizeMin = 8ull << 20;

// Writes a fresh filesystem over the whole pool. The pool size must be a
// multiple of 4 KiB and at least kPoolSizeMin.
Status make_filesystem(PoolMemory& pool, const MkfsOptions& options,
                       format::PoolHeader* out = nullptr);

}  // namespace hapm

// Which crash images to build at each crash point, reproducibly.
//
// Image k at crash point p of operation `op` depends only on (seed, op, p, k,
// torn, exhaustive) and the uncertain lines there, so any image can be
// rebuilt from the line the checker prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "test/crash/crash_images.h"

namespace hapm::crash {

struct PlanOptions {
  uint64_t seed = 0;
  bool torn = true;                         // also cut lines at 8-byte granularity
  bool exhaustive = false;                  // every subset where few enough, many more elsewhere
  size_t exhaustive_bits = 12;              // up to 2^12 subsets per crash point
  size_t exhaustive_random = 256;           // random images per point on top
  size_t exhaustive_systematic_max = 4096;  // singles + all-but-one, at most
};

// k = 0: nothing uncertain made it (fully drained); k = 1: all of it;
// then systematic subsets (exhaustive) or seeded random ones.
Subset choose_subset(const std::vector<uint64_t>& pending, const PlanOptions& options,
                     const std::string& op, size_t point, size_t k);

// Distinct images to aim for at each crash point, given how many lines are
// uncertain at each: `budget` in all (the default mode), or per point
// (exhaustive mode).
std::vector<size_t> plan_quotas(const std::vector<size_t>& pending_counts, size_t budget,
                                const PlanOptions& options);

}  // namespace hapm::crash

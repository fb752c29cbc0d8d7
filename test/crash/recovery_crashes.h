// Crashes during recovery: mounting a crash image runs recovery (journal
// replay, orphan reclaim, trims), which writes to the pool and can itself be
// cut by a power failure. Recovering again must reach the state the
// uninterrupted recovery reached.
#pragma once

#include <iosfwd>

#include "test/crash/crash_runner.h"

namespace hapm::crash {

struct RecoveryCrashResult {
  size_t recorded = 0;  // crash images whose recovery was recorded
  size_t images = 0;    // crash images of those recoveries checked
  size_t failures = 0;
};

// Takes the fully drained and the all-lines image at each crash point of
// `rec` (while `config.recovery_budget` lasts), records the mount of it
// (recovery, then marking the pool in use), and checks images at every
// fence of that.
RecoveryCrashResult check_recovery_crashes(const Scenario& scenario, const Recording& rec,
                                           const RunConfig& config, std::ostream& out, bool quiet);

// Replays one: image k at crash point p, then image k2 at point q of its recovery.
bool replay_recovery_image(const Scenario& scenario, const RunConfig& config, size_t point,
                           size_t k, size_t recovery_point, size_t recovery_k, std::ostream& out);

}  // namespace hapm::crash

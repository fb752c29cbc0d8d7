// The crash-state checker's loop: for one scenario, every crash point, the
// planned images, each checked; plus replay of single images.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "test/crash/crash_check.h"
#include "test/crash/image_plan.h"

namespace hapm::crash {

struct RunConfig {
  PlanOptions plan;
  size_t budget = 400;  // distinct images per operation (default mode)
  CheckOptions check;
  bool verbose = false;
  std::string save_dir;  // failing images are written here when set
  size_t failures_shown_max = 3;
  size_t recovery_budget = 60;  // crash images of interrupted recoveries per operation
};

struct OpResult {
  std::string op;
  size_t points = 0, images = 0, duplicates = 0, mixed = 0, torn = 0, failures = 0;
  size_t recovery_images = 0;   // crash images taken while recovery ran
  std::vector<size_t> matched;  // images per state index they matched
  bool ok() const { return failures == 0; }
};

// Records the scenario, cross-checks it against a plain RamPool run, then
// checks the planned images. Prints one summary line (and failures).
OpResult run_op(const Scenario& scenario, const RunConfig& config, std::ostream& out);
// The image loop alone, on an existing recording; `quiet`: no failure details.
OpResult check_recording(const Scenario& scenario, const Recording& rec, const RunConfig& config,
                         std::ostream& out, bool quiet);

// Mutation testing of the checker: the scenario once per fence, with that
// fence removed. True when at least one mutant was caught; prints the ones
// that were not.
bool run_mutants(const Scenario& scenario, const RunConfig& config, std::ostream& out);

// Rebuilds one image (image number k, or an explicit subset) at `point` and
// checks it, printing everything. Returns true when it passes.
bool replay_image(const Scenario& scenario, const RunConfig& config, size_t point,
                  std::optional<size_t> k, std::optional<Subset> subset, std::ostream& out);

// Regression cases: lines "name op point subset" ('#' comments). Each one
// failing, or no longer matching the log (stale lines), is reported.
// Returns {passed, failed}.
std::pair<size_t, size_t> run_regressions(const std::string& path, const RunConfig& config,
                                          std::ostream& out);

// Saved images (*.img) in `dir`: the checks that need no expected state.
std::pair<size_t, size_t> run_saved_images(const std::string& dir, std::ostream& out);

}  // namespace hapm::crash

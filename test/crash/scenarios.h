// The workloads of the crash-state checker: one per filesystem operation,
// each on the same small populated filesystem, each followed by an fsync.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "test/crash/fs_driver.h"

namespace hapm::crash {

// Small enough that copying an image is cheap; big enough for a 1 MiB write.
constexpr uint64_t kPoolBytes = 8ull << 20;

struct Step {
  std::string what;
  std::function<Status(FsDriver&)> run;
  // An fsync: once it has returned, its state (and every earlier one) must
  // survive any crash.
  bool durable = false;
};

struct Scenario {
  std::string name;
  std::function<Status(FsDriver&)> extra_setup;  // may be empty
  std::vector<Step> steps;
};

// The common population: files, a hard link, a symlink, nested directories,
// xattrs. Followed by extra_setup and an fsync before recording starts.
Status populate(FsDriver& d);

const std::vector<Scenario>& all_scenarios();
const Scenario* find_scenario(const std::string& name);

}  // namespace hapm::crash

// What `hapm status` reports about a live mount, and the channel it travels
// through: a virtual extended attribute on the root directory that the FUSE
// front end answers itself, before the core sees the request.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "fs/filesystem.h"

namespace hapm {

// The reserved attribute name. The kernel hands names outside the user.,
// trusted., security. and system. namespaces to FUSE unchanged, so this name
// cannot collide with anything an application stores (the core only keeps
// user.* attributes). Reading it needs only read permission on the root.
constexpr const char* kStatusXattr = "hapm.status";

// Facts the daemon knows about its mount that the core does not.
struct MountFacts {
  std::string pool_path;         // absolute
  std::string mountpoint;        // absolute
  std::string granularity;       // PmemFile::granularity()
  bool real_pmem = false;        // PmemFile::is_real_pmem()
  RecoveryReport recovery;       // what the mount found and repaired
  int64_t mounted_since_ns = 0;  // CLOCK_REALTIME
  bool read_only = false;
  // The live "replication" object (the replicator's status_json); unset on
  // a single-node mount.
  std::function<nlohmann::json()> replication_status;
};

// Live counters of the front end.
struct FrontendCounters {
  uint64_t fsyncs = 0;  // FSYNC + FSYNCDIR requests answered
};

// The live status document (a JSON object; its keys are the contract between
// the daemon and `hapm status`, documented in docs/ with the CLI).
nlohmann::json make_status_json(Filesystem& fs, const MountFacts& facts,
                                const FrontendCounters& counters);

// What the persistence granularity means for a pool at `pool_path`, in one
// or two sentences for people ("page (msync)" on tmpfs: survives a daemon
// crash, not a power loss).
std::string describe_durability(const std::string& granularity, const std::string& pool_path);

// The granularity's name without PmemFile's parenthesised detail:
// "cache line on tmpfs (the persistent-memory ...)" -> "cache line on tmpfs".
std::string granularity_name(const std::string& granularity);

// "2024-05-01 12:00:00 UTC" for a CLOCK_REALTIME time in nanoseconds.
std::string format_time_utc(int64_t ns);

}  // namespace hapm

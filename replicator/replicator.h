// The primary's side of replication: turns the filesystem's consistency
// points into shipped, acknowledged points on a replica server, keeps the
// mount serving when the link is down, and resynchronises when it returns.
//
//   close_cp()  (fsync, filesystem lock held)  ranges written since the last
//               point become point N; RPO=0: sent now straight from the pool
//               mapping; RPO>0: copied into the coalescing batch
//   wait_cp(N)  (lock released)  RPO=0: until the server's durable Ack of N;
//               RPO>0: only while the lag exceeds the RPO (throttling)
//   link thread connect, handshake, resync (incremental from the pool's
//               dirty map, or full), heartbeats, acks, reconnect with backoff,
//               clearing dirty bits the replica has acknowledged
//
// States (status JSON "state"): "connecting", "full sync", "resyncing",
// "in sync", "degraded" (link down: serving without redundancy), "refused"
// (the server refused us: identity mismatch, fenced; no automatic retry
// storm, the error is shown).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/net.h"
#include "common/status.h"
#include "fs/dirty_map.h"
#include "fs/filesystem.h"

namespace hapm::replication {

// Recovery point objective: 0 = synchronous; else a bound in time or bytes.
struct Rpo {
  uint64_t time_ms = 0;
  uint64_t bytes = 0;
  bool synchronous() const { return time_ms == 0 && bytes == 0; }
  std::string to_string() const;  // "0", "20ms", "64 MiB"
};
// "0", "20ms", "2s", "64M", "1GiB" (a number without unit is refused unless 0).
Result<Rpo> parse_rpo(std::string_view text);

struct ReplicatorOptions {
  Endpoint replica;
  Rpo rpo;
  int connect_timeout_ms = 2000;
  int link_timeout_ms = 5000;  // no Ack/Pong for this long: the link is dead
  int heartbeat_interval_ms = 1000;
  int reconnect_backoff_ms_min = 100;
  int reconnect_backoff_ms_max = 5000;
  // Test/debug aid: append "CP_ID CRC32C" for every shipped point, the CRC
  // over all pool bytes except the dirty map, taken while the point closes.
  std::string cp_log_path;
};

class Replicator : public ConsistencyPointSink {
 public:
  // `fs` and `map` must outlive the replicator. Installs the write observer.
  Replicator(Filesystem& fs, DirtyMap& map, ReplicatorOptions options);
  ~Replicator() override;
  // Starts the link thread (call after the daemon detached: threads do not
  // survive fork).
  void start();
  // Ships what is left (the clean unmount's point), waits up to timeout_ms
  // for its Ack, says goodbye and stops the threads.
  void stop(int timeout_ms);

  Result<uint64_t> close_cp() override;
  Status wait_cp(uint64_t ticket) override;

  // The "replication" object of the status document (docs/replication.md).
  nlohmann::json status_json() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hapm::replication

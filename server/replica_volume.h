// One replica image on the server and its stage: how a consistency point is
// received, made durable, and applied so that the image only ever moves from
// one whole consistency point to a later whole one (I2), whatever fails when.
//
// Three persistent regions (files in the volume's directory, each mapped with
// libpmem2; in tests, in-memory PoolMemory with a recording domain):
//   image   pool_size bytes: byte-for-byte the primary's pool at applied_cp
//   shadow  pool_size bytes, sparse: the point being received, at the same
//           offsets as in the image, in 4 KiB stage chunks
//   meta    two alternating VolumeState slots + one bit per stage chunk
//           (server/volume_format.h)
//
// Per consistency point:
//   begin(cp)      drops any uncommitted stage
//   put(extent)*   a chunk first touched by this point is copied image ->
//                  shadow (unless the extent covers it whole), then the bytes
//                  land in the shadow; its stage bit is set
//   commit(trailer) shadow chunks + bits persisted, then a state slot saying
//                  "cp staged" persisted -> durable: the server may ACK (R10)
//   apply()        staged chunks copied shadow -> image and persisted, then a
//                  slot saying "applied cp, nothing staged", then bits cleared
// A restart finds either nothing staged (image at applied_cp) or a committed
// stage, which it applies again (idempotent): never a torn image.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/wire_format.h"
#include "fs/pool_memory.h"

namespace hapm::server {

using ImageId = std::array<uint8_t, 16>;

// What a volume is: fixed when its replica is created.
struct VolumeIdentity {
  std::array<uint8_t, 16> uuid{};
  uint64_t pool_size = 0;
  uint32_t endian_marker = 0, word_size = 0, page_size = 0, layout_version = 0;
};

// The durable state, as last committed.
struct VolumeStatus {
  ImageId image_id{};
  uint64_t epoch = 0;
  uint64_t applied_cp = 0;
  int64_t applied_cp_time_ns = 0;
  bool consistent = false;  // false until the first full sync applied
  uint64_t staged_cp = 0;   // 0: nothing committed-but-unapplied
  uint64_t last_applied_unix_ns = 0;
};

// The three mapped regions a volume lives in (files, or memory in tests).
struct VolumeRegions {
  PoolMemory* image = nullptr;
  PoolMemory* shadow = nullptr;
  PoolMemory* meta = nullptr;
};

class ReplicaVolume {
 public:
  // Bytes the meta region needs for a pool of `pool_size` bytes.
  static uint64_t meta_bytes(uint64_t pool_size);
  // Formats fresh regions for a new volume (image all zero = kImageEmpty).
  static Result<std::unique_ptr<ReplicaVolume>> create(const VolumeRegions& r,
                                                       const VolumeIdentity& id, uint64_t epoch);
  // Opens existing regions: checks the meta (Corruption if both slots are
  // bad), applies a committed stage left by a crash, drops an uncommitted one.
  static Result<std::unique_ptr<ReplicaVolume>> open(const VolumeRegions& r);

  const VolumeIdentity& identity() const { return identity_; }
  const VolumeStatus& status() const { return status_; }

  // Raises the volume's epoch durably (never lowers it).
  Status set_epoch(uint64_t epoch);

  // Starts receiving consistency point `cp` (> applied_cp, else Sequence
  // error as InvalidArgument). Drops an uncommitted stage.
  Status begin(uint64_t cp);
  bool receiving() const { return receiving_cp_ != 0; }
  uint64_t receiving_cp() const { return receiving_cp_; }
  // Stages one extent; OutOfRange-style InvalidArgument outside the volume.
  Status put(uint64_t offset, const uint8_t* data, uint64_t length);
  // Makes the point durable (extent count/bytes must match what was put,
  // else Corruption and the stage is dropped). After it returns the point
  // survives any crash. `full_sync` makes the image consistent once applied.
  Status commit(const wire::CommitTrailer& trailer, bool full_sync);
  // Copies the committed stage into the image; the image is then at the
  // committed point.
  Status apply();
  // Forgets an uncommitted stage (client gone mid-point).
  void abort();

  // Failover read of the applied image.
  Status read(uint64_t offset, uint64_t length, uint8_t* out) const;

 private:
  ReplicaVolume(const VolumeRegions& r);
  Status load_meta();
  Status write_state(const VolumeStatus& s);
  // (implementation detail fields live in the .cc's Impl)
  VolumeRegions regions_;
  VolumeIdentity identity_;
  VolumeStatus status_;
  uint64_t receiving_cp_ = 0;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hapm::server

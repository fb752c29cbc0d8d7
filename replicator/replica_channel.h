// The transport seam of the primary: one connected session with a replica
// server. TCP implements it with framed sends (replicator/tcp_channel.cc);
// RDMA will implement it with one-sided WRITEs into the session's registered
// staging region followed by a SEND carrying the commit (send-after-write,
// seed 000 §6.4 Fig. 10). Everything above this interface (consistency
// points, batching, resync, RPO) is transport-independent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/net.h"
#include "common/status.h"
#include "common/wire_format.h"

namespace hapm::replication {

// A byte range of the pool to place at the same offset of the replica. `data`
// points into the pool mapping (or a snapshot of it).
struct PoolExtent {
  uint64_t offset;
  const uint8_t* data;
  uint64_t length;
};

// What the server sends back, in order.
struct ChannelEvent {
  enum class Kind { Ack, Pong, Error } kind = Kind::Ack;
  wire::AckBody ack{};  // Kind::Ack
  uint64_t tag = 0;     // Kind::Pong
  Status error;         // Kind::Error: the server's reason (already a Status)
};

class ReplicaChannel {
 public:
  virtual ~ReplicaChannel() = default;
  // "tcp 127.0.0.1:7070"
  virtual std::string describe() const = 0;
  // The handshake. A refusal from the server comes back as its Status
  // (e.g. NotSupported for an identity mismatch, PermissionDenied if fenced).
  virtual Result<wire::WelcomeBody> hello(const wire::HelloBody& hello, int timeout_ms) = 0;
  // Places the extents of consistency point `cp` at the replica, then, when
  // `commit` is given, the commit of that point (ordered after the extents).
  // Returns once the bytes have been read from `data` (TCP: handed to the
  // kernel), so the caller may let the pool change again; durability comes
  // only with the Ack event. Long extents and many extents are split into
  // frames as the server's limits require; extents are never copied in user
  // space (R9). flags: wire::kFullSync.
  virtual Status put(uint64_t cp, std::span<const PoolExtent> extents, uint32_t flags,
                     const wire::CommitTrailer* commit) = 0;
  virtual Status ping(uint64_t tag) = 0;
  // The next event; Unavailable on timeout (message says so) or a lost link.
  virtual Result<ChannelEvent> next_event(int timeout_ms) = 0;
  // Clean close (best effort).
  virtual void goodbye() = 0;
  // Unblocks a thread in next_event() or put(); the channel is dead after.
  virtual void shutdown() = 0;
};

// Connects to `to` (tcp; rdma says which device is missing and suggests tcp://).
Result<std::unique_ptr<ReplicaChannel>> connect_channel(const Endpoint& to, int timeout_ms);

}  // namespace hapm::replication

// The replication wire protocol, version 1: one definition shared by the
// primary (replicator/) and the replica server (server/). Documented in prose
// in docs/protocol.md; keep the two in step.
//
// A connection carries frames. Each frame is a 32-byte FrameHeader followed by
// `body_bytes` of body. All integers are little-endian. The header carries a
// CRC32C of its first 28 bytes and a CRC32C of the whole body, so a torn,
// truncated or corrupted frame is refused before anything in it is used (R16).
// Every length and offset read from the network is bounds-checked against
// the limits below and against the volume before use (I5).
//
// Conversation (client = primary, server = hapmd):
//   client HELLO  -> server WELCOME (or ERROR, then close)
//   client EXTENTS* (flag kCommit on the last frame of a consistency point:
//          the CommitTrailer rides in the same frame, R8) -> server ACK(cp)
//          once the whole consistency point is durable in its stage (R10)
//   client PING -> server PONG (liveness both ways when idle)
//   client READ -> server READ_DATA (failover reads of the applied image, R11)
//   either side ERROR -> the sender closes; client GOODBYE -> clean close
#pragma once

#include <cstddef>
#include <cstdint>

namespace hapm::wire {

constexpr uint32_t kMagic = 0x57504d48;  // "HMPW" as little-endian bytes
constexpr uint16_t kVersion = 1;

// ---- limits (I5: everything from the network is bounded) ---------------------
constexpr uint32_t kFrameBodyBytesMax = 16u << 20;    // one frame's body
constexpr uint32_t kExtentsPerFrameMax = 1u << 16;    // extent records in one frame
constexpr uint32_t kReadBytesMax = 4u << 20;          // one READ request
constexpr uint32_t kErrorMessageBytesMax = 1024;      // text in an ERROR frame
constexpr uint64_t kPoolSizeMax = uint64_t{1} << 48;  // 256 TiB, the filesystem's limit

// ---- opcodes: one table gives names, directions and body bounds --------------
// X(name, value, direction, body_min, body_max)
#define HAPM_WIRE_OPCODES(X)                                                      \
  X(Hello, 1, ToServer, sizeof(HelloBody), sizeof(HelloBody))                     \
  X(Welcome, 2, ToClient, sizeof(WelcomeBody), sizeof(WelcomeBody))               \
  X(Extents, 3, ToServer, 0, kFrameBodyBytesMax)                                  \
  X(Ack, 4, ToClient, sizeof(AckBody), sizeof(AckBody))                           \
  X(Ping, 5, ToServer, 0, 0)                                                      \
  X(Pong, 6, ToClient, 0, 0)                                                      \
  X(Read, 7, ToServer, sizeof(ReadBody), sizeof(ReadBody))                        \
  X(ReadData, 8, ToClient, 0, kReadBytesMax)                                      \
  X(Error, 9, Both, sizeof(ErrorBody), sizeof(ErrorBody) + kErrorMessageBytesMax) \
  X(Goodbye, 10, ToServer, 0, 0)

enum class Direction : uint8_t { ToServer, ToClient, Both };

enum class Opcode : uint16_t {
#define HAPM_X(name, value, dir, min, max) name = value,
  HAPM_WIRE_OPCODES(HAPM_X)
#undef HAPM_X
};

// ---- frame header -------------------------------------------------------------
struct FrameHeader {
  uint32_t magic;       // 0   kMagic
  uint16_t version;     // 4   kVersion
  uint16_t opcode;      // 6   Opcode
  uint32_t flags;       // 8   per opcode (kCommit, kFullSync for Extents)
  uint32_t body_bytes;  // 12  bytes following this header
  uint64_t seq;         // 16  Extents/Ack: consistency point id; Ping/Pong, Read/ReadData: tag
  uint32_t body_crc;    // 24  CRC32C of the body (0 when body_bytes == 0)
  uint32_t header_crc;  // 28  CRC32C of bytes [0, 28)
};
static_assert(sizeof(FrameHeader) == 32);
static_assert(offsetof(FrameHeader, seq) == 16);
static_assert(offsetof(FrameHeader, header_crc) == 28);

// Extents flags.
constexpr uint32_t kCommit = 1u << 0;    // the body ends with a CommitTrailer
constexpr uint32_t kFullSync = 1u << 1;  // this consistency point rewrites the whole image
constexpr uint32_t kExtentsFlagsKnown = kCommit | kFullSync;

// ---- HELLO / WELCOME ----------------------------------------------------------
// Client roles.
constexpr uint32_t kRolePrimary = 1;  // sends consistency points; owns the volume
constexpr uint32_t kRoleReader = 2;   // only READs the applied image

struct HelloBody {
  uint8_t volume_uuid[16];  // 0   the pool's UUID: the volume key on the server
  uint64_t pool_size;       // 16  bytes; must match an existing replica
  uint32_t endian_marker;   // 24  architecture signature (R15), as in PoolHeader
  uint32_t word_size;       // 28
  uint32_t page_size;       // 32
  uint32_t layout_version;  // 36
  uint64_t epoch;           // 40  fencing epoch of the sender (I4)
  uint32_t role;            // 48  kRolePrimary or kRoleReader
  uint32_t reserved0;       // 52
  uint8_t client_id[16];    // 56  random per mount: names the session in logs
  uint64_t reserved[2];     // 72
};
static_assert(sizeof(HelloBody) == 88);

// Image states.
constexpr uint32_t kImageEmpty = 0;       // never received a full sync: not usable
constexpr uint32_t kImageConsistent = 1;  // at a whole consistency point

struct WelcomeBody {
  uint8_t image_id[16];        // 0   random id of this replica image (new image = new id)
  uint64_t applied_cp;         // 16  the consistency point the image is at (0: none)
  int64_t applied_cp_time_ns;  // 24  CLOCK_REALTIME of that point at the primary
  uint64_t epoch;              // 32  the volume's epoch on the server
  uint32_t image_state;        // 40  kImageEmpty / kImageConsistent
  uint32_t reserved0;          // 44
  uint32_t frame_body_max;     // 48  the server's frame limit (<= kFrameBodyBytesMax)
  uint32_t read_bytes_max;     // 52  the server's READ limit (<= kReadBytesMax)
  uint64_t reserved[2];        // 56
};
static_assert(sizeof(WelcomeBody) == 72);

// ---- EXTENTS --------------------------------------------------------------------
// Body: records of [ExtentHeader][length bytes of data], back to back, then a
// CommitTrailer when flags has kCommit. The extents of one consistency point
// may span many frames; all frames of a point carry its id in `seq`.
struct ExtentHeader {
  uint64_t offset;    // 0  pool byte offset
  uint32_t length;    // 8  bytes of data following (> 0)
  uint32_t reserved;  // 12
};
static_assert(sizeof(ExtentHeader) == 16);

struct CommitTrailer {
  uint64_t cp;            // 0   == seq
  uint64_t extent_count;  // 8   extents in the whole point, across frames
  uint64_t extent_bytes;  // 16  data bytes in the whole point
  int64_t cp_time_ns;     // 24  CLOCK_REALTIME when the point closed at the primary
  uint64_t reserved[2];   // 32
};
static_assert(sizeof(CommitTrailer) == 48);

// ---- ACK, READ, ERROR -------------------------------------------------------------
struct AckBody {
  uint64_t cp;           // 0  durable on the server (staged and persisted)
  uint64_t applied_cp;   // 8  what the image holds now
  uint64_t reserved[2];  // 16
};
static_assert(sizeof(AckBody) == 32);

struct ReadBody {
  uint64_t offset;    // 0
  uint32_t length;    // 8  1 .. read_bytes_max
  uint32_t reserved;  // 12
};
static_assert(sizeof(ReadBody) == 16);

// Error codes on the wire (stable numbers; docs/protocol.md lists them).
#define HAPM_WIRE_ERRORS(X)                                         \
  X(BadFrame, 1, "malformed frame")                                 \
  X(Version, 2, "protocol version not supported")                   \
  X(Identity, 3, "volume identity mismatch (size or architecture)") \
  X(Fenced, 4, "fenced: the volume has a newer epoch")              \
  X(Busy, 5, "volume busy")                                         \
  X(NoSpace, 6, "no space on the server")                           \
  X(IO, 7, "I/O error on the server")                               \
  X(NotFound, 8, "no such volume")                                  \
  X(OutOfRange, 9, "range outside the volume")                      \
  X(Sequence, 10, "out-of-order consistency point")                 \
  X(NotUsable, 11, "replica image is not at a consistency point")   \
  X(Internal, 12, "internal error")

enum class ErrorCode : uint32_t {
#define HAPM_X(name, value, text) name = value,
  HAPM_WIRE_ERRORS(HAPM_X)
#undef HAPM_X
};

struct ErrorBody {         // followed by message_bytes of UTF-8 text
  uint32_t code;           // 0  ErrorCode
  uint32_t message_bytes;  // 4  <= kErrorMessageBytesMax
};
static_assert(sizeof(ErrorBody) == 8);

}  // namespace hapm::wire

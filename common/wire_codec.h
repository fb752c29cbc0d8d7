// Encoding and checking of wire frames (common/wire_format.h). Pure functions
// over bytes: no sockets here, so every refusal path is unit-tested with
// truncated, oversized and corrupted input.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/wire_format.h"

namespace hapm::wire {

// "HELLO", "EXTENTS", ...; "UNKNOWN(n)" for values outside the table.
std::string opcode_name(uint16_t opcode);
bool opcode_known(uint16_t opcode);
// The table's text for a wire error code ("volume busy").
std::string_view error_text(ErrorCode code);
// The one wire-error -> Status conversion: Fenced -> PermissionDenied,
// Busy -> Busy, NoSpace -> NoSpace, Identity/Version -> NotSupported,
// NotFound -> NotFound, BadFrame/Sequence -> Corruption, others -> IOError.
Status error_status(ErrorCode code, std::string_view message);

// A header for a body of `body_bytes` whose CRC32C is `body_crc`, with its
// own checksum filled in.
FrameHeader make_header(Opcode op, uint32_t flags, uint64_t seq, uint32_t body_bytes,
                        uint32_t body_crc);
// Refuses a header with a bad magic, version, checksum, opcode, direction
// (`receiver` is who got it: Direction::ToServer for hapmd), flags, or a body
// length outside the opcode's bounds. Corruption / NotSupported with a message
// naming the field.
Status check_header(const FrameHeader& h, Direction receiver);
Status check_body(const FrameHeader& h, std::span<const uint8_t> body);

// Fixed-size bodies: decode refuses a wrong size (the header check already
// bounds it) and validates fields that have a closed set of values.
Result<HelloBody> decode_hello(std::span<const uint8_t> body);
Result<WelcomeBody> decode_welcome(std::span<const uint8_t> body);
Result<AckBody> decode_ack(std::span<const uint8_t> body);
Result<ReadBody> decode_read(std::span<const uint8_t> body, uint64_t pool_size,
                             uint32_t read_bytes_max);

struct DecodedError {
  ErrorCode code;
  std::string message;
};
Result<DecodedError> decode_error(std::span<const uint8_t> body);
// The body of an ERROR frame (message cut to kErrorMessageBytesMax).
std::vector<uint8_t> encode_error(ErrorCode code, std::string_view message);

// One extent inside a received EXTENTS body (data points into the body).
struct ExtentView {
  uint64_t offset;
  const uint8_t* data;
  uint32_t length;
};
struct ParsedExtents {
  std::vector<ExtentView> extents;
  std::optional<CommitTrailer> commit;  // present iff flags has kCommit
};
// Parses a checked EXTENTS body. Every extent must be non-empty, lie inside
// [0, pool_size), and fit the body; the trailer (if any) must be exactly at
// the end with cp == h.seq. Refuses more than kExtentsPerFrameMax records.
Result<ParsedExtents> parse_extents(const FrameHeader& h, std::span<const uint8_t> body,
                                    uint64_t pool_size);

// Builds EXTENTS frames as gather lists without copying extent data: the
// iovecs point at the caller's bytes (the pool mapping), which must stay
// unchanged until the frame has been sent. Headers and trailer are owned by
// the builder. Extents longer than the room left are split by the caller via
// room().
class ExtentsFrameBuilder {
 public:
  explicit ExtentsFrameBuilder(uint32_t frame_body_max) : body_max_(frame_body_max) {}
  // Bytes of data that still fit in this frame after one more ExtentHeader
  // (and the room kept for a trailer); 0 when the frame is full.
  uint32_t room() const;
  // Adds one extent of 1..room() bytes.
  void add(uint64_t offset, const uint8_t* data, uint32_t length);
  bool empty() const { return extents_ == 0; }
  uint32_t extent_count() const { return extents_; }
  // Finishes the frame (trailer appended when `commit` is set) and returns
  // the iovecs: FrameHeader first. Valid until the next call on the builder.
  const std::vector<struct iovec>& finish(uint64_t seq, uint32_t flags,
                                          const CommitTrailer* commit);
  // Starts a new, empty frame.
  void reset();

 private:
  uint32_t body_max_;
  uint32_t body_bytes_ = 0;
  uint32_t extents_ = 0;
  uint32_t crc_ = 0;
  FrameHeader header_{};
  CommitTrailer trailer_{};
  std::vector<ExtentHeader> ext_headers_;  // reserved up front: iovecs point into it
  std::vector<struct iovec> iov_;
};

}  // namespace hapm::wire

// Framed messages over a Socket: send a frame from gathered body pieces,
// receive and check one frame. Sending and receiving may run on different
// threads; two senders must be serialised by the caller.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "common/net.h"
#include "common/status.h"
#include "common/wire_codec.h"

namespace hapm::wire {

// Sends header + body; the body CRC is computed over the pieces.
Status send_frame(const Socket& s, Opcode op, uint32_t flags, uint64_t seq,
                  std::span<const struct iovec> body);
Status send_frame(const Socket& s, Opcode op, uint32_t flags, uint64_t seq, const void* body,
                  size_t len);
Status send_error(const Socket& s, ErrorCode code, std::string_view message);
// Sends frames built by ExtentsFrameBuilder::finish (header already inside).
Status send_iov(const Socket& s, std::span<const struct iovec> iov);

struct Frame {
  FrameHeader header{};
  std::vector<uint8_t> body;  // reused between calls: capacity grows to the largest body
  Opcode opcode() const { return static_cast<Opcode>(header.opcode); }
};
// Receives one frame and checks header and body (check_header/check_body)
// for a frame arriving at `receiver`. timeout_ms bounds the wait for the
// frame's first byte (-1: forever); once a frame has started, its rest must
// arrive within body_timeout_ms. Unavailable on EOF/timeout, Corruption or
// NotSupported on a bad frame.
Status receive_frame(const Socket& s, Direction receiver, int timeout_ms, int body_timeout_ms,
                     Frame* out);

}  // namespace hapm::wire

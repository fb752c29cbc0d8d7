#include "common/frame_io.h"

#include <cstring>

#include "common/crc32c.h"

namespace hapm::wire {

Status send_frame(const Socket& s, Opcode op, uint32_t flags, uint64_t seq,
                  std::span<const struct iovec> body) {
  uint64_t bytes = 0;
  uint32_t crc = 0;
  for (const struct iovec& v : body) {
    crc = crc32c(v.iov_base, v.iov_len, crc);
    bytes += v.iov_len;
  }
  if (bytes > kFrameBodyBytesMax)
    return Status(Code::InvalidArgument,
                  "frame body of " + std::to_string(bytes) + " bytes exceeds the protocol limit");
  FrameHeader h = make_header(op, flags, seq, static_cast<uint32_t>(bytes), crc);
  std::vector<struct iovec> iov;
  iov.reserve(body.size() + 1);
  iov.push_back({&h, sizeof h});
  iov.insert(iov.end(), body.begin(), body.end());
  return send_all(s, iov.data(), static_cast<int>(iov.size()));
}

Status send_frame(const Socket& s, Opcode op, uint32_t flags, uint64_t seq, const void* body,
                  size_t len) {
  struct iovec v {
    const_cast<void*>(body), len
  };
  return send_frame(s, op, flags, seq, std::span<const struct iovec>(&v, len ? 1 : 0));
}

Status send_error(const Socket& s, ErrorCode code, std::string_view message) {
  std::vector<uint8_t> body = encode_error(code, message);
  return send_frame(s, Opcode::Error, 0, 0, body.data(), body.size());
}

Status send_iov(const Socket& s, std::span<const struct iovec> iov) {
  return send_all(s, iov.data(), static_cast<int>(iov.size()));
}

Status receive_frame(const Socket& s, Direction receiver, int timeout_ms, int body_timeout_ms,
                     Frame* out) {
  // The first byte may take as long as the caller allows (idle link); the
  // rest of a frame that has begun must follow promptly.
  auto ready = wait_readable(s, timeout_ms);
  if (!ready.is_ok()) return ready.status();
  if (!*ready)
    return Status(Code::Unavailable, "nothing received for " + std::to_string(timeout_ms) + " ms");
  HAPM_TRY(recv_exact(s, &out->header, sizeof out->header, body_timeout_ms));
  HAPM_TRY(check_header(out->header, receiver));
  out->body.resize(out->header.body_bytes);
  if (out->header.body_bytes)
    HAPM_TRY(recv_exact(s, out->body.data(), out->body.size(), body_timeout_ms));
  return check_body(out->header, out->body);
}

}  // namespace hapm::wire

#include "common/wire_codec.h"

#include <cstring>

#include "common/crc32c.h"

namespace hapm::wire {

namespace {

struct OpcodeInfo {
  Opcode op;
  const char* name;
  Direction direction;
  uint32_t body_min;
  uint32_t body_max;
};

constexpr OpcodeInfo kOpcodes[] = {
#define HAPM_X(name, value, dir, min, max) \
  {Opcode::name, #name, Direction::dir, static_cast<uint32_t>(min), static_cast<uint32_t>(max)},
    HAPM_WIRE_OPCODES(HAPM_X)
#undef HAPM_X
};

struct ErrorInfo {
  ErrorCode code;
  const char* name;
  const char* text;
};

constexpr ErrorInfo kErrors[] = {
#define HAPM_X(name, value, text) {ErrorCode::name, #name, text},
    HAPM_WIRE_ERRORS(HAPM_X)
#undef HAPM_X
};

const OpcodeInfo* find_opcode(uint16_t opcode) {
  for (const OpcodeInfo& o : kOpcodes)
    if (static_cast<uint16_t>(o.op) == opcode) return &o;
  return nullptr;
}

std::string upper(const char* name) {
  std::string out;
  for (const char* p = name; *p; ++p) {
    if (p != name && *p >= 'A' && *p <= 'Z') out += '_';
    out += static_cast<char>(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  }
  return out;
}

uint32_t crc_of_header(const FrameHeader& h) {
  return crc32c(&h, offsetof(FrameHeader, header_crc));
}

template <class T>
Result<T> decode_fixed(std::span<const uint8_t> body, const char* what) {
  if (body.size() != sizeof(T))
    return Status(Code::Corruption, std::string(what) + " body is " + std::to_string(body.size()) +
                                        " bytes, expected " + std::to_string(sizeof(T)));
  T out;
  std::memcpy(&out, body.data(), sizeof(T));
  return out;
}

}  // namespace

std::string opcode_name(uint16_t opcode) {
  if (const OpcodeInfo* o = find_opcode(opcode)) return upper(o->name);
  return "UNKNOWN(" + std::to_string(opcode) + ")";
}

bool opcode_known(uint16_t opcode) {
  return find_opcode(opcode) != nullptr;
}

std::string_view error_text(ErrorCode code) {
  for (const ErrorInfo& e : kErrors)
    if (e.code == code) return e.text;
  return "unknown error";
}

Status error_status(ErrorCode code, std::string_view message) {
  std::string text(message.empty() ? error_text(code) : message);
  switch (code) {
    case ErrorCode::Fenced:
      return Status(Code::PermissionDenied, text);
    case ErrorCode::Busy:
      return Status(Code::Busy, text);
    case ErrorCode::NoSpace:
      return Status(Code::NoSpace, text);
    case ErrorCode::Identity:
    case ErrorCode::Version:
      return Status(Code::NotSupported, text);
    case ErrorCode::NotFound:
      return Status(Code::NotFound, text);
    case ErrorCode::BadFrame:
    case ErrorCode::Sequence:
      return Status(Code::Corruption, text);
    default:
      return Status(Code::IOError, text);
  }
}

FrameHeader make_header(Opcode op, uint32_t flags, uint64_t seq, uint32_t body_bytes,
                        uint32_t body_crc) {
  FrameHeader h{};
  h.magic = kMagic;
  h.version = kVersion;
  h.opcode = static_cast<uint16_t>(op);
  h.flags = flags;
  h.body_bytes = body_bytes;
  h.seq = seq;
  h.body_crc = body_bytes ? body_crc : 0;
  h.header_crc = crc_of_header(h);
  return h;
}

Status check_header(const FrameHeader& h, Direction receiver) {
  if (h.magic != kMagic)
    return Status(Code::Corruption, "bad frame magic (not a hapm replication peer?)");
  if (h.header_crc != crc_of_header(h))
    return Status(Code::Corruption, "frame header checksum mismatch");
  if (h.version != kVersion)
    return Status(Code::NotSupported, "protocol version " + std::to_string(h.version) +
                                          " not supported; this side speaks " +
                                          std::to_string(kVersion));
  const OpcodeInfo* o = find_opcode(h.opcode);
  if (!o) return Status(Code::Corruption, "unknown opcode " + std::to_string(h.opcode));
  if (o->direction != Direction::Both && o->direction != receiver)
    return Status(Code::Corruption, opcode_name(h.opcode) + " sent in the wrong direction");
  if (h.body_bytes < o->body_min || h.body_bytes > o->body_max)
    return Status(Code::Corruption, opcode_name(h.opcode) + " body of " +
                                        std::to_string(h.body_bytes) + " bytes is outside " +
                                        std::to_string(o->body_min) + ".." +
                                        std::to_string(o->body_max));
  const uint32_t allowed = o->op == Opcode::Extents ? kExtentsFlagsKnown : 0;
  if (h.flags & ~allowed)
    return Status(Code::Corruption, "unknown flags 0x" + std::to_string(h.flags & ~allowed) +
                                        " on " + opcode_name(h.opcode));
  if (h.body_bytes == 0 && h.body_crc != 0)
    return Status(Code::Corruption, "empty body with a checksum");
  return Status::ok();
}

Status check_body(const FrameHeader& h, std::span<const uint8_t> body) {
  if (body.size() != h.body_bytes)
    return Status(Code::Corruption, "frame body truncated: " + std::to_string(body.size()) +
                                        " of " + std::to_string(h.body_bytes) + " bytes");
  if (h.body_bytes && crc32c(body.data(), body.size()) != h.body_crc)
    return Status(Code::Corruption, opcode_name(h.opcode) + " body checksum mismatch");
  return Status::ok();
}

Result<HelloBody> decode_hello(std::span<const uint8_t> body) {
  auto r = decode_fixed<HelloBody>(body, "HELLO");
  if (!r.is_ok()) return r;
  const HelloBody& b = *r;
  if (b.role != kRolePrimary && b.role != kRoleReader)
    return Status(Code::Corruption, "HELLO with unknown role " + std::to_string(b.role));
  if (b.pool_size == 0 || b.pool_size % 4096 != 0 || b.pool_size > kPoolSizeMax)
    return Status(Code::Corruption,
                  "HELLO with an impossible pool size " + std::to_string(b.pool_size));
  return r;
}

Result<WelcomeBody> decode_welcome(std::span<const uint8_t> body) {
  auto r = decode_fixed<WelcomeBody>(body, "WELCOME");
  if (!r.is_ok()) return r;
  const WelcomeBody& b = *r;
  if (b.image_state != kImageEmpty && b.image_state != kImageConsistent)
    return Status(Code::Corruption, "WELCOME with unknown image state");
  if (b.frame_body_max < 4096 || b.frame_body_max > kFrameBodyBytesMax || b.read_bytes_max == 0 ||
      b.read_bytes_max > kReadBytesMax)
    return Status(Code::Corruption, "WELCOME with limits outside the protocol's");
  return r;
}

Result<AckBody> decode_ack(std::span<const uint8_t> body) {
  return decode_fixed<AckBody>(body, "ACK");
}

Result<ReadBody> decode_read(std::span<const uint8_t> body, uint64_t pool_size,
                             uint32_t read_bytes_max) {
  auto r = decode_fixed<ReadBody>(body, "READ");
  if (!r.is_ok()) return r;
  const ReadBody& b = *r;
  if (b.length == 0 || b.length > read_bytes_max)
    return Status(Code::InvalidArgument, "READ of " + std::to_string(b.length) + " bytes (1.." +
                                             std::to_string(read_bytes_max) + " allowed)");
  if (b.offset > pool_size || b.length > pool_size - b.offset)
    return Status(Code::InvalidArgument, "READ of [" + std::to_string(b.offset) + ", +" +
                                             std::to_string(b.length) + ") outside the volume of " +
                                             std::to_string(pool_size) + " bytes");
  return r;
}

Result<DecodedError> decode_error(std::span<const uint8_t> body) {
  if (body.size() < sizeof(ErrorBody)) return Status(Code::Corruption, "ERROR body truncated");
  ErrorBody e;
  std::memcpy(&e, body.data(), sizeof e);
  if (e.message_bytes > kErrorMessageBytesMax || e.message_bytes != body.size() - sizeof e)
    return Status(Code::Corruption, "ERROR message length does not match its body");
  bool known = false;
  for (const ErrorInfo& i : kErrors) known |= static_cast<uint32_t>(i.code) == e.code;
  DecodedError out{
      known ? static_cast<ErrorCode>(e.code) : ErrorCode::Internal,
      std::string(reinterpret_cast<const char*>(body.data() + sizeof e), e.message_bytes)};
  return out;
}

std::vector<uint8_t> encode_error(ErrorCode code, std::string_view message) {
  if (message.size() > kErrorMessageBytesMax) message = message.substr(0, kErrorMessageBytesMax);
  ErrorBody e{static_cast<uint32_t>(code), static_cast<uint32_t>(message.size())};
  std::vector<uint8_t> out(sizeof e + message.size());
  std::memcpy(out.data(), &e, sizeof e);
  std::memcpy(out.data() + sizeof e, message.data(), message.size());
  return out;
}

Result<ParsedExtents> parse_extents(const FrameHeader& h, std::span<const uint8_t> body,
                                    uint64_t pool_size) {
  ParsedExtents out;
  size_t end = body.size();
  if (h.flags & kCommit) {
    if (end < sizeof(CommitTrailer))
      return Status(Code::Corruption, "EXTENTS with kCommit but no room for its trailer");
    end -= sizeof(CommitTrailer);
    CommitTrailer t;
    std::memcpy(&t, body.data() + end, sizeof t);
    if (t.cp != h.seq)
      return Status(Code::Corruption, "commit trailer for point " + std::to_string(t.cp) +
                                          " in a frame of point " + std::to_string(h.seq));
    out.commit = t;
  }
  size_t pos = 0;
  while (pos < end) {
    if (out.extents.size() >= kExtentsPerFrameMax)
      return Status(Code::Corruption,
                    "more than " + std::to_string(kExtentsPerFrameMax) + " extents in one frame");
    if (end - pos < sizeof(ExtentHeader))
      return Status(Code::Corruption,
                    "extent header truncated at body offset " + std::to_string(pos));
    ExtentHeader e;
    std::memcpy(&e, body.data() + pos, sizeof e);
    pos += sizeof e;
    if (e.length == 0)
      return Status(Code::Corruption, "empty extent at pool offset " + std::to_string(e.offset));
    if (e.length > end - pos)
      return Status(Code::Corruption, "extent of " + std::to_string(e.length) +
                                          " bytes runs past the end of its frame");
    if (e.offset > pool_size || e.length > pool_size - e.offset)
      return Status(Code::InvalidArgument,
                    "extent [" + std::to_string(e.offset) + ", +" + std::to_string(e.length) +
                        ") outside the volume of " + std::to_string(pool_size) + " bytes");
    out.extents.push_back(ExtentView{e.offset, body.data() + pos, e.length});
    pos += e.length;
  }
  return out;
}

// ---- ExtentsFrameBuilder -------------------------------------------------------

uint32_t ExtentsFrameBuilder::room() const {
  if (extents_ >= kExtentsPerFrameMax) return 0;
  const uint64_t used = uint64_t{body_bytes_} + sizeof(ExtentHeader) + sizeof(CommitTrailer);
  return used >= body_max_ ? 0 : static_cast<uint32_t>(body_max_ - used);
}

void ExtentsFrameBuilder::add(uint64_t offset, const uint8_t* data, uint32_t length) {
  if (iov_.empty()) {
    // The iovecs point into ext_headers_: it never reallocates while a frame
    // is being built.
    ext_headers_.reserve(kExtentsPerFrameMax);
    iov_.push_back({&header_, sizeof header_});
  }
  ext_headers_.push_back(ExtentHeader{offset, length, 0});
  const ExtentHeader& eh = ext_headers_.back();
  crc_ = crc32c(&eh, sizeof eh, crc_);
  crc_ = crc32c(data, length, crc_);
  iov_.push_back({const_cast<ExtentHeader*>(&eh), sizeof eh});
  iov_.push_back({const_cast<uint8_t*>(data), length});
  body_bytes_ += static_cast<uint32_t>(sizeof eh) + length;
  ++extents_;
}

const std::vector<struct iovec>& ExtentsFrameBuilder::finish(uint64_t seq, uint32_t flags,
                                                             const CommitTrailer* commit) {
  if (iov_.empty()) iov_.push_back({&header_, sizeof header_});
  uint32_t body = body_bytes_;
  uint32_t crc = crc_;
  if (commit) {
    trailer_ = *commit;
    crc = crc32c(&trailer_, sizeof trailer_, crc);
    body += sizeof trailer_;
    iov_.push_back({&trailer_, sizeof trailer_});
    flags |= kCommit;
  }
  header_ = make_header(Opcode::Extents, flags, seq, body, crc);
  return iov_;
}

void ExtentsFrameBuilder::reset() {
  body_bytes_ = 0;
  extents_ = 0;
  crc_ = 0;
  ext_headers_.clear();
  iov_.clear();
}

}  // namespace hapm::wire

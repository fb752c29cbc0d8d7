// The wire protocol codec and framed I/O: every message round-trips, every
// malformed frame is refused (truncated, oversized, corrupted, hostile).
#include "common/wire_codec.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "common/frame_io.h"
#include "common/net.h"

namespace hapm::wire {
namespace {

constexpr uint64_t kPool = 64ull << 20;

// A frame as bytes: header then body.
std::vector<uint8_t> frame_bytes(const std::vector<struct iovec>& iov) {
  std::vector<uint8_t> out;
  for (const auto& v : iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    out.insert(out.end(), p, p + v.iov_len);
  }
  return out;
}

std::vector<uint8_t> frame_bytes(Opcode op, uint32_t flags, uint64_t seq,
                                 const std::vector<uint8_t>& body) {
  FrameHeader h = make_header(op, flags, seq, static_cast<uint32_t>(body.size()),
                              crc32c(body.data(), body.size()));
  std::vector<uint8_t> out(sizeof h + body.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!body.empty()) std::memcpy(out.data() + sizeof h, body.data(), body.size());
  return out;
}

// Header check, body check and (for EXTENTS) parse of raw bytes, as hapmd
// does with what arrives.
Status receive_bytes(const std::vector<uint8_t>& bytes, Direction receiver,
                     ParsedExtents* parsed = nullptr) {
  if (bytes.size() < sizeof(FrameHeader)) return Status(Code::Corruption, "short header");
  FrameHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  HAPM_TRY(check_header(h, receiver));
  std::span<const uint8_t> body(bytes.data() + sizeof h, bytes.size() - sizeof h);
  if (body.size() > h.body_bytes) body = body.first(h.body_bytes);
  HAPM_TRY(check_body(h, body));
  if (h.opcode == static_cast<uint16_t>(Opcode::Extents)) {
    auto p = parse_extents(h, body, kPool);
    if (!p.is_ok()) return p.status();
    // Touch every byte the parser handed out: ASan catches a bad pointer.
    uint32_t sum = 0;
    for (const ExtentView& e : p->extents) sum = crc32c(e.data, e.length, sum);
    (void)sum;
    if (parsed) *parsed = std::move(p.value());
  }
  return Status::ok();
}

std::vector<uint8_t> sample_extents_frame(std::vector<uint8_t>* data_out = nullptr) {
  static std::vector<uint8_t> data(20000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  ExtentsFrameBuilder b(1 << 20);
  b.add(4096, data.data(), 100);
  b.add(8192, data.data() + 100, 5000);
  b.add(kPool - 64, data.data() + 5100, 64);
  CommitTrailer t{};
  t.cp = 42;
  t.extent_count = 3;
  t.extent_bytes = 5164;
  t.cp_time_ns = 1234;
  if (data_out) *data_out = data;
  return frame_bytes(b.finish(42, 0, &t));
}

TEST_CASE("an extents frame with a piggybacked commit round-trips", "[wire]") {
  std::vector<uint8_t> data;
  const std::vector<uint8_t> bytes = sample_extents_frame(&data);
  ParsedExtents p;
  Status s = receive_bytes(bytes, Direction::ToServer, &p);
  INFO(s.to_string());
  REQUIRE(s.is_ok());
  REQUIRE(p.extents.size() == 3);
  CHECK(p.extents[0].offset == 4096);
  CHECK(p.extents[1].length == 5000);
  CHECK(std::memcmp(p.extents[1].data, data.data() + 100, 5000) == 0);
  CHECK(p.extents[2].offset == kPool - 64);
  REQUIRE(p.commit.has_value());
  CHECK(p.commit->cp == 42);
  CHECK(p.commit->extent_bytes == 5164);
}

TEST_CASE("the frame builder's room() keeps every frame within the limit", "[wire]") {
  std::vector<uint8_t> data(100000, 0xab);
  ExtentsFrameBuilder b(16384);
  uint64_t offset = 0, left = data.size(), frames = 0, bytes = 0;
  while (left > 0) {
    const uint32_t room = b.room();
    if (room == 0) {
      auto f = frame_bytes(b.finish(7, 0, nullptr));
      CHECK(f.size() - sizeof(FrameHeader) <= 16384 - sizeof(CommitTrailer));
      REQUIRE(receive_bytes(f, Direction::ToServer).is_ok());
      b.reset();
      ++frames;
      continue;
    }
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(room, left));
    b.add(offset, data.data() + offset, n);
    offset += n;
    left -= n;
    bytes += n;
  }
  CommitTrailer t{};
  t.cp = 7;
  auto last = frame_bytes(b.finish(7, 0, &t));
  CHECK(last.size() - sizeof(FrameHeader) <= 16384);
  CHECK(receive_bytes(last, Direction::ToServer).is_ok());
  CHECK(frames >= 6);
  CHECK(bytes == data.size());
}

TEST_CASE("fixed messages round-trip and are checked", "[wire]") {
  HelloBody hello{};
  hello.pool_size = kPool;
  hello.role = kRolePrimary;
  hello.epoch = 3;
  std::vector<uint8_t> body(sizeof hello);
  std::memcpy(body.data(), &hello, sizeof hello);
  auto bytes = frame_bytes(Opcode::Hello, 0, 0, body);
  REQUIRE(receive_bytes(bytes, Direction::ToServer).is_ok());
  auto h = decode_hello(body);
  REQUIRE(h.is_ok());
  CHECK(h->epoch == 3);

  hello.role = 99;
  std::memcpy(body.data(), &hello, sizeof hello);
  CHECK(decode_hello(body).status().code() == Code::Corruption);
  hello.role = kRoleReader;
  hello.pool_size = 4097;
  std::memcpy(body.data(), &hello, sizeof hello);
  CHECK_FALSE(decode_hello(body).is_ok());

  WelcomeBody w{};
  w.image_state = kImageConsistent;
  w.frame_body_max = kFrameBodyBytesMax;
  w.read_bytes_max = kReadBytesMax;
  w.applied_cp = 9;
  std::vector<uint8_t> wb(sizeof w);
  std::memcpy(wb.data(), &w, sizeof w);
  REQUIRE(decode_welcome(wb).is_ok());
  CHECK(decode_welcome(wb)->applied_cp == 9);
  w.frame_body_max = kFrameBodyBytesMax + 1;
  std::memcpy(wb.data(), &w, sizeof w);
  CHECK_FALSE(decode_welcome(wb).is_ok());

  ReadBody r{kPool - 4096, 4096, 0};
  std::vector<uint8_t> rb(sizeof r);
  std::memcpy(rb.data(), &r, sizeof r);
  CHECK(decode_read(rb, kPool, kReadBytesMax).is_ok());
  r.offset = kPool - 100;
  std::memcpy(rb.data(), &r, sizeof r);
  CHECK(decode_read(rb, kPool, kReadBytesMax).status().code() == Code::InvalidArgument);
  r = ReadBody{~uint64_t{0} - 10, 4096, 0};  // offset + length overflows
  std::memcpy(rb.data(), &r, sizeof r);
  CHECK_FALSE(decode_read(rb, kPool, kReadBytesMax).is_ok());
  r = ReadBody{0, 0, 0};
  std::memcpy(rb.data(), &r, sizeof r);
  CHECK_FALSE(decode_read(rb, kPool, kReadBytesMax).is_ok());

  auto eb = encode_error(ErrorCode::Fenced, "fenced: volume promoted elsewhere at epoch 4");
  auto e = decode_error(eb);
  REQUIRE(e.is_ok());
  CHECK(e->code == ErrorCode::Fenced);
  CHECK(e->message == "fenced: volume promoted elsewhere at epoch 4");
  CHECK(error_status(e->code, e->message).code() == Code::PermissionDenied);
  eb.push_back('x');  // length no longer matches
  CHECK_FALSE(decode_error(eb).is_ok());
  CHECK(encode_error(ErrorCode::IO, std::string(5000, 'x')).size() ==
        sizeof(ErrorBody) + kErrorMessageBytesMax);
}

TEST_CASE("malformed frames are refused, each with its reason", "[wire]") {
  const std::vector<uint8_t> good = sample_extents_frame();
  REQUIRE(receive_bytes(good, Direction::ToServer).is_ok());
  auto with_header = [&](auto&& change) {
    std::vector<uint8_t> b = good;
    FrameHeader h;
    std::memcpy(&h, b.data(), sizeof h);
    change(h);
    h.header_crc = crc32c(&h, offsetof(FrameHeader, header_crc));
    std::memcpy(b.data(), &h, sizeof h);
    return b;
  };
  auto refused = [](const std::vector<uint8_t>& b, Code code, const char* words) {
    Status s = receive_bytes(b, Direction::ToServer);
    INFO(s.to_string());
    CHECK(s.code() == code);
    CHECK(s.message().find(words) != std::string::npos);
  };
  SECTION("truncated header and body") {
    refused(std::vector<uint8_t>(good.begin(), good.begin() + 20), Code::Corruption, "short");
    refused(std::vector<uint8_t>(good.begin(), good.end() - 1), Code::Corruption, "truncated");
  }
  SECTION("bad magic, version, checksums") {
    refused(with_header([](FrameHeader& h) { h.magic ^= 1; }), Code::Corruption, "magic");
    refused(with_header([](FrameHeader& h) { h.version = 2; }), Code::NotSupported, "version 2");
    std::vector<uint8_t> b = good;
    b[17] ^= 0x10;  // inside seq, header checksum now wrong
    refused(b, Code::Corruption, "header checksum");
    b = good;
    b[sizeof(FrameHeader) + 40] ^= 0x01;  // inside extent data
    refused(b, Code::Corruption, "body checksum");
  }
  SECTION("unknown opcode, wrong direction, unknown flags, oversized body") {
    refused(with_header([](FrameHeader& h) { h.opcode = 77; }), Code::Corruption, "opcode");
    refused(with_header([](FrameHeader& h) { h.opcode = static_cast<uint16_t>(Opcode::Ack); }),
            Code::Corruption, "direction");
    refused(with_header([](FrameHeader& h) { h.flags |= 0x100; }), Code::Corruption, "flags");
    refused(with_header([](FrameHeader& h) { h.body_bytes = kFrameBodyBytesMax + 1; }),
            Code::Corruption, "outside");
    refused(with_header([](FrameHeader& h) { h.opcode = static_cast<uint16_t>(Opcode::Ping); }),
            Code::Corruption, "outside");  // PING carries no body
  }
}

// An EXTENTS body built by hand, so fields can be hostile.
std::vector<uint8_t> hostile_extents(uint64_t offset, uint32_t length, size_t data_bytes,
                                     bool commit, uint64_t trailer_cp = 5) {
  std::vector<uint8_t> body(sizeof(ExtentHeader) + data_bytes, 0x5a);
  ExtentHeader e{offset, length, 0};
  std::memcpy(body.data(), &e, sizeof e);
  if (commit) {
    CommitTrailer t{};
    t.cp = trailer_cp;
    const size_t at = body.size();
    body.resize(at + sizeof t);
    std::memcpy(body.data() + at, &t, sizeof t);
  }
  return frame_bytes(Opcode::Extents, commit ? kCommit : 0, 5, body);
}

TEST_CASE("hostile extents are refused before anything is used", "[wire]") {
  auto code = [](const std::vector<uint8_t>& b) {
    Status s = receive_bytes(b, Direction::ToServer);
    INFO(s.to_string());
    return s.code();
  };
  CHECK(code(hostile_extents(0, 16, 16, true)) == Code::Ok);
  CHECK(code(hostile_extents(0, 0, 0, false)) == Code::Corruption);                 // empty extent
  CHECK(code(hostile_extents(0, 64, 16, false)) == Code::Corruption);               // past the body
  CHECK(code(hostile_extents(kPool - 8, 16, 16, false)) == Code::InvalidArgument);  // past pool
  CHECK(code(hostile_extents(~uint64_t{0} - 4, 16, 16, false)) == Code::InvalidArgument);
  CHECK(code(hostile_extents(0, 16, 16, true, 6)) == Code::Corruption);  // trailer for another cp
  CHECK(code(hostile_extents(0, 16, 8, false)) == Code::Corruption);     // data truncated
  // A commit flag whose body is too short for a trailer.
  CHECK(code(frame_bytes(Opcode::Extents, kCommit, 5, std::vector<uint8_t>(10))) ==
        Code::Corruption);
}

TEST_CASE("more extents than a frame may carry are refused", "[wire]") {
  std::vector<uint8_t> body;
  const uint8_t byte = 1;
  for (uint32_t i = 0; i <= kExtentsPerFrameMax; ++i) {
    ExtentHeader e{i * 2ull, 1, 0};
    const auto* p = reinterpret_cast<const uint8_t*>(&e);
    body.insert(body.end(), p, p + sizeof e);
    body.push_back(byte);
  }
  Status s = receive_bytes(frame_bytes(Opcode::Extents, 0, 1, body), Direction::ToServer);
  CHECK(s.code() == Code::Corruption);
  CHECK(s.message().find("extents in one frame") != std::string::npos);
}

TEST_CASE("randomly mutated frames never crash the decoder", "[wire]") {
  const std::vector<uint8_t> good = sample_extents_frame();
  std::mt19937_64 rng(20261122);
  // kind 0: truncated, 1: bits flipped, 2: trailing bytes (the next frame in
  // a stream), 3: a body byte changed with both checksums fixed up.
  int refused[4] = {}, total[4] = {};
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> b = good;
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {
      b.resize(rng() % b.size());
    } else if (kind == 1) {
      b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    } else if (kind == 2) {
      b.insert(b.end(), 1 + rng() % 64, static_cast<uint8_t>(rng()));
    } else {
      b[sizeof(FrameHeader) + rng() % (b.size() - sizeof(FrameHeader))] =
          static_cast<uint8_t>(rng());
      FrameHeader h;
      std::memcpy(&h, b.data(), sizeof h);
      h.body_crc = crc32c(b.data() + sizeof h, b.size() - sizeof h);
      h.header_crc = crc32c(&h, offsetof(FrameHeader, header_crc));
      std::memcpy(b.data(), &h, sizeof h);
    }
    ++total[kind];
    if (!receive_bytes(b, Direction::ToServer).is_ok()) ++refused[kind];
  }
  CHECK(refused[0] == total[0]);  // every truncation is caught
  CHECK(refused[1] == total[1]);  // every single-bit flip is caught (CRC32C)
  CHECK(refused[2] == 0);         // what follows a frame is not its business
  CHECK(total[3] > 0);            // structural damage: refused or parsed in bounds (ASan)
}

TEST_CASE("opcode and error tables are all documented in docs/protocol.md", "[wire]") {
  std::ifstream in(std::string(HAPM_SOURCE_DIR) + "/docs/protocol.md");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
#define HAPM_X(name, value, dir, min, max) CHECK(doc.find(opcode_name(value)) != std::string::npos);
  HAPM_WIRE_OPCODES(HAPM_X)
#undef HAPM_X
#define HAPM_X(name, value, text) CHECK(doc.find(#name) != std::string::npos);
  HAPM_WIRE_ERRORS(HAPM_X)
#undef HAPM_X
}

TEST_CASE("endpoints parse, with clear refusals", "[wire][net]") {
  auto e = parse_endpoint("127.0.0.1:7070");
  REQUIRE(e.is_ok());
  CHECK(e->transport == "tcp");
  CHECK(e->to_string() == "tcp://127.0.0.1:7070");
  CHECK(parse_endpoint("tcp://host:1")->host == "host");
  CHECK(parse_endpoint("rdma://10.0.0.1:7070")->transport == "rdma");
  CHECK(parse_endpoint("[::1]:80")->host == "::1");
  CHECK(parse_endpoint("host").status().message().find("no port") != std::string::npos);
  CHECK(parse_endpoint("host:70000").status().message().find("0..65535") != std::string::npos);
  CHECK(parse_endpoint("udp://h:1").status().message().find("unknown transport") !=
        std::string::npos);
  CHECK_FALSE(parse_endpoint(":1").is_ok());
}

TEST_CASE("frames travel over a loopback connection; silence and close are Unavailable",
          "[wire][net]") {
  auto listener = tcp_listen(Endpoint{"tcp", "127.0.0.1", 0});
  REQUIRE(listener.is_ok());
  auto port = local_port(*listener);
  REQUIRE(port.is_ok());
  auto client = tcp_connect(Endpoint{"tcp", "127.0.0.1", *port}, 2000);
  REQUIRE(client.is_ok());
  auto server = tcp_accept(*listener, 2000);
  REQUIRE(server.is_ok());
  tune_replication_socket(*client);

  // A big frame from the client, through gather I/O.
  std::vector<uint8_t> data(3u << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i ^ (i >> 9));
  std::thread sender([&] {
    ExtentsFrameBuilder b(kFrameBodyBytesMax);
    b.add(0, data.data(), static_cast<uint32_t>(data.size()));
    CommitTrailer t{};
    t.cp = 1;
    CHECK(send_iov(*client, b.finish(1, kFullSync, &t)).is_ok());
  });
  Frame f;
  Status s = receive_frame(*server, Direction::ToServer, 5000, 5000, &f);
  sender.join();
  INFO(s.to_string());
  REQUIRE(s.is_ok());
  auto p = parse_extents(f.header, f.body, kPool);
  REQUIRE(p.is_ok());
  REQUIRE(p->extents.size() == 1);
  CHECK(std::memcmp(p->extents[0].data, data.data(), data.size()) == 0);
  CHECK((f.header.flags & kFullSync) != 0);

  // Nothing sent: a timeout, not a hang.
  Status quiet = receive_frame(*server, Direction::ToServer, 50, 50, &f);
  CHECK(quiet.code() == Code::Unavailable);
  // An ERROR frame the other way.
  REQUIRE(send_error(*server, ErrorCode::Busy, "volume busy").is_ok());
  REQUIRE(receive_frame(*client, Direction::ToClient, 2000, 2000, &f).is_ok());
  CHECK(f.opcode() == Opcode::Error);
  // The peer goes away.
  client->close();
  Status gone = receive_frame(*server, Direction::ToServer, 2000, 2000, &f);
  CHECK(gone.code() == Code::Unavailable);
  // Connecting to a port nobody listens on.
  listener->close();
  CHECK(tcp_connect(Endpoint{"tcp", "127.0.0.1", *port}, 500).status().code() == Code::Unavailable);
}

}  // namespace
}  // namespace hapm::wire

// TCP endpoints and sockets: the one place where socket errno values become
// Status. Used by the replicator (client) and by hapmd (server).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace hapm {

// "tcp://HOST:PORT", or bare "HOST:PORT" meaning the same; "rdma://HOST:PORT"
// parses with transport "rdma". HOST may be a name, IPv4, or [IPv6].
struct Endpoint {
  std::string transport;  // "tcp" or "rdma"
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;  // "tcp://127.0.0.1:7070"
};
Result<Endpoint> parse_endpoint(std::string_view text);

// An owned file descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept;
  ~Socket();
  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // shutdown(SHUT_RDWR): wakes a thread blocked in recv on this socket.
  void shutdown();
  void close();

 private:
  int fd_ = -1;
};

// Connects with a timeout; TCP_NODELAY set. Unavailable when refused/unreachable.
Result<Socket> tcp_connect(const Endpoint& to, int timeout_ms);
// Listens (SO_REUSEADDR); port 0 picks one (see local_port).
Result<Socket> tcp_listen(const Endpoint& at, int backlog = 64);
Result<uint16_t> local_port(const Socket& s);
// Waits up to timeout_ms (-1: forever) for a connection; Unavailable on timeout.
Result<Socket> tcp_accept(const Socket& listener, int timeout_ms, std::string* peer = nullptr);
// Large socket buffers, keepalive, TCP_NODELAY: what a replication link wants.
void tune_replication_socket(const Socket& s);

// Sends every byte of the iovecs (partial writes and EINTR handled; no
// SIGPIPE). Unavailable when the peer is gone.
Status send_all(const Socket& s, const struct iovec* iov, int count);
Status send_all(const Socket& s, const void* data, size_t len);
// Receives exactly `len` bytes, waiting up to timeout_ms in total (-1:
// forever). Unavailable on EOF, reset or timeout (the message says which).
Status recv_exact(const Socket& s, void* data, size_t len, int timeout_ms);
// Waits up to timeout_ms for the socket to become readable; false on timeout.
Result<bool> wait_readable(const Socket& s, int timeout_ms);

}  // namespace hapm

#include "common/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <vector>

namespace hapm {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

Status peer_gone(int err, std::string_view what) {
  if (err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ECONNABORTED)
    return Status(Code::Unavailable, std::string(what) + ": connection reset by peer");
  return Status::from_errno(err, what);
}

}  // namespace

std::string Endpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return transport + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint e;
  e.transport = "tcp";
  std::string_view rest = text;
  if (const size_t p = rest.find("://"); p != std::string_view::npos) {
    e.transport = std::string(rest.substr(0, p));
    rest = rest.substr(p + 3);
    if (e.transport != "tcp" && e.transport != "rdma")
      return Status(Code::InvalidArgument, "unknown transport '" + e.transport + "' in '" +
                                               std::string(text) +
                                               "' (use tcp://HOST:PORT or rdma://HOST:PORT)");
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Status(Code::InvalidArgument, "'" + std::string(text) + "': expected [IPv6]:PORT");
    e.host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return Status(Code::InvalidArgument,
                    "'" + std::string(text) + "' has no port (expected HOST:PORT)");
    e.host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
  }
  if (e.host.empty())
    return Status(Code::InvalidArgument, "'" + std::string(text) + "' has no host");
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Status(Code::InvalidArgument, "'" + std::string(text) + "': port must be 0..65535");
  const unsigned long port = std::stoul(std::string(port_text));
  if (port > 65535)
    return Status(Code::InvalidArgument, "'" + std::string(text) + "': port must be 0..65535");
  e.port = static_cast<uint16_t>(port);
  return e;
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Socket::~Socket() {
  close();
}

void Socket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

Result<struct addrinfo*> resolve(const Endpoint& e, bool passive) {
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  struct addrinfo* res = nullptr;
  const std::string port = std::to_string(e.port);
  const int rc = getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status(Code::NotFound, "cannot resolve " + e.host + ": " + gai_strerror(rc));
  return res;
}

}  // namespace

Result<Socket> tcp_connect(const Endpoint& to, int timeout_ms) {
  auto res = resolve(to, false);
  if (!res.is_ok()) return res.status();
  std::unique_ptr<struct addrinfo, void (*)(struct addrinfo*)> list(*res, freeaddrinfo);
  Status last(Code::Unavailable, "cannot connect to " + to.to_string());
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (struct addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    Socket s(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!s.valid()) {
      last = Status::from_errno(errno, "socket");
      continue;
    }
    int rc = ::connect(s.fd(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      struct pollfd p {
        s.fd(), POLLOUT, 0
      };
      rc = ::poll(&p, 1, remaining_ms(deadline));
      if (rc == 0) {
        last = Status(Code::Unavailable, "connecting to " + to.to_string() + " timed out after " +
                                             std::to_string(timeout_ms) + " ms");
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err ? -1 : 0;
      errno = err;
    }
    if (rc != 0) {
      const int err = errno;
      last = Status(Code::Unavailable,
                    "cannot connect to " + to.to_string() + ": " + std::strerror(err));
      continue;
    }
    const int flags = fcntl(s.fd(), F_GETFL);
    fcntl(s.fd(), F_SETFL, flags & ~O_NONBLOCK);
    const int one = 1;
    setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
  }
  return last;
}

Result<Socket> tcp_listen(const Endpoint& at, int backlog) {
  auto res = resolve(at, true);
  if (!res.is_ok()) return res.status();
  std::unique_ptr<struct addrinfo, void (*)(struct addrinfo*)> list(*res, freeaddrinfo);
  Status last(Code::Unavailable, "cannot listen on " + at.to_string());
  for (struct addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    Socket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!s.valid()) {
      last = Status::from_errno(errno, "socket");
      continue;
    }
    const int one = 1;
    setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.fd(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(s.fd(), backlog) != 0) {
      const int err = errno;
      last = Status(err == EADDRINUSE ? Code::Busy : Code::IOError,
                    "cannot listen on " + at.to_string() + ": " + std::strerror(err));
      continue;
    }
    return s;
  }
  return last;
}

Result<uint16_t> local_port(const Socket& s) {
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  if (getsockname(s.fd(), reinterpret_cast<struct sockaddr*>(&ss), &len) != 0)
    return Status::from_errno(errno, "getsockname");
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port);
}

Result<Socket> tcp_accept(const Socket& listener, int timeout_ms, std::string* peer) {
  auto ready = wait_readable(listener, timeout_ms);
  if (!ready.is_ok()) return ready.status();
  if (!*ready) return Status(Code::Unavailable, "no connection within the timeout");
  struct sockaddr_storage ss {};
  socklen_t len = sizeof ss;
  Socket s(::accept4(listener.fd(), reinterpret_cast<struct sockaddr*>(&ss), &len, SOCK_CLOEXEC));
  if (!s.valid()) return Status::from_errno(errno, "accept");
  if (peer) {
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<struct sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<struct sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
    *peer = std::string(host) + ":" + std::to_string(port);
  }
  const int one = 1;
  setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

void tune_replication_socket(const Socket& s) {
  const int one = 1;
  setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(s.fd(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  const int idle_s = 5, interval_s = 2, probes = 3;
  setsockopt(s.fd(), IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
  setsockopt(s.fd(), IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  setsockopt(s.fd(), IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  const int buffer_bytes = 4 << 20;
  setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
}

Status send_all(const Socket& s, const struct iovec* iov, int count) {
  // A private copy: partial writes advance it without touching the caller's.
  std::vector<struct iovec> left(iov, iov + count);
  size_t first = 0;
  for (int rounds = 0; first < left.size(); ++rounds) {
    while (first < left.size() && left[first].iov_len == 0) ++first;
    if (first == left.size()) break;
    struct msghdr msg {};
    msg.msg_iov = left.data() + first;
    msg.msg_iovlen = std::min<size_t>(left.size() - first, IOV_MAX);
    const ssize_t n = ::sendmsg(s.fd(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Status(Code::Unavailable, "send timed out: the peer is not reading");
      return peer_gone(errno, "send");
    }
    size_t done = static_cast<size_t>(n);
    while (done > 0 && first < left.size()) {
      const size_t take = std::min(done, left[first].iov_len);
      left[first].iov_base = static_cast<uint8_t*>(left[first].iov_base) + take;
      left[first].iov_len -= take;
      done -= take;
      if (left[first].iov_len == 0) ++first;
    }
  }
  return Status::ok();
}

Status send_all(const Socket& s, const void* data, size_t len) {
  struct iovec iov {
    const_cast<void*>(data), len
  };
  return send_all(s, &iov, 1);
}

Result<bool> wait_readable(const Socket& s, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (;;) {
    struct pollfd p {
      s.fd(), POLLIN, 0
    };
    const int rc = ::poll(&p, 1, timeout_ms < 0 ? -1 : remaining_ms(deadline));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "poll");
    }
    return rc > 0;
  }
}

Status recv_exact(const Socket& s, void* data, size_t len, int timeout_ms) {
  auto* p = static_cast<uint8_t*>(data);
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  size_t got = 0;
  while (got < len) {
    if (timeout_ms >= 0) {
      auto ready = wait_readable(s, remaining_ms(deadline));
      if (!ready.is_ok()) return ready.status();
      if (!*ready)
        return Status(Code::Unavailable,
                      "receive timed out after " + std::to_string(timeout_ms) + " ms");
    }
    const ssize_t n = ::recv(s.fd(), p + got, len - got, 0);
    if (n == 0) return Status(Code::Unavailable, "connection closed by peer");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return peer_gone(errno, "receive");
    }
    got += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace hapm

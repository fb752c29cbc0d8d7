// Status -> fuse_reply_*: the one place a Status becomes an errno.
#include <spdlog/spdlog.h>

#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

// Failures a user should hear about in the log (the errno alone says little);
// bounded so a damaged pool cannot flood the log.
constexpr uint64_t kErrorsLoggedMax = 100;

void log_failure(fuse_req_t req, const Status& s) {
  if (s.code() != Code::Corruption && s.code() != Code::IOError) return;
  const uint64_t n = ctx(req).errors_logged.fetch_add(1, std::memory_order_relaxed);
  if (n < kErrorsLoggedMax) {
    spdlog::error("request failed: {}", s.to_string());
  } else if (n == kErrorsLoggedMax) {
    spdlog::error("request failed: {} (further I/O errors are not logged)", s.to_string());
  }
}

int fail(fuse_req_t req, const Status& s) {
  log_failure(req, s);
  return fuse_reply_err(req, s.to_errno());
}

}  // namespace

Caller caller(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  return Caller{static_cast<uint32_t>(c->uid), static_cast<uint32_t>(c->gid)};
}

void reply_status(fuse_req_t req, const Status& s) {
  if (!s.is_ok()) {
    fail(req, s);
    return;
  }
  fuse_reply_err(req, 0);
}

void reply_entry(fuse_req_t req, const Status& s, const Attr& attr) {
  if (!s.is_ok()) {
    fail(req, s);
    return;
  }
  fuse_entry_param e{};
  e.ino = attr.ino;
  e.generation = attr.generation;
  attr.to_stat(&e.attr);
  e.attr_timeout = ctx(req).attr_timeout_s;
  e.entry_timeout = ctx(req).entry_timeout_s;
  fuse_reply_entry(req, &e);
}

void reply_lookup(fuse_req_t req, const Status& s, const Attr& attr) {
  if (s.code() == Code::NotFound) {
    // ino 0: a negative entry. Names appear only through this mount, and the
    // kernel drops the negative dentry when it creates the name itself.
    fuse_entry_param e{};
    e.entry_timeout = ctx(req).entry_timeout_s;
    fuse_reply_entry(req, &e);
    return;
  }
  reply_entry(req, s, attr);
}

void reply_attr(fuse_req_t req, const Status& s, const Attr& attr) {
  if (!s.is_ok()) {
    fail(req, s);
    return;
  }
  struct stat st {};
  attr.to_stat(&st);
  fuse_reply_attr(req, &st, ctx(req).attr_timeout_s);
}

void reply_sized(fuse_req_t req, const Status& s, const std::string& data, size_t size) {
  if (!s.is_ok()) {
    fail(req, s);
  } else if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (data.size() > size) {
    fail(req, Status(Code::OutOfRange, "reply does not fit the caller's buffer"));
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

}  // namespace hapm::fuse

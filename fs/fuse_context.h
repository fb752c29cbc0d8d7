// Internal to the FUSE front end: the per-session context the handlers share,
// and the thin wrappers that turn a Status into exactly one fuse_reply_*.
//
// Handler shape (every fuse_ops_*.cc): call the hapm::Filesystem method, which
// returns a Status, then hand the Status and the result to one reply_* here.
// Status::to_errno() is the only Status -> errno conversion. The core drops
// its locks before returning, so no lock is held while replying.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>

#include "common/status.h"
#include "fs/filesystem.h"
#include "fs/fuse_status.h"

namespace hapm::fuse {

struct Context {
  Context(double entry_timeout, double attr_timeout)
      : entry_timeout_s(entry_timeout), attr_timeout_s(attr_timeout) {}
  // Set by FuseServer::mount, before the kernel can send a request.
  Filesystem* fs = nullptr;
  fuse_session* session = nullptr;
  // Negotiated in init(): the kernel keeps size, mtime and ctime itself.
  std::atomic<bool> writeback_cache{false};
  // Inodes whose block count changed since the kernel last fetched their
  // attributes (see refresh_kernel_attrs in fuse_ops_file.cc).
  std::mutex stale_mutex;
  std::unordered_set<uint64_t> stale_attrs;
  MountFacts facts;
  const double entry_timeout_s;
  const double attr_timeout_s;
  std::atomic<uint64_t> fsyncs{0};
  std::atomic<uint64_t> errors_logged{0};
};

inline Context& ctx(fuse_req_t req) {
  return *static_cast<Context*>(fuse_req_userdata(req));
}
inline Filesystem& fs(fuse_req_t req) {
  return *ctx(req).fs;
}
Caller caller(fuse_req_t req);

// Each sends exactly one reply: the error when `s` failed, else the value.
void reply_status(fuse_req_t req, const Status& s);
void reply_entry(fuse_req_t req, const Status& s, const Attr& attr);
void reply_attr(fuse_req_t req, const Status& s, const Attr& attr);
// A failed lookup with NotFound becomes a negative entry the kernel may cache.
void reply_lookup(fuse_req_t req, const Status& s, const Attr& attr);
// Replies with the data when it fits in `size`, the size alone when `size`
// is 0 (the xattr probe), and ERANGE when it does not fit.
void reply_sized(fuse_req_t req, const Status& s, const std::string& data, size_t size);

// FSYNC and FSYNCDIR both land here (fuse_ops_file.cc): the one hook point
// where a consistency point closes.
void fsync_hook(fuse_req_t req, fuse_ino_t ino, int datasync);

// Fill in the handlers of one operation family.
void add_entry_ops(fuse_lowlevel_ops& ops);  // fuse_ops_entry.cc
void add_attr_ops(fuse_lowlevel_ops& ops);   // fuse_ops_attr.cc
void add_dir_ops(fuse_lowlevel_ops& ops);    // fuse_ops_dir.cc
void add_file_ops(fuse_lowlevel_ops& ops);   // fuse_ops_file.cc
void add_xattr_ops(fuse_lowlevel_ops& ops);  // fuse_ops_xattr.cc

}  // namespace hapm::fuse

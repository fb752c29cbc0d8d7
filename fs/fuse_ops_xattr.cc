// Extended attributes, and the status channel: the root directory answers the
// reserved attribute kStatusXattr with the live status JSON, before the core.
#include <string>
#include <string_view>

#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

bool is_status_attr(fuse_ino_t ino, const char* name) {
  return ino == format::kRootIno && std::string_view(name) == kStatusXattr;
}

std::string status_document(fuse_req_t req) {
  Context& c = ctx(req);
  FrontendCounters counters;
  counters.fsyncs = c.fsyncs.load(std::memory_order_relaxed);
  return make_status_json(*c.fs, c.facts, counters).dump(2) + "\n";
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int flags) {
  if (is_status_attr(ino, name)) {
    reply_status(req, Status(Code::PermissionDenied, "hapm.status is read-only"));
    return;
  }
  reply_status(req, fs(req).setxattr(ino, name, std::string_view(value, size), flags));
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (is_status_attr(ino, name)) {
    // The document changes between the size probe and the read; a reader
    // that gets ERANGE probes again (cmd_status does).
    reply_sized(req, Status::ok(), status_document(req), size);
    return;
  }
  std::string value;
  Status s = fs(req).getxattr(ino, name, &value);
  reply_sized(req, s, value, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  // hapm.status is not listed: copying tools (cp -a, rsync -X) would try to
  // copy it.
  std::string names;
  Status s = fs(req).listxattr(ino, &names);
  reply_sized(req, s, names, size);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (is_status_attr(ino, name)) {
    reply_status(req, Status(Code::PermissionDenied, "hapm.status is read-only"));
    return;
  }
  reply_status(req, fs(req).removexattr(ino, name));
}

}  // namespace

void add_xattr_ops(fuse_lowlevel_ops& ops) {
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
}

}  // namespace hapm::fuse

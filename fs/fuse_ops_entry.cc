// Names: lookup/forget and the operations that add, remove or move a name.
#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Attr attr;
  Status s = fs(req).lookup(parent, name, &attr);
  reply_lookup(req, s, attr);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fs(req).forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) fs(req).forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Attr attr;
  Status s = fs(req).mknod(parent, name, mode, rdev, caller(req), &attr);
  reply_entry(req, s, attr);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Attr attr;
  Status s = fs(req).mkdir(parent, name, mode, caller(req), &attr);
  reply_entry(req, s, attr);
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  Attr attr;
  Status s = fs(req).symlink(parent, name, target, caller(req), &attr);
  reply_entry(req, s, attr);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  Attr attr;
  Status s = fs(req).link(ino, new_parent, new_name, &attr);
  reply_entry(req, s, attr);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs(req).unlink(parent, name));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs(req).rmdir(parent, name));
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  // flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE; the core refuses the rest
  // (RENAME_WHITEOUT) with NotSupported.
  reply_status(req, fs(req).rename(parent, name, new_parent, new_name, flags));
}

}  // namespace

void add_entry_ops(fuse_lowlevel_ops& ops) {
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.symlink = op_symlink;
  ops.link = op_link;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
}

}  // namespace hapm::fuse

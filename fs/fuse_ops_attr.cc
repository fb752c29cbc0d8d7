// Attributes: getattr, setattr (chmod, chown, truncate, utimens), readlink,
// statfs.
#include <sys/statvfs.h>

#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

int64_t to_ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

SetAttrRequest to_request(const struct stat& st, int to_set) {
  SetAttrRequest r;
  r.set_mode = to_set & FUSE_SET_ATTR_MODE;
  r.mode = st.st_mode;
  r.set_uid = to_set & FUSE_SET_ATTR_UID;
  r.uid = st.st_uid;
  r.set_gid = to_set & FUSE_SET_ATTR_GID;
  r.gid = st.st_gid;
  r.set_size = to_set & FUSE_SET_ATTR_SIZE;
  r.size = static_cast<uint64_t>(st.st_size);
  // utimensat(UTIME_NOW) arrives as ATIME|ATIME_NOW: the core takes its own clock.
  r.set_atime = to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW);
  r.atime_now = to_set & FUSE_SET_ATTR_ATIME_NOW;
  r.atime_ns = to_ns(st.st_atim);
  r.set_mtime = to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW);
  r.mtime_now = to_set & FUSE_SET_ATTR_MTIME_NOW;
  r.mtime_ns = to_ns(st.st_mtim);
  // With the writeback cache the kernel keeps ctime itself (from its coarse
  // clock) and sends it here; storing it keeps the pool and the kernel's view
  // the same.
  r.set_ctime = to_set & FUSE_SET_ATTR_CTIME;
  r.ctime_ns = to_ns(st.st_ctim);
  return r;
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Attr attr;
  Status s = fs(req).getattr(ino, &attr);
  reply_attr(req, s, attr);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* st, int to_set, fuse_file_info*) {
  Attr attr;
  Status s = fs(req).setattr(ino, to_request(*st, to_set), &attr);
  reply_attr(req, s, attr);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  std::string target;
  Status s = fs(req).readlink(ino, &target);
  if (!s.is_ok()) {
    reply_status(req, s);
    return;
  }
  fuse_reply_readlink(req, target.c_str());
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  const FsStats st = fs(req).statfs();
  struct statvfs v {};
  v.f_bsize = st.block_size;
  v.f_frsize = st.block_size;
  v.f_blocks = st.total_blocks;
  v.f_bfree = st.free_blocks;
  v.f_bavail = st.free_blocks;  // no blocks reserved for root
  v.f_files = st.total_inodes;
  v.f_ffree = st.free_inodes;
  v.f_favail = st.free_inodes;
  v.f_namemax = st.name_max;
  fuse_reply_statfs(req, &v);
}

}  // namespace

void add_attr_ops(fuse_lowlevel_ops& ops) {
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.statfs = op_statfs;
}

}  // namespace hapm::fuse

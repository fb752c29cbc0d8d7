// Directory handles: opendir, readdir, releasedir, fsyncdir.
#include <string>
#include <vector>

#include "fs/fuse_context.h"

namespace hapm::fuse {

namespace {

void op_opendir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  // No per-handle state: readdir cookies are slot positions in the
  // directory, stable while entries come and go, so they need no snapshot.
  fi->fh = 0;
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::vector<char> buf(size);
  size_t used = 0;
  std::string name;  // fuse_add_direntry wants a NUL-terminated name
  auto emit = [&](const DirEntryView& e) {
    name.assign(e.name);
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.type << 12;  // DT_* -> S_IFMT bits
    const size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
                                          static_cast<off_t>(e.next_offset));
    if (need > size - used) return false;
    used += need;
    return true;
  };
  Status s = fs(req).readdir(ino, static_cast<uint64_t>(off), emit);
  if (!s.is_ok()) {
    reply_status(req, s);
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
  fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  fsync_hook(req, ino, datasync);
}

}  // namespace

void add_dir_ops(fuse_lowlevel_ops& ops) {
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.fsyncdir = op_fsyncdir;
}

}  // namespace hapm::fuse

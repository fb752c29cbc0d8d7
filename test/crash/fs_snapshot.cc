#include "test/crash/fs_snapshot.h"

#include <fcntl.h>

#include <deque>
#include <sstream>

namespace hapm::crash {

namespace {

constexpr int kReaddirCallsMax = 100000;
constexpr int kReadCallsMax = 100000;

Status read_all(Filesystem& fs, uint64_t ino, uint64_t size, std::vector<uint8_t>* out) {
  out->clear();
  HAPM_TRY(fs.open(ino, O_RDONLY));
  Status status;
  for (int calls = 0; out->size() < size && calls < kReadCallsMax; ++calls) {
    size_t before = out->size();
    status = fs.read(ino, before, size - before, [&](const struct iovec* iov, int count) {
      for (int i = 0; i < count; ++i) {
        const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
        out->insert(out->end(), p, p + iov[i].iov_len);
      }
    });
    if (!status.is_ok() || out->size() == before) break;
  }
  fs.release(ino);
  HAPM_TRY(status);
  if (out->size() != size)
    return Status(Code::IOError, "inode " + std::to_string(ino) + ": read " +
                                     std::to_string(out->size()) + " of " + std::to_string(size) +
                                     " bytes");
  return Status::ok();
}

Status read_xattrs(Filesystem& fs, uint64_t ino, std::map<std::string, std::string>* out) {
  std::string names;
  HAPM_TRY(fs.listxattr(ino, &names));
  size_t pos = 0;
  while (pos < names.size()) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(pos, end - pos);
    std::string value;
    if (!name.empty()) {
      HAPM_TRY(fs.getxattr(ino, name, &value));
      (*out)[name] = value;
    }
    pos = end + 1;
  }
  return Status::ok();
}

struct Entry {
  std::string name;
  uint64_t ino;
  uint32_t type;
};

Status list_dir(Filesystem& fs, uint64_t ino, std::vector<Entry>* out, uint64_t* dotdot) {
  uint64_t cookie = 0;
  for (int calls = 0; calls < kReaddirCallsMax; ++calls) {
    size_t got = 0;
    HAPM_TRY(fs.readdir(ino, cookie, [&](const DirEntryView& e) {
      ++got;
      cookie = e.next_offset;
      if (e.name == "..")
        *dotdot = e.ino;
      else if (e.name != ".")
        out->push_back({std::string(e.name), e.ino, e.type});
      return true;
    }));
    if (got == 0) return Status::ok();
  }
  return Status(Code::Corruption, "readdir of inode " + std::to_string(ino) + " never ends");
}

std::string attr_text(const Attr& a) {
  std::ostringstream o;
  o << "ino=" << a.ino << " gen=" << a.generation << " mode=0" << std::oct << a.mode << std::dec
    << " nlink=" << a.nlink << " uid=" << a.uid << " gid=" << a.gid << " size=" << a.size
    << " blocks512=" << a.blocks_512 << " rdev=" << a.rdev << " atime=" << a.atime_ns
    << " mtime=" << a.mtime_ns << " ctime=" << a.ctime_ns;
  return o.str();
}

bool same_attr(const Attr& x, const Attr& y) {
  return x.ino == y.ino && x.generation == y.generation && x.mode == y.mode && x.nlink == y.nlink &&
         x.uid == y.uid && x.gid == y.gid && x.size == y.size && x.blocks_512 == y.blocks_512 &&
         x.rdev == y.rdev && x.atime_ns == y.atime_ns && x.mtime_ns == y.mtime_ns &&
         x.ctime_ns == y.ctime_ns;
}

}  // namespace

Result<Snapshot> take_snapshot(Filesystem& fs, size_t nodes_max) {
  Snapshot snap;
  snap.stats = fs.statfs();
  std::deque<std::pair<std::string, uint64_t>> todo{{"/", format::kRootIno}};
  while (!todo.empty()) {
    auto [path, ino] = todo.front();
    todo.pop_front();
    if (snap.nodes.size() >= nodes_max)
      return Status(Code::Corruption, "more than " + std::to_string(nodes_max) + " nodes");
    NodeState node;
    // Attributes first: reading contents must not be able to change them here.
    HAPM_TRY(fs.getattr(ino, &node.attr));
    if (S_ISDIR(node.attr.mode)) {
      std::vector<Entry> entries;
      HAPM_TRY(list_dir(fs, ino, &entries, &node.dotdot));
      for (const Entry& e : entries) {
        Attr looked;
        HAPM_TRY(fs.lookup(ino, e.name, &looked));
        fs.forget(looked.ino, 1);
        if (looked.ino != e.ino)
          return Status(Code::Corruption, path + e.name + ": readdir says inode " +
                                              std::to_string(e.ino) + ", lookup " +
                                              std::to_string(looked.ino));
        std::string child = path == "/" ? "/" + e.name : path + "/" + e.name;
        if (S_ISDIR(looked.mode))
          todo.emplace_back(child, e.ino);
        else {
          NodeState leaf;
          leaf.attr = looked;
          if (S_ISREG(looked.mode)) HAPM_TRY(read_all(fs, e.ino, looked.size, &leaf.content));
          if (S_ISLNK(looked.mode)) HAPM_TRY(fs.readlink(e.ino, &leaf.target));
          HAPM_TRY(read_xattrs(fs, e.ino, &leaf.xattrs));
          if (snap.nodes.size() >= nodes_max) return Status(Code::Corruption, "too many nodes");
          snap.nodes[child] = std::move(leaf);
        }
      }
    }
    HAPM_TRY(read_xattrs(fs, ino, &node.xattrs));
    snap.nodes[path] = std::move(node);
  }
  return snap;
}

std::vector<std::string> diff_metadata(const Snapshot& got, const Snapshot& want, size_t max) {
  std::vector<std::string> out;
  auto note = [&](std::string s) {
    if (out.size() < max) out.push_back(std::move(s));
  };
  for (const auto& [path, w] : want.nodes) {
    auto it = got.nodes.find(path);
    if (it == got.nodes.end()) {
      note(path + ": missing");
      continue;
    }
    const NodeState& g = it->second;
    if (!same_attr(g.attr, w.attr))
      note(path + ": attributes " + attr_text(g.attr) + ", expected " + attr_text(w.attr));
    if (g.dotdot != w.dotdot)
      note(path + ": '..' is " + std::to_string(g.dotdot) + ", expected " +
           std::to_string(w.dotdot));
    if (g.target != w.target)
      note(path + ": symlink target '" + g.target + "', expected '" + w.target + "'");
    if (g.xattrs != w.xattrs) note(path + ": xattrs differ");
  }
  for (const auto& [path, g] : got.nodes)
    if (!want.nodes.count(path)) note(path + ": unexpected");
  const FsStats &gs = got.stats, &ws = want.stats;
  if (gs.free_blocks != ws.free_blocks || gs.free_inodes != ws.free_inodes ||
      gs.total_blocks != ws.total_blocks || gs.total_inodes != ws.total_inodes)
    note("statfs: free blocks " + std::to_string(gs.free_blocks) + "/" +
         std::to_string(gs.total_blocks) + ", inodes " + std::to_string(gs.free_inodes) + "/" +
         std::to_string(gs.total_inodes) + "; expected " + std::to_string(ws.free_blocks) + "/" +
         std::to_string(ws.total_blocks) + ", " + std::to_string(ws.free_inodes) + "/" +
         std::to_string(ws.total_inodes));
  return out;
}

std::vector<std::string> diff_contents(const Snapshot& got, const Snapshot& want, size_t max) {
  return diff_contents_mixed(got, want, {}, max);
}

std::vector<std::string> diff_contents_mixed(const Snapshot& got, const Snapshot& base,
                                             const std::vector<const Snapshot*>& later,
                                             size_t max) {
  std::vector<std::string> out;
  for (const auto& [path, b] : base.nodes) {
    auto it = got.nodes.find(path);
    if (it == got.nodes.end() || it->second.content == b.content) continue;
    const std::vector<uint8_t>& g = it->second.content;
    if (g.size() != b.content.size()) {
      out.push_back(path + ": " + std::to_string(g.size()) + " bytes, expected " +
                    std::to_string(b.content.size()));
    } else {
      // Later states are matched by inode number: a rename moves the bytes.
      std::vector<const std::vector<uint8_t>*> alts;
      for (const Snapshot* s : later)
        for (const auto& [p, n] : s->nodes)
          if (n.attr.ino == b.attr.ino && S_ISREG(n.attr.mode)) alts.push_back(&n.content);
      for (size_t i = 0; i < g.size(); ++i) {
        if (g[i] == b.content[i]) continue;
        bool ok = false;
        for (const auto* a : alts) ok = ok || (i < a->size() && (*a)[i] == g[i]);
        if (!ok) {
          std::ostringstream o;
          o << path << ": byte " << i << " is 0x" << std::hex << int{g[i]} << ", expected 0x"
            << int{b.content[i]} << std::dec
            << (later.empty() ? "" : " (or a byte some interrupted write was storing)");
          out.push_back(o.str());
          break;
        }
      }
    }
    if (out.size() >= max) break;
  }
  return out;
}

std::string describe(const Snapshot& snap) {
  std::ostringstream o;
  o << "statfs free blocks " << snap.stats.free_blocks << "/" << snap.stats.total_blocks
    << ", free inodes " << snap.stats.free_inodes << "/" << snap.stats.total_inodes << "\n";
  for (const auto& [path, n] : snap.nodes) {
    o << "  " << path << " " << attr_text(n.attr);
    if (S_ISDIR(n.attr.mode)) o << " ..=" << n.dotdot;
    if (!n.target.empty()) o << " -> " << n.target;
    if (!n.xattrs.empty()) o << " xattrs=" << n.xattrs.size();
    o << "\n";
  }
  return o.str();
}

}  // namespace hapm::crash

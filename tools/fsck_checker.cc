#include "tools/fsck_checker.h"

#include <sys/stat.h>

#include <algorithm>
#include <unordered_map>

namespace hapm::fsck {

const char* type_name(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    case S_IFCHR:
      return "character device";
    case S_IFBLK:
      return "block device";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    default:
      return "inode of unknown type";
  }
}

Checker::Checker(PoolMemory& pool, const format::PoolHeader& header, Repairer* repairer,
                 FsckReport& report, const std::function<void(double)>& progress)
    : pool_(pool), h_(header), repairer_(repairer), report_(report), progress_(progress) {}

void Checker::problem(std::string kind, std::string detail, uint64_t ino, bool repaired) {
  FsckProblem p;
  p.kind = std::move(kind);
  p.detail = std::move(detail);
  p.ino = ino;
  p.repaired = repaired && repairing();
  report_.problems.push_back(std::move(p));
}

bool Checker::mark(uint64_t block) {
  uint64_t& word = refs_[block >> 6];
  const uint64_t bit = uint64_t{1} << (block & 63);
  if (word & bit) {
    shared_.push_back(block);
    return false;
  }
  word |= bit;
  return true;
}

void Checker::step(double fraction) {
  if (!progress_) return;
  if (fraction < 1.0 && fraction - last_progress_ < 0.02) return;
  last_progress_ = fraction;
  progress_(std::min(fraction, 1.0));
}

std::string Checker::path_of(uint64_t ino) const {
  if (ino == format::kRootIno) return "/";
  if (ino >= inodes_.size() || !inodes_[ino].in_use()) return "";
  if (path_index_.empty()) {
    // Built on first use: the entry giving each inode its name (directories:
    // the canonical entry; others: the first one).
    for (uint32_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      if (e.removed) continue;
      const InodeState& t = inodes_[e.ino];
      if (t.is_dir() && t.canon != i) continue;
      path_index_.emplace(e.ino, i);
    }
  }
  std::vector<std::string_view> parts;
  uint64_t cur = ino;
  // Bounded: a path cannot be deeper than there are inodes.
  for (uint64_t depth = 0; cur != format::kRootIno; ++depth) {
    auto it = path_index_.find(cur);
    if (it == path_index_.end() || depth > inodes_.size()) return "";
    const Entry& e = entries_[it->second];
    parts.push_back(e.name);
    cur = e.dir;
  }
  std::string path;
  for (auto p = parts.rbegin(); p != parts.rend(); ++p) {
    path += '/';
    path += printable(*p);
  }
  return path;
}

std::vector<std::pair<uint64_t, uint32_t>> Checker::named_orphans() const {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  for (uint64_t ino = 1; ino < inodes_.size(); ++ino) {
    const InodeState& st = inodes_[ino];
    if (st.trusted() && st.nlink == 0 && st.entries > 0) out.emplace_back(ino, st.entries);
  }
  return out;
}

void Checker::resolve_paths() {
  for (FsckProblem& p : report_.problems) {
    if (p.ino == 0 || !p.path.empty()) continue;
    p.path = path_of(p.ino);
    if (p.path.empty()) continue;
    const std::string tag = "inode " + std::to_string(p.ino);
    size_t at = p.detail.find(tag);
    // Only an exact "inode N" (not the prefix of "inode N0").
    if (at != std::string::npos &&
        (at + tag.size() == p.detail.size() || !isdigit(p.detail[at + tag.size()])))
      p.detail.insert(at + tag.size(), " (" + p.path + ")");
  }
}

std::string printable(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  static const char* kHex = "0123456789abcdef";
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace hapm::fsck

// Extended attributes: one block per inode, replaced copy-on-write — the new
// block is written and made durable, then one transaction switches the
// inode's pointer and frees the old block (write elsewhere, switch atomically).
#include <sys/xattr.h>

#include <cstring>
#include <map>

#include "common/crc32c.h"
#include "fs/fs_impl.h"

namespace hapm {

using format::Inode;
using format::kBlockSize;
using format::XattrBlockHeader;
using format::XattrEntry;

namespace {

using XattrMap = std::map<std::string, std::string, std::less<>>;

Status check_xattr_name(std::string_view name) {
  if (name.empty() || name.size() > 255)
    return Status(Code::OutOfRange, "attribute name length must be 1..255");
  // The kernel sends every namespace; hapm stores user., trusted. and security.
  // (system.* carries ACLs, which hapm does not implement).
  for (std::string_view ns : {"user.", "trusted.", "security."})
    if (name.substr(0, ns.size()) == ns && name.size() > ns.size()) return Status::ok();
  return Status(Code::NotSupported,
                "attribute namespace of '" + std::string(name) + "' is not supported");
}

Result<XattrMap> decode(const PoolMemory& pool, uint64_t block, uint64_t ino) {
  XattrMap out;
  if (block == 0) return out;
  if (block <= format::kJournalBlock || !pool.contains(block * kBlockSize, kBlockSize))
    return Status(Code::Corruption, "extended attributes of inode " + std::to_string(ino) +
                                        ": block pointer out of range (run hapm fsck)");
  const auto* h = reinterpret_cast<const XattrBlockHeader*>(pool.at(block * kBlockSize));
  const uint8_t* p = pool.at(block * kBlockSize + sizeof(XattrBlockHeader));
  auto bad = [&](const char* why) {
    return Status(Code::Corruption,
                  "extended attributes of inode " + std::to_string(ino) + ": " + why);
  };
  if (h->magic != format::kXattrMagic) return bad("bad magic number");
  if (h->used_bytes > format::kXattrSpace) return bad("size out of range");
  if (crc32c(p, h->used_bytes) != h->crc) return bad("checksum mismatch");
  uint64_t pos = 0;
  for (uint32_t i = 0; i < h->count; ++i) {
    if (h->used_bytes - pos < sizeof(XattrEntry)) return bad("truncated entry");
    XattrEntry e;
    std::memcpy(&e, p + pos, sizeof e);
    pos += sizeof e;
    if (h->used_bytes - pos < uint64_t{e.name_len} + e.value_len) return bad("entry out of bounds");
    std::string name(reinterpret_cast<const char*>(p + pos), e.name_len);
    pos += e.name_len;
    out[name] = std::string(reinterpret_cast<const char*>(p + pos), e.value_len);
    pos += e.value_len;
  }
  return out;
}

Result<std::vector<uint8_t>> encode(const XattrMap& attrs) {
  std::vector<uint8_t> buf(kBlockSize, 0);
  uint64_t pos = sizeof(XattrBlockHeader);
  for (const auto& [name, value] : attrs) {
    const uint64_t need = sizeof(XattrEntry) + name.size() + value.size();
    if (pos + need > kBlockSize)
      return Status(Code::NoSpace, "extended attributes of a file are limited to " +
                                       std::to_string(format::kXattrSpace) + " bytes");
    XattrEntry e{static_cast<uint8_t>(name.size()), 0, static_cast<uint16_t>(value.size())};
    std::memcpy(buf.data() + pos, &e, sizeof e);
    std::memcpy(buf.data() + pos + sizeof e, name.data(), name.size());
    std::memcpy(buf.data() + pos + sizeof e + name.size(), value.data(), value.size());
    pos += need;
  }
  XattrBlockHeader h{format::kXattrMagic, static_cast<uint32_t>(attrs.size()),
                     static_cast<uint32_t>(pos - sizeof(XattrBlockHeader)), 0};
  h.crc = crc32c(buf.data() + sizeof h, h.used_bytes);
  std::memcpy(buf.data(), &h, sizeof h);
  return buf;
}

}  // namespace

Status Filesystem::getxattr(uint64_t ino, std::string_view name, std::string* value) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  auto attrs = decode(pool_, inode->xattr_block, ino);
  if (!attrs.is_ok()) return attrs.status();
  auto it = attrs->find(name);
  if (it == attrs->end()) return Status(Code::NoData, std::string(name));
  *value = it->second;
  return Status::ok();
}

Status Filesystem::listxattr(uint64_t ino, std::string* names) {
  std::shared_lock lock(lock_);
  auto inode = impl_->load(ino);
  if (!inode.is_ok()) return inode.status();
  auto attrs = decode(pool_, inode->xattr_block, ino);
  if (!attrs.is_ok()) return attrs.status();
  names->clear();
  for (const auto& [name, value] : *attrs) {
    names->append(name);
    names->push_back('\0');
  }
  return Status::ok();
}

namespace {

// Replaces the attribute block of `ino` with `attrs` (none: no block).
Status replace_block(Filesystem::Impl& im, PoolMemory& pool, BlockAllocator& blocks, uint64_t ino,
                     const XattrMap& attrs) {
  Transaction txn(pool);
  AbortGuard guard(im, txn);
  auto loaded = im.load(txn, ino);
  if (!loaded.is_ok()) return loaded.status();
  Inode inode = *loaded;
  const uint64_t old_block = inode.xattr_block;
  inode.xattr_block = 0;
  if (!attrs.empty()) {
    auto bytes = encode(attrs);
    if (!bytes.is_ok()) return bytes.status();
    auto block = blocks.allocate(txn, old_block);
    if (!block.is_ok()) return block.status();
    pool.write(*block * kBlockSize, bytes->data(), bytes->size());
    inode.xattr_block = *block;
    ++inode.blocks;
  }
  if (old_block) {
    blocks.release(txn, old_block);
    --inode.blocks;
  }
  inode.ctime_ns = now_ns();
  im.store(txn, ino, inode);
  guard.dismiss();
  return im.commit(txn);
}

}  // namespace

Status Filesystem::setxattr(uint64_t ino, std::string_view name, std::string_view value,
                            int flags) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  HAPM_TRY(check_xattr_name(name));
  if (value.size() > format::kXattrSpace)
    return Status(Code::NoSpace, "attribute value too large (at most " +
                                     std::to_string(format::kXattrSpace) + " bytes)");
  auto inode = im.load(ino);
  if (!inode.is_ok()) return inode.status();
  auto attrs = decode(pool_, inode->xattr_block, ino);
  if (!attrs.is_ok()) return attrs.status();
  const bool exists = attrs->count(name) != 0;
  if ((flags & XATTR_CREATE) && exists) return Status(Code::AlreadyExists, std::string(name));
  if ((flags & XATTR_REPLACE) && !exists) return Status(Code::NoData, std::string(name));
  (*attrs)[std::string(name)] = std::string(value);
  return replace_block(im, pool_, blocks_, ino, *attrs);
}

Status Filesystem::removexattr(uint64_t ino, std::string_view name) {
  std::unique_lock lock(lock_);
  Impl& im = *impl_;
  if (im.read_only) return Status(Code::ReadOnly, "filesystem is read-only");
  auto inode = im.load(ino);
  if (!inode.is_ok()) return inode.status();
  auto attrs = decode(pool_, inode->xattr_block, ino);
  if (!attrs.is_ok()) return attrs.status();
  auto it = attrs->find(name);
  if (it == attrs->end()) return Status(Code::NoData, std::string(name));
  attrs->erase(it);
  return replace_block(im, pool_, blocks_, ino, *attrs);
}

}  // namespace hapm

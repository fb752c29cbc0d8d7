// The on-pool layout of hapm, version 1. Documented in prose in docs/design.md.
//
// The pool is one file of `block_count` blocks of 4 KiB. Block numbers are
// absolute (block b starts at byte b * 4096); block 0 is never a valid
// reference, so 0 means "none" in every pointer field.
//
//   block 0                 PoolHeader (primary)
//   block 1                 PoolHeader (backup copy, written in the same txn)
//   journal_block ..        redo journal: JournalHeader block + record area
//   inode_table_block ..    inode_count Inodes of 256 bytes (index == inode number)
//   bitmap_block ..         one bit per pool block, 1 = allocated
//   dirty_map_block ..      replication dirty map (DirtyMapHeader block + bits)
//   data_block ..           data, directory, block-map and xattr blocks
//
// All integers are little-endian; every structure is checked with CRC32C.
// Every byte of the pool is changed only through the journal (metadata) or
// by copying file data into blocks that the journal has allocated.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hapm::format {

constexpr uint64_t kBlockSize = 4096;
constexpr uint64_t kBlockShift = 12;
constexpr uint64_t kCacheLine = 64;

// ---- pool header ----------------------------------------------------------
constexpr uint64_t kPoolMagic = 0x314c4f4f504d5048ULL;  // "HPMPOOL1" as LE bytes
constexpr uint64_t kPoolMagicSwapped = 0x4850504d4f4f4c31ULL;
constexpr uint32_t kLayoutVersion = 1;
constexpr uint32_t kEndianMarker = 0x01020304;
constexpr uint64_t kUnknownShutdownCount = ~0ULL;

// R15: what must match between the machine that wrote a pool and the one
// that opens it.
struct ArchSignature {
  uint32_t endian_marker;   // kEndianMarker as written by the creating CPU
  uint32_t word_size;       // sizeof(void*)
  uint32_t page_size;       // sysconf(_SC_PAGESIZE)
  uint32_t layout_version;  // kLayoutVersion
};
static_assert(sizeof(ArchSignature) == 16);

struct PoolHeader {
  uint64_t magic;              // 0   kPoolMagic
  ArchSignature arch;          // 8
  uint8_t uuid[16];            // 24  pool (volume) identity
  uint64_t pool_size;          // 40  bytes, == block_count * kBlockSize
  uint64_t block_count;        // 48
  uint64_t journal_block;      // 56
  uint64_t journal_blocks;     // 64  header block + record area
  uint64_t inode_table_block;  // 72
  uint64_t inode_count;        // 80  including the unused inode 0
  uint64_t bitmap_block;       // 88
  uint64_t bitmap_blocks;      // 96
  uint64_t data_block;         // 104 first block the allocator may hand out
  int64_t created_ns;          // 112 CLOCK_REALTIME at mkfs
  // Fields below change during the pool's life, always through the journal.
  uint64_t clean;                  // 120 1 = last mount ended with a clean unmount
  uint64_t mount_count;            // 128
  uint64_t unsafe_shutdown_count;  // 136 device USC at last open, or kUnknownShutdownCount
  uint64_t epoch;                  // 144 fencing epoch (bumped by failover)
  uint64_t dirty_map_block;        // 152 first block of the replication dirty map
  uint64_t dirty_map_blocks;       // 160 header block + bitmap blocks
  uint64_t dirty_chunk_shift;      // 168 log2 of the bytes one dirty bit covers
  uint64_t reserved[10];           // 176
  uint32_t pad;                    // 256
  uint32_t crc;                    // 260 CRC32C of bytes [0, 260)
};
static_assert(sizeof(PoolHeader) == 264);
static_assert(offsetof(PoolHeader, crc) == 260);
static_assert(offsetof(PoolHeader, clean) == 120);
static_assert(offsetof(PoolHeader, dirty_map_block) == 152);
constexpr uint64_t kHeaderBlock = 0;
constexpr uint64_t kBackupHeaderBlock = 1;

// ---- journal ----------------------------------------------------------------
// One transaction at a time. Commit protocol (see docs/design.md):
//   1. records + JournalHeader written, persisted   -> the txn is committed
//   2. records applied to their home offsets, persisted
//   3. applied_seq = seq, persisted                  -> the journal is free
// Recovery replays a valid header whose seq > applied_seq.
constexpr uint64_t kJournalMagic = 0x4c4e524a4d504148ULL;  // "HAPMJRNL"
constexpr uint64_t kJournalBlock = 2;
constexpr uint64_t kJournalBlocksMin = 64;    // 256 KiB
constexpr uint64_t kJournalBlocksMax = 1024;  // 4 MiB

struct JournalHeader {
  uint64_t magic;          // 0   kJournalMagic
  uint64_t seq;            // 8   transaction number, starts at 1 (0: none yet)
  uint32_t record_count;   // 16
  uint32_t pad;            // 20
  uint64_t payload_bytes;  // 24  bytes of records starting at the next block
  uint64_t area_blocks;    // 32  size of the journal incl. this block (fixed at mkfs)
  uint32_t payload_crc;    // 40  CRC32C of the payload
  uint32_t header_crc;     // 44  CRC32C of bytes [0, 44)
  uint8_t reserved[16];    // 48
  // Its own cache line, so marking a txn applied never tears the header.
  uint64_t applied_seq;   // 64
  uint8_t reserved2[56];  // 72
};
static_assert(sizeof(JournalHeader) == 128);
static_assert(offsetof(JournalHeader, header_crc) == 44);
static_assert(offsetof(JournalHeader, applied_seq) == kCacheLine);

// A record in the payload: header then `length` bytes, padded to 8.
struct JournalRecord {
  uint64_t offset;  // pool byte offset of the home location
  uint32_t length;  // bytes of data following
  uint32_t pad;
};
static_assert(sizeof(JournalRecord) == 16);

// ---- inodes -----------------------------------------------------------------
// Inode number == index in the inode table. 0 is invalid, 1 is the root.
constexpr uint64_t kRootIno = 1;
constexpr uint32_t kInodeFlagOrphan = 1;  // reserved for future use

struct Inode {
  uint32_t mode;          // 0   0 = free slot; S_IFMT | permission bits
  uint32_t nlink;         // 4
  uint32_t uid;           // 8
  uint32_t gid;           // 12
  uint64_t size;          // 16  bytes
  uint64_t generation;    // 24  bumped each time the slot is reused
  int64_t atime_ns;       // 32
  int64_t mtime_ns;       // 40
  int64_t ctime_ns;       // 48
  int64_t btime_ns;       // 56
  uint64_t map_root;      // 64  block of the block-map root, 0 = no blocks
  uint32_t map_height;    // 72  0 = empty, h covers 512^h blocks
  uint32_t flags;         // 76
  uint64_t blocks;        // 80  blocks owned: data + map nodes + xattr block
  uint64_t xattr_block;   // 88  0 = no xattrs
  uint64_t parent;        // 96  directories: inode of the parent
  uint64_t rdev;          // 104 device number for device nodes
  uint8_t reserved[140];  // 112
  uint32_t crc;           // 252 CRC32C of bytes [0, 252)
};
static_assert(sizeof(Inode) == 256);
static_assert(offsetof(Inode, crc) == 252);
constexpr uint64_t kInodesPerBlock = kBlockSize / sizeof(Inode);

// ---- block map --------------------------------------------------------------
// A radix tree of 4 KiB nodes of 512 block numbers. Height h maps file blocks
// [0, 512^h). Leaves point at data blocks; 0 is a hole.
constexpr uint64_t kMapFanout = kBlockSize / sizeof(uint64_t);
constexpr uint32_t kMapFanoutShift = 9;
constexpr uint32_t kMapHeightMax = 4;  // 512^4 blocks * 4 KiB = 256 TiB
static_assert(kMapFanout == 512 && (1u << kMapFanoutShift) == kMapFanout);

// ---- directories ------------------------------------------------------------
// A directory's data is an array of fixed-size slots, 15 to a block. A slot
// never moves while its entry exists, so slot index is a stable readdir
// cookie. ino == 0 marks a free slot.
constexpr uint32_t kNameMax = 255;

struct Dirent {
  uint64_t ino;       // 0
  uint32_t crc;       // 8   CRC32C over ino, name_len, type and the name bytes
  uint8_t name_len;   // 12
  uint8_t type;       // 13  DT_* value
  uint16_t reserved;  // 14
  char name[256];     // 16  not NUL-terminated; name_len bytes are valid
};
static_assert(sizeof(Dirent) == 272);
constexpr uint64_t kDirentsPerBlock = kBlockSize / sizeof(Dirent);  // 15
static_assert(kDirentsPerBlock == 15);

// ---- extended attributes ----------------------------------------------------
// One block per inode, replaced copy-on-write on every change.
constexpr uint32_t kXattrMagic = 0x52545841;  // "AXTR"

struct XattrBlockHeader {
  uint32_t magic;
  uint32_t count;       // entries
  uint32_t used_bytes;  // bytes of entries after this header
  uint32_t crc;         // CRC32C of the entries
};
static_assert(sizeof(XattrBlockHeader) == 16);

struct XattrEntry {  // followed by name_len bytes of name, value_len of value
  uint8_t name_len;
  uint8_t pad;
  uint16_t value_len;
};
static_assert(sizeof(XattrEntry) == 4);
constexpr uint64_t kXattrSpace = kBlockSize - sizeof(XattrBlockHeader);

// ---- replication dirty map ---------------------------------------------------
// One bit per chunk of 2^dirty_chunk_shift pool bytes: 1 = the chunk may
// differ from the replica named by replica_id. A bit is set durably *before*
// the first store into its chunk (write-ahead intent, so a crash can never
// leave a change the map does not mention) and cleared only after the replica
// acknowledged a consistency point holding the chunk's last change. The map
// is written outside the journal and is never replicated itself.
//
//   dirty_map_block        DirtyMapHeader (its own cache line)
//   dirty_map_block + 1 .. bits, little-endian 64-bit words
constexpr uint64_t kDirtyMapMagic = 0x59545249444d5048ULL;  // "HPMDIRTY"
constexpr uint64_t kDirtyChunkShiftMin = 16;                // 64 KiB
constexpr uint64_t kDirtyMapBitsMax = 8 * 8 * kBlockSize;   // 8 blocks of bits

struct DirtyMapHeader {
  uint64_t magic;          // 0   kDirtyMapMagic
  uint8_t replica_id[16];  // 8   image id of the replica the bits are relative to;
                           //     all zero = none (the next connection does a full sync)
  uint64_t chunk_count;    // 24
  uint64_t reserved[3];    // 32
  uint32_t pad;            // 56
  uint32_t crc;            // 60  CRC32C of bytes [0, 60); bad = no replica recorded
};
static_assert(sizeof(DirtyMapHeader) == kCacheLine);
static_assert(offsetof(DirtyMapHeader, crc) == 60);

}  // namespace hapm::format

// A persistence domain that records what a power failure could leave behind.
//
// It models persistent memory without eADR: a store lands in the CPU cache
// (the program view) and reaches the durable image only when it is written
// back. A line stored but not yet flushed-and-drained may or may not be
// durable; a flushed line is certainly durable once the next drain returns;
// a line stored again after its flush is uncertain again. The recorder keeps,
// per fence epoch, the lines stored in it (with their contents at the epoch's
// end) and the lines flushed in it (with their contents at the flush), which
// is all CrashStates needs to rebuild every crash image.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fs/persist.h"
#include "fs/pool_memory.h"

namespace hapm::crash {

constexpr uint64_t kLineBytes = 64;
constexpr uint64_t kWordsPerLine = kLineBytes / 8;
using LineBytes = std::array<uint8_t, kLineBytes>;

struct LineImage {
  uint64_t line = 0;  // line index: byte offset / kLineBytes
  LineBytes bytes{};
};

// The stores between two drains. Crash point i is "power cut while epoch i
// runs, before the drain that ends it": durable = state after i drains.
struct Epoch {
  std::vector<LineImage> stored;   // lines stored in the epoch, contents at its end
  std::vector<LineImage> flushed;  // lines flushed in it, contents at their last flush
  bool drained = false;            // false only for the trailing, open epoch
};

// Everything recorded since RecordingDomain::start_log().
struct CrashLog {
  std::vector<uint8_t> base_durable;    // the durable image when the log started
  std::vector<LineImage> base_pending;  // lines uncertain at that moment
  std::vector<Epoch> epochs;            // epochs.size() == drains + 1
};

class RecordingDomain final : public PersistDomain {
 public:
  // A zeroed pool of `size` bytes (a multiple of kLineBytes), all durable.
  explicit RecordingDomain(uint64_t size);
  // A pool holding `image`, all of it durable (e.g. a crash image whose
  // recovery is to be recorded).
  explicit RecordingDomain(const std::vector<uint8_t>& image);
  RecordingDomain(const RecordingDomain&) = delete;
  RecordingDomain& operator=(const RecordingDomain&) = delete;

  uint8_t* base() { return view_.data(); }
  uint64_t size() const { return view_.size(); }

  void store(void* dst, const void* src, size_t len, StoreKind kind) override;
  void fill(void* dst, int byte, size_t len) override;
  void flush(const void* addr, size_t len) override;
  void drain() override;
  std::string describe() const override { return "recording (crash-state tests)"; }

  // From now on keep every epoch; the current durable image and uncertain
  // lines become the log's base. Closes the current epoch first.
  void start_log();
  // Drains since start_log().
  uint64_t fences() const { return logging_ ? log_.epochs.size() : 0; }
  uint64_t stores() const { return store_count_; }
  // The log so far, the open epoch included as the trailing one.
  CrashLog log() const;

  // Mutation testing of the checker itself: the drain calls with these
  // numbers (0 = the first after start_log) do nothing, as if the code had
  // forgotten that fence. A checker that finds nothing wrong then is too weak.
  void skip_drains(std::vector<uint64_t> drain_numbers) { skip_ = std::move(drain_numbers); }
  uint64_t drain_calls() const { return drain_calls_; }

  // A store that bypassed the domain: the first byte offset where the pool's
  // memory differs from what store()/fill() put there, if any.
  std::optional<uint64_t> find_bypass() const;
  // Checked at every drain while logging; the first one found is kept.
  std::optional<uint64_t> first_bypass() const { return first_bypass_; }

  // What the pool holds (the program view) and what surely survives now.
  const std::vector<uint8_t>& program_view() const { return shadow_; }
  const std::vector<uint8_t>& durable() const { return durable_; }

 private:
  void mark_stored(uint64_t offset, uint64_t len);
  LineImage line_of(const std::vector<uint8_t>& bytes, uint64_t line) const;
  Epoch current_epoch(bool drained) const;

  std::vector<uint8_t> view_;     // the pool's memory, as the filesystem sees it
  std::vector<uint8_t> shadow_;   // what store()/fill() wrote (bypass check)
  std::vector<uint8_t> durable_;  // certainly durable now
  std::vector<uint8_t> pending_;  // per line: 1 = may differ from durable_
  std::vector<uint8_t> dirty_;    // per line: stored in the open epoch
  std::vector<uint64_t> dirty_lines_;
  std::vector<LineImage> flushed_;   // flush snapshots of the open epoch
  std::vector<int64_t> flush_slot_;  // per line: index in flushed_, or -1
  bool logging_ = false;
  CrashLog log_;
  uint64_t store_count_ = 0;
  uint64_t drain_calls_ = 0;  // since start_log
  std::vector<uint64_t> skip_;
  std::optional<uint64_t> first_bypass_;
};

// A pool in memory on a RecordingDomain, the way RamPool wraps a volatile one.
class RecordingPool {
 public:
  explicit RecordingPool(uint64_t size) : domain_(size), memory_(domain_.base(), size, domain_) {}
  explicit RecordingPool(const std::vector<uint8_t>& image)
      : domain_(image), memory_(domain_.base(), image.size(), domain_) {}
  PoolMemory& memory() { return memory_; }
  RecordingDomain& domain() { return domain_; }

 private:
  RecordingDomain domain_;
  PoolMemory memory_;
};

}  // namespace hapm::crash

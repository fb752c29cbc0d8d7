// Rebuilding crash images from a CrashLog.
//
// At crash point i (power cut while epoch i runs) the pool holds the durable
// image after i drains plus any subset of the uncertain lines, each with its
// contents at the end of epoch i. With torn lines on, a chosen line may also
// reach the media only in part, at 8-byte granularity (x86 guarantees failure
// atomicity for aligned 8-byte stores, not for whole lines).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "test/crash/recording_domain.h"

namespace hapm::crash {

// Which uncertain lines an image applies. word_mask bit w = word w of the
// line is written back (0xff = the whole line).
struct LineChoice {
  uint64_t line = 0;
  uint8_t word_mask = 0xff;
};
using Subset = std::vector<LineChoice>;

// "12,40:0x0f,41" <-> subset; lines are pool line indices.
std::string format_subset(const Subset& subset);
bool parse_subset(const std::string& text, Subset* out);

class CrashStates {
 public:
  // Keeps a reference: `log` must outlive this object.
  explicit CrashStates(const CrashLog& log);
  explicit CrashStates(CrashLog&&) = delete;
  size_t crash_points() const { return log_.epochs.size(); }
  // Moves to crash point i. Forward moves are incremental; backward ones
  // restart from the log's base.
  void seek(size_t point);
  size_t point() const { return point_; }
  // The uncertain lines at the current point, ascending.
  std::vector<uint64_t> pending_lines() const;
  // The durable image plus `subset` (lines not pending are ignored and
  // reported in *stale, when given).
  void build(const Subset& subset, std::vector<uint8_t>* image, size_t* stale = nullptr) const;
  // A 64-bit hash of the image build() would make, in time proportional to
  // the subset: equal images hash equal, so duplicates are skipped unbuilt.
  uint64_t image_hash(const Subset& subset) const;
  // For debugging: the durable and the uncertain contents of a line.
  const uint8_t* durable_line(uint64_t line) const { return durable_.data() + line * kLineBytes; }
  const LineBytes* pending_line(uint64_t line) const {
    auto it = pending_.find(line);
    return it == pending_.end() ? nullptr : &it->second;
  }

 private:
  void reset();
  void apply_stores(size_t epoch);
  void apply_drain(size_t epoch);

  const CrashLog& log_;
  size_t point_ = 0;
  std::vector<uint8_t> durable_;
  uint64_t durable_hash_ = 0;  // XOR of line_hash over every line of durable_
  std::map<uint64_t, LineBytes> pending_;
};

}  // namespace hapm::crash

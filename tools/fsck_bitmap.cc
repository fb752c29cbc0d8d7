// Pass 5: the allocation bitmap against the reference set. Expected: every
// metadata block (before data_block) allocated, every referenced block
// allocated, nothing else, and no bits past the end of the pool.
#include <bit>
#include <cstring>

#include "tools/fsck_checker.h"

namespace hapm::fsck {

using format::kBlockSize;

namespace {

// Collects block numbers in increasing order as ranges, for one message.
class RangeList {
 public:
  void add(uint64_t b) {
    ++count_;
    if (count_ > 1 && b == end_) {
      ++end_;
      return;
    }
    flush();
    start_ = b;
    end_ = b + 1;
  }
  uint64_t count() const { return count_; }
  std::string text() {
    flush();
    if (shown_ < runs_) text_ += ", ...";
    return text_;
  }

 private:
  void flush() {
    if (end_ == start_) return;
    ++runs_;
    if (shown_ < kShownMax) {
      if (shown_++) text_ += ", ";
      text_ += std::to_string(start_);
      if (end_ - start_ > 1) text_ += "-" + std::to_string(end_ - 1);
    }
    start_ = end_ = 0;
  }
  static constexpr uint64_t kShownMax = 8;
  uint64_t count_ = 0, start_ = 0, end_ = 0, runs_ = 0, shown_ = 0;
  std::string text_;
};

void add_bits(RangeList& list, uint64_t word_index, uint64_t bits) {
  while (bits) {
    list.add(word_index * 64 + static_cast<uint64_t>(std::countr_zero(bits)));
    bits &= bits - 1;
  }
}

}  // namespace

void Checker::pass_bitmap() {
  const uint64_t base = h_.bitmap_block * kBlockSize;
  const uint64_t words = refs_.size();
  const bool fix = repairing();
  const bool may_free = fix && !uncertain_refs_;
  RangeList leaked, unmarked, meta, past_end;
  const uint64_t every = std::max<uint64_t>(1, words / 16);
  uint64_t used = 0;
  for (uint64_t w = 0; w < words; ++w) {
    if (w % every == 0) step(0.9 + 0.1 * static_cast<double>(w) / static_cast<double>(words));
    used += static_cast<uint64_t>(std::popcount(refs_[w]));
    uint64_t meta_bits = 0;
    if (w * 64 < h_.data_block)
      meta_bits = h_.data_block >= (w + 1) * 64 ? ~uint64_t{0}
                                                : (uint64_t{1} << (h_.data_block - w * 64)) - 1;
    uint64_t valid = ~uint64_t{0};
    if (w == words - 1 && h_.block_count % 64) valid = (uint64_t{1} << (h_.block_count % 64)) - 1;
    const uint64_t expected = (refs_[w] | meta_bits) & valid;
    const uint64_t actual = pool_.load<uint64_t>(base + w * 8);
    if (actual == expected) continue;
    add_bits(leaked, w, actual & ~expected & valid);
    add_bits(unmarked, w, expected & ~actual & ~meta_bits);
    add_bits(meta, w, meta_bits & valid & ~actual);
    add_bits(past_end, w, actual & ~valid);
    if (fix) {
      const uint64_t value = may_free ? expected : (actual | expected) & valid;
      if (value != actual) repairer_->put<uint64_t>(base + w * 8, value);
    }
  }
  // The rest of the bitmap area maps no block and must stay zero.
  const uint64_t area_end = base + h_.bitmap_blocks * kBlockSize;
  for (uint64_t off = base + words * 8; off < area_end; off += 8) {
    const uint64_t v = pool_.load<uint64_t>(off);
    if (v == 0) continue;
    add_bits(past_end, (off - base) / 8, v);
    if (fix) repairer_->put<uint64_t>(off, 0);
  }
  report_.blocks_used = used;
  report_.blocks_total = h_.block_count - h_.data_block;

  if (leaked.count())
    problem("leaked-block",
            std::to_string(leaked.count()) +
                " block(s) marked in use in the bitmap belong to no file: " + leaked.text() +
                (may_free ? "; freed"
                 : fix    ? "; not freed, because some block maps could not be read"
                          : ""),
            0, may_free);
  if (unmarked.count())
    problem("referenced-block-free",
            std::to_string(unmarked.count()) +
                " block(s) used by files are marked free in the bitmap: " + unmarked.text() +
                (fix ? "; marked in use" : ""),
            0, fix);
  if (meta.count())
    problem("metadata-block-free",
            std::to_string(meta.count()) +
                " block(s) of the metadata area are marked free in the bitmap: " + meta.text() +
                (fix ? "; marked in use" : ""),
            0, fix);
  if (past_end.count())
    problem("bitmap-past-end",
            std::to_string(past_end.count()) + " bit(s) set for blocks past the end of the pool" +
                (fix ? "; cleared" : ""),
            0, fix);
  if (repairer_) (void)repairer_->commit();
  step(1.0);
}

}  // namespace hapm::fsck

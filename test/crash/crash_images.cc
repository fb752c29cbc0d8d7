#include "test/crash/crash_images.h"

#include <cassert>
#include <cstring>
#include <sstream>

namespace hapm::crash {

std::string format_subset(const Subset& subset) {
  std::ostringstream out;
  for (size_t i = 0; i < subset.size(); ++i) {
    if (i) out << ',';
    out << subset[i].line;
    if (subset[i].word_mask != 0xff)
      out << ":0x" << std::hex << int{subset[i].word_mask} << std::dec;
  }
  return out.str();
}

bool parse_subset(const std::string& text, Subset* out) {
  out->clear();
  if (text.empty() || text == "-") return true;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    LineChoice c;
    size_t colon = item.find(':');
    try {
      c.line = std::stoull(item.substr(0, colon));
      if (colon != std::string::npos) {
        unsigned long mask = std::stoul(item.substr(colon + 1), nullptr, 0);
        if (mask == 0 || mask > 0xff) return false;
        c.word_mask = static_cast<uint8_t>(mask);
      }
    } catch (const std::exception&) {
      return false;
    }
    out->push_back(c);
  }
  return true;
}

namespace {

uint64_t line_hash(uint64_t line, const uint8_t* bytes) {
  uint64_t x = (line + 1) * 0x9e3779b97f4a7c15ULL;
  for (uint64_t w = 0; w < kWordsPerLine; ++w) {
    uint64_t word;
    std::memcpy(&word, bytes + w * 8, 8);
    x = (x ^ word) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 31;
  }
  x = (x ^ (x >> 30)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 29);
}

}  // namespace

CrashStates::CrashStates(const CrashLog& log) : log_(log) {
  assert(!log_.epochs.empty());
  reset();
}

void CrashStates::reset() {
  durable_ = log_.base_durable;
  durable_hash_ = 0;
  for (uint64_t line = 0; line < durable_.size() / kLineBytes; ++line)
    durable_hash_ ^= line_hash(line, durable_.data() + line * kLineBytes);
  pending_.clear();
  for (const LineImage& img : log_.base_pending) pending_[img.line] = img.bytes;
  point_ = 0;
  apply_stores(0);
}

void CrashStates::apply_stores(size_t epoch) {
  for (const LineImage& img : log_.epochs[epoch].stored) {
    // A line back at its durable contents is certain again (a store of the
    // same bytes, or a value restored within the epoch).
    if (std::memcmp(durable_.data() + img.line * kLineBytes, img.bytes.data(), kLineBytes) == 0)
      pending_.erase(img.line);
    else
      pending_[img.line] = img.bytes;
  }
}

void CrashStates::apply_drain(size_t epoch) {
  for (const LineImage& img : log_.epochs[epoch].flushed) {
    uint8_t* dst = durable_.data() + img.line * kLineBytes;
    durable_hash_ ^= line_hash(img.line, dst) ^ line_hash(img.line, img.bytes.data());
    std::memcpy(dst, img.bytes.data(), kLineBytes);
    auto it = pending_.find(img.line);
    if (it != pending_.end() && it->second == img.bytes) pending_.erase(it);
  }
}

void CrashStates::seek(size_t point) {
  assert(point < crash_points());
  if (point < point_) reset();
  while (point_ < point) {
    apply_drain(point_);
    ++point_;
    apply_stores(point_);
  }
}

std::vector<uint64_t> CrashStates::pending_lines() const {
  std::vector<uint64_t> lines;
  lines.reserve(pending_.size());
  for (const auto& [line, bytes] : pending_) lines.push_back(line);
  return lines;
}

void CrashStates::build(const Subset& subset, std::vector<uint8_t>* image, size_t* stale) const {
  *image = durable_;
  if (stale) *stale = 0;
  for (const LineChoice& c : subset) {
    auto it = pending_.find(c.line);
    if (it == pending_.end()) {
      if (stale) ++*stale;
      continue;
    }
    uint8_t* dst = image->data() + c.line * kLineBytes;
    for (uint64_t w = 0; w < kWordsPerLine; ++w)
      if (c.word_mask & (1u << w)) std::memcpy(dst + w * 8, it->second.data() + w * 8, 8);
  }
}

uint64_t CrashStates::image_hash(const Subset& subset) const {
  uint64_t h = durable_hash_;
  for (const LineChoice& c : subset) {
    auto it = pending_.find(c.line);
    if (it == pending_.end()) continue;
    const uint8_t* old = durable_.data() + c.line * kLineBytes;
    LineBytes now;
    for (uint64_t w = 0; w < kWordsPerLine; ++w)
      std::memcpy(now.data() + w * 8, (c.word_mask & (1u << w) ? it->second.data() : old) + w * 8,
                  8);
    h ^= line_hash(c.line, old) ^ line_hash(c.line, now.data());
  }
  return h;
}

}  // namespace hapm::crash

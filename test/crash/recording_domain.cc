#include "test/crash/recording_domain.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hapm::crash {

namespace {

// A store outside the pool is a bug in the caller; the test cannot go on.
uint64_t offset_in(const std::vector<uint8_t>& view, const void* p, size_t len) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  auto base = reinterpret_cast<uintptr_t>(view.data());
  if (addr < base || addr - base > view.size() || len > view.size() - (addr - base)) {
    std::fprintf(stderr, "recording domain: access [%p, +%zu) is outside the pool\n", p, len);
    std::abort();
  }
  return addr - base;
}

}  // namespace

RecordingDomain::RecordingDomain(uint64_t size)
    : view_(size, 0),
      shadow_(size, 0),
      durable_(size, 0),
      pending_(size / kLineBytes, 0),
      dirty_(size / kLineBytes, 0),
      flush_slot_(size / kLineBytes, -1) {
  assert(size % kLineBytes == 0);
}

RecordingDomain::RecordingDomain(const std::vector<uint8_t>& image)
    : view_(image),
      shadow_(image),
      durable_(image),
      pending_(image.size() / kLineBytes, 0),
      dirty_(image.size() / kLineBytes, 0),
      flush_slot_(image.size() / kLineBytes, -1) {
  assert(image.size() % kLineBytes == 0);
}

void RecordingDomain::mark_stored(uint64_t offset, uint64_t len) {
  ++store_count_;
  if (len == 0) return;
  for (uint64_t line = offset / kLineBytes; line <= (offset + len - 1) / kLineBytes; ++line) {
    pending_[line] = 1;
    if (!dirty_[line]) {
      dirty_[line] = 1;
      dirty_lines_.push_back(line);
    }
  }
}

void RecordingDomain::store(void* dst, const void* src, size_t len, StoreKind) {
  uint64_t off = offset_in(view_, dst, len);
  std::memmove(dst, src, len);
  std::memcpy(shadow_.data() + off, dst, len);
  mark_stored(off, len);
}

void RecordingDomain::fill(void* dst, int byte, size_t len) {
  uint64_t off = offset_in(view_, dst, len);
  std::memset(dst, byte, len);
  std::memset(shadow_.data() + off, byte, len);
  mark_stored(off, len);
}

LineImage RecordingDomain::line_of(const std::vector<uint8_t>& bytes, uint64_t line) const {
  LineImage img;
  img.line = line;
  std::memcpy(img.bytes.data(), bytes.data() + line * kLineBytes, kLineBytes);
  return img;
}

void RecordingDomain::flush(const void* addr, size_t len) {
  uint64_t off = offset_in(view_, addr, len);
  if (len == 0) return;
  // Only uncertain lines matter: a flush of a line equal to durable_ changes nothing.
  for (uint64_t line = off / kLineBytes; line <= (off + len - 1) / kLineBytes; ++line) {
    if (!pending_[line]) continue;
    LineImage img = line_of(shadow_, line);
    if (flush_slot_[line] >= 0) {
      flushed_[flush_slot_[line]] = img;
    } else {
      flush_slot_[line] = static_cast<int64_t>(flushed_.size());
      flushed_.push_back(img);
    }
  }
}

Epoch RecordingDomain::current_epoch(bool drained) const {
  Epoch e;
  e.drained = drained;
  e.stored.reserve(dirty_lines_.size());
  for (uint64_t line : dirty_lines_) e.stored.push_back(line_of(shadow_, line));
  e.flushed = flushed_;
  return e;
}

void RecordingDomain::drain() {
  if (logging_ && std::find(skip_.begin(), skip_.end(), drain_calls_++) != skip_.end()) return;
  if (logging_) {
    log_.epochs.push_back(current_epoch(true));
    if (!first_bypass_) first_bypass_ = find_bypass();
  }
  for (const LineImage& img : flushed_) {
    std::memcpy(durable_.data() + img.line * kLineBytes, img.bytes.data(), kLineBytes);
    flush_slot_[img.line] = -1;
  }
  auto settle = [&](uint64_t line) {
    pending_[line] = std::memcmp(durable_.data() + line * kLineBytes,
                                 shadow_.data() + line * kLineBytes, kLineBytes) != 0;
  };
  for (const LineImage& img : flushed_) settle(img.line);
  for (uint64_t line : dirty_lines_) {
    settle(line);
    dirty_[line] = 0;
  }
  flushed_.clear();
  dirty_lines_.clear();
}

void RecordingDomain::start_log() {
  drain();  // a fence of its own: the base is a state the program really reached
  logging_ = true;
  drain_calls_ = 0;
  log_ = CrashLog{};
  log_.base_durable = durable_;
  for (uint64_t line = 0; line < pending_.size(); ++line)
    if (pending_[line]) log_.base_pending.push_back(line_of(shadow_, line));
  first_bypass_ = find_bypass();
}

CrashLog RecordingDomain::log() const {
  CrashLog copy = log_;
  copy.epochs.push_back(current_epoch(false));
  return copy;
}

std::optional<uint64_t> RecordingDomain::find_bypass() const {
  if (std::memcmp(view_.data(), shadow_.data(), view_.size()) == 0) return std::nullopt;
  for (uint64_t i = 0; i < view_.size(); ++i)
    if (view_[i] != shadow_[i]) return i;
  return std::nullopt;
}

}  // namespace hapm::crash

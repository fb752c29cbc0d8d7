#include "test/crash/model_selftest.h"

#include <cstring>

#include "test/crash/crash_images.h"
#include "test/crash/image_plan.h"
#include "test/crash/recording_domain.h"

namespace hapm::crash {

namespace {

constexpr uint64_t kSize = 64 * kLineBytes;

struct Checker {
  std::vector<std::string> failures;
  void expect(bool ok, const std::string& what) {
    if (!ok) failures.push_back(what);
  }
};

LineBytes filled(uint8_t b) {
  LineBytes l;
  l.fill(b);
  return l;
}

void store_line(RecordingDomain& d, uint64_t line, uint8_t b) {
  LineBytes l = filled(b);
  d.store(d.base() + line * kLineBytes, l.data(), kLineBytes, StoreKind::Metadata);
}

uint8_t byte_at(const std::vector<uint8_t>& image, uint64_t line) {
  return image[line * kLineBytes];
}

std::vector<uint8_t> build(CrashStates& cs, size_t point, const Subset& subset) {
  cs.seek(point);
  std::vector<uint8_t> image;
  cs.build(subset, &image);
  return image;
}

}  // namespace

std::vector<std::string> model_self_test() {
  Checker c;
  {
    // Line 0: stored, never flushed. Line 1: stored, flushed, drained.
    // Line 2: stored A, flushed, stored B, drained. Line 3: stored, then
    // restored to its durable contents in the same epoch.
    RecordingDomain d(kSize);
    d.start_log();
    store_line(d, 0, 0xa0);
    store_line(d, 1, 0xa1);
    d.flush(d.base() + 1 * kLineBytes, kLineBytes);
    store_line(d, 2, 0xa2);
    d.flush(d.base() + 2 * kLineBytes, kLineBytes);
    store_line(d, 2, 0xb2);
    store_line(d, 3, 0xa3);
    store_line(d, 3, 0x00);
    d.drain();  // ends epoch 0
    store_line(d, 4, 0xa4);
    d.flush(d.base() + 4 * kLineBytes, kLineBytes);  // flushed, never drained
    CrashLog log = d.log();
    c.expect(log.epochs.size() == 2, "two epochs: one drained, the open one");
    CrashStates cs(log);
    cs.seek(0);
    c.expect(cs.pending_lines() == std::vector<uint64_t>{0, 1, 2},
             "point 0: lines 0, 1, 2 uncertain; line 3 restored is not");
    std::vector<uint8_t> none = build(cs, 0, {});
    c.expect(byte_at(none, 0) == 0 && byte_at(none, 1) == 0 && byte_at(none, 2) == 0,
             "point 0, drained image: nothing stored is there");
    cs.seek(1);
    c.expect(cs.pending_lines() == std::vector<uint64_t>{0, 2, 4},
             "point 1: unflushed line 0 still uncertain, line 2 stored after its flush, line 4 "
             "undrained");
    std::vector<uint8_t> drained = build(cs, 1, {});
    c.expect(byte_at(drained, 1) == 0xa1, "point 1: the flushed and drained line is durable");
    c.expect(byte_at(drained, 2) == 0xa2, "point 1: the flush-time contents of line 2 are durable");
    std::vector<uint8_t> all = build(cs, 1, choose_subset(cs.pending_lines(), {}, "t", 1, 1));
    c.expect(byte_at(all, 0) == 0xa0 && byte_at(all, 2) == 0xb2 && byte_at(all, 4) == 0xa4,
             "point 1, all lines: the program view");
    std::vector<uint8_t> torn = build(cs, 1, {{2, 0x01}});
    c.expect(torn[2 * kLineBytes] == 0xb2 && torn[2 * kLineBytes + 8] == 0xa2,
             "a torn line: word 0 new, word 1 old");
    c.expect(build(cs, 0, {{0, 0xff}})[0] == 0xa0, "seeking backwards rebuilds from the base");
  }
  {
    // Stores before start_log that were never flushed stay uncertain.
    RecordingDomain d(kSize);
    store_line(d, 5, 0x55);
    d.start_log();
    CrashLog log = d.log();
    CrashStates cs(log);
    c.expect(cs.pending_lines() == std::vector<uint64_t>{5},
             "unflushed setup store is uncertain in the base");
  }
  {
    // A write that reaches the pool's memory without store() is found.
    RecordingDomain d(kSize);
    d.start_log();
    d.base()[777] = 1;
    auto at = d.find_bypass();
    c.expect(at && *at == 777, "a bypassing write is found at its offset");
  }
  {
    // The ordering bug the checker exists for: data and commit flag in one
    // epoch. Some planned image must have the flag without the data.
    RecordingDomain d(kSize);
    d.start_log();
    store_line(d, 10, 0xda);  // data
    store_line(d, 11, 0x01);  // commit flag, no fence in between
    d.flush(d.base() + 10 * kLineBytes, 2 * kLineBytes);
    d.drain();
    CrashLog log = d.log();
    CrashStates cs(log);
    cs.seek(0);
    PlanOptions plan;
    plan.seed = 1;
    bool found = false;
    for (size_t k = 0; k < 64 && !found; ++k) {
      std::vector<uint8_t> img = build(cs, 0, choose_subset(cs.pending_lines(), plan, "t", 0, k));
      found = byte_at(img, 11) == 0x01 && byte_at(img, 10) != 0xda;
    }
    c.expect(found, "a flag-without-data image is among the planned ones");
    cs.seek(0);
    uint64_t all_at_0 = cs.image_hash({{10, 0xff}, {11, 0xff}});
    c.expect(
        all_at_0 != cs.image_hash({{10, 0xff}}) && cs.image_hash({{11, 0x00}}) == cs.image_hash({}),
        "image hashes tell different images apart, an empty mask changes nothing");
    cs.seek(1);
    c.expect(cs.image_hash({}) == all_at_0, "the same image at two crash points hashes the same");
  }
  {
    // A skipped drain (mutation) leaves flushed lines uncertain.
    RecordingDomain d(kSize);
    d.start_log();
    d.skip_drains({0});
    store_line(d, 7, 0x77);
    d.persist(d.base() + 7 * kLineBytes, kLineBytes);
    CrashLog log = d.log();
    CrashStates cs(log);
    cs.seek(cs.crash_points() - 1);
    c.expect(cs.pending_lines() == std::vector<uint64_t>{7},
             "a skipped drain makes nothing durable");
  }
  {
    PlanOptions plan;
    std::vector<size_t> q = plan_quotas({0, 1, 5, 5}, 100, plan);
    size_t sum = q[0] + q[1] + q[2] + q[3];
    c.expect(q[0] == 1 && q[1] >= 2 && sum == 100,
             "quotas: 1 for a point with nothing uncertain, budget kept");
    Subset s;
    c.expect(parse_subset(format_subset({{3, 0xff}, {9, 0x0f}}), &s) && s.size() == 2 &&
                 s[1].line == 9 && s[1].word_mask == 0x0f,
             "subset text round-trips");
  }
  return c.failures;
}

}  // namespace hapm::crash

#include "test/crash/image_plan.h"

#include <algorithm>

namespace hapm::crash {

namespace {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// A torn write-back: some but not all of the line's eight words.
uint8_t torn_mask(uint64_t& rng) {
  return static_cast<uint8_t>(1 + splitmix(rng) % 254);
}

double unit(uint64_t& rng) {
  return static_cast<double>(splitmix(rng) >> 11) * 0x1.0p-53;
}

Subset random_subset(const std::vector<uint64_t>& pending, const PlanOptions& o,
                     const std::string& op, size_t point, size_t k) {
  uint64_t rng =
      o.seed ^ name_hash(op) ^ (point * 0xd6e8feb86659fd93ULL) ^ (k * 0xa0761d6478bd642fULL);
  splitmix(rng);
  const size_t n = pending.size();
  Subset out;
  switch (splitmix(rng) % (o.torn ? 4 : 3)) {
    case 0: {  // each line with probability p, p itself random
      double p = unit(rng);
      for (uint64_t line : pending)
        if (unit(rng) < p)
          out.push_back({line, o.torn && splitmix(rng) % 16 == 0 ? torn_mask(rng) : uint8_t{0xff}});
      break;
    }
    case 1:  // one line alone
      out.push_back({pending[splitmix(rng) % n], 0xff});
      break;
    case 2: {  // everything but one line
      size_t skip = splitmix(rng) % n;
      for (size_t i = 0; i < n; ++i)
        if (i != skip) out.push_back({pending[i], 0xff});
      break;
    }
    default: {  // like case 0, half the chosen lines torn
      double p = unit(rng);
      for (uint64_t line : pending)
        if (unit(rng) < p)
          out.push_back({line, splitmix(rng) % 2 ? torn_mask(rng) : uint8_t{0xff}});
      if (out.empty()) out.push_back({pending[splitmix(rng) % n], torn_mask(rng)});
      break;
    }
  }
  return out;
}

size_t systematic_count(size_t n, const PlanOptions& o) {
  if (n <= o.exhaustive_bits) return size_t{1} << n;
  return std::min(2 + 2 * n, o.exhaustive_systematic_max);
}

}  // namespace

Subset choose_subset(const std::vector<uint64_t>& pending, const PlanOptions& o,
                     const std::string& op, size_t point, size_t k) {
  const size_t n = pending.size();
  Subset out;
  if (n == 0 || k == 0) return out;
  if (k == 1) {
    for (uint64_t line : pending) out.push_back({line, 0xff});
    return out;
  }
  if (o.exhaustive && k < systematic_count(n, o)) {
    if (n <= o.exhaustive_bits) {  // subset number k-1: 1 .. 2^n - 2
      uint64_t mask = k - 1;
      for (size_t i = 0; i < n; ++i)
        if (mask & (uint64_t{1} << i)) out.push_back({pending[i], 0xff});
    } else if (k - 2 < n) {  // each line alone
      out.push_back({pending[k - 2], 0xff});
    } else {  // all lines but one
      for (size_t i = 0; i < n; ++i)
        if (i != k - 2 - n) out.push_back({pending[i], 0xff});
    }
    return out;
  }
  return random_subset(pending, o, op, point, k);
}

std::vector<size_t> plan_quotas(const std::vector<size_t>& counts, size_t budget,
                                const PlanOptions& o) {
  std::vector<size_t> quota(counts.size());
  // The most distinct images a point can give (torn lines: practically unbounded).
  auto cap = [&](size_t n) -> size_t {
    if (n == 0) return 1;
    if (o.torn) return SIZE_MAX;
    return n >= 20 ? SIZE_MAX : (size_t{1} << n);
  };
  if (o.exhaustive) {
    for (size_t i = 0; i < counts.size(); ++i) {
      size_t n = counts[i];
      size_t want = n == 0 ? 1
                           : systematic_count(n, o) +
                                 (o.torn || n > o.exhaustive_bits ? o.exhaustive_random : 0);
      quota[i] = std::min(want, cap(n));
    }
    return quota;
  }
  // Every point: the drained image and the all-lines one. The rest of the
  // budget is shared out evenly among points with choices left.
  size_t used = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    quota[i] = std::min<size_t>(counts[i] == 0 ? 1 : 2, cap(counts[i]));
    used += quota[i];
  }
  size_t left = budget > used ? budget - used : 0;
  for (int round = 0; round < 64 && left > 0; ++round) {
    std::vector<size_t> open;
    for (size_t i = 0; i < counts.size(); ++i)
      if (quota[i] < cap(counts[i])) open.push_back(i);
    if (open.empty()) break;
    size_t share = std::max<size_t>(1, left / open.size());
    for (size_t i : open) {
      size_t add = std::min({share, cap(counts[i]) - quota[i], left});
      quota[i] += add;
      left -= add;
      if (left == 0) break;
    }
  }
  return quota;
}

}  // namespace hapm::crash

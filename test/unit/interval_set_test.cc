#include "common/interval_set.h"

#include <catch2/catch.hpp>
#include <vector>

namespace hapm {
namespace {

TEST_CASE("an empty interval set has no ranges and no bytes", "[interval_set]") {
  IntervalSet s;
  CHECK(s.empty());
  CHECK(s.range_count() == 0);
  CHECK(s.total_bytes() == 0);
  CHECK_FALSE(s.contains(0));
}

TEST_CASE("an empty range adds nothing", "[interval_set]") {
  IntervalSet s;
  s.add(10, 10);
  s.add(20, 5);
  CHECK(s.empty());
}

TEST_CASE("disjoint ranges stay separate and sorted", "[interval_set]") {
  IntervalSet s;
  s.add(100, 200);
  s.add(0, 10);
  s.add(50, 60);
  CHECK(s.ranges() == std::vector<Range>{{0, 10}, {50, 60}, {100, 200}});
  CHECK(s.total_bytes() == 10 + 10 + 100);
}

TEST_CASE("touching ranges merge into one", "[interval_set]") {
  IntervalSet s;
  s.add(0, 10);
  s.add(10, 20);
  s.add(30, 40);
  s.add(20, 30);
  CHECK(s.ranges() == std::vector<Range>{{0, 40}});
  CHECK(s.total_bytes() == 40);
}

TEST_CASE("overlapping ranges merge and bytes are counted once", "[interval_set]") {
  IntervalSet s;
  s.add(0, 100);
  s.add(50, 150);
  CHECK(s.ranges() == std::vector<Range>{{0, 150}});
  CHECK(s.total_bytes() == 150);
  s.add(20, 30);  // inside
  CHECK(s.total_bytes() == 150);
  CHECK(s.range_count() == 1);
}

TEST_CASE("a range covering several others swallows them all", "[interval_set]") {
  IntervalSet s;
  s.add(10, 20);
  s.add(30, 40);
  s.add(50, 60);
  s.add(70, 80);
  s.add(15, 75);
  CHECK(s.ranges() == std::vector<Range>{{10, 80}});
  CHECK(s.total_bytes() == 70);
}

TEST_CASE("a range reaching back into its predecessor merges with it", "[interval_set]") {
  IntervalSet s;
  s.add(0, 10);
  s.add(100, 110);
  s.add(5, 50);
  CHECK(s.ranges() == std::vector<Range>{{0, 50}, {100, 110}});
  CHECK(s.total_bytes() == 60);
}

TEST_CASE("contains covers begin but not end", "[interval_set]") {
  IntervalSet s;
  s.add(10, 20);
  CHECK_FALSE(s.contains(9));
  CHECK(s.contains(10));
  CHECK(s.contains(19));
  CHECK_FALSE(s.contains(20));
}

TEST_CASE("take moves every range out and leaves the set empty", "[interval_set]") {
  IntervalSet s;
  s.add(0, 4096);
  s.add(8192, 12288);
  std::vector<Range> taken = s.take();
  CHECK(taken == std::vector<Range>{{0, 4096}, {8192, 12288}});
  CHECK(s.empty());
  CHECK(s.total_bytes() == 0);
  s.add(1, 2);
  CHECK(s.total_bytes() == 1);
}

TEST_CASE("ranges near the top of the 64-bit space do not overflow", "[interval_set]") {
  IntervalSet s;
  const uint64_t top = ~0ull;
  s.add(top - 100, top);
  s.add(top - 200, top - 100);
  CHECK(s.ranges() == std::vector<Range>{{top - 200, top}});
  CHECK(s.total_bytes() == 200);
}

}  // namespace
}  // namespace hapm

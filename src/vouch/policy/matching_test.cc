#include "vouch/policy/matching.h"

#include <gtest/gtest.h>

#include <vector>

namespace vouch::policy {
namespace {

TEST(Matching, FindsAMaximumMatchingByAugmentingPaths) {
  // Person 0 can fill slots 0 or 1, person 1 only slot 0, person 2 only slot 1: greedy would
  // leave someone out; augmenting moves person 0 along.
  std::vector<int> m = MaxBipartiteMatching({{0, 1}, {0}, {1, 2}}, 3);
  EXPECT_EQ(m, (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(MaxBipartiteMatching({{0}, {0}}, 1), (std::vector<int>{0}));
  EXPECT_EQ(MaxBipartiteMatching({}, 2), (std::vector<int>{-1, -1}));
}

}  // namespace
}  // namespace vouch::policy

#include "vouch/policy/matching.h"

#include <algorithm>

namespace vouch::policy {

namespace {

bool TryAugment(int left, const std::vector<std::vector<int>>& edges, std::vector<int>& match_right,
                std::vector<char>& visited) {
  for (int right : edges[static_cast<size_t>(left)]) {
    if (visited[static_cast<size_t>(right)]) continue;
    visited[static_cast<size_t>(right)] = 1;
    int& holder = match_right[static_cast<size_t>(right)];
    if (holder < 0 || TryAugment(holder, edges, match_right, visited)) {
      holder = left;
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<int> MaxBipartiteMatching(const std::vector<std::vector<int>>& edges,
                                      size_t right_count) {
  std::vector<int> match_right(right_count, -1);
  std::vector<char> visited(right_count);
  for (size_t left = 0; left < edges.size(); ++left) {
    std::fill(visited.begin(), visited.end(), 0);
    TryAugment(static_cast<int>(left), edges, match_right, visited);
  }
  return match_right;
}

}  // namespace vouch::policy

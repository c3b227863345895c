// Maximum bipartite matching by augmenting paths (Kuhn's algorithm): assigns people to approval
// slots so that each person fills at most one slot. O(V * E), ample for a gate's few dozen people.
#pragma once

#include <cstddef>
#include <vector>

namespace vouch::policy {

// `edges[left]` lists the right-hand nodes `left` may be matched to, in order of preference.
// Returns, for each right-hand node (0 .. right_count-1), the left node matched to it or -1.
// Deterministic: left nodes are tried in index order and each tries its edges in order, so a
// person listed earlier keeps the slot they took unless moving them lets someone else in.
std::vector<int> MaxBipartiteMatching(const std::vector<std::vector<int>>& edges,
                                      size_t right_count);

}  // namespace vouch::policy

#include "vouch/service/search.h"

#include <cctype>
#include <string_view>

namespace vouch::service {

bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive) {
  auto eq = [&](char a, char b) {
    if (!case_insensitive) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  // Iterative wildcard match with backtracking to the last '%': linear in practice, no recursion.
  size_t t = 0, p = 0;
  size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && (pattern[p] == '_' || eq(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace vouch::service

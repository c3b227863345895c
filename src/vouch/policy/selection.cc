#include "vouch/policy/selection.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "vouch/policy/evaluator.h"
#include "vouch/policy/matching.h"

namespace vouch::policy {

namespace {

// Two policies for one target can both match one model: compatible tags, intersecting globs.
bool Overlap(const Policy& a, const Policy& b) {
  if (!a.match || !b.match) return true;
  for (const auto& [k, v] : a.match->tags) {
    auto it = b.match->tags.find(k);
    if (it != b.match->tags.end() && it->second != v) return false;
  }
  if (a.match->models.empty() || b.match->models.empty()) return true;
  for (const std::string& ga : a.match->models) {
    for (const std::string& gb : b.match->models) {
      if (GlobsIntersect(ga, gb)) return true;
    }
  }
  return false;
}

// Whether rule `narrow` is at least as strict as `wide`.
bool RuleCovers(const ApprovalRule& narrow, const ApprovalRule& wide) {
  if (narrow.count < wide.count) return false;
  if (wide.meaning && narrow.meaning != wide.meaning) return false;
  return std::all_of(narrow.from.begin(), narrow.from.end(), [&](const Ref& r) {
    return std::find(wide.from.begin(), wide.from.end(), r) != wide.from.end();
  });
}

int CompareLiterals(const Clause& a, const Clause& b) {
  if (a.literal_is_number) return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
  return a.text.compare(b.text) < 0 ? -1 : a.text == b.text ? 0 : 1;
}

// Whether clause `n` implies clause `w` (both on one value).
bool ClauseImplies(const Clause& n, const Clause& w) {
  if (n.field != w.field || n.key != w.key) return false;
  if (w.op == CompareOp::kExists) return true;  // a missing value fails every comparison
  if (n.op == CompareOp::kExists || n.literal_is_number != w.literal_is_number) return false;
  int c = CompareLiterals(n, w);  // n's literal against w's
  switch (w.op) {
    case CompareOp::kGreaterEqual:
      return (n.op == CompareOp::kGreaterEqual || n.op == CompareOp::kGreater ||
              n.op == CompareOp::kEqual) &&
             c >= 0;
    case CompareOp::kGreater:
      return ((n.op == CompareOp::kGreater) && c >= 0) ||
             ((n.op == CompareOp::kGreaterEqual || n.op == CompareOp::kEqual) && c > 0);
    case CompareOp::kLessEqual:
      return (n.op == CompareOp::kLessEqual || n.op == CompareOp::kLess ||
              n.op == CompareOp::kEqual) &&
             c <= 0;
    case CompareOp::kLess:
      return ((n.op == CompareOp::kLess) && c <= 0) ||
             ((n.op == CompareOp::kLessEqual || n.op == CompareOp::kEqual) && c < 0);
    case CompareOp::kEqual:
      return n.op == CompareOp::kEqual && c == 0;
    case CompareOp::kNotEqual:
      return (n.op == CompareOp::kNotEqual && c == 0) || (n.op == CompareOp::kEqual && c != 0);
    case CompareOp::kExists:
      return true;
  }
  return false;
}

// What `narrow` loosens of `wide`, in words, or nothing.
std::optional<std::string> Loosening(const Policy& narrow, const Policy& wide) {
  // Each wide rule needs its own narrow rule at least as strict: a matching, as for people.
  std::vector<std::vector<int>> edges(wide.approvals.size());
  for (size_t w = 0; w < wide.approvals.size(); ++w) {
    for (size_t n = 0; n < narrow.approvals.size(); ++n) {
      if (RuleCovers(narrow.approvals[n], wide.approvals[w])) {
        edges[w].push_back(static_cast<int>(n));
      }
    }
  }
  std::vector<int> assigned = MaxBipartiteMatching(edges, narrow.approvals.size());
  std::set<int> covered(assigned.begin(), assigned.end());
  for (size_t w = 0; w < wide.approvals.size(); ++w) {
    if (!covered.contains(static_cast<int>(w))) {
      return fmt::format("its rules have none at least as strict as \"{}\"",
                         FormatRule(wide.approvals[w]));
    }
  }
  std::vector<const Clause*> narrow_clauses;
  for (const Condition& c : narrow.conditions) {
    for (const Clause& clause : c.clauses) narrow_clauses.push_back(&clause);
  }
  for (const Condition& c : wide.conditions) {
    for (const Clause& clause : c.clauses) {
      bool implied = std::any_of(narrow_clauses.begin(), narrow_clauses.end(),
                                 [&](const Clause* n) { return ClauseImplies(*n, clause); });
      if (!implied) {
        return fmt::format("its conditions do not imply \"{}\"", FormatClause(clause));
      }
    }
  }
  for (const std::string& check : wide.checks) {
    if (std::find(narrow.checks.begin(), narrow.checks.end(), check) == narrow.checks.end()) {
      return fmt::format("it does not require the check {}", check);
    }
  }
  return std::nullopt;
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view name) {
  // Iterative matching with one backtrack point for the last '*'.
  size_t g = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool GlobsIntersect(std::string_view a, std::string_view b) {
  // Search the product of the two patterns' automata: state (i, j) means a[0,i) and b[0,j) can
  // match one common prefix.
  std::vector<char> seen((a.size() + 1) * (b.size() + 1));
  std::vector<std::pair<size_t, size_t>> stack{{0, 0}};
  auto push = [&](size_t i, size_t j) {
    char& s = seen[i * (b.size() + 1) + j];
    if (!s) {
      s = 1;
      stack.emplace_back(i, j);
    }
  };
  seen[0] = 1;
  while (!stack.empty()) {
    auto [i, j] = stack.back();
    stack.pop_back();
    if (i == a.size() && j == b.size()) return true;
    // A star may match nothing.
    if (i < a.size() && a[i] == '*') push(i + 1, j);
    if (j < b.size() && b[j] == '*') push(i, j + 1);
    if (i == a.size() || j == b.size()) continue;
    // Both consume one common character.
    bool a_any = a[i] == '*' || a[i] == '?';
    bool b_any = b[j] == '*' || b[j] == '?';
    if (!a_any && !b_any && a[i] != b[j]) continue;
    push(a[i] == '*' ? i : i + 1, b[j] == '*' ? j : j + 1);
  }
  return false;
}

int Specificity(const Policy& policy) {
  if (!policy.match) return 0;
  return (policy.match->models.empty() ? 0 : 1) + static_cast<int>(policy.match->tags.size());
}

bool PolicyMatchesModel(const Policy& policy, std::string_view model_name, const StringMap& tags) {
  if (!policy.match) return true;
  const PolicyMatch& m = policy.match.value();
  if (!m.models.empty() &&
      std::none_of(m.models.begin(), m.models.end(),
                   [&](const std::string& g) { return GlobMatch(g, model_name); })) {
    return false;
  }
  return std::all_of(m.tags.begin(), m.tags.end(), [&](const auto& kv) {
    auto it = tags.find(kv.first);
    return it != tags.end() && it->second == kv.second;
  });
}

Result<std::optional<size_t>> SelectPolicy(std::span<const Policy> policies,
                                           std::string_view model_name, const StringMap& tags,
                                           const Target& target) {
  std::optional<size_t> best;
  bool tie = false;
  for (size_t i = 0; i < policies.size(); ++i) {
    const Policy& p = policies[i];
    if (p.target != target || !PolicyMatchesModel(p, model_name, tags)) continue;
    if (!best || Specificity(p) > Specificity(policies[*best])) {
      best = i;
      tie = false;
    } else if (Specificity(p) == Specificity(policies[*best])) {
      if (!tie) {
        // Keep the first tie found for the message; a more specific policy may still win.
        tie = true;
      }
    }
  }
  if (best && tie) {
    for (size_t i = 0; i < policies.size(); ++i) {
      const Policy& p = policies[i];
      if (i != *best && p.target == target && PolicyMatchesModel(p, model_name, tags) &&
          Specificity(p) == Specificity(policies[*best])) {
        return FailedPrecondition(fmt::format(
            "policies '{}' and '{}' both govern {} of model '{}' with the same precedence: make "
            "one more specific",
            policies[*best].name, p.name, FormatTarget(target), model_name));
      }
    }
  }
  return best;
}

Status CheckPolicySet(std::span<const Policy> policies) {
  for (size_t i = 0; i < policies.size(); ++i) {
    for (size_t j = i + 1; j < policies.size(); ++j) {
      const Policy& a = policies[i];
      const Policy& b = policies[j];
      if (a.target != b.target || !Overlap(a, b)) continue;
      int sa = Specificity(a), sb = Specificity(b);
      if (sa == sb) {
        return FailedPrecondition(fmt::format(
            "policies '{}' and '{}' could both govern {} of one model with the same precedence: "
            "make one more specific, or their matches disjoint",
            a.name, b.name, FormatTarget(a.target)));
      }
      const Policy& narrow = sa > sb ? a : b;
      const Policy& wide = sa > sb ? b : a;
      if (auto loosened = Loosening(narrow, wide)) {
        return FailedPrecondition(fmt::format(
            "policy '{}' loosens policy '{}' for {} on the models both match: {} (a narrower "
            "policy may only tighten a wider one's minimums)",
            narrow.name, wide.name, FormatTarget(narrow.target), *loosened));
      }
    }
  }
  return OkStatus();
}

}  // namespace vouch::policy

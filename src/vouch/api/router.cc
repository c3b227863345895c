#include "vouch/api/router.h"

#include <algorithm>
#include <optional>

namespace vouch::api {

std::string_view AccessName(Access a) {
  switch (a) {
    case Access::kPublic:
      return "public";
    case Access::kAuthenticated:
      return "authenticated";
    case Access::kModelRead:
      return "READ";
    case Access::kModelEdit:
      return "EDIT";
    case Access::kModelManage:
      return "MANAGE";
    case Access::kAdmin:
      return "admin";
  }
  return "public";
}
namespace {

std::vector<std::string> SplitPattern(std::string_view pattern) {
  std::vector<std::string> out;
  if (pattern == "/") return out;  // the root, as a request for "/" has no segments
  size_t start = 1;                // patterns start with '/'
  while (start <= pattern.size()) {
    size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    out.emplace_back(pattern.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool IsCapture(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// `{name...}`, a pattern's last segment only: the rest of the path, one segment or more.
bool IsRestCapture(std::string_view seg) {
  return IsCapture(seg) && seg.size() > 5 && seg.substr(seg.size() - 4) == "...}";
}

bool TakesRest(const Route& r) { return !r.segments.empty() && IsRestCapture(r.segments.back()); }

// The captures of `r` when `segments` match its pattern (literals equal, captures non-empty).
std::optional<PathParams> MatchRoute(const Route& r, const std::vector<std::string>& segments) {
  const bool rest = TakesRest(r);
  if (rest ? segments.size() < r.segments.size() : segments.size() != r.segments.size()) {
    return std::nullopt;
  }
  PathParams params;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (rest && i + 1 == r.segments.size()) {
      std::string tail;
      for (size_t j = i; j < segments.size(); ++j) {
        if (segments[j].empty()) return std::nullopt;
        if (j > i) tail.push_back('/');
        tail += segments[j];
      }
      params.emplace(seg.substr(1, seg.size() - 5), std::move(tail));
    } else if (IsCapture(seg)) {
      if (segments[i].empty()) return std::nullopt;
      params.emplace(seg.substr(1, seg.size() - 2), segments[i]);
    } else if (seg != segments[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

const std::string* QueryParams::First(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::vector<std::string> QueryParams::All(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items) {
    if (k == key) out.push_back(v);
  }
  return out;
}

void Router::Add(std::string method, std::string pattern, Access access, Door door,
                 Handler handler) {
  Route r{std::move(method), std::move(pattern), access, door, std::move(handler), {}};
  r.segments = SplitPattern(r.pattern);
  routes_.push_back(std::move(r));
}

void Router::AddDoor(DoorSpec spec) {
  for (const Recogniser& r : spec.recognisers) recognisers_.emplace_back(r, doors_.size());
  doors_.push_back(std::move(spec));
  std::stable_sort(recognisers_.begin(), recognisers_.end(),
                   [](const auto& a, const auto& b) { return a.first.Rank() > b.first.Rank(); });
}

Router::Match Router::Find(Door door, std::string_view method,
                           const std::vector<std::string>& segments) const {
  // A literal segment beats a capture: of the routes whose path matches, only those with the most
  // literal segments count, so that /webhooks/events is never taken for /webhooks/{id} (another
  // method on it is 405, not a call with the id "events").
  auto literals = [](const Route& r) {
    return std::count_if(r.segments.begin(), r.segments.end(),
                         [](const std::string& s) { return !IsCapture(s); });
  };
  std::ptrdiff_t most = 0;
  for (const auto& r : routes_) {
    if (r.door == door && MatchRoute(r, segments)) most = std::max(most, literals(r));
  }
  Match m;
  for (const auto& r : routes_) {
    if (r.door != door || literals(r) < most) continue;
    std::optional<PathParams> params = MatchRoute(r, segments);
    if (!params) continue;
    if (r.method == method) {
      m.route = &r;
      m.params = std::move(*params);
      m.allowed_methods.clear();
      return m;
    }
    if (std::find(m.allowed_methods.begin(), m.allowed_methods.end(), r.method) ==
        m.allowed_methods.end()) {
      m.allowed_methods.push_back(r.method);
    }
  }
  return m;
}

const DoorSpec* Router::DoorFor(const HttpRequest& request, std::string_view path) const {
  for (const auto& [recogniser, door] : recognisers_) {
    if (recogniser.Matches(request, path)) return &doors_[door];
  }
  return nullptr;
}

}  // namespace vouch::api

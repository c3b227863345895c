#include "vouch/api/client_address.h"

#include <algorithm>
#include <cctype>

#include "vouch/util/text.h"

namespace vouch::api {
namespace {

constexpr size_t kMaxHop = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Calls `fn` on each comma-separated item of every header named `name`, in order.
template <typename Fn>
void ForEachItem(const HttpRequest& request, std::string_view name, Fn fn) {
  for (const auto& [key, value] : request.headers) {
    if (key != name) continue;
    std::string_view rest = value;
    while (true) {
      size_t comma = rest.find(',');
      fn(Trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
}

// A node from Forwarded's for= ("192.0.2.1", "\"[2001:db8::1]:4711\"", "unknown") or an
// X-Forwarded-For item, without quotes, brackets and port.
std::string_view NodeAddress(std::string_view node) {
  node = Trim(node);
  if (node.size() >= 2 && node.front() == '"' && node.back() == '"') {
    node = node.substr(1, node.size() - 2);
  }
  if (!node.empty() && node.front() == '[') {
    size_t close = node.find(']');
    return close == std::string_view::npos ? node : node.substr(1, close - 1);
  }
  if (std::count(node.begin(), node.end(), ':') == 1) node = node.substr(0, node.find(':'));
  return node;
}

std::vector<std::string_view> ForwardedChain(const HttpRequest& request) {
  std::vector<std::string_view> hops;
  ForEachItem(request, "forwarded", [&](std::string_view element) {
    while (!element.empty()) {
      size_t semi = element.find(';');
      std::string_view pair = Trim(element.substr(0, semi));
      if (pair.size() > 4 && (pair[0] == 'f' || pair[0] == 'F') &&
          (pair[1] == 'o' || pair[1] == 'O') && (pair[2] == 'r' || pair[2] == 'R') &&
          pair[3] == '=') {
        std::string_view node = NodeAddress(pair.substr(4));
        if (!node.empty()) hops.push_back(node);
      }
      if (semi == std::string_view::npos) break;
      element.remove_prefix(semi + 1);
    }
  });
  if (!hops.empty()) return hops;
  ForEachItem(request, "x-forwarded-for", [&](std::string_view item) {
    std::string_view node = NodeAddress(item);
    if (!node.empty()) hops.push_back(node);
  });
  return hops;
}

bool Trusted(const std::vector<CidrRange>& trusted, const IpBytes& ip) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const CidrRange& r) { return r.Contains(ip); });
}

}  // namespace

std::string ClientAddress(const HttpRequest& request, const std::vector<CidrRange>& trusted) {
  if (trusted.empty()) return request.remote_address;
  std::optional<IpBytes> peer = ParseIp(request.remote_address);
  if (!peer || !Trusted(trusted, *peer)) return request.remote_address;
  std::vector<std::string_view> hops = ForwardedChain(request);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::optional<IpBytes> ip = ParseIp(*it);
    if (!ip) return SanitizeUtf8(*it, kMaxHop);
    if (!Trusted(trusted, *ip)) return std::string(*it);
  }
  return hops.empty() ? request.remote_address : SanitizeUtf8(hops.front(), kMaxHop);
}

}  // namespace vouch::api

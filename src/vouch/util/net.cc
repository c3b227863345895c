#include "vouch/util/net.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace vouch {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<IpBytes> ParseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpBytes out{};
  if (s.find(':') == std::string::npos) {
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) != 1) return std::nullopt;
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  std::memcpy(out.data(), &v6, 16);
  return out;
}

bool CidrRange::Contains(const IpBytes& ip) const {
  int bits = prefix_bits;
  for (size_t i = 0; i < ip.size() && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip[i] & mask) != (base[i] & mask)) return false;
  }
  return true;
}

Result<std::vector<CidrRange>> ParseCidrList(std::string_view text) {
  std::vector<CidrRange> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view entry = Trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) continue;
    std::string_view addr = entry;
    std::optional<int> prefix;
    if (size_t slash = entry.find('/'); slash != std::string_view::npos) {
      addr = entry.substr(0, slash);
      std::string_view digits = entry.substr(slash + 1);
      int n = -1;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
        return InvalidArgument(fmt::format("'{}' is not an address or CIDR range", entry));
      }
      prefix = n;
    }
    std::optional<IpBytes> ip = ParseIp(addr);
    if (!ip) return InvalidArgument(fmt::format("'{}' is not an address or CIDR range", entry));
    const bool v4 = addr.find(':') == std::string_view::npos;
    const int max_bits = v4 ? 32 : 128;
    int bits = prefix.value_or(max_bits);
    if (bits < 0 || bits > max_bits) {
      return InvalidArgument(fmt::format("'{}': the prefix must be 0..{}", entry, max_bits));
    }
    out.push_back({*ip, v4 ? 96 + bits : bits});
  }
  return out;
}

}  // namespace vouch

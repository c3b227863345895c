#include "vouch/net/address_guard.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace vouch::net {
namespace {

struct V4Range {
  uint32_t base;
  int bits;
  std::string_view name;
};

// IANA's IPv4 special-purpose registry, less what is globally reachable, plus multicast and the
// reserved 240/4 (which holds the limited broadcast address).
constexpr V4Range kV4NonPublic[] = {
    {0x00000000, 8, "unspecified or \"this network\" (0.0.0.0/8)"},
    {0x0A000000, 8, "private (10.0.0.0/8)"},
    {0x64400000, 10, "shared address space (100.64.0.0/10)"},
    {0x7F000000, 8, "loopback (127.0.0.0/8)"},
    {0xA9FE0000, 16, "link-local (169.254.0.0/16)"},
    {0xAC100000, 12, "private (172.16.0.0/12)"},
    {0xC0000000, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {0xC0000200, 24, "documentation (192.0.2.0/24)"},
    {0xC0586300, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {0xC0A80000, 16, "private (192.168.0.0/16)"},
    {0xC6120000, 15, "benchmarking (198.18.0.0/15)"},
    {0xC6336400, 24, "documentation (198.51.100.0/24)"},
    {0xCB007100, 24, "documentation (203.0.113.0/24)"},
    {0xE0000000, 4, "multicast (224.0.0.0/4)"},
    {0xFFFFFFFF, 32, "broadcast (255.255.255.255)"},
    {0xF0000000, 4, "reserved (240.0.0.0/4)"},
};

std::optional<std::string> V4NonPublic(uint32_t v4) {
  for (const V4Range& r : kV4NonPublic) {
    const uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((v4 & mask) == r.base) return std::string(r.name);
  }
  return std::nullopt;
}

uint32_t V4At(const IpBytes& ip, size_t at) {
  return uint32_t{ip[at]} << 24 | uint32_t{ip[at + 1]} << 16 | uint32_t{ip[at + 2]} << 8 |
         uint32_t{ip[at + 3]};
}

struct V6Range {
  CidrRange range;
  std::string name;
};

// Checked in order: the specific ranges before ::/96, which contains :: and ::1.
const std::vector<V6Range>& V6NonPublic() {
  static const std::vector<V6Range> ranges = [] {
    const std::pair<std::string_view, std::string_view> table[] = {
        {"::/128", "unspecified (::)"},
        {"::1/128", "loopback (::1)"},
        {"::/96", "IPv4-compatible (::/96, deprecated)"},
        {"64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"},
        {"100::/64", "discard-only (100::/64)"},
        {"2001::/32", "Teredo (2001::/32)"},
        {"2001:2::/48", "benchmarking (2001:2::/48)"},
        {"2001:db8::/32", "documentation (2001:db8::/32)"},
        {"3fff::/20", "documentation (3fff::/20)"},
        {"fc00::/7", "unique local, private (fc00::/7)"},
        {"fe80::/10", "link-local (fe80::/10)"},
        {"fec0::/10", "site-local (fec0::/10, deprecated)"},
        {"ff00::/8", "multicast (ff00::/8)"},
    };
    std::vector<V6Range> out;
    for (const auto& [cidr, name] : table) {
      Result<std::vector<CidrRange>> parsed = ParseCidrList(cidr);
      out.push_back({parsed->front(), std::string(name)});  // the table is written right
    }
    return out;
  }();
  return ranges;
}

bool HasPrefix(const IpBytes& ip, std::initializer_list<uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), ip.begin());
}

std::optional<std::string> Embedded(const IpBytes& ip, size_t at, std::string_view how) {
  std::optional<std::string> inner = V4NonPublic(V4At(ip, at));
  if (!inner) return std::nullopt;
  return fmt::format("{}, embedded in {}", *inner, how);
}

}  // namespace

std::optional<std::string> NonPublicRange(const IpBytes& ip) {
  // ::ffff:a.b.c.d, the form util/net.h gives every IPv4 address.
  if (HasPrefix(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) return V4NonPublic(V4At(ip, 12));
  // The well-known NAT64 prefix 64:ff9b::/96 and 6to4 2002::/16 reach the IPv4 address inside.
  if (HasPrefix(ip, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return Embedded(ip, 12, "NAT64 (64:ff9b::/96)");
  }
  if (HasPrefix(ip, {0x20, 0x02})) return Embedded(ip, 2, "6to4 (2002::/16)");
  for (const V6Range& r : V6NonPublic()) {
    if (r.range.Contains(ip)) return r.name;
  }
  return std::nullopt;
}

std::string FormatIp(const IpBytes& ip) {
  char text[INET6_ADDRSTRLEN] = {};
  if (HasPrefix(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {
    ::inet_ntop(AF_INET, ip.data() + 12, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, ip.data(), text, sizeof text);
  }
  return text;
}

}  // namespace vouch::net

#include "vouch/net/address_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace vouch::net {
namespace {

std::optional<std::string> RangeOf(std::string_view text) {
  std::optional<IpBytes> ip = ParseIp(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip ? NonPublicRange(*ip) : std::optional<std::string>("unparsed");
}

TEST(AddressGuard, PublicUnicastAddressesPass) {
  for (std::string_view ip :
       {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
        "172.32.0.0", "192.169.0.1", "169.253.255.255", "223.255.255.255", "2606:4700::1111",
        "2001:4860:4860::8888", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1",
        "::ffff:8.8.8.8"}) {
    EXPECT_EQ(RangeOf(ip), std::nullopt) << ip;
  }
}

TEST(AddressGuard, NonPublicAddressesAreNamedByTheirRange) {
  const std::pair<std::string_view, std::string_view> table[] = {
      {"127.0.0.1", "loopback (127.0.0.0/8)"},
      {"127.255.255.254", "loopback (127.0.0.0/8)"},
      {"::1", "loopback (::1)"},
      {"::ffff:127.0.0.1", "loopback (127.0.0.0/8)"},
      {"10.0.0.1", "private (10.0.0.0/8)"},
      {"172.16.0.1", "private (172.16.0.0/12)"},
      {"172.31.255.255", "private (172.16.0.0/12)"},
      {"192.168.1.1", "private (192.168.0.0/16)"},
      {"::ffff:192.168.1.1", "private (192.168.0.0/16)"},
      {"fd12:3456::1", "unique local, private (fc00::/7)"},
      {"fc00::1", "unique local, private (fc00::/7)"},
      {"169.254.169.254", "link-local (169.254.0.0/16)"},
      {"fe80::1", "link-local (fe80::/10)"},
      {"febf::1", "link-local (fe80::/10)"},
      {"0.0.0.0", "unspecified or \"this network\" (0.0.0.0/8)"},
      {"0.1.2.3", "unspecified or \"this network\" (0.0.0.0/8)"},
      {"::", "unspecified (::)"},
      {"100.64.0.1", "shared address space (100.64.0.0/10)"},
      {"100.127.255.255", "shared address space (100.64.0.0/10)"},
      {"224.0.0.1", "multicast (224.0.0.0/4)"},
      {"239.255.255.250", "multicast (224.0.0.0/4)"},
      {"ff02::1", "multicast (ff00::/8)"},
      {"255.255.255.255", "broadcast (255.255.255.255)"},
      {"240.0.0.1", "reserved (240.0.0.0/4)"},
      {"192.0.0.8", "IETF protocol assignments (192.0.0.0/24)"},
      {"192.0.2.1", "documentation (192.0.2.0/24)"},
      {"198.51.100.7", "documentation (198.51.100.0/24)"},
      {"203.0.113.9", "documentation (203.0.113.0/24)"},
      {"198.18.0.1", "benchmarking (198.18.0.0/15)"},
      {"2001:db8::1", "documentation (2001:db8::/32)"},
      {"2001::1", "Teredo (2001::/32)"},
      {"fec0::1", "site-local (fec0::/10, deprecated)"},
      {"::127.0.0.1", "IPv4-compatible (::/96, deprecated)"},
      {"100::1", "discard-only (100::/64)"},
      {"64:ff9b::7f00:1", "loopback (127.0.0.0/8), embedded in NAT64 (64:ff9b::/96)"},
      {"64:ff9b::a9fe:a9fe", "link-local (169.254.0.0/16), embedded in NAT64 (64:ff9b::/96)"},
      {"2002:c0a8:101::1", "private (192.168.0.0/16), embedded in 6to4 (2002::/16)"},
  };
  for (const auto& [ip, range] : table) EXPECT_EQ(RangeOf(ip), std::string(range)) << ip;
}

TEST(AddressGuard, FormatsIpv4InItsDottedFormAndIpv6Compressed) {
  EXPECT_EQ(FormatIp(*ParseIp("::ffff:10.0.0.1")), "10.0.0.1");
  EXPECT_EQ(FormatIp(*ParseIp("10.0.0.1")), "10.0.0.1");
  EXPECT_EQ(FormatIp(*ParseIp("fe80:0:0::1")), "fe80::1");
}

}  // namespace
}  // namespace vouch::net

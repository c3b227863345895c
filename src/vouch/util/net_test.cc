#include "vouch/util/net.h"

#include <gtest/gtest.h>

namespace vouch {
namespace {

bool InList(std::string_view list, std::string_view ip) {
  auto ranges = ParseCidrList(list);
  EXPECT_TRUE(ranges.ok()) << ranges.status().ToString();
  auto parsed = ParseIp(ip);
  EXPECT_TRUE(parsed.has_value()) << ip;
  for (const auto& r : *ranges) {
    if (r.Contains(*parsed)) return true;
  }
  return false;
}

TEST(ParseIp, ReadsBothFamiliesAndNothingElse) {
  EXPECT_TRUE(ParseIp("192.0.2.1"));
  EXPECT_TRUE(ParseIp("2001:db8::1"));
  EXPECT_TRUE(ParseIp("::1"));
  EXPECT_FALSE(ParseIp(""));
  EXPECT_FALSE(ParseIp("unknown"));
  EXPECT_FALSE(ParseIp("192.0.2.1:80"));
  EXPECT_FALSE(ParseIp("[::1]"));
  EXPECT_FALSE(ParseIp("256.0.0.1"));
  EXPECT_FALSE(ParseIp(std::string(100, '1')));
}

TEST(ParseIp, AnIpv4AddressEqualsItsMappedIpv6Form) {
  EXPECT_EQ(ParseIp("10.1.2.3"), ParseIp("::ffff:10.1.2.3"));
}

TEST(CidrRange, MatchesAddressesInsideThePrefixOnly) {
  EXPECT_TRUE(InList("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(InList("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(InList("192.168.1.0/24", "192.168.1.200"));
  EXPECT_FALSE(InList("192.168.1.0/24", "192.168.2.1"));
  EXPECT_TRUE(InList("192.168.1.128/25", "192.168.1.129"));
  EXPECT_FALSE(InList("192.168.1.128/25", "192.168.1.127"));
  EXPECT_TRUE(InList("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(InList("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(InList("fd00::/8", "fd12::5"));
  EXPECT_FALSE(InList("fd00::/8", "fe80::1"));
  EXPECT_TRUE(InList("0.0.0.0/0", "203.0.113.9"));
  EXPECT_FALSE(InList("0.0.0.0/0", "2001:db8::1"));  // all of IPv4, not IPv6
  EXPECT_TRUE(InList(" 10.0.0.1 , ::1 ", "::1"));
}

TEST(ParseCidrList, RefusesBadEntriesNamingThem) {
  for (std::string_view bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host.example",
                               "10.0.0.0/8,nope", "10.0.0.0/-1"}) {
    auto r = ParseCidrList(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto named = ParseCidrList("10.0.0.0/8,nope");
  EXPECT_NE(named.status().message().find("nope"), std::string::npos);
  auto empty = ParseCidrList("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace vouch

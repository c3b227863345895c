#include "vouch/api/client_address.h"

#include <gtest/gtest.h>

namespace vouch::api {
namespace {

HttpRequest From(std::string peer, HeaderList headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.target = "/health";
  r.remote_address = std::move(peer);
  r.headers = std::move(headers);
  return r;
}

std::vector<CidrRange> Trust(std::string_view list) {
  auto r = ParseCidrList(list);
  EXPECT_TRUE(r.ok());
  return *r;
}

TEST(ClientAddress, WithoutTrustedProxiesThePeerIsTheClientWhateverTheHeadersSay) {
  auto r = From("198.51.100.7", {{"x-forwarded-for", "1.2.3.4"}, {"forwarded", "for=5.6.7.8"}});
  EXPECT_EQ(ClientAddress(r, {}), "198.51.100.7");
}

TEST(ClientAddress, AnUntrustedPeerCannotNameAnotherClient) {
  auto r = From("198.51.100.7", {{"x-forwarded-for", "1.2.3.4"}});
  EXPECT_EQ(ClientAddress(r, Trust("10.0.0.0/8")), "198.51.100.7");
}

TEST(ClientAddress, ATrustedPeerNamesTheClientInXForwardedFor) {
  auto r = From("10.0.0.5", {{"x-forwarded-for", "203.0.113.9"}});
  EXPECT_EQ(ClientAddress(r, Trust("10.0.0.0/8")), "203.0.113.9");
}

TEST(ClientAddress, TheRightmostUntrustedHopWinsSoAClientCannotSpoofItsAddress) {
  // The client sent "X-Forwarded-For: 6.6.6.6" itself; the trusted proxies appended the real one.
  auto r = From("10.0.0.5", {{"x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.9"}});
  EXPECT_EQ(ClientAddress(r, Trust("10.0.0.0/8")), "203.0.113.9");
}

TEST(ClientAddress, RepeatedHeadersAreOneList) {
  auto r = From("10.0.0.5", {{"x-forwarded-for", "203.0.113.9"}, {"x-forwarded-for", "10.0.0.7"}});
  EXPECT_EQ(ClientAddress(r, Trust("10.0.0.0/8")), "203.0.113.9");
}

TEST(ClientAddress, ForwardedIsPreferredAndItsQuotedIpv6AndPortsAreRead) {
  auto r = From("127.0.0.1", {{"forwarded",
                               "for=192.0.2.60;proto=http;by=203.0.113.43, "
                               "For=\"[2001:db8:cafe::17]:4711\""},
                              {"x-forwarded-for", "9.9.9.9"}});
  EXPECT_EQ(ClientAddress(r, Trust("127.0.0.1")), "2001:db8:cafe::17");
  auto v4port = From("127.0.0.1", {{"forwarded", "for=\"192.0.2.60:8080\""}});
  EXPECT_EQ(ClientAddress(v4port, Trust("127.0.0.1")), "192.0.2.60");
}

TEST(ClientAddress, AnUnknownHopEndsTheWalkAndIsRecordedAsItIs) {
  auto r = From("127.0.0.1", {{"forwarded", "for=unknown"}});
  EXPECT_EQ(ClientAddress(r, Trust("127.0.0.1")), "unknown");
  auto hostile = From("127.0.0.1", {{"x-forwarded-for", std::string(500, 'x') + "\xff"}});
  std::string got = ClientAddress(hostile, Trust("127.0.0.1"));
  EXPECT_LE(got.size(), 64u);
  EXPECT_EQ(got.find('\xff'), std::string::npos);
}

TEST(ClientAddress, WhenEveryHopIsTrustedTheFarthestIsTheClient) {
  auto r = From("10.0.0.5", {{"x-forwarded-for", "10.0.0.1, 10.0.0.2"}});
  EXPECT_EQ(ClientAddress(r, Trust("10.0.0.0/8")), "10.0.0.1");
  auto none = From("10.0.0.5");
  EXPECT_EQ(ClientAddress(none, Trust("10.0.0.0/8")), "10.0.0.5");
}

}  // namespace
}  // namespace vouch::api

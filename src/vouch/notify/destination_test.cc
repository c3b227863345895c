#include "vouch/notify/destination.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace vouch::notify {
namespace {

// The message of a refusal, asserting it is INVALID_ARGUMENT and names the field.
std::string Refusal(std::string_view url, bool allow_private) {
  Status s = CheckDestination(url, allow_private);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url << ": " << s.ToString();
  EXPECT_TRUE(s.message().starts_with("url: ")) << s.message();
  return std::string(s.message());
}

TEST(Destination, HttpsToAPublicNameOrAddressIsAccepted) {
  for (std::string_view url :
       {"https://hooks.example.com/in", "https://hooks.example.com:8443/a/b?c=d&e=%20",
        "HTTPS://Hooks.Example.COM", "https://8.8.8.8/x", "https://[2606:4700::1111]/x",
        "https://hooks.slack.com/services/T000/B000/XXXX", "https://a.b.example.com./"}) {
    EXPECT_TRUE(CheckDestination(url, false).ok())
        << url << ": " << CheckDestination(url, false).ToString();
    EXPECT_TRUE(CheckDestination(url, true).ok()) << url;
  }
}

TEST(Destination, PlainHttpIsAcceptedOnlyWhenPrivateReceiversAre) {
  EXPECT_NE(Refusal("http://hooks.example.com/in", false).find("must use https://"),
            std::string::npos);
  EXPECT_TRUE(CheckDestination("http://127.0.0.1:8080/in", true).ok());
  EXPECT_TRUE(CheckDestination("http://localhost:8080/in", true).ok());
  EXPECT_TRUE(CheckDestination("http://receiver.internal/in", true).ok())
      << "a name is judged when connecting";
  EXPECT_EQ(Refusal("http://8.8.8.8/in", true),
            "url: 8.8.8.8 is a public address, and a public receiver needs https://");
}

TEST(Destination, ALiteralPrivateAddressIsRefusedUnlessAllowed) {
  const std::pair<std::string_view, std::string_view> table[] = {
      {"https://127.0.0.1/", "127.0.0.1 is loopback (127.0.0.0/8)"},
      {"https://[::1]:9000/", "::1 is loopback (::1)"},
      {"https://10.0.0.5/", "10.0.0.5 is private (10.0.0.0/8)"},
      {"https://192.168.1.1/", "192.168.1.1 is private (192.168.0.0/16)"},
      {"https://169.254.169.254/latest/meta-data", "169.254.169.254 is link-local"},
      {"https://[fe80::1]/", "fe80::1 is link-local (fe80::/10)"},
      {"https://[fd00::1]/", "fd00::1 is unique local, private (fc00::/7)"},
      {"https://[::ffff:127.0.0.1]/", "127.0.0.1 is loopback (127.0.0.0/8)"},
      {"https://0.0.0.0/", "0.0.0.0 is unspecified"},
      {"https://100.64.1.1/", "100.64.1.1 is shared address space"},
      {"https://localhost/", "localhost is loopback"},
      {"https://LOCALHOST./", "localhost is loopback"},
      {"https://api.localhost/", "api.localhost is loopback"},
  };
  for (const auto& [url, says] : table) {
    const std::string message = Refusal(url, false);
    EXPECT_NE(message.find(says), std::string::npos) << url << ": " << message;
    EXPECT_TRUE(message.ends_with("allowed only with --webhook-allow-private")) << message;
    EXPECT_TRUE(CheckDestination(url, true).ok()) << url;
  }
}

TEST(Destination, AMalformedOrUnusableUrlIsRefusedSayingWhy) {
  const std::pair<std::string_view, std::string_view> table[] = {
      {"", "url: required"},
      {"hooks.example.com/in", "is not an absolute URL"},
      {"/relative", "is not an absolute URL"},
      {"https://exa mple.com/", "is not an absolute URL"},
      {"https://[::1/", "is not an absolute URL"},
      {"ftp://example.com/", "the scheme must be https, not ftp"},
      {"javascript:alert(1)", "the scheme must be https, not javascript"},
      {"https:///path", "has no host"},
      {"https:/path", "has no host"},
      {"https://user:pass@example.com/", "must not hold a user name or password"},
      {"https://user@example.com/", "must not hold a user name or password"},
      {"https://example.com/#frag", "must not hold a fragment"},
      {"https://example.com:0/", "the port must be 1-65535, not \"0\""},
      {"https://example.com:65536/", "the port must be 1-65535, not \"65536\""},
      {"https://example.com:99999999/", "the port must be 1-65535"},
      {"https://example.com:/", "the port must be 1-65535, not \"\""},
      {"https://[v1.x]/", "the host must be a name"},
      {"https://2130706433/", "looks like an address in an unusual form"},
      {"https://0x7f.0.0.1/", "looks like an address in an unusual form"},
      {"https://127.1/", "looks like an address in an unusual form"},
  };
  for (const auto& [url, says] : table) {
    for (bool allow_private : {false, true}) {
      const std::string message = Refusal(url, allow_private);
      EXPECT_NE(message.find(says), std::string::npos) << url << ": " << message;
    }
  }
  EXPECT_NE(Refusal(std::string("https://example.com/") + std::string(3000, 'a'), false)
                .find("longer than 2048 bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace vouch::notify

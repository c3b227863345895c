// The libcurl client against a one-shot HTTP server on a loopback socket (port 0), and its
// failures without one.
#include "vouch/net/http_client.h"

#include "vouch/net/loopback_server_test.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include <string>
#include <vector>

namespace vouch::net {
namespace {

using testing::LoopbackServer;

// One connection, answered with `answer`.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer) : server_({std::move(answer)}) {}
  std::string Url(std::string_view target) const { return server_.Url(target); }
  // What the client sent; read after the request returned.
  std::string received() const {
    std::vector<std::string> all = server_.received();
    return all.empty() ? std::string() : all.front();
  }

 private:
  LoopbackServer server_;
};

TEST(CurlClient, SendsTheMethodTargetHeadersAndBodyAndReturnsTheAnswer) {
  OneShotServer server(
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
      "Connection: close\r\n\r\n{\"ok\":true}");
  CurlClient client({});
  Result<HttpResponse> answer = client.Send({.method = "POST",
                                             .url = server.Url("/api/v1/models/a%2Fb?x=1"),
                                             .headers = {{"X-Test", "yes"}},
                                             .body = std::string("{\"name\":\"m\"}")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->body, "{\"ok\":true}");
  const std::string sent = server.received();
  EXPECT_TRUE(sent.starts_with("POST /api/v1/models/a%2Fb?x=1 HTTP/1.1\r\n")) << sent;
  EXPECT_NE(sent.find("\r\nX-Test: yes\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("\r\nContent-Length: 12\r\n"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("Expect:"), std::string::npos) << "no 100-continue round trip: " << sent;
  EXPECT_TRUE(sent.ends_with("\r\n\r\n{\"name\":\"m\"}")) << sent;
}

TEST(CurlClient, AnErrorStatusIsAnAnswerNotAFailure) {
  OneShotServer server(
      "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
  CurlClient client({});
  Result<HttpResponse> answer = client.Send({.method = "GET", .url = server.Url("/x")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(answer->body, "nope");
  EXPECT_TRUE(server.received().starts_with("GET /x HTTP/1.1\r\n")) << server.received();
}

// A port that was just free: nothing listens there.
uint16_t ClosedPort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);
  return ntohs(addr.sin_port);
}

TEST(CurlClient, NoServerIsUnavailableAndAMalformedUrlIsInvalid) {
  CurlClient client({});
  Result<HttpResponse> refused = client.Send(
      {.method = "GET", .url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/"});
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client.Send({.method = "GET", .url = "ftp://127.0.0.1/"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Send({.method = "GET", .url = "http://[::1/"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CurlClient, TheCallersFailureMapperWordsFailures) {
  int seen = -1;
  CurlClient client({}, [&](int curl_code, std::string_view detail) {
    seen = curl_code;
    return Unavailable(std::string("mapped: ") + std::string(detail));
  });
  Result<HttpResponse> refused = client.Send(
      {.method = "GET", .url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/"});
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(refused.status().message().starts_with("mapped: ")) << refused.status().message();
  EXPECT_EQ(seen, CURLE_COULDNT_CONNECT);
}

constexpr std::string_view kOk =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

TEST(CurlClient, ReturnsTheFinalResponsesHeaderFieldsFoundWhateverTheirCase) {
  OneShotServer server(
      "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  120 \r\nX-Thing: a: b\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n");
  CurlClient client({});
  Result<HttpResponse> answer = client.Send({.method = "GET", .url = server.Url("/")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 429);
  EXPECT_EQ(answer->Header("retry-after"), "120");
  EXPECT_EQ(answer->Header("RETRY-AFTER"), "120");
  EXPECT_EQ(answer->Header("x-thing"), "a: b");
  EXPECT_EQ(answer->Header("Location"), std::nullopt);
  EXPECT_FALSE(answer->headers.empty());
}

TEST(CurlClient, KeepsOnlyTheFirstBytesOfALargeBodyWhenCapped) {
  const std::string big(1 << 20, 'x');
  OneShotServer server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: " +
                       std::to_string(big.size()) + "\r\nConnection: close\r\n\r\n" + big);
  CurlClient client({.max_body_bytes = 1024});
  Result<HttpResponse> answer = client.Send({.method = "GET", .url = server.Url("/")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(answer->body, std::string(1024, 'x'));
  EXPECT_TRUE(answer->body_truncated);
}

TEST(CurlClient, ABodyWithinTheCapIsWhole) {
  OneShotServer server{std::string(kOk)};
  CurlClient client({.max_body_bytes = 2});
  Result<HttpResponse> answer = client.Send({.method = "GET", .url = server.Url("/")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->body, "ok");
  EXPECT_FALSE(answer->body_truncated);
}

TEST(CurlClient, DoesNotFollowRedirects) {
  OneShotServer server(
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n");
  CurlClient client({});
  Result<HttpResponse> answer = client.Send({.method = "POST", .url = server.Url("/"), .body = ""});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 302);
  EXPECT_EQ(answer->Header("location"), "http://127.0.0.1:1/elsewhere");
}

// The guard, on each loopback form: a literal IPv4 address, a literal IPv6 one, and a NAME that
// resolves to loopback (the guard sees the resolved address, not the name).
struct GuardCase {
  std::string_view label;
  LoopbackServer::Family family;
  std::string_view host;
  std::string_view refused_address;
};

class CurlClientGuard : public ::testing::TestWithParam<GuardCase> {};

TEST_P(CurlClientGuard, RefusesALoopbackReceiverWhenPrivateAddressesAreNotAllowed) {
  const GuardCase& c = GetParam();
  LoopbackServer server({std::string(kOk)}, c.family);
  CurlClient client({.allow_private_addresses = false});
  const std::string url = fmt::format("http://{}:{}/hook", c.host, server.port());
  Result<HttpResponse> answer = client.Send({.method = "POST", .url = url, .body = "{}"});
  ASSERT_EQ(answer.status().code(), StatusCode::kPermissionDenied) << answer.status().ToString();
  EXPECT_NE(answer.status().message().find(fmt::format("{} is loopback", c.refused_address)),
            std::string::npos)
      << answer.status().message();
  EXPECT_EQ(server.connections(), 0u) << "nothing reached the receiver";
}

TEST_P(CurlClientGuard, ReachesALoopbackReceiverWhenPrivateAddressesAreAllowed) {
  const GuardCase& c = GetParam();
  LoopbackServer server({std::string(kOk)}, c.family);
  CurlClient client({.allow_private_addresses = true});
  const std::string url = fmt::format("http://{}:{}/hook", c.host, server.port());
  Result<HttpResponse> answer = client.Send({.method = "POST", .url = url, .body = "{}"});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(server.connections(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Loopback, CurlClientGuard,
    ::testing::Values(GuardCase{"ipv4", LoopbackServer::Family::kV4, "127.0.0.1", "127.0.0.1"},
                      GuardCase{"ipv6", LoopbackServer::Family::kV6, "[::1]", "::1"},
                      GuardCase{"name", LoopbackServer::Family::kV4, "localhost", "127.0.0.1"}),
    [](const ::testing::TestParamInfo<GuardCase>& info) { return std::string(info.param.label); });

TEST(CurlClient, TheGuardRefusesPrivateAddressesBeforeAnyConnectionIsTried) {
  // Nothing listens at these; the refusal comes first, so the answer is PERMISSION_DENIED, not
  // UNAVAILABLE (and no packet leaves).
  CurlClient client(
      {.connect_timeout = std::chrono::milliseconds(2000), .allow_private_addresses = false});
  for (std::string_view url :
       {"https://10.1.2.3/", "https://169.254.169.254/latest/meta-data", "https://[fd00::1]/",
        "https://[::ffff:192.168.0.1]/", "https://0.0.0.0/", "https://100.64.0.1/"}) {
    Result<HttpResponse> answer = client.Send({.method = "GET", .url = std::string(url)});
    EXPECT_EQ(answer.status().code(), StatusCode::kPermissionDenied)
        << url << ": " << answer.status().ToString();
  }
}

TEST(CurlClient, HttpsForPublicAddressesRefusesPlainHttpToOneButNotToAPrivateOne) {
  // Refused when the socket would be opened, so nothing is sent anywhere.
  for (bool allow_private : {false, true}) {
    CurlClient client(
        {.allow_private_addresses = allow_private, .https_for_public_addresses = true});
    Result<HttpResponse> answer = client.Send({.method = "GET", .url = "http://8.8.8.8/"});
    ASSERT_EQ(answer.status().code(), StatusCode::kPermissionDenied) << answer.status().ToString();
    EXPECT_EQ(answer.status().message(),
              "the receiver's address 8.8.8.8 is public, and a public receiver needs https://");
  }
  LoopbackServer server({std::string(kOk)});
  CurlClient client({.allow_private_addresses = true, .https_for_public_addresses = true});
  Result<HttpResponse> answer = client.Send({.method = "GET", .url = server.Url("/")});
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 200);
}

}  // namespace
}  // namespace vouch::net

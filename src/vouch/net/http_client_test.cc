// The libcurl client against a one-shot HTTP server on a loopback socket (port 0), and its
// failures without one.
#include "vouch/net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include <string>
#include <thread>

namespace vouch::net {
namespace {

// Listens on 127.0.0.1 at a free port, accepts one connection, reads one request (its header
// section and a Content-Length body) and answers with `answer`, then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(listener_);
  }

  std::string Url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }
  // What the client sent; read after the request returned.
  const std::string& received() const { return received_; }

 private:
  void Serve() {
    int conn = ::accept(listener_, nullptr, nullptr);
    if (conn < 0) return;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || received_.size() < want) {
      ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.append(buf, static_cast<size_t>(n));
      const size_t end = received_.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        const size_t at = received_.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(received_.substr(at + 16));
        want = end + 4 + length;
      }
    }
    ::send(conn, answer_.data(), answer_.size(), MSG_NOSIGNAL);
    ::close(conn);
  }

  std::string answer_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::string received_;
  std::thread thread_;
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
  const std::string& sent = server.received();
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

}  // namespace
}  // namespace vouch::net

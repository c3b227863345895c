// For tests: an HTTP server on a loopback socket (127.0.0.1 or ::1, port 0) that answers each
// connection it accepts with the next scripted answer, one request per connection. Shared by the
// net and notify tests; not part of any library.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vouch::net::testing {

class LoopbackServer {
 public:
  enum class Family { kV4, kV6 };
  // The answer that holds the connection without answering until the client gives up.
  static constexpr std::string_view kNoAnswer = "";

  // Connection i is answered with answers[i] (then closed); connections past the script are not
  // accepted. kNoAnswer reads the request and waits for the client to close.
  explicit LoopbackServer(std::vector<std::string> answers, Family family = Family::kV4)
      : answers_(std::move(answers)), family_(family) {
    listener_ = ::socket(family == Family::kV4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (family == Family::kV4) {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      socklen_t len = sizeof addr;
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    } else {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_addr = in6addr_loopback;
      EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      socklen_t len = sizeof addr;
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin6_port);
    }
    EXPECT_EQ(::listen(listener_, 8), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  // Wakes a pending accept (shutdown makes it fail) and waits for the serving thread.
  ~LoopbackServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url(std::string_view target) const {
    return (family_ == Family::kV4 ? "http://127.0.0.1:" : "http://[::1]:") +
           std::to_string(port_) + std::string(target);
  }
  // The requests received so far, in order.
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t connections() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  void Serve() {
    for (const std::string& answer : answers_) {
      const int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      std::string request = ReadRequest(conn);
      {
        std::lock_guard lock(mu_);
        received_.push_back(std::move(request));
      }
      if (answer.empty()) {
        char buf[256];
        while (::recv(conn, buf, sizeof buf, 0) > 0) {
        }
      } else {
        ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
      ::close(conn);
    }
  }

  // The header section and a Content-Length body.
  static std::string ReadRequest(int conn) {
    std::string got;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || got.size() < want) {
      const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      const size_t end = got.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        const size_t at = got.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16));
        want = end + 4 + length;
      }
    }
    return got;
  }

  std::vector<std::string> answers_;
  Family family_;
  int listener_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> received_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace vouch::net::testing

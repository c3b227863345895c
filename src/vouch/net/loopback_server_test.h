// For tests: an HTTP server on a loopback socket (127.0.0.1 or ::1, port 0) that answers each
// connection it accepts with the next scripted answer, one request per connection, over plain TCP
// or TLS. Shared by the net and notify tests; not part of any library.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
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
  // The answer that closes the connection at once (after the TLS handshake), reading nothing.
  static constexpr std::string_view kHangUp = "(hang up)";

  // Connection i is answered with answers[i] (then closed); connections past the script are not
  // accepted. kNoAnswer reads the request and waits for the client to close.
  // With `tls` (a server context with its certificate and key; borrowed, outliving the server),
  // each connection is TLS: a handshake the client gives up is recorded as an empty request.
  explicit LoopbackServer(std::vector<std::string> answers, Family family = Family::kV4,
                          SSL_CTX* tls = nullptr)
      : answers_(std::move(answers)), family_(family), tls_(tls) {
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
    return std::string(tls_ != nullptr ? "https" : "http") +
           (family_ == Family::kV4 ? "://127.0.0.1:" : "://[::1]:") + std::to_string(port_) +
           std::string(target);
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
  // Waits until `n` connections were served (a refused TLS handshake ends on the server's side
  // after the client has given up), then returns the requests.
  std::vector<std::string> AwaitReceived(size_t n) const {
    std::unique_lock lock(mu_);
    served_.wait(lock, [&] { return received_.size() >= n; });
    return received_;
  }

 private:
  void Serve() {
    // A TLS alert written to a connection the client has closed would raise SIGPIPE and end the
    // test binary: blocked on this thread, the write fails with EPIPE instead.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (const std::string& answer : answers_) {
      const int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      SSL* ssl = nullptr;
      if (tls_ != nullptr) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, conn);
        if (SSL_accept(ssl) <= 0) {
          SSL_free(ssl);
          ::close(conn);
          std::lock_guard lock(mu_);
          received_.emplace_back();
          served_.notify_all();
          continue;
        }
      }
      if (answer == kHangUp) {
        if (ssl != nullptr) SSL_free(ssl);
        ::close(conn);
        std::lock_guard lock(mu_);
        received_.emplace_back();
        served_.notify_all();
        continue;
      }
      auto read = [&](char* buf, size_t size) -> ssize_t {
        if (ssl != nullptr) return SSL_read(ssl, buf, static_cast<int>(size));
        return ::recv(conn, buf, size, 0);
      };
      std::string request = ReadRequest(read);
      {
        std::lock_guard lock(mu_);
        received_.push_back(std::move(request));
        served_.notify_all();
      }
      if (answer.empty()) {
        char buf[256];
        while (read(buf, sizeof buf) > 0) {
        }
      } else if (ssl != nullptr) {
        SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
        SSL_shutdown(ssl);
      } else {
        ::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
      if (ssl != nullptr) SSL_free(ssl);
      ::close(conn);
    }
  }

  // The header section and a Content-Length body.
  template <typename Read>
  static std::string ReadRequest(Read& read) {
    std::string got;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || got.size() < want) {
      const ssize_t n = read(buf, sizeof buf);
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
  SSL_CTX* tls_;
  int listener_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable served_;  // signalled when received_ grows
  std::vector<std::string> received_;       // guarded by mu_
  std::thread thread_;
};

}  // namespace vouch::net::testing

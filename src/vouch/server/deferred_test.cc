// Deferred responses on the real listener over loopback sockets (port 0): a thousand parked
// requests on two workers, a client that leaves, a drain, a deadline; and what a drain owes the
// requests still arriving when it begins.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vouch/api/deferred.h"
#include "vouch/server/http_server.h"

namespace vouch::server {
namespace {

// Hang guard for the blocking client sockets and the waits below; no assertion depends on it.
constexpr int kGuardSeconds = 120;

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// A blocking HTTP/1.1 client on one connection.
class Client {
 public:
  // `tls`: a client context; the connection then speaks TLS (the server's certificate unchecked).
  explicit Client(uint16_t port, SSL_CTX* tls = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval guard{.tv_sec = kGuardSeconds, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (connected_ && tls != nullptr) {
      ssl_ = SSL_new(tls);
      SSL_set_fd(ssl_, fd_);
      connected_ = SSL_connect(ssl_) == 1;
    }
  }
  ~Client() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    Close();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Get(std::string_view target, std::string_view extra_headers = "") {
    return Send("GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" +
                std::string(extra_headers) + "\r\n");
  }
  bool Send(const std::string& bytes) {
    if (ssl_ != nullptr) {
      return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
             static_cast<int>(bytes.size());
    }
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // The next response (Content-Length framed); status 0 when the connection ended first.
  Reply Read() {
    Reply reply;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return reply;
    }
    reply.head = buffer_.substr(0, end + 2);
    size_t length = 0;
    const size_t at = reply.head.find("Content-Length: ");
    if (at != std::string::npos) length = std::stoul(reply.head.substr(at + 16));
    while (buffer_.size() < end + 4 + length) {
      if (!Fill()) return reply;
    }
    reply.status = std::stoi(reply.head.substr(9, 3));
    reply.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return reply;
  }

  // Whether the server closed the connection (rather than sending more); over TLS, with
  // close_notify.
  bool ReadsEnd() {
    char c;
    if (ssl_ != nullptr) {
      return SSL_read(ssl_, &c, 1) <= 0 && SSL_get_error(ssl_, 0) == SSL_ERROR_ZERO_RETURN;
    }
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool Fill() {
    char buf[4096];
    const ssize_t n =
        ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string buffer_;
};

// The handler's side: "/park/<id>" parks (with "?deadline=<ms>", for that long); "/echo" answers
// 200 with the request's body; anything else is answered at once with 200 "now".
class Parking {
 public:
  api::HttpResponse Handle(const api::HttpRequest& request) {
    if (request.target == "/echo") return api::HttpResponse::Json(200, request.body);
    if (request.target == "/thread") {
      return api::HttpResponse::Json(
          200, std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    }
    if (request.target == "/hold") {  // blocks its worker until Release()
      std::unique_lock lock(mu_);
      ++holding_;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(kGuardSeconds), [&] { return released_; });
      return api::HttpResponse::Json(200, "held");
    }
    if (!request.target.starts_with("/park/")) return api::HttpResponse::Json(200, "now");
    std::string id = request.target.substr(6);
    std::optional<std::chrono::milliseconds> deadline;
    if (size_t q = id.find("?deadline="); q != std::string::npos) {
      deadline = std::chrono::milliseconds(std::stoi(id.substr(q + 10)));
      id.resize(q);
    }
    auto [parked, responder] = api::Defer(deadline);
    {
      std::lock_guard lock(mu_);
      waiting_[id] = responder;
    }
    cv_.notify_all();
    return parked;
  }

  // Waits until `n` requests have been parked by the handler, and returns their responders.
  std::map<std::string, api::Responder> AwaitParked(size_t n) {
    std::unique_lock lock(mu_);
    const bool all = cv_.wait_for(lock, std::chrono::seconds(kGuardSeconds),
                                  [&] { return waiting_.size() >= n; });
    EXPECT_TRUE(all) << waiting_.size() << " of " << n << " parked";
    return waiting_;
  }
  void AwaitHolding(int n) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(
        cv_.wait_for(lock, std::chrono::seconds(kGuardSeconds), [&] { return holding_ >= n; }));
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, api::Responder> waiting_;  // guarded by mu_
  int holding_ = 0;                                // guarded by mu_
  bool released_ = false;                          // guarded by mu_
};

class DeferredResponseTest : public ::testing::Test {
 protected:
  // A thousand access-log lines say nothing here.
  DeferredResponseTest() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::warn); }
  ~DeferredResponseTest() override {
    server_.reset();
    spdlog::set_level(level_);
  }

  void StartServer(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options,
        HttpHandlers{
            .handle = [this](const api::HttpRequest& r) { return parking_.Handle(r); },
            .reject = [](const api::HttpRequest&,
                         const Status& s) { return api::HttpResponse::Json(400, s.message()); },
            .draining = [this] { draining_.set_value(); },
        });
    ASSERT_TRUE(server_->Start().ok());
  }

  // Stops the server on another thread and returns once the drain has begun: no connection is
  // accepted any more and the server waits for the requests in flight.
  std::thread StopAndAwaitTheDrain() {
    std::thread stopping([this] { server_->Stop(); });
    EXPECT_EQ(draining_.get_future().wait_for(std::chrono::seconds(kGuardSeconds)),
              std::future_status::ready);
    return stopping;
  }

  // Waits until the server counts `n` requests in flight (it cannot say so otherwise).
  void AwaitInFlight(int64_t n) {
    const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(kGuardSeconds);
    while (server_->in_flight_requests() != n && std::chrono::steady_clock::now() < guard) {
      std::this_thread::yield();
    }
    ASSERT_EQ(server_->in_flight_requests(), n);
  }

  spdlog::level::level_enum level_;
  std::promise<void> draining_;
  Parking parking_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(DeferredResponseTest, AThousandParkedRequestsHoldNoWorkerAndEachClientGetsItsOwnAnswer) {
  constexpr int kParked = 1000;
  StartServer(
      {.io_threads = 2, .workers = 2, .drain_timeout = std::chrono::seconds(kGuardSeconds)});
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kParked; ++i) {
    clients.push_back(std::make_unique<Client>(server_->port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
    ASSERT_TRUE(clients.back()->Get("/park/" + std::to_string(i)));
  }
  std::map<std::string, api::Responder> parked = parking_.AwaitParked(kParked);
  ASSERT_EQ(parked.size(), static_cast<size_t>(kParked));

  // Both workers are free: a request that is answered at once is.
  Client normal(server_->port());
  ASSERT_TRUE(normal.Get("/now"));
  Reply now = normal.Read();
  EXPECT_EQ(now.status, 200);
  EXPECT_EQ(now.body, "now");

  // Answered from another thread, in an order unlike the requests'.
  std::thread answering([&] {
    for (auto& [id, responder] : parked) {
      EXPECT_TRUE(responder.Respond(api::HttpResponse::Json(200, "answer " + id))) << id;
    }
  });
  answering.join();
  for (int i = 0; i < kParked; ++i) {
    Reply reply = clients[static_cast<size_t>(i)]->Read();
    ASSERT_EQ(reply.status, 200) << i;
    ASSERT_EQ(reply.body, "answer " + std::to_string(i));
  }
  EXPECT_EQ(server_->parked_requests(), 0u);
  // The connections stay open for their next requests.
  for (int i : {0, kParked / 2, kParked - 1}) {
    ASSERT_TRUE(clients[static_cast<size_t>(i)]->Get("/now"));
    EXPECT_EQ(clients[static_cast<size_t>(i)]->Read().body, "now") << i;
  }
}

// GET and HEAD run on the read pool, every other method on the workers: each pool here has one
// thread, so the two methods' handlers run on two threads, and a GET that holds the read pool's
// thread does not keep a POST waiting.
TEST_F(DeferredResponseTest, ReadsRunOnTheirOwnPoolAndAHeldReadDoesNotHoldAWrite) {
  StartServer({.io_threads = 2,
               .workers = 1,
               .read_workers = 1,
               .drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client client(server_->port());
  ASSERT_TRUE(client.connected());
  auto post = [&](Client& c, std::string_view target) {
    return c.Send("POST " + std::string(target) +
                  " HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\n{}");
  };
  std::set<std::string> read_threads, write_threads;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Get("/thread"));
    read_threads.insert(client.Read().body);
    ASSERT_TRUE(post(client, "/thread"));
    write_threads.insert(client.Read().body);
  }
  ASSERT_EQ(read_threads.size(), 1u);
  ASSERT_EQ(write_threads.size(), 1u);
  EXPECT_NE(*read_threads.begin(), *write_threads.begin());

  Client holding(server_->port());
  ASSERT_TRUE(holding.Get("/hold"));
  parking_.AwaitHolding(1);
  ASSERT_TRUE(post(client, "/echo"));
  Reply echoed = client.Read();
  EXPECT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.body, "{}");
  parking_.Release();
  EXPECT_EQ(holding.Read().body, "held");
}

TEST_F(DeferredResponseTest, AClientThatDisconnectsReleasesTheSlotAndCancelsTheResponder) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client leaving(server_->port());
  ASSERT_TRUE(leaving.Get("/park/leaving"));
  api::Responder responder = parking_.AwaitParked(1).at("leaving");
  std::promise<void> cancelled;
  responder.OnCancel([&] { cancelled.set_value(); });
  leaving.Close();
  ASSERT_EQ(cancelled.get_future().wait_for(std::chrono::seconds(kGuardSeconds)),
            std::future_status::ready);
  EXPECT_TRUE(responder.cancelled());
  EXPECT_FALSE(responder.Respond(api::HttpResponse::Json(200, "too late")));
  EXPECT_EQ(server_->parked_requests(), 0u);

  // The server goes on serving.
  Client next(server_->port());
  ASSERT_TRUE(next.Get("/now"));
  EXPECT_EQ(next.Read().status, 200);
}

TEST_F(DeferredResponseTest, ADrainAnswersEveryParkedRequestWith503AndCancelsTheResponders) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(server_->port()));
    ASSERT_TRUE(clients.back()->Get("/park/" + std::to_string(i)));
  }
  std::map<std::string, api::Responder> parked = parking_.AwaitParked(3);
  std::thread stopping([&] { server_->Stop(); });
  for (auto& client : clients) {
    Reply reply = client->Read();
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(reply.body, "the server is shutting down; retry the request");
    EXPECT_NE(reply.head.find("Connection: close"), std::string::npos) << reply.head;
    EXPECT_TRUE(client->ReadsEnd());
  }
  stopping.join();
  for (auto& [id, responder] : parked) {
    EXPECT_TRUE(responder.cancelled()) << id;
    EXPECT_FALSE(responder.Respond(api::HttpResponse::Json(200, "too late"))) << id;
  }
  EXPECT_EQ(server_->parked_requests(), 0u);
}

TEST_F(DeferredResponseTest, ADeadlineAnswers504AndTheRequestTimeoutDoesNotCutAParkedRequest) {
  StartServer({.request_timeout = std::chrono::milliseconds(50),
               .drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client held(server_->port());
  ASSERT_TRUE(held.Get("/park/held"));
  api::Responder held_responder = parking_.AwaitParked(1).at("held");

  // Parked after `held`, with a deadline six request timeouts long: when it answers 504, `held`
  // has been parked for longer than that.
  Client timed(server_->port());
  ASSERT_TRUE(timed.Get("/park/timed?deadline=300"));
  api::Responder timed_responder = parking_.AwaitParked(2).at("timed");
  Reply expired = timed.Read();
  EXPECT_EQ(expired.status, 504);
  EXPECT_TRUE(timed_responder.cancelled());
  EXPECT_FALSE(timed_responder.Respond(api::HttpResponse::Json(200, "too late")));

  EXPECT_FALSE(held_responder.cancelled());
  EXPECT_TRUE(held_responder.Respond(api::HttpResponse::Json(200, "held on")));
  Reply answered = held.Read();
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.body, "held on");
}

TEST_F(DeferredResponseTest, ARequestPipelinedBehindAParkedOneIsAnsweredAfterIt) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client client(server_->port());
  ASSERT_TRUE(client.Send(
      "GET /park/first HTTP/1.1\r\nHost: test\r\n\r\nGET /now HTTP/1.1\r\nHost: test\r\n\r\n"));
  api::Responder first = parking_.AwaitParked(1).at("first");
  ASSERT_TRUE(first.Respond(api::HttpResponse::Json(200, "first")));
  EXPECT_EQ(client.Read().body, "first");
  EXPECT_EQ(client.Read().body, "now");
  ASSERT_TRUE(client.Get("/now"));
  EXPECT_EQ(client.Read().body, "now");
}

TEST_F(DeferredResponseTest, AParkedRequestThatAsksToCloseIsAnsweredAndClosed) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client client(server_->port());
  ASSERT_TRUE(client.Get("/park/closing", "Connection: close\r\n"));
  api::Responder closing = parking_.AwaitParked(1).at("closing");
  ASSERT_TRUE(closing.Respond(api::HttpResponse::Json(200, "bye")));
  Reply reply = client.Read();
  EXPECT_EQ(reply.body, "bye");
  EXPECT_NE(reply.head.find("Connection: close"), std::string::npos) << reply.head;
  EXPECT_TRUE(client.ReadsEnd());
}

// The flake this caught: a request whose body is still arriving after "100 Continue" must be read
// whole and answered by a drain that begins meanwhile, and the connection then closed.
TEST_F(DeferredResponseTest, ADrainAnswersARequestWhoseBodyIsStillArrivingAfter100Continue) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client client(server_->port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(client.Read().status, 100);
  ASSERT_TRUE(client.Send("01234"));
  std::thread stopping = StopAndAwaitTheDrain();
  EXPECT_EQ(server_->in_flight_requests(), 1);
  ASSERT_TRUE(client.Send("56789"));
  Reply reply = client.Read();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "0123456789");
  EXPECT_NE(reply.head.find("Connection: close"), std::string::npos) << reply.head;
  EXPECT_TRUE(client.ReadsEnd());
  stopping.join();
  EXPECT_EQ(server_->in_flight_requests(), 0);
}

// A request is in flight from the first byte of its header that the server has read: a drain
// that begins while the rest of the header is on its way waits for it and answers.
TEST_F(DeferredResponseTest, ADrainAnswersARequestWhoseHeaderIsStillArriving) {
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds)});
  Client idle(server_->port());  // connected, nothing sent: not in flight, not waited for
  ASSERT_TRUE(idle.connected());
  Client client(server_->port());
  ASSERT_TRUE(client.Send("POST /echo HTTP/1.1\r\nHost: test\r\n"));
  AwaitInFlight(1);
  std::thread stopping = StopAndAwaitTheDrain();
  ASSERT_TRUE(client.Send("Content-Length: 2\r\n\r\nhi"));
  Reply reply = client.Read();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "hi");
  EXPECT_TRUE(client.ReadsEnd());
  stopping.join();
  EXPECT_EQ(server_->in_flight_requests(), 0);
}

// A self-signed certificate for "localhost" and its key, written as PEM files in a temporary
// directory.
class SelfSigned {
 public:
  SelfSigned() {
    dir_ = std::filesystem::temp_directory_path() /
           ("vouch-deferred-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    std::FILE* f = std::fopen(cert_file().c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(key_file().c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~SelfSigned() { std::filesystem::remove_all(dir_); }
  std::string cert_file() const { return (dir_ / "cert.pem").string(); }
  std::string key_file() const { return (dir_ / "key.pem").string(); }

 private:
  std::filesystem::path dir_;
};

TEST_F(DeferredResponseTest, OverTlsAParkedRequestIsAnsweredKeptAliveClosedAndDrained) {
  SelfSigned pem;
  auto tls = LoadTlsContext(pem.cert_file(), pem.key_file());
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  StartServer({.drain_timeout = std::chrono::seconds(kGuardSeconds), .tls = *tls});
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_tls(SSL_CTX_new(TLS_client_method()),
                                                               &SSL_CTX_free);

  Client kept(server_->port(), client_tls.get());
  ASSERT_TRUE(kept.connected());
  ASSERT_TRUE(kept.Get("/park/kept"));
  ASSERT_TRUE(parking_.AwaitParked(1).at("kept").Respond(api::HttpResponse::Json(200, "kept")));
  EXPECT_EQ(kept.Read().body, "kept");
  ASSERT_TRUE(kept.Get("/now"));
  EXPECT_EQ(kept.Read().body, "now");

  Client closing(server_->port(), client_tls.get());
  ASSERT_TRUE(closing.connected());
  ASSERT_TRUE(closing.Get("/park/closing", "Connection: close\r\n"));
  ASSERT_TRUE(
      parking_.AwaitParked(2).at("closing").Respond(api::HttpResponse::Json(200, "closing")));
  EXPECT_EQ(closing.Read().body, "closing");
  EXPECT_TRUE(closing.ReadsEnd()) << "close_notify after the answer";

  ASSERT_TRUE(kept.Get("/park/drained"));
  api::Responder drained = parking_.AwaitParked(3).at("drained");
  std::thread stopping([&] { server_->Stop(); });
  Reply reply = kept.Read();
  EXPECT_EQ(reply.status, 503);
  stopping.join();
  EXPECT_TRUE(drained.cancelled());
}

}  // namespace
}  // namespace vouch::server

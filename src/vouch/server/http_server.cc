#include "vouch/server/http_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "vouch/server/logging.h"

namespace vouch::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string LowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandlers handlers;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::thread_pool workers;
  std::vector<std::thread> io_threads;
  net::steady_timer tick_timer{ioc};
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::mutex drained_mu;
  std::condition_variable drained_cv;
  bool stopped = false;  // guarded by drained_mu

  Impl(HttpServerOptions o, HttpHandlers h)
      : options(std::move(o)), handlers(std::move(h)), workers(std::max(1, options.workers)) {}

  void Accept();
  void ScheduleTick();
  void Finished() {
    if (--in_flight == 0 && stopping) {
      std::lock_guard lock(drained_mu);
      drained_cv.notify_all();
    }
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    address_ = ec ? "" : ep.address().to_string();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    stream_.expires_after(server_.options.request_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // A request is in flight from its header on: a drain waits for its body, its handler and its
  // response. Idle keep-alive connections are not.
  void Begin() {
    if (!counted_) {
      counted_ = true;
      ++server_.in_flight;
    }
  }
  void End() {
    if (counted_) {
      counted_ = false;
      server_.Finished();
    }
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    Begin();
    started_ = std::chrono::steady_clock::now();
    if (parser_->is_done()) return OnRead(ec);
    auto read_body = [self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
    };
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont, read_body](beast::error_code ec, size_t) {
                          if (ec) return self->OnRead(ec);
                          read_body();
                        });
      return;
    }
    read_body();
  }

  api::HttpRequest Translate(const http::request<http::string_body>& req) {
    api::HttpRequest out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    out.remote_address = address_;
    for (const auto& field : req) {
      out.headers.emplace_back(LowerCase(field.name_string()), std::string(field.value()));
    }
    out.body = req.body();
    return out;
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      End();
      return Close();
    }
    if (!counted_) started_ = std::chrono::steady_clock::now();
    if (ec) {
      // The request could not be read whole: answer once, then close the connection.
      api::HttpRequest partial;
      partial.remote_address = address_;
      if (parser_->is_header_done()) partial = Translate(parser_->get());
      partial.body.clear();
      Status why =
          ec == http::error::body_limit
              ? Status(StatusCode::kPayloadTooLarge,
                       fmt::format("request body exceeds {} bytes", server_.options.max_body_bytes))
          : ec == http::error::header_limit
              ? Status(StatusCode::kPayloadTooLarge, "request headers are too large")
              : InvalidArgument(fmt::format("malformed HTTP request: {}", ec.message()));
      Begin();
      Respond(partial, server_.handlers.reject(partial, why), false);
      return;
    }
    auto request = std::make_shared<api::HttpRequest>(Translate(parser_->get()));
    bool keep_alive = parser_->get().keep_alive();
    Begin();
    net::post(server_.workers, [self = shared_from_this(), request, keep_alive] {
      api::HttpResponse response = self->server_.handlers.handle(*request);
      net::post(self->stream_.get_executor(),
                [self, request, keep_alive, response = std::move(response)]() mutable {
                  self->Respond(*request, std::move(response), keep_alive);
                });
    });
  }

  void Respond(const api::HttpRequest& request, api::HttpResponse response, bool keep_alive) {
    keep_alive = keep_alive && !server_.stopping;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "vouch");
    if (!response.content_type.empty()) res->set(http::field::content_type, response.content_type);
    std::string request_id;
    for (auto& [k, v] : response.headers) {
      if (k == "X-Request-Id") request_id = v;
      res->set(k, v);
    }
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
    std::string_view path = request.target;
    path = path.substr(0, std::min(path.find('?'), path.size()));
    LogRequest({.method = request.method,
                .path = path,
                .status = response.status,
                .latency_ms = static_cast<double>(micros) / 1000.0,
                .request_id = request_id,
                .peer = address_});
    stream_.expires_after(server_.options.request_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        self->End();
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl& server_;
  std::string address_;
  std::chrono::steady_clock::time_point started_;
  bool counted_ = false;  // this connection's current request is counted in in_flight
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    Accept();
  });
}

void HttpServer::Impl::ScheduleTick() {
  tick_timer.expires_after(std::chrono::seconds(1));
  tick_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    if (handlers.tick) net::post(workers, handlers.tick);
    ScheduleTick();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) return InvalidArgument(fmt::format("'{}' is not an IP address", impl_->options.host));
  tcp::endpoint endpoint(address, impl_->options.port);
  auto fail = [&](std::string_view what) {
    return Unavailable(fmt::format("cannot {} {}:{}: {}", what, impl_->options.host,
                                   impl_->options.port, ec.message()));
  };
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  impl_->acceptor.bind(endpoint, ec);
  if (ec) return fail("listen on");
  impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  impl_->Accept();
  impl_->ScheduleTick();
  for (int i = 0; i < std::max(1, impl_->options.io_threads); ++i) {
    impl_->io_threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return OkStatus();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.port : ep.port();
}

void HttpServer::WaitForSignal() {
  net::signal_set signals(impl_->ioc, SIGINT, SIGTERM);
  std::mutex mu;
  std::condition_variable cv;
  bool signalled = false;
  signals.async_wait([&](beast::error_code ec, int sig) {
    if (!ec) spdlog::info("received signal {}, draining in-flight requests", sig);
    std::lock_guard lock(mu);
    signalled = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return signalled; });
  }
  Stop();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(impl_->drained_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->stopping = true;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->tick_timer.cancel();
  });
  {
    std::unique_lock lock(impl_->drained_mu);
    bool drained = impl_->drained_cv.wait_for(lock, impl_->options.drain_timeout,
                                              [&] { return impl_->in_flight == 0; });
    if (!drained)
      spdlog::warn("{} requests still in flight after the drain timeout", impl_->in_flight.load());
  }
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads) {
    if (t.joinable()) t.join();
  }
  impl_->workers.join();
}

}  // namespace vouch::server

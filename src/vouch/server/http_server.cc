#include "vouch/server/http_server.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "vouch/api/deferred.h"
#include "vouch/server/logging.h"

namespace vouch::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string LowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// TLS 1.2 suites: forward secrecy and AEAD only (Mozilla's "intermediate" list without DHE, which
// would need parameters of our own). TLS 1.3 keeps OpenSSL's defaults, which are all of that kind.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Certificate and key files are a few kilobytes; a larger one is surely the wrong file.
constexpr size_t kMaxPemBytes = 1 << 20;

// The oldest reason on OpenSSL's error queue, which is then emptied (it is per thread, and a stale
// entry would be blamed on the next call).
std::string OpenSslReason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

// A PEM file's text. UNAVAILABLE when it cannot be read.
Result<std::string> ReadPemFile(std::string_view what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Unavailable(
        fmt::format("cannot read the TLS {} file {}: {}", what, path, std::strerror(errno)));
  }
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= kMaxPemBytes) {
    text.append(buf, n);
  }
  const int error = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  OPENSSL_cleanse(buf, sizeof buf);
  if (error != 0) {
    OPENSSL_cleanse(text.data(), text.size());
    return Unavailable(
        fmt::format("cannot read the TLS {} file {}: {}", what, path, std::strerror(error)));
  }
  if (text.size() > kMaxPemBytes) {
    OPENSSL_cleanse(text.data(), text.size());
    return InvalidArgument(fmt::format("the TLS {} file {} is over {} bytes; is it the right file?",
                                       what, path, kMaxPemBytes));
  }
  return text;
}

// Whether `text` has a PEM header line "-----BEGIN …<label>-----" ("CERTIFICATE" matches
// "TRUSTED CERTIFICATE" too, "PRIVATE KEY" matches "EC PRIVATE KEY").
bool HasPemBlock(std::string_view text, std::string_view label) {
  const std::string end = fmt::format("{}-----", label);
  for (size_t at = text.find("-----BEGIN "); at != std::string_view::npos;
       at = text.find("-----BEGIN ", at + 1)) {
    std::string_view line = text.substr(at, text.find('\n', at) - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.ends_with(end)) return true;
  }
  return false;
}

// Encrypted keys are refused rather than prompted for: a server has no terminal to ask on.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Asio and OpenSSL report TLS failures in these categories; none of them leaves a connection that
// can carry an answer.
bool IsTlsError(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() ||
         ec.category() == net::ssl::error::get_stream_category();
}

}  // namespace

struct TlsContext {
  net::ssl::context ssl{net::ssl::context::tls_server};
};

Result<std::shared_ptr<TlsContext>> LoadTlsContext(const std::string& cert_file,
                                                   const std::string& key_file) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> tls;
  try {
    tls = std::make_shared<TlsContext>();
  } catch (const std::exception& e) {
    return Internal(fmt::format("cannot make a TLS context: {}", e.what()));
  }
  SSL_CTX* ctx = tls->ssl.native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Internal(fmt::format("cannot configure TLS: {}", OpenSslReason()));
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);

  VOUCH_ASSIGN_OR_RETURN(std::string cert, ReadPemFile("certificate", cert_file));
  if (!HasPemBlock(cert, "CERTIFICATE")) {
    return InvalidArgument(
        fmt::format("the TLS certificate file {} holds no PEM certificate (no -----BEGIN "
                    "CERTIFICATE----- line)",
                    cert_file));
  }
  beast::error_code ec;
  tls->ssl.use_certificate_chain(net::buffer(cert), ec);
  if (ec) {
    // OpenSSL's reasons here ("PEM lib", "bad base64 decode") say little more than this.
    ERR_clear_error();
    return InvalidArgument(fmt::format(
        "the TLS certificate file {} holds a PEM certificate that cannot be read (damaged?)",
        cert_file));
  }

  VOUCH_ASSIGN_OR_RETURN(std::string key, ReadPemFile("private key", key_file));
  BIO* bio = BIO_new_mem_buf(key.data(), static_cast<int>(key.size()));
  EVP_PKEY* pkey =
      bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio, nullptr, &NoPassphrase, nullptr);
  BIO_free(bio);
  const bool encrypted = key.find("ENCRYPTED") != std::string::npos;
  const bool pem_key = HasPemBlock(key, "PRIVATE KEY");
  OPENSSL_cleanse(key.data(), key.size());
  if (pkey == nullptr) {
    ERR_clear_error();
    if (!pem_key) {
      return InvalidArgument(fmt::format(
          "the TLS private key file {} holds no PEM private key (no -----BEGIN … PRIVATE KEY----- "
          "line)",
          key_file));
    }
    if (encrypted) {
      return InvalidArgument(fmt::format(
          "the TLS private key file {} is encrypted; give the key unencrypted (readable only by "
          "the server's user)",
          key_file));
    }
    return InvalidArgument(fmt::format(
        "the TLS private key file {} holds a PEM private key that cannot be read (damaged?)",
        key_file));
  }
  const bool used = SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
  EVP_PKEY_free(pkey);
  if (!used || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return InvalidArgument(fmt::format(
        "the TLS private key in {} does not match the certificate in {}", key_file, cert_file));
  }
  return tls;
}

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandlers handlers;
  net::io_context ioc;
  // Keeps ioc.run() running while no operation is pending on the I/O threads, until Stop() stops
  // the context after the drain. Without it, once Stop() had closed the acceptor and cancelled its
  // timers, a request whose handler was running on a worker left the context without work: the
  // I/O threads returned, and the handler's answer, posted back to its connection's strand, was
  // never written (the drain then timed out and the client got no answer).
  net::executor_work_guard<net::io_context::executor_type> keep_running{ioc.get_executor()};
  // The listener's objects (acceptor, accept back-off timer, tick timer) run their handlers on one
  // strand, and Stop() closes them through it: Asio objects are not safe to touch from two of the
  // I/O threads at once.
  net::strand<net::io_context::executor_type> listener_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{listener_strand};
  net::thread_pool workers;
  net::thread_pool read_workers;  // GET and HEAD
  std::vector<std::thread> io_threads;
  net::steady_timer tick_timer{listener_strand};
  // accept() back-off (touched only by the accept chain, on listener_strand): when
  // accept fails (out of descriptors, above all) the listener waits before trying again, 10 ms
  // doubling to 1 s, and reports the failures once per kAcceptReportInterval with their count, so
  // the server neither spins nor floods its log; connections it has keep being served.
  net::steady_timer accept_timer{listener_strand};
  std::chrono::milliseconds accept_delay{0};
  int64_t accept_failures = 0;      // since the last report
  int64_t accept_failures_all = 0;  // since accept last succeeded
  std::optional<std::chrono::steady_clock::time_point> accept_reported;
  // SIGINT and SIGTERM, once CatchShutdownSignals() has run; `signal_number` is the one received
  // (0: none yet), guarded by signal_mu.
  std::optional<net::signal_set> signals;
  std::mutex signal_mu;
  std::condition_variable signal_cv;
  int signal_number = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> in_flight{0};
  std::mutex drained_mu;
  std::condition_variable drained_cv;
  bool stopped = false;  // guarded by drained_mu
  // Parked requests (api/deferred.h), so that a drain can answer them; once `draining`, a request
  // parked late is answered at once.
  std::mutex parked_mu;
  std::unordered_set<std::shared_ptr<api::Deferral>> parked;  // guarded by parked_mu
  bool draining = false;                                      // guarded by parked_mu

  Impl(HttpServerOptions o, HttpHandlers h)
      : options(std::move(o)),
        handlers(std::move(h)),
        workers(std::max(1, options.workers)),
        read_workers(std::max(1, options.read_workers)) {}

  void Accept();
  void AcceptFailed(const beast::error_code& ec);
  void ScheduleTick();
  void Finished() {
    if (--in_flight == 0 && stopping) {
      std::lock_guard lock(drained_mu);
      drained_cv.notify_all();
    }
  }

  static Status ShuttingDown() {
    return Unavailable("the server is shutting down; retry the request");
  }
  void Park(const std::shared_ptr<api::Deferral>& deferral) {
    {
      std::lock_guard lock(parked_mu);
      if (!draining) {
        parked.insert(deferral);
        return;
      }
    }
    deferral->Fail(ShuttingDown());
  }
  void Unpark(const std::shared_ptr<api::Deferral>& deferral) {
    std::lock_guard lock(parked_mu);
    parked.erase(deferral);
  }
  // Answers every parked request with 503 and every one parked from now on.
  void DrainParked() {
    std::vector<std::shared_ptr<api::Deferral>> answer;
    {
      std::lock_guard lock(parked_mu);
      draining = true;
      answer.assign(parked.begin(), parked.end());
    }
    for (const auto& deferral : answer) deferral->Fail(ShuttingDown());
  }
};

namespace {

// One connection. `Stream` is beast::tcp_stream (plain HTTP) or TlsStream; the two differ only in
// the handshake before the first request and the close_notify at the end.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `extra`: the ssl::context for a TlsStream, nothing for a tcp_stream.
  template <class... Extra>
  Session(HttpServer::Impl& server, tcp::socket socket, Extra&... extra)
      : stream_(std::move(socket), extra...),
        server_(server),
        deadline_timer_(stream_.get_executor()) {
    boost::system::error_code ec;
    auto ep = Tcp().socket().remote_endpoint(ec);
    address_ = ec ? "" : ep.address().to_string();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->Read();
      }
    });
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // Within the request timeout, so a client that connects and says nothing cannot hold the
  // connection. A client that does not speak TLS (plain HTTP to this port) fails here and is
  // disconnected: there is no channel to answer it on.
  void Handshake() {
    Tcp().expires_after(server_.options.request_timeout);
    stream_.async_handshake(
        net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) {
            spdlog::debug("TLS handshake with {} failed: {}", self->address_, ec.message());
            return self->Close(false);
          }
          self->Read();
        });
  }

  // The header section is first read whole (up to the header limit) and looked at as bytes,
  // because Beast's parser unfolds obs-fold lines silently; then parsed from the buffer.
  void Read() {
    PrepareRead();
    ReadHeaderSection();
  }

  void PrepareRead() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    obs_fold_ = false;
    scanned_ = 0;
    Tcp().expires_after(server_.options.request_timeout);
  }

  void ReadHeaderSection() {
    // From its first byte a request is in flight: a drain that begins now waits for its header,
    // its body and its answer instead of dropping it unanswered.
    if (buffer_.size() > 0 && !counted_) {
      Begin();
      started_ = std::chrono::steady_clock::now();
    }
    const auto data = buffer_.data();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    // Each read looks only at what it added (and the two bytes before, which may start the blank
    // line), so a header section that arrives a byte at a time costs linear time, not quadratic.
    const size_t end = HeaderSectionEnd(bytes, scanned_ > 2 ? scanned_ - 2 : 0);
    scanned_ = bytes.size();
    if (end != std::string_view::npos || bytes.size() >= server_.options.max_header_bytes) {
      obs_fold_ = HasObsFold(bytes.substr(0, std::min(end, bytes.size())));
      return http::async_read_header(
          stream_, buffer_, *parser_,
          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
    }
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              self->OnSomeHeader(ec);
                            });
  }

  // After a read of part of a header section.
  void OnSomeHeader(beast::error_code ec) {
    if (ec == beast::error::timeout) return OnHeader(ec);
    if (ec) {
      // The parser reports it (end of stream, a partial message) as it always has.
      return http::async_read_header(
          stream_, buffer_, *parser_,
          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
    }
    ReadHeaderSection();
  }

  // Where the header section in `bytes` ends (after its blank line), or npos; line breaks before
  // `from` are not looked at again.
  static size_t HeaderSectionEnd(std::string_view bytes, size_t from) {
    for (size_t i = bytes.find('\n', from); i != std::string_view::npos;
         i = bytes.find('\n', i + 1)) {
      if (i >= 1 && bytes[i - 1] == '\n') return i + 1;
      if (i >= 2 && bytes[i - 1] == '\r' && bytes[i - 2] == '\n') return i + 1;
    }
    return std::string_view::npos;
  }

  // Whether a header section folds a line: a line break followed by a space or tab (RFC 9112
  // 5.2: refused with 400).
  static bool HasObsFold(std::string_view header) {
    for (size_t i = header.find('\n'); i != std::string_view::npos && i + 1 < header.size();
         i = header.find('\n', i + 1)) {
      if (header[i + 1] == ' ' || header[i + 1] == '\t') return true;
    }
    return false;
  }

  // A request is in flight from the first byte of its header that has been read: a drain waits for
  // the rest of its header, its body, its handler and its response. Idle keep-alive connections
  // are not.
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
    if (obs_fold_) {
      return Refuse(InvalidArgument("a header line is folded (obs-fold); send each on one line"));
    }
    // Only the chunked coding is understood; a body in any other (gzip, chunked) cannot be read.
    int codings = 0;
    bool chunked_only = true;
    auto [first, last] = parser_->get().equal_range(http::field::transfer_encoding);
    for (auto field = first; field != last; ++field) {
      ++codings;
      std::string_view v = field->value();
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      chunked_only = chunked_only && beast::iequals(v, "chunked");
    }
    if (codings > 1 || !chunked_only) {
      return Refuse(Status(StatusCode::kUnimplemented,
                           "only the chunked transfer coding is supported (Transfer-Encoding: "
                           "chunked)"));
    }
    if (parser_->is_done()) return OnRead(ec);
    auto read_body = [self = this->shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
    };
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(
          stream_, *cont,
          [self = this->shared_from_this(), cont, read_body](beast::error_code ec, size_t) {
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
    if (ec == http::error::end_of_stream || ec == net::error::eof) {
      End();
      return Close(true);
    }
    if (ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || IsTlsError(ec)) {
      End();
      return Close(false);
    }
    if (!counted_) started_ = std::chrono::steady_clock::now();
    if (ec) {
      return Refuse(
          ec == http::error::body_limit
              ? Status(StatusCode::kPayloadTooLarge,
                       fmt::format("request body exceeds {} bytes", server_.options.max_body_bytes))
          : ec == http::error::header_limit
              ? Status(StatusCode::kPayloadTooLarge, "request headers are too large")
              : InvalidArgument(fmt::format("malformed HTTP request: {}", ec.message())));
    }
    auto request = std::make_shared<api::HttpRequest>(Translate(parser_->get()));
    bool keep_alive = parser_->get().keep_alive();
    Begin();
    const bool reads = request->method == "GET" || request->method == "HEAD";
    net::post(reads ? server_.read_workers : server_.workers,
              [self = this->shared_from_this(), request, keep_alive] {
                api::HttpResponse response = self->server_.handlers.handle(*request);
                net::post(self->stream_.get_executor(), [self, request, keep_alive,
                                                         response = std::move(response)]() mutable {
                  if (response.deferred) {
                    return self->Park(std::move(request), std::move(response.deferred), keep_alive);
                  }
                  self->Respond(*request, std::move(response), keep_alive);
                });
              });
  }

  // The request could not be read whole, or cannot be served as sent: answer once, in the shape
  // of the door its path names, then close the connection.
  void Refuse(const Status& why) {
    if (!counted_) started_ = std::chrono::steady_clock::now();
    api::HttpRequest partial;
    partial.remote_address = address_;
    if (parser_->is_header_done()) {
      partial = Translate(parser_->get());
    } else {
      // Headers too large: the request line is parsed by then, and its path says which door's
      // error shape the answer takes.
      partial.method = std::string(parser_->get().method_string());
      partial.target = std::string(parser_->get().target());
    }
    partial.body.clear();
    Begin();
    Respond(partial, server_.handlers.reject(partial, why), false);
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
    if (request.method == "HEAD") {
      // GET's status and headers, Content-Length included, without the body (RFC 9110 9.3.2).
      auto head = std::make_shared<http::response<http::empty_body>>(std::move(res->base()));
      LogResponse(request, response.status, request_id);
      return Write(head, keep_alive);
    }
    LogResponse(request, response.status, request_id);
    Write(res, keep_alive);
  }

  void LogResponse(const api::HttpRequest& request, int status, std::string_view request_id) {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
    std::string_view path = request.target;
    path = path.substr(0, std::min(path.find('?'), path.size()));
    LogRequest({.method = request.method,
                .path = path,
                .status = status,
                .latency_ms = static_cast<double>(micros) / 1000.0,
                .request_id = request_id,
                .peer = address_});
  }

  template <class Message>
  void Write(std::shared_ptr<Message> res, bool keep_alive) {
    Tcp().expires_after(server_.options.request_timeout);
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
          if (!ec && (self->watching_ || self->watch_error_)) {
            return self->AfterParkedWrite(keep_alive);
          }
          self->End();
          if (ec) return self->Close(false);
          if (!keep_alive) return self->Close(true);
          self->Read();
        });
  }

  // A deferred response (api/deferred.h): the connection waits on the strand, holding no worker and
  // no request timeout, for the holder's answer, the deferral's deadline (504), the drain (503) or
  // the client's disconnect, which a read kept open meanwhile reports (it also takes in what a
  // pipelining client sends next, up to the header limit).
  void Park(std::shared_ptr<api::HttpRequest> request, std::shared_ptr<api::Deferral> deferral,
            bool keep_alive) {
    parked_ = std::move(deferral);
    parked_request_ = std::move(request);
    parked_keep_alive_ = keep_alive;
    Tcp().expires_never();
    parked_->Attach([self = this->shared_from_this()](api::HttpResponse answer) {
      net::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        self->OnAnswer(std::move(answer));
      });
    });
    if (auto deadline = parked_->deadline()) {
      deadline_timer_.expires_after(*deadline);
      deadline_timer_.async_wait([self = this->shared_from_this(),
                                  deferral = std::weak_ptr(parked_)](beast::error_code ec) {
        auto parked = deferral.lock();
        if (ec || parked == nullptr) return;
        parked->Fail(Status(StatusCode::kDeadlineExceeded,
                            "no answer came within the time this request may wait; retry"));
      });
    }
    server_.Park(parked_);
    Watch();
  }

  void Watch() {
    if (watching_ || buffer_.size() >= server_.options.max_header_bytes) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->buffer_.commit(n);
                              self->OnWatch(ec);
                            });
  }

  void OnWatch(beast::error_code ec) {
    watching_ = false;
    if (parked_) {
      if (ec) return ClientGone();
      return Watch();
    }
    switch (after_watch_) {
      case AfterWatch::kNothing:  // the answer is being written; its completion goes on
        if (ec) watch_error_ = ec;
        return;
      case AfterWatch::kRead:  // the read was the next request's first, or was cancelled for it
        after_watch_ = AfterWatch::kNothing;
        return OnSomeHeader(ec == net::error::operation_aborted ? beast::error_code() : ec);
      case AfterWatch::kClose:
        after_watch_ = AfterWatch::kNothing;
        End();
        return Close(!ec || ec == net::error::operation_aborted);
    }
  }

  // The client closed or reset the connection while its request was parked.
  void ClientGone() {
    std::shared_ptr<api::Deferral> deferral = std::move(parked_);
    parked_.reset();
    parked_request_.reset();
    deadline_timer_.cancel();
    server_.Unpark(deferral);
    deferral->Release();
    End();
    Close(false);
  }

  void OnAnswer(api::HttpResponse answer) {
    if (!parked_) return;  // the client left first
    std::shared_ptr<api::Deferral> deferral = std::move(parked_);
    parked_.reset();
    deadline_timer_.cancel();
    server_.Unpark(deferral);
    std::shared_ptr<api::HttpRequest> request = std::move(parked_request_);
    parked_request_.reset();
    answer.deferred.reset();
    Respond(*request, std::move(answer), parked_keep_alive_);
  }

  // The answer to a parked request is written while the watching read may still be open: the next
  // request's read, or the close, waits for it. The request stays in flight until the connection
  // is closed, so that a drain does not stop the I/O threads before it is.
  void AfterParkedWrite(bool keep_alive) {
    if (watching_) {
      if (keep_alive) {
        End();
        after_watch_ = AfterWatch::kRead;
        PrepareRead();
        // A request the client pipelined is in the buffer already, and the client waits for its
        // answer rather than sending more: stop waiting for bytes and read what is there.
        if (buffer_.size() > 0) {
          beast::error_code ignored;
          Tcp().socket().cancel(ignored);
        }
        return;
      }
      after_watch_ = AfterWatch::kClose;
      beast::error_code ignored;
      Tcp().socket().cancel(ignored);
      return;
    }
    End();
    const beast::error_code ec = watch_error_;
    watch_error_ = {};
    Close(ec == net::error::eof);
  }

  // `orderly`: the conversation ended as HTTP allows (not by a timeout or a broken stream), so a
  // TLS connection first exchanges close_notify, within the request timeout, so that the client can
  // tell the end of the response from a truncation.
  void Close(bool orderly) {
    if constexpr (kTls) {
      if (orderly) {
        Tcp().expires_after(server_.options.request_timeout);
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { self->CloseSocket(); });
        return;
      }
    }
    CloseSocket();
  }

  void CloseSocket() {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    Tcp().socket().close(ec);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl& server_;
  std::string address_;
  std::chrono::steady_clock::time_point started_;
  bool counted_ = false;   // this connection's current request is counted in in_flight
  bool obs_fold_ = false;  // the header section being read folds a line
  size_t scanned_ = 0;     // bytes of the buffer already searched for the header section's end
  // A parked request (Park()): its deferral, request and keep-alive, and its deadline.
  std::shared_ptr<api::Deferral> parked_;
  std::shared_ptr<api::HttpRequest> parked_request_;
  bool parked_keep_alive_ = false;
  net::steady_timer deadline_timer_;
  // The read kept open while parked: whether it is, what follows it once the answer is written, and
  // the error it ended with while that answer was being written.
  bool watching_ = false;
  enum class AfterWatch { kNothing, kRead, kClose };
  AfterWatch after_watch_ = AfterWatch::kNothing;
  beast::error_code watch_error_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      return AcceptFailed(ec);
    }
    if (accept_failures_all > 0) {
      spdlog::info("accepting connections again after {} failed accepts", accept_failures_all);
      accept_failures = accept_failures_all = 0;
      accept_reported.reset();
    }
    accept_delay = std::chrono::milliseconds(0);
    socket.set_option(tcp::no_delay(true), ec);
    if (options.tls) {
      std::make_shared<Session<TlsStream>>(*this, std::move(socket), options.tls->ssl)->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->Start();
    }
    Accept();
  });
}

void HttpServer::Impl::AcceptFailed(const beast::error_code& ec) {
  constexpr std::chrono::milliseconds kFirstDelay(10), kMaxDelay(1000);
  constexpr std::chrono::seconds kAcceptReportInterval(10);
  ++accept_failures;
  ++accept_failures_all;
  accept_delay = accept_delay.count() == 0 ? kFirstDelay : std::min(accept_delay * 2, kMaxDelay);
  const auto now = std::chrono::steady_clock::now();
  if (!accept_reported || now - *accept_reported >= kAcceptReportInterval) {
    spdlog::warn(
        "accept failed: {} ({} times in the last {} s); retrying in {} ms, up to every {} ms",
        ec.message(), accept_failures, kAcceptReportInterval.count(), accept_delay.count(),
        kMaxDelay.count());
    accept_failures = 0;
    accept_reported = now;
  }
  accept_timer.expires_after(accept_delay);
  accept_timer.async_wait([this](beast::error_code wait_ec) {
    if (wait_ec || stopping || !acceptor.is_open()) return;
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

size_t HttpServer::parked_requests() const {
  std::lock_guard lock(impl_->parked_mu);
  return impl_->parked.size();
}

int64_t HttpServer::in_flight_requests() const { return impl_->in_flight.load(); }

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.port : ep.port();
}

Status HttpServer::CatchShutdownSignals() {
  if (impl_->signals) return OkStatus();
  beast::error_code ec;
  impl_->signals.emplace(impl_->ioc);
  impl_->signals->add(SIGINT, ec);
  if (!ec) impl_->signals->add(SIGTERM, ec);
  if (ec) {
    impl_->signals.reset();
    return Internal(fmt::format("cannot catch SIGINT and SIGTERM: {}", ec.message()));
  }
  impl_->signals->async_wait([impl = impl_.get()](beast::error_code ec, int sig) {
    std::lock_guard lock(impl->signal_mu);
    impl->signal_number = ec ? -1 : sig;
    impl->signal_cv.notify_all();
  });
  return OkStatus();
}

void HttpServer::WaitForSignal() {
  if (Status s = CatchShutdownSignals(); !s.ok()) {
    spdlog::error("{}; stopping", s.message());
  } else {
    std::unique_lock lock(impl_->signal_mu);
    impl_->signal_cv.wait(lock, [&] { return impl_->signal_number != 0; });
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
  std::promise<void> closed;
  net::post(impl_->listener_strand, [this, &closed] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->accept_timer.cancel();
    impl_->tick_timer.cancel();
    closed.set_value();
  });
  if (!impl_->io_threads.empty()) closed.get_future().wait();
  impl_->DrainParked();
  {
    std::lock_guard lock(impl_->signal_mu);
    if (impl_->signal_number > 0) {
      // Tests and operators await this line: from here no connection is accepted and the
      // requests in flight are being drained.
      spdlog::info("received signal {}, draining in-flight requests", impl_->signal_number);
    }
  }
  if (impl_->handlers.draining) impl_->handlers.draining();
  {
    std::unique_lock lock(impl_->drained_mu);
    bool drained = impl_->drained_cv.wait_for(lock, impl_->options.drain_timeout,
                                              [&] { return impl_->in_flight == 0; });
    if (!drained)
      spdlog::warn("{} requests still in flight after the drain timeout", impl_->in_flight.load());
  }
  impl_->keep_running.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads) {
    if (t.joinable()) t.join();
  }
  impl_->workers.join();
  impl_->read_workers.join();
}

}  // namespace vouch::server

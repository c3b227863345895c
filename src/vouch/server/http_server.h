// The HTTP listener (Boost.Beast over Asio), plain or over TLS (OpenSSL). I/O threads read and
// write; a separate pool of worker threads runs the handler, which may block on the store's group
// commit without stalling I/O. Bodies over the limit get 413, unreadable requests 400, idle or slow
// connections time out. A handler may park a request (api/deferred.h): the connection then waits
// on its I/O strand, holding no worker and no request timeout, until the holder answers, the
// deferral's deadline passes (504), the client disconnects (the slot is freed, the holder's
// responder cancelled) or the server drains (503). Stop() closes the listener, answers the parked
// requests with 503, lets in-flight requests finish (up to the drain timeout) and returns. A
// request is in flight from the first byte of its header that the server has read, so a request
// whose header or body is still arriving when the drain begins is read whole and answered; idle
// keep-alive connections are not in flight.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vouch/api/http.h"
#include "vouch/util/status.h"

namespace vouch::server {

// A server certificate chain and its private key in an OpenSSL context: TLS 1.2 at least, the
// server's cipher order, no renegotiation. Opaque (Asio's SSL types stay in http_server.cc); one is
// shared by every connection of a server.
struct TlsContext;

// Reads and checks the PEM files: `cert_file` holds the server certificate first, then any
// intermediates; `key_file` its unencrypted private key. UNAVAILABLE when a file cannot be read
// (missing, not permitted, a directory); INVALID_ARGUMENT when it holds no PEM certificate or
// private key, the key is encrypted, or the key does not belong to the certificate; INTERNAL when
// OpenSSL cannot make a context. Each message names the file.
Result<std::shared_ptr<TlsContext>> LoadTlsContext(const std::string& cert_file,
                                                   const std::string& key_file);

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port
  int io_threads = 2;
  int workers = 64;
  // GET and HEAD requests run on their own pool, this many threads: they read and never wait on
  // a commit, so a pool about the size of the machine serves them with fewer context switches
  // (get-version on two cores, 32 connections: about 29,000 requests/s with 4 threads, 20,000
  // with 64).
  int read_workers = 4;
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds drain_timeout{30'000};
  // Null: plain HTTP. Otherwise every connection is TLS: the handshake must finish within
  // request_timeout, and a client that does not speak TLS is disconnected without an answer.
  std::shared_ptr<TlsContext> tls;
};

// What the server calls: `handle` for a parsed request; `reject` for one refused before parsing
// finished (the status says why); `tick` about once a second on a worker thread; `draining` once,
// on the thread in Stop(), when the server has stopped accepting and answered the parked requests,
// before it waits for the requests in flight (tests await it).
struct HttpHandlers {
  std::function<api::HttpResponse(const api::HttpRequest&)> handle;
  std::function<api::HttpResponse(const api::HttpRequest&, const Status&)> reject;
  std::function<void()> tick;
  std::function<void()> draining;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandlers handlers);
  ~HttpServer();

  // Takes over SIGINT and SIGTERM for WaitForSignal(). Call it before Start(): from the moment the
  // server answers (/ready included) a SIGTERM must drain, not kill the process with its default
  // action; one that arrives before WaitForSignal() is held for it. INTERNAL when Asio cannot
  // install the handlers.
  Status CatchShutdownSignals();
  // Binds and starts the threads. UNAVAILABLE (naming the address) when it cannot listen.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // How many requests are parked now (api/deferred.h).
  size_t parked_requests() const;
  // How many requests are in flight now: from the first byte of a request's header that the server
  // has read until its answer is written (or the connection fails). A drain waits for them all.
  int64_t in_flight_requests() const;
  // Blocks until SIGINT or SIGTERM (catching them now if CatchShutdownSignals() was not called),
  // then drains and stops. Logs "received signal N, draining in-flight requests" once it has
  // stopped accepting, before it waits for the requests in flight.
  void WaitForSignal();
  void Stop();

  struct Impl;  // opaque: Beast and Asio stay inside http_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vouch::server

// The HTTP listener (Boost.Beast over Asio). I/O threads read and write; a separate pool of worker
// threads runs the handler, which may block on the store's group commit without stalling I/O.
// Bodies over the limit get 413, unreadable requests 400, idle or slow connections time out.
// Stop() closes the listener, lets in-flight requests finish (up to the drain timeout) and returns.
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

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;  // 0 picks a free port
  int io_threads = 2;
  int workers = 64;
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds drain_timeout{30'000};
};

// What the server calls: `handle` for a parsed request; `reject` for one refused before parsing
// finished (the status says why); `tick` about once a second on a worker thread.
struct HttpHandlers {
  std::function<api::HttpResponse(const api::HttpRequest&)> handle;
  std::function<api::HttpResponse(const api::HttpRequest&, const Status&)> reject;
  std::function<void()> tick;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandlers handlers);
  ~HttpServer();

  // Binds and starts the threads. UNAVAILABLE (naming the address) when it cannot listen.
  Status Start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Blocks until SIGINT or SIGTERM, then drains and stops.
  void WaitForSignal();
  void Stop();

  struct Impl;  // opaque: Beast and Asio stay inside http_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vouch::server

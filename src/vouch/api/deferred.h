// Deferred responses: a handler that cannot answer yet (approvals' `wait`, any long poll) parks its
// request and answers it later, from any thread, without holding a worker thread meanwhile.
//
//   Result<HttpResponse> Wait(const Call& call) {
//     auto [parked, responder] = Defer(std::chrono::seconds(30));
//     waiters.Add(std::move(responder));  // whoever holds it calls Respond() once, from any thread
//     return parked;                      // the placeholder: the server parks the connection
//   }
//
// Who answers a parked request, the first of them winning:
// - the holder, with Respond(): a response (the dispatcher adds X-Request-Id) or a Status, rendered
//   in the door's error shape exactly as a handler's error is;
// - the server, when the deferral's deadline passes: 504 DEADLINE_EXCEEDED, in the door's shape;
// - the server, when it drains (SIGTERM, Stop()): 503 UNAVAILABLE, in the door's shape;
// - nobody, when the client disconnects (or half-closes: the server cannot tell the two apart
//   while it waits) first; the slot is freed at once.
// Once the server has answered itself or the client is gone, the responder is cancelled():
// Respond() is a no-op returning false and the OnCancel callbacks have run. The server's request
// timeout does not apply while a request is parked; only its deadline, the drain and the client do.
// A holder that drops its responder without answering leaves the request parked until one of them,
// so give long polls a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "vouch/api/http.h"
#include "vouch/util/status.h"

namespace vouch::api {

// The shared state of one parked request, between the holder (through Responder), the dispatcher
// (Bind: how answers are rendered) and the server (Attach, Fail, Release). Single-shot: the first
// of Answer, Fail and Release decides. Thread-safe.
class Deferral {
 public:
  // The holder's answer, made ready to send (the dispatcher: X-Request-Id, errors in the door's
  // shape, denials recorded).
  using Finisher = std::function<HttpResponse(Result<HttpResponse>)>;
  // The server's own answers (deadline, drain), in the door's shape with X-Request-Id.
  using Renderer = std::function<HttpResponse(const Status&)>;
  // Where the answer goes (the server: the connection's strand). Called at most once, on the
  // thread that answered; must not block.
  using Sink = std::function<void(HttpResponse)>;

  explicit Deferral(std::optional<std::chrono::milliseconds> deadline) : deadline_(deadline) {}

  // nullopt: no deadline.
  std::optional<std::chrono::milliseconds> deadline() const { return deadline_; }

  // The dispatcher's rendering, installed before the server sees the deferral. Without it
  // responses pass as they are and statuses become a plain-text body with the native HTTP status.
  void Bind(Finisher finish, Renderer render);
  // The server's sink. An answer given before (the holder may be quick) is delivered at once.
  void Attach(Sink sink);

  // The holder's answer. False (and nothing sent) when the request is already answered or
  // cancelled.
  bool Answer(Result<HttpResponse> answer);
  // The server answers itself with `status` (deadline, drain) and cancels the holder's side. False
  // when the request was already answered or cancelled.
  bool Fail(const Status& status);
  // The client is gone: nothing is sent; the holder's side is cancelled (unless it had already
  // answered: then false) and the sink is dropped either way.
  bool Release();

  bool cancelled() const;
  // Runs `callback` once when the request is cancelled (at once, on this thread, when it already
  // is); otherwise on the thread that cancels it (an I/O thread, or the one stopping the server),
  // so it must be short and must not block. Never runs after the holder answered.
  void OnCancel(std::function<void()> callback);

 private:
  enum class State { kPending, kAnswered, kCancelled };
  void Deliver(HttpResponse response);

  const std::optional<std::chrono::milliseconds> deadline_;
  mutable std::mutex mu_;
  State state_ = State::kPending;                 // guarded by mu_
  Finisher finish_;                               // guarded by mu_
  Renderer render_;                               // guarded by mu_
  Sink sink_;                                     // guarded by mu_
  bool sink_dropped_ = false;                     // guarded by mu_: Release() came first
  std::optional<HttpResponse> held_;              // guarded by mu_: answered before Attach
  std::vector<std::function<void()>> on_cancel_;  // guarded by mu_
};

// The holder's handle on a parked request: copyable (copies share the one request), usable from
// any thread.
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<Deferral> deferral) : deferral_(std::move(deferral)) {}

  // Answers the request: a response as the handler would have returned it, or an error. True when
  // this is the answer; false when the request was already answered, or cancelled (see above).
  bool Respond(Result<HttpResponse> answer) const;
  // The client is gone, the deadline passed or the server drained: answering is pointless.
  bool cancelled() const;
  // See Deferral::OnCancel.
  void OnCancel(std::function<void()> callback) const;

 private:
  std::shared_ptr<Deferral> deferral_;
};

struct Deferred {
  HttpResponse parked;  // what the handler returns
  Responder responder;  // what the handler keeps, or hands on
};

// Parks the current request: the handler returns `parked` and answers through `responder`.
// `deadline`: how long the request may wait (nullopt: until answered, the client leaves, or the
// server drains).
Deferred Defer(std::optional<std::chrono::milliseconds> deadline = std::nullopt);

}  // namespace vouch::api

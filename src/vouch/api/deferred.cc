#include "vouch/api/deferred.h"

#include "vouch/api/error_table.h"

namespace vouch::api {
namespace {

// Without a dispatcher (the server used on its own): the status's native HTTP status and its
// message as plain text.
HttpResponse PlainError(const Status& status) {
  HttpResponse r;
  r.status = InfoFor(status.code()).http_status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = status.message();
  return r;
}

}  // namespace

void Deferral::Bind(Finisher finish, Renderer render) {
  std::lock_guard lock(mu_);
  finish_ = std::move(finish);
  render_ = std::move(render);
}

void Deferral::Attach(Sink sink) {
  std::unique_lock lock(mu_);
  if (held_) {
    HttpResponse response = std::move(*held_);
    held_.reset();
    lock.unlock();
    sink(std::move(response));
    return;
  }
  sink_ = std::move(sink);
}

void Deferral::Deliver(HttpResponse response) {
  std::unique_lock lock(mu_);
  if (sink_dropped_) return;
  if (!sink_) {
    held_ = std::move(response);
    return;
  }
  Sink sink = std::move(sink_);
  sink_ = nullptr;
  lock.unlock();
  sink(std::move(response));
}

bool Deferral::Answer(Result<HttpResponse> answer) {
  Finisher finish;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kPending) return false;
    state_ = State::kAnswered;
    finish = std::move(finish_);
    on_cancel_.clear();
  }
  // Rendered outside the lock: the dispatcher may record a denial in the store.
  if (finish) {
    Deliver(finish(std::move(answer)));
  } else {
    Deliver(answer.ok() ? std::move(answer).value() : PlainError(answer.status()));
  }
  return true;
}

bool Deferral::Fail(const Status& status) {
  Renderer render;
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kPending) return false;
    state_ = State::kCancelled;
    render = std::move(render_);
    callbacks.swap(on_cancel_);
  }
  Deliver(render ? render(status) : PlainError(status));
  for (auto& callback : callbacks) callback();
  return true;
}

bool Deferral::Release() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    sink_ = nullptr;
    sink_dropped_ = true;
    held_.reset();
    if (state_ != State::kPending) return false;
    state_ = State::kCancelled;
    callbacks.swap(on_cancel_);
  }
  for (auto& callback : callbacks) callback();
  return true;
}

bool Deferral::cancelled() const {
  std::lock_guard lock(mu_);
  return state_ == State::kCancelled;
}

void Deferral::OnCancel(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kAnswered) return;
    if (state_ == State::kPending) {
      on_cancel_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

bool Responder::Respond(Result<HttpResponse> answer) const {
  return deferral_ != nullptr && deferral_->Answer(std::move(answer));
}

bool Responder::cancelled() const { return deferral_ != nullptr && deferral_->cancelled(); }

void Responder::OnCancel(std::function<void()> callback) const {
  if (deferral_ != nullptr) deferral_->OnCancel(std::move(callback));
}

Deferred Defer(std::optional<std::chrono::milliseconds> deadline) {
  auto deferral = std::make_shared<Deferral>(deadline);
  Deferred d;
  d.parked.status = 0;  // never sent: the server parks the connection instead
  d.parked.content_type.clear();
  d.parked.deferred = deferral;
  d.responder = Responder(std::move(deferral));
  return d;
}

}  // namespace vouch::api

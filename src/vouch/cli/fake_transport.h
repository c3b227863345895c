// A scripted HttpTransport for the CLI's tests: records every request and answers from a queue.
#pragma once

#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/http_client.h"

namespace vouch::cli {

class FakeTransport final : public HttpTransport {
 public:
  // Queues the answer to the next unanswered request; with none queued, requests get 200 "{}".
  void Answer(int status, std::string body) {
    answers_.push_back(HttpResponse{status, std::move(body)});
  }
  void FailNext(Status status) { answers_.push_back(std::move(status)); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (answers_.empty()) return HttpResponse{200, "{}"};
    Result<HttpResponse> answer = std::move(answers_.front());
    answers_.pop_front();
    return answer;
  }

  // A factory for RunCli that hands out this transport (it must outlive the run) and remembers the
  // options the CLI parsed.
  TransportFactory Factory() {
    return [this](const ClientOptions& options) -> std::unique_ptr<HttpTransport> {
      options_seen = options;
      return std::make_unique<Forward>(*this);
    };
  }

  std::vector<HttpRequest> requests;
  ClientOptions options_seen;

 private:
  class Forward final : public HttpTransport {
   public:
    explicit Forward(HttpTransport& to) : to_(to) {}
    Result<HttpResponse> Send(const HttpRequest& request) override { return to_.Send(request); }

   private:
    HttpTransport& to_;
  };

  std::deque<Result<HttpResponse>> answers_;
};

}  // namespace vouch::cli

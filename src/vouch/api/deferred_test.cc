#include "vouch/api/deferred.h"

#include <gtest/gtest.h>

#include <optional>

namespace vouch::api {
namespace {

HttpResponse Answer(std::string body) { return HttpResponse::Json(200, std::move(body)); }

TEST(Deferral, AnAnswerGivenBeforeTheServerAttachesIsDeliveredWhenItDoes) {
  auto [parked, responder] = Defer();
  ASSERT_NE(parked.deferred, nullptr);
  EXPECT_TRUE(responder.Respond(Answer("early")));
  std::optional<HttpResponse> sent;
  parked.deferred->Attach([&](HttpResponse r) { sent = std::move(r); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->body, "early");
}

TEST(Deferral, OnlyTheFirstAnswerIsSent) {
  auto [parked, responder] = Defer();
  int sends = 0;
  std::string body;
  parked.deferred->Attach([&](HttpResponse r) {
    ++sends;
    body = r.body;
  });
  Responder copy = responder;
  EXPECT_TRUE(copy.Respond(Answer("first")));
  EXPECT_FALSE(responder.Respond(Answer("second")));
  EXPECT_FALSE(parked.deferred->Fail(Unavailable("draining")));
  EXPECT_FALSE(parked.deferred->Release());
  EXPECT_EQ(sends, 1);
  EXPECT_EQ(body, "first");
  EXPECT_FALSE(responder.cancelled()) << "answered, not cancelled";
}

TEST(Deferral, TheHoldersAnswerAndTheServersOwnGoThroughTheDispatchersRendering) {
  auto [parked, responder] = Defer();
  parked.deferred->Bind(
      [](Result<HttpResponse> answer) {
        return answer.ok() ? Answer("finished " + answer->body)
                           : Answer("finished error " + answer.status().message());
      },
      [](const Status& status) { return Answer("rendered " + status.message()); });
  std::string body;
  parked.deferred->Attach([&](HttpResponse r) { body = r.body; });
  EXPECT_TRUE(responder.Respond(NotFound("gone")));
  EXPECT_EQ(body, "finished error gone");

  auto [parked2, responder2] = Defer();
  parked2.deferred->Bind(
      [](Result<HttpResponse>) { return Answer("unused"); },
      [](const Status& status) { return Answer("rendered " + status.message()); });
  parked2.deferred->Attach([&](HttpResponse r) { body = r.body; });
  EXPECT_TRUE(parked2.deferred->Fail(Unavailable("draining")));
  EXPECT_EQ(body, "rendered draining");
  EXPECT_TRUE(responder2.cancelled());
  EXPECT_FALSE(responder2.Respond(Answer("late")));
  EXPECT_EQ(body, "rendered draining");
}

TEST(Deferral, WithoutADispatcherAStatusIsPlainTextWithItsHttpStatus) {
  auto [parked, responder] = Defer(std::chrono::milliseconds(5));
  EXPECT_EQ(parked.deferred->deadline(), std::chrono::milliseconds(5));
  std::optional<HttpResponse> sent;
  parked.deferred->Attach([&](HttpResponse r) { sent = std::move(r); });
  EXPECT_TRUE(parked.deferred->Fail(Status(StatusCode::kDeadlineExceeded, "too long")));
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->status, 504);
  EXPECT_EQ(sent->body, "too long");
  EXPECT_EQ(sent->content_type, "text/plain; charset=utf-8");
}

TEST(Deferral, AClientThatLeavesCancelsTheResponderAndRunsItsCallbacksOnce) {
  auto [parked, responder] = Defer();
  int sends = 0;
  parked.deferred->Attach([&](HttpResponse) { ++sends; });
  int cancels = 0;
  responder.OnCancel([&] { ++cancels; });
  EXPECT_FALSE(responder.cancelled());
  EXPECT_TRUE(parked.deferred->Release());
  EXPECT_TRUE(responder.cancelled());
  EXPECT_EQ(cancels, 1);
  EXPECT_FALSE(responder.Respond(Answer("nobody listens")));
  EXPECT_FALSE(parked.deferred->Release());
  EXPECT_EQ(cancels, 1);
  // A callback registered after the cancellation runs at once.
  responder.OnCancel([&] { ++cancels; });
  EXPECT_EQ(cancels, 2);
  EXPECT_EQ(sends, 0);
}

TEST(Deferral, AnAnsweredRequestNeverRunsCancelCallbacks) {
  auto [parked, responder] = Defer();
  parked.deferred->Attach([](HttpResponse) {});
  int cancels = 0;
  responder.OnCancel([&] { ++cancels; });
  EXPECT_TRUE(responder.Respond(Answer("done")));
  EXPECT_FALSE(parked.deferred->Release()) << "the client left after its answer was given";
  responder.OnCancel([&] { ++cancels; });
  EXPECT_EQ(cancels, 0);
}

TEST(Responder, AnEmptyResponderAnswersNothing) {
  Responder none;
  EXPECT_FALSE(none.Respond(Answer("x")));
  EXPECT_FALSE(none.cancelled());
}

}  // namespace
}  // namespace vouch::api

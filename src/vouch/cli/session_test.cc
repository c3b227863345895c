#include "vouch/cli/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "vouch/cli/audit_view.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/http_client.h"

namespace vouch::cli {
namespace {

TEST(CliExitCode, SuccessStatusesExitZero) {
  for (int status : {200, 201, 204}) EXPECT_EQ(ExitCodeForHttpStatus(status), kExitOk) << status;
}

TEST(CliExitCode, ServerRefusalsExitOne) {
  for (int status : {301, 400, 401, 403, 404, 405, 409, 413, 429, 500, 503}) {
    EXPECT_EQ(ExitCodeForHttpStatus(status), kExitRefused) << status;
  }
}

TEST(CliExitCode, TransportFailuresExitThreeUnlessTheInvocationIsWrong) {
  EXPECT_EQ(ExitCodeForTransportFailure(Unavailable("connection refused")), kExitUnreachable);
  EXPECT_EQ(ExitCodeForTransportFailure(Status(StatusCode::kDeadlineExceeded, "timeout")),
            kExitUnreachable);
  EXPECT_EQ(ExitCodeForTransportFailure(InvalidArgument("bad URL")), kExitUsage);
}

TEST(CliRefusal, QuotesCodeAndMessageFromErrorBody) {
  HttpResponse response{404, R"({"error":{"code":"NOT_FOUND","message":"Registered Model with )"
                             R"(name=x not found","request_id":"r1"}})"};
  EXPECT_EQ(RefusalMessage(response), "NOT_FOUND: Registered Model with name=x not found");
}

TEST(CliRefusal, FallsBackToStatusAndFirstLineOfOtherBodies) {
  EXPECT_EQ(RefusalMessage({502, "<html>Bad Gateway</html>\n<body>"}),
            "HTTP 502: <html>Bad Gateway</html>");
  EXPECT_EQ(RefusalMessage({500, ""}), "HTTP 500");
  EXPECT_EQ(RefusalMessage({400, R"({"error":"flat"})"}), R"(HTTP 400: {"error":"flat"})");
}

TEST(CliHeaders, SendsAgentRequestIdTokenAndContentType) {
  const auto headers = RequestHeaders({"http://h", "t0k", ""}, {"POST", "/x", "{}"}, "cli-1");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"User-Agent", "vouch-cli/0.1.0"},
      {"Accept", "application/json"},
      {"X-Request-Id", "cli-1"},
      {"Authorization", "Bearer t0k"},
      {"Content-Type", "application/json"}};
  EXPECT_EQ(headers, want);
}

TEST(CliHeaders, OmitsAuthorizationWithoutTokenAndContentTypeWithoutBody) {
  for (const auto& [name, value] : RequestHeaders({"http://h", "", ""}, {"GET", "/x", {}}, "id")) {
    EXPECT_NE(name, "Authorization");
    EXPECT_NE(name, "Content-Type");
  }
}

TEST(CliHeaders, RequestIdsAreFreshAndInTheServersAlphabet) {
  const std::string a = NewRequestId();
  EXPECT_NE(a, NewRequestId());
  EXPECT_LE(a.size(), 128u);
  EXPECT_EQ(
      a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"),
      std::string::npos);
}

TEST(CliServerUrl, AcceptsHttpAndHttpsAndDropsTrailingSlash) {
  EXPECT_EQ(*NormalizeServerUrl("http://127.0.0.1:5000/"), "http://127.0.0.1:5000");
  EXPECT_EQ(*NormalizeServerUrl("https://vouch.example"), "https://vouch.example");
  EXPECT_EQ(NormalizeServerUrl("127.0.0.1:5000").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NormalizeServerUrl("ftp://x").status().code(), StatusCode::kInvalidArgument);
}

class SessionTest : public ::testing::Test {
 protected:
  Session MakeSession(OutputFormat format = OutputFormat::kJson) {
    return Session(transport_, format, out_, err_);
  }
  FakeTransport transport_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(SessionTest, RefusalPrintsServerMessageAndExitsOne) {
  transport_.Answer(404, R"({"error":{"code":"NOT_FOUND","message":"no model x"}})");
  Session session = MakeSession();
  EXPECT_EQ(session.Run(HttpRequest{"GET", "/api/v1/models/x", {}}, Display::kObject),
            kExitRefused);
  EXPECT_EQ(err_.str(), "vouch: NOT_FOUND: no model x\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(SessionTest, UnreachableServerExitsThree) {
  transport_.FailNext(Unavailable("cannot reach server at http://127.0.0.1:1: refused"));
  Session session = MakeSession();
  EXPECT_EQ(session.Run(HttpRequest{"GET", "/api/v1/whoami", {}}, Display::kObject),
            kExitUnreachable);
  EXPECT_EQ(err_.str(), "vouch: cannot reach server at http://127.0.0.1:1: refused\n");
}

TEST_F(SessionTest, UsageErrorSendsNothingAndExitsTwo) {
  Session session = MakeSession();
  EXPECT_EQ(session.Run(InvalidArgument("version must be a positive integer"), Display::kObject),
            kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(SessionTest, NonJsonSuccessBodyIsAFailure) {
  transport_.Answer(200, "<html>");
  Session session = MakeSession();
  EXPECT_EQ(session.Run(HttpRequest{"GET", "/api/v1/whoami", {}}, Display::kObject), kExitRefused);
}

TEST_F(SessionTest, NoContentPrintsNothing) {
  transport_.Answer(204, "");
  Session session = MakeSession(OutputFormat::kTable);
  EXPECT_EQ(session.Run(HttpRequest{"DELETE", "/api/v1/models/m", {}}, Display::kNothing), kExitOk);
  EXPECT_EQ(out_.str(), "");
}

ListRequest Events(std::optional<int64_t> limit) {
  return {"/api/v1/audit", {{"model", "m"}}, "events", limit, AuditLogColumns()};
}

TEST_F(SessionTest, ListFollowsPageTokensToTheEnd) {
  transport_.Answer(200, R"({"events":[{"seq":1},{"seq":2}],"next_page_token":"p2"})");
  transport_.Answer(200, R"({"events":[{"seq":3}]})");
  Session session = MakeSession(OutputFormat::kJsonl);
  EXPECT_EQ(session.RunList(Events(std::nullopt)), kExitOk);
  EXPECT_EQ(out_.str(), "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n");
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[0].target, "/api/v1/audit?model=m&limit=1000");
  EXPECT_EQ(transport_.requests[1].target, "/api/v1/audit?model=m&limit=1000&page_token=p2");
}

TEST_F(SessionTest, ListStopsAtLimitAndAsksOnlyForWhatIsLeft) {
  transport_.Answer(200, R"({"events":[{"seq":1},{"seq":2}],"next_page_token":"p2"})");
  transport_.Answer(200, R"({"events":[{"seq":3},{"seq":4}],"next_page_token":"p3"})");
  Session session = MakeSession(OutputFormat::kJsonl);
  EXPECT_EQ(session.RunList(Events(3)), kExitOk);
  EXPECT_EQ(out_.str(), "{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n");
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_EQ(transport_.requests[0].target, "/api/v1/audit?model=m&limit=3");
  EXPECT_EQ(transport_.requests[1].target, "/api/v1/audit?model=m&limit=1&page_token=p2");
}

TEST_F(SessionTest, ListRefusedMidwayKeepsEarlierItemsAndExitsOne) {
  transport_.Answer(200, R"({"events":[{"seq":1}],"next_page_token":"p2"})");
  transport_.Answer(400, R"({"error":{"code":"INVALID_ARGUMENT","message":"bad page token"}})");
  Session session = MakeSession();
  EXPECT_EQ(session.RunList(Events(std::nullopt)), kExitRefused);
  // Still one JSON document: the array is closed after the items that came.
  EXPECT_EQ(out_.str(), "[\n{\"seq\":1}\n]\n");
  EXPECT_EQ(err_.str(), "vouch: INVALID_ARGUMENT: bad page token\n");
}

TEST_F(SessionTest, ListStopsWhenServerRepeatsPageToken) {
  transport_.Answer(200, R"({"events":[{"seq":1}],"next_page_token":"p"})");
  transport_.Answer(200, R"({"events":[{"seq":1}],"next_page_token":"p"})");
  Session session = MakeSession();
  EXPECT_EQ(session.RunList(Events(std::nullopt)), kExitRefused);
  EXPECT_EQ(transport_.requests.size(), 2u);
}

TEST_F(SessionTest, ListWithoutItemsFieldIsAFailure) {
  transport_.Answer(200, R"({"models":[]})");
  Session session = MakeSession();
  EXPECT_EQ(session.RunList(Events(std::nullopt)), kExitRefused);
  EXPECT_NE(err_.str().find("events"), std::string::npos);
}

TEST_F(SessionTest, APostGoesOutWithAFreshIdempotencyKeyAndAGetWithNone) {
  Session session = MakeSession();
  EXPECT_EQ(
      session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"m"})"}, Display::kNothing),
      kExitOk);
  EXPECT_EQ(
      session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"n"})"}, Display::kNothing),
      kExitOk);
  EXPECT_EQ(session.Run(HttpRequest{"GET", "/api/v1/whoami", {}}, Display::kNothing), kExitOk);
  ASSERT_EQ(transport_.requests.size(), 3u);
  const std::string& first = transport_.requests[0].idempotency_key;
  EXPECT_TRUE(first.starts_with("cli-"));
  EXPECT_EQ(first.size(), 36u);
  EXPECT_NE(transport_.requests[1].idempotency_key, first);
  EXPECT_EQ(transport_.requests[2].idempotency_key, "");
}

TEST_F(SessionTest, ACreateWhoseAnswerWasLostIsRetriedWithTheSameKey) {
  transport_.FailNext(Unavailable("connection dropped"));
  transport_.Answer(503, R"({"error":{"code":"UNAVAILABLE","message":"retry"}})");
  transport_.Answer(201, R"({"model":{"name":"m"}})");
  Session session = MakeSession();
  session.set_retry_delay(std::chrono::milliseconds(0));
  EXPECT_EQ(session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"m"})"}, Display::kObject),
            kExitOk);
  ASSERT_EQ(transport_.requests.size(), 3u);
  for (const HttpRequest& r : transport_.requests) {
    EXPECT_EQ(r.idempotency_key, transport_.requests[0].idempotency_key);
    EXPECT_EQ(r.body, R"({"name":"m"})");
  }
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SessionTest, RetriesStopAfterThreeAttempts) {
  for (int i = 0; i < 4; ++i) transport_.FailNext(Unavailable("cannot reach server"));
  Session session = MakeSession();
  session.set_retry_delay(std::chrono::milliseconds(0));
  EXPECT_EQ(session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"m"})"}, Display::kObject),
            kExitUnreachable);
  EXPECT_EQ(transport_.requests.size(), static_cast<size_t>(Session::kMaxAttempts));
}

TEST_F(SessionTest, ARetryThatFindsTheFirstAttemptStillRunningIsRetriedAgain) {
  transport_.FailNext(Unavailable("timed out"));
  transport_.Answer(409, R"({"error":{"code":"ABORTED","message":"still in flight"}})");
  transport_.Answer(201, R"({"model":{"name":"m"}})");
  Session session = MakeSession();
  session.set_retry_delay(std::chrono::milliseconds(0));
  EXPECT_EQ(session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"m"})"}, Display::kObject),
            kExitOk);
  EXPECT_EQ(transport_.requests.size(), 3u);
}

TEST_F(SessionTest, RefusalsAndGetsAreNotRetried) {
  transport_.Answer(409, R"({"error":{"code":"ALREADY_EXISTS","message":"model m exists"}})");
  transport_.Answer(409, R"({"error":{"code":"ABORTED","message":"conflict"}})");
  transport_.FailNext(Unavailable("cannot reach server"));
  Session session = MakeSession();
  session.set_retry_delay(std::chrono::milliseconds(0));
  EXPECT_EQ(session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"m"})"}, Display::kObject),
            kExitRefused);
  // A first answer of 409 ABORTED is a conflict of its own, not this command's earlier attempt.
  EXPECT_EQ(session.Run(HttpRequest{"POST", "/api/v1/models", R"({"name":"n"})"}, Display::kObject),
            kExitRefused);
  EXPECT_EQ(session.Run(HttpRequest{"GET", "/api/v1/whoami", {}}, Display::kObject),
            kExitUnreachable);
  EXPECT_EQ(transport_.requests.size(), 3u);
}

TEST(CliHeaders, SendsTheIdempotencyKeyOnlyWhenTheRequestHasOne) {
  ClientOptions options{.server = "http://h", .token = "vch_t"};
  HttpRequest with{"POST", "/api/v1/models", "{}"};
  with.idempotency_key = "cli-abc";
  auto headers = RequestHeaders(options, with, "cli-1");
  EXPECT_NE(std::find(headers.begin(), headers.end(),
                      std::pair<std::string, std::string>{"Idempotency-Key", "cli-abc"}),
            headers.end());
  for (const auto& [name, value] : RequestHeaders(options, {"POST", "/x", "{}"}, "cli-1")) {
    EXPECT_NE(name, "Idempotency-Key");
  }
}

}  // namespace
}  // namespace vouch::cli

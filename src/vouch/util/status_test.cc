#include "vouch/util/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace vouch {
namespace {

TEST(StatusCodeName, NamesEachAbseilCodeOnceAndTheTwoDoorCodesAfterTheirNearest) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnauthenticated); ++c) {
    EXPECT_TRUE(names.insert(StatusCodeName(static_cast<StatusCode>(c))).second) << c;
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(StatusCode::kPayloadTooLarge), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(StatusCode::kMethodNotAllowed), "UNIMPLEMENTED");
  EXPECT_EQ(StatusCodeName(StatusCode::kIdempotencyKeyReused), "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(StatusCodeName(StatusCode::kReauthRequired), "REAUTH_REQUIRED");
  EXPECT_EQ(StatusCodeName(StatusCode::kReauthFailed), "REAUTH_FAILED");
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(OkStatus().ok());
}

TEST(Status, ToStringNamesTheCodeAndMessage) {
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(1000)), "UNKNOWN");
  EXPECT_EQ(NotFound("no such model").ToString(), "NOT_FOUND: no such model");
  EXPECT_EQ(Status(StatusCode::kPayloadTooLarge, "big").ToString(), "RESOURCE_EXHAUSTED: big");
}

TEST(Status, HelpersCarryTheirCodes) {
  EXPECT_EQ(InvalidArgument("m").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NotFound("m").code(), StatusCode::kNotFound);
  EXPECT_EQ(AlreadyExists("m").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(FailedPrecondition("m").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(PermissionDenied("m").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Unauthenticated("m").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Internal("m").code(), StatusCode::kInternal);
  EXPECT_EQ(Unavailable("m").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Aborted("m").code(), StatusCode::kAborted);
  EXPECT_EQ(ResourceExhausted("m").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(NotFound("the message").message(), "the message");
}

TEST(Status, WithContextPrefixesFailuresAndLeavesOkAlone) {
  Status s = NotFound("row 7").WithContext("loading model");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "loading model: row 7");
  EXPECT_TRUE(OkStatus().WithContext("anything").ok());
  EXPECT_EQ(OkStatus().WithContext("anything").message(), "");
}

// g++ 12 at -O3 takes the Status alternative of a Result<int> holding an int for maybe
// uninitialized once status() is inlined here (a false positive, as -Wrestrict's in
// CMakeLists.txt).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
TEST(Result, HoldsAValue) {
  const Result<int> good(5);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  EXPECT_TRUE(good.status().ok());
}
#pragma GCC diagnostic pop

TEST(Result, HoldsAStatusOrAMoveOnlyValue) {
  Result<int> bad = NotFound("x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  Result<std::unique_ptr<int>> moved = std::make_unique<int>(3);
  std::unique_ptr<int> out = std::move(moved).value();
  EXPECT_EQ(*out, 3);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  VOUCH_ASSIGN_OR_RETURN(int half, Half(x));
  VOUCH_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  VOUCH_TRY(Half(x));
  VOUCH_TRY(OkStatus());
  return OkStatus();
}

TEST(Result, MacrosPropagateTheFirstFailure) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(5).status().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch

#include "vouch/util/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace vouch {
namespace {

constexpr StatusCode kAllCodes[] = {
    StatusCode::kOk,
    StatusCode::kCancelled,
    StatusCode::kUnknown,
    StatusCode::kInvalidArgument,
    StatusCode::kDeadlineExceeded,
    StatusCode::kNotFound,
    StatusCode::kAlreadyExists,
    StatusCode::kPermissionDenied,
    StatusCode::kResourceExhausted,
    StatusCode::kFailedPrecondition,
    StatusCode::kAborted,
    StatusCode::kOutOfRange,
    StatusCode::kUnimplemented,
    StatusCode::kInternal,
    StatusCode::kUnavailable,
    StatusCode::kDataLoss,
    StatusCode::kUnauthenticated,
    StatusCode::kPayloadTooLarge,
    StatusCode::kMethodNotAllowed,
    StatusCode::kIdempotencyKeyReused,
};

TEST(ErrorTable, MapsTheCanonicalCodesToTheirNativeNameAndStatus) {
  struct Row {
    StatusCode code;
    std::string_view name;
    int http;
  };
  for (const Row& row : {
           Row{StatusCode::kOk, "OK", 200},
           Row{StatusCode::kInvalidArgument, "INVALID_ARGUMENT", 400},
           Row{StatusCode::kFailedPrecondition, "FAILED_PRECONDITION", 400},
           Row{StatusCode::kOutOfRange, "OUT_OF_RANGE", 400},
           Row{StatusCode::kUnauthenticated, "UNAUTHENTICATED", 401},
           Row{StatusCode::kPermissionDenied, "PERMISSION_DENIED", 403},
           Row{StatusCode::kNotFound, "NOT_FOUND", 404},
           Row{StatusCode::kAlreadyExists, "ALREADY_EXISTS", 409},
           Row{StatusCode::kAborted, "ABORTED", 409},
           Row{StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED", 429},
           Row{StatusCode::kCancelled, "CANCELLED", 499},
           Row{StatusCode::kInternal, "INTERNAL", 500},
           Row{StatusCode::kUnknown, "UNKNOWN", 500},
           Row{StatusCode::kDataLoss, "DATA_LOSS", 500},
           Row{StatusCode::kUnimplemented, "UNIMPLEMENTED", 501},
           Row{StatusCode::kUnavailable, "UNAVAILABLE", 503},
           Row{StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED", 504},
       }) {
    EXPECT_EQ(InfoFor(row.code).name, row.name);
    EXPECT_EQ(InfoFor(row.code).http_status, row.http) << row.name;
  }
}

TEST(ErrorTable, AnOversizedBodyIs413ResourceExhausted) {
  const ErrorInfo& info = InfoFor(StatusCode::kPayloadTooLarge);
  EXPECT_EQ(info.name, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(info.http_status, 413);
  EXPECT_EQ(info.mlflow_http_status, 413);
  EXPECT_EQ(info.aws_http_status, 413);
}

TEST(ErrorTable, AWrongMethodIs405) {
  const ErrorInfo& info = InfoFor(StatusCode::kMethodNotAllowed);
  EXPECT_EQ(info.name, "UNIMPLEMENTED");
  EXPECT_EQ(info.http_status, 405);
  EXPECT_EQ(info.mlflow_http_status, 405);
}

TEST(ErrorTable, AReusedIdempotencyKeyIs422OnTheNativeAndMlflowDoors) {
  const ErrorInfo& info = InfoFor(StatusCode::kIdempotencyKeyReused);
  EXPECT_EQ(info.name, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(info.http_status, 422);
  EXPECT_EQ(info.mlflow_code, "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(info.mlflow_http_status, 422);
}

TEST(ErrorTable, AlreadyExistsIs409NativelyButMlflowSays400) {
  const ErrorInfo& info = InfoFor(StatusCode::kAlreadyExists);
  EXPECT_EQ(info.http_status, 409);
  EXPECT_EQ(info.mlflow_code, "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(info.mlflow_http_status, 400);
}

TEST(ErrorTable, GivesMlflowAndAwsTheirOwnNames) {
  EXPECT_EQ(InfoFor(StatusCode::kNotFound).mlflow_code, "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(InfoFor(StatusCode::kNotFound).mlflow_http_status, 404);
  EXPECT_EQ(InfoFor(StatusCode::kInvalidArgument).mlflow_code, "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(InfoFor(StatusCode::kNotFound).aws_type, "ResourceNotFound");
  EXPECT_EQ(InfoFor(StatusCode::kInvalidArgument).aws_type, "ValidationException");
  EXPECT_EQ(InfoFor(StatusCode::kUnauthenticated).mlflow_http_status, 401);
}

TEST(ErrorTable, EveryCodeHasARowWithAnErrorStatus) {
  for (StatusCode code : kAllCodes) {
    const ErrorInfo& info = InfoFor(code);
    EXPECT_FALSE(info.name.empty()) << static_cast<int>(code);
    if (code == StatusCode::kOk) continue;
    EXPECT_GE(info.http_status, 400) << info.name;
    EXPECT_LT(info.http_status, 600) << info.name;
    EXPECT_GE(info.mlflow_http_status, 400) << info.name;
    EXPECT_FALSE(info.mlflow_code.empty()) << info.name;
    EXPECT_FALSE(info.aws_type.empty()) << info.name;
    EXPECT_GE(info.aws_http_status, 400) << info.name;
  }
  // Each abseil code has its own native name; only the two door-specific codes reuse one.
  std::set<std::string_view> names;
  for (StatusCode code : kAllCodes) {
    if (code == StatusCode::kPayloadTooLarge || code == StatusCode::kMethodNotAllowed) continue;
    EXPECT_TRUE(names.insert(InfoFor(code).name).second) << InfoFor(code).name;
  }
}

TEST(ErrorTable, AnOutOfRangeCodeReadsAsUnknown) {
  EXPECT_EQ(InfoFor(static_cast<StatusCode>(1000)).name, "UNKNOWN");
  EXPECT_EQ(InfoFor(static_cast<StatusCode>(1000)).http_status, 500);
}

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(OkStatus().ok());
}

TEST(Status, ToStringNamesTheCodeAndMessage) {
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

TEST(Result, HoldsAValueOrAStatus) {
  Result<int> good = 5;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  EXPECT_TRUE(good.status().ok());
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

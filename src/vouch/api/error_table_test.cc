#include "vouch/api/error_table.h"

#include <gtest/gtest.h>

#include <set>

namespace vouch::api {
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
    StatusCode::kReauthRequired,
    StatusCode::kReauthFailed,
    StatusCode::kEntryTooLarge,
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

TEST(ErrorTable, AnEntryTooLargeForATileBundleIs422WithItsOwnNativeName) {
  const ErrorInfo& info = InfoFor(StatusCode::kEntryTooLarge);
  EXPECT_EQ(info.name, "ENTRY_TOO_LARGE");
  EXPECT_EQ(info.http_status, 422);
  EXPECT_EQ(StatusCodeName(StatusCode::kEntryTooLarge), "ENTRY_TOO_LARGE");
}

TEST(ErrorTable, ReauthenticationCodesAre401WithTheirOwnNativeNamesAndUnauthenticatedElsewhere) {
  for (StatusCode code : {StatusCode::kReauthRequired, StatusCode::kReauthFailed}) {
    const ErrorInfo& info = InfoFor(code);
    EXPECT_EQ(info.http_status, 401);
    EXPECT_EQ(info.mlflow_code, "UNAUTHENTICATED");
    EXPECT_EQ(info.mlflow_http_status, 401);
    EXPECT_EQ(info.aws_type, "UnrecognizedClientException");
  }
  EXPECT_EQ(InfoFor(StatusCode::kReauthRequired).name, "REAUTH_REQUIRED");
  EXPECT_EQ(InfoFor(StatusCode::kReauthFailed).name, "REAUTH_FAILED");
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

TEST(ErrorTable, TheNativeColumnNamesEachCodeAsStatusCodeNameDoes) {
  for (StatusCode code : kAllCodes) EXPECT_EQ(InfoFor(code).name, StatusCodeName(code));
}

TEST(ErrorTable, TheAwsColumnUsesSageMakersAndAwsCommonErrorNames) {
  EXPECT_EQ(InfoFor(StatusCode::kFailedPrecondition).aws_type, "ConflictException");
  EXPECT_EQ(InfoFor(StatusCode::kPermissionDenied).aws_type, "AccessDeniedException");
  EXPECT_EQ(InfoFor(StatusCode::kResourceExhausted).aws_type, "ThrottlingException");
  EXPECT_EQ(InfoFor(StatusCode::kUnauthenticated).aws_type, "UnrecognizedClientException");
  // AWS answers client errors with 400 whatever their type; server failures keep 5xx.
  EXPECT_EQ(InfoFor(StatusCode::kNotFound).aws_http_status, 400);
  EXPECT_EQ(InfoFor(StatusCode::kPermissionDenied).aws_http_status, 400);
  EXPECT_EQ(InfoFor(StatusCode::kInternal).aws_http_status, 500);
  EXPECT_EQ(InfoFor(StatusCode::kUnavailable).aws_http_status, 503);
}

}  // namespace
}  // namespace vouch::api

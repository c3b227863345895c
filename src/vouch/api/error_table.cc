#include "vouch/api/error_table.h"

#include <array>

namespace vouch::api {
namespace {

// Indexed by StatusCode. MLflow statuses follow mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS;
// AWS types and statuses follow the sagemaker service model (ResourceNotFound, ResourceInUse,
// ConflictException, ValidationException) and AWS's common errors (AccessDeniedException,
// ThrottlingException, UnrecognizedClientException, InternalFailure, ServiceUnavailable).
constexpr std::array<ErrorInfo, 23> kErrorTable = {{
    {"OK", 200, "", 200, "", 200},
    {"CANCELLED", 499, "CANCELLED", 499, "RequestCanceled", 400},
    {"UNKNOWN", 500, "INTERNAL_ERROR", 500, "InternalFailure", 500},
    {"INVALID_ARGUMENT", 400, "INVALID_PARAMETER_VALUE", 400, "ValidationException", 400},
    {"DEADLINE_EXCEEDED", 504, "TEMPORARILY_UNAVAILABLE", 503, "RequestTimeout", 408},
    {"NOT_FOUND", 404, "RESOURCE_DOES_NOT_EXIST", 404, "ResourceNotFound", 400},
    {"ALREADY_EXISTS", 409, "RESOURCE_ALREADY_EXISTS", 400, "ResourceInUse", 400},
    {"PERMISSION_DENIED", 403, "PERMISSION_DENIED", 403, "AccessDeniedException", 400},
    {"RESOURCE_EXHAUSTED", 429, "REQUEST_LIMIT_EXCEEDED", 429, "ThrottlingException", 400},
    {"FAILED_PRECONDITION", 400, "INVALID_PARAMETER_VALUE", 400, "ConflictException", 400},
    {"ABORTED", 409, "ABORTED", 409, "ConflictException", 400},
    {"OUT_OF_RANGE", 400, "INVALID_PARAMETER_VALUE", 400, "ValidationException", 400},
    {"UNIMPLEMENTED", 501, "NOT_IMPLEMENTED", 501, "UnknownOperationException", 400},
    {"INTERNAL", 500, "INTERNAL_ERROR", 500, "InternalFailure", 500},
    {"UNAVAILABLE", 503, "TEMPORARILY_UNAVAILABLE", 503, "ServiceUnavailable", 503},
    {"DATA_LOSS", 500, "INTERNAL_ERROR", 500, "InternalFailure", 500},
    {"UNAUTHENTICATED", 401, "UNAUTHENTICATED", 401, "UnrecognizedClientException", 400},
    {"RESOURCE_EXHAUSTED", 413, "REQUEST_LIMIT_EXCEEDED", 413, "ValidationException", 413},
    {"UNIMPLEMENTED", 405, "ENDPOINT_NOT_FOUND", 405, "UnknownOperationException", 405},
    {"IDEMPOTENCY_KEY_REUSED", 422, "INVALID_PARAMETER_VALUE", 422, "ValidationException", 400},
    // Re-authentication for a signature: MLflow and AWS clients know only their own codes, so
    // these read there as UNAUTHENTICATED does (the message says which).
    {"REAUTH_REQUIRED", 401, "UNAUTHENTICATED", 401, "UnrecognizedClientException", 400},
    {"REAUTH_FAILED", 401, "UNAUTHENTICATED", 401, "UnrecognizedClientException", 400},
    {"ENTRY_TOO_LARGE", 422, "INVALID_PARAMETER_VALUE", 422, "ValidationException", 400},
}};

}  // namespace

const ErrorInfo& InfoFor(StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < kErrorTable.size() ? kErrorTable[i]
                                : kErrorTable[static_cast<size_t>(StatusCode::kUnknown)];
}

}  // namespace vouch::api

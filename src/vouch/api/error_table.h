// The one error table: how each StatusCode looks on each front door. Every door's error renderer
// reads its own column here (the native door in api/native, MLflow's in api/mlflow, the AWS
// JSON 1.1 column for the SageMaker door to come); doors never invent their own mapping. A new code
// or door adds its row or column here and nowhere else.
#pragma once

#include <string_view>

#include "vouch/util/status.h"

namespace vouch::api {

struct ErrorInfo {
  std::string_view name;         // native API code: StatusCodeName(code), e.g. "NOT_FOUND"
  int http_status;               // native HTTP status, e.g. 404
  std::string_view mlflow_code;  // MLflow error_code, e.g. "RESOURCE_DOES_NOT_EXIST"
  int mlflow_http_status;     // MLflow's status for that error_code (ALREADY_EXISTS is 400 there)
  std::string_view aws_type;  // AWS JSON 1.1 __type, e.g. "ResourceNotFound" (botocore's
                              // sagemaker service model and AWS's common errors)
  int aws_http_status;        // AWS answers most client errors with 400
};

// The row for `code`; a value outside the enum reads as kUnknown's row.
const ErrorInfo& InfoFor(StatusCode code);

}  // namespace vouch::api

// Server logging over spdlog, to standard error: human text, or one JSON object per line.
#pragma once

#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch::server {

// Installs the default logger. INVALID_ARGUMENT for an unknown format ("text", "json") or level.
Status SetUpLogging(std::string_view format, std::string_view level);

struct RequestLogLine {
  std::string_view method;
  std::string_view path;
  int status = 0;
  double latency_ms = 0;
  std::string_view request_id;
  std::string_view peer;
};

// One line per request; in JSON mode each field is its own member.
void LogRequest(const RequestLogLine& line);

}  // namespace vouch::server

// Turning command-line text into request parts: k=v pairs, numbers, times, digests, encoded URLs.
// Every failure here is the user's invocation being wrong, so each returns INVALID_ARGUMENT with a
// message that names the option and the offending text (the CLI exits 2 on it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vouch/util/json.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::cli {

// Splits "key=value" at the first '=' (values may contain '='). INVALID_ARGUMENT when there is no
// '=' or the key is empty; `option` ("--tag") names the option in the message.
Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                          std::string_view option);

// Repeated "k=v" options as a JSON object of strings (tags, params). INVALID_ARGUMENT for a
// malformed pair or a key given twice, since silently keeping one of them would lose input.
Result<json::object> ParseStringPairs(const std::vector<std::string>& pairs,
                                      std::string_view option);

// Repeated "k=1.5" options as a JSON object of numbers (metrics). INVALID_ARGUMENT as above, or
// when a value is not a finite number.
Result<json::object> ParseMetricPairs(const std::vector<std::string>& pairs,
                                      std::string_view option);

// A finite decimal number, the whole text ("0.93", "-1e-3"). INVALID_ARGUMENT otherwise ("nan",
// "1.5x", "").
Result<double> ParseMetricValue(std::string_view text);

// A positive integer that fits in 53 bits (JSON-safe), the whole text. `what` names it in the
// message ("version"). INVALID_ARGUMENT otherwise.
Result<int64_t> ParsePositiveInt(std::string_view text, std::string_view what);

// RFC 3986 percent-encoding: every byte but the unreserved set A-Z a-z 0-9 - . _ ~ becomes %XX, so
// '/' in a model name cannot split the path and UTF-8 survives byte for byte.
std::string PercentEncode(std::string_view text);

// One path segment: PercentEncode, and additionally a segment made only of dots ("." or "..") is
// fully encoded so that no URL normaliser on the way treats it as a relative reference.
std::string PathSegment(std::string_view text);

// "?k1=v1&k2=v2" with keys and values percent-encoded, in the given order; "" when empty.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params);

// A CLI time (RFC 3339, or relative to `now` like "-24h") as the RFC 3339 text the server takes.
// INVALID_ARGUMENT naming `option` when it is neither.
Result<std::string> TimeArgToRfc3339(std::string_view text, TimeMs now, std::string_view option);

// INVALID_ARGUMENT unless `digest` is "sha256:" followed by 64 lowercase hex digits.
Status ValidateArtifactDigest(std::string_view digest);

// "sha256:<hex>" of the file at `path`, read in chunks so large artifacts need little memory.
// INVALID_ARGUMENT (with the OS reason) when the file cannot be read.
Result<std::string> FileSha256Digest(const std::string& path);

}  // namespace vouch::cli

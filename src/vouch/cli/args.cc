#include "vouch/cli/args.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

// JSON numbers are doubles in many clients; larger integers would not round-trip.
constexpr int64_t kMaxSafeInt = (int64_t{1} << 53) - 1;
constexpr size_t kReadChunk = 1 << 20;

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Shared by the string and metric forms: parse each pair, refuse repeated keys.
template <typename ConvertValue>
Result<json::object> ParsePairs(const std::vector<std::string>& pairs, std::string_view option,
                                ConvertValue convert) {
  json::object out;
  for (const std::string& text : pairs) {
    VOUCH_ASSIGN_OR_RETURN(auto pair, ParseKeyValue(text, option));
    if (out.contains(pair.first)) {
      return InvalidArgument(fmt::format("{} {} given more than once", option, pair.first));
    }
    VOUCH_ASSIGN_OR_RETURN(json::value value, convert(pair));
    out.emplace(pair.first, std::move(value));
  }
  return out;
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                          std::string_view option) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument(fmt::format("{} expects KEY=VALUE, got '{}'", option, text));
  }
  return std::pair<std::string, std::string>(text.substr(0, eq), text.substr(eq + 1));
}

Result<json::object> ParseStringPairs(const std::vector<std::string>& pairs,
                                      std::string_view option) {
  return ParsePairs(pairs, option, [](const auto& pair) -> Result<json::value> {
    return json::value(pair.second);
  });
}

Result<json::object> ParseMetricPairs(const std::vector<std::string>& pairs,
                                      std::string_view option) {
  return ParsePairs(pairs, option, [option](const auto& pair) -> Result<json::value> {
    Result<double> value = ParseMetricValue(pair.second);
    if (!value.ok()) return value.status().WithContext(fmt::format("{} {}", option, pair.first));
    return json::value(*value);
  });
}

Result<double> ParseMetricValue(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return InvalidArgument(fmt::format("expected a finite number, got '{}'", text));
  }
  return value;
}

Result<int64_t> ParsePositiveInt(std::string_view text, std::string_view what) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > kMaxSafeInt) {
    return InvalidArgument(fmt::format("{} must be a positive integer, got '{}'", what, text));
  }
  return value;
}

std::string PercentEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string PathSegment(std::string_view text) {
  if (!text.empty() && text.find_first_not_of('.') == std::string_view::npos) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) out += "%2E";
    return out;
  }
  return PercentEncode(text);
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    out += out.empty() ? '?' : '&';
    out += PercentEncode(key);
    out += '=';
    out += PercentEncode(value);
  }
  return out;
}

Result<std::string> TimeArgToRfc3339(std::string_view text, TimeMs now, std::string_view option) {
  Result<TimeMs> time = ParseTimeArg(text, now);
  if (!time.ok()) {
    return InvalidArgument(fmt::format(
        "{} expects an RFC 3339 time or a relative one like -24h, got '{}'", option, text));
  }
  return FormatRfc3339Ms(*time);
}

Status ValidateArtifactDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  const bool ok = digest.starts_with(kPrefix) && digest.size() == kPrefix.size() + 64 &&
                  std::all_of(digest.begin() + kPrefix.size(), digest.end(), IsLowerHex);
  if (!ok) {
    return InvalidArgument(fmt::format(
        "--artifact-digest expects sha256: and 64 lowercase hex digits, got '{}'", digest));
  }
  return OkStatus();
}

Result<std::string> FileSha256Digest(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    return InvalidArgument(
        fmt::format("cannot read --artifact {}: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("OpenSSL could not start a SHA-256 digest");
  }
  std::string buffer(kReadChunk, '\0');
  while (true) {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (n > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), n);
    if (n < buffer.size()) break;
  }
  if (std::ferror(file.get())) {
    return InvalidArgument(
        fmt::format("cannot read --artifact {}: {}", path, std::strerror(errno)));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  return "sha256:" + HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace vouch::cli

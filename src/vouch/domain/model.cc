#include "vouch/domain/model.h"

#include "vouch/util/json.h"
#include "vouch/util/text.h"

#include <fmt/format.h>
#include <array>
#include <cmath>

namespace vouch {
namespace {

constexpr std::array<std::string_view, 4> kStageNames = {"None", "Staging", "Production",
                                                         "Archived"};

Status CheckKey(std::string_view what, std::string_view key) {
  VOUCH_TRY(ValidateUtf8(what, key));
  if (key.empty()) return InvalidArgument(fmt::format("{} must not be empty", what));
  if (Utf8Length(key) > kMaxTagKeyLength) {
    return InvalidArgument(fmt::format("{} '{}…' is longer than {} characters", what,
                                       key.substr(0, 32), kMaxTagKeyLength));
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(fmt::format("{} must not contain control characters", what));
    }
  }
  return OkStatus();
}

// Free text keeps every character a client sends (MLflow takes control characters too), but its
// canonical JSON, quotes aside, may take at most four bytes for each character of its limit: what
// the widest text without control characters takes. A control character other than tab, line feed
// and carriage return is six bytes there (\u0001), so only text made mostly of them, near the
// limit, is refused; with the record limit (service/events.h) a field's value before and after a
// change then still fits one audit event.
Status CheckTextBytes(std::string_view what, std::string_view text, size_t max_characters) {
  auto canonical = CanonicalJson(json::value(json::string_view(text.data(), text.size())));
  if (!canonical.ok()) return canonical.status();
  const size_t bytes = canonical->size() - 2;
  if (bytes > 4 * max_characters) {
    return InvalidArgument(fmt::format(
        "{} takes {} bytes in canonical JSON, over the limit of {} (a control character other than "
        "tab, line feed and carriage return takes six)",
        what, bytes, 4 * max_characters));
  }
  return OkStatus();
}

}  // namespace

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string_view StageName(Stage s) { return kStageNames[static_cast<size_t>(s)]; }

Result<Stage> ParseStage(std::string_view text) {
  for (size_t i = 0; i < kStageNames.size(); ++i) {
    if (EqualsIgnoreCase(text, kStageNames[i])) return static_cast<Stage>(i);
  }
  return InvalidArgument(fmt::format(
      "Invalid Model Version stage: {}. Value must be one of None, Staging, Production, Archived.",
      text));
}

bool IsActiveStage(Stage s) { return s == Stage::kStaging || s == Stage::kProduction; }

Status ValidateUtf8(std::string_view field, std::string_view s) {
  if (!IsValidUtf8(s)) return InvalidArgument(fmt::format("{} is not valid UTF-8", field));
  // U+0000 ends a string in C and in libpq's parameters: refused on every store alike, so that
  // "prod\0-scratch" can never act on "prod".
  if (s.find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format("{} must not contain the NUL character", field));
  }
  return OkStatus();
}

Status ValidateModelName(std::string_view name) {
  if (name.empty()) return InvalidArgument("Missing value for required parameter 'name'.");
  VOUCH_TRY(ValidateUtf8("model name", name));
  if (Utf8Length(name) > kMaxNameLength) {
    return InvalidArgument(fmt::format("model name is longer than {} characters", kMaxNameLength));
  }
  bool only_space = true;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument("model name must not contain control characters");
    }
    if (c != ' ') only_space = false;
  }
  if (only_space) return InvalidArgument("model name must not be only whitespace");
  return OkStatus();
}

Status ValidateTagKey(std::string_view key) { return CheckKey("tag key", key); }

Status ValidateTagValue(std::string_view key, std::string_view value) {
  VOUCH_TRY(ValidateUtf8("tag value", value));
  if (Utf8Length(value) > kMaxTagValueLength) {
    return InvalidArgument(
        fmt::format("value of tag '{}' is longer than {} characters", key, kMaxTagValueLength));
  }
  return CheckTextBytes(fmt::format("value of tag '{}'", key), value, kMaxTagValueLength);
}

Status ValidateMetric(std::string_view key, double value) {
  VOUCH_TRY(CheckKey("metric name", key));
  if (!std::isfinite(value)) {
    return InvalidArgument(fmt::format("metric '{}' must be a finite number", key));
  }
  return OkStatus();
}

Status ValidateParam(std::string_view key, std::string_view value) {
  VOUCH_TRY(CheckKey("param name", key));
  VOUCH_TRY(ValidateUtf8("param value", value));
  if (Utf8Length(value) > kMaxParamValueLength) {
    return InvalidArgument(
        fmt::format("value of param '{}' is longer than {} characters", key, kMaxParamValueLength));
  }
  return CheckTextBytes(fmt::format("value of param '{}'", key), value, kMaxParamValueLength);
}

Status ValidateAlias(std::string_view alias) {
  if (alias.empty() || alias.size() > kMaxAliasLength) {
    return InvalidArgument(fmt::format(
        "Invalid alias name: '{}'. Alias must be 1 to {} characters of letters, digits, "
        "'_' or '-'.",
        alias.substr(0, 64), kMaxAliasLength));
  }
  for (unsigned char c : alias) {
    if (!(std::isalnum(c) || c == '_' || c == '-')) {
      return InvalidArgument(fmt::format(
          "Invalid alias name: '{}'. Alias may only contain letters, digits, '_' and '-'.",
          alias.substr(0, 64)));
    }
  }
  if (EqualsIgnoreCase(alias, "latest")) {
    return InvalidArgument("'latest' alias name (case insensitive) is reserved.");
  }
  if ((alias[0] == 'v' || alias[0] == 'V') && alias.size() > 1 &&
      alias.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "Version alias name '{}' is reserved: 'v' or 'V' followed by digits names a version.",
        alias));
  }
  return OkStatus();
}

Status ValidateSource(std::string_view source) {
  if (source.empty()) return InvalidArgument("Missing value for required parameter 'source'.");
  VOUCH_TRY(ValidateUtf8("source", source));
  if (Utf8Length(source) > kMaxSourceLength) {
    return InvalidArgument(fmt::format("source is longer than {} characters", kMaxSourceLength));
  }
  for (unsigned char c : source) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("source must not contain control characters");
  }
  return OkStatus();
}

Status ValidateRunId(std::string_view run_id) {
  VOUCH_TRY(ValidateUtf8("run_id", run_id));
  if (Utf8Length(run_id) > kMaxRunIdLength) {
    return InvalidArgument(fmt::format("run_id is longer than {} characters", kMaxRunIdLength));
  }
  for (unsigned char c : run_id) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("run_id must not contain control characters");
  }
  return OkStatus();
}

Status ValidateDescription(std::string_view description) {
  VOUCH_TRY(ValidateUtf8("description", description));
  if (Utf8Length(description) > kMaxDescriptionLength) {
    return InvalidArgument(
        fmt::format("description is longer than {} characters", kMaxDescriptionLength));
  }
  return CheckTextBytes("description", description, kMaxDescriptionLength);
}

Status ValidateArtifactDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  bool ok = digest.size() == kPrefix.size() + 64 && digest.substr(0, kPrefix.size()) == kPrefix &&
            digest.find_first_not_of("0123456789abcdef", kPrefix.size()) == std::string_view::npos;
  if (!ok) {
    return InvalidArgument(
        "artifact_digest must be 'sha256:' followed by 64 lowercase hexadecimal digits");
  }
  return OkStatus();
}

}  // namespace vouch

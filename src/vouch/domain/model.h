// Models, versions, stages and aliases: plain types and their validation at the edge (no I/O).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch {

enum class Stage { kNone, kStaging, kProduction, kArchived };

// Canonical name: "None", "Staging", "Production", "Archived".
std::string_view StageName(Stage s);
// Case-insensitive. INVALID_ARGUMENT naming the allowed stages for anything else.
Result<Stage> ParseStage(std::string_view text);
// Staging and Production: the stages `archive_existing` may be used with.
bool IsActiveStage(Stage s);

using StringMap = std::map<std::string, std::string>;
using MetricMap = std::map<std::string, double>;

struct ModelVersion;

struct Model {
  int64_t id = 0;  // internal; a re-created name is a new id
  std::string name;
  std::string description;
  StringMap tags;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::string created_by;
  int64_t created_by_id = 0;  // the creating principal's id; 0 for models made before schema 11
  int64_t last_version = 0;   // the highest number ever given, so numbers are never reused
  std::optional<int64_t> latest_live_version;  // filled on reads
  std::map<std::string, int64_t> aliases;      // alias -> version; filled on reads
  // The highest live version in each stage; filled by searches, which answer with it.
  std::vector<ModelVersion> latest_versions;
};

struct ModelVersion {
  int64_t id = 0;  // internal
  int64_t model_id = 0;
  std::string model_name;
  int64_t version = 0;
  std::string source;
  std::string run_id;
  std::string run_link;   // a URL to the run, as MLflow's run_link
  std::string model_ref;  // MLflow 3 `model_id` (a logged model's id)
  std::string description;
  std::string artifact_digest;
  // Where the artifacts are when `source` is a models:/ URI resolved at creation (a copy).
  std::string storage_location;
  std::string status = "READY";
  Stage stage = Stage::kNone;
  StringMap tags;
  MetricMap metrics;
  StringMap params;
  std::vector<std::string> aliases;  // filled on reads
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  std::string created_by;
  int64_t created_by_id = 0;  // the creating principal's id; 0 for versions made before schema 11
};

// Limits enforced at the edge (docs/api.md "Validation"). Each is MLflow's where it has one (a
// description is its registry column's 5,000); with them, and the record limit of the service
// (service/events.h), every audit event fits one tlog-tiles entry (65,535 bytes).
inline constexpr size_t kMaxNameLength = 256;
inline constexpr size_t kMaxTagKeyLength = 250;
inline constexpr size_t kMaxTagValueLength = 5000;
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxSourceLength = 4096;
inline constexpr size_t kMaxDescriptionLength = 5000;
inline constexpr size_t kMaxAliasLength = 255;
inline constexpr size_t kMaxRunIdLength = 256;

// The number of code points in valid UTF-8: limits count characters, as MLflow's Python does.
size_t Utf8Length(std::string_view utf8);

// Each returns INVALID_ARGUMENT with a message naming what is wrong, or OK. Free text (tag and
// param values, descriptions) is valid UTF-8 and may hold any character, control characters
// included, but its canonical JSON may take at most 4 bytes per character of its limit (what the
// widest text without control characters takes; a control character other than tab, line feed and
// carriage return takes six).
Status ValidateUtf8(std::string_view field, std::string_view text);
Status ValidateModelName(std::string_view name);
Status ValidateTagKey(std::string_view key);
Status ValidateTagValue(std::string_view key, std::string_view value);
Status ValidateMetric(std::string_view key, double value);
Status ValidateParam(std::string_view key, std::string_view value);
Status ValidateAlias(std::string_view alias);
Status ValidateSource(std::string_view source);
Status ValidateRunId(std::string_view run_id);
Status ValidateDescription(std::string_view description);
Status ValidateArtifactDigest(std::string_view digest);

}  // namespace vouch

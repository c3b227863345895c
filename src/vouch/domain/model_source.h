// A model version's source as MLflow 3.17's server reads it, for the checks that need no tracking
// store (no I/O here): relative path references, `runs:/` sources against the run id, and the
// grammar of `models:/` sources. Resolving `models:/NAME/...` against the registry is the
// service's (registry.cc), since it reads the store.
//
// Not copied from MLflow (vouch reads no source, so these guard nothing here): the refusal of local
// paths and `file://` URIs, of `mlflow-artifacts:/` sources without a run, of host-addressed
// schemes
// (`http`, `https`, `hdfs`, ...), and of an empty or relative path (`s3://bucket`). docs/mlflow.md
// lists each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch {

// The parts of a URI as Python's urllib.parse.urlparse splits them (the scheme lowercased;
// `;params` left in the path, which no source check reads).
struct UriParts {
  std::string scheme;
  std::string netloc;
  std::string path;
  std::string query;
  std::string fragment;
};
UriParts SplitUri(std::string_view uri, bool allow_fragments = true);

// What a `models:/` source names.
enum class ModelsRefKind {
  kVersion,  // models:/NAME/12
  kLatest,   // models:/NAME/latest (any case)
  kStage,    // models:/NAME/Production (any case; the service validates the stage)
  kAlias,    // models:/NAME@ALIAS
  kModelId,  // models:/<logged model id>
};

struct ModelsRef {
  ModelsRefKind kind = ModelsRefKind::kModelId;
  std::string name;      // the registered model (all kinds but kModelId)
  std::string selector;  // the version digits, the stage or the alias as written
  std::string model_id;  // kModelId only
};

// For a source whose scheme is `models` (any case): what it names. std::nullopt for any other
// source. INVALID_ARGUMENT, with MLflow's message, for `models://host/...` ("Registered model
// sources must use the active model registry.") and for a models URI MLflow cannot parse.
Result<std::optional<ModelsRef>> ParseModelsSource(std::string_view source);

// The checks MLflow makes on a source once `models:/NAME/...` lineage is resolved
// (handlers.py: _validate_source_run / _validate_source_model), those that need no tracking store.
// INVALID_ARGUMENT with MLflow's message when:
//   - the source, percent-decoded until it no longer changes, has a `..` segment, or its path has
//     a `.` or `..` segment or a NUL;
//   - without a model id: it is `runs://host/...`, or `runs:/RUN/...` where RUN is not `run_id`
//     (an empty run_id included), or `models:/<logged model id>`;
//   - with a model id: it is a `runs:/` URI, or `models:/<logged model id>` of another model id.
Status CheckSourceLineage(std::string_view source, std::string_view run_id,
                          std::string_view model_id);

// MLflow's refusal of a `models:/NAME/...` source whose referenced version has another run id or
// model id than the request gave.
Status LineageMismatch(std::string_view source);

}  // namespace vouch

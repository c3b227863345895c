// The fields of one MLflow request, read as MLflow's server reads them
// (mlflow/server/handlers.py, _get_request_message and _validate_param_against_schema): a GET
// from its query string (a list field from its repeated keys, `stages=A&stages=B`), any other
// method from its JSON body (DELETE included). Fields the schema does not name are ignored, as
// proto parsing ignores them. Thread-compatible value type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/api/router.h"
#include "vouch/domain/model.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {

enum class FieldType {
  kString,
  kInt64,       // a JSON number, or a string of digits (proto JSON writes int64 either way)
  kBool,        // a JSON bool, or "true" / "false" in any case
  kStringList,  // a JSON array of strings; repeated keys in a query string
  kTags,        // [{"key": "...", "value": "..."}]; a missing value is ""
};

struct FieldSpec {
  std::string_view name;
  FieldType type;
  bool required = false;
  // A password: an error about the field names its type, never its value.
  bool secret = false;
};

// Which methods read their fields from the query string (when it is not empty).
enum class QuerySource {
  kReads,           // GET and HEAD: MLflow's own routes
  kReadsAndDelete,  // also DELETE: Databricks' routes (its clients send a DELETE's fields there)
};

class RequestFields {
 public:
  // Reads and checks the request against `schema`, in the schema's order. INVALID_ARGUMENT, with
  // MLflow's wording, for: a POST without `Content-Type: application/json`; a body that is not a
  // JSON object; a required field that is absent, null or "" ("Missing value for required
  // parameter 'name'. …"); a field of the wrong type ("Invalid value 5 for parameter 'name'
  // supplied: …", without the value for a secret field); a boolean query value other than true
  // or false.
  static Result<RequestFields> Read(const Call& call, std::initializer_list<FieldSpec> schema,
                                    QuerySource query = QuerySource::kReads);

  bool Has(std::string_view name) const;
  // The value of a field the schema declared with the matching type; empty when absent.
  std::string String(std::string_view name) const;
  std::optional<int64_t> Int(std::string_view name) const;
  bool Bool(std::string_view name) const;
  std::vector<std::string> List(std::string_view name) const;
  StringMap Tags(std::string_view name) const;

 private:
  explicit RequestFields(json::object fields) : fields_(std::move(fields)) {}
  const json::value* Find(std::string_view name) const;

  json::object fields_;
};

// A version number as MLflow reads it (Python's int() of the string). INVALID_ARGUMENT
// "Parameter 'version' must be an integer, got 'x'." otherwise.
Result<int64_t> ParseVersion(std::string_view text);

// Python's int() of a str: surrounding blanks, an optional sign, digits with single '_' between
// them. nullopt when it does not parse or does not fit in 64 bits.
std::optional<int64_t> PythonInt(std::string_view text);

}  // namespace vouch::api::mlflow

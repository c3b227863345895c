#include "vouch/api/mlflow/request_fields.h"

#include "vouch/util/text.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace vouch::api::mlflow {
namespace {

constexpr std::string_view kSeeDocs =
    " See the API docs for more information about request parameters.";

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// The name Python gives the type the value would have after json.loads.
std::string_view PythonType(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "str";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "float";
    case json::kind::bool_:
      return "bool";
    case json::kind::array:
      return "list";
    case json::kind::object:
      return "dict";
    case json::kind::null:
      return "NoneType";
  }
  return "object";
}

Status Missing(std::string_view name) {
  return InvalidArgument(
      fmt::format("Missing value for required parameter '{}'.{}", name, kSeeDocs));
}

// mlflow/utils/validation.py invalid_value, with the hint _validate_param_against_schema adds. A
// secret's value is left out: error messages are echoed and may be logged.
Status Invalid(const FieldSpec& f, const json::value& v) {
  if (f.secret) {
    return InvalidArgument(
        fmt::format("Invalid value for parameter '{}' supplied:  Hint: Value was of type '{}'.{}",
                    f.name, PythonType(v), kSeeDocs));
  }
  return InvalidArgument(
      fmt::format("Invalid value {} for parameter '{}' supplied:  Hint: Value was of type '{}'.{}",
                  SerializeJson(v), f.name, PythonType(v), kSeeDocs));
}

bool IsBoolText(const json::value& v) {
  if (!v.is_string()) return false;
  std::string_view s = v.get_string();
  return EqualsIgnoreCase(s, "true") || EqualsIgnoreCase(s, "false");
}

bool IsTagList(const json::value& v) {
  if (!v.is_array()) return false;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) return false;
    const auto& o = item.get_object();
    auto key = o.find("key");
    if (key == o.end() || !key->value().is_string()) return false;
    auto value = o.find("value");
    if (value != o.end() && !value->value().is_string() && !value->value().is_null()) {
      return false;
    }
  }
  return true;
}

bool HasType(const json::value& v, FieldType type) {
  switch (type) {
    case FieldType::kString:
      return v.is_string();
    case FieldType::kInt64:
      if (v.is_int64()) return true;
      if (v.is_uint64()) return v.get_uint64() <= static_cast<uint64_t>(INT64_MAX);
      return v.is_string() && PythonInt(v.get_string()).has_value();
    case FieldType::kBool:
      return v.is_bool() || IsBoolText(v);
    case FieldType::kStringList:
      if (!v.is_array()) return false;
      for (const auto& item : v.get_array()) {
        if (!item.is_string()) return false;
      }
      return true;
    case FieldType::kTags:
      return IsTagList(v);
  }
  return false;
}

bool IsEmpty(const json::value& v) {
  return v.is_null() || (v.is_string() && v.get_string().empty());
}

// The body as MLflow reads it: empty means {}, and a JSON string holding JSON (older clients
// double-encode) is decoded once more.
Result<json::object> BodyObject(const HttpRequest& request) {
  std::string_view body = request.body;
  bool blank = true;
  for (char c : body) blank = blank && IsSpace(c);
  if (blank) return json::object();
  VOUCH_ASSIGN_OR_RETURN(json::value v, ParseJson(body));
  if (v.is_string()) {
    VOUCH_ASSIGN_OR_RETURN(v, ParseJson(v.get_string()));
  }
  if (!v.is_object()) return InvalidArgument("The request body must be a JSON object.");
  return std::move(v.get_object());
}

Status CheckContentType(const HttpRequest& request) {
  if (request.method != "POST" && request.method != "PUT") return OkStatus();
  std::string_view type = request.Header("content-type");
  if (type.empty()) return InvalidArgument("Bad Request. Content-Type header is missing.");
  type = type.substr(0, type.find(';'));
  if (type != "application/json") {
    return InvalidArgument("Bad Request. Content-Type must be one of ['application/json'].");
  }
  return OkStatus();
}

// A GET's fields from its query string, typed by the schema as the proto descriptor types them.
Result<json::object> QueryObject(const QueryParams& query,
                                 std::initializer_list<FieldSpec> schema) {
  json::object o;
  for (const FieldSpec& f : schema) {
    std::vector<std::string> values = query.All(f.name);
    if (values.empty()) continue;
    if (f.type == FieldType::kStringList) {
      json::array a;
      for (auto& v : values) a.emplace_back(v);
      o[f.name] = std::move(a);
    } else if (f.type == FieldType::kBool) {
      if (!EqualsIgnoreCase(values[0], "true") && !EqualsIgnoreCase(values[0], "false")) {
        return InvalidArgument(
            fmt::format("Invalid boolean value: {}, must be 'true' or 'false'.", values[0]));
      }
      o[f.name] = EqualsIgnoreCase(values[0], "true");
    } else {
      o[f.name] = values[0];
    }
  }
  return o;
}

}  // namespace

std::optional<int64_t> PythonInt(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  std::string digits;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    if (s.front() == '-') digits.push_back('-');
    s.remove_prefix(1);
  }
  if (s.empty() || !IsDigit(s.front()) || !IsDigit(s.back())) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && IsDigit(s[i - 1]) && IsDigit(s[i + 1])) continue;
    if (!IsDigit(s[i])) return std::nullopt;
    digits.push_back(s[i]);
  }
  int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

Result<int64_t> ParseVersion(std::string_view text) {
  std::optional<int64_t> n = PythonInt(text);
  if (!n) {
    return InvalidArgument(fmt::format("Parameter 'version' must be an integer, got '{}'.", text));
  }
  return *n;
}

Result<RequestFields> RequestFields::Read(const Call& call, std::initializer_list<FieldSpec> schema,
                                          QuerySource query) {
  json::object fields;
  const bool reads = call.request.method == "GET" || call.request.method == "HEAD" ||
                     (query == QuerySource::kReadsAndDelete && call.request.method == "DELETE");
  if (reads && !call.query.items.empty()) {
    VOUCH_ASSIGN_OR_RETURN(fields, QueryObject(call.query, schema));
  } else {
    VOUCH_TRY(CheckContentType(call.request));
    VOUCH_ASSIGN_OR_RETURN(fields, BodyObject(call.request));
  }
  for (const FieldSpec& f : schema) {
    auto it = fields.find(f.name);
    if (it == fields.end() || IsEmpty(it->value())) {
      if (f.required) return Missing(f.name);
      continue;
    }
    if (!HasType(it->value(), f.type)) return Invalid(f, it->value());
  }
  return RequestFields(std::move(fields));
}

const json::value* RequestFields::Find(std::string_view name) const {
  auto it = fields_.find(name);
  if (it == fields_.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

bool RequestFields::Has(std::string_view name) const { return Find(name) != nullptr; }

std::string RequestFields::String(std::string_view name) const {
  const json::value* v = Find(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<int64_t> RequestFields::Int(std::string_view name) const {
  const json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_string()) return PythonInt(v->get_string());
  return std::nullopt;
}

bool RequestFields::Bool(std::string_view name) const {
  const json::value* v = Find(name);
  if (v == nullptr) return false;
  if (v->is_bool()) return v->get_bool();
  return v->is_string() && EqualsIgnoreCase(v->get_string(), "true");
}

std::vector<std::string> RequestFields::List(std::string_view name) const {
  std::vector<std::string> out;
  const json::value* v = Find(name);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}

StringMap RequestFields::Tags(std::string_view name) const {
  StringMap out;
  const json::value* v = Find(name);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    const auto& o = item.get_object();
    const json::value* value = o.if_contains("value");
    out.insert_or_assign(std::string(o.at("key").get_string()),
                         value && value->is_string() ? std::string(value->get_string()) : "");
  }
  return out;
}

}  // namespace vouch::api::mlflow

#include "vouch/domain/model_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "vouch/util/text.h"

namespace vouch {
namespace {

constexpr std::string_view kSchemeChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";

// Schemes whose last path segment urlparse splits `;params` from (Python's uses_params).
bool UsesParams(std::string_view scheme) {
  static constexpr std::string_view kSchemes[] = {"",     "ftp",   "hdl",   "prospero", "http",
                                                  "imap", "https", "shttp", "rtsp",     "rtspu",
                                                  "sip",  "sips",  "mms",   "sftp",     "tel"};
  return std::find(std::begin(kSchemes), std::end(kSchemes), scheme) != std::end(kSchemes);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One pass of Python's urllib.parse.unquote_plus, on bytes.
std::string UnquotePlus(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\n\r\v\f") == std::string_view::npos;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    parts.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

Status RelativePathSource(std::string_view source) {
  return InvalidArgument(fmt::format(
      "Invalid model version source: '{}'. If supplying a source as an http, https, local file "
      "path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without "
      "relative path references present. Please provide an absolute path.",
      source));
}

Status SourceNotContained(std::string_view source, std::string_view id_name) {
  return InvalidArgument(
      fmt::format("Invalid model version source: '{}'. The {} request parameter must identify the "
                  "resource that contains the source.",
                  source, id_name));
}

// handlers.py: _validate_non_local_source_contains_relative_paths, without its resolution of
// symbolic links on the server's own disk and without its refusal of an empty or relative path.
Status CheckNoRelativePath(std::string_view source) {
  std::string decoded(source);
  for (std::string next = UnquotePlus(decoded); next != decoded; next = UnquotePlus(decoded)) {
    decoded = std::move(next);
  }
  for (std::string_view part : Split(decoded, '/')) {
    if (part == "..") return RelativePathSource(source);
  }
  std::string path = SplitUri(decoded).path;
  if (path.find('\0') != std::string::npos) return RelativePathSource(source);
  for (std::string_view part : Split(path, '/')) {
    if (part == "." || part == "..") return RelativePathSource(source);
  }
  return OkStatus();
}

// The run id of a runs:/ URI (RunsArtifactRepository.parse_runs_uri), or nullopt when it has none.
std::optional<std::string> RunOfRunsUri(const UriParts& uri) {
  std::string_view path = uri.path;
  if (path.size() <= 1 || path[0] != '/') return std::nullopt;
  std::string_view run = path.substr(1, path.find('/', 1) - 1);
  if (run.empty()) return std::nullopt;
  return std::string(run);
}

}  // namespace

UriParts SplitUri(std::string_view uri, bool allow_fragments) {
  // Python strips leading C0 controls and spaces, and drops tabs and line breaks anywhere.
  std::string url;
  size_t first = 0;
  while (first < uri.size() && static_cast<unsigned char>(uri[first]) <= 0x20) ++first;
  for (char c : uri.substr(first)) {
    if (c != '\t' && c != '\r' && c != '\n') url.push_back(c);
  }
  UriParts out;
  std::string_view rest = url;
  size_t colon = rest.find(':');
  if (colon != std::string_view::npos && colon > 0 &&
      ((rest[0] >= 'a' && rest[0] <= 'z') || (rest[0] >= 'A' && rest[0] <= 'Z')) &&
      rest.substr(0, colon).find_first_not_of(kSchemeChars) == std::string_view::npos) {
    out.scheme = std::string(rest.substr(0, colon));
    for (char& c : out.scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    rest = rest.substr(colon + 1);
  }
  if (rest.substr(0, 2) == "//") {
    size_t end = rest.find_first_of("/?#", 2);
    out.netloc = std::string(rest.substr(2, end == std::string_view::npos ? end : end - 2));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (allow_fragments) {
    if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
      out.fragment = std::string(rest.substr(hash + 1));
      rest = rest.substr(0, hash);
    }
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    out.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  if (UsesParams(out.scheme)) {
    // Python's _splitparams: `;` in the last segment starts the params.
    size_t last_slash = rest.rfind('/');
    size_t semi = rest.find(';', last_slash == std::string_view::npos ? 0 : last_slash);
    if (semi != std::string_view::npos) rest = rest.substr(0, semi);
  }
  out.path = std::string(rest);
  return out;
}

Result<std::optional<ModelsRef>> ParseModelsSource(std::string_view source) {
  UriParts uri = SplitUri(source);
  if (uri.scheme != "models") return std::optional<ModelsRef>();
  if (!uri.netloc.empty()) {
    return InvalidArgument(fmt::format(
        "Invalid model version source: '{}'. Registered model sources must use the active model "
        "registry.",
        source));
  }
  // models/utils: _parse_model_uri, which reads the URI without splitting a fragment off.
  std::string path = SplitUri(source, /*allow_fragments=*/false).path;
  Status improper = SourceNotContained(source, "model_id");
  if (path.size() <= 1 || path[0] != '/') return improper;
  std::string_view trimmed = path;
  size_t first = trimmed.find_first_not_of('/');
  if (first == std::string_view::npos) return improper;  // only slashes: models:////
  trimmed.remove_prefix(first);
  std::vector<std::string_view> parts = Split(trimmed, '/');
  if (parts.size() > 2 || IsBlank(parts[0])) return improper;
  ModelsRef ref;
  if (parts.size() == 2) {
    std::string_view suffix = parts[1];
    if (IsBlank(suffix)) return improper;
    ref.name = std::string(parts[0]);
    ref.selector = std::string(suffix);
    if (suffix.find_first_not_of("0123456789") == std::string_view::npos) {
      ref.kind = ModelsRefKind::kVersion;
    } else if (EqualsIgnoreCase(suffix, "latest")) {
      ref.kind = ModelsRefKind::kLatest;
    } else {
      ref.kind = ModelsRefKind::kStage;
    }
    return std::optional<ModelsRef>(std::move(ref));
  }
  if (path.find('@') != std::string::npos) {
    size_t at = parts[0].rfind('@');
    if (IsBlank(parts[0].substr(at + 1))) return improper;
    ref.kind = ModelsRefKind::kAlias;
    ref.name = std::string(parts[0].substr(0, at));
    ref.selector = std::string(parts[0].substr(at + 1));
    return std::optional<ModelsRef>(std::move(ref));
  }
  ref.kind = ModelsRefKind::kModelId;
  ref.model_id = std::string(parts[0]);
  return std::optional<ModelsRef>(std::move(ref));
}

Status CheckSourceLineage(std::string_view source, std::string_view run_id,
                          std::string_view model_id) {
  VOUCH_TRY(CheckNoRelativePath(source));
  UriParts uri = SplitUri(source);
  const std::string_view id_name = model_id.empty() ? "run_id" : "model_id";
  if (uri.scheme == "runs") {
    if (!model_id.empty() || !uri.netloc.empty()) return SourceNotContained(source, id_name);
    std::optional<std::string> run = RunOfRunsUri(uri);
    if (!run || run_id.empty() || *run != run_id) return SourceNotContained(source, id_name);
    return OkStatus();
  }
  if (uri.scheme == "models") {
    if (!uri.netloc.empty()) return SourceNotContained(source, "model_id");
    VOUCH_ASSIGN_OR_RETURN(std::optional<ModelsRef> ref, ParseModelsSource(source));
    if (ref && ref->kind == ModelsRefKind::kModelId &&
        (model_id.empty() || ref->model_id != model_id)) {
      return SourceNotContained(source, "model_id");
    }
  }
  return OkStatus();
}

Status LineageMismatch(std::string_view source) {
  return InvalidArgument(
      fmt::format("Invalid model version source: '{}'. The run_id and model_id request parameters "
                  "must match the referenced model version.",
                  source));
}

}  // namespace vouch

#include "vouch/util/json_diff.h"

#include <algorithm>
#include <string_view>

namespace vouch {
namespace {

// RFC 6901: "~" is written "~0" and "/" is written "~1".
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

void Diff(const json::value& before, const json::value& after, const std::string& path,
          std::vector<JsonChange>& out) {
  if (before.is_object() && after.is_object()) {
    const json::object& b = before.get_object();
    const json::object& a = after.get_object();
    std::vector<std::string_view> keys;
    for (const auto& kv : b) keys.push_back(kv.key());
    for (const auto& kv : a) {
      if (!b.contains(kv.key())) keys.push_back(kv.key());
    }
    std::sort(keys.begin(), keys.end());
    for (std::string_view key : keys) {
      std::string child = path + "/" + PointerToken(key);
      const json::value* x = b.if_contains(key);
      const json::value* y = a.if_contains(key);
      if (x != nullptr && y != nullptr) {
        Diff(*x, *y, child, out);
      } else if (x != nullptr) {
        out.push_back({child, *x, std::nullopt});
      } else {
        out.push_back({child, std::nullopt, *y});
      }
    }
    return;
  }
  if (before.is_array() && after.is_array()) {
    const json::array& b = before.get_array();
    const json::array& a = after.get_array();
    for (size_t i = 0; i < std::max(b.size(), a.size()); ++i) {
      std::string child = path + "/" + std::to_string(i);
      if (i < b.size() && i < a.size()) {
        Diff(b[i], a[i], child, out);
      } else if (i < b.size()) {
        out.push_back({child, b[i], std::nullopt});
      } else {
        out.push_back({child, std::nullopt, a[i]});
      }
    }
    return;
  }
  if (before != after) out.push_back({path, before, after});
}

}  // namespace

std::vector<JsonChange> DiffJson(const json::value& before, const json::value& after) {
  std::vector<JsonChange> out;
  Diff(before, after, "", out);
  return out;
}

json::array DiffJsonArray(const json::value& before, const json::value& after) {
  json::array out;
  for (JsonChange& c : DiffJson(before, after)) {
    json::object o{{"path", c.path}};
    if (c.before) o["before"] = std::move(*c.before);
    if (c.after) o["after"] = std::move(*c.after);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace vouch

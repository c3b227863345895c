#include "vouch/util/json.h"

#include <boost/json/basic_parser_impl.hpp>

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "vouch/util/json_writer.h"
#include "vouch/util/text.h"

namespace vouch {
namespace {

constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

std::string_view KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

Status WrongType(std::string_view field, std::string_view want, const json::value& got) {
  return InvalidArgument(fmt::format("field '{}' must be {}, not {}", field, want, KindName(got)));
}

// The UTF-16 code units of a UTF-8 string, for RFC 8785's key order.
std::u16string Utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if ((c >> 5) == 6) {
      cp = c & 0x1f, n = 2;
    } else if ((c >> 4) == 14) {
      cp = c & 0x0f, n = 3;
    } else {
      cp = c & 0x07, n = 4;
    }
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3f);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

// Invalid UTF-8 never reaches a JSON text: the canonical form refuses it (RFC 8785 needs valid
// Unicode); a response replaces it with U+FFFD. The escapes are JsonWriter's, so a tree written
// here and the same values streamed by JsonWriter are the same text.
Status AppendString(std::string& out, std::string_view s, bool canonical) {
  if (canonical && !IsValidUtf8(s)) return InvalidArgument("a string is not valid UTF-8");
  AppendJsonString(out, s);
  return OkStatus();
}

Status AppendCanonical(std::string& out, const json::value& v, bool canonical);

Status AppendObject(std::string& out, const json::object& o, bool canonical) {
  out.push_back('{');
  bool first = true;
  auto member = [&](const json::key_value_pair& kv) -> Status {
    if (!first) out.push_back(',');
    first = false;
    VOUCH_TRY(AppendString(out, kv.key(), canonical));
    out.push_back(':');
    return AppendCanonical(out, kv.value(), canonical);
  };
  if (!canonical) {
    for (const auto& kv : o) VOUCH_TRY(member(kv));
  } else {
    std::vector<std::pair<std::u16string, const json::key_value_pair*>> keys;
    keys.reserve(o.size());
    for (const auto& kv : o) keys.emplace_back(Utf16(kv.key()), &kv);
    std::stable_sort(keys.begin(), keys.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [_, kv] : keys) VOUCH_TRY(member(*kv));
  }
  out.push_back('}');
  return OkStatus();
}

// An integer value (not a double) beyond ±(2^53 - 1): its canonical text would read back as a
// double, and so as another integer (2^60 is written 1152921504606847000). Integers stay below 2^53
// (docs/design.md); a whole number beyond that is a double and is written as one.
Status BeyondSafeInteger() {
  return InvalidArgument(
      "integer beyond 2^53 cannot be represented canonically (give it as a double)");
}

// canonical: RFC 8785 (sorted keys, integers within 2^53); otherwise insertion order, any integer.
Status AppendCanonical(std::string& out, const json::value& v, bool canonical) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return OkStatus();
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return OkStatus();
    case json::kind::int64: {
      const int64_t i = v.get_int64();
      if (canonical && (i > kMaxSafeInteger || i < -kMaxSafeInteger)) return BeyondSafeInteger();
      fmt::format_to(std::back_inserter(out), "{}", i);
      return OkStatus();
    }
    case json::kind::uint64: {
      const uint64_t u = v.get_uint64();
      if (canonical && u > static_cast<uint64_t>(kMaxSafeInteger)) return BeyondSafeInteger();
      fmt::format_to(std::back_inserter(out), "{}", u);
      return OkStatus();
    }
    case json::kind::double_: {
      double d = v.get_double();
      if (!std::isfinite(d)) return InvalidArgument("NaN and infinities have no JSON form");
      AppendCanonicalNumber(out, d);
      return OkStatus();
    }
    case json::kind::string:
      return AppendString(out, v.get_string(), canonical);
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        VOUCH_TRY(AppendCanonical(out, e, canonical));
      }
      out.push_back(']');
      return OkStatus();
    }
    case json::kind::object:
      return AppendObject(out, v.get_object(), canonical);
  }
  return Internal("unknown JSON kind");
}

}  // namespace

void AppendCanonicalNumber(std::string& out, double d) {
  if (d == 0) {  // and -0
    out.push_back('0');
    return;
  }
  if (d < 0) {
    out.push_back('-');
    d = -d;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);  // "d.ddde+XX" or "de-XX", shortest round-trip
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+'), sci.data() + sci.size(), exp);
  // ECMAScript's names: the value is DIGITS (k of them) * 10^(n - k).
  int k = static_cast<int>(digits.size());
  int n = exp + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n);
    out.push_back('.');
    out += digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(-n, '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out += digits.substr(1);
    }
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
}

std::string CanonicalNumber(double d) {
  std::string out;
  AppendCanonicalNumber(out, d);
  return out;
}

namespace {

// Builds values like Boost.JSON's own parser, except that doubles are converted from their text by
// std::from_chars, which rounds correctly (Boost.JSON 1.81 can be one unit in the last place off,
// which would change the metrics clients send).
class ExactHandler {
 public:
  static constexpr size_t max_object_size = json::object::max_size();
  static constexpr size_t max_array_size = json::array::max_size();
  static constexpr size_t max_key_size = json::string::max_size();
  static constexpr size_t max_string_size = json::string::max_size();

  // integers_as_doubles: integers beyond ±(2^53 - 1) become the nearest double (RFC 8785's
  // reading, for ParseCanonicalJson); otherwise every integer that fits 64 bits stays one.
  explicit ExactHandler(bool integers_as_doubles) : integers_as_doubles_(integers_as_doubles) {
    stack_.reset();
  }
  json::value Release() { return stack_.release(); }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(size_t n, boost::system::error_code&) {
    keys_.pop_back();
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(size_t n, boost::system::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    stack_.push_chars(s);
    return true;
  }
  // A key given twice in one object is refused: Boost.JSON would keep the last value, so
  // {"name":"a","name":"b"} would mean what a reader of the first key did not expect.
  bool on_key(json::string_view s, size_t, boost::system::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!keys_.back().insert(key_).second) {
      duplicate_key_ = std::move(key_);
      ec = json::error::syntax;
      return false;
    }
    key_.clear();
    stack_.push_key(s);
    return true;
  }
  // The key that appeared twice in one object, when that stopped the parse.
  const std::optional<std::string>& duplicate_key() const { return duplicate_key_; }
  bool on_string_part(json::string_view s, size_t, boost::system::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, size_t, boost::system::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  // An integer converts to the nearest double exactly as its text would read (the conversion
  // rounds to nearest, ties to even).
  bool on_int64(int64_t i, json::string_view, boost::system::error_code&) {
    number_.clear();
    if (integers_as_doubles_ && (i > kMaxSafeInteger || i < -kMaxSafeInteger)) {
      stack_.push_double(static_cast<double>(i));
    } else {
      stack_.push_int64(i);
    }
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, boost::system::error_code&) {
    number_.clear();
    if (integers_as_doubles_ && u > static_cast<uint64_t>(kMaxSafeInteger)) {
      stack_.push_double(static_cast<double>(u));
    } else {
      stack_.push_uint64(u);
    }
    return true;
  }
  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    double exact = d;
    auto res = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    number_.clear();
    stack_.push_double(res.ec == std::errc() ? exact : d);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  const bool integers_as_doubles_;
  json::value_stack stack_;
  std::string number_;                                 // the text of a number split across parts
  std::string key_;                                    // the text of the key being read
  std::vector<std::unordered_set<std::string>> keys_;  // the keys of each open object
  std::optional<std::string> duplicate_key_;
};

Result<json::value> Parse(std::string_view text, bool integers_as_doubles) {
  json::parse_options opts;
  opts.max_depth = 64;
  json::basic_parser<ExactHandler> parser(opts, integers_as_doubles);
  boost::system::error_code ec;
  size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = json::error::extra_data;
  if (const auto& key = parser.handler().duplicate_key()) {
    return InvalidArgument(fmt::format("malformed JSON: the key \"{}\" appears twice in one object",
                                       SanitizeUtf8(*key, 64)));
  }
  if (ec) return InvalidArgument(fmt::format("malformed JSON: {}", ec.message()));
  try {
    return parser.handler().Release();
  } catch (const std::exception& e) {
    return InvalidArgument(fmt::format("malformed JSON: {}", e.what()));
  }
}

}  // namespace

Result<json::value> ParseJson(std::string_view text) { return Parse(text, false); }

Result<json::value> ParseCanonicalJson(std::string_view text) { return Parse(text, true); }

Result<json::object> ParseJsonObject(std::string_view text) {
  if (text.empty()) return json::object();
  VOUCH_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return InvalidArgument("the request body must be a JSON object");
  return std::move(v.get_object());
}

Result<std::string> CanonicalJson(const json::value& v) {
  std::string out;
  VOUCH_TRY(AppendCanonical(out, v, true));
  return out;
}

std::string SerializeJson(const json::value& v) {
  std::string out;
  if (!AppendCanonical(out, v, false).ok()) return json::serialize(v);
  return out;
}

std::string SerializeJson(const json::object& o) {
  std::string out;
  if (!AppendObject(out, o, false).ok()) return json::serialize(o);
  return out;
}

Result<std::string> RequiredString(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) {
    return InvalidArgument(fmt::format("missing required field '{}'", field));
  }
  if (!it->value().is_string()) return WrongType(field, "a string", it->value());
  return std::string(it->value().get_string());
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return WrongType(field, "a string", it->value());
  return std::optional<std::string>(std::string(it->value().get_string()));
}

Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<bool>();
  if (!it->value().is_bool()) return WrongType(field, "a boolean", it->value());
  return std::optional<bool>(it->value().get_bool());
}

Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<int64_t>();
  const auto& v = it->value();
  if (v.is_int64()) return std::optional<int64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v.get_uint64()));
  }
  return WrongType(field, "an integer", v);
}

Result<std::optional<double>> OptionalNumber(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<double>();
  const auto& v = it->value();
  if (!v.is_number()) return WrongType(field, "a number", v);
  return std::optional<double>(v.to_number<double>());
}

namespace {
Result<std::optional<json::object>> OptionalMapOf(const json::object& o, std::string_view field,
                                                  bool numbers) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::optional<json::object>();
  if (!it->value().is_object()) return WrongType(field, "an object", it->value());
  for (const auto& kv : it->value().get_object()) {
    bool fits = numbers ? kv.value().is_number() : kv.value().is_string();
    if (!fits) {
      return WrongType(fmt::format("{}.{}", field, std::string_view(kv.key())),
                       numbers ? "a number" : "a string", kv.value());
    }
  }
  return std::optional<json::object>(it->value().get_object());
}
}  // namespace

Result<std::optional<json::object>> OptionalStringMap(const json::object& o,
                                                      std::string_view field) {
  return OptionalMapOf(o, field, false);
}

Result<std::optional<json::object>> OptionalNumberMap(const json::object& o,
                                                      std::string_view field) {
  return OptionalMapOf(o, field, true);
}

Status RejectUnknownFields(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : o) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end()) {
      return InvalidArgument(fmt::format("unknown field '{}'", std::string_view(kv.key())));
    }
  }
  return OkStatus();
}

}  // namespace vouch

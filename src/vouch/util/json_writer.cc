#include "vouch/util/json_writer.h"

#include <charconv>
#include <cmath>

#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Appends `s`, known to be valid UTF-8, escaped, without the quotes. Runs that need no escape go
// in one append.
void AppendEscaped(std::string& out, std::string_view s) {
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {  // the other control characters
        const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  // Printable ASCII, the common case, is copied as it is after one scan; anything else takes the
  // general path, which checks the UTF-8 first.
  bool plain = true;
  for (const char ch : s) {
    const unsigned char c = ch;
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  out.push_back('"');
  if (plain) {
    out.append(s);
  } else if (IsValidUtf8(s)) {
    AppendEscaped(out, s);
  } else {
    AppendEscaped(out, SanitizeUtf8(s));
  }
  out.push_back('"');
}

void JsonWriter::Int(int64_t i) {
  Separate();
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, i);
  out_.append(buf, res.ptr - buf);
  need_comma_ = true;
}

void JsonWriter::Double(double d) {
  Separate();
  if (std::isfinite(d)) {
    AppendCanonicalNumber(out_, d);
  } else {
    out_ += "null";
  }
  need_comma_ = true;
}

}  // namespace vouch

// A streaming JSON writer for response bodies: appends straight to a std::string, with no
// Boost.JSON value tree in between. Its text is the text SerializeJson (json.h) gives for the same
// values in the same order: strings escaped once by AppendJsonString (invalid UTF-8 replaced by
// U+FFFD), integers in decimal, doubles in the ECMAScript form of AppendCanonicalNumber.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vouch {

// Appends `s` as a JSON string: quotes, `"` and `\` escaped, \b \f \n \r \t by name, the other
// control characters as \u00XX, everything else (UTF-8 included) as it is. Invalid UTF-8 is
// replaced as SanitizeUtf8 does (text.h). One pass over strings of printable ASCII.
void AppendJsonString(std::string& out, std::string_view s);

// An object key fixed in the source, checked while compiling to need no escape (printable ASCII
// other than `"` and `\`), so that it is copied as it is. Keys that come from data go through
// JsonWriter::DataKey, which escapes them.
class JsonKey {
 public:
  consteval JsonKey(const char* text) : text_(text) {  // NOLINT: implicit from a literal
    for (const char* p = text; *p != '\0'; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') KeyNeedsAnEscape();
    }
  }
  std::string_view text() const { return text_; }

 private:
  // Not constexpr: reaching it while compiling a JsonKey is the compile error.
  static void KeyNeedsAnEscape() {}

  std::string_view text_;
};

// Writes one JSON document into `out` (appending). The caller nests Begin/End calls correctly and
// gives each object member a Key before its value; the writer places the commas. Not thread-safe.
//
//   JsonWriter w(body);
//   w.BeginObject();
//   w.Key("name"); w.String(m.name);
//   w.Key("versions"); w.BeginArray(); ... w.EndArray();
//   w.EndObject();
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  // An object member's key; the next call writes its value.
  void Key(JsonKey key) {
    Separate();
    out_.push_back('"');
    out_.append(key.text());
    out_.append("\":", 2);
    need_comma_ = false;
  }
  // A key from data (a tag's or a metric's name), escaped.
  void DataKey(std::string_view key) {
    Separate();
    AppendJsonString(out_, key);
    out_.push_back(':');
    need_comma_ = false;
  }

  void String(std::string_view s) {
    Separate();
    AppendJsonString(out_, s);
    need_comma_ = true;
  }
  void Int(int64_t i);
  // A finite double in the ECMAScript form; NaN and infinities (which the domain refuses before
  // they are stored) are written as null, the only JSON for them.
  void Double(double d);
  void Bool(bool b) {
    Separate();
    out_ += b ? "true" : "false";
    need_comma_ = true;
  }
  void Null() {
    Separate();
    out_ += "null";
    need_comma_ = true;
  }

  // Key and value in one call.
  void Field(JsonKey key, std::string_view value) {
    Key(key);
    String(value);
  }
  void Field(JsonKey key, const char* value) { Field(key, std::string_view(value)); }
  void Field(JsonKey key, const std::string& value) { Field(key, std::string_view(value)); }
  void Field(JsonKey key, int64_t value) {
    Key(key);
    Int(value);
  }

 private:
  void Separate() {
    if (need_comma_) out_.push_back(',');
  }
  void Open(char c) {
    Separate();
    out_.push_back(c);
    need_comma_ = false;
  }
  void Close(char c) {
    out_.push_back(c);
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;  // a value was written at this level, so the next one needs a comma
};

}  // namespace vouch

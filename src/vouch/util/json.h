// JSON helpers over Boost.JSON: parsing into a Status, typed field access, and the canonical form.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vouch/util/status.h"

namespace vouch {

namespace json = boost::json;

// Parses `text` as one JSON value. INVALID_ARGUMENT (with the position) when it is not JSON.
Result<json::value> ParseJson(std::string_view text);
// Parses `text` as a JSON object. INVALID_ARGUMENT when it is not JSON or not an object.
Result<json::object> ParseJsonObject(std::string_view text);

// Parses `text` as RFC 8785 reads JSON, where every number is an IEEE double: an integer within
// ±(2^53 - 1) stays an integer (it is exactly one double), a larger one becomes the double nearest
// to it. The canonical text of a double at or beyond 2^53 is digits padded with zeros (2^60 is
// 1152921504606847000); read this way it is that double again. For re-reading canonical JSON
// (audit verification); request bodies use ParseJson, which keeps every integer.
Result<json::value> ParseCanonicalJson(std::string_view text);

// RFC 8785 (JSON Canonicalization Scheme): keys sorted by UTF-16 code units, ECMAScript number
// form (CanonicalNumber), minimal string escapes. INVALID_ARGUMENT for NaN or infinities, for
// invalid UTF-8, and for integer values (not doubles) beyond ±(2^53 - 1), whose text would read
// back as a different integer. CanonicalJson(ParseCanonicalJson(c)) == c for every c it writes.
Result<std::string> CanonicalJson(const json::value& v);

// The one canonical text of a finite double (RFC 8785 section 3.2.2.3, ECMAScript's
// Number.prototype.toString): the shortest digits that read back as `d`, in plain notation when
// the decimal exponent is between -7 and 21 (exclusive), otherwise as d.ddde±x; -0 is "0". The
// audit log's writer and its verifier both come here. `d` must be finite.
void AppendCanonicalNumber(std::string& out, double d);
std::string CanonicalNumber(double d);

// Serializes for a response: members in insertion order, numbers in the ECMAScript form
// (0.93, not 9.3E-1). Falls back to Boost.JSON's form for NaN or infinities, which never reach it.
std::string SerializeJson(const json::value& v);
std::string SerializeJson(const json::object& o);

// Typed field access for request bodies. Each returns INVALID_ARGUMENT naming the field when it has
// the wrong type; the optional forms return nullopt when the field is absent or null.
Result<std::string> RequiredString(const json::object& o, std::string_view field);
Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view field);
Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view field);
Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view field);
Result<std::optional<double>> OptionalNumber(const json::object& o, std::string_view field);
// An object whose values are all strings (tags, params). nullopt when absent.
Result<std::optional<json::object>> OptionalStringMap(const json::object& o,
                                                      std::string_view field);
// An object whose values are all numbers (metrics). nullopt when absent.
Result<std::optional<json::object>> OptionalNumberMap(const json::object& o,
                                                      std::string_view field);

// Rejects fields of `o` not in `allowed` with INVALID_ARGUMENT naming the first unknown one.
Status RejectUnknownFields(const json::object& o, std::initializer_list<std::string_view> allowed);

}  // namespace vouch

#include "vouch/util/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vouch {
namespace {

std::string Canon(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  auto c = CanonicalJson(*v);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : "";
}

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(Canon(R"({ "b": 1, "a": [true, null, "x"] })"), R"({"a":[true,null,"x"],"b":1})");
}

TEST(CanonicalJson, SortsKeysByUtf16CodeUnits) {
  // U+1F600 (a surrogate pair, 0xD83D...) sorts before U+FB01 (0xFB01) in UTF-16, though its UTF-8
  // bytes sort after.
  EXPECT_EQ(Canon("{\"\xef\xac\x81\":1,\"\xf0\x9f\x98\x80\":2}"),
            "{\"\xf0\x9f\x98\x80\":2,\"\xef\xac\x81\":1}");
}

TEST(CanonicalJson, FormatsNumbersAsEcmaScript) {
  // Vectors from RFC 8785 appendix B and ECMAScript Number.prototype.toString.
  EXPECT_EQ(Canon("[1.0, -0.0, 1e21, 1e20, 1e-7, 0.000001, 123.456, 4.5e-10, 333333333.3333333]"),
            "[1,0,1e+21,100000000000000000000,1e-7,0.000001,123.456,4.5e-10,333333333.3333333]");
  EXPECT_EQ(Canon("[9007199254740991, -9007199254740991, 5e-324, 1.7976931348623157e308]"),
            "[9007199254740991,-9007199254740991,5e-324,1.7976931348623157e+308]");
}

TEST(CanonicalJson, EscapesOnlyWhatItMust) {
  EXPECT_EQ(Canon(R"(["\u0001\n\"\\/é\u2028"])"), "[\"\\u0001\\n\\\"\\\\/é\xe2\x80\xa8\"]");
}

TEST(CanonicalJson, RefusesIntegersBeyond2To53) {
  json::value v = json::parse("9007199254740993");
  auto c = CanonicalJson(v);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(CanonicalJson, RefusesNanAndInfinity) {
  json::value nan = std::numeric_limits<double>::quiet_NaN();
  json::value inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(CanonicalJson(nan).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CanonicalJson(inf).status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseJsonObject, RejectsMalformedAndNonObjects) {
  EXPECT_EQ(ParseJsonObject("{\"a\":").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseJsonObject("").ok());
}

TEST(ParseJson, RefusesAKeyGivenTwiceInOneObject) {
  auto dup = ParseJsonObject(R"({"name":"dk1","name":"dk2"})");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("\"name\" appears twice"), std::string::npos)
      << dup.status().message();
  EXPECT_EQ(ParseJson(R"({"a":{"b":1,"b":2}})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson(R"([{"a":1},{"a":1,"\u0061":2}])").status().code(),
            StatusCode::kInvalidArgument);
  // The same key in different objects, or nested under itself, is fine.
  auto ok = ParseJson(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->at("b").as_array().size(), 2u);
}

TEST(ParseJson, RejectsDeepNesting) {
  std::string deep(1000, '[');
  EXPECT_EQ(ParseJson(deep).status().code(), StatusCode::kInvalidArgument);
}

TEST(JsonFields, ReportWrongTypesByName) {
  json::object o = json::parse(R"({"name": 5, "tags": {"a": 1}, "n": 2.5, "b": "x"})").as_object();
  auto s = RequiredString(o, "name");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("'name'"), std::string::npos);
  EXPECT_FALSE(OptionalStringMap(o, "tags").ok());
  EXPECT_TRUE(OptionalNumberMap(o, "tags").ok());
  EXPECT_FALSE(OptionalInt(o, "n").ok());
  EXPECT_FALSE(OptionalBool(o, "b").ok());
  EXPECT_EQ(RequiredString(o, "missing").status().code(), StatusCode::kInvalidArgument);
  auto absent = OptionalString(o, "missing");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

TEST(JsonFields, RejectUnknownFieldsNamesTheField) {
  json::object o = json::parse(R"({"name": "a", "nmae": "b"})").as_object();
  Status s = RejectUnknownFields(o, {"name"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nmae"), std::string::npos);
}

}  // namespace
}  // namespace vouch

namespace vouch {
namespace {

TEST(SerializeJson, KeepsInsertionOrderAndEcmaScriptNumbers) {
  json::object o;
  o["z"] = 0.93;
  o["a"] = int64_t{1} << 60;
  EXPECT_EQ(SerializeJson(o), R"({"z":0.93,"a":1152921504606846976})");
}

}  // namespace
}  // namespace vouch

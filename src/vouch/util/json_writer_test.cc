#include "vouch/util/json_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "vouch/util/json.h"

namespace vouch {
namespace {

TEST(JsonWriter, PlacesCommasBetweenMembersAndElementsAtEveryDepth) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.Int(1);
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.Null();
  w.Bool(true);
  w.Double(0.5);
  w.EndArray();
  w.Field("b", "x");
  w.Key("c");
  w.BeginObject();
  w.Field("d", int64_t{-3});
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(out, R"({"a":[1,{},[],null,true,0.5],"b":"x","c":{"d":-3}})");
}

TEST(JsonWriter, EscapesKeysFromDataButCopiesKeysFromTheSource) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.DataKey("a\"b\\c\n\x01");
  w.Int(1);
  w.Key("plain_key");
  w.String("caf\xc3\xa9 \xff");
  w.EndObject();
  EXPECT_EQ(out, "{\"a\\\"b\\\\c\\n\\u0001\":1,\"plain_key\":\"caf\xc3\xa9 \xef\xbf\xbd\"}");
}

TEST(JsonWriter, WritesNonFiniteDoublesAsNull) {
  std::string out;
  JsonWriter w(out);
  w.BeginArray();
  w.Double(std::numeric_limits<double>::quiet_NaN());
  w.Double(std::numeric_limits<double>::infinity());
  w.EndArray();
  EXPECT_EQ(out, "[null,null]");
}

}  // namespace
}  // namespace vouch

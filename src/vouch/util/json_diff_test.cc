#include "vouch/util/json_diff.h"

#include <gtest/gtest.h>

namespace vouch {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

std::string DiffText(std::string_view before, std::string_view after) {
  return SerializeJson(json::value(DiffJsonArray(J(before), J(after))));
}

TEST(JsonDiff, EqualDocumentsHaveNoChange) {
  EXPECT_EQ(DiffText(R"({"a":[1,{"b":null}],"c":"x"})", R"({"c":"x","a":[1,{"b":null}]})"), "[]");
}

TEST(JsonDiff, AChangedMemberIsItsPathWithBothValues) {
  EXPECT_EQ(DiffText(R"({"approvals":[{"count":2,"from":["role:a"]}]})",
                     R"({"approvals":[{"count":3,"from":["role:a"]}]})"),
            R"([{"path":"/approvals/0/count","before":2,"after":3}])");
}

TEST(JsonDiff, AnAddedOrRemovedMemberLeavesTheMissingSideOut) {
  EXPECT_EQ(DiffText(R"({"a":1,"z":true})", R"({"b":[1],"z":true})"),
            R"([{"path":"/a","before":1},{"path":"/b","after":[1]}])");
}

TEST(JsonDiff, ALongerArrayAddsItsLastElements) {
  EXPECT_EQ(DiffText(R"(["x"])", R"(["x","y","z"])"),
            R"([{"path":"/1","after":"y"},{"path":"/2","after":"z"}])");
  EXPECT_EQ(DiffText(R"(["x","y"])", R"(["x"])"), R"([{"path":"/1","before":"y"}])");
}

TEST(JsonDiff, AValueOfAnotherKindIsOneChange) {
  EXPECT_EQ(DiffText(R"({"a":{"b":1}})", R"({"a":[1]})"),
            R"([{"path":"/a","before":{"b":1},"after":[1]}])");
  EXPECT_EQ(DiffText("1", "null"), R"([{"path":"","before":1,"after":null}])");
}

TEST(JsonDiff, KeysAreEscapedAsJsonPointerTokens) {
  EXPECT_EQ(DiffText(R"({"a/b~c":1})", R"({"a/b~c":2})"),
            R"([{"path":"/a~1b~0c","before":1,"after":2}])");
}

}  // namespace
}  // namespace vouch

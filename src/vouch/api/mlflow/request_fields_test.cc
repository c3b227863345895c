#include "vouch/api/mlflow/request_fields.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace vouch::api::mlflow {
namespace {

// Reads `schema` from a request with the given method, query and body.
Result<RequestFields> ReadFields(std::string method, QueryParams query, std::string body,
                                 std::initializer_list<FieldSpec> schema,
                                 std::string content_type = "application/json") {
  HttpRequest req;
  req.method = std::move(method);
  req.body = std::move(body);
  if (!content_type.empty()) req.headers.emplace_back("content-type", content_type);
  RequestContext ctx;
  PathParams path;
  return RequestFields::Read(Call{ctx, req, path, query}, schema);
}

QueryParams Query(std::vector<std::pair<std::string, std::string>> items) {
  QueryParams q;
  q.items = std::move(items);
  return q;
}

TEST(MlflowRequestFields, GetReadsTheQueryWithRepeatedKeysForLists) {
  auto f = ReadFields(
      "GET", Query({{"name", "m"}, {"stages", "Staging"}, {"stages", "None"}, {"ignored", "x"}}),
      "", {{"name", FieldType::kString, true}, {"stages", FieldType::kStringList}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->String("name"), "m");
  EXPECT_EQ(f->List("stages"), (std::vector<std::string>{"Staging", "None"}));
  EXPECT_FALSE(f->Has("ignored"));
}

TEST(MlflowRequestFields, DatabricksRoutesReadADeletesFieldsFromItsQuery) {
  HttpRequest req;
  req.method = "DELETE";
  RequestContext ctx;
  PathParams path;
  QueryParams query = Query({{"id", "7"}});
  auto f = RequestFields::Read(Call{ctx, req, path, query}, {{"id", FieldType::kInt64, true}},
                               QuerySource::kReadsAndDelete);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Int("id"), 7);
  // MLflow's own routes keep reading a DELETE's body.
  auto body = RequestFields::Read(Call{ctx, req, path, query}, {{"id", FieldType::kInt64, true}});
  EXPECT_EQ(body.status().code(), StatusCode::kInvalidArgument);
}

TEST(MlflowRequestFields, OtherMethodsReadTheJsonBody) {
  auto f = ReadFields("DELETE", Query({{"name", "from-query"}}), R"({"name":"from-body"})",
                      {{"name", FieldType::kString, true}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->String("name"), "from-body");
}

TEST(MlflowRequestFields, DoubleEncodedBodyIsDecodedOnceMore) {
  auto f = ReadFields("POST", {}, R"("{\"name\":\"m\"}")", {{"name", FieldType::kString, true}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->String("name"), "m");
}

TEST(MlflowRequestFields, EmptyBodyIsAnEmptyObject) {
  auto f = ReadFields("POST", {}, "", {{"name", FieldType::kString, true}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "Missing value for required parameter 'name'. See the API docs for more information "
            "about request parameters.");
}

TEST(MlflowRequestFields, EmptyStringOrNullIsMissing) {
  for (std::string body : {R"({"name":""})", R"({"name":null})"}) {
    auto f = ReadFields("POST", {}, body, {{"name", FieldType::kString, true}});
    ASSERT_FALSE(f.ok()) << body;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(MlflowRequestFields, PostWithoutContentTypeIsRefused) {
  auto f = ReadFields("POST", {}, R"({"name":"m"})", {{"name", FieldType::kString}}, "");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "Bad Request. Content-Type header is missing.");
  f = ReadFields("POST", {}, R"({"name":"m"})", {{"name", FieldType::kString}},
                 "application/json; charset=utf-8");
  EXPECT_TRUE(f.ok());
}

TEST(MlflowRequestFields, BodyThatIsNotAnObjectIsRefused) {
  auto f = ReadFields("POST", {}, "[1]", {{"name", FieldType::kString}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  f = ReadFields("POST", {}, "{not json", {{"name", FieldType::kString}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
}

TEST(MlflowRequestFields, WrongTypesAreWordedAsMlflow) {
  auto f =
      ReadFields("POST", {}, R"({"stages":"Production"})", {{"stages", FieldType::kStringList}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "Invalid value \"Production\" for parameter 'stages' supplied:  Hint: Value was of "
            "type 'str'. See the API docs for more information about request parameters.");
  f = ReadFields("POST", {}, R"({"tags":[{"key":"k","value":1}]})", {{"tags", FieldType::kTags}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  f = ReadFields("POST", {}, R"({"archive_existing_versions":1})",
                 {{"archive_existing_versions", FieldType::kBool}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "Invalid value 1 for parameter 'archive_existing_versions' supplied:  Hint: Value was "
            "of type 'int'. See the API docs for more information about request parameters.");
}

TEST(MlflowRequestFields, AMistypedSecretIsNamedButNotEchoed) {
  auto f = ReadFields("POST", {}, R"({"password":["hunter2-hunter2"]})",
                      {{"password", FieldType::kString, true, true}});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().message(),
            "Invalid value for parameter 'password' supplied:  Hint: Value was of type 'list'. "
            "See the API docs for more information about request parameters.");
}

TEST(MlflowRequestFields, BooleanQueryValuesAreTrueOrFalseInAnyCase) {
  auto fields = [&](std::string query) {
    HttpRequest req;
    req.method = "GET";
    RequestContext ctx;
    PathParams path;
    QueryParams q;
    q.items.emplace_back("archive_existing_versions", std::move(query));
    return RequestFields::Read(Call{ctx, req, path, q},
                               {{"archive_existing_versions", FieldType::kBool}});
  };
  EXPECT_TRUE(fields("TRUE").ok());
  EXPECT_TRUE(fields("TRUE")->Bool("archive_existing_versions"));
  EXPECT_FALSE(fields("false")->Bool("archive_existing_versions"));
  auto bad = fields("yes");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Invalid boolean value: yes, must be 'true' or 'false'.");
}

TEST(MlflowRequestFields, Int64MayBeAStringAndTagValueMayBeMissing) {
  auto f = ReadFields("POST", {}, R"({"max_results":"1","tags":[{"key":"k"}]})",
                      {{"max_results", FieldType::kInt64}, {"tags", FieldType::kTags}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Int("max_results"), 1);
  EXPECT_EQ(f->Tags("tags").at("k"), "");
}

TEST(MlflowRequestFields, BooleanBodyValuesMayBeBoolsOrStrings) {
  auto f = ReadFields("POST", {}, R"({"a":true,"b":"True"})",
                      {{"a", FieldType::kBool}, {"b", FieldType::kBool}, {"c", FieldType::kBool}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->Bool("a"));
  EXPECT_TRUE(f->Bool("b"));
  EXPECT_FALSE(f->Bool("c"));
}

TEST(MlflowVersion, ParsesAsPythonIntDoes) {
  EXPECT_EQ(*ParseVersion("12"), 12);
  EXPECT_EQ(*ParseVersion(" 7 "), 7);
  EXPECT_EQ(*ParseVersion("+3"), 3);
  EXPECT_EQ(*ParseVersion("1_000"), 1000);
  EXPECT_EQ(*ParseVersion("-1"), -1);  // an integer: the service answers "not found"
}

TEST(MlflowVersion, NonIntegersAreWordedAsMlflow) {
  for (std::string_view bad : {"abc", "", "1.0", "1e3", "_1", "1__0", "99999999999999999999"}) {
    auto v = ParseVersion(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(),
              fmt::format("Parameter 'version' must be an integer, got '{}'.", bad));
  }
}

}  // namespace
}  // namespace vouch::api::mlflow

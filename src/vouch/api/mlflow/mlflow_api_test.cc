#include "vouch/api/mlflow/mlflow_api.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "vouch/api/dispatcher.h"
#include "vouch/service/auth_service.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vch_mlflow-door-test-token";
constexpr std::string_view kApi = "/api/2.0/mlflow/";

std::string S(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : SerializeJson(v);
}

struct Reply {
  int status = 0;
  json::value body;
  HttpResponse raw;
};

// A door over a real SQLite store in a temporary directory, driven through the dispatcher as the
// server drives it.
class MlflowApiTest : public ::testing::Test {
 protected:
  MlflowApiTest()
      : clock_(kT0),
        auth_(db_.store(), clock_, 60'000),
        registry_(db_.store(), service::PageTokens("mlflow-api-test-key")),
        dispatcher_(router_, auth_, clock_) {
    auto boot = auth_.Bootstrap(kToken);
    EXPECT_TRUE(boot.ok()) << boot.status().ToString();
    RegisterRoutes(router_, registry_);
  }

  Reply Send(std::string method, std::string target, std::string body = "",
             bool authenticated = true, std::string content_type = "application/json") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "127.0.0.1";
    if (authenticated) r.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
    if (!r.body.empty() && !content_type.empty())
      r.headers.emplace_back("content-type", content_type);
    clock_.Advance(1);
    Reply reply;
    reply.raw = dispatcher_.Handle(r);
    reply.status = reply.raw.status;
    auto parsed = ParseJson(reply.raw.body);
    EXPECT_TRUE(parsed.ok()) << reply.raw.body;
    if (parsed.ok()) reply.body = *parsed;
    return reply;
  }
  Reply Get(std::string_view path_and_query) {
    return Send("GET", fmt::format("{}{}", kApi, path_and_query));
  }
  Reply Post(std::string_view path, std::string body) {
    return Send("POST", fmt::format("{}{}", kApi, path), std::move(body));
  }

  void CreateModel(std::string_view name) {
    Reply r = Post("registered-models/create", fmt::format(R"({{"name":"{}"}})", name));
    ASSERT_EQ(r.status, 200) << r.raw.body;
  }
  void CreateVersion(std::string_view name, std::string_view source, std::string_view run = "") {
    Reply r =
        Post("model-versions/create",
             fmt::format(R"({{"name":"{}","source":"{}","run_id":"{}"}})", name, source, run));
    ASSERT_EQ(r.status, 200) << r.raw.body;
  }

  static std::string ErrorCode(const Reply& r) {
    return std::string(r.body.at("error_code").as_string());
  }
  static std::string Message(const Reply& r) {
    return std::string(r.body.at("message").as_string());
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_;
  service::AuthService auth_;
  service::RegistryService registry_;
  Router router_;
  Dispatcher dispatcher_;
};

TEST_F(MlflowApiTest, CreateModelAnswersTheProtoJsonForm) {
  Reply r = Post("registered-models/create",
                 R"({"name":"fraud","description":"d","tags":[{"key":"team","value":"risk"}]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& m = r.body.at("registered_model").as_object();
  EXPECT_EQ(S(m.at("name")), "fraud");
  EXPECT_EQ(S(m.at("user_id")), "admin");
  EXPECT_EQ(S(m.at("description")), "d");
  EXPECT_TRUE(m.at("creation_timestamp").is_int64());
  EXPECT_EQ(m.at("tags"), json::parse(R"([{"key":"team","value":"risk"}])"));
  EXPECT_FALSE(m.contains("latest_versions"));
  EXPECT_FALSE(m.contains("aliases"));
}

TEST_F(MlflowApiTest, EmptyDescriptionAndTagsAreLeftOut) {
  Reply r = Post("registered-models/create", R"({"name":"bare"})");
  ASSERT_EQ(r.status, 200);
  const auto& m = r.body.at("registered_model").as_object();
  EXPECT_FALSE(m.contains("description"));
  EXPECT_FALSE(m.contains("tags"));
}

TEST_F(MlflowApiTest, BothPrefixesServeTheSameEndpoints) {
  CreateModel("m");
  Reply r = Send("GET", "/ajax-api/2.0/mlflow/registered-models/get?name=m");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(S(r.body.at("registered_model").at("name")), "m");
}

TEST_F(MlflowApiTest, DuplicateModelIsResourceAlreadyExistsWith400) {
  CreateModel("dup");
  Reply r = Post("registered-models/create", R"({"name":"dup"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(Message(r), "Registered Model (name=dup) already exists.");
  EXPECT_EQ(r.body.as_object().size(), 2u);  // error_code and message only
}

TEST_F(MlflowApiTest, MissingModelIsResourceDoesNotExist) {
  Reply r = Get("registered-models/get?name=nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(Message(r), "Registered Model with name=nope not found");
}

TEST_F(MlflowApiTest, MissingRequiredFieldIsWordedAsMlflow) {
  Reply r = Post("registered-models/create", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(Message(r),
            "Missing value for required parameter 'name'. See the API docs for more information "
            "about request parameters.");
  r = Get("model-versions/get?name=m");
  EXPECT_EQ(Message(r),
            "Missing value for required parameter 'version'. See the API docs for more "
            "information about request parameters.");
}

TEST_F(MlflowApiTest, WrongTypeIsWordedAsMlflow) {
  Reply r = Post("registered-models/create", R"({"name":5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Message(r),
            "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'. See "
            "the API docs for more information about request parameters.");
  r = Get("registered-models/search?max_results=lots");
  EXPECT_EQ(Message(r),
            "Invalid value \"lots\" for parameter 'max_results' supplied:  Hint: Value was of type "
            "'str'. See the API docs for more information about request parameters.");
}

TEST_F(MlflowApiTest, UnknownBodyFieldsAreIgnoredAsProtoParsingDoes) {
  Reply r = Post("registered-models/create", R"({"name":"m","unexpected":1})");
  EXPECT_EQ(r.status, 200) << r.raw.body;
}

TEST_F(MlflowApiTest, PostNeedsJsonContentType) {
  Reply r = Send("POST", std::string(kApi) + "registered-models/create", R"({"name":"m"})", true,
                 "text/plain");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Message(r), "Bad Request. Content-Type must be one of ['application/json'].");
}

TEST_F(MlflowApiTest, NonIntegerVersionIsWordedAsMlflow) {
  CreateModel("m");
  Reply r = Get("model-versions/get?name=m&version=abc");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(Message(r), "Parameter 'version' must be an integer, got 'abc'.");
  r = Post("registered-models/alias", R"({"name":"m","alias":"a","version":"1.5"})");
  EXPECT_EQ(Message(r), "Parameter 'version' must be an integer, got '1.5'.");
}

TEST_F(MlflowApiTest, VersionIsAStringAndEmptyFieldsAreSetAsMlflowSetsThem) {
  CreateModel("m");
  Reply r = Post("model-versions/create", R"({"name":"m","source":"s3://b/m/1"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& v = r.body.at("model_version").as_object();
  EXPECT_EQ(S(v.at("version")), "1");
  EXPECT_EQ(S(v.at("current_stage")), "None");
  EXPECT_EQ(S(v.at("status")), "READY");
  EXPECT_EQ(S(v.at("description")), "");
  EXPECT_EQ(S(v.at("run_id")), "");
  EXPECT_EQ(S(v.at("run_link")), "");
  EXPECT_EQ(S(v.at("user_id")), "admin");
  EXPECT_FALSE(v.contains("tags"));
  EXPECT_FALSE(v.contains("aliases"));
  EXPECT_FALSE(v.contains("model_id"));
}

TEST_F(MlflowApiTest, ModelIdIsAcceptedAndReturned) {
  CreateModel("m");
  Reply r = Post(
      "model-versions/create",
      R"({"name":"m","source":"s3://b/x","model_id":"m-0123","tags":[{"key":"k","value":"v"}]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(S(r.body.at("model_version").at("model_id")), "m-0123");
  EXPECT_EQ(r.body.at("model_version").at("tags"), json::parse(R"([{"key":"k","value":"v"}])"));
}

TEST_F(MlflowApiTest, DeleteReadsItsJsonBody) {
  CreateModel("gone");
  Reply r = Send("DELETE", std::string(kApi) + "registered-models/delete", R"({"name":"gone"})");
  EXPECT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.raw.body, "{}");
  EXPECT_EQ(Get("registered-models/get?name=gone").status, 404);
}

TEST_F(MlflowApiTest, LatestVersionsTakesRepeatedStagesByGetAndAListByPost) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1");
  CreateVersion("m", "s3://b/2");
  CreateVersion("m", "s3://b/3");
  ASSERT_EQ(
      Post("model-versions/transition-stage", R"({"name":"m","version":"1","stage":"production"})")
          .status,
      200);
  ASSERT_EQ(
      Post("model-versions/transition-stage", R"({"name":"m","version":"2","stage":"Staging"})")
          .status,
      200);
  Reply r = Get("registered-models/get-latest-versions?name=m&stages=Production&stages=Staging");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& got = r.body.at("model_versions").as_array();
  ASSERT_EQ(got.size(), 2u);
  r = Post("registered-models/get-latest-versions", R"({"name":"m","stages":["None"]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  ASSERT_EQ(r.body.at("model_versions").as_array().size(), 1u);
  EXPECT_EQ(S(r.body.at("model_versions").at(0).at("version")), "3");

  // A model carries the highest version of each stage, without aliases.
  r = Get("registered-models/get?name=m");
  EXPECT_EQ(r.body.at("registered_model").at("latest_versions").as_array().size(), 3u);
}

TEST_F(MlflowApiTest, TransitionWithArchiveMovesTheOthersToArchived) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1");
  CreateVersion("m", "s3://b/2");
  ASSERT_EQ(
      Post("model-versions/transition-stage", R"({"name":"m","version":"1","stage":"Production"})")
          .status,
      200);
  Reply r =
      Post("model-versions/transition-stage",
           R"({"name":"m","version":"2","stage":"Production","archive_existing_versions":true})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(S(r.body.at("model_version").at("current_stage")), "Production");
  EXPECT_EQ(
      S(Get("model-versions/get?name=m&version=1").body.at("model_version").at("current_stage")),
      "Archived");
  r = Post("model-versions/transition-stage", R"({"name":"m","version":"2","stage":"bogus"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Message(r),
            "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, "
            "Archived.");
}

TEST_F(MlflowApiTest, AliasesRoundTrip) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1");
  Reply r = Post("registered-models/alias", R"({"name":"m","alias":"champion","version":"1"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.raw.body, "{}");
  r = Get("registered-models/alias?name=m&alias=champion");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("model_version").at("aliases"), json::parse(R"(["champion"])"));
  r = Get("registered-models/get?name=m");
  EXPECT_EQ(r.body.at("registered_model").at("aliases"),
            json::parse(R"([{"alias":"champion","version":"1"}])"));
  r = Get("model-versions/get-download-uri?name=m&version=1");
  EXPECT_EQ(r.raw.body, R"({"artifact_uri":"s3://b/1"})");
}

TEST_F(MlflowApiTest, SearchModelsWithThePromptFilterKeepsModelsWithoutTheTag) {
  CreateModel("alpha");
  CreateModel("beta");
  CreateModel("gamma");
  Reply r =
      Send("GET", std::string(kApi) +
                      "registered-models/search?filter=name+LIKE+%27%25a%25%27+AND+tag.%60mlflow."
                      "prompt.is_prompt%60+%21%3D+%27true%27&max_results=2&order_by=name+DESC");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& models = r.body.at("registered_models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(S(models[0].at("name")), "gamma");
  EXPECT_EQ(S(models[1].at("name")), "beta");
  std::string token(r.body.at("next_page_token").as_string());
  r = Get("registered-models/search?max_results=2&order_by=name+DESC&page_token=" + token +
          "&filter=name+LIKE+%27%25a%25%27");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  ASSERT_EQ(r.body.at("registered_models").as_array().size(), 1u);
  EXPECT_FALSE(r.body.as_object().contains("next_page_token"));
}

TEST_F(MlflowApiTest, SearchWithNoMatchAnswersAnEmptyObject) {
  Reply r = Get("registered-models/search?filter=name%3D%27none%27");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.raw.body, "{}");
}

TEST_F(MlflowApiTest, SearchVersionsByRunIdListAndVersionNumber) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1", "r1");
  CreateVersion("m", "s3://b/2", "r2");
  CreateVersion("m", "s3://b/3", "r3");
  Reply r =
      Get("model-versions/search?filter=run_id+IN+(%27r1%27,%27r3%27)+AND+version_number+%3E+1");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& versions = r.body.at("model_versions").as_array();
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(S(versions[0].at("version")), "3");
}

TEST_F(MlflowApiTest, UnorderedVersionSearchIsNewestUpdateFirst) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1");
  CreateVersion("m", "s3://b/2");
  ASSERT_EQ(Post("model-versions/update", R"({"name":"m","version":"1","description":"x"})").status,
            405);  // update is PATCH
  ASSERT_EQ(Send("PATCH", std::string(kApi) + "model-versions/update",
                 R"({"name":"m","version":"1","description":"x"})")
                .status,
            200);
  Reply r = Get("model-versions/search?filter=name%3D%27m%27");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(S(r.body.at("model_versions").at(0).at("version")), "1");
}

TEST_F(MlflowApiTest, BadFilterIsInvalidParameterValueNamingTheToken) {
  Reply r = Get("registered-models/search?filter=name+%3D+%27a%27+OR+name+%3D+%27b%27");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(Message(r), "Invalid clause(s) in filter string: OR");
}

TEST_F(MlflowApiTest, OverLimitMaxResultsIsInvalidParameterValue) {
  Reply r = Get("registered-models/search?max_results=1001");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "INVALID_PARAMETER_VALUE");
}

TEST_F(MlflowApiTest, NoCredentialsIsUnauthenticatedWithBasicChallenge) {
  Reply r = Send("GET", std::string(kApi) + "registered-models/get?name=m", "", false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorCode(r), "UNAUTHENTICATED");
  bool challenged = false;
  for (const auto& [k, v] : r.raw.headers) {
    challenged = challenged || (k == "WWW-Authenticate" && v == "Basic realm=\"mlflow\"");
  }
  EXPECT_TRUE(challenged);
}

TEST_F(MlflowApiTest, ErrorStatusesComeFromTheOneTable) {
  RequestContext ctx;
  EXPECT_EQ(MlflowError(PermissionDenied("no"), ctx).status, 403);
  EXPECT_EQ(MlflowError(AlreadyExists("x"), ctx).status, 400);
  EXPECT_EQ(MlflowError(NotFound("x"), ctx).status, 404);
  EXPECT_EQ(MlflowError(InvalidArgument("x"), ctx).status, 400);
  HttpResponse r = MlflowError(PermissionDenied("no"), ctx);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"error_code":"PERMISSION_DENIED","message":"no"})"));
}

TEST_F(MlflowApiTest, WrongMethodIsEndpointNotFound) {
  Reply r = Send("PUT", std::string(kApi) + "registered-models/create", R"({"name":"m"})");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(ErrorCode(r), "ENDPOINT_NOT_FOUND");
}

TEST_F(MlflowApiTest, TagsSetAndDeleteAnswerEmpty) {
  CreateModel("m");
  CreateVersion("m", "s3://b/1");
  EXPECT_EQ(Post("registered-models/set-tag", R"({"name":"m","key":"k","value":"v"})").raw.body,
            "{}");
  EXPECT_EQ(Post("model-versions/set-tag", R"({"name":"m","version":"1","key":"k","value":"v"})")
                .raw.body,
            "{}");
  EXPECT_EQ(Get("model-versions/get?name=m&version=1").body.at("model_version").at("tags"),
            json::parse(R"([{"key":"k","value":"v"}])"));
  EXPECT_EQ(Send("DELETE", std::string(kApi) + "model-versions/delete-tag",
                 R"({"name":"m","version":"1","key":"k"})")
                .raw.body,
            "{}");
  EXPECT_EQ(Send("DELETE", std::string(kApi) + "registered-models/delete-tag",
                 R"({"name":"m","key":"k"})")
                .raw.body,
            "{}");
}

}  // namespace
}  // namespace vouch::api::mlflow

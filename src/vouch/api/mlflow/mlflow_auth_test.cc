#include "vouch/api/mlflow/mlflow_auth.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "vouch/api/dispatcher.h"
#include "vouch/api/mlflow/mlflow_api.h"
#include "vouch/service/auth_service.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/json.h"

namespace vouch::api::mlflow {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vch_mlflow-auth-test-token";
// base64 of "admin:admin-password-1", "alice:alice-password-1" and "alice:wrong-password-1".
constexpr char kAdminBasic[] = "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtMQ==";
constexpr char kAliceBasic[] = "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQtMQ==";
constexpr char kAliceWrong[] = "Basic YWxpY2U6d3JvbmctcGFzc3dvcmQtMQ==";
constexpr std::string_view kV2 = "/api/2.0/mlflow/";
constexpr std::string_view kV3 = "/api/3.0/mlflow/";

TEST(MlflowAuthParsing, OnlyRegisteredModelsAreServed) {
  EXPECT_TRUE(CheckResourceType("registered_model", "fraud").ok());
  EXPECT_EQ(CheckResourceType("registered_model", "*").code(), StatusCode::kUnimplemented);
  for (std::string_view known : {"experiment", "prompt", "scorer", "run", "logged_model"}) {
    Status s = CheckResourceType(known, "1");
    EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << known;
    EXPECT_NE(s.message().find(known), std::string::npos) << s.message();
  }
  EXPECT_EQ(CheckResourceType("workspace", "*").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckResourceType("bogus", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckResourceType("Registered_Model", "x").code(), StatusCode::kInvalidArgument);
}

TEST(MlflowAuthParsing, GrantPermissionTakesDenyForNoPermissions) {
  EXPECT_EQ(*ParseGrantPermission("READ"), Permission::kRead);
  EXPECT_EQ(*ParseGrantPermission("USE"), Permission::kUse);
  EXPECT_EQ(*ParseGrantPermission("edit"), Permission::kEdit);
  EXPECT_EQ(*ParseGrantPermission("MANAGE"), Permission::kManage);
  EXPECT_EQ(*ParseGrantPermission("DENY"), Permission::kNone);
  EXPECT_EQ(*ParseGrantPermission("NO_PERMISSIONS"), Permission::kNone);
  Result<Permission> bad = ParseGrantPermission("OWNER");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'OWNER'"), std::string::npos);
}

TEST(MlflowAuthParsing, UserJsonCarriesTheListsTheTwoXClientRequires) {
  Principal p{.id = 7, .name = "alice", .is_admin = true};
  EXPECT_EQ(json::value(UserJson(p)),
            json::parse(R"({"id":7,"username":"alice","is_admin":true,)"
                        R"("experiment_permissions":[],"registered_model_permissions":[]})"));
  service::PermissionView v{
      .model = "m", .grantee_kind = "user", .grantee = "alice", .grantee_id = 7};
  v.permission = Permission::kEdit;
  EXPECT_EQ(json::value(ModelPermissionJson(v)),
            json::parse(R"({"name":"m","user_id":7,"permission":"EDIT"})"));
}

struct Reply {
  int status = 0;
  json::value body;
  HttpResponse raw;
  std::string Code() const { return std::string(body.at("error_code").as_string()); }
  std::string Message() const { return std::string(body.at("message").as_string()); }
};

// The door over a real SQLite store in a temporary directory, driven through the dispatcher.
class MlflowAuthTest : public ::testing::Test {
 protected:
  MlflowAuthTest()
      : clock_(kT0),
        auth_(db_.store(), clock_, 60'000),
        registry_(db_.store(), service::PageTokens("mlflow-auth-test-key"), authz_),
        identity_(db_.store(), auth_, authz_),
        dispatcher_(router_, auth_, clock_) {
    auto boot = auth_.Bootstrap(kToken);
    EXPECT_TRUE(boot.ok()) << boot.status().ToString();
    RegisterRoutes(router_, registry_);
    RegisterAuthRoutes(router_, identity_);
  }

  Reply Send(std::string method, std::string target, std::string body = "",
             std::string authorization = std::string("Bearer ") + kToken) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "127.0.0.1";
    if (!authorization.empty()) r.headers.emplace_back("authorization", authorization);
    if (!r.body.empty()) r.headers.emplace_back("content-type", "application/json");
    clock_.Advance(1);
    Reply reply;
    reply.raw = dispatcher_.Handle(r);
    reply.status = reply.raw.status;
    auto parsed = ParseJson(reply.raw.body);
    EXPECT_TRUE(parsed.ok()) << reply.raw.body;
    if (parsed.ok()) reply.body = *parsed;
    return reply;
  }

  // Alice (a user with a password) and a model "m" made by the admin.
  void AliceAndModel() {
    ASSERT_EQ(Send("POST", fmt::format("{}users/create", kV2),
                   R"({"username":"alice","password":"alice-password-1"})")
                  .status,
              200);
    ASSERT_EQ(
        Send("POST", fmt::format("{}registered-models/create", kV2), R"({"name":"m"})").status,
        200);
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_;
  service::AuthService auth_;
  service::Authorizer authz_;
  service::RegistryService registry_;
  service::IdentityService identity_;
  Router router_;
  Dispatcher dispatcher_;
};

TEST_F(MlflowAuthTest, CreateUserAnswersTheUserAndGetReadsItBack) {
  Reply r = Send("POST", fmt::format("{}users/create", kV2),
                 R"({"username":"alice","password":"alice-password-1"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const json::object& user = r.body.at("user").as_object();
  EXPECT_EQ(user.at("username"), "alice");
  EXPECT_EQ(user.at("is_admin"), false);
  EXPECT_TRUE(user.at("id").is_int64());
  Reply got = Send("GET", "/ajax-api/2.0/mlflow/users/get?username=alice");
  ASSERT_EQ(got.status, 200) << got.raw.body;
  EXPECT_EQ(got.body, r.body);
  Reply again = Send("POST", fmt::format("{}users/create", kV2),
                     R"({"username":"alice","password":"other-password-1"})");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.Code(), "RESOURCE_ALREADY_EXISTS");
}

TEST_F(MlflowAuthTest, MissingOrMistypedFieldsAreWordedAsMlflowWithoutThePassword) {
  Reply r = Send("POST", fmt::format("{}users/create", kV2), R"({"username":"bob"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(r.Message(),
            "Missing value for required parameter 'password'. See the API docs for more "
            "information about request parameters.");
  r = Send("POST", fmt::format("{}users/create", kV2),
           R"({"username":"bob","password":987654321098})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Message().find("987654321098"), std::string::npos) << r.Message();
  EXPECT_NE(r.Message().find("'password'"), std::string::npos) << r.Message();
  r = Send("PATCH", fmt::format("{}users/update-admin", kV2),
           R"({"username":"admin","is_admin":"maybe"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.Message().find("'is_admin'"), std::string::npos) << r.Message();
  r = Send("PATCH", fmt::format("{}users/update-password", kV2),
           R"({"username":"admin","password":"x","current_password":12})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.Message().find("'current_password'"), std::string::npos) << r.Message();
}

TEST_F(MlflowAuthTest, BasicCredentialsSignInAndAWrongPasswordIsA401WithTheChallenge) {
  ASSERT_EQ(Send("PATCH", fmt::format("{}users/update-password", kV2),
                 R"({"username":"admin","password":"admin-password-1"})")
                .status,
            200);
  AliceAndModel();
  Reply r = Send("GET", fmt::format("{}registered-models/get?name=m", kV2), "", kAliceBasic);
  EXPECT_EQ(r.status, 200) << r.raw.body;
  r = Send("GET", fmt::format("{}users/get?username=admin", kV2), "", kAdminBasic);
  EXPECT_EQ(r.status, 200) << r.raw.body;
  r = Send("GET", fmt::format("{}registered-models/get?name=m", kV2), "", kAliceWrong);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Code(), "UNAUTHENTICATED");
  bool challenged = false;
  for (const auto& [k, v] : r.raw.headers) {
    challenged = challenged || (k == "WWW-Authenticate" && v == "Basic realm=\"mlflow\"");
  }
  EXPECT_TRUE(challenged);
}

TEST_F(MlflowAuthTest, TwoXPermissionEndpointsCreateGetUpdateDelete) {
  AliceAndModel();
  const std::string base = fmt::format("{}registered-models/permissions/", kV2);
  Reply r = Send("POST", base + "create", R"({"name":"m","username":"alice","permission":"READ"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const json::object& p = r.body.at("registered_model_permission").as_object();
  EXPECT_EQ(p.at("name"), "m");
  EXPECT_EQ(p.at("permission"), "READ");
  EXPECT_TRUE(p.at("user_id").is_int64());
  r = Send("POST", base + "create", R"({"name":"m","username":"alice","permission":"EDIT"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(r.Message(), "Registered model permission (name=m, username=alice) already exists.");
  r = Send("PATCH", base + "update", R"({"name":"m","username":"alice","permission":"EDIT"})");
  EXPECT_EQ(r.raw.body, "{}");
  r = Send("GET", base + "get?name=m&username=alice");
  EXPECT_EQ(r.body.at("registered_model_permission").at("permission"), "EDIT");
  r = Send("DELETE", base + "delete", R"({"name":"m","username":"alice"})");
  EXPECT_EQ(r.raw.body, "{}");
  r = Send("GET", base + "get?name=m&username=alice");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Message(), "Registered model permission with name=m and username=alice not found");
  r = Send("PATCH", base + "update", R"({"name":"m","username":"alice","permission":"EDIT"})");
  EXPECT_EQ(r.status, 404);
  r = Send("POST", base + "create", R"({"name":"m","username":"alice","permission":"OWNER"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Code(), "INVALID_PARAMETER_VALUE");
}

TEST_F(MlflowAuthTest, CreatingAGrantThatExistsIsRefusedToWhoMayNotManageFirst) {
  ASSERT_EQ(Send("PATCH", fmt::format("{}users/update-password", kV2),
                 R"({"username":"admin","password":"admin-password-1"})")
                .status,
            200);
  AliceAndModel();
  const std::string create = fmt::format("{}registered-models/permissions/create", kV2);
  ASSERT_EQ(Send("POST", create, R"({"name":"m","username":"alice","permission":"READ"})").status,
            200);
  // Alice reads the model (so she may read its grants) but does not manage it: the answer is
  // the service's refusal, not "already exists".
  Reply r =
      Send("POST", create, R"({"name":"m","username":"alice","permission":"MANAGE"})", kAliceBasic);
  EXPECT_EQ(r.status, 403) << r.raw.body;
  EXPECT_EQ(r.Code(), "PERMISSION_DENIED");
}

TEST_F(MlflowAuthTest, ThreeXGrantGetAndRevoke) {
  AliceAndModel();
  auto get = [&] {
    return Send("GET", fmt::format("{}users/permissions/get?username=alice&resource_type="
                                   "registered_model&resource_id=m",
                                   kV3));
  };
  Reply r = get();
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body, json::parse(R"({"allowed":false,"permission":"READ"})"));
  r = Send("POST", fmt::format("{}users/permissions/grant", kV3),
           R"({"username":"alice","resource_type":"registered_model","resource_id":"m",)"
           R"("permission":"EDIT"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.raw.body, "{}");
  EXPECT_EQ(get().body, json::parse(R"({"allowed":true,"permission":"EDIT"})"));
  r = Send("POST", fmt::format("{}users/permissions/grant", kV3),
           R"({"username":"alice","resource_type":"registered_model","resource_id":"m",)"
           R"("permission":"READ"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Message(),
            "Permission for user=alice on resource_type=registered_model, resource_id=m already "
            "exists.");
  const std::string revoke =
      R"({"username":"alice","resource_type":"registered_model","resource_id":"m"})";
  EXPECT_EQ(Send("POST", fmt::format("{}users/permissions/revoke", kV3), revoke).status, 200);
  EXPECT_EQ(Send("POST", fmt::format("{}users/permissions/revoke", kV3), revoke).status, 404);
  r = Send("POST", fmt::format("{}users/permissions/grant", kV3),
           R"({"username":"alice","resource_type":"registered_model","resource_id":"m",)"
           R"("permission":"DENY"})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(get().body, json::parse(R"({"allowed":false,"permission":"NO_PERMISSIONS"})"));
  r = Send("POST", "/ajax-api/3.0/mlflow/users/permissions/grant",
           R"({"username":"alice","resource_type":"experiment","resource_id":"1",)"
           R"("permission":"READ"})");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.Code(), "NOT_IMPLEMENTED");
}

TEST_F(MlflowAuthTest, EveryRouteDeclaresWhatTheServiceDemands) {
  const std::map<std::pair<std::string, std::string>, Access> expected{
      {{"POST", "users/create"}, Access::kAdmin},
      {{"GET", "users/get"}, Access::kAuthenticated},
      {{"PATCH", "users/update-password"}, Access::kAuthenticated},
      {{"PATCH", "users/update-admin"}, Access::kAdmin},
      {{"DELETE", "users/delete"}, Access::kAdmin},
      {{"POST", "registered-models/permissions/create"}, Access::kModelManage},
      {{"GET", "registered-models/permissions/get"}, Access::kModelRead},
      {{"PATCH", "registered-models/permissions/update"}, Access::kModelManage},
      {{"DELETE", "registered-models/permissions/delete"}, Access::kModelManage},
      {{"POST", "users/permissions/grant"}, Access::kModelManage},
      {{"POST", "users/permissions/revoke"}, Access::kModelManage},
      {{"GET", "users/permissions/get"}, Access::kAuthenticated},
      {{"POST", "registered-models/create"}, Access::kAuthenticated},
      {{"GET", "registered-models/search"}, Access::kAuthenticated},
      {{"GET", "model-versions/search"}, Access::kAuthenticated},
      {{"GET", "registered-models/get"}, Access::kModelRead},
      {{"GET", "model-versions/get-download-uri"}, Access::kModelRead},
      {{"POST", "model-versions/transition-stage"}, Access::kModelEdit},
      {{"POST", "model-versions/create"}, Access::kModelEdit},
      {{"DELETE", "registered-models/delete-tag"}, Access::kModelEdit},
      {{"DELETE", "model-versions/delete-tag"}, Access::kModelManage},
      {{"DELETE", "registered-models/alias"}, Access::kModelManage},
      {{"DELETE", "model-versions/delete"}, Access::kModelManage},
      {{"DELETE", "registered-models/delete"}, Access::kModelManage},
  };
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const Route& route : router_.routes()) {
    EXPECT_EQ(route.door, Door::kMlflow);
    EXPECT_NE(route.access, Access::kPublic) << route.method << " " << route.pattern;
    std::string_view path = route.pattern;
    for (std::string_view prefix : {"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/",
                                    "/ajax-api/3.0/mlflow/"}) {
      if (path.starts_with(prefix)) path.remove_prefix(prefix.size());
    }
    auto it = expected.find({route.method, std::string(path)});
    if (it == expected.end()) continue;
    EXPECT_EQ(AccessName(route.access), AccessName(it->second)) << route.method << " " << path;
    ++seen[it->first];
  }
  for (const auto& [key, access] : expected) {
    EXPECT_EQ(seen[key], 2) << key.first << " " << key.second << ": one route per prefix";
  }
}

}  // namespace
}  // namespace vouch::api::mlflow

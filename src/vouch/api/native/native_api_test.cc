// The native door's route table against docs/openapi.yaml, and the identity routes' translation:
// what they read from a request, what they answer, and what they never show.
#include "vouch/api/native/native_api.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "vouch/api/dispatcher.h"
#include "vouch/api/native/request_wait.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/json.h"

namespace vouch::api::native {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vch_native-api-test-admin-token";

// docs/openapi.yaml, found from this file's place in the source tree.
std::filesystem::path OpenApiPath() {
  return std::filesystem::path(__FILE__).parent_path() / "../../../../docs/openapi.yaml";
}

// "METHOD /path" -> x-vouch-access, read line by line: the file keeps paths at two spaces,
// methods at four and operation keys at six.
std::map<std::string, std::string> DeclaredAccess() {
  std::ifstream in(OpenApiPath());
  EXPECT_TRUE(in.good()) << "cannot read " << OpenApiPath();
  const std::regex path_re(R"(^  (/\S*):\s*$)");
  const std::regex method_re(R"(^    (get|put|post|patch|delete):\s*$)");
  const std::regex access_re(R"(^      x-vouch-access:\s*(\S+)\s*$)");
  std::map<std::string, std::string> out;
  std::string path, method, line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.starts_with("components:")) break;
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
      method.clear();
    } else if (std::regex_match(line, m, method_re)) {
      method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (std::regex_match(line, m, access_re) && !method.empty()) {
      out[method + " " + path] = m[1];
    }
  }
  return out;
}

class NativeApiTest : public ::testing::Test {
 protected:
  NativeApiTest() {
    auto boot = auth_.Bootstrap(kToken);
    EXPECT_TRUE(boot.ok()) << boot.status().ToString();
    RegisterRoutes(
        router_, registry_, [this] { return db_.store().Ready(); }, &identity_);
    RegisterMetricsRoute(router_, [] { return std::vector<store::StoreMetric>{}; });
    RegisterApprovalRoutes(router_, approvals_);
    RegisterCommentRoutes(router_, approvals_);
    RegisterWebhookRoutes(router_, webhooks_);
    RegisterDeliveryRoutes(router_, delivery_);
    waiters_.RegisterRoute(router_);
    RegisterCheckpointRoutes(router_, checkpoints_);
    RegisterAuditLogRoutes(router_, proofs_);
  }

  HttpResponse Send(std::string method, std::string target, std::string body = "",
                    std::string token = kToken) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    if (!body.empty()) r.headers.emplace_back("content-type", "application/json");
    r.body = std::move(body);
    r.remote_address = "192.0.2.7";
    return dispatcher_.Handle(r);
  }

  json::object Json(const HttpResponse& r) {
    auto parsed = ParseJsonObject(r.body);
    EXPECT_TRUE(parsed.ok()) << r.body;
    return parsed.ok() ? *parsed : json::object{};
  }

  std::string ErrorCode(const HttpResponse& r) {
    json::object o = Json(r);
    const auto* e = o.if_contains("error");
    return e ? std::string(e->at("code").as_string()) : "";
  }

  // A token for a new user `name` (no password).
  std::string NewUserToken(const std::string& name) {
    EXPECT_EQ(Send("POST", "/api/v1/users", R"({"name":")" + name + R"(","kind":"user"})").status,
              201);
    HttpResponse t = Send("POST", "/api/v1/tokens", R"({"name":"t","owner":")" + name + R"("})");
    EXPECT_EQ(t.status, 201) << t.body;
    return std::string(Json(t).at("token").as_string());
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  service::AuthService auth_{db_.store(), clock_, 60'000};
  service::Authorizer authz_;
  service::RegistryService registry_{db_.store(), service::PageTokens("native-test-key"), authz_};
  service::IdentityService identity_{db_.store(), auth_, authz_};
  service::MutationExecutor approvals_executor_{db_.store()};
  service::ApprovalService approvals_{approvals_executor_, authz_};
  service::WebhookService webhooks_{approvals_executor_, authz_, std::string(32, 'k'),
                                    service::PageTokens("native-test-key")};
  notify::FormatRegistry formats_;
  service::WebhookDelivery delivery_{approvals_executor_, formats_, authz_, clock_,
                                     service::WebhookDeliveryOptions{.workers = 0}};
  RequestWaiters waiters_{approvals_, db_.store()};
  service::CheckpointService checkpoints_{approvals_executor_, authz_, clock_,
                                          std::string(32, 'm')};
  service::AuditProofs proofs_{db_.store(), authz_, checkpoints_};
  Router router_;
  Dispatcher dispatcher_{router_, auth_, clock_};
};

TEST_F(NativeApiTest, EveryRouteDeclaresTheAccessOpenApiDocuments) {
  std::map<std::string, std::string> in_code;
  for (const Route& r : router_.routes()) {
    if (r.door != Door::kNative) continue;
    // A capture of the rest of the path, `{index...}`, is documented as the parameter `{index}`.
    std::string pattern = r.pattern;
    for (size_t at; (at = pattern.find("...}")) != std::string::npos;) pattern.erase(at, 3);
    in_code[r.method + " " + pattern] = std::string(AccessName(r.access));
  }
  const std::map<std::string, std::string> documented = DeclaredAccess();
  ASSERT_GE(documented.size(), 50u) << "could not read x-vouch-access from " << OpenApiPath();
  for (const auto& [route, access] : in_code) {
    auto it = documented.find(route);
    if (it == documented.end()) {
      ADD_FAILURE() << route << " is registered but not in docs/openapi.yaml";
    } else {
      EXPECT_EQ(it->second, access) << route;
    }
  }
  for (const auto& [route, access] : documented) {
    EXPECT_TRUE(in_code.contains(route)) << route << " is documented but not registered";
  }
}

TEST_F(NativeApiTest, ALiteralSegmentIsNeverTakenForACapture) {
  // PATCH and DELETE exist on /webhooks/{id} but not on /webhooks/events: 405, not a call with the
  // id "events" (found by the schema fuzz's unsupported-methods check).
  for (const char* method : {"PATCH", "DELETE", "POST"}) {
    HttpResponse r = Send(method, "/api/v1/webhooks/events", method[0] == 'D' ? "" : "{}");
    EXPECT_EQ(r.status, 405) << method << " " << r.body;
    std::string allow;
    for (const auto& [k, v] : r.headers) {
      if (k == "Allow") allow = v;
    }
    EXPECT_EQ(allow, "GET, HEAD") << method;
  }
  EXPECT_EQ(Send("GET", "/api/v1/webhooks/events").status, 200);
  EXPECT_EQ(Send("GET", "/api/v1/webhooks/7").status, 404);
}

TEST_F(NativeApiTest, RouteDeclarationsMirrorWhatTheRegistryDemands) {
  std::map<std::string, Access> by_route;
  for (const Route& r : router_.routes()) by_route[r.method + " " + r.pattern] = r.access;
  EXPECT_EQ(by_route.at("GET /api/v1/models/{name}"), Access::kModelRead);
  EXPECT_EQ(by_route.at("DELETE /api/v1/models/{name}/tags/{key}"), Access::kModelEdit);
  EXPECT_EQ(by_route.at("DELETE /api/v1/models/{name}/versions/{n}/tags/{key}"),
            Access::kModelManage);
  EXPECT_EQ(by_route.at("DELETE /api/v1/models/{name}/aliases/{alias}"), Access::kModelManage);
  EXPECT_EQ(by_route.at("POST /api/v1/models"), Access::kAuthenticated);
  EXPECT_EQ(by_route.at("PUT /api/v1/models/{name}/permissions/users/{user}"),
            Access::kModelManage);
  EXPECT_EQ(by_route.at("PATCH /api/v1/users/{name}"), Access::kAuthenticated);
  EXPECT_EQ(by_route.at("POST /api/v1/users"), Access::kAdmin);
}

TEST_F(NativeApiTest, UserAnswersNeverCarryAPasswordOrHash) {
  HttpResponse made = Send("POST", "/api/v1/users",
                           R"({"name":"alice","kind":"user","password":"correct horse battery"})");
  ASSERT_EQ(made.status, 201) << made.body;
  for (const HttpResponse& r :
       {made, Send("GET", "/api/v1/users/alice"), Send("GET", "/api/v1/users")}) {
    EXPECT_EQ(r.body.find("correct horse"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("argon2"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("password"), std::string::npos) << r.body;
  }
  json::object one = Json(Send("GET", "/api/v1/users/alice"));
  EXPECT_EQ(one.at("kind").as_string(), "user");
  EXPECT_TRUE(one.contains("roles") && one.contains("groups"));
  EXPECT_EQ(one.at("creation_timestamp").as_int64(), kT0);
  EXPECT_FALSE(Json(made).contains("roles"));
}

TEST_F(NativeApiTest, CreateUserTranslatesKindAndRefusesUnknownOnes) {
  HttpResponse sa = Send("POST", "/api/v1/users", R"({"name":"ci-bot","kind":"service_account"})");
  ASSERT_EQ(sa.status, 201) << sa.body;
  EXPECT_EQ(Json(sa).at("kind").as_string(), "service_account");
  EXPECT_EQ(ErrorCode(Send("POST", "/api/v1/users", R"({"name":"x","kind":"robot"})")),
            "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorCode(Send("POST", "/api/v1/users", R"({"name":"x"})")), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorCode(Send("POST", "/api/v1/users", R"({"name":"x","kind":"user","hash":"h"})")),
            "INVALID_ARGUMENT");
}

TEST_F(NativeApiTest, TokenExpiryComesFromExpiresInOrExpiresAtButNotBoth) {
  HttpResponse in = Send("POST", "/api/v1/tokens", R"({"name":"a","expires_in":"30d"})");
  ASSERT_EQ(in.status, 201) << in.body;
  EXPECT_EQ(Json(in).at("expiration_timestamp").as_int64(), kT0 + 30 * 86'400'000LL);
  EXPECT_EQ(Json(in).at("scope").as_string(), "full");
  EXPECT_EQ(Json(in).at("owner").as_string(), "admin");
  EXPECT_TRUE(Json(in).at("token").as_string().starts_with("vch_"));

  HttpResponse at = Send("POST", "/api/v1/tokens",
                         R"({"name":"b","expires_at":"2030-01-01T00:00:00Z","scope":"read"})");
  ASSERT_EQ(at.status, 201) << at.body;
  EXPECT_EQ(Json(at).at("expiration_timestamp").as_int64(), 1'893'456'000'000LL);
  EXPECT_EQ(Json(at).at("scope").as_string(), "read");

  HttpResponse never = Send("POST", "/api/v1/tokens", R"({"name":"c"})");
  EXPECT_FALSE(Json(never).contains("expiration_timestamp"));

  for (const char* body : {R"({"name":"d","expires_in":"30d","expires_at":"2030-01-01T00:00:00Z"})",
                           R"({"name":"d","expires_in":"soon"})",
                           R"({"name":"d","expires_in":"9223372036854775807d"})",
                           R"({"name":"d","expires_at":"tomorrow"})",
                           R"({"name":"d","expires_at":"2001-01-01T00:00:00Z"})"}) {
    EXPECT_EQ(ErrorCode(Send("POST", "/api/v1/tokens", body)), "INVALID_ARGUMENT") << body;
  }
  // The list never shows a token or its hash.
  HttpResponse list = Send("GET", "/api/v1/tokens");
  EXPECT_EQ(list.body.find("vch_"), std::string::npos);
  EXPECT_EQ(list.body.find("hash"), std::string::npos);
}

TEST_F(NativeApiTest, TokenIdsThatAreNotNumbersAre400) {
  EXPECT_EQ(ErrorCode(Send("DELETE", "/api/v1/tokens/abc")), "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorCode(Send("DELETE", "/api/v1/tokens/999")), "NOT_FOUND");
}

TEST_F(NativeApiTest, WhoamiNamesRolesGroupsAndTheTokenScope) {
  std::string token = NewUserToken("carol");
  ASSERT_EQ(Send("POST", "/api/v1/groups", R"({"name":"ml"})").status, 201);
  ASSERT_EQ(Send("PUT", "/api/v1/groups/ml/members/carol").status, 204);
  ASSERT_EQ(Send("PUT", "/api/v1/roles/auditor/groups/ml").status, 204);
  json::object me = Json(Send("GET", "/api/v1/whoami", "", token));
  EXPECT_EQ(me.at("name").as_string(), "carol");
  EXPECT_EQ(SerializeJson(me.at("groups")), R"(["ml"])");
  EXPECT_EQ(SerializeJson(me.at("roles")), R"(["auditor"])");
  EXPECT_EQ(me.at("token_scope").as_string(), "full");
  EXPECT_EQ(me.at("auth").as_string(), "token");
}

TEST_F(NativeApiTest, PermissionsTranslateCaseInsensitiveLevelsAndAnswerTheCallers) {
  std::string token = NewUserToken("dave");
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"m"})").status, 201);
  HttpResponse set =
      Send("PUT", "/api/v1/models/m/permissions/users/dave", R"({"permission":"no_permissions"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json(set).at("permission").as_string(), "NO_PERMISSIONS");
  EXPECT_EQ(Json(set).at("grantee_kind").as_string(), "user");
  json::object me = Json(Send("GET", "/api/v1/models/m/permissions/me", "", token));
  EXPECT_EQ(me.at("permission").as_string(), "NO_PERMISSIONS");
  EXPECT_EQ(me.at("user").as_string(), "dave");
  EXPECT_EQ(ErrorCode(Send("GET", "/api/v1/models/m", "", token)), "PERMISSION_DENIED");
  EXPECT_EQ(ErrorCode(Send("PUT", "/api/v1/models/m/permissions/users/dave",
                           R"({"permission":"OWNER"})")),
            "INVALID_ARGUMENT");
  EXPECT_EQ(ErrorCode(Send("PUT", "/api/v1/models/m/permissions/users/dave", R"({})")),
            "INVALID_ARGUMENT");
}

}  // namespace
}  // namespace vouch::api::native

#include "vouch/api/dispatcher.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "vouch/api/deferred.h"
#include "vouch/api/native/native_api.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/json.h"

namespace vouch::api {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr char kToken[] = "vch_dispatcher-test-token";

std::string_view ResponseHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

// Percent-encodes everything but unreserved characters, as a client does for one path segment.
std::string Encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    auto boot = auth_.Bootstrap(kToken);
    EXPECT_TRUE(boot.ok()) << boot.status().ToString();
    native::RegisterRoutes(router_, registry_, [this] { return db_.store().Ready(); });
  }

  HttpResponse Send(std::string method, std::string target, std::string body = "",
                    HeaderList headers = {}, bool with_token = true) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    if (with_token) r.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
    if (!body.empty()) r.headers.emplace_back("content-type", "application/json");
    r.body = std::move(body);
    r.remote_address = "192.0.2.7";
    return dispatcher_.Handle(r);
  }

  int64_t Head() {
    int64_t head = -1;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return head;
  }

  std::vector<std::string> AuditBodies() {
    std::vector<store::StoredAuditEvent> stored;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents({.limit = 1'000'000}));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<std::string> out;
    for (auto& e : stored) out.push_back(std::move(e.body));
    return out;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  service::AuthService auth_{db_.store(), clock_, 60'000};
  service::RegistryService registry_{db_.store(), service::PageTokens("dispatcher-test-key")};
  Router router_;
  Dispatcher dispatcher_{router_, auth_, clock_};
};

json::object BodyOf(const HttpResponse& r) {
  auto o = ParseJsonObject(r.body);
  EXPECT_TRUE(o.ok()) << "not a JSON object: " << r.body;
  return o.ok() ? *o : json::object();
}

// The response is an error in the native shape with this status and code, and its request id is the
// one in X-Request-Id.
void ExpectError(const HttpResponse& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  json::object body = BodyOf(r);
  ASSERT_TRUE(body.contains("error")) << r.body;
  ASSERT_TRUE(body["error"].is_object()) << r.body;
  const json::object& e = body["error"].as_object();
  ASSERT_TRUE(e.contains("code") && e.at("code").is_string()) << r.body;
  EXPECT_EQ(e.at("code").as_string(), code) << r.body;
  ASSERT_TRUE(e.contains("message") && e.at("message").is_string()) << r.body;
  EXPECT_FALSE(e.at("message").as_string().empty());
  ASSERT_TRUE(e.contains("request_id") && e.at("request_id").is_string()) << r.body;
  EXPECT_EQ(e.at("request_id").as_string(), ResponseHeader(r, "X-Request-Id"));
}

TEST_F(DispatcherTest, AnUnknownPathIs404InTheNativeErrorShape) {
  const int64_t head = Head();
  for (const char* target : {"/nope", "/api/v1/nothing", "/api/v2/models", "/api/v1/models/a/b/c/d",
                             "/api/v1", "/", "/api/v1/models/m/versions/1/stage/extra"}) {
    SCOPED_TRACE(target);
    ExpectError(Send("GET", target), 404, "NOT_FOUND");
    // Even without a token: the path decides first.
    ExpectError(Send("GET", target, "", {}, false), 404, "NOT_FOUND");
  }
  auth_.FlushDenials(true);
  EXPECT_EQ(Head(), head);
}

TEST_F(DispatcherTest, AWrongMethodIs405WithAnAllowHeader) {
  HttpResponse r = Send("DELETE", "/api/v1/models");
  ExpectError(r, 405, "UNIMPLEMENTED");
  EXPECT_EQ(ResponseHeader(r, "Allow"), "POST, GET, HEAD");
  r = Send("PUT", "/api/v1/models/m");
  ExpectError(r, 405, "UNIMPLEMENTED");
  EXPECT_EQ(ResponseHeader(r, "Allow"), "GET, PATCH, DELETE, HEAD");
  r = Send("GET", "/api/v1/models/m/tags/k");
  ExpectError(r, 405, "UNIMPLEMENTED");
  EXPECT_EQ(ResponseHeader(r, "Allow"), "PUT, DELETE");
  r = Send("POST", "/health", "", {}, false);
  ExpectError(r, 405, "UNIMPLEMENTED");
  EXPECT_EQ(ResponseHeader(r, "Allow"), "GET, HEAD");
}

TEST_F(DispatcherTest, HeadTakesTheGetRouteAndTwoAuthorizationHeadersAre400) {
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"m"})").status, 201);
  HttpResponse get = Send("GET", "/api/v1/models/m");
  HttpResponse head = Send("HEAD", "/api/v1/models/m");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, get.body);  // the server, not the dispatcher, leaves the body out
  ExpectError(Send("HEAD", "/api/v1/models/m", "", {}, false), 401, "UNAUTHENTICATED");
  ExpectError(Send("GET", "/api/v1/models/m", "", {{"authorization", "Bearer nope"}}), 400,
              "INVALID_ARGUMENT");
}

TEST_F(DispatcherTest, MissingOrBadCredentialsAre401WithWwwAuthenticateAndChangeNothing) {
  const int64_t head = Head();
  const std::string body = R"({"name":"should-not-exist"})";
  const std::vector<HeaderList> attempts = {
      {},
      {{"authorization", "Bearer wrong-token"}},
      {{"authorization", "Bearer "}},
      {{"authorization", "Bearer"}},
      {{"authorization", std::string("Basic ") + kToken}},
      {{"authorization", kToken}},
      {{"authorization", std::string("Bearer  ") + kToken}},
  };
  for (const auto& headers : attempts) {
    HttpResponse r = Send("POST", "/api/v1/models", body, headers, false);
    SCOPED_TRACE(headers.empty() ? "no header" : headers[0].second);
    ExpectError(r, 401, "UNAUTHENTICATED");
    EXPECT_EQ(ResponseHeader(r, "WWW-Authenticate"), "Bearer realm=\"vouch\"");
    EXPECT_EQ(r.body.find(kToken), std::string::npos);
  }
  EXPECT_EQ(Head(), head) << "unauthenticated denials are aggregated, not written one by one";
  ExpectError(Send("GET", "/api/v1/models/should-not-exist"), 404, "NOT_FOUND");

  // Aggregated denial events for the address, one per identity attempted, with the counts: the
  // Basic attempt named a user (the token's text before any ':'), every other named none.
  clock_.Advance(60'000);
  auth_.FlushDenials(false);
  auto bodies = AuditBodies();
  ASSERT_EQ(bodies.size(), static_cast<size_t>(head + 2));
  int64_t counted = 0;
  int naming = 0;
  for (size_t i = static_cast<size_t>(head); i < bodies.size(); ++i) {
    json::object denial = json::parse(bodies[i]).as_object();
    EXPECT_EQ(denial["action"], json::value("access.denied"));
    EXPECT_EQ(denial["outcome"], json::value("denied"));
    EXPECT_EQ(denial["source"].as_object().at("address"), json::value("192.0.2.7"));
    counted += denial["count"].as_int64();
    if (denial["target"].as_object().contains("attempted")) ++naming;
    EXPECT_EQ(bodies[i].find(kToken), std::string::npos);
  }
  EXPECT_EQ(counted, static_cast<int64_t>(attempts.size()));
  EXPECT_EQ(naming, 1);
}

TEST_F(DispatcherTest, TheBearerSchemeIsCaseInsensitive) {
  HttpResponse r = Send("GET", "/api/v1/whoami", "",
                        {{"authorization", std::string("bearer ") + kToken}}, false);
  EXPECT_EQ(r.status, 200) << r.body;
  json::object me = BodyOf(r);
  EXPECT_EQ(me["name"], json::value("admin"));
  EXPECT_EQ(me["is_admin"], json::value(true));
  EXPECT_EQ(me["auth"], json::value("token"));
}

TEST_F(DispatcherTest, HealthAndReadyNeedNoToken) {
  HttpResponse health = Send("GET", "/health", "", {}, false);
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(BodyOf(health)["status"], json::value("ok"));
  HttpResponse ready = Send("GET", "/ready", "", {}, false);
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(BodyOf(ready)["status"], json::value("ready"));
  ExpectError(Send("GET", "/api/v1/whoami", "", {}, false), 401, "UNAUTHENTICATED");
}

TEST_F(DispatcherTest, ASaneRequestIdIsEchoedAndAnyOtherIsReplaced) {
  for (const std::string& id :
       std::vector<std::string>{"abc-123_X.y", std::string(128, 'r'), "0"}) {
    HttpResponse r = Send("GET", "/api/v1/whoami", "", {{"x-request-id", id}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(ResponseHeader(r, "X-Request-Id"), id);
  }
  std::set<std::string> generated;
  const std::vector<std::string> insane = {
      "has space", std::string(200, 'a'), std::string(129, 'a'), "",
      "a/b",       "caf\xc3\xa9",         "a\r\nSet-Cookie: x",  "{\"json\":1}"};
  for (const std::string& id : insane) {
    HttpResponse r = Send("GET", "/nope", "", {{"x-request-id", id}});
    ExpectError(r, 404, "NOT_FOUND");
    std::string got(ResponseHeader(r, "X-Request-Id"));
    EXPECT_NE(got, id);
    EXPECT_EQ(got.size(), 24u) << got;
    EXPECT_EQ(got.find_first_not_of("0123456789abcdef"), std::string::npos) << got;
    generated.insert(got);
  }
  EXPECT_EQ(generated.size(), 8u) << "generated ids must differ";
  // Without the header, an id is generated too: each thread counts on from random bytes, so ids
  // of one thread and of another all differ.
  EXPECT_EQ(ResponseHeader(Send("GET", "/api/v1/whoami"), "X-Request-Id").size(), 24u);
  std::vector<std::string> fresh(600);
  auto send = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      fresh[i] = std::string(ResponseHeader(Send("GET", "/api/v1/whoami"), "X-Request-Id"));
    }
  };
  std::thread other(send, 300, 600);
  send(0, 300);
  other.join();
  std::set<std::string> distinct(fresh.begin(), fresh.end());
  EXPECT_EQ(distinct.size(), fresh.size());
  for (const auto& id : fresh) {
    EXPECT_EQ(id.size(), 24u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST_F(DispatcherTest, ARequestIdHoldingAnApiTokenIsReplacedAndNeverReachesTheAuditLog) {
  const std::string token = "vch_" + std::string(43, 'T');
  const std::vector<std::string> ids = {token, "trace-" + token, "VCH_abc", "x.Vch_1", "vch_"};
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    HttpResponse r = Send("POST", "/api/v1/models", fmt::format(R"({{"name":"m-{}"}})", i),
                          {{"x-request-id", id}});
    ASSERT_EQ(r.status, 201) << id << " " << r.body;
    std::string got(ResponseHeader(r, "X-Request-Id"));
    EXPECT_EQ(got.size(), 24u) << id << " -> " << got;
    EXPECT_EQ(got.find_first_not_of("0123456789abcdef"), std::string::npos) << got;
    std::string event = AuditBodies().back();
    EXPECT_EQ(json::parse(event).as_object().at("request_id"), json::value(got));
    EXPECT_EQ(event.find(id), std::string::npos) << event;
  }
  // "vch" without the underscore, or the underscore elsewhere, is an ordinary id.
  for (const std::string& id : std::vector<std::string>{"vch-1", "vchx_1", "ab_vch", "vc_h"}) {
    EXPECT_EQ(
        ResponseHeader(Send("GET", "/api/v1/whoami", "", {{"x-request-id", id}}), "X-Request-Id"),
        id);
  }
}

TEST_F(DispatcherTest, TheRequestIdReachesTheAuditEvent) {
  HttpResponse r = Send("POST", "/api/v1/models", R"({"name":"m"})",
                        {{"x-request-id", "trace-42"}, {"user-agent", "pytest/1"}});
  ASSERT_EQ(r.status, 201) << r.body;
  json::object e = json::parse(AuditBodies().back()).as_object();
  EXPECT_EQ(e["request_id"], json::value("trace-42"));
  EXPECT_EQ(e["action"], json::value("model.created"));
  EXPECT_EQ(e["actor"].as_object().at("name"), json::value("admin"));
  EXPECT_EQ(e["source"],
            json::parse(R"({"door":"native","address":"192.0.2.7","user_agent":"pytest/1"})"));
}

TEST_F(DispatcherTest, CreatedReadAndDuplicateModelsGetTheirStatuses) {
  HttpResponse created =
      Send("POST", "/api/v1/models", R"({"name":"m","description":"d","tags":{"team":"risk"}})");
  EXPECT_EQ(created.status, 201) << created.body;
  json::object m = BodyOf(created);
  EXPECT_EQ(m["name"], json::value("m"));
  EXPECT_EQ(m["tags"], json::parse(R"({"team":"risk"})"));
  EXPECT_EQ(m["creation_timestamp"], json::value(kT0));
  EXPECT_FALSE(ResponseHeader(created, "X-Request-Id").empty());

  HttpResponse got = Send("GET", "/api/v1/models/m");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(BodyOf(got)["description"], json::value("d"));

  HttpResponse dup = Send("POST", "/api/v1/models", R"({"name":"m"})");
  ExpectError(dup, 409, "ALREADY_EXISTS");
  EXPECT_EQ(BodyOf(dup)["error"].as_object().at("message"),
            json::value("Registered Model (name=m) already exists."));

  HttpResponse missing = Send("GET", "/api/v1/models/nope");
  ExpectError(missing, 404, "NOT_FOUND");
  EXPECT_EQ(BodyOf(missing)["error"].as_object().at("message"),
            json::value("Registered Model with name=nope not found"));

  HttpResponse deleted = Send("DELETE", "/api/v1/models/m");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  ExpectError(Send("GET", "/api/v1/models/m"), 404, "NOT_FOUND");
}

TEST_F(DispatcherTest, MalformedOrMistypedBodiesAre400AndChangeNothing) {
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"m"})").status, 201);
  ASSERT_EQ(Send("POST", "/api/v1/models/m/versions", R"({"source":"s3://x"})").status, 201);
  const int64_t head = Head();
  const std::vector<std::tuple<std::string, std::string, std::string>> requests = {
      {"POST", "/api/v1/models", "{"},
      {"POST", "/api/v1/models", ""},
      {"POST", "/api/v1/models", "[]"},
      {"POST", "/api/v1/models", "null"},
      {"POST", "/api/v1/models", R"("a string")"},
      {"POST", "/api/v1/models", "{}"},
      {"POST", "/api/v1/models", R"({"name":null})"},
      {"POST", "/api/v1/models", R"({"name":5})"},
      {"POST", "/api/v1/models", R"({"name":["a"]})"},
      {"POST", "/api/v1/models", R"({"name":"a","nmae":"b"})"},
      {"POST", "/api/v1/models", R"({"name":"a","tags":{"k":1}})"},
      {"POST", "/api/v1/models", R"({"name":"a","tags":["k"]})"},
      {"POST", "/api/v1/models", R"({"name":"a","description":false})"},
      {"POST", "/api/v1/models", R"({"name":"a"} {"name":"b"})"},
      {"POST", "/api/v1/models", R"({"name":"a",})"},
      {"POST", "/api/v1/models", "{\"name\":\"\xff\"}"},
      {"POST", "/api/v1/models", R"({"name":"a\u0000b"})"},
      {"POST", "/api/v1/models", R"({"name":""})"},
      {"POST", "/api/v1/models/m/versions", R"({})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":5})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":"s3://x","metrics":{"auc":"high"}})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":"s3://x","metrics":[0.9]})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":"s3://x","params":{"lr":0.1}})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":"s3://x","artifact_digest":"abc"})"},
      {"POST", "/api/v1/models/m/versions", R"({"source":"s3://x","version":3})"},
      {"POST", "/api/v1/models/m/versions/1/stage", R"({})"},
      {"POST", "/api/v1/models/m/versions/1/stage", R"({"stage":5})"},
      {"POST", "/api/v1/models/m/versions/1/stage", R"({"stage":"Prod"})"},
      {"POST", "/api/v1/models/m/versions/1/stage",
       R"({"stage":"Staging","archive_existing":"yes"})"},
      {"PUT", "/api/v1/models/m/aliases/champion", R"({})"},
      {"PUT", "/api/v1/models/m/aliases/champion", R"({"version":"1"})"},
      {"PUT", "/api/v1/models/m/aliases/champion", R"({"version":1.5})"},
      {"PUT", "/api/v1/models/m/aliases/champion", R"({"version":0})"},
      {"PUT", "/api/v1/models/m/aliases/latest", R"({"version":1})"},
      {"PUT", "/api/v1/models/m/versions/1/metrics/auc", R"({"value":"high"})"},
      {"PUT", "/api/v1/models/m/versions/1/metrics/auc", R"({})"},
      {"PUT", "/api/v1/models/m/versions/1/tags/k", R"({"value":1})"},
      {"PUT", "/api/v1/models/m/tags/k", R"({"value":null})"},
      {"PATCH", "/api/v1/models/m", R"({"description":1})"},
      {"PATCH", "/api/v1/models/m/versions/1", R"({"description":"x","stage":"Staging"})"},
      {"POST", "/api/v1/models/m/rename", R"({"new_name":""})"},
      {"GET", "/api/v1/models/m/versions/abc", ""},
      {"GET", "/api/v1/models/m/versions/1.0", ""},
      {"GET", "/api/v1/models/m/versions/+1", ""},
      {"GET", "/api/v1/models/m/versions/0", ""},
      {"GET", "/api/v1/models/m/versions/99999999999999999999", ""},
      {"GET", "/api/v1/audit?since=yesterday", ""},
      {"GET", "/api/v1/audit?version=2", ""},
      {"GET", "/api/v1/audit?model=m&version=x", ""},
  };
  for (const auto& [method, target, body] : requests) {
    SCOPED_TRACE(method + " " + target + " " + body);
    ExpectError(Send(method, target, body), 400, "INVALID_ARGUMENT");
  }
  EXPECT_EQ(Head(), head);
  HttpResponse models = Send("GET", "/api/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(BodyOf(models)["models"].as_array().size(), 1u);
  HttpResponse v1 = Send("GET", "/api/v1/models/m/versions/1");
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(BodyOf(v1)["stage"], json::value("None"));
  EXPECT_EQ(BodyOf(v1)["aliases"], json::array());
}

TEST_F(DispatcherTest, PercentEncodedNamesWithSlashesAndUnicodeRoundTrip) {
  const std::string name = "team/fraud detector \xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 100% a+b?#";
  json::object create{{"name", name}};
  HttpResponse created = Send("POST", "/api/v1/models", SerializeJson(create));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(BodyOf(created)["name"], json::value(name));

  const std::string path = "/api/v1/models/" + Encode(name);
  HttpResponse got = Send("GET", path);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(BodyOf(got)["name"], json::value(name));

  HttpResponse version = Send("POST", path + "/versions", R"({"source":"s3://x"})");
  ASSERT_EQ(version.status, 201) << version.body;
  EXPECT_EQ(BodyOf(version)["model"], json::value(name));

  HttpResponse tagged = Send("PUT", path + "/tags/" + Encode("a/b c"), R"({"value":"v"})");
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  EXPECT_EQ(BodyOf(tagged)["tags"], json::parse(R"({"a/b c":"v"})"));

  HttpResponse listed = Send("GET", "/api/v1/models");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(BodyOf(listed)["models"].as_array().at(0).as_object().at("name"), json::value(name));

  // '+' in a path is a plus, not a space.
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"x+y"})").status, 201);
  EXPECT_EQ(Send("GET", "/api/v1/models/x+y").status, 200);
  ExpectError(Send("GET", "/api/v1/models/x%20y"), 404, "NOT_FOUND");
}

TEST_F(DispatcherTest, ABadLimitIs400AndAGoodOnePages) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("POST", "/api/v1/models", fmt::format(R"({{"name":"m{}"}})", i)).status, 201);
  }
  for (const char* limit :
       {"abc", "0", "1001", "-1", "10abc", "", "1e2", "%205", "1.5", "99999999999999999999"}) {
    SCOPED_TRACE(limit);
    ExpectError(Send("GET", std::string("/api/v1/models?limit=") + limit), 400, "INVALID_ARGUMENT");
    ExpectError(Send("GET", std::string("/api/v1/audit?limit=") + limit), 400, "INVALID_ARGUMENT");
  }
  HttpResponse page = Send("GET", "/api/v1/models?limit=2");
  ASSERT_EQ(page.status, 200);
  json::object body = BodyOf(page);
  EXPECT_EQ(body["models"].as_array().size(), 2u);
  ASSERT_TRUE(body["next_page_token"].is_string());
  const std::string token(body["next_page_token"].as_string());
  HttpResponse next = Send("GET", "/api/v1/models?limit=2&page_token=" + Encode(token));
  ASSERT_EQ(next.status, 200) << next.body;
  json::object rest = BodyOf(next);
  ASSERT_EQ(rest["models"].as_array().size(), 1u);
  EXPECT_EQ(rest["models"].as_array()[0].as_object().at("name"), json::value("m2"));
  EXPECT_FALSE(rest.contains("next_page_token"));
  ExpectError(Send("GET", "/api/v1/models?page_token=" + Encode(token + "x")), 400,
              "INVALID_ARGUMENT");
  EXPECT_EQ(Send("GET", "/api/v1/models?limit=1000").status, 200);
}

TEST_F(DispatcherTest, TheAuditListServesTheStoredEvents) {
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"m"})").status, 201);
  ASSERT_EQ(Send("POST", "/api/v1/models/m/versions", R"({"source":"s3://x"})").status, 201);
  HttpResponse r = Send("GET", "/api/v1/audit?model=m&limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object page = BodyOf(r);
  ASSERT_EQ(page["events"].as_array().size(), 1u);
  EXPECT_EQ(page["events"].as_array()[0].as_object().at("action"), json::value("model.created"));
  ASSERT_TRUE(page["next_page_token"].is_string());
  r = Send("GET", "/api/v1/audit?model=m&page_token=" +
                      Encode(std::string(page["next_page_token"].as_string())));
  ASSERT_EQ(r.status, 200) << r.body;
  page = BodyOf(r);
  ASSERT_EQ(page["events"].as_array().size(), 1u);
  EXPECT_EQ(page["events"].as_array()[0].as_object().at("action"),
            json::value("model_version.created"));
  // Stored bytes are served as stored.
  EXPECT_NE(r.body.find(AuditBodies().back()), std::string::npos);
}

// The MLflow client sends metrics as Python's json.dumps writes them: the shortest text that reads
// back as the same double. They must come back unchanged.
TEST_F(DispatcherTest, MetricValuesComeBackExactlyAsSent) {
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"m"})").status, 201);
  HttpResponse created = Send("POST", "/api/v1/models/m/versions",
                              R"({"source":"s3://x","metrics":{"auc":0.9303381542885225}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find(R"("metrics":{"auc":0.9303381542885225})"), std::string::npos)
      << created.body;
  HttpResponse put =
      Send("PUT", "/api/v1/models/m/versions/1/metrics/f1", R"({"value":0.49431128204553837})");
  ASSERT_EQ(put.status, 200) << put.body;
  HttpResponse got = Send("GET", "/api/v1/models/m/versions/1");
  ASSERT_EQ(got.status, 200);
  EXPECT_NE(got.body.find(R"("metrics":{"auc":0.9303381542885225,"f1":0.49431128204553837})"),
            std::string::npos)
      << got.body;
}

TEST_F(DispatcherTest, ARejectedOversizedBodyIs413ResourceExhausted) {
  HttpRequest big;
  big.method = "POST";
  big.target = "/api/v1/models";
  big.remote_address = "192.0.2.7";
  big.headers = {{"x-request-id", "big-1"}};
  HttpResponse r =
      dispatcher_.Reject(big, Status(StatusCode::kPayloadTooLarge, "the body is over 1 MiB"));
  ExpectError(r, 413, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(ResponseHeader(r, "X-Request-Id"), "big-1");
  EXPECT_EQ(BodyOf(r)["error"].as_object().at("message"), json::value("the body is over 1 MiB"));
}

TEST_F(DispatcherTest, HandlerFailuresAreAnsweredWithoutInternalDetail) {
  router_.Add("GET", "/test/throws", Access::kPublic, Door::kNative,
              [](const Call&) -> Result<HttpResponse> {
                throw std::runtime_error("secret detail /var/lib/vouch");
              });
  router_.Add("GET", "/test/internal", Access::kPublic, Door::kNative,
              [](const Call&) -> Result<HttpResponse> {
                return Internal("sqlite step: disk image is malformed at /var/lib/vouch");
              });
  router_.Add("GET", "/test/unavailable", Access::kPublic, Door::kNative,
              [](const Call&) -> Result<HttpResponse> {
                return Unavailable("sqlite: database is locked /var/lib/vouch");
              });
  for (const char* target : {"/test/throws", "/test/internal"}) {
    HttpResponse r = Send("GET", target);
    ExpectError(r, 500, "INTERNAL");
    EXPECT_EQ(r.body.find("/var/lib/vouch"), std::string::npos) << r.body;
  }
  HttpResponse r = Send("GET", "/test/unavailable");
  ExpectError(r, 503, "UNAVAILABLE");
  EXPECT_EQ(r.body.find("/var/lib/vouch"), std::string::npos) << r.body;
}

TEST_F(DispatcherTest, APermissionDeniedFromAHandlerIs403AndRecordedAtOnce) {
  router_.Add("GET", "/test/forbidden", Access::kAuthenticated, Door::kNative,
              [](const Call&) -> Result<HttpResponse> {
                return PermissionDenied("admin may not do this");
              });
  const int64_t head = Head();
  HttpResponse r = Send("GET", "/test/forbidden", "", {{"x-request-id", "req-403"}});
  ExpectError(r, 403, "PERMISSION_DENIED");
  ASSERT_EQ(Head(), head + 1);
  json::object e = json::parse(AuditBodies().back()).as_object();
  EXPECT_EQ(e["action"], json::value("access.denied"));
  EXPECT_EQ(e["outcome"], json::value("denied"));
  EXPECT_EQ(e["reason"], json::value("admin may not do this"));
  EXPECT_EQ(e["actor"].as_object().at("name"), json::value("admin"));
  EXPECT_EQ(e["request_id"], json::value("req-403"));
}

// Error messages quote the input (a name, a limit); bytes that are not UTF-8 must not make the body
// unparseable JSON.
TEST_F(DispatcherTest, ErrorBodiesStayValidJsonWhenTheInputIsNotUtf8) {
  // Escapes that decode to bytes that are not UTF-8 name nothing: 400, not a lookup of U+FFFD.
  ExpectError(Send("GET", "/api/v1/models/%FF%FE"), 400, "INVALID_ARGUMENT");
  ExpectError(Send("GET", "/api/v1/models?limit=%FF"), 400, "INVALID_ARGUMENT");
  ExpectError(Send("GET", "/api/v1/audit?since=%C3"), 400, "INVALID_ARGUMENT");
  ExpectError(Send("GET", "/api/v1/models/m/versions/%E2%82"), 400, "INVALID_ARGUMENT");
}

// The audit log is canonical JSON: an event must stay valid JSON whatever bytes a client puts in
// its User-Agent header (HTTP allows obs-text), including one cut at the 256-byte limit.
TEST_F(DispatcherTest, AuditEventsStayValidJsonWhateverTheUserAgent) {
  const std::string cut = std::string(255, 'a') + "\xc3\xa9";  // é split by the 256-byte cut
  ASSERT_EQ(
      Send("POST", "/api/v1/models", R"({"name":"a"})", {{"user-agent", "agent\xff\xfe"}}).status,
      201);
  ASSERT_EQ(Send("POST", "/api/v1/models", R"({"name":"b"})", {{"user-agent", cut}}).status, 201);
  for (const auto& body : AuditBodies()) {
    EXPECT_TRUE(ParseJson(body).ok()) << "the stored audit event is not JSON: " << body;
  }
  HttpResponse r = Send("GET", "/api/v1/audit");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(ParseJson(r.body).ok()) << "GET /api/v1/audit is not JSON";
}

// A store that can be switched off, as PostgreSQL is while it restarts.
class SwitchableStore final : public store::Store {
 public:
  explicit SwitchableStore(store::Store& inner) : inner_(inner) {}
  Status Read(const std::function<Status(store::Tx&)>& fn) override {
    return down ? Unavailable("connection refused at db.internal:5432") : inner_.Read(fn);
  }
  Status Write(const std::function<Status(store::Tx&)>& fn) override {
    if (down) ++refused_writes;
    return down ? Unavailable("connection refused at db.internal:5432") : inner_.Write(fn);
  }
  Status Ready() override { return down ? Unavailable("down") : OkStatus(); }
  std::string Describe() const override { return inner_.Describe(); }

  bool down = false;
  int refused_writes = 0;

 private:
  store::Store& inner_;
};

TEST_F(DispatcherTest, AStoreThatCannotCheckCredentialsIs503AndNoDenial) {
  SwitchableStore switchable(db_.store());
  // No credential cache, so that every request asks the store.
  service::AuthService auth(switchable, clock_,
                            service::AuthOptions{.denial_window_ms = 60'000, .cache_ttl_ms = 0});
  Dispatcher dispatcher(router_, auth, clock_);
  HttpRequest r;
  r.method = "GET";
  r.target = "/api/v1/models";
  r.headers = {{"authorization", std::string("Bearer ") + kToken}};
  r.remote_address = "192.0.2.7";
  ASSERT_EQ(dispatcher.Handle(r).status, 200);

  switchable.down = true;
  const int64_t head = Head();
  HttpResponse refused = dispatcher.Handle(r);
  ExpectError(refused, 503, "UNAVAILABLE");
  EXPECT_EQ(refused.body.find("db.internal"), std::string::npos) << refused.body;
  auth.FlushDenials(true);
  EXPECT_EQ(switchable.refused_writes, 0) << "a store outage was recorded as a denial";

  switchable.down = false;
  EXPECT_EQ(dispatcher.Handle(r).status, 200);
  auth.FlushDenials(true);
  EXPECT_EQ(Head(), head);
}

TEST_F(DispatcherTest, TheAuditTakesTheClientAddressFromATrustedProxyOnly) {
  auto trusted = ParseCidrList("192.0.2.0/24");
  ASSERT_TRUE(trusted.ok());
  Dispatcher behind_proxy(router_, auth_, clock_, *trusted);
  auto create = [&](const Dispatcher& d, std::string peer, std::string name) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/v1/models";
    r.headers = {{"authorization", std::string("Bearer ") + kToken},
                 {"content-type", "application/json"},
                 {"x-forwarded-for", "198.51.100.1, 203.0.113.5"}};
    r.body = fmt::format(R"({{"name":"{}"}})", name);
    r.remote_address = std::move(peer);
    EXPECT_EQ(d.Handle(r).status, 201);
    auto last = ParseJsonObject(AuditBodies().back());
    return std::string(last->at("source").as_object().at("address").as_string());
  };
  EXPECT_EQ(create(behind_proxy, "192.0.2.7", "via-proxy"), "203.0.113.5");
  EXPECT_EQ(create(behind_proxy, "198.51.100.9", "not-via-proxy"), "198.51.100.9");
  EXPECT_EQ(create(dispatcher_, "192.0.2.7", "no-proxies-configured"), "192.0.2.7");
}

// A parked request (deferred.h): the holder's later answer is concluded as a handler's would be,
// and the server's own answers (drain, deadline) take the door's error shape with the request's id.
TEST_F(DispatcherTest, ADeferredAnswerIsConcludedLikeAHandlersAndTheServersOwnTakeTheDoorsShape) {
  std::vector<Responder> responders;
  router_.Add("GET", "/api/v1/test-deferred", Access::kAuthenticated, Door::kNative,
              [&](const Call&) -> Result<HttpResponse> {
                auto [parked, responder] = Defer();
                responders.push_back(responder);
                return parked;
              });
  std::optional<HttpResponse> sent;
  auto park = [&](std::string request_id) {
    HttpResponse r = Send("GET", "/api/v1/test-deferred", "", {{"x-request-id", request_id}});
    EXPECT_NE(r.deferred, nullptr);
    if (r.deferred != nullptr) r.deferred->Attach([&](HttpResponse answer) { sent = answer; });
    sent.reset();
    return r.deferred;
  };

  park("req-1");
  ASSERT_EQ(responders.size(), 1u);
  ASSERT_TRUE(responders[0].Respond(HttpResponse::Json(200, R"({"ok":true})")));
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->status, 200);
  EXPECT_EQ(sent->body, R"({"ok":true})");
  EXPECT_EQ(ResponseHeader(*sent, "X-Request-Id"), "req-1");
  EXPECT_EQ(sent->deferred, nullptr);

  park("req-2");
  ASSERT_TRUE(responders[1].Respond(NotFound("no such request")));
  ASSERT_TRUE(sent.has_value());
  ExpectError(*sent, 404, "NOT_FOUND");
  EXPECT_EQ(ResponseHeader(*sent, "X-Request-Id"), "req-2");

  // Internal detail stays in the log, as a handler's would.
  park("req-3");
  ASSERT_TRUE(responders[2].Respond(Internal("secret detail")));
  ASSERT_TRUE(sent.has_value());
  ExpectError(*sent, 500, "INTERNAL");
  EXPECT_EQ(sent->body.find("secret detail"), std::string::npos) << sent->body;

  std::shared_ptr<Deferral> draining = park("req-4");
  ASSERT_TRUE(draining->Fail(Unavailable("the server is shutting down; retry the request")));
  ASSERT_TRUE(sent.has_value());
  ExpectError(*sent, 503, "UNAVAILABLE");
  EXPECT_EQ(BodyOf(*sent)["error"].as_object().at("message"),
            json::value("the server is shutting down; retry the request"));
  EXPECT_EQ(ResponseHeader(*sent, "X-Request-Id"), "req-4");
  EXPECT_TRUE(responders[3].cancelled());

  std::shared_ptr<Deferral> expiring = park("req-5");
  ASSERT_TRUE(expiring->Fail(Status(StatusCode::kDeadlineExceeded, "waited long enough")));
  ASSERT_TRUE(sent.has_value());
  ExpectError(*sent, 504, "DEADLINE_EXCEEDED");
}

}  // namespace
}  // namespace vouch::api

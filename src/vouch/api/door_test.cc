// The plug-in points of a door, proven with a toy door of the kind the SageMaker door will be:
// recognised by a header on `POST /`, authenticated by a signature over the whole request, its
// errors in its own shape — registered beside a catch-all door shaped as the native one (prefix "",
// the Authorization header) without touching the dispatcher. (The real doors sit a layer above
// api/, so this test declares its own.)
#include "vouch/api/door.h"

#include <gtest/gtest.h>

#include "vouch/api/dispatcher.h"
#include "vouch/api/error_table.h"
#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::api {
namespace {

constexpr char kToyKey[] = "toy-secret";
constexpr char kTarget[] = "x-toy-target";

std::string_view ResponseHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

// What the toy client signs: the method, the target (path and query) and the body.
std::string Signature(std::string_view method, std::string_view target, std::string_view body) {
  return HexEncode(HmacSha256(
      kToyKey, std::string(method) + "\n" + std::string(target) + "\n" + std::string(body)));
}

// The toy door's authenticator: claims requests with an x-toy-signature header, and accepts them
// only when the signature covers this very method, target and body.
std::optional<Result<service::Authenticated>> ToySignature(service::AuthService& /*auth*/,
                                                           const HttpRequest& request,
                                                           RequestContext& ctx) {
  std::string_view signature = request.Header("x-toy-signature");
  if (signature.empty()) return std::nullopt;
  ctx.attempted_identity = "toy-client";
  if (signature != Signature(request.method, request.target, request.body)) {
    return Result<service::Authenticated>(Unauthenticated("the toy signature does not match"));
  }
  service::Authenticated who;
  who.principal.id = 42;
  who.principal.name = "toy-client";
  who.method = AuthMethod::kSigV4;
  return Result<service::Authenticated>(std::move(who));
}

// The catch-all door's error shape: {"code","message"} from the native column.
HttpResponse HomeError(const Status& status, const RequestContext& /*ctx*/) {
  const ErrorInfo& info = InfoFor(status.code());
  HttpResponse r = HttpResponse::Json(
      info.http_status,
      SerializeJson(json::object{{"code", info.name}, {"message", status.message()}}));
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vouch\"");
  }
  return r;
}

// The toy door's error shape: AWS JSON 1.1, from the AWS column of the one error table.
HttpResponse ToyError(const Status& status, const RequestContext& /*ctx*/) {
  const ErrorInfo& info = InfoFor(status.code());
  json::object body{{"__type", info.aws_type}, {"message", status.message()}};
  HttpResponse r = HttpResponse::Json(info.aws_http_status, SerializeJson(body));
  r.content_type = "application/x-amz-json-1.1";
  return r;
}

class ToyDoorTest : public ::testing::Test {
 protected:
  ToyDoorTest() {
    router_.AddDoor(DoorSpec{.door = Door::kNative,
                             .recognisers = {Recogniser::PathPrefix("")},
                             .render = HomeError,
                             .authenticators = {AuthorizationHeader}});
    router_.Add("GET", "/home", Access::kAuthenticated, Door::kNative,
                [](const Call&) { return Result<HttpResponse>(HttpResponse::Json(200, "{}")); });
    router_.AddDoor(DoorSpec{.door = Door::kSageMaker,
                             .recognisers = {Recogniser::HeaderOn("POST", "/", kTarget)},
                             .render = ToyError,
                             .authenticators = {ToySignature},
                             .subject = [this](std::string_view pattern,
                                               const Call& c) -> std::optional<RequestSubject> {
                               ++subject_reads_;
                               seen_pattern_ = std::string(pattern);
                               Result<json::object> body = ParseJsonObject(c.request.body);
                               if (!body.ok() || !body->contains("model")) return std::nullopt;
                               return RequestSubject{
                                   .model = std::string(body->at("model").as_string()),
                                   .version = body->at("version").as_int64()};
                             }});
    // One route; the operation is named by the header, as X-Amz-Target names it.
    router_.Add("POST", "/", Access::kAuthenticated, Door::kSageMaker,
                [this](const Call& c) -> Result<HttpResponse> {
                  seen_door_ = c.ctx.door;
                  seen_auth_ = c.ctx.auth;
                  std::string_view op = c.request.Header(kTarget);
                  if (op == "Toy.Fail") return NotFound("no such toy thing");
                  if (op == "Toy.Deny") return PermissionDenied("the toy is not yours");
                  if (op != "Toy.Echo") return InvalidArgument("unknown operation");
                  return HttpResponse::Json(
                      200, SerializeJson(json::object{{"who", c.ctx.principal->name},
                                                      {"body", c.request.body}}));
                });
  }

  HttpResponse Send(std::string method, std::string target, std::string body, HeaderList headers) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.remote_address = "192.0.2.9";
    return dispatcher_.Handle(r);
  }

  HttpResponse SendSigned(std::string_view op, std::string body) {
    return Send("POST", "/", body,
                {{kTarget, std::string(op)}, {"x-toy-signature", Signature("POST", "/", body)}});
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{1'700'000'000'000};
  service::AuthService auth_{db_.store(), clock_, 60'000};
  Router router_;
  Dispatcher dispatcher_{router_, auth_, clock_};
  std::optional<Door> seen_door_;
  AuthMethod seen_auth_ = AuthMethod::kNone;
  int subject_reads_ = 0;
  std::string seen_pattern_;
};

json::object BodyOf(const HttpResponse& r) {
  auto o = ParseJsonObject(r.body);
  EXPECT_TRUE(o.ok()) << "not a JSON object: " << r.body;
  return o.ok() ? *o : json::object();
}

TEST_F(ToyDoorTest, ASignedRequestWithTheHeaderReachesTheToyHandlerAsItsDoor) {
  HttpResponse r = SendSigned("Toy.Echo", R"({"x":1})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(BodyOf(r), (json::object{{"who", "toy-client"}, {"body", R"({"x":1})"}}));
  EXPECT_FALSE(ResponseHeader(r, "X-Request-Id").empty());
  EXPECT_EQ(seen_door_, Door::kSageMaker);
  EXPECT_EQ(seen_auth_, AuthMethod::kSigV4);
}

TEST_F(ToyDoorTest, TheAuthenticatorSeesTheBodySoAnAlteredBodyIsRefusedInTheToyShape) {
  HttpResponse r = Send("POST", "/", R"({"x":2})",
                        {{kTarget, "Toy.Echo"}, {"x-toy-signature", Signature("POST", "/", "{}")}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(BodyOf(r), (json::object{{"__type", "UnrecognizedClientException"},
                                     {"message", "the toy signature does not match"}}));
  EXPECT_FALSE(seen_door_.has_value());
}

TEST_F(ToyDoorTest, TheToyDoorTakesNoBearerTokenBecauseItDeclaresNoSuchAuthenticator) {
  HttpResponse r =
      Send("POST", "/", "{}", {{kTarget, "Toy.Echo"}, {"authorization", "Bearer vch_whatever"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(BodyOf(r)["__type"].as_string(), "UnrecognizedClientException");
  EXPECT_EQ(ResponseHeader(r, "WWW-Authenticate"), "");
  EXPECT_FALSE(seen_door_.has_value());
}

TEST_F(ToyDoorTest, AHandlerFailureIsRenderedByTheToyRendererFromTheAwsColumn) {
  HttpResponse r = SendSigned("Toy.Fail", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(BodyOf(r),
            (json::object{{"__type", "ResourceNotFound"}, {"message", "no such toy thing"}}));
  EXPECT_FALSE(ResponseHeader(r, "X-Request-Id").empty());
}

TEST_F(ToyDoorTest, ARefusalNamesWhatTheDoorsSubjectReaderReadAndOnlyARefusalAsksIt) {
  ASSERT_EQ(SendSigned("Toy.Echo", R"({"model":"m","version":2})").status, 200);
  ASSERT_EQ(SendSigned("Toy.Fail", R"({"model":"m","version":2})").status, 400);
  EXPECT_EQ(subject_reads_, 0);
  HttpResponse r = SendSigned("Toy.Deny", R"({"model":"m","version":2})");
  EXPECT_EQ(r.status, 400) << r.body;  // AWS's AccessDeniedException is a 400
  EXPECT_EQ(subject_reads_, 1);
  EXPECT_EQ(seen_pattern_, "/");

  std::vector<store::StoredAuditEvent> stored;
  Status st = db_.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents({.model = "m", .version = 2}));
    return OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(stored.size(), 1u);
  json::object e = *ParseJsonObject(stored[0].body);
  EXPECT_EQ(e["action"], json::value("access.denied"));
  EXPECT_EQ(e["reason"], json::value("the toy is not yours"));
  EXPECT_EQ(e["target"], json::parse(R"({"type":"request","method":"POST","path":"/",
                                         "model":"m","version":2})"));
}

TEST_F(ToyDoorTest, AnotherPathWithTheToyHeaderIsTheCatchAllDoors) {
  // The recogniser names POST /, so POST /other with the header is the catch-all door's.
  HttpResponse r = Send("POST", "/other", "{}", {{kTarget, "Toy.Echo"}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(BodyOf(r)["code"].as_string(), "NOT_FOUND");
}

TEST_F(ToyDoorTest, WithoutTheHeaderOrWithAnotherMethodTheRequestIsTheCatchAllDoors) {
  for (const auto& [method, headers] : std::vector<std::pair<std::string, HeaderList>>{
           {"POST", {}}, {"GET", {{kTarget, "Toy.Echo"}}}}) {
    SCOPED_TRACE(method);
    HttpResponse r = Send(method, "/", "{}", headers);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(BodyOf(r)["code"].as_string(), "NOT_FOUND");
  }
  // The catch-all door's own routes still authenticate by the Authorization header.
  HttpResponse r = Send("GET", "/home", "", {{"authorization", "Bearer vch_nope"}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(ResponseHeader(r, "WWW-Authenticate"), "Bearer realm=\"vouch\"");
  EXPECT_FALSE(seen_door_.has_value());
}

TEST_F(ToyDoorTest, ARequestRejectedBeforeDispatchTakesTheShapeOfTheDoorThatRecognisesIt) {
  HttpRequest big;
  big.method = "POST";
  big.target = "/";
  big.headers = {{kTarget, "Toy.Echo"}};
  HttpResponse r = dispatcher_.Reject(big, Status(StatusCode::kPayloadTooLarge, "too big"));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(BodyOf(r), (json::object{{"__type", "ValidationException"}, {"message", "too big"}}));
}

TEST(DoorlessRouter, ARequestNoDoorRecognisesIsAnsweredInPlainTextWithTheNativeStatus) {
  store::testing::TempSqliteStore db;
  FakeClock clock(1'700'000'000'000);
  service::AuthService auth(db.store(), clock, 60'000);
  Router router;
  router.Add("GET", "/open", Access::kPublic, Door::kNative,
             [](const Call&) { return Result<HttpResponse>(HttpResponse::Json(200, "{}")); });
  Dispatcher dispatcher(router, auth, clock);
  HttpResponse found = dispatcher.Handle(HttpRequest{.method = "GET", .target = "/open"});
  EXPECT_EQ(found.status, 200) << found.body;
  HttpResponse missing = dispatcher.Handle(HttpRequest{.method = "GET", .target = "/nope"});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(missing.body, "no such endpoint: GET /nope");
  EXPECT_FALSE(ResponseHeader(missing, "X-Request-Id").empty());
}

TEST(Recogniser, TheMostSpecificMatchWinsWhateverTheOrderOfDeclaration) {
  Router router;
  auto renderer = [](std::string_view name) {
    return [name = std::string(name)](const Status&, const RequestContext&) {
      HttpResponse r;
      r.body = name;
      return r;
    };
  };
  router.AddDoor({.door = Door::kNative,
                  .recognisers = {Recogniser::PathPrefix("")},
                  .render = renderer("any")});
  router.AddDoor({.door = Door::kMlflow,
                  .recognisers = {Recogniser::PathPrefix("/a")},
                  .render = renderer("a")});
  router.AddDoor({.door = Door::kUi,
                  .recognisers = {Recogniser::PathPrefix("/a/b")},
                  .render = renderer("ab")});
  router.AddDoor({.door = Door::kSageMaker,
                  .recognisers = {Recogniser::HeaderOn("POST", "/a/b", "x-h")},
                  .render = renderer("header")});
  auto door_of = [&](std::string method, std::string path, HeaderList headers) {
    HttpRequest r{.method = std::move(method), .target = path, .headers = std::move(headers)};
    const DoorSpec* d = router.DoorFor(r, path);
    return d == nullptr ? std::string("none") : d->render(OkStatus(), RequestContext()).body;
  };
  EXPECT_EQ(door_of("GET", "/", {}), "any");
  EXPECT_EQ(door_of("GET", "/a", {}), "a");
  EXPECT_EQ(door_of("GET", "/a/bc", {}), "ab");  // a prefix of characters, as the doors' today
  EXPECT_EQ(door_of("POST", "/a/b", {}), "ab");
  EXPECT_EQ(door_of("POST", "/a/b", {{"x-h", "v"}}), "header");
  EXPECT_EQ(door_of("GET", "/a/b", {{"x-h", "v"}}), "ab");
  EXPECT_EQ(door_of("POST", "/a/b/c", {{"x-h", "v"}}), "ab");
  EXPECT_EQ(Router().DoorFor(HttpRequest{}, "/"), nullptr);
}

}  // namespace
}  // namespace vouch::api

#include "vouch/service/auth_service.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr TimeMs kWindow = 60'000;

class AuthServiceTest : public ::testing::Test {
 protected:
  std::vector<std::string> Bodies() {
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

  std::vector<json::object> Events() {
    std::vector<json::object> out;
    for (const auto& body : Bodies()) {
      auto o = ParseJsonObject(body);
      EXPECT_TRUE(o.ok()) << body;
      if (o.ok()) out.push_back(*o);
    }
    return out;
  }

  template <typename T, typename F>
  T ReadValue(F f) {
    T out{};
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(out, f(tx));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  RequestContext Anonymous(std::string address) {
    RequestContext ctx;
    ctx.address = std::move(address);
    ctx.user_agent = "curl/8";
    ctx.request_id = "anon-req";
    ctx.clock = &clock_;
    return ctx;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  AuthService auth_{db_.store(), clock_, kWindow};
};

TEST_F(AuthServiceTest, BootstrapCreatesTheAdminOnce) {
  auto first = auth_.Bootstrap("");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->token.substr(0, 4), "vch_");
  EXPECT_EQ(first->token.size(), 4u + 43u);

  auto second = auth_.Bootstrap("");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->created);
  EXPECT_TRUE(second->token.empty());
  auto third = auth_.Bootstrap("operator-token");
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->created);

  EXPECT_EQ(ReadValue<int64_t>([](store::Tx& tx) { return tx.CountPrincipals(); }), 1);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["action"], json::value("principal.created"));
  EXPECT_EQ(events[0]["outcome"], json::value("done"));
  EXPECT_EQ(events[0]["actor"], json::parse(R"({"id":0,"name":"system","auth":"system"})"));
  EXPECT_EQ(events[0]["target"].as_object().at("principal"), json::value("admin"));
  EXPECT_EQ(events[0]["before"], json::value(nullptr));
  EXPECT_EQ(events[0]["after"].as_object().at("is_admin"), json::value(true));
  // The operator-given token did not replace the first one.
  EXPECT_EQ(auth_.AuthenticateBearer("operator-token").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, TheGeneratedTokenAuthenticatesAsAdmin) {
  auto boot = auth_.Bootstrap("");
  ASSERT_TRUE(boot.ok());
  auto p = auth_.AuthenticateBearer(boot->token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->principal.name, "admin");
  EXPECT_TRUE(p->principal.is_admin);
  EXPECT_GT(p->principal.id, 0);
  EXPECT_EQ(p->principal.kind, PrincipalKind::kUser);
}

TEST_F(AuthServiceTest, AGivenTokenAuthenticatesAndIsNotEchoedBack) {
  auto boot = auth_.Bootstrap("operator-chosen-secret");
  ASSERT_TRUE(boot.ok());
  EXPECT_TRUE(boot->created);
  EXPECT_TRUE(boot->token.empty());
  auto p = auth_.AuthenticateBearer("operator-chosen-secret");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->principal.name, "admin");
}

TEST_F(AuthServiceTest, WrongOrMissingTokensAreUnauthenticatedWithoutEchoingThem) {
  auto boot = auth_.Bootstrap("right-token");
  ASSERT_TRUE(boot.ok());
  const std::vector<std::string> tokens = {
      "wrong-token", "right-toke", "right-token ",
      "RIGHT-TOKEN", "",           std::string("right\0token", 11)};
  for (const std::string& token : tokens) {
    auto p = auth_.AuthenticateBearer(token);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << token;
    if (!token.empty()) {
      EXPECT_EQ(p.status().message().find(token), std::string::npos) << p.status().message();
    }
  }
}

TEST_F(AuthServiceTest, RevokedExpiredAndDisabledTokensAreUnauthenticated) {
  ASSERT_TRUE(auth_.Bootstrap("admin-token").ok());
  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) -> Status {
                    Principal ci{.name = "ci", .kind = PrincipalKind::kServiceAccount};
                    VOUCH_TRY(tx.InsertPrincipal(ci, kT0));
                    store::TokenRecord expired{.principal_id = ci.id,
                                               .name = "expired",
                                               .token_hash = Sha256Hex("expired-token"),
                                               .created_ms = kT0 - 10,
                                               .expires_ms = kT0};
                    VOUCH_TRY(tx.InsertToken(expired));
                    store::TokenRecord later{.principal_id = ci.id,
                                             .name = "later",
                                             .token_hash = Sha256Hex("later-token"),
                                             .created_ms = kT0,
                                             .expires_ms = kT0 + 1000};
                    VOUCH_TRY(tx.InsertToken(later));
                    Principal off{.name = "off", .disabled = true};
                    VOUCH_TRY(tx.InsertPrincipal(off, kT0));
                    store::TokenRecord off_token{.principal_id = off.id,
                                                 .name = "t",
                                                 .token_hash = Sha256Hex("off-token"),
                                                 .created_ms = kT0};
                    return tx.InsertToken(off_token);
                  })
                  .ok());
  EXPECT_EQ(auth_.AuthenticateBearer("expired-token").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_.AuthenticateBearer("off-token").status().code(), StatusCode::kUnauthenticated);
  auto later = auth_.AuthenticateBearer("later-token");
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->principal.name, "ci");
  EXPECT_EQ(later->principal.kind, PrincipalKind::kServiceAccount);
  clock_.Advance(1000);
  EXPECT_EQ(auth_.AuthenticateBearer("later-token").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, TheTokenNeverAppearsInTheAuditLog) {
  auto boot = auth_.Bootstrap("");
  ASSERT_TRUE(boot.ok());
  const std::string generated = boot->token;
  ASSERT_FALSE(generated.empty());
  auth_.RecordDenial(Anonymous("10.0.0.1"), "invalid token");
  auth_.FlushDenials(true);
  auto bodies = Bodies();
  ASSERT_EQ(bodies.size(), 2u);
  for (const auto& body : bodies) {
    EXPECT_EQ(body.find(generated), std::string::npos) << body;
    EXPECT_EQ(body.find(generated.substr(4)), std::string::npos) << body;
  }

  store::testing::TempSqliteStore other_db;
  AuthService other(other_db.store(), clock_, kWindow);
  ASSERT_TRUE(other.Bootstrap("given-secret-token").ok());
  Status st = other_db.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({}));
    EXPECT_EQ(events.size(), 1u);
    for (const auto& e : events) {
      EXPECT_EQ(e.body.find("given-secret-token"), std::string::npos) << e.body;
    }
    return OkStatus();
  });
  EXPECT_TRUE(st.ok());
}

TEST_F(AuthServiceTest, AnonymousDenialsFromOneAddressBecomeOneEventPerWindow) {
  for (int i = 0; i < 5; ++i) auth_.RecordDenial(Anonymous("10.0.0.1"), "missing credentials");
  auth_.FlushDenials(false);
  EXPECT_TRUE(Bodies().empty()) << "the window is still open";
  clock_.Advance(kWindow - 1);
  auth_.FlushDenials(false);
  EXPECT_TRUE(Bodies().empty()) << "the window is still open";

  clock_.Advance(1);
  auth_.FlushDenials(false);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  json::object& e = events[0];
  EXPECT_EQ(e["action"], json::value("access.denied"));
  EXPECT_EQ(e["outcome"], json::value("denied"));
  EXPECT_EQ(e["count"], json::value(5));
  EXPECT_EQ(e["source"].as_object().at("address"), json::value("10.0.0.1"));
  EXPECT_EQ(e["source"].as_object().at("user_agent"), json::value("curl/8"));
  EXPECT_EQ(e["actor"].as_object().at("name"), json::value(""));
  ASSERT_TRUE(e["reason"].is_string());
  EXPECT_NE(std::string_view(e["reason"].as_string()).find("missing credentials"),
            std::string_view::npos);
  EXPECT_EQ(e["time_ms"], json::value(kT0 + kWindow));

  // Nothing is pending any more, and denials are not notifications.
  auth_.FlushDenials(true);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(ReadValue<int64_t>([](store::Tx& tx) { return tx.CountPendingOutbox(); }), 0);
}

TEST_F(AuthServiceTest, EachAddressGetsItsOwnAggregatedEvent) {
  for (int i = 0; i < 3; ++i) auth_.RecordDenial(Anonymous("10.0.0.1"), "invalid token");
  for (int i = 0; i < 2; ++i) auth_.RecordDenial(Anonymous("10.0.0.2"), "invalid token");
  clock_.Advance(kWindow);
  auth_.FlushDenials(false);
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, int64_t> counts;
  for (auto& e : events) {
    EXPECT_EQ(e["outcome"], json::value("denied"));
    counts[std::string(e["source"].as_object().at("address").as_string())] = e["count"].as_int64();
  }
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"10.0.0.1", 3}, {"10.0.0.2", 2}}));
}

TEST_F(AuthServiceTest, AWindowStartsAtTheFirstDenialOfTheAddress) {
  auth_.RecordDenial(Anonymous("10.0.0.1"), "invalid token");
  clock_.Advance(kWindow / 2);
  auth_.RecordDenial(Anonymous("10.0.0.2"), "invalid token");
  clock_.Advance(kWindow / 2);
  auth_.FlushDenials(false);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["source"].as_object().at("address"), json::value("10.0.0.1"));
  // A new window for the first address starts with its next denial.
  auth_.RecordDenial(Anonymous("10.0.0.1"), "invalid token");
  clock_.Advance(kWindow / 2);
  auth_.FlushDenials(false);
  events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["source"].as_object().at("address"), json::value("10.0.0.2"));
  EXPECT_EQ(events[1]["count"], json::value(1));
}

TEST_F(AuthServiceTest, FlushingAllWritesOpenWindowsToo) {
  auth_.RecordDenial(Anonymous("10.0.0.1"), "invalid token");
  auth_.FlushDenials(true);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["count"], json::value(1));
  auth_.FlushDenials(true);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(AuthServiceTest, ADenialWithAPrincipalIsWrittenAtOnce) {
  RequestContext ctx = Anonymous("10.0.0.9");
  ctx.principal = Principal{.id = 42, .name = "bob"};
  ctx.auth = AuthMethod::kToken;
  ctx.request_id = "req-403";
  auth_.RecordDenial(ctx, "may not delete models");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  json::object& e = events[0];
  EXPECT_EQ(e["action"], json::value("access.denied"));
  EXPECT_EQ(e["outcome"], json::value("denied"));
  EXPECT_EQ(e["reason"], json::value("may not delete models"));
  EXPECT_EQ(e["actor"], json::parse(R"({"id":42,"name":"bob","auth":"token"})"));
  EXPECT_EQ(e["request_id"], json::value("req-403"));
  EXPECT_FALSE(e.contains("count"));
  EXPECT_EQ(ReadValue<int64_t>([](store::Tx& tx) { return tx.CountPendingOutbox(); }), 0);
}

TEST_F(AuthServiceTest, NewTokensAreDistinctAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string t = AuthService::NewToken();
    ASSERT_EQ(t.size(), 47u);
    EXPECT_EQ(t.substr(0, 4), "vch_");
    auto raw = Base64UrlDecode(t.substr(4));
    ASSERT_TRUE(raw.has_value()) << t;
    EXPECT_EQ(raw->size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50u);
}

}  // namespace
}  // namespace vouch::service

#include "vouch/service/secrets.h"

#include <gtest/gtest.h>

#include "vouch/store/sqlite/temp_store_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

class SecretsTest : public ::testing::Test {
 protected:
  std::vector<json::object> Events() {
    std::vector<store::StoredAuditEvent> stored;
    Status st = db_.store().Read([&](store::Tx& tx) -> Status {
      VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents({.limit = 1000}));
      return OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::vector<json::object> out;
    for (const auto& e : stored) out.push_back(*ParseJsonObject(e.body));
    return out;
  }

  store::testing::TempSqliteStore db_;
  FakeClock clock_{kT0};
  const std::string key_ = std::string(kSealKeyBytes, '\x11');
};

TEST(ParseMasterKey, ReadsBase64UrlBase64AndHexOf32Bytes) {
  const std::string raw(32, '\xfb');
  auto url = ParseMasterKey(Base64UrlEncode(raw));
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, raw);
  // The standard alphabet with padding, and a trailing newline as a file has it.
  std::string standard = Base64UrlEncode(raw);
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  auto std_form = ParseMasterKey(standard + "=\n");
  ASSERT_TRUE(std_form.ok());
  EXPECT_EQ(*std_form, raw);
  auto hex = ParseMasterKey("  " + HexEncode(raw) + "\n");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, raw);
  auto made = ParseMasterKey(NewMasterKeyText());
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->size(), 32u);
}

TEST(ParseMasterKey, RefusesOtherLengthsAndTextWithoutEchoingIt) {
  for (std::string bad : {std::string(""), Base64UrlEncode(std::string(16, 'a')),
                          std::string("not a key at all, hunter2"), std::string(64, 'z')}) {
    auto r = ParseMasterKey(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    if (!bad.empty()) {
      EXPECT_EQ(r.status().message().find(bad), std::string::npos);
    }
  }
}

TEST_F(SecretsTest, ASecretIsMadeOnceAuditedAndReadBackSealed) {
  Secrets secrets(db_.store(), clock_, key_);
  int made = 0;
  auto first = secrets.GetOrCreate("page-token-key", [&] {
    ++made;
    return std::string("the-value");
  });
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "the-value");
  auto again = secrets.GetOrCreate("page-token-key", [&] {
    ++made;
    return std::string("another");
  });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "the-value");
  EXPECT_EQ(made, 1);

  std::optional<store::SealedSecret> stored;
  ASSERT_TRUE(db_.store()
                  .Read([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(stored, tx.FindSecret("page-token-key"));
                    return OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->ciphertext.find("the-value"), std::string::npos);
  EXPECT_EQ(stored->created_ms, kT0);

  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("action").as_string(), "secret.created");
  EXPECT_EQ(events[0].at("target").as_object().at("name").as_string(), "page-token-key");
  EXPECT_EQ(SerializeJson(events[0]).find("the-value"), std::string::npos);
}

TEST_F(SecretsTest, AnotherMasterKeyIsRefusedWithAClearMessage) {
  ASSERT_TRUE(
      Secrets(db_.store(), clock_, key_).GetOrCreate("page-token-key", [] { return "v"; }).ok());
  Secrets wrong(db_.store(), clock_, std::string(kSealKeyBytes, '\x12'));
  auto r = wrong.GetOrCreate("page-token-key", [] { return std::string("new"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("master key"), std::string::npos);
  EXPECT_EQ(Events().size(), 1u) << "a refused key must not make a second secret";
}

TEST_F(SecretsTest, ASecretMovedToAnotherNameDoesNotOpen) {
  Secrets secrets(db_.store(), clock_, key_);
  ASSERT_TRUE(secrets.GetOrCreate("a", [] { return "value-a"; }).ok());
  // Copy a's sealed bytes under the name b: the name is authenticated, so b must not open.
  ASSERT_TRUE(db_.store()
                  .Write([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(std::optional<store::SealedSecret> a,
                                           tx.FindSecret("a"));
                    if (!a) return NotFound("a");
                    store::SealedSecret moved = *a;
                    moved.name = "b";
                    return tx.InsertSecret(moved).status();
                  })
                  .ok());
  auto b = secrets.GetOrCreate("b", [] { return "value-b"; });
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vouch::service

#include "vouch/service/webhooks.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vouch/service/approvals_fixture_test.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

using store::WebhookStatus;

const std::string kMasterKey(32, 'k');
const std::string kSecret = "a-secret-of-24-bytes-xyz";

class WebhooksTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    Wire("webhooks");
    webhooks_ = std::make_unique<WebhookService>(*executor_, authz_, kMasterKey,
                                                 PageTokens("page-key"), WebhookServiceOptions{});
    for (const char* name : {"fraud-a", "fraud-b", "churn"}) {
      ASSERT_TRUE(registry_->CreateModel(admin_, {.name = name}).ok());
    }
  }

  static WebhookArgs Args(std::string model = "fraud-*") {
    return WebhookArgs{.name = "ci",
                       .url = "https://hooks.example.com/vouch",
                       .events = {"request.*", "model_version.stage_changed"},
                       .model_pattern = std::move(model)};
  }

  void Grant(const std::string& user, const std::string& model, Permission p) {
    auto set = identity_->SetModelPermission(admin_, model, {.user = user}, p);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
  }

  std::optional<store::WebhookRecord> Stored(int64_t id) {
    std::optional<store::WebhookRecord> found;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(found, tx.FindWebhook(id));
                      return OkStatus();
                    })
                    .ok());
    return found;
  }

  int64_t Head() {
    int64_t head = 0;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(head, tx.AuditHeadSeq());
                      return OkStatus();
                    })
                    .ok());
    return head;
  }

  std::vector<json::object> Events(std::string action) {
    return ParsedEvents({.action = std::move(action)});
  }

  std::unique_ptr<WebhookService> webhooks_;
};

TEST(WebhookSecrets, SealedSecretOpensOnlyWithItsKeyAndUnalteredBytes) {
  auto sealed = SealWebhookSecret(kMasterKey, kSecret);
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(sealed->starts_with("v1."));
  EXPECT_EQ(sealed->find(kSecret), std::string::npos);
  auto again = SealWebhookSecret(kMasterKey, kSecret);
  EXPECT_NE(*sealed, *again) << "a fresh nonce each time";
  auto opened = OpenWebhookSecret(kMasterKey, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, kSecret);

  EXPECT_EQ(OpenWebhookSecret(std::string(32, 'x'), *sealed).status().code(),
            StatusCode::kFailedPrecondition);
  std::string altered = *sealed;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(OpenWebhookSecret(kMasterKey, altered).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(OpenWebhookSecret(kMasterKey, "plain").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(*SealWebhookSecret(kMasterKey, ""), "");
  EXPECT_EQ(*OpenWebhookSecret(kMasterKey, ""), "");
}

TEST_P(WebhooksTest, AdminCreatesARegistryWideSubscriptionWithItsSecretSealedAndNeverRecorded) {
  int64_t head = Head();
  WebhookArgs args = Args("");
  args.secret = kSecret;
  auto made = webhooks_->Create(admin_, args);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(made->secret_set);
  EXPECT_EQ(made->record.secret, "") << "views never carry the secret";
  EXPECT_EQ(made->record.format, "vouch");
  EXPECT_EQ(made->record.after_seq, head);
  EXPECT_EQ(made->owner, "admin");
  EXPECT_EQ(made->events, (std::vector<std::string>{"request.*", "model_version.stage_changed"}));

  auto stored = Stored(made->record.id);
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->secret, kSecret);
  EXPECT_EQ(*OpenWebhookSecret(kMasterKey, stored->secret), kSecret);

  auto events = Events("webhook.created");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["target"].as_object().at("webhook").as_int64(), made->record.id);
  const json::object& after = events[0]["after"].as_object();
  EXPECT_EQ(after.at("secret").as_string(), "set");
  // The path may be the receiver's credential (Slack's is): the log keeps the origin and a digest.
  EXPECT_EQ(after.at("url").as_string(), "https://hooks.example.com/…");
  EXPECT_EQ(after.at("url_sha256").as_string(), Sha256Hex("https://hooks.example.com/vouch"));
  EXPECT_EQ(SerializeJson(events[0]).find("/vouch"), std::string::npos);
  EXPECT_EQ(SerializeJson(events[0]).find(kSecret), std::string::npos);
  for (const auto& s : StoredEvents({})) EXPECT_EQ(s.body.find(kSecret), std::string::npos);
}

TEST_P(WebhooksTest, RefusesEachBadFieldNamingItAndCreatesNothing) {
  struct Case {
    std::function<void(WebhookArgs&)> change;
    std::string prefix;
  };
  const Case cases[] = {
      {[](WebhookArgs& a) { a.name = ""; }, "name: "},
      {[](WebhookArgs& a) { a.name = std::string(129, 'n'); }, "name: "},
      {[](WebhookArgs& a) { a.url = "ftp://x.example.com/"; }, "url: "},
      {[](WebhookArgs& a) { a.url = "https://"; }, "url: "},
      {[](WebhookArgs& a) { a.url = "not a url"; }, "url: "},
      {[](WebhookArgs& a) { a.url = "http://hooks.example.com/"; }, "url: "},
      {[](WebhookArgs& a) { a.url = ""; }, "url: "},
      {[](WebhookArgs& a) { a.events = {}; }, "events: "},
      {[](WebhookArgs& a) { a.events = {"model.exploded"}; }, "events: "},
      {[](WebhookArgs& a) { a.events = {"nothing.*"}; }, "events: "},
      {[](WebhookArgs& a) { a.events = {"token.created"}; }, "events: "},
      {[](WebhookArgs& a) { a.model_pattern = "fraud\n*"; }, "model: "},
      {[](WebhookArgs& a) { a.format = "xml"; }, "format: "},
      {[](WebhookArgs& a) { a.secret = "short"; }, "secret: "},
      {[](WebhookArgs& a) { a.email_to = {"reviewers"}; }, "email_to: "},
      {[](WebhookArgs& a) { a.format = "email"; }, "url: "},
      {[](WebhookArgs& a) {
         a.format = "email";
         a.url = "";
       },
       "email_to: "},
      {[](WebhookArgs& a) {
         a.format = "email";
         a.url = "";
         a.email_to = {"nobody"};
       },
       "email_to: "},
  };
  for (const Case& c : cases) {
    WebhookArgs args = Args();
    c.change(args);
    auto made = webhooks_->Create(admin_, args);
    EXPECT_EQ(CodeOf(made), StatusCode::kInvalidArgument) << c.prefix;
    EXPECT_TRUE(made.status().message().starts_with(c.prefix)) << made.status().message();
  }
  auto listed = webhooks_->List(admin_, "", 100);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->webhooks.empty());
  EXPECT_TRUE(Events("webhook.created").empty());
}

TEST_P(WebhooksTest, AnEmailSubscriptionNamesRecipientsAndNoUrl) {
  WebhookArgs args = Args();
  args.format = "email";
  args.url = "";
  args.email_to = {"reviewers", "requester", "ops@example.com", "reviewers"};
  auto made = webhooks_->Create(admin_, args);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->email_to,
            (std::vector<std::string>{"reviewers", "requester", "ops@example.com"}));
}

TEST_P(WebhooksTest, PlainHttpIsForPrivateReceiversTheServerAllows) {
  webhooks_ =
      std::make_unique<WebhookService>(*executor_, authz_, kMasterKey, PageTokens("page-key"),
                                       WebhookServiceOptions{.allow_private = true});
  WebhookArgs args = Args();
  args.url = "http://127.0.0.1:9999/hook";
  EXPECT_TRUE(webhooks_->Create(admin_, args).ok());
}

TEST_P(WebhooksTest, AModelGlobNeedsManageOnEveryModelItMatches) {
  RequestContext alice = User("alice", "");
  Grant("alice", "fraud-a", Permission::kManage);
  auto denied = webhooks_->Create(alice, Args("fraud-*"));
  EXPECT_EQ(CodeOf(denied), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("fraud-b"), std::string::npos)
      << denied.status().message();

  EXPECT_TRUE(webhooks_->Create(alice, Args("fraud-a")).ok());
  Grant("alice", "fraud-b", Permission::kManage);
  EXPECT_TRUE(webhooks_->Create(alice, Args("fraud-*")).ok());
  // A glob that matches no model yet: the owner's READ is checked at delivery.
  EXPECT_TRUE(webhooks_->Create(alice, Args("future-*")).ok());
  EXPECT_EQ(Events("webhook.created").size(), 3u);
}

TEST_P(WebhooksTest, ARegistryWideSubscriptionNeedsAdmin) {
  RequestContext alice = User("alice", "");
  auto denied = webhooks_->Create(alice, Args(""));
  EXPECT_EQ(CodeOf(denied), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("admin"), std::string::npos);
}

TEST_P(WebhooksTest, AReadOnlyTokenCannotSubscribe) {
  RequestContext reader = admin_;
  reader.read_only = true;
  EXPECT_EQ(CodeOf(webhooks_->Create(reader, Args(""))), StatusCode::kPermissionDenied);
}

TEST_P(WebhooksTest, OwnersSeeAndChangeTheirOwnAndAdminsEveryones) {
  RequestContext alice = User("alice", "");
  RequestContext bob = User("bob", "");
  Grant("alice", "churn", Permission::kManage);
  Grant("bob", "churn", Permission::kManage);
  auto mine = webhooks_->Create(alice, Args("churn"));
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  auto theirs = webhooks_->Create(bob, Args("churn"));
  ASSERT_TRUE(theirs.ok());
  int64_t id = mine->record.id;

  auto alice_list = webhooks_->List(alice, "", 100);
  ASSERT_TRUE(alice_list.ok());
  ASSERT_EQ(alice_list->webhooks.size(), 1u);
  EXPECT_EQ(alice_list->webhooks[0].record.id, id);
  EXPECT_EQ(webhooks_->List(admin_, "", 100)->webhooks.size(), 2u);

  EXPECT_EQ(CodeOf(webhooks_->Get(bob, id)), StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(webhooks_->Update(bob, id, {.name = "mine now"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(webhooks_->Delete(bob, id).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(webhooks_->Get(admin_, id).ok());
  EXPECT_TRUE(webhooks_->Update(admin_, id, {.description = "checked"}).ok());
  EXPECT_EQ(CodeOf(webhooks_->Get(alice, 9999)), StatusCode::kNotFound);
}

TEST_P(WebhooksTest, UpdateRecordsWhatChangedAndTheSecretOnlyAsSetChangedOrRemoved) {
  auto made = webhooks_->Create(admin_, Args(""));
  ASSERT_TRUE(made.ok());
  int64_t id = made->record.id;

  auto same = webhooks_->Update(admin_, id, {.name = "ci", .model_pattern = ""});
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(Events("webhook.updated").empty()) << "a patch that changes nothing records nothing";

  ASSERT_TRUE(webhooks_->Update(admin_, id, {.secret = kSecret}).ok());
  ASSERT_TRUE(webhooks_->Update(admin_, id, {.secret = kSecret}).ok());  // the same: no event
  ASSERT_TRUE(webhooks_->Update(admin_, id, {.secret = kSecret + "-2"}).ok());
  auto disabled = webhooks_->Update(
      admin_, id,
      {.url = "https://b.example.com/", .secret = "", .status = WebhookStatus::kDisabled});
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->secret_set);
  EXPECT_EQ(disabled->record.status, WebhookStatus::kDisabled);

  auto events = Events("webhook.updated");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["after"].as_object().at("secret").as_string(), "set");
  EXPECT_EQ(events[1]["after"].as_object().at("secret").as_string(), "changed");
  const json::object& last = events[2]["after"].as_object();
  EXPECT_EQ(last.at("secret").as_string(), "removed");
  EXPECT_EQ(last.at("status").as_string(), "disabled");
  EXPECT_EQ(last.at("url").as_string(), "https://b.example.com/");
  EXPECT_FALSE(last.contains("name")) << "only what changed";
  EXPECT_EQ(events[2]["before"].as_object().at("status").as_string(), "active");
  for (const auto& s : StoredEvents({})) EXPECT_EQ(s.body.find(kSecret), std::string::npos);

  EXPECT_EQ(CodeOf(webhooks_->Update(admin_, id, {.events = std::vector<std::string>{}})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(webhooks_->Update(admin_, id, {.secret = "short"})),
            StatusCode::kInvalidArgument);
}

TEST_P(WebhooksTest, ChangingTheGlobChecksManageAgain) {
  RequestContext alice = User("alice", "");
  Grant("alice", "churn", Permission::kManage);
  auto made = webhooks_->Create(alice, Args("churn"));
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(CodeOf(webhooks_->Update(alice, made->record.id, {.model_pattern = "fraud-*"})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeOf(webhooks_->Update(alice, made->record.id, {.model_pattern = ""})),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(webhooks_->Get(alice, made->record.id)->record.model_pattern, "churn");
}

TEST_P(WebhooksTest, DeleteKeepsTheRowButHidesIt) {
  auto made = webhooks_->Create(admin_, Args(""));
  ASSERT_TRUE(made.ok());
  int64_t id = made->record.id;
  ASSERT_TRUE(webhooks_->Delete(admin_, id).ok());
  EXPECT_EQ(CodeOf(webhooks_->Get(admin_, id)), StatusCode::kNotFound);
  EXPECT_EQ(webhooks_->Delete(admin_, id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(webhooks_->List(admin_, "", 100)->webhooks.empty());
  auto stored = Stored(id);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->deleted_ms);
  auto events = Events("webhook.deleted");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0]["after"].is_null());
}

TEST_P(WebhooksTest, ListsArePagedWithTamperCheckedTokens) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(webhooks_->Create(admin_, Args("")).ok());
  std::vector<int64_t> seen;
  std::string token;
  do {
    auto page = webhooks_->List(admin_, token, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& w : page->webhooks) seen.push_back(w.record.id);
    token = page->next_page_token;
  } while (!token.empty());
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(CodeOf(webhooks_->List(admin_, "forged.token", 2)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(webhooks_->List(admin_, "", 0)), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Stores, WebhooksTest, ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

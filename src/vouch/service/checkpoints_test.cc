// CheckpointService on both stores: the first key, checkpoints only when the tree grew, rotation
// order (the rotation's checkpoint verifies with the old key, the next with the new), and the
// start checks against stored and saved checkpoints.
#include "vouch/service/checkpoints.h"

#include <gtest/gtest.h>

#include "vouch/service/events.h"
#include "vouch/storage/test_stores_test.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr std::string_view kOrigin = "registry.example/api/v1/audit/log";

class CheckpointsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = store::testing::TestStore::Make(GetParam(), "ckpt");
    ASSERT_NE(env_, nullptr);
    executor_ = std::make_unique<MutationExecutor>(env_->store());
    service_ = Service();
    ASSERT_TRUE(service_->Init(kOrigin).ok());
    admin_.principal = Principal{.id = 1, .name = "root", .is_admin = true};
    admin_.auth = AuthMethod::kToken;
    admin_.clock = &clock_;
    user_ = admin_;
    user_.principal = Principal{.id = 2, .name = "ana"};
  }

  std::unique_ptr<CheckpointService> Service() {
    return std::make_unique<CheckpointService>(*executor_, Authorizer(Permission::kRead), clock_,
                                               key_);
  }

  // One more event in the log.
  void AddEvent() {
    RequestContext ctx = SystemContext(clock_);
    Status st = executor_->Apply(ctx, [&](Change& change) {
      AuditEvent e = NewEvent(ctx, audit::Action::kSecretCreated);
      e.target = {{"type", "secret"}, {"name", "test"}};
      return change.Record(std::move(e));
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
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

  std::vector<json::object> Events(std::string_view action) {
    std::vector<store::StoredAuditEvent> stored;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents({.limit = 1000}));
                      return OkStatus();
                    })
                    .ok());
    std::vector<json::object> out;
    for (const auto& e : stored) {
      json::object o = *ParseJsonObject(e.body);
      if (o.at("action").as_string() == action) out.push_back(std::move(o));
    }
    return out;
  }

  tlog::Verifier VerifierOf(const SigningKeyView& k) {
    auto v = tlog::ParseVerifierKey(k.verifier_key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : tlog::Verifier{};
  }

  // The log's signing key, opened as the service opens it: to forge checkpoints it would sign.
  tlog::Signer StoredSigner() {
    std::vector<store::AuditSigningKey> keys;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(keys, tx.ListAuditSigningKeys());
                      return OkStatus();
                    })
                    .ok());
    const auto& k = keys.at(0);
    auto seed = Unseal(key_, {*Base64UrlDecode(k.seed_nonce), *Base64UrlDecode(k.seed_sealed)},
                       "audit-signing-key " + k.verifier_key);
    EXPECT_TRUE(seed.ok());
    tlog::Signer s{.name = k.name, .seed = seed.ok() ? *seed : std::string()};
    s.key_id = tlog::Ed25519KeyId(s.name, tlog::Ed25519PublicKey(s.seed));
    return s;
  }

  std::unique_ptr<store::testing::TestStore> env_;
  FakeClock clock_{kT0};
  const std::string key_ = std::string(kSealKeyBytes, '\x22');
  std::unique_ptr<MutationExecutor> executor_;
  std::unique_ptr<CheckpointService> service_;
  RequestContext admin_;
  RequestContext user_;
};

TEST(ChooseLogOrigin, IsTheFlagElseThePublicHostElseARandomInstallationId) {
  EXPECT_EQ(*ChooseLogOrigin("log.example/a", "https://x.example"), "log.example/a");
  EXPECT_EQ(*ChooseLogOrigin("", "https://user@vouch.example:8443/base/?q"),
            "vouch.example:8443/api/v1/audit/log");
  auto a = ChooseLogOrigin("", ""), b = ChooseLogOrigin("", "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->starts_with("vouch-")) << *a;
  EXPECT_TRUE(a->ends_with("/api/v1/audit/log")) << *a;
  EXPECT_NE(*a, *b);
  EXPECT_EQ(ChooseLogOrigin("has space", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ChooseLogOrigin("a+b", "").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(CheckpointsTest, InitMakesOneKeyNamedTheOriginAuditedOnceAndKeepsItsOrigin) {
  auto keys = service_->PublicKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].name, kOrigin);
  EXPECT_TRUE((*keys)[0].signing);
  EXPECT_EQ((*keys)[0].retired_ms, std::nullopt);
  EXPECT_TRUE((*keys)[0].verifier_key.starts_with(std::string(kOrigin) + "+" + (*keys)[0].key_id));
  auto created = Events("secret.created");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].at("after").as_object().at("verifier_key").as_string(),
            (*keys)[0].verifier_key);

  // Another server, or a restart with another --public-url: the stored origin stays.
  auto again = Service();
  ASSERT_TRUE(again->Init("other.example/api/v1/audit/log").ok());
  EXPECT_EQ(again->Origin(), kOrigin);
  EXPECT_EQ(again->PublicKeys()->size(), 1u);
  EXPECT_EQ(Events("secret.created").size(), 1u);
}

TEST_P(CheckpointsTest, AnotherMasterKeyIsRefusedAtInit) {
  CheckpointService wrong(*executor_, Authorizer(Permission::kRead), clock_,
                          std::string(kSealKeyBytes, '\x33'));
  EXPECT_EQ(wrong.Init(kOrigin).code(), StatusCode::kFailedPrecondition);
}

TEST_P(CheckpointsTest, ACheckpointIsSignedOnlyWhenTheTreeGrewAndWritesNoEvent) {
  EXPECT_EQ(service_->Latest().status().code(), StatusCode::kNotFound);
  std::vector<CheckpointView> heard;
  service_->AddListener([&](const CheckpointView& v) { heard.push_back(v); });
  const int64_t head = Head();
  auto first = service_->Make(clock_.NowMs());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size, static_cast<uint64_t>(head));
  EXPECT_EQ(Head(), head);  // no event: an idle log stays idle
  ASSERT_EQ(heard.size(), 1u);

  auto keys = *service_->PublicKeys();
  tlog::Verifier v = VerifierOf(keys[0]);
  auto opened = tlog::OpenCheckpoint(first->note, std::span<const tlog::Verifier>(&v, 1), kOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->checkpoint.size, first->size);
  EXPECT_EQ(opened->checkpoint.root, first->root);
  EXPECT_EQ(first->key_id, keys[0].key_id);

  clock_.Advance(1000);
  auto same = service_->Make(clock_.NowMs());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, first->id);
  EXPECT_EQ(heard.size(), 1u);

  AddEvent();
  auto grown = service_->Make(clock_.NowMs());
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown->size, first->size + 1);
  EXPECT_NE(grown->root, first->root);
  EXPECT_EQ(heard.size(), 2u);
  EXPECT_EQ(service_->Latest()->id, grown->id);
  EXPECT_EQ(service_->AtSize(first->size)->note, first->note);
  EXPECT_EQ(service_->AtSize(first->size + 5).status().code(), StatusCode::kNotFound);
  auto list = service_->List(0, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].size, first->size);
  EXPECT_EQ((*list)[1].size, grown->size);
}

TEST_P(CheckpointsTest, TheRotationsCheckpointVerifiesWithTheOldKeyAndTheNextWithTheNew) {
  ASSERT_TRUE(service_->Make(clock_.NowMs()).ok());
  tlog::Verifier old_key = VerifierOf(service_->PublicKeys()->at(0));
  clock_.Advance(1000);
  auto rotated = service_->RotateKey(admin_);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  tlog::Verifier new_key = VerifierOf(rotated->new_key);
  EXPECT_NE(new_key.key_id, old_key.key_id);
  EXPECT_EQ(rotated->new_key.name, kOrigin);

  // The rotation is an event carrying the new key, and the checkpoint covering it is the old key's.
  auto events = Events("audit.key_rotated");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("after").as_object().at("verifier_key").as_string(),
            rotated->new_key.verifier_key);
  EXPECT_EQ(rotated->checkpoint.size, static_cast<uint64_t>(Head()));
  EXPECT_TRUE(tlog::OpenCheckpoint(rotated->checkpoint.note,
                                   std::span<const tlog::Verifier>(&old_key, 1), kOrigin)
                  .ok());
  EXPECT_EQ(tlog::OpenCheckpoint(rotated->checkpoint.note,
                                 std::span<const tlog::Verifier>(&new_key, 1), kOrigin)
                .status()
                .code(),
            StatusCode::kUnauthenticated);

  AddEvent();
  auto next = service_->Make(clock_.NowMs());
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(
      tlog::OpenCheckpoint(next->note, std::span<const tlog::Verifier>(&new_key, 1), kOrigin).ok());
  EXPECT_EQ(tlog::OpenCheckpoint(next->note, std::span<const tlog::Verifier>(&old_key, 1), kOrigin)
                .status()
                .code(),
            StatusCode::kUnauthenticated);

  auto keys = service_->PublicKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].retired_ms, std::optional<TimeMs>(clock_.NowMs()));
  EXPECT_FALSE((*keys)[0].signing);
  EXPECT_EQ((*keys)[1].retired_ms, std::nullopt);
  EXPECT_TRUE((*keys)[1].signing);
  EXPECT_TRUE(service_->CheckLog().ok());
}

TEST_P(CheckpointsTest, OnlyAdminsRotateAndMakeCheckpointsOnDemand) {
  EXPECT_EQ(service_->RotateKey(user_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->MakeFor(user_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->PublicKeys()->size(), 1u);
  EXPECT_TRUE(Events("audit.key_rotated").empty());
  EXPECT_EQ(service_->Latest().status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->MakeFor(admin_).ok());
}

TEST_P(CheckpointsTest, ACheckpointIsDueAfterTheIntervalOrEnoughEventsWhenTheTreeGrew) {
  auto due = [&](TimeMs interval, int64_t events) {
    bool out = false;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(out,
                                             service_->Due(tx, clock_.NowMs(), interval, events));
                      return OkStatus();
                    })
                    .ok());
    return out;
  };
  EXPECT_TRUE(due(60'000, 1000));  // no checkpoint yet
  ASSERT_TRUE(service_->Make(clock_.NowMs()).ok());
  clock_.Advance(120'000);
  EXPECT_FALSE(due(60'000, 1000));  // old, but nothing new
  AddEvent();
  EXPECT_TRUE(due(60'000, 1000));  // old and grew
  EXPECT_FALSE(due(600'000, 2));   // young, one event of two
  AddEvent();
  EXPECT_TRUE(due(600'000, 2));  // young, two events
}

TEST_P(CheckpointsTest, TheStartCheckRefusesALogThatDoesNotHoldASavedCheckpoint) {
  auto made = service_->Make(clock_.NowMs());
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(service_->CheckLog().ok());
  EXPECT_TRUE(service_->CheckSaved(made->note, "the file").ok());

  tlog::Signer signer = StoredSigner();
  // Larger than the log: what a checkpoint file shows when an older database was put back.
  tlog::Checkpoint ahead{
      .origin = std::string(kOrigin), .size = made->size + 3, .root = made->root};
  auto ahead_note = tlog::SignCheckpoint(ahead, std::span<const tlog::Signer>(&signer, 1));
  ASSERT_TRUE(ahead_note.ok());
  Status s = service_->CheckSaved(*ahead_note, "the file");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(std::to_string(made->size + 3)), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(std::to_string(Head())), std::string::npos) << s.message();

  // The same size with another root: a log that is not the one signed.
  tlog::Checkpoint other{.origin = std::string(kOrigin), .size = made->size};
  other.root[0] = 1;
  auto other_note = tlog::SignCheckpoint(other, std::span<const tlog::Signer>(&signer, 1));
  ASSERT_TRUE(other_note.ok());
  s = service_->CheckSaved(*other_note, "the file");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("root"), std::string::npos) << s.message();

  // Signed by a key the log never had.
  auto stranger = tlog::GenerateSigner(kOrigin);
  ASSERT_TRUE(stranger.ok());
  auto stranger_note =
      tlog::SignCheckpoint(tlog::Checkpoint{.origin = std::string(kOrigin), .size = 1},
                           std::span<const tlog::Signer>(&*stranger, 1));
  ASSERT_TRUE(stranger_note.ok());
  EXPECT_EQ(service_->CheckSaved(*stranger_note, "the file").code(),
            StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Stores, CheckpointsTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

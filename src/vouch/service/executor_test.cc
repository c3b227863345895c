// The mutation executor on both stores (PostgreSQL when VOUCH_TEST_POSTGRES_DSN is set): a change
// commits with its events or not at all, an event-less change is refused, an unchanged one rolls
// back, and the hooks run where they say they run.
#include "vouch/service/executor.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "vouch/service/auth_service.h"
#include "vouch/service/events.h"
#include "vouch/service/identity_service.h"
#include "vouch/service/registry.h"
#include "vouch/storage/test_stores_test.h"

namespace vouch::service {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

class ExecutorTest : public ::testing::TestWithParam<std::string> {
 protected:
  ExecutorTest() : clock_(kT0) {
    ctx_.principal = Principal{.id = 1, .name = "alice", .is_admin = true};
    ctx_.auth = AuthMethod::kToken;
    ctx_.request_id = "req-1";
    ctx_.clock = &clock_;
  }

  store::Store& store() { return backend_->store(); }

  // Inserts model `name` in the change's transaction.
  static Result<Model> Insert(Change& change, std::string name) {
    Model m{.name = std::move(name), .created_ms = kT0, .updated_ms = kT0, .created_by = "alice"};
    VOUCH_TRY(change.tx().InsertModel(m));
    return m;
  }

  bool ModelExists(std::string_view name) {
    bool found = false;
    EXPECT_TRUE(store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel(name));
                      found = m.has_value();
                      return OkStatus();
                    })
                    .ok());
    return found;
  }

  size_t AuditCount() {
    size_t n = 0;
    EXPECT_TRUE(store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1000}));
                      n = events.size();
                      return OkStatus();
                    })
                    .ok());
    return n;
  }

  void SetUp() override {
    backend_ = store::testing::TestStore::Make(GetParam(), "vouch_exec_test");
    ASSERT_NE(backend_, nullptr);
    executor_ = std::make_unique<MutationExecutor>(backend_->store());
  }

  FakeClock clock_;
  std::unique_ptr<store::testing::TestStore> backend_;
  std::unique_ptr<MutationExecutor> executor_;
  RequestContext ctx_;
};

TEST_P(ExecutorTest, AChangeThatRecordsNoEventIsRefusedAndLeavesTheStoreUnchanged) {
  int post_commits = 0;
  executor_->AddPostCommitHook([&](const RequestContext&, auto) { ++post_commits; });
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "silent"));
    return OkStatus();  // forgot to record
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_FALSE(ModelExists("silent"));
  EXPECT_EQ(AuditCount(), 0u);
  EXPECT_EQ(post_commits, 0);
}

TEST_P(ExecutorTest, AChangeCommitsTogetherWithItsEvent) {
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "recorded"));
    return change.Record(ModelEvent(ctx_, audit::Action::kModelCreated, m));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(ModelExists("recorded"));
  EXPECT_EQ(AuditCount(), 1u);
}

TEST_P(ExecutorTest, AFailingChangeLeavesNeitherStateNorEvent) {
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "half"));
    VOUCH_TRY(change.Record(ModelEvent(ctx_, audit::Action::kModelCreated, m)));
    return FailedPrecondition("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(ModelExists("half"));
  EXPECT_EQ(AuditCount(), 0u);
}

TEST_P(ExecutorTest, AChangeWhoseEventIsOverTheEntryLimitIsRefusedAndChangesNothing) {
  auto create = [&](std::string name, size_t comment_bytes) {
    return executor_->Apply(ctx_, [&](Change& change) -> Status {
      VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, name));
      AuditEvent e = ModelEvent(ctx_, audit::Action::kModelCreated, m);
      e.comment = std::string(comment_bytes, 'x');
      return change.Record(std::move(e));
    });
  };
  ASSERT_TRUE(create("before", 10).ok());
  // 65,535 bytes of comment alone make the event longer than one tlog-tiles entry.
  Status s = create("huge", 65'535);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("over the limit of 65535 bytes"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("model.created"), std::string::npos) << s.ToString();
  EXPECT_FALSE(ModelExists("huge"));
  EXPECT_EQ(AuditCount(), 1u);
  // The number the refused event took went back: the next event follows without a gap.
  ASSERT_TRUE(create("after", 10).ok());
  std::vector<int64_t> seqs;
  ASSERT_TRUE(store()
                  .Read([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(auto events, tx.ListAuditEvents({.limit = 1000}));
                    for (const auto& e : events) seqs.push_back(e.seq);
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(ModelExists("after"));
}

TEST_P(ExecutorTest, AnUnchangedChangeReturnsOkRollsBackAndRunsNoHook) {
  int hooks = 0;
  executor_->AddPreCommitHook([&](store::Tx&, const RequestContext&) {
    ++hooks;
    return OkStatus();
  });
  executor_->AddPostCommitHook([&](const RequestContext&, auto) { ++hooks; });
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "stray"));
    return change.Unchanged();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(ModelExists("stray"));  // whatever an unchanged change wrote is gone
  EXPECT_EQ(AuditCount(), 0u);
  EXPECT_EQ(hooks, 0);
}

TEST_P(ExecutorTest, EventsOutsideTheCatalogueOrWithAnotherTargetKindAreRefused) {
  Status unknown = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "odd"));
    AuditEvent e = ModelEvent(ctx_, audit::Action::kModelCreated, m);
    e.action = "model.exploded";
    return change.Record(std::move(e));
  });
  EXPECT_EQ(unknown.code(), StatusCode::kInternal) << unknown.ToString();
  Status wrong_target = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "odd"));
    // A version's action with a model as its target.
    return change.Record(ModelEvent(ctx_, audit::Action::kVersionCreated, m));
  });
  EXPECT_EQ(wrong_target.code(), StatusCode::kInternal) << wrong_target.ToString();
  EXPECT_FALSE(ModelExists("odd"));
  EXPECT_EQ(AuditCount(), 0u);
}

TEST_P(ExecutorTest, PreCommitHooksRunInTheChangesTransactionWithItsRequest) {
  std::vector<std::string> seen;
  executor_->AddPreCommitHook([&](store::Tx& tx, const RequestContext& ctx) -> Status {
    // The change's own writes are visible: the hook runs inside its transaction.
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel("hooked"));
    seen.push_back(fmt::format("{} {}", ctx.request_id, m ? m->name : "(none)"));
    return OkStatus();
  });
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "hooked"));
    return change.Record(ModelEvent(ctx_, audit::Action::kModelCreated, m));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, std::vector<std::string>{"req-1 hooked"});
}

TEST_P(ExecutorTest, APreCommitHookThatFailsRollsTheChangeBack) {
  int post_commits = 0;
  executor_->AddPreCommitHook(
      [](store::Tx&, const RequestContext&) { return Aborted("key in flight"); });
  executor_->AddPostCommitHook([&](const RequestContext&, auto) { ++post_commits; });
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "vetoed"));
    return change.Record(ModelEvent(ctx_, audit::Action::kModelCreated, m));
  });
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_FALSE(ModelExists("vetoed"));
  EXPECT_EQ(AuditCount(), 0u);
  EXPECT_EQ(post_commits, 0);
}

TEST_P(ExecutorTest, PostCommitHooksSeeTheCommittedEventsAfterTheCommit) {
  std::vector<std::string> seen;
  executor_->AddPostCommitHook([&](const RequestContext& ctx, std::span<const AuditEvent> events) {
    for (const AuditEvent& e : events) {
      // Committed: a fresh read transaction finds the model.
      seen.push_back(fmt::format("{} {} seq={} visible={}", ctx.request_id, e.action, e.seq,
                                 ModelExists("posted")));
    }
  });
  Status s = executor_->Apply(ctx_, [&](Change& change) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, Insert(change, "posted"));
    VOUCH_TRY(change.Record(ModelEvent(ctx_, audit::Action::kModelCreated, m)));
    return change.Record(ModelEvent(ctx_, audit::Action::kModelTagSet, m));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"req-1 model.created seq=1 visible=true",
                                            "req-1 model.tag_set seq=2 visible=true"}));
}

TEST_P(ExecutorTest, RecordOnlyWritesTheRecordWithoutPreCommitHooks) {
  int pre = 0;
  int post = 0;
  executor_->AddPreCommitHook([&](store::Tx&, const RequestContext&) {
    ++pre;
    return OkStatus();
  });
  executor_->AddPostCommitHook([&](const RequestContext&, auto) { ++post; });
  Status s = executor_->RecordOnly(ctx_, [&](Change& change) {
    AuditEvent e = NewEvent(ctx_, audit::Action::kAccessDenied);
    e.outcome = Outcome::kDenied;
    e.reason = "test";
    e.target = {{"type", "request"}};
    return change.Record(std::move(e));
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(AuditCount(), 1u);
  EXPECT_EQ(pre, 0);
  EXPECT_EQ(post, 1);
  // An audit-only write must still record.
  EXPECT_EQ(executor_->RecordOnly(ctx_, [](Change&) { return OkStatus(); }).code(),
            StatusCode::kInternal);
}

TEST_P(ExecutorTest, ServicesSharingTheExecutorRunItsHooksForEachChange) {
  std::vector<std::string> pre;
  std::vector<std::string> post;
  executor_->AddPreCommitHook([&](store::Tx&, const RequestContext& ctx) {
    pre.push_back(ctx.request_id);
    return OkStatus();
  });
  executor_->AddPostCommitHook([&](const RequestContext&, std::span<const AuditEvent> events) {
    for (const AuditEvent& e : events) post.push_back(e.action);
  });
  RegistryService registry(*executor_, PageTokens("executor-test-key"));
  ASSERT_TRUE(registry.CreateModel(ctx_, {.name = "m"}).ok());
  ASSERT_TRUE(registry.SetModelTag(ctx_, "m", "k", "v").ok());
  // Deleting a tag that is not set changes nothing: no event, no hook.
  ASSERT_TRUE(registry.DeleteModelTag(ctx_, "m", "absent").ok());
  EXPECT_EQ(pre, (std::vector<std::string>{"req-1", "req-1"}));
  EXPECT_EQ(post, (std::vector<std::string>{"model.created", "model.tag_set"}));
  EXPECT_EQ(AuditCount(), 2u);
}

TEST_P(ExecutorTest, IdentityChangesThroughASharedExecutorClearTheCredentialCachesOnCommit) {
  AuthService auth(store(), clock_, AuthOptions{.cache_ttl_ms = 3'600'000});
  ASSERT_TRUE(auth.Bootstrap("vch_executor-test-admin-token").ok());
  IdentityService identity(*executor_, auth, Authorizer());
  RegistryService registry(*executor_, PageTokens("executor-test-key"));
  auto admin = auth.AuthenticateBearer("vch_executor-test-admin-token");
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  RequestContext as_admin = ctx_;
  as_admin.principal = admin->principal;
  ASSERT_TRUE(identity.CreateUser(as_admin, {.name = "bob"}).ok());
  auto token = identity.CreateToken(as_admin, {.owner = "bob", .name = "laptop"});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_TRUE(auth.AuthenticateBearer(token->token).ok());  // cached for an hour
  ASSERT_TRUE(registry.CreateModel(as_admin, {.name = "unrelated"}).ok());
  ASSERT_TRUE(identity.UpdateUser(as_admin, "bob", {.disabled = true}).ok());
  // The post-commit hook cleared the cache: the disabled owner's token stops working at once.
  EXPECT_EQ(auth.AuthenticateBearer(token->token).status().code(), StatusCode::kUnauthenticated);
}

INSTANTIATE_TEST_SUITE_P(Stores, ExecutorTest, ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

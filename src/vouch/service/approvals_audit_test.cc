// Audit schema 2 on both stores (SQLite always, PostgreSQL when VOUCH_TEST_POSTGRES_DSN is set): a
// gated move's own event names its gate, a version archived by archive_existing names its cause,
// request.opened's outbox payload names who could approve, policy.applied records a diff that
// `policy diff` shows, request/review/check events are found by model, and a log that holds the old
// code's schema-1 events still verifies.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "vouch/audit/verify.h"
#include "vouch/service/approvals_fixture_test.h"

namespace vouch::service {
namespace {

constexpr char kProduction[] = R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 2}
      - {from: [{role: business-owner}], count: 1}
    archive_existing: true
)";

json::value J(std::string_view text) { return ParseJson(text).value(); }

class ApprovalsAuditTest : public ApprovalsFixture {
 protected:
  void SetUp() override {
    policy_ = kProduction;
    Wire("vouch_approvals_audit_test");
    dana_ = User("dana", "data-scientist");
    eli_ = User("eli", "ml-engineer");
    fay_ = User("fay", "ml-engineer");
    bo_ = User("bo", "business-owner");
    ASSERT_TRUE(registry_->CreateModel(dana_, {.name = "fraud"}).ok());
    for (int i = 1; i <= 2; ++i) {
      auto v = registry_->CreateVersion(dana_, {.model = "fraud",
                                                .source = fmt::format("s3://b/fraud/{}", i),
                                                .metrics = {{"auc", 0.95}}});
      ASSERT_TRUE(v.ok()) << v.status().ToString();
    }
  }

  void Approve(const RequestContext& who, int64_t id) {
    auto r = approvals_->Approve(who, id, {.comment = "looks good"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // The stored events matching `filter`, parsed, with their sequence numbers.
  std::vector<json::object> Events(store::AuditFilter filter) {
    return ParsedEvents(std::move(filter));
  }

  std::vector<json::object> Events(std::string action) {
    return Events(store::AuditFilter{.action = std::move(action)});
  }

  // The stage_changed event that moved `version` into `stage`, the last one.
  json::object StageEvent(int64_t version, std::string_view stage) {
    json::object found;
    for (auto& e : Events("model_version.stage_changed")) {
      if (e["target"].as_object()["version"] == json::value(version) &&
          e["after"].as_object()["stage"] == json::value(stage)) {
        found = e;
      }
    }
    EXPECT_FALSE(found.empty()) << "no event moved version " << version << " to " << stage;
    return found;
  }

  std::optional<std::string> OutboxPayload(int64_t seq) {
    std::optional<std::string> out;
    EXPECT_TRUE(env_->store()
                    .Read([&](store::Tx& tx) -> Status {
                      VOUCH_ASSIGN_OR_RETURN(out, tx.OutboxPayload(seq));
                      return OkStatus();
                    })
                    .ok());
    return out;
  }

  RequestContext dana_, eli_, fay_, bo_;
};

TEST_P(ApprovalsAuditTest, AMoveAppliedByARequestCarriesItsGateAndTheArchivedVersionItsCause) {
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Production"}).ok());
  EXPECT_FALSE(StageEvent(1, "Production").contains("gate"));
  Apply();
  int64_t id = Request(dana_, 2, "stage:Production");
  ASSERT_GT(id, 0);
  Approve(eli_, id);
  Approve(fay_, id);
  Approve(bo_, id);
  auto shown = approvals_->ShowRequest(dana_, id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  ASSERT_EQ(shown->request.state, store::RequestState::kApplied);

  json::object moved = StageEvent(2, "Production");
  EXPECT_EQ(moved["schema"], J("2"));
  EXPECT_EQ(moved["gate"], J(fmt::format(R"({{"policy":"production","policy_version":1,
      "fingerprint":"{}","request":{},"via":"request"}})",
                                         shown->request.fingerprint, id)));
  // The same gate request.applied records.
  auto applied = Events("request.applied");
  ASSERT_EQ(applied.size(), 1u);
  json::object gate = moved["gate"].as_object();
  gate.erase("via");
  EXPECT_EQ(applied[0]["after"].as_object()["gate"], json::value(gate));

  json::object archived = StageEvent(1, "Archived");
  EXPECT_EQ(archived["after"], J(R"({"stage":"Archived","cause":"superseded","by_version":2})"));
  EXPECT_FALSE(archived.contains("gate"));
}

TEST_P(ApprovalsAuditTest, AnUngatedArchiveExistingMoveNamesItsCauseAndNoGate) {
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Staging"}).ok());
  ASSERT_TRUE(
      registry_
          ->SetStage(dana_,
                     {.model = "fraud", .version = 2, .stage = "Staging", .archive_existing = true})
          .ok());
  json::object archived = StageEvent(1, "Archived");
  EXPECT_EQ(archived["after"], J(R"({"stage":"Archived","cause":"superseded","by_version":2})"));
  EXPECT_FALSE(StageEvent(2, "Staging").contains("gate"));
}

TEST_P(ApprovalsAuditTest, ADirectMoveUnderAuditOnlyCarriesAGateWithoutARequest) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    enforcement: audit_only
)");
  ASSERT_TRUE(
      registry_->SetStage(dana_, {.model = "fraud", .version = 1, .stage = "Production"}).ok());
  json::object moved = StageEvent(1, "Production");
  ASSERT_TRUE(moved.contains("gate")) << SerializeJson(moved);
  json::object& gate = moved["gate"].as_object();
  EXPECT_EQ(gate["policy"], J(R"("production")"));
  EXPECT_EQ(gate["policy_version"], J("1"));
  EXPECT_EQ(gate["request"], J("null"));
  EXPECT_EQ(gate["via"], J(R"("audit_only")"));
  EXPECT_EQ(gate["fingerprint"].as_string().size(), 64u);
  EXPECT_EQ(Events("gate.violated").size(), 1u);
}

TEST_P(ApprovalsAuditTest, AManualApplyFinishedByADirectAliasSetCarriesTheRequestsGate) {
  Apply(R"(policies:
  - name: champion
    target: alias:champion
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    on_approval: manual
)");
  int64_t id = Request(dana_, 1, "alias:champion");
  Approve(eli_, id);
  ASSERT_TRUE(registry_->SetAlias(dana_, "fraud", "champion", 1, "").ok());
  auto set = Events("model_alias.set");
  ASSERT_FALSE(set.empty());
  json::object& gate = set.back()["gate"].as_object();
  EXPECT_EQ(gate["policy"], J(R"("champion")"));
  EXPECT_EQ(gate["request"], json::value(id));
  EXPECT_EQ(gate["via"], J(R"("request")"));
}

TEST_P(ApprovalsAuditTest, RequestOpenedsOutboxPayloadListsWhoCouldApproveEachUnmetRule) {
  Apply();
  int64_t id = Request(dana_, 2, "stage:Production");
  auto opened = Events("request.opened");
  ASSERT_EQ(opened.size(), 1u);
  json::object event = opened[0];
  // The log's event is as before; the outbox adds the recipients.
  EXPECT_FALSE(event.contains("recipients"));
  int64_t seq = event["seq"].as_int64();
  std::optional<std::string> payload = OutboxPayload(seq);
  ASSERT_TRUE(payload.has_value());
  json::object sent = ParseJsonObject(*payload).value();
  ASSERT_TRUE(sent.contains("recipients")) << *payload;
  EXPECT_EQ(sent["recipients"], J(R"([
      {"rule":0,"text":"2 of role:ml-engineer","required":2,"missing":2,
       "could_approve":["eli","fay"]},
      {"rule":1,"text":"1 of role:business-owner","required":1,"missing":1,
       "could_approve":["bo"]}])"));
  sent.erase("recipients");
  EXPECT_EQ(sent, event);
  // Every other event's payload is its stored bytes.
  Approve(eli_, id);
  auto reviewed = Events("request.reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  std::vector<store::StoredAuditEvent> stored;
  ASSERT_TRUE(env_->store()
                  .Read([&](store::Tx& tx) -> Status {
                    VOUCH_ASSIGN_OR_RETURN(stored, tx.ListAuditEvents({.limit = 1000}));
                    return OkStatus();
                  })
                  .ok());
  for (const auto& e : stored) {
    if (e.seq == seq) continue;
    std::optional<std::string> p = OutboxPayload(e.seq);
    if (p) {
      EXPECT_EQ(*p, e.body);
    }
  }
}

TEST_P(ApprovalsAuditTest, RequestReviewAndCheckEventsAreFoundByModelAndVersion) {
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 1}
    checks: [ci/tests]
)");
  int64_t id = Request(dana_, 2, "stage:Production");
  Approve(eli_, id);
  ASSERT_TRUE(
      approvals_
          ->PostCheck(dana_,
                      {.model = "fraud", .version = 2, .name = "ci/tests", .state = "success"})
          .ok());
  std::set<std::string> actions;
  for (auto& e : Events(store::AuditFilter{.model = "fraud", .version = 2})) {
    actions.insert(std::string(e["action"].as_string()));
    EXPECT_EQ(e["target"].as_object()["model"], J(R"("fraud")"));
    EXPECT_EQ(e["target"].as_object()["version"], J("2"));
  }
  for (const char* action : {"request.opened", "request.reviewed", "check.posted",
                             "request.approved", "request.applied"}) {
    EXPECT_TRUE(actions.contains(action)) << action;
  }
  auto reviewed = Events("request.reviewed");
  ASSERT_EQ(reviewed.size(), 1u);
  json::object& after = reviewed[0]["after"].as_object();
  EXPECT_EQ(after["printed_name"], J(R"("Dr eli")"));
  EXPECT_EQ(after["meaning"], J(R"("approved")"));
}

TEST_P(ApprovalsAuditTest, PolicyAppliedRecordsTheDiffThatPolicyDiffShows) {
  Apply();
  EXPECT_FALSE(Events("policy.applied")[0]["after"].as_object().contains("diff"));
  Apply(R"(policies:
  - name: production
    target: stage:Production
    approvals:
      - {from: [{role: ml-engineer}], count: 3}
      - {from: [{role: business-owner}], count: 1}
    archive_existing: true
    comment_required: true
)");
  auto applied = Events("policy.applied");
  ASSERT_EQ(applied.size(), 2u);
  json::object& after = applied[1]["after"].as_object();
  EXPECT_EQ(after["diff"], J(R"([
      {"path":"/approvals/0/count","before":2,"after":3},
      {"path":"/comment_required","before":false,"after":true}])"));
  auto diff = approvals_->DiffPolicy(dana_, "production", 1, 2);
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ(json::value(diff->changes), after["diff"]);
  EXPECT_EQ(diff->from.version, 1);
  EXPECT_EQ(diff->to.version, 2);
  auto backwards = approvals_->DiffPolicy(dana_, "production", 2, 1);
  ASSERT_TRUE(backwards.ok());
  EXPECT_EQ(backwards->changes.size(), 2u);
  auto same = approvals_->DiffPolicy(dana_, "production", 2, 2);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->changes.empty());
  EXPECT_EQ(approvals_->DiffPolicy(dana_, "production", 1, 3).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(approvals_->DiffPolicy(dana_, "absent", 1, 2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(approvals_->DiffPolicy(dana_, "production", 0, 2).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ApprovalsAuditTest, ALogHoldingTheOldCodesSchemaOneEventsStillVerifies) {
  // Bytes the schema-1 writer stored (a model.created of before issue 12), then today's events.
  ASSERT_TRUE(
      env_->store()
          .Write([&](store::Tx& tx) -> Status {
            AuditEvent e;
            e.time_ms = kT0;
            e.action = "model.created";
            return tx
                .AppendAuditEvent(
                    e,
                    [](int64_t seq) -> Result<std::string> {
                      return fmt::format(
                          R"({{"action":"model.created","actor":{{"auth":"token","id":1,"name":"admin"}},"after":{{"description":"","name":"old","tags":{{}}}},"before":null,"comment":"","outcome":"done","request_id":"cd644737f72897d2034ab070","schema":1,"seq":{},"source":{{"address":"127.0.0.1","door":"native","user_agent":"python-requests/2.32.3"}},"target":{{"model":"old","type":"model"}},"time":"2026-12-06T04:35:56.544Z","time_ms":1796531756544}})",
                          seq);
                    })
                .status();
          })
          .ok());
  Apply();
  int64_t id = Request(dana_, 2, "stage:Production");
  ASSERT_GT(id, 0);
  auto verified = audit::Verify(env_->store());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  std::set<int64_t> schemas;
  for (auto& e : Events(store::AuditFilter{})) schemas.insert(e["schema"].as_int64());
  EXPECT_EQ(schemas, (std::set<int64_t>{1, 2}));
}

INSTANTIATE_TEST_SUITE_P(Stores, ApprovalsAuditTest,
                         ::testing::ValuesIn(store::testing::TestBackends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vouch::service

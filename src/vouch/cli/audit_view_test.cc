#include "vouch/cli/audit_view.h"

#include <gtest/gtest.h>

#include <sstream>

namespace vouch::cli {
namespace {

json::object Event(std::string_view text) {
  Result<json::object> o = ParseJsonObject(text);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return o.ok() ? *o : json::object();
}

TEST(AuditView, AStageChangeShowsFromToItsCommentAndItsDoor) {
  AuditRow row = AuditRowOf(Event(R"j({"schema": 1, "seq": 42, "time": "2026-11-25T14:00:00.123Z",
      "actor": {"id": 1, "name": "admin", "auth": "token"},
      "source": {"door": "mlflow", "address": "127.0.0.1", "user_agent": "mlflow-python-client"},
      "action": "model_version.stage_changed",
      "target": {"type": "model_version", "model": "fraud-detector", "version": 1},
      "before": {"stage": "None"}, "after": {"stage": "Staging"},
      "comment": "passed review", "request_id": "r1", "outcome": "done"})j"));
  EXPECT_EQ(row.seq, "42");
  EXPECT_EQ(row.time, "2026-11-25T14:00:00.123Z");
  EXPECT_EQ(row.actor, "admin");
  EXPECT_EQ(row.door, "mlflow");
  EXPECT_EQ(row.action, "model_version.stage_changed");
  EXPECT_EQ(row.target, "fraud-detector v1");
  EXPECT_EQ(row.change, "None \u2192 Staging");
  EXPECT_EQ(row.outcome, "done");
  EXPECT_EQ(row.comment, "passed review");
}

TEST(AuditView, TheDoorIsTheSourcesDoorWhateverUserAgentTheClientClaims) {
  AuditRow row = AuditRowOf(Event(R"j({"source": {"door": "native", "address": "10.0.0.1",
      "user_agent": "vouch-cli/0.1.0"}, "action": "model.created",
      "target": {"type": "model", "model": "m"}})j"));
  EXPECT_EQ(row.door, "native");
  EXPECT_EQ(row.target, "m");
  EXPECT_EQ(row.change, "");
}

TEST(AuditView, GroupEventsNameTheGroupAndTheMember) {
  AuditRow added = AuditRowOf(Event(R"j({"action": "group.member_added",
      "target": {"type": "group", "group": "ml", "id": 2},
      "before": null, "after": {"member": "alice", "member_id": 7}, "outcome": "done"})j"));
  EXPECT_EQ(added.target, "group ml");
  EXPECT_EQ(added.change, "+alice");
  AuditRow removed = AuditRowOf(Event(R"j({"action": "group.member_removed",
      "target": {"type": "group", "group": "ml", "id": 2},
      "before": {"member": "alice", "member_id": 7}, "after": null})j"));
  EXPECT_EQ(removed.change, "-alice");
  AuditRow created = AuditRowOf(Event(R"j({"action": "group.created",
      "target": {"type": "group", "group": "risk", "id": 3}})j"));
  EXPECT_EQ(created.target, "group risk");
}

TEST(AuditView, RoleEventsNameTheRoleAndItsGrantee) {
  EXPECT_EQ(AuditRowOf(Event(R"j({"action": "role.granted",
                "target": {"type": "role", "role": "auditor", "user": "alice"}})j"))
                .target,
            "role auditor: user alice");
  EXPECT_EQ(AuditRowOf(Event(R"j({"action": "role.revoked",
                "target": {"type": "role", "role": "reviewer", "group": "ml"}})j"))
                .target,
            "role reviewer: group ml");
}

TEST(AuditView, PermissionEventsNameModelGranteeAndLevels) {
  AuditRow row = AuditRowOf(Event(R"j({"action": "permission.granted",
      "target": {"type": "model_permission", "model": "fraud-detector", "group": "ml"},
      "before": null, "after": {"permission": "EDIT"}})j"));
  EXPECT_EQ(row.target, "fraud-detector: group ml");
  EXPECT_EQ(row.change, "(none) \u2192 EDIT");
}

TEST(AuditView, IdentityTokenSecretAndAliasTargetsAreNamed) {
  EXPECT_EQ(AuditRowOf(Event(R"j({"target": {"type": "principal", "principal": "bob", "id": 4}})j"))
                .target,
            "bob");
  EXPECT_EQ(
      AuditRowOf(Event(R"j({"target": {"type": "token", "id": 3, "principal": "alice"}})j")).target,
      "token 3 of alice");
  EXPECT_EQ(AuditRowOf(Event(R"j({"target": {"type": "secret", "name": "attempt-key"}})j")).target,
            "secret attempt-key");
  AuditRow alias = AuditRowOf(Event(R"j({"action": "model_alias.set",
      "target": {"type": "model_version", "model": "m", "version": 2, "alias": "champion"},
      "before": {"alias": "champion", "version": 1}, "after": {"alias": "champion", "version": 2}})j"));
  EXPECT_EQ(alias.target, "m v2 @champion");
  EXPECT_EQ(alias.change, "v1 \u2192 v2");
  AuditRow renamed = AuditRowOf(Event(R"j({"action": "model.renamed",
      "target": {"type": "model", "model": "new"}, "before": {"name": "old"},
      "after": {"name": "new"}})j"));
  EXPECT_EQ(renamed.change, "old \u2192 new");
}

TEST(AuditView, ADenialNamesItsModelAndShowsItsReasonAsTheComment) {
  AuditRow row = AuditRowOf(Event(R"j({"actor": {"id": 7, "name": "alice", "auth": "password"},
      "source": {"door": "mlflow", "address": "10.0.0.2", "user_agent": "python"},
      "action": "access.denied",
      "target": {"type": "request", "method": "POST",
                 "path": "/api/2.0/mlflow/model-versions/transition-stage",
                 "model": "fraud-detector", "version": 1},
      "before": null, "after": null, "comment": "", "outcome": "denied",
      "reason": "alice needs EDIT permission on model 'fraud-detector' (has READ)"})j"));
  EXPECT_EQ(row.actor, "alice");
  EXPECT_EQ(row.door, "mlflow");
  EXPECT_EQ(row.target, "fraud-detector v1");
  EXPECT_EQ(row.outcome, "denied");
  EXPECT_EQ(row.comment, "alice needs EDIT permission on model 'fraud-detector' (has READ)");
}

TEST(AuditView, ADenialWithoutAModelShowsItsRequestAndAnOldOneItsType) {
  EXPECT_EQ(AuditRowOf(Event(R"j({"action": "access.denied", "outcome": "denied", "reason": "r",
                "target": {"type": "request", "method": "POST", "path": "/api/v1/groups"}})j"))
                .target,
            "POST /api/v1/groups");
  EXPECT_EQ(AuditRowOf(Event(R"j({"action": "access.denied", "outcome": "denied", "reason": "r",
                "target": {"type": "request"}})j"))
                .target,
            "request");
}

TEST(AuditView, AnAggregatedDenialShowsTheAttemptedIdentityAndItsCount) {
  AuditRow row = AuditRowOf(Event(R"j({"actor": {"id": 0, "name": "", "auth": "none"},
      "source": {"door": "native", "address": "10.0.0.3", "user_agent": ""},
      "action": "access.denied", "target": {"type": "request", "attempted": "(unknown token)"},
      "outcome": "denied", "reason": "unauthenticated: invalid token", "count": 3})j"));
  EXPECT_EQ(row.actor, "(unknown token)");
  EXPECT_EQ(row.outcome, "denied (3 times)");
  EXPECT_EQ(row.comment, "unauthenticated: invalid token");
}

TEST(AuditView, SystemEventsAreTheSystems) {
  EXPECT_EQ(AuditRowOf(Event(R"j({"actor": {"id": 0, "name": "", "auth": "system"},
                "source": {"door": "system", "address": "", "user_agent": ""}})j"))
                .actor,
            "(system)");
}

TEST(AuditView, TheTableHasOneColumnPerRowFieldInOrder) {
  std::ostringstream out;
  ListPrinter printer(OutputFormat::kCsv, AuditLogColumns(), out);
  printer.Add(json::value(Event(R"j({"seq": 5, "time": "t", "actor": {"name": "admin"},
      "source": {"door": "native"}, "action": "model_version.stage_changed",
      "target": {"type": "model_version", "model": "m", "version": 1},
      "before": {"stage": "Staging"}, "after": {"stage": "Production"},
      "comment": "go", "outcome": "done"})j")));
  printer.Finish();
  EXPECT_EQ(
      out.str(),
      "seq,time,actor,door,action,target,change,outcome,comment\r\n"
      "5,t,admin,native,model_version.stage_changed,m v1,Staging \u2192 Production,done,go\r\n");
}

TEST(AuditView, MissingOrOddFieldsLeaveCellsEmptyRatherThanFailing) {
  AuditRow row =
      AuditRowOf(Event(R"j({"target": "odd", "before": 5, "action": "model.renamed"})j"));
  EXPECT_EQ(row.target, "odd");
  EXPECT_EQ(row.change, "");
  EXPECT_EQ(row.seq, "");
}

}  // namespace
}  // namespace vouch::cli

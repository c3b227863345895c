// How `vouch audit log` shows an audit event (docs/api.md, "Audit event") as one table row: pure
// functions from the event as the server sends it to its cells, so that each column is tested
// without a server. Events of every age are shown: a field an older event lacks leaves its cell
// empty rather than failing.
#pragma once

#include <string>
#include <vector>

#include "vouch/cli/output.h"
#include "vouch/util/json.h"

namespace vouch::cli {

// One event's cells, column by column.
struct AuditRow {
  std::string seq;
  std::string time;
  // The principal; for an unauthenticated denial the identity it tried to be, "(anonymous)" when
  // it named none; "(system)" for what the server did on its own behalf.
  std::string actor;
  // `source.door`: native, mlflow, system … The CLI is a client of the native door: the user
  // agent it sends is only what the client claims, so it is not a door of its own here.
  std::string door;
  std::string action;
  // The object, named: "fraud-detector v3 @champion", "group ml", "role auditor: user alice",
  // "fraud-detector: group ml" (a permission), "token 3 of alice", "secret NAME"; for a denial
  // the model and version it was refused on, else its method and path.
  std::string target;
  // What changed, for the actions where one value became another: "None → Staging" (stage),
  // "v1 → v2" (alias), "old → new" (rename), "READ → EDIT" (permission), "+alice" / "-alice"
  // (group member). Empty otherwise.
  std::string change;
  // "done" or "denied", with "(N times)" for an aggregated denial.
  std::string outcome;
  // The comment; for a denial, its reason.
  std::string comment;
};

AuditRow AuditRowOf(const json::object& event);

// SEQ, TIME, ACTOR, DOOR, ACTION, TARGET, CHANGE, OUTCOME, COMMENT: AuditRowOf's fields in order.
std::vector<Column> AuditLogColumns();

}  // namespace vouch::cli

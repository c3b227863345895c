// The approval service (issue 12): policies as code, requests and their reviews, checks, and the
// gate every direct move into a gated target passes (gate.h). It gathers the policy layer's inputs
// from the store and acts on the evaluator's answer (src/vouch/policy/evaluator.h), inside the
// transaction that applies the move: every decision is evaluated again there, with the people's
// roles, groups and state loaded from the identity store at that moment. Every change runs
// through the mutation executor with its audit events (policy.applied, request.*, review.dismissed,
// check.posted, gate.violated).
//
// Who may do what: applying and retiring policies needs admin; opening a request needs EDIT on the
// model and a listed requester (anyone with EDIT without `requesters`); approving or rejecting
// needs READ and a rule the reviewer can satisfy (separation of duties applied; service accounts
// never sign); cancelling is for the requester or MANAGE; applying for the requester or EDIT;
// posting a check needs EDIT. Reads need READ on the model.
//
// Lock order, as the registry's: the model's row, the version's, then the request's.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vouch/domain/model.h"
#include "vouch/domain/principal.h"
#include "vouch/policy/evaluator.h"
#include "vouch/policy/policy.h"
#include "vouch/service/auth_service.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/executor.h"
#include "vouch/service/gate.h"
#include "vouch/service/leave_gate.h"
#include "vouch/store/store.h"
#include "vouch/util/json.h"

namespace vouch::service {

// What `policy apply` did to one policy of the file.
struct PolicyChange {
  std::string name;
  std::string target;
  std::string change;   // "created", "updated", "unchanged"
  int64_t version = 0;  // the version in force afterwards
  std::string digest;
  // Open or approved requests under an earlier version of it: their approvals were given under
  // another fingerprint and will need to be given again.
  int64_t requests_needing_approval = 0;
};

struct PolicyApplyResult {
  std::vector<PolicyChange> policies;  // in the file's order
  // A reference to a group or user that does not exist (yet).
  std::vector<std::string> warnings;
};

struct RequestArgs {
  std::string model;
  int64_t version = 0;
  std::string target;  // "stage:Production", "alias:champion"
  std::string comment;
  // Break glass (docs/approvals.md): applied at once by someone the policy's `break_glass` names,
  // with a reason (1 to 1000 characters), leaving a follow-up open for another reviewer.
  bool break_glass = false;
  std::string reason;
};

struct ReviewArgs {
  std::string comment;
  std::string meaning;      // empty: "approved"
  std::string fingerprint;  // when set: ABORTED unless it is the version's fingerprint now
  // The signer's password, for a policy with `reauth: true` (empty: none given). Checked by the
  // sign-in code when given; never logged, stored, or put in an event.
  std::string password;
};

struct RequestQuery {
  std::optional<std::string> model;  // none: every model the caller may read
  std::optional<std::string> state;  // none: any (an empty value is not a state)
  bool mine = false;                 // opened by the caller
  bool to_review = false;            // open, not the caller's, with a rule naming the caller
  int64_t before_id = 0;
  int limit = 100;         // 1..1000
  bool followups = false;  // only break-glass requests whose follow-up is still open
};

struct ReviewView {
  store::ApprovalReview review;
  std::string reviewer;  // username (empty for a principal that no longer exists)
};

// A request as the doors show it.
struct RequestView {
  store::ApprovalRequest request;
  std::string model;                // the model's name
  std::string requester;            // username
  std::vector<ReviewView> reviews;  // `show` only: every review, dismissed ones too
  // `show` only: the evaluator's answer now, under the governing policy (without applying
  // anything); empty when no policy governs the target any more or the request is closed.
  std::optional<policy::Evaluation> evaluation;
  std::string governing_policy;  // with `evaluation`
  int64_t governing_policy_version = 0;
};

struct CheckArgs {
  std::string model;
  int64_t version = 0;
  std::string name;
  std::string state;  // pending, success, failure, error
  std::string url;
  std::string description;
};

struct PolicyTestArgs {
  std::string yaml;
  std::string model;
  int64_t version = 0;
  std::string target;
};

// Two versions of a policy and what changed between them (`vouch policy diff`).
struct PolicyDiff {
  store::PolicyRecord from;
  store::PolicyRecord to;
  json::array changes;  // PolicyBodyDiff
};

struct PolicyTestResult {
  bool gated = false;
  std::string policy;  // the file's policy that would govern
  policy::Evaluation evaluation;
};

// A comment on a version (MLflow's comments/create), with its author's name.
struct CommentView {
  store::RequestComment comment;
  std::string model;   // the model's name
  std::string author;  // username (empty for a principal that no longer exists)
};

// A version's active requests, as MLflow's transition requests name them (by version and stage).
struct VersionRequests {
  std::string model;
  int64_t version = 0;
  std::string stage;                  // the version's stage when read ("None", "Staging", …)
  std::vector<RequestView> requests;  // open and approved, newest first
};

// Where a version stands with one target (`vouch gate check`).
struct GateStatus {
  bool gated = false;
  std::string policy;
  int64_t policy_version = 0;
  bool holds = false;                 // the version holds the target now
  bool may_enter = false;             // not gated, holds, or its newest request may be applied now
  std::optional<RequestView> newest;  // the newest request for the version and target
  // "not_gated", "holds", "may_enter", "pending", "rejected", "expired", "cancelled",
  // "superseded", "no_request".
  std::string status;
  // The version holds the target through a break-glass request (its newest request for it).
  bool break_glass = false;
};

// What one run of the timers did (ApprovalService::RunTimers).
struct TimerRun {
  int examined = 0;  // due requests evaluated
  int expired = 0;
  int approved = 0;  // approved by a timer, applied or not
  int applied = 0;
};

class ApprovalService : public MoveGate, public LeaveGate {
 public:
  ApprovalService(MutationExecutor& executor, Authorizer authz = Authorizer());

  // ---- Policies.
  // Publishes a new version of each policy of `yaml` whose digest differs from its newest version
  // (or that is new or retired); the others stay. INVALID_ARGUMENT with line and column for a bad
  // file; FAILED_PRECONDITION naming both policies when the resulting set has a tie or a narrower
  // policy loosens a minimum of a wider one; PERMISSION_DENIED for a non-admin.
  Result<PolicyApplyResult> ApplyPolicies(const RequestContext& ctx, std::string_view yaml);
  // The newest version of every policy in force (retired ones with `include_retired`). Any
  // authenticated principal may read policies.
  Result<std::vector<store::PolicyRecord>> ListPolicies(const RequestContext& ctx,
                                                        bool include_retired);
  // NOT_FOUND "policy P not found" / "policy P has no version N". `version` 0: the newest.
  Result<store::PolicyRecord> GetPolicy(const RequestContext& ctx, std::string_view name,
                                        int64_t version);
  Result<std::vector<store::PolicyRecord>> PolicyHistory(const RequestContext& ctx,
                                                         std::string_view name);
  // Admin. NOT_FOUND for an unknown name, FAILED_PRECONDITION when it is retired already.
  Result<store::PolicyRecord> RetirePolicy(const RequestContext& ctx, std::string_view name);
  // The decision the version would get under the policies of `yaml`, applying nothing: with the
  // reviews of its newest open or approved request for the target, or as a new request by the
  // caller. READ on the model, and a token that may write (it is a POST).
  Result<PolicyTestResult> TestPolicy(const RequestContext& ctx, const PolicyTestArgs& args);
  // What changed from version `from` of policy `name` to version `to` (approvals_audit.cc): the
  // diff policy.applied records. NOT_FOUND as GetPolicy; INVALID_ARGUMENT for a version below 1.
  Result<PolicyDiff> DiffPolicy(const RequestContext& ctx, std::string_view name, int64_t from,
                                int64_t to);

  // ---- Requests.
  // FAILED_PRECONDITION when no policy gates the target for the model (move it directly) or the
  // version holds it already; PERMISSION_DENIED without EDIT or when `requesters` leaves the
  // caller out; INVALID_ARGUMENT for a bad target or a missing comment the policy requires;
  // ALREADY_EXISTS when the version has an open or approved request for the target. The request
  // is evaluated at once (a policy of checks only may be satisfied already).
  // Break glass (`args.break_glass`): INVALID_ARGUMENT without a reason; PERMISSION_DENIED
  // unless `break_glass` names the caller (instead of `requesters`); applied at once, recorded
  // as gate.bypassed, its follow-up open. A target `leave:stage:Production` asks to leave a
  // target the version holds: FAILED_PRECONDITION unless the policy has `gate_removal: true` and
  // the version holds it.
  Result<RequestView> CreateRequest(const RequestContext& ctx, const RequestArgs& args);
  // NOT_FOUND "request N not found"; FAILED_PRECONDITION unless it is open; PERMISSION_DENIED
  // for a service account or someone no rule lets sign (with the reason); ABORTED when
  // `args.fingerprint` is not the version's fingerprint now. Re-authentication
  // (approvals_reauth.cc): a password given in `args` is always checked first, by the sign-in code
  // and its throttle: REAUTH_FAILED when wrong (a failed sign-in), RESOURCE_EXHAUSTED while the
  // caller's sign-ins back off. Under a policy with `reauth: true` the signature needs the caller
  // to have proved its password in this very call (that password, or HTTP Basic): REAUTH_REQUIRED
  // otherwise (a token or a session alone), and FAILED_PRECONDITION for a caller without a display
  // name (the signature's printed name). Approving may satisfy the last rule, and then
  // (on_approval: apply) applies the move in the same transaction. On an
  // applied break-glass request with its follow-up open, approving or rejecting closes the
  // follow-up (followup.closed) and moves nothing; PERMISSION_DENIED for its requester.
  Result<RequestView> Approve(const RequestContext& ctx, int64_t id, const ReviewArgs& args);
  // As Approve; closes the request as rejected.
  Result<RequestView> Reject(const RequestContext& ctx, int64_t id, const ReviewArgs& args);
  // The requester or MANAGE. FAILED_PRECONDITION unless it is open or approved.
  Result<RequestView> Cancel(const RequestContext& ctx, int64_t id, std::string_view comment);
  // The requester or EDIT. FAILED_PRECONDITION, listing the blockers, unless the gate holds now.
  Result<RequestView> ApplyRequest(const RequestContext& ctx, int64_t id);
  Result<std::vector<RequestView>> ListRequests(const RequestContext& ctx,
                                                const RequestQuery& query);
  // The request with its reviews and the evaluator's detail now.
  Result<RequestView> ShowRequest(const RequestContext& ctx, int64_t id);

  // ---- Checks. EDIT. Bound to the version's fingerprint under the policy of its newest open
  // request (else the first policy, by name, that governs one of the model's targets; else none).
  // A re-post of what the newest post says changes nothing. Open requests of the version are
  // evaluated again (a passing check may satisfy one and apply it).
  Result<store::VersionCheck> PostCheck(const RequestContext& ctx, const CheckArgs& args);
  Result<std::vector<store::VersionCheck>> ListChecks(const RequestContext& ctx,
                                                      std::string_view model, int64_t version);

  // ---- Gates. READ on the model.
  Result<GateStatus> CheckGate(const RequestContext& ctx, std::string_view model, int64_t version,
                               std::string_view target);

  // ---- Requests by version and comments (approvals_comments.cc), for MLflow's transition-request
  // and comment routes, which name a version and a stage rather than a request.
  // The version's open and approved requests, for `target` only when it is not empty (then
  // NOT_FOUND "no open request …" when it has none). READ on the model; INVALID_ARGUMENT for a bad
  // target; NOT_FOUND for an unknown model or version.
  Result<VersionRequests> ActiveRequests(const RequestContext& ctx, std::string_view model,
                                         int64_t version, std::string_view target);
  // READ on the model and a token that may write. INVALID_ARGUMENT for an empty text or one over
  // 5000 characters; NOT_FOUND for an unknown model or version. Audited as comment.created.
  Result<CommentView> CreateComment(const RequestContext& ctx, std::string_view model,
                                    int64_t version, std::string_view text);
  // The author only (PERMISSION_DENIED otherwise); NOT_FOUND "comment N not found" for an unknown
  // or deleted comment; INVALID_ARGUMENT as CreateComment. A text equal to the old one changes
  // nothing. Audited as comment.updated.
  Result<CommentView> UpdateComment(const RequestContext& ctx, int64_t id, std::string_view text);
  // The author, or MANAGE on the model. NOT_FOUND as UpdateComment. Audited as comment.deleted.
  Status DeleteComment(const RequestContext& ctx, int64_t id);
  // The version's live comments, oldest first. READ on the model.
  Result<std::vector<CommentView>> ListComments(const RequestContext& ctx, std::string_view model,
                                                int64_t version);

  // ---- Re-authentication (approvals_reauth.cc). The sign-in code that checks a signer's
  // password (AuthService::AuthenticatePassword: its throttle, its failure counts). Without one,
  // only a call authenticated by password (HTTP Basic) signs under `reauth: true`.
  void SetReauthenticator(AuthService* auth) { auth_ = auth; }

  // MoveGate (gate.h).
  Result<GateAllowance> DirectMove(Change& change, const Model& m, const ModelVersion& v,
                                   const policy::Target& target) override;
  Status Removal(Change& change, const Model& m, std::optional<int64_t> version) override;
  Result<json::array> GovernanceChange(Change& change, const Model& before,
                                       const Model& after) override;
  // LeaveGate (leave_gate.h): `gate_removal: true`.
  Status Leave(Change& change, const Model& m, const ModelVersion& v,
               const policy::Target& target) override;

  // ---- Timers (approvals_timers.cc): what the leader's scheduler job runs every second, as
  // `system` (SystemContext). Evaluates again each open request whose timer has come (at most
  // `limit`, the earliest first), each in its own transaction whose first step is `guard` (the
  // leader lease's epoch check; a failing guard stops the run with its status and nothing of that
  // transaction remains): one past `expiry.request` and not satisfied expires (request.expired);
  // one whose wait has ended and whose rules, checks and conditions hold is approved and, under
  // `on_approval: apply`, applied by `system` (request.approved, request.applied). An approval
  // past `expiry.approval` simply stops counting (the evaluator reads the clock): no event. A
  // request the run changes nothing on gets its next timer. The store's errors.
  Result<TimerRun> RunTimers(const RequestContext& system,
                             const std::function<Status(store::Tx&)>& guard, int limit = 100);

 private:
  struct Loaded;
  Status Authenticated(const RequestContext& ctx) const;
  Result<Loaded> LoadRequest(store::Tx& tx, const RequestContext& ctx, int64_t id, Permission need,
                             bool lock);
  // The request loaded and locked for a change by its requester, or by one with `unless_requester`
  // on its model; FAILED_PRECONDITION unless it is still open or approved (`verb`: what the caller
  // would do to it, for the message).
  Result<Loaded> LoadActiveRequest(store::Tx& tx, const RequestContext& ctx, int64_t id,
                                   Permission unless_requester, std::string_view verb);
  Result<policy::Evaluation> Advance(Change& change, Loaded& l, bool apply_now);
  Status ApplyMove(Change& change, Loaded& l, const policy::Evaluation& eval, std::string_view how);
  Result<RequestView> Review(const RequestContext& ctx, int64_t id, const ReviewArgs& args,
                             bool approve);
  Result<RequestView> ViewOf(store::Tx& tx, const store::ApprovalRequest& r,
                             std::string_view model);
  // Re-authentication (approvals_reauth.cc). Whether the caller proved its password in this call.
  Result<bool> Reauthenticate(const RequestContext& ctx, const ReviewArgs& args);
  // OK unless `p` asks for re-authentication and the signer has not given it or has no display
  // name to sign with.
  static Status CheckSignature(const policy::Policy& p, const policy::Person& signer,
                               bool reauthenticated);
  // Break glass (approvals_breakglass.h): applies the just-opened break-glass request `l` at
  // once and opens its follow-up; PERMISSION_DENIED unless the evaluator says broken glass.
  Result<policy::Evaluation> BreakGlass(Change& change, Loaded& l);
  // One due request's step of RunTimers, inside its transaction (approvals.cc, where Loaded is):
  // loads and locks request `id`; when it is open and governed, evaluates it again (Advance) and
  // returns its state and next timer afterwards; nullopt when no timer can act on it.
  struct TimerStep {
    store::RequestState state = store::RequestState::kOpen;
    std::optional<TimeMs> next;
  };
  Result<std::optional<TimerStep>> AdvanceOnTimer(Change& change, int64_t id);
  // The next moment a timer may change `r` under `p` after an evaluation at `now`
  // (approvals_timers.cc): its expiry, the end of its wait, its next reminder.
  static std::optional<TimeMs> NextTimer(const store::ApprovalRequest& r, const policy::Policy& p,
                                         const policy::Evaluation& eval, TimeMs now);
  // Reminders (approvals_reminders.cc). `remind_every` counts from the last reminder, or from
  // the opening: ReminderDue says whether one period has passed by `now` for an open request
  // under a policy with `remind_every`; NextReminder is the next moment one will be due after
  // `now` (a period after the last one, or the next whole period after a skipped one).
  static bool ReminderDue(const store::ApprovalRequest& r, const policy::Policy& p, TimeMs now);
  static std::optional<TimeMs> NextReminder(const store::ApprovalRequest& r,
                                            const policy::Policy& p, TimeMs now);
  // Records request.reminder (`e`, the request's event) with `recipients` in its outbox extras,
  // and the reminder's time on `r`, when some rule is still unmet (`recipients` not empty);
  // otherwise changes nothing. Then sets the request's next timer under `p` and `eval`.
  Status Remind(Change& change, store::ApprovalRequest& r, const policy::Policy& p,
                const policy::Evaluation& eval, AuditEvent e, json::array recipients);
  // request.opened's and request.reminder's "recipients" for `l` now: who could count toward
  // each unmet rule.
  Result<json::array> RecipientsNow(store::Tx& tx, const Loaded& l, const Clock& clock);

  MutationExecutor& executor_;
  store::Store& store_;
  const Authorizer authz_;
  AuthService* auth_ = nullptr;  // set before serving (SetReauthenticator)
};

// The JSON forms the doors and the audit log share.
json::object RequestJson(const store::ApprovalRequest& r, std::string_view model,
                         std::string_view requester);
json::object EvaluationJson(const policy::Evaluation& e);
json::object PolicyRecordJson(const store::PolicyRecord& p, bool with_body);
json::object CheckJson(const store::VersionCheck& c);
// request.opened's outbox "recipients" (approvals_audit.cc): for each rule not yet satisfied,
// [{"rule": index, "text", "required", "missing", "could_approve": [usernames]}].
json::array RecipientsJson(const policy::Evaluation& e);
// The structural diff of two policies' canonical JSON (util/json_diff.h): [{"path", "before",
// "after"}]. policy.applied's `after.diff` and `vouch policy diff`.
json::array PolicyBodyDiff(const json::value& before, const json::value& after);
json::object PolicyDiffJson(const PolicyDiff& d);

}  // namespace vouch::service

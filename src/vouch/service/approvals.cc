#include "vouch/service/approvals.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vouch/audit/actions.h"
#include "vouch/domain/model.h"
#include "vouch/policy/fingerprint.h"
#include "vouch/policy/selection.h"
#include "vouch/service/approvals_breakglass.h"
#include "vouch/service/approvals_removal.h"
#include "vouch/service/events.h"
#include "vouch/service/lookups.h"

namespace vouch::service {

using audit::Action;
using policy::Evaluation;
using policy::Outcome;
using policy::Policy;
using policy::Target;
using policy::TargetKind;
using store::ApprovalRequest;
using store::PolicyRecord;
using store::RequestState;

namespace {

constexpr size_t kMaxCheckName = 100;  // characters, as the other limits here
constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxComment = 5000;

// The policies in force: the newest version of every policy name that is not retired.
struct PolicySet {
  std::vector<PolicyRecord> records;
  std::vector<Policy> policies;  // parallel to records
};

Result<PolicySet> LoadPolicySet(store::Tx& tx) {
  PolicySet set;
  VOUCH_ASSIGN_OR_RETURN(set.records, tx.ListPolicies(false));
  for (const PolicyRecord& r : set.records) {
    Result<Policy> p = policy::ParsePolicy(r.body);
    if (!p.ok()) {
      return Internal(fmt::format("stored policy {} version {} does not parse: {}", r.name,
                                  r.version, p.status().message()));
    }
    set.policies.push_back(std::move(p).value());
  }
  return set;
}

// The index of the policy that governs `target` for model `m` (tags loaded), if any.
Result<std::optional<size_t>> Governing(const PolicySet& set, const Model& m,
                                        const Target& target) {
  if (set.policies.empty()) return std::optional<size_t>();
  return policy::SelectPolicy(set.policies, m.name, m.tags, target);
}

// A person as the gate sees them now: roles through groups, group names, state.
Result<policy::Person> LoadPerson(store::Tx& tx, int64_t id) {
  policy::Person person;
  person.id = id;
  VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipalById(id));
  if (!p) {
    person.deleted = true;
    return person;
  }
  person.username = p->name;
  person.email = p->email;
  person.display_name = p->display_name;
  person.kind = p->kind;
  person.is_admin = p->is_admin;
  person.disabled = p->disabled;
  if (p->disabled) {
    // A deleted principal is found by id as disabled; by name it is gone (or someone else).
    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> live, tx.FindPrincipal(p->name));
    if (!live || live->id != id) person.deleted = true;
  }
  VOUCH_ASSIGN_OR_RETURN(person.roles, tx.EffectiveRoles(id));
  VOUCH_ASSIGN_OR_RETURN(std::vector<Group> groups, tx.GroupsOf(id));
  for (const Group& g : groups) person.groups.push_back(g.name);
  return person;
}

// The people a policy's rules name, as the gate sees them now (at most kMaxCandidates): holders of
// a listed role (directly or through a group), members of a listed group, listed users. What
// `requests show` says about who could still count toward each unmet rule.
constexpr size_t kMaxCandidates = 200;

Result<std::vector<policy::Person>> Candidates(store::Tx& tx, const Policy& p) {
  std::set<std::string> roles, groups;
  std::set<int64_t> ids;
  for (const auto& rule : p.approvals) {
    for (const auto& ref : rule.from) {
      if (ref.kind == policy::RefKind::kRole) roles.insert(ref.name);
      if (ref.kind == policy::RefKind::kGroup) groups.insert(ref.name);
      if (ref.kind == policy::RefKind::kUser) {
        VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> u, tx.FindPrincipal(ref.name));
        if (u) ids.insert(u->id);
      }
    }
  }
  std::set<int64_t> group_ids;
  if (!roles.empty()) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<RoleGrant> grants, tx.ListRoleGrants());
    for (const auto& g : grants) {
      if (!roles.contains(g.role)) continue;
      if (g.grantee.is_group()) {
        group_ids.insert(g.grantee.group_id);
      } else {
        ids.insert(g.grantee.principal_id);
      }
    }
  }
  for (const auto& name : groups) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(name));
    if (g) group_ids.insert(g->id);
  }
  for (int64_t gid : group_ids) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<Principal> members, tx.GroupMembers(gid));
    for (const auto& m : members) ids.insert(m.id);
  }
  std::vector<policy::Person> out;
  for (int64_t id : ids) {
    if (out.size() >= kMaxCandidates) break;
    VOUCH_ASSIGN_OR_RETURN(policy::Person person, LoadPerson(tx, id));
    if (!person.deleted) out.push_back(std::move(person));
  }
  return out;
}

policy::VersionFacts FactsOf(const ModelVersion& v, const Policy& p) {
  policy::VersionFacts f;
  if (v.created_by_id != 0) f.created_by_id = v.created_by_id;
  f.source = v.source;
  f.artifact_digest = v.artifact_digest;
  f.metrics = v.metrics;
  f.params = v.params;
  f.tags = v.tags;
  f.description = v.description;
  // The version's last update stands in for its entry into the stage until moves are timed on
  // their own (the scheduler's wait timers, a later step).
  if (p.wait && v.stage == p.wait->in_stage) f.entered_wait_stage_ms = v.updated_ms;
  return f;
}

policy::CheckState CheckStateOf(store::CheckState s) {
  switch (s) {
    case store::CheckState::kPending:
      return policy::CheckState::kPending;
    case store::CheckState::kSuccess:
      return policy::CheckState::kSuccess;
    case store::CheckState::kFailure:
      return policy::CheckState::kFailure;
    case store::CheckState::kError:
      return policy::CheckState::kError;
  }
  return policy::CheckState::kError;
}

Status RequestNotFound(int64_t id) { return NotFound(fmt::format("request {} not found", id)); }

// Whether version `v` holds `target` now.
Result<bool> Holds(store::Tx& tx, const ModelVersion& v, const Target& target) {
  if (target.kind == TargetKind::kStage) return StageName(v.stage) == target.name;
  if (target.kind == TargetKind::kAlias) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> at, tx.FindAlias(v.model_id, target.name));
    return at && *at == v.version;
  }
  return false;
}

std::string HowToRequest(const Model& m, int64_t version, const Target& target) {
  return fmt::format(
      "open a request with `vouch requests create {} {} --to {}` (POST /api/v1/requests)", m.name,
      version, policy::FormatTarget(target));
}

json::value OptionalTime(const std::optional<TimeMs>& t) {
  return t ? json::value(*t) : json::value(nullptr);
}

AuditEvent RequestEvent(const RequestContext& ctx, Action action, const Model& m,
                        const ApprovalRequest& r) {
  AuditEvent e = ModelEvent(ctx, action, m, r.version);
  e.target["type"] = "approval_request";
  e.target["request"] = r.id;
  e.target["to"] = r.target;
  return e;
}

// Once `applied` moved version `version` into an exclusive target (an alias, or a stage with
// archive_existing), another version's open or approved request for it can no longer be what it
// asked for: superseded.
Status SupersedeOthers(Change& change, const Model& m, const ApprovalRequest& applied,
                       int64_t version) {
  store::Tx& tx = change.tx();
  TimeMs now = change.ctx().Now();
  for (RequestState state : {RequestState::kOpen, RequestState::kApproved}) {
    VOUCH_ASSIGN_OR_RETURN(
        std::vector<ApprovalRequest> others,
        tx.ListRequests(
            {.model_id = m.id, .state = state, .target = applied.target, .limit = 1000}));
    for (const ApprovalRequest& found : others) {
      if (found.id == applied.id || found.version == version) continue;
      VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> other, tx.LockRequest(found.id));
      if (!other || !store::IsActiveRequestState(other->state)) continue;
      other->state = RequestState::kSuperseded;
      other->closed_ms = now;
      other->updated_ms = now;
      VOUCH_TRY(tx.UpdateRequest(*other));
      AuditEvent e = RequestEvent(change.ctx(), Action::kRequestSuperseded, m, *other);
      e.before = {{"state", store::RequestStateName(found.state)}};
      e.after = {{"state", "superseded"}, {"by_version", version}};
      VOUCH_TRY(change.Record(std::move(e)));
    }
  }
  return OkStatus();
}

}  // namespace

json::object RequestJson(const ApprovalRequest& r, std::string_view model,
                         std::string_view requester) {
  json::object o{{"id", r.id},
                 {"model", model},
                 {"version", r.version},
                 {"target", r.target},
                 {"state", store::RequestStateName(r.state)},
                 {"requester", requester},
                 {"comment", r.comment},
                 {"policy", r.policy_name},
                 {"policy_version", r.policy_version},
                 {"fingerprint", r.fingerprint},
                 {"break_glass", r.break_glass},
                 {"creation_timestamp", r.created_ms},
                 {"last_updated_timestamp", r.updated_ms}};
  if (r.approved_ms) o["approved_timestamp"] = *r.approved_ms;
  if (r.applied_ms) o["applied_timestamp"] = *r.applied_ms;
  if (r.closed_ms) o["closed_timestamp"] = *r.closed_ms;
  if (r.expires_ms) o["expiration_timestamp"] = *r.expires_ms;
  if (r.break_glass) {
    o["break_glass_reason"] = r.break_glass_reason;
    o["followup"] = store::FollowupStateName(r.followup_state);
    if (r.followup_closed_ms) o["followup_closed_timestamp"] = *r.followup_closed_ms;
  }
  return o;
}

json::object EvaluationJson(const Evaluation& e) {
  json::array rules;
  for (const auto& r : e.rules) {
    json::array counted, could;
    for (const auto& n : r.counted) counted.emplace_back(n);
    for (const auto& n : r.could_count) could.emplace_back(n);
    rules.push_back(json::object{{"rule", r.text},
                                 {"required", r.required},
                                 {"counted", std::move(counted)},
                                 {"satisfied", r.satisfied},
                                 {"could_count", std::move(could)}});
  }
  json::array checks;
  for (const auto& c : e.checks) {
    json::object o{
        {"name", c.name}, {"status", policy::CheckStatusName(c.status)}, {"passed", c.passed}};
    if (c.posted_ms) o["posted_timestamp"] = *c.posted_ms;
    checks.push_back(std::move(o));
  }
  json::array conditions;
  for (const auto& c : e.conditions) {
    json::array clauses;
    for (const auto& cl : c.clauses) {
      clauses.push_back(json::object{{"clause", cl.text},
                                     {"holds", cl.holds},
                                     {"actual", cl.actual ? json::value(*cl.actual) : nullptr}});
    }
    conditions.push_back(
        json::object{{"condition", c.text}, {"holds", c.holds}, {"clauses", std::move(clauses)}});
  }
  json::array reviews;
  for (const auto& r : e.reviews) {
    json::object o{{"review", r.review_id},
                   {"reviewer", r.reviewer},
                   {"status", policy::ReviewStatusName(r.status)}};
    if (r.rule) o["rule"] = static_cast<int64_t>(*r.rule);
    if (!r.detail.empty()) o["detail"] = r.detail;
    reviews.push_back(std::move(o));
  }
  json::array blockers;
  for (const auto& b : e.blockers) blockers.emplace_back(b);
  json::object o{{"outcome", policy::OutcomeName(e.outcome)},
                 {"satisfied", e.satisfied},
                 {"may_enter", e.may_enter},
                 {"would_be_refused", e.would_be_refused},
                 {"fingerprint", e.fingerprint},
                 {"rules", std::move(rules)},
                 {"checks", std::move(checks)},
                 {"conditions", std::move(conditions)},
                 {"reviews", std::move(reviews)},
                 {"blockers", std::move(blockers)}};
  if (e.wait) {
    o["wait"] =
        json::object{{"met", e.wait->met}, {"ready_timestamp", OptionalTime(e.wait->ready_ms)}};
  }
  if (e.request_expires_ms) o["request_expiration_timestamp"] = *e.request_expires_ms;
  return o;
}

json::object PolicyRecordJson(const PolicyRecord& p, bool with_body) {
  json::object o{{"name", p.name},
                 {"version", p.version},
                 {"target", p.target},
                 {"digest", p.digest},
                 {"creation_timestamp", p.created_ms},
                 {"retired", p.retired_ms.has_value()}};
  if (p.retired_ms) o["retired_timestamp"] = *p.retired_ms;
  if (with_body) {
    Result<json::value> body = ParseJson(p.body);
    if (body.ok()) o["policy"] = std::move(body).value();
    o["yaml"] = p.source_yaml;
  }
  return o;
}

json::object CheckJson(const store::VersionCheck& c) {
  json::object o{{"id", c.id},
                 {"version", c.version},
                 {"name", c.name},
                 {"state", store::CheckStateName(c.state)},
                 {"fingerprint", c.fingerprint},
                 {"creation_timestamp", c.created_ms}};
  if (!c.url.empty()) o["url"] = c.url;
  if (!c.description.empty()) o["description"] = c.description;
  return o;
}

// One request with what deciding it needs, read in lock order.
struct ApprovalService::Loaded {
  ApprovalRequest request;
  Model model;  // with tags
  ModelVersion version;
  Target target;
  bool leave = false;  // a removal request (gate_removal): `target` is the target it leaves
  PolicySet set;
  std::optional<size_t> governing;  // index into set
  const Policy& policy() const { return set.policies[*governing]; }
  const PolicyRecord& record() const { return set.records[*governing]; }
  policy::GateInput input;
};

ApprovalService::ApprovalService(MutationExecutor& executor, Authorizer authz)
    : executor_(executor), store_(executor.store()), authz_(authz) {}

Status ApprovalService::Authenticated(const RequestContext& ctx) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  return OkStatus();
}

Result<ApprovalService::Loaded> ApprovalService::LoadRequest(store::Tx& tx,
                                                             const RequestContext& ctx, int64_t id,
                                                             Permission need, bool lock) {
  if (id <= 0) return InvalidArgument("a request id is a positive integer");
  VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> found, tx.FindRequest(id));
  if (!found) return RequestNotFound(id);
  // The model's name from an unlocked row read, so that the model's row is locked first.
  VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> rows,
                         tx.ListVersionRows(found->model_id, found->version - 1, 1));
  if (rows.empty() || rows[0].version != found->version) return RequestNotFound(id);
  Loaded l;
  VOUCH_ASSIGN_OR_RETURN(l.model, ModelFor(tx, authz_, ctx, rows[0].model_name, need, false));
  VOUCH_ASSIGN_OR_RETURN(l.version, RequireVersion(tx, l.model, found->version));
  if (lock) {
    VOUCH_ASSIGN_OR_RETURN(found, tx.LockRequest(id));
    if (!found) return RequestNotFound(id);
  }
  l.request = std::move(*found);
  VOUCH_ASSIGN_OR_RETURN(RequestTarget rt, ParseRequestTarget(l.request.target));
  l.target = rt.target;
  l.leave = rt.leave;
  VOUCH_ASSIGN_OR_RETURN(l.set, LoadPolicySet(tx));
  VOUCH_ASSIGN_OR_RETURN(l.governing, Governing(l.set, l.model, l.target));
  if (l.governing && l.leave) {
    l.set.policies[*l.governing] = RemovalPolicy(l.set.policies[*l.governing]);
  }
  if (l.governing) {
    policy::GateInput& in = l.input;
    in.policy_version = l.record().version;
    in.request.id = l.request.id;
    in.request.created_ms = l.request.created_ms;
    in.request.break_glass = l.request.break_glass;
    in.request.break_glass_reason = l.request.break_glass_reason;
    std::map<int64_t, policy::Person> people;
    auto person = [&](int64_t pid) -> Result<policy::Person> {
      auto it = people.find(pid);
      if (it != people.end()) return it->second;
      VOUCH_ASSIGN_OR_RETURN(policy::Person p, LoadPerson(tx, pid));
      people.emplace(pid, p);
      return p;
    };
    VOUCH_ASSIGN_OR_RETURN(in.request.requester, person(l.request.requester_id));
    in.version = FactsOf(l.version, l.policy());
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::ApprovalReview> reviews,
                           tx.ListReviews(l.request.id));
    for (const auto& r : reviews) {
      if (r.dismissed_ms) continue;
      policy::Review review;
      review.id = r.id;
      VOUCH_ASSIGN_OR_RETURN(review.reviewer, person(r.reviewer_id));
      review.decision = r.decision == store::ReviewDecision::kApprove ? policy::Decision::kApprove
                                                                      : policy::Decision::kReject;
      Result<policy::Meaning> meaning = policy::ParseMeaning(r.meaning);
      review.meaning = meaning.ok() ? *meaning : policy::Meaning::kApproved;
      review.fingerprint = r.fingerprint;
      review.time_ms = r.created_ms;
      in.reviews.push_back(std::move(review));
    }
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::VersionCheck> checks,
                           tx.ListChecks(l.model.id, l.version.version));
    for (const auto& c : checks) {
      in.checks.push_back({.id = c.id,
                           .name = c.name,
                           .state = CheckStateOf(c.state),
                           .fingerprint = c.fingerprint,
                           .time_ms = c.created_ms});
    }
  }
  return l;
}

Status ApprovalService::ApplyMove(Change& change, Loaded& l, const Evaluation& eval,
                                  std::string_view how) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  TimeMs now = ctx.Now();
  const Policy& p = l.policy();
  std::string why = fmt::format("applied by request {} ({})", l.request.id, how);
  const json::object gate =
      GateJson(l.record().name, l.record().version, eval.fingerprint, l.request.id,
               l.request.break_glass ? "break_glass" : "request");
  bool exclusive = !l.leave && l.target.kind == TargetKind::kAlias;
  if (l.leave) {
    VOUCH_TRY(LeaveTarget(change, l.model, l.version, l.target, why, gate));
  } else if (l.target.kind == TargetKind::kStage) {
    VOUCH_ASSIGN_OR_RETURN(Stage stage, ParseStage(l.target.name));
    auto move = [&](ModelVersion& target, Stage to, std::string comment) -> Status {
      AuditEvent e = ModelEvent(ctx, Action::kVersionStageChanged, l.model, target.version);
      e.before = {{"stage", StageName(target.stage)}};
      e.after = {{"stage", StageName(to)}};
      if (target.version == l.version.version) {
        e.gate = gate;
      } else {
        MarkSuperseded(e.after, l.version.version);
      }
      e.comment = std::move(comment);
      target.stage = to;
      target.updated_ms = now;
      VOUCH_TRY(tx.UpdateVersion(target));
      return change.Record(std::move(e));
    };
    if (p.archive_existing) {
      exclusive = true;
      VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> holders,
                             tx.VersionsInStage(l.model.id, stage));
      for (auto& other : holders) {
        if (other.version == l.version.version) continue;
        VOUCH_TRY(move(other, Stage::kArchived,
                       fmt::format("archived because version {} moved to {} by request {}",
                                   l.version.version, StageName(stage), l.request.id)));
      }
    }
    if (l.version.stage != stage) VOUCH_TRY(move(l.version, stage, why));
    l.model.updated_ms = now;
    VOUCH_TRY(tx.UpdateModel(l.model));
  } else if (l.target.kind == TargetKind::kAlias) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<int64_t> old, tx.FindAlias(l.model.id, l.target.name));
    if (!old || *old != l.version.version) {
      AuditEvent e = ModelEvent(ctx, Action::kAliasSet, l.model, l.version.version);
      e.target["alias"] = l.target.name;
      e.before =
          old ? json::value({{"alias", l.target.name}, {"version", *old}}) : json::value(nullptr);
      e.after = {{"alias", l.target.name}, {"version", l.version.version}};
      e.gate = gate;
      e.comment = why;
      ModelVersion with_alias = l.version;
      if (std::find(with_alias.aliases.begin(), with_alias.aliases.end(), l.target.name) ==
          with_alias.aliases.end()) {
        with_alias.aliases.push_back(l.target.name);
        VOUCH_TRY(CheckVersionRecord(l.model.name, with_alias));
      }
      VOUCH_TRY(tx.SetAlias(l.model.id, l.target.name, l.version.version));
      VOUCH_TRY(change.Record(std::move(e)));
    }
  } else {
    return FailedPrecondition(fmt::format("{} cannot be applied yet", l.request.target));
  }
  if (exclusive) VOUCH_TRY(SupersedeOthers(change, l.model, l.request, l.version.version));
  RequestState before = l.request.state;
  l.request.state = RequestState::kApplied;
  l.request.applied_ms = now;
  l.request.closed_ms = now;
  l.request.updated_ms = now;
  VOUCH_TRY(tx.UpdateRequest(l.request));
  AuditEvent e = RequestEvent(ctx, Action::kRequestApplied, l.model, l.request);
  e.before = {{"state", store::RequestStateName(before)}};
  e.after = {{"state", "applied"},
             {"gate",
              {{"policy", l.record().name},
               {"policy_version", l.record().version},
               {"fingerprint", eval.fingerprint},
               {"request", l.request.id}}}};
  e.comment = std::string(how);
  return change.Record(std::move(e));
}

Result<Evaluation> ApprovalService::Advance(Change& change, Loaded& l, bool apply_now) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  TimeMs now = ctx.Now();
  Evaluation eval = policy::Evaluate(l.policy(), l.input, *ctx.clock);
  if (!eval.stale_review_ids.empty()) {
    VOUCH_ASSIGN_OR_RETURN(
        std::vector<int64_t> dismissed,
        tx.DismissReviews(l.request.id, eval.fingerprint, now, "the version changed"));
    for (int64_t review : dismissed) {
      AuditEvent e = RequestEvent(ctx, Action::kReviewDismissed, l.model, l.request);
      e.target["review"] = review;
      e.before = {{"dismissed", false}};
      e.after = {{"dismissed", true}, {"fingerprint", eval.fingerprint}};
      e.comment = "the version changed since it was signed";
      VOUCH_TRY(change.Record(std::move(e)));
    }
  }
  if (eval.outcome == Outcome::kExpired && l.request.state == RequestState::kOpen) {
    l.request.state = RequestState::kExpired;
    l.request.closed_ms = now;
    l.request.updated_ms = now;
    VOUCH_TRY(tx.UpdateRequest(l.request));
    AuditEvent e = RequestEvent(ctx, Action::kRequestExpired, l.model, l.request);
    e.before = {{"state", "open"}};
    e.after = {{"state", "expired"}};
    VOUCH_TRY(change.Record(std::move(e)));
    return eval;
  }
  if (eval.satisfied && l.request.state == RequestState::kOpen) {
    l.request.state = RequestState::kApproved;
    l.request.approved_ms = now;
    l.request.updated_ms = now;
    VOUCH_TRY(tx.UpdateRequest(l.request));
    AuditEvent e = RequestEvent(ctx, Action::kRequestApproved, l.model, l.request);
    e.before = {{"state", "open"}};
    e.after = {{"state", "approved"}, {"fingerprint", eval.fingerprint}};
    VOUCH_TRY(change.Record(std::move(e)));
  }
  bool apply = apply_now || l.policy().on_approval == policy::OnApproval::kApply;
  if (apply && l.request.state == RequestState::kApproved && eval.satisfied) {
    VOUCH_TRY(ApplyMove(change, l, eval,
                        apply_now                   ? "applied on request"
                        : ctx.door == Door::kSystem ? "by the timer: the wait ended"
                                                    : "on approval"));
  }
  VOUCH_TRY(tx.SetRequestTimer(l.request.id, NextTimer(l.request, l.policy(), eval, now)));
  return eval;
}

Result<RequestView> ApprovalService::ViewOf(store::Tx& tx, const ApprovalRequest& r,
                                            std::string_view model) {
  RequestView view;
  view.request = r;
  view.model = std::string(model);
  VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> who, tx.FindPrincipalById(r.requester_id));
  if (who) view.requester = who->name;
  return view;
}

// ---- Policies.

Result<PolicyApplyResult> ApprovalService::ApplyPolicies(const RequestContext& ctx,
                                                         std::string_view yaml) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  VOUCH_ASSIGN_OR_RETURN(std::vector<Policy> file, policy::ParsePolicyFile(yaml));
  if (file.empty()) return InvalidArgument("the file lists no policy");
  PolicyApplyResult out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    out = {};
    VOUCH_ASSIGN_OR_RETURN(PolicySet current, LoadPolicySet(tx));
    // The whole set that would be in force: the file's policies and every other one.
    std::vector<Policy> resulting = file;
    std::set<std::string> named;
    for (const Policy& p : file) named.insert(p.name);
    for (const Policy& p : current.policies) {
      if (!named.contains(p.name)) resulting.push_back(p);
    }
    VOUCH_TRY(policy::CheckPolicySet(resulting));
    std::set<std::string> warned;
    bool changed = false;
    for (const Policy& p : file) {
      PolicyChange pc{.name = p.name, .target = policy::FormatTarget(p.target)};
      pc.digest = policy::PolicyDigest(p);
      VOUCH_ASSIGN_OR_RETURN(std::optional<PolicyRecord> latest, tx.FindLatestPolicy(p.name));
      if (latest && latest->digest == pc.digest && !latest->retired_ms) {
        pc.change = "unchanged";
        pc.version = latest->version;
      } else {
        PolicyRecord record{.name = p.name,
                            .target = pc.target,
                            .body = policy::PolicyCanonicalJson(p),
                            .digest = pc.digest,
                            .source_yaml = std::string(yaml),
                            .created_ms = ctx.Now(),
                            .created_by_id = ctx.principal->id};
        VOUCH_TRY(tx.PublishPolicy(record));
        pc.change = latest ? "updated" : "created";
        pc.version = record.version;
        changed = true;
        if (latest) {
          for (RequestState state : {RequestState::kOpen, RequestState::kApproved}) {
            VOUCH_ASSIGN_OR_RETURN(std::vector<ApprovalRequest> active,
                                   tx.ListRequests({.state = state, .limit = 1000}));
            for (const auto& r : active) {
              if (r.policy_name == p.name) ++pc.requests_needing_approval;
            }
          }
        }
        AuditEvent e = NewEvent(ctx, Action::kPolicyApplied);
        e.target = {{"type", "policy"}, {"policy", p.name}, {"version", record.version}};
        if (latest) {
          Result<json::value> before = ParseJson(latest->body);
          e.before = {{"version", latest->version},
                      {"digest", latest->digest},
                      {"policy", before.ok() ? *before : json::value(nullptr)}};
          if (latest->retired_ms) e.before.as_object()["retired"] = true;
        } else {
          e.before = nullptr;
        }
        VOUCH_ASSIGN_OR_RETURN(json::value body, ParseJson(record.body));
        e.after = {{"version", record.version}, {"digest", record.digest}, {"policy", body}};
        // Audit schema 2: what changed since the newest version, as `policy diff` shows it.
        if (latest) {
          e.after.as_object()["diff"] =
              PolicyBodyDiff(e.before.as_object()["policy"], e.after.as_object()["policy"]);
        }
        VOUCH_TRY(change.Record(std::move(e)));
      }
      for (const policy::Ref& ref : policy::References(p)) {
        if (ref.kind == policy::RefKind::kRole) continue;
        std::string text = policy::FormatRef(ref);
        if (warned.contains(text)) continue;
        bool exists = true;
        if (ref.kind == policy::RefKind::kGroup) {
          VOUCH_ASSIGN_OR_RETURN(std::optional<Group> g, tx.FindGroup(ref.name));
          exists = g.has_value();
        } else {
          VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> u, tx.FindPrincipal(ref.name));
          exists = u.has_value();
        }
        if (!exists) {
          warned.insert(text);
          out.warnings.push_back(
              fmt::format("policy {} names {}, which does not exist (yet)", p.name, text));
        }
      }
      out.policies.push_back(std::move(pc));
    }
    if (!changed) return change.Unchanged();
    return OkStatus();
  }));
  return out;
}

Result<std::vector<PolicyRecord>> ApprovalService::ListPolicies(const RequestContext& ctx,
                                                                bool include_retired) {
  VOUCH_TRY(Authenticated(ctx));
  std::vector<PolicyRecord> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, tx.ListPolicies(include_retired));
    return OkStatus();
  }));
  return out;
}

Result<PolicyRecord> ApprovalService::GetPolicy(const RequestContext& ctx, std::string_view name,
                                                int64_t version) {
  VOUCH_TRY(Authenticated(ctx));
  std::optional<PolicyRecord> found;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    if (version == 0) {
      VOUCH_ASSIGN_OR_RETURN(found, tx.FindLatestPolicy(name));
    } else {
      VOUCH_ASSIGN_OR_RETURN(found, tx.FindPolicyVersion(name, version));
    }
    return OkStatus();
  }));
  if (!found) {
    if (version == 0) return NotFound(fmt::format("policy {} not found", name));
    return NotFound(fmt::format("policy {} has no version {}", name, version));
  }
  return *found;
}

Result<std::vector<PolicyRecord>> ApprovalService::PolicyHistory(const RequestContext& ctx,
                                                                 std::string_view name) {
  VOUCH_TRY(Authenticated(ctx));
  std::vector<PolicyRecord> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, tx.PolicyHistory(name));
    return OkStatus();
  }));
  if (out.empty()) return NotFound(fmt::format("policy {} not found", name));
  return out;
}

Result<PolicyRecord> ApprovalService::RetirePolicy(const RequestContext& ctx,
                                                   std::string_view name) {
  VOUCH_TRY(authz_.RequireAdmin(ctx));
  PolicyRecord out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<PolicyRecord> latest, tx.FindLatestPolicy(name));
    if (!latest) return NotFound(fmt::format("policy {} not found", name));
    if (latest->retired_ms) {
      return FailedPrecondition(fmt::format("policy {} is retired already", name));
    }
    VOUCH_ASSIGN_OR_RETURN(bool retired, tx.RetirePolicy(name, ctx.Now(), ctx.principal->id));
    if (!retired) return FailedPrecondition(fmt::format("policy {} is retired already", name));
    AuditEvent e = NewEvent(ctx, Action::kPolicyRetired);
    e.target = {{"type", "policy"}, {"policy", latest->name}, {"version", latest->version}};
    e.before = {{"retired", false}};
    e.after = {{"retired", true}};
    VOUCH_TRY(change.Record(std::move(e)));
    latest->retired_ms = ctx.Now();
    latest->retired_by_id = ctx.principal->id;
    out = std::move(*latest);
    return OkStatus();
  }));
  return out;
}

Result<PolicyTestResult> ApprovalService::TestPolicy(const RequestContext& ctx,
                                                     const PolicyTestArgs& args) {
  VOUCH_TRY(Authenticated(ctx));
  // Changes nothing, but it is a POST: a read-scoped token is held to GETs on every route.
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_ASSIGN_OR_RETURN(Target target, policy::ParseTarget(args.target));
  VOUCH_ASSIGN_OR_RETURN(std::vector<Policy> file, policy::ParsePolicyFile(args.yaml));
  VOUCH_TRY(policy::CheckPolicySet(file));
  PolicyTestResult out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m,
                           ModelFor(tx, authz_, ctx, args.model, Permission::kRead, false));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, args.version));
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx,
                           policy::SelectPolicy(file, m.name, m.tags, target));
    if (!idx) return OkStatus();
    const Policy& p = file[*idx];
    out.gated = true;
    out.policy = p.name;
    VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> newest,
                           tx.NewestRequestFor(m.id, v.version, args.target));
    if (newest && store::IsActiveRequestState(newest->state)) {
      // The request's reviews, judged under the file's policy instead of the one in force.
      VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, newest->id, Permission::kRead, false));
      PolicySet file_set;
      file_set.policies = {p};
      file_set.records = {PolicyRecord{.name = p.name, .version = 0}};
      l.set = std::move(file_set);
      l.governing = 0;
      l.input.policy_version = 0;
      l.input.version = FactsOf(v, p);
      if (l.input.request.requester.id == 0) {
        VOUCH_ASSIGN_OR_RETURN(l.input.request.requester, LoadPerson(tx, newest->requester_id));
      }
      out.evaluation = policy::Evaluate(p, l.input, *ctx.clock);
      return OkStatus();
    }
    policy::GateInput in;
    in.request.created_ms = ctx.Now();
    VOUCH_ASSIGN_OR_RETURN(in.request.requester, LoadPerson(tx, ctx.principal->id));
    in.version = FactsOf(v, p);
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::VersionCheck> checks, tx.ListChecks(m.id, v.version));
    for (const auto& c : checks) {
      in.checks.push_back({.id = c.id,
                           .name = c.name,
                           .state = CheckStateOf(c.state),
                           .fingerprint = c.fingerprint,
                           .time_ms = c.created_ms});
    }
    out.evaluation = policy::Evaluate(p, in, *ctx.clock);
    return OkStatus();
  }));
  return out;
}

// ---- Requests.

Result<RequestView> ApprovalService::CreateRequest(const RequestContext& ctx,
                                                   const RequestArgs& args) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  if (args.version <= 0) return InvalidArgument("version must be a positive integer");
  VOUCH_ASSIGN_OR_RETURN(RequestTarget rt, ParseRequestTarget(args.target));
  const Target target = rt.target;
  if (target.kind == TargetKind::kEnv) {
    return InvalidArgument("env: targets are reserved for deployments");
  }
  if (Utf8Length(args.comment) > kMaxComment) return InvalidArgument("comment is too long");
  VOUCH_TRY(CheckBreakGlassArgs(args));
  // A break-glass request's reason is its comment when it has none.
  const std::string comment = args.break_glass && args.comment.empty() ? args.reason : args.comment;
  RequestView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m,
                           ModelFor(tx, authz_, ctx, args.model, Permission::kEdit, false));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, args.version));
    VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx, Governing(set, m, target));
    std::string to = policy::FormatTarget(target);
    if (!idx) {
      return FailedPrecondition(
          fmt::format("no policy gates {} for model {}: move the version directly", to, m.name));
    }
    const Policy& p = set.policies[*idx];
    VOUCH_ASSIGN_OR_RETURN(bool holds, Holds(tx, v, target));
    if (rt.leave) {
      VOUCH_TRY(MayRequestLeave(p, holds, m.name, v.version, to));
      to = LeaveTargetText(to);
    } else if (holds) {
      return FailedPrecondition(
          fmt::format("version {} of model {} already holds {}", v.version, m.name, to));
    }
    VOUCH_ASSIGN_OR_RETURN(policy::Person requester, LoadPerson(tx, ctx.principal->id));
    if (args.break_glass) {
      VOUCH_TRY(MayBreakGlass(p, requester, to, m.name));
    } else if (!policy::CanRequest(p, requester)) {
      std::string who;
      for (const auto& r : p.requesters) who += (who.empty() ? "" : ", ") + policy::FormatRef(r);
      return PermissionDenied(
          fmt::format("policy {} lets only {} request {} for model {}", p.name, who, to, m.name));
    }
    if (p.comment_required && comment.empty()) {
      return InvalidArgument(fmt::format("policy {} requires a comment", p.name));
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> newest,
                           tx.NewestRequestFor(m.id, v.version, to));
    if (newest && store::IsActiveRequestState(newest->state)) {
      return AlreadyExists(fmt::format("request {} for version {} of model {} to {} is already {}",
                                       newest->id, v.version, m.name, to,
                                       store::RequestStateName(newest->state)));
    }
    const PolicyRecord& record = set.records[*idx];
    TimeMs now = ctx.Now();
    ApprovalRequest r{.model_id = m.id,
                      .version = v.version,
                      .target = to,
                      .state = RequestState::kOpen,
                      .requester_id = ctx.principal->id,
                      .comment = comment,
                      .policy_name = p.name,
                      .policy_version = record.version,
                      .fingerprint = policy::VersionFingerprint(FactsOf(v, p), p, record.version),
                      .break_glass = args.break_glass,
                      .break_glass_reason = args.break_glass ? args.reason : std::string(),
                      .created_ms = now,
                      .updated_ms = now};
    if (p.request_expiry_ms) r.expires_ms = now + *p.request_expiry_ms;
    VOUCH_TRY(tx.InsertRequest(r));
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, r.id, Permission::kEdit, true));
    AuditEvent e = RequestEvent(ctx, Action::kRequestOpened, m, r);
    e.before = nullptr;
    e.after = RequestJson(r, m.name, ctx.principal->name);
    e.comment = comment;
    // For notifications (the outbox only): who could count toward each unmet rule, now.
    if (l.governing) {
      VOUCH_ASSIGN_OR_RETURN(json::array recipients, RecipientsNow(tx, l, *ctx.clock));
      e.outbox_extra["recipients"] = std::move(recipients);
    }
    VOUCH_TRY(change.Record(std::move(e)));
    VOUCH_ASSIGN_OR_RETURN(Evaluation eval,
                           args.break_glass ? BreakGlass(change, l) : Advance(change, l, false));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, m.name));
    out.evaluation = std::move(eval);
    out.governing_policy = p.name;
    out.governing_policy_version = record.version;
    return OkStatus();
  }));
  return out;
}

Result<Evaluation> ApprovalService::BreakGlass(Change& change, Loaded& l) {
  Evaluation eval = policy::Evaluate(l.policy(), l.input, *change.ctx().clock);
  VOUCH_TRY(BrokenGlass(eval, l.request.id));
  VOUCH_TRY(ApplyMove(change, l, eval, "break glass"));
  VOUCH_TRY(OpenFollowup(change, l.model, l.request, l.record(), eval));
  return eval;
}

Result<RequestView> ApprovalService::Review(const RequestContext& ctx, int64_t id,
                                            const ReviewArgs& args, bool approve) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_ASSIGN_OR_RETURN(policy::Meaning meaning,
                         policy::ParseMeaning(args.meaning.empty() ? "approved" : args.meaning));
  if (Utf8Length(args.comment) > kMaxComment) return InvalidArgument("comment is too long");
  // Outside the transaction: a password hash takes tens of milliseconds and holds no row.
  VOUCH_ASSIGN_OR_RETURN(const bool reauthenticated, Reauthenticate(ctx, args));
  RequestView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, id, Permission::kRead, true));
    const bool followup = IsOpenFollowup(l.request);
    if (l.request.state != RequestState::kOpen && !followup) {
      return FailedPrecondition(fmt::format("request {} is {}: only an open request is reviewed",
                                            id, store::RequestStateName(l.request.state)));
    }
    if (!l.governing) {
      return FailedPrecondition(
          fmt::format("no policy gates {} for model {} any more: cancel request {}",
                      l.request.target, l.model.name, id));
    }
    const Policy& p = l.policy();
    VOUCH_ASSIGN_OR_RETURN(policy::Person me, LoadPerson(tx, ctx.principal->id));
    if (me.kind == PrincipalKind::kServiceAccount) {
      return PermissionDenied("service accounts never sign a request; post a check instead");
    }
    if (followup) VOUCH_TRY(MayReviewFollowup(l.request, me));
    if (p.comment_required && args.comment.empty()) {
      return InvalidArgument(fmt::format("policy {} requires a comment", p.name));
    }
    std::string fingerprint =
        policy::VersionFingerprint(l.input.version, p, l.input.policy_version);
    if (!args.fingerprint.empty() && args.fingerprint != fingerprint) {
      return Aborted(fmt::format(
          "version {} of model {} changed since fingerprint {} (now {}): review it again",
          l.version.version, l.model.name, args.fingerprint, fingerprint));
    }
    // Whether an approval by the caller would count: the same rule judges a rejection.
    {
      policy::GateInput trial = l.input;
      trial.reviews.push_back({.id = -1,
                               .reviewer = me,
                               .decision = policy::Decision::kApprove,
                               .meaning = meaning,
                               .fingerprint = fingerprint,
                               .time_ms = ctx.Now()});
      Evaluation would = policy::Evaluate(p, trial, *ctx.clock);
      const policy::ReviewVerdict& mine = would.reviews.back();
      if (mine.status != policy::ReviewStatus::kCounted &&
          mine.status != policy::ReviewStatus::kUnassigned) {
        std::string reason(policy::ReviewStatusName(mine.status));
        if (!mine.detail.empty()) reason += ": " + mine.detail;
        return PermissionDenied(fmt::format("{} cannot review request {} under policy {} ({})",
                                            ctx.principal->name, id, p.name, reason));
      }
    }
    // Last, so that a password is asked for only when nothing else stands in the way.
    VOUCH_TRY(CheckSignature(p, me, reauthenticated));
    store::ApprovalReview review{
        .request_id = id,
        .reviewer_id = ctx.principal->id,
        .printed_name = me.display_name.empty() ? me.username : me.display_name,
        .decision = approve ? store::ReviewDecision::kApprove : store::ReviewDecision::kReject,
        .meaning = std::string(policy::MeaningName(meaning)),
        .comment = args.comment,
        .fingerprint = fingerprint,
        .created_ms = ctx.Now()};
    VOUCH_TRY(tx.InsertReview(review));
    AuditEvent e = RequestEvent(ctx, Action::kRequestReviewed, l.model, l.request);
    e.target["review"] = review.id;
    e.before = nullptr;
    e.after = {{"decision", store::ReviewDecisionName(review.decision)},
               {"meaning", review.meaning},
               {"printed_name", review.printed_name},
               {"fingerprint", review.fingerprint}};
    e.comment = args.comment;
    VOUCH_TRY(change.Record(std::move(e)));
    std::optional<Evaluation> eval;
    if (followup) {
      VOUCH_TRY(CloseFollowup(change, l.model, l.request, review));
    } else if (approve) {
      l.input.reviews.push_back({.id = review.id,
                                 .reviewer = me,
                                 .decision = policy::Decision::kApprove,
                                 .meaning = meaning,
                                 .fingerprint = fingerprint,
                                 .time_ms = review.created_ms});
      VOUCH_ASSIGN_OR_RETURN(eval, Advance(change, l, false));
    } else {
      TimeMs now = ctx.Now();
      l.request.state = RequestState::kRejected;
      l.request.closed_ms = now;
      l.request.updated_ms = now;
      VOUCH_TRY(tx.UpdateRequest(l.request));
      AuditEvent rejected = RequestEvent(ctx, Action::kRequestRejected, l.model, l.request);
      rejected.before = {{"state", "open"}};
      rejected.after = {{"state", "rejected"}};
      rejected.comment = args.comment;
      VOUCH_TRY(change.Record(std::move(rejected)));
    }
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, l.model.name));
    out.evaluation = std::move(eval);
    out.governing_policy = l.record().name;
    out.governing_policy_version = l.record().version;
    return OkStatus();
  }));
  return out;
}

Result<RequestView> ApprovalService::Approve(const RequestContext& ctx, int64_t id,
                                             const ReviewArgs& args) {
  return Review(ctx, id, args, true);
}

Result<RequestView> ApprovalService::Reject(const RequestContext& ctx, int64_t id,
                                            const ReviewArgs& args) {
  return Review(ctx, id, args, false);
}

Result<ApprovalService::Loaded> ApprovalService::LoadActiveRequest(store::Tx& tx,
                                                                   const RequestContext& ctx,
                                                                   int64_t id,
                                                                   Permission unless_requester,
                                                                   std::string_view verb) {
  VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, id, Permission::kRead, true));
  if (l.request.requester_id != ctx.principal->id) {
    VOUCH_TRY(authz_.Require(tx, ctx, l.model, unless_requester));
  }
  if (!store::IsActiveRequestState(l.request.state)) {
    return FailedPrecondition(
        fmt::format("request {} is {}: only an open or approved request can be {}", id,
                    store::RequestStateName(l.request.state), verb));
  }
  return l;
}

Result<RequestView> ApprovalService::Cancel(const RequestContext& ctx, int64_t id,
                                            std::string_view comment) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  if (Utf8Length(comment) > kMaxComment) return InvalidArgument("comment is too long");
  RequestView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Loaded l,
                           LoadActiveRequest(tx, ctx, id, Permission::kManage, "cancelled"));
    RequestState before = l.request.state;
    TimeMs now = ctx.Now();
    l.request.state = RequestState::kCancelled;
    l.request.closed_ms = now;
    l.request.updated_ms = now;
    VOUCH_TRY(tx.UpdateRequest(l.request));
    AuditEvent e = RequestEvent(ctx, Action::kRequestCancelled, l.model, l.request);
    e.before = {{"state", store::RequestStateName(before)}};
    e.after = {{"state", "cancelled"}};
    e.comment = std::string(comment);
    VOUCH_TRY(change.Record(std::move(e)));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, l.model.name));
    return OkStatus();
  }));
  return out;
}

Result<RequestView> ApprovalService::ApplyRequest(const RequestContext& ctx, int64_t id) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  RequestView out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadActiveRequest(tx, ctx, id, Permission::kEdit, "applied"));
    if (!l.governing) {
      return FailedPrecondition(
          fmt::format("no policy gates {} for model {} any more: cancel request {}",
                      l.request.target, l.model.name, id));
    }
    VOUCH_ASSIGN_OR_RETURN(Evaluation eval, Advance(change, l, true));
    if (l.request.state != RequestState::kApplied) {
      std::string why;
      for (const auto& b : eval.blockers) why += (why.empty() ? "" : "; ") + b;
      // What Advance recorded (dismissals, an expiry) stays only if the request changed.
      if (l.request.state == RequestState::kExpired) {
        VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, l.model.name));
        return OkStatus();
      }
      return FailedPrecondition(fmt::format("request {} cannot be applied yet: {}", id,
                                            why.empty() ? "the gate does not hold" : why));
    }
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, l.model.name));
    out.evaluation = std::move(eval);
    out.governing_policy = l.record().name;
    out.governing_policy_version = l.record().version;
    return OkStatus();
  }));
  if (out.request.state == RequestState::kExpired) {
    return FailedPrecondition(fmt::format("request {} has expired", id));
  }
  return out;
}

Result<std::vector<RequestView>> ApprovalService::ListRequests(const RequestContext& ctx,
                                                               const RequestQuery& query) {
  VOUCH_TRY(Authenticated(ctx));
  if (query.limit < 1 || query.limit > 1000) {
    return InvalidArgument("max_results must be between 1 and 1000");
  }
  store::RequestFilter filter{.before_id = query.before_id, .limit = query.limit};
  if (query.state) {
    VOUCH_ASSIGN_OR_RETURN(RequestState s, store::ParseRequestState(*query.state));
    filter.state = s;
  }
  if (query.to_review) filter.state = RequestState::kOpen;
  // Open follow-ups are the applied break-glass requests whose follow-up is open: the store
  // filters by state, the service by follow-up, a page at a time until the list is full.
  if (query.followups) filter.state = RequestState::kApplied;
  if (query.mine) filter.requester_id = ctx.principal->id;
  std::vector<RequestView> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    if (query.model) {
      VOUCH_TRY(ValidateModelName(*query.model));
      VOUCH_ASSIGN_OR_RETURN(Model m,
                             ModelFor(tx, authz_, ctx, *query.model, Permission::kRead, true));
      filter.model_id = m.id;
    }
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    VOUCH_ASSIGN_OR_RETURN(std::vector<ApprovalRequest> found, query.followups
                                                                   ? ListOpenFollowups(tx, filter)
                                                                   : tx.ListRequests(filter));
    std::optional<PolicySet> set;
    std::optional<policy::Person> me;
    std::map<int64_t, std::string> names;
    for (const ApprovalRequest& r : found) {
      if (!readable(r.model_id)) continue;
      auto name = names.find(r.model_id);
      if (name == names.end()) {
        VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> rows,
                               tx.ListVersionRows(r.model_id, r.version - 1, 1));
        std::string model_name = rows.empty() ? "" : rows[0].model_name;
        name = names.emplace(r.model_id, model_name).first;
      }
      if (name->second.empty()) continue;  // its version or model was deleted
      if (query.to_review) {
        if (r.requester_id == ctx.principal->id) continue;
        if (!set) {
          VOUCH_ASSIGN_OR_RETURN(set, LoadPolicySet(tx));
          VOUCH_ASSIGN_OR_RETURN(me, LoadPerson(tx, ctx.principal->id));
        }
        bool named = false;
        for (size_t i = 0; i < set->records.size() && !named; ++i) {
          if (set->records[i].name != r.policy_name) continue;
          for (const auto& rule : set->policies[i].approvals) {
            for (const auto& ref : rule.from) named = named || policy::PersonMatches(ref, *me);
          }
        }
        if (!named) continue;
      }
      VOUCH_ASSIGN_OR_RETURN(RequestView view, ViewOf(tx, r, name->second));
      out.push_back(std::move(view));
    }
    return OkStatus();
  }));
  return out;
}

Result<RequestView> ApprovalService::ShowRequest(const RequestContext& ctx, int64_t id) {
  VOUCH_TRY(Authenticated(ctx));
  RequestView out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, id, Permission::kRead, false));
    VOUCH_ASSIGN_OR_RETURN(out, ViewOf(tx, l.request, l.model.name));
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::ApprovalReview> reviews, tx.ListReviews(id));
    for (auto& r : reviews) {
      ReviewView rv{.review = std::move(r)};
      VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> who,
                             tx.FindPrincipalById(rv.review.reviewer_id));
      if (who) rv.reviewer = who->name;
      out.reviews.push_back(std::move(rv));
    }
    if (l.governing && store::IsActiveRequestState(l.request.state)) {
      VOUCH_ASSIGN_OR_RETURN(l.input.candidates, Candidates(tx, l.policy()));
      out.evaluation = policy::Evaluate(l.policy(), l.input, *ctx.clock);
      out.governing_policy = l.record().name;
      out.governing_policy_version = l.record().version;
    }
    return OkStatus();
  }));
  return out;
}

// ---- Checks.

Result<store::VersionCheck> ApprovalService::PostCheck(const RequestContext& ctx,
                                                       const CheckArgs& args) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_TRY(authz_.RequireWrite(ctx));
  if (args.version <= 0) return InvalidArgument("version must be a positive integer");
  if (args.name.empty() || Utf8Length(args.name) > kMaxCheckName) {
    return InvalidArgument(
        fmt::format("a check's name is 1 to {} characters, got '{}'", kMaxCheckName, args.name));
  }
  for (char c : args.name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgument("a check's name holds no control characters");
    }
  }
  VOUCH_ASSIGN_OR_RETURN(store::CheckState state, store::ParseCheckState(args.state));
  if (Utf8Length(args.url) > kMaxUrl) return InvalidArgument("url is too long");
  if (Utf8Length(args.description) > kMaxComment) return InvalidArgument("description is too long");
  store::VersionCheck out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m,
                           ModelFor(tx, authz_, ctx, args.model, Permission::kEdit, false));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, args.version));
    VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
    // The policy the check is bound under: its newest open request's, else the first by name
    // governing one of the model's targets.
    std::vector<ApprovalRequest> open;
    for (RequestState s : {RequestState::kOpen, RequestState::kApproved}) {
      VOUCH_ASSIGN_OR_RETURN(
          std::vector<ApprovalRequest> found,
          tx.ListRequests({.model_id = m.id, .version = v.version, .state = s, .limit = 1000}));
      open.insert(open.end(), found.begin(), found.end());
    }
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
    std::optional<size_t> bound;
    for (const auto& r : open) {
      VOUCH_ASSIGN_OR_RETURN(RequestTarget t, ParseRequestTarget(r.target));
      VOUCH_ASSIGN_OR_RETURN(bound, Governing(set, m, t.target));
      if (bound) break;
    }
    for (size_t i = 0; !bound && i < set.policies.size(); ++i) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> g, Governing(set, m, set.policies[i].target));
      if (g && *g == i) bound = i;
    }
    std::string fingerprint;
    if (bound) {
      const Policy& p = set.policies[*bound];
      fingerprint = policy::VersionFingerprint(FactsOf(v, p), p, set.records[*bound].version);
    }
    out = store::VersionCheck{.model_id = m.id,
                              .version = v.version,
                              .name = args.name,
                              .state = state,
                              .url = args.url,
                              .description = args.description,
                              .fingerprint = fingerprint,
                              .poster_id = ctx.principal->id,
                              .created_ms = ctx.Now()};
    VOUCH_ASSIGN_OR_RETURN(bool posted, tx.PostCheck(out));
    if (!posted) return change.Unchanged();
    AuditEvent e = ModelEvent(ctx, Action::kCheckPosted, m, v.version);
    e.target["check"] = args.name;
    e.before = nullptr;
    e.after = CheckJson(out);
    e.comment = args.description;
    VOUCH_TRY(change.Record(std::move(e)));
    for (const auto& r : open) {
      if (r.state != RequestState::kOpen) continue;
      VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, r.id, Permission::kRead, true));
      if (!l.governing || l.request.state != RequestState::kOpen) continue;
      VOUCH_TRY(Advance(change, l, false).status());
    }
    return OkStatus();
  }));
  if (out.id == 0) {
    // A re-post that changed nothing: the newest post as it is.
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::VersionCheck> checks,
                           ListChecks(ctx, args.model, args.version));
    for (auto& c : checks) {
      if (c.name == args.name) return c;
    }
  }
  return out;
}

Result<std::vector<store::VersionCheck>> ApprovalService::ListChecks(const RequestContext& ctx,
                                                                     std::string_view model,
                                                                     int64_t version) {
  VOUCH_TRY(Authenticated(ctx));
  std::vector<store::VersionCheck> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    VOUCH_ASSIGN_OR_RETURN(out, tx.ListChecks(m.id, v.version));
    return OkStatus();
  }));
  return out;
}

// ---- Gates.

Result<GateStatus> ApprovalService::CheckGate(const RequestContext& ctx, std::string_view model,
                                              int64_t version, std::string_view target_text) {
  VOUCH_TRY(Authenticated(ctx));
  VOUCH_ASSIGN_OR_RETURN(Target target, policy::ParseTarget(target_text));
  GateStatus out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, authz_, ctx, model, Permission::kRead, false));
    VOUCH_ASSIGN_OR_RETURN(ModelVersion v, RequireVersion(tx, m, version));
    VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx, Governing(set, m, target));
    VOUCH_ASSIGN_OR_RETURN(out.holds, Holds(tx, v, target));
    if (idx) {
      out.gated = true;
      out.policy = set.records[*idx].name;
      out.policy_version = set.records[*idx].version;
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> newest,
                           tx.NewestRequestFor(m.id, v.version, policy::FormatTarget(target)));
    if (newest) {
      VOUCH_ASSIGN_OR_RETURN(RequestView view, ViewOf(tx, *newest, m.name));
      if (idx && store::IsActiveRequestState(newest->state)) {
        VOUCH_ASSIGN_OR_RETURN(Loaded l,
                               LoadRequest(tx, ctx, newest->id, Permission::kRead, false));
        if (l.governing) {
          view.evaluation = policy::Evaluate(l.policy(), l.input, *ctx.clock);
          view.governing_policy = l.record().name;
          view.governing_policy_version = l.record().version;
        }
      }
      out.newest = std::move(view);
    }
    out.break_glass = out.holds && out.newest &&
                      out.newest->request.state == RequestState::kApplied &&
                      out.newest->request.break_glass;
    if (!out.gated) {
      out.status = out.holds ? "holds" : "not_gated";
      out.may_enter = true;
    } else if (out.holds) {
      out.status = "holds";
      out.may_enter = true;
    } else if (!out.newest) {
      out.status = "no_request";
    } else {
      const RequestView& n = *out.newest;
      switch (n.request.state) {
        case RequestState::kOpen:
        case RequestState::kApproved:
          out.may_enter = n.evaluation && n.evaluation->may_enter;
          out.status = out.may_enter                                                  ? "may_enter"
                       : (n.evaluation && n.evaluation->outcome == Outcome::kExpired) ? "expired"
                                                                                      : "pending";
          break;
        case RequestState::kApplied:
          out.status = "no_request";
          break;
        case RequestState::kRejected:
          out.status = "rejected";
          break;
        case RequestState::kExpired:
          out.status = "expired";
          break;
        case RequestState::kCancelled:
          out.status = "cancelled";
          break;
        case RequestState::kSuperseded:
          out.status = "superseded";
          break;
      }
    }
    return OkStatus();
  }));
  return out;
}

Result<GateAllowance> ApprovalService::DirectMove(Change& change, const Model& row,
                                                  const ModelVersion& v, const Target& target) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
  if (set.policies.empty()) return GateAllowance{};
  Model m = row;
  VOUCH_TRY(tx.LoadModelDetails(m));
  VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx, Governing(set, m, target));
  if (!idx) return GateAllowance{};
  const Policy& p = set.policies[*idx];
  const PolicyRecord& record = set.records[*idx];
  GateAllowance allowed{.gated = true, .archive_existing = p.archive_existing};
  std::string to = policy::FormatTarget(target);
  VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> newest,
                         tx.NewestRequestFor(m.id, v.version, to));
  if (newest && newest->state == RequestState::kApproved) {
    // A manual apply finished by a direct move: the gate is evaluated again first.
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, newest->id, Permission::kEdit, true));
    if (l.governing && l.request.state == RequestState::kApproved) {
      Evaluation eval = policy::Evaluate(l.policy(), l.input, *ctx.clock);
      if (eval.may_enter && eval.satisfied) {
        TimeMs now = ctx.Now();
        l.request.state = RequestState::kApplied;
        l.request.applied_ms = now;
        l.request.closed_ms = now;
        l.request.updated_ms = now;
        VOUCH_TRY(tx.UpdateRequest(l.request));
        AuditEvent e = RequestEvent(ctx, Action::kRequestApplied, l.model, l.request);
        e.before = {{"state", "approved"}};
        e.after = {{"state", "applied"},
                   {"gate",
                    {{"policy", l.record().name},
                     {"policy_version", l.record().version},
                     {"fingerprint", eval.fingerprint},
                     {"request", l.request.id}}}};
        e.comment = "applied by a direct move";
        VOUCH_TRY(change.Record(std::move(e)));
        allowed.gate = GateJson(l.record().name, l.record().version, eval.fingerprint, l.request.id,
                                "request");
        if (target.kind == TargetKind::kAlias || p.archive_existing) {
          VOUCH_TRY(SupersedeOthers(change, l.model, l.request, v.version));
        }
        return allowed;
      }
    }
  }
  if (p.enforcement == policy::Enforcement::kAuditOnly) {
    AuditEvent e = ModelEvent(ctx, Action::kGateViolated, m, v.version);
    e.target["to"] = to;
    e.before = nullptr;
    e.after = {
        {"policy", record.name}, {"policy_version", record.version}, {"enforcement", "audit_only"}};
    e.comment = "a direct move that enforcement would refuse";
    VOUCH_TRY(change.Record(std::move(e)));
    allowed.gate = GateJson(record.name, record.version,
                            policy::VersionFingerprint(FactsOf(v, p), p, record.version),
                            std::nullopt, "audit_only");
    return allowed;
  }
  return PermissionDenied(fmt::format("{} of model {} is gated by policy {} (version {}): {}", to,
                                      m.name, record.name, record.version,
                                      HowToRequest(m, v.version, target)));
}

// The gated-or-not targets versions of `m` (details loaded) hold: Staging, Production and every
// alias; only those of `version` when it is set.
static Result<std::vector<std::pair<int64_t, Target>>> HeldTargets(store::Tx& tx, const Model& m,
                                                                   std::optional<int64_t> version) {
  std::vector<std::pair<int64_t, Target>> held;
  for (Stage stage : {Stage::kStaging, Stage::kProduction}) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> holders, tx.VersionsInStage(m.id, stage));
    for (const auto& v : holders) {
      if (!version || v.version == *version)
        held.emplace_back(v.version, policy::StageTarget(stage));
    }
  }
  for (const auto& [alias, n] : m.aliases) {
    if (!version || n == *version) held.emplace_back(n, policy::AliasTarget(alias));
  }
  return held;
}

Status ApprovalService::Removal(Change& change, const Model& row, std::optional<int64_t> version) {
  store::Tx& tx = change.tx();
  VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
  if (set.policies.empty()) return OkStatus();
  Model m = row;
  VOUCH_TRY(tx.LoadModelDetails(m));
  VOUCH_ASSIGN_OR_RETURN(auto held, HeldTargets(tx, m, version));
  for (const auto& [n, target] : held) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx, Governing(set, m, target));
    if (!idx) continue;
    std::string to = policy::FormatTarget(target);
    return FailedPrecondition(fmt::format(
        "version {} of model {} holds {}, which policy {} gates: move it out of {} before "
        "deleting it",
        n, m.name, to, set.records[*idx].name, to));
  }
  return OkStatus();
}

Result<json::array> ApprovalService::GovernanceChange(Change& change, const Model& before,
                                                      const Model& after) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  json::array changed;
  VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
  if (set.policies.empty()) return changed;
  VOUCH_ASSIGN_OR_RETURN(auto held, HeldTargets(tx, before, std::nullopt));
  auto name_of = [&](const std::optional<size_t>& idx) -> std::string {
    return idx ? set.records[*idx].name : std::string("no policy");
  };
  for (const auto& [n, target] : held) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> was, Governing(set, before, target));
    VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> will, Governing(set, after, target));
    if (was == will) continue;
    std::string to = policy::FormatTarget(target);
    if (!ctx.principal || !ctx.principal->is_admin) {
      return PermissionDenied(fmt::format(
          "this change to model {} would move {}, which version {} holds, from {} to {}: only an "
          "admin may change which policy governs a gated target",
          before.name, to, n, name_of(was), name_of(will)));
    }
    changed.push_back(
        json::object{{"target", to},
                     {"version", n},
                     {"from", was ? json::value(set.records[*was].name) : json::value(nullptr)},
                     {"to", will ? json::value(set.records[*will].name) : json::value(nullptr)}});
  }
  return changed;
}

Status ApprovalService::Leave(Change& change, const Model& row, const ModelVersion& v,
                              const Target& target) {
  store::Tx& tx = change.tx();
  const RequestContext& ctx = change.ctx();
  VOUCH_ASSIGN_OR_RETURN(PolicySet set, LoadPolicySet(tx));
  if (set.policies.empty()) return OkStatus();
  Model m = row;
  VOUCH_TRY(tx.LoadModelDetails(m));
  VOUCH_ASSIGN_OR_RETURN(std::optional<size_t> idx, Governing(set, m, target));
  if (!idx || !set.policies[*idx].gate_removal) return OkStatus();
  const PolicyRecord& record = set.records[*idx];
  std::string from = policy::FormatTarget(target);
  VOUCH_ASSIGN_OR_RETURN(std::optional<ApprovalRequest> newest,
                         tx.NewestRequestFor(m.id, v.version, LeaveTargetText(from)));
  if (newest && newest->state == RequestState::kApproved) {
    // An approved removal request waiting for a manual apply: the move applies it.
    VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(tx, ctx, newest->id, Permission::kEdit, true));
    if (l.governing && l.request.state == RequestState::kApproved) {
      Evaluation eval = policy::Evaluate(l.policy(), l.input, *ctx.clock);
      if (eval.may_enter && eval.satisfied) {
        return AppliedByMove(change, l.model, l.request, l.record(), eval);
      }
    }
  }
  if (set.policies[*idx].enforcement == policy::Enforcement::kAuditOnly) {
    return LeaveViolated(change, m, v.version, from, record);
  }
  return LeaveRefused(m, v.version, from, record);
}

// ---- Timers (the rest is in approvals_timers.cc).

Result<std::optional<ApprovalService::TimerStep>> ApprovalService::AdvanceOnTimer(Change& change,
                                                                                  int64_t id) {
  const RequestContext& ctx = change.ctx();
  VOUCH_ASSIGN_OR_RETURN(Loaded l, LoadRequest(change.tx(), ctx, id, Permission::kRead, true));
  if (l.request.state != RequestState::kOpen || !l.governing) {
    return std::optional<TimerStep>();
  }
  VOUCH_ASSIGN_OR_RETURN(Evaluation eval, Advance(change, l, false));
  if (l.request.state == RequestState::kOpen && ReminderDue(l.request, l.policy(), ctx.Now())) {
    VOUCH_ASSIGN_OR_RETURN(json::array recipients, RecipientsNow(change.tx(), l, *ctx.clock));
    VOUCH_TRY(Remind(change, l.request, l.policy(), eval,
                     RequestEvent(ctx, Action::kRequestReminder, l.model, l.request),
                     std::move(recipients)));
  }
  return std::optional<TimerStep>(TimerStep{
      .state = l.request.state, .next = NextTimer(l.request, l.policy(), eval, ctx.Now())});
}

Result<json::array> ApprovalService::RecipientsNow(store::Tx& tx, const Loaded& l,
                                                   const Clock& clock) {
  policy::GateInput with_candidates = l.input;
  VOUCH_ASSIGN_OR_RETURN(with_candidates.candidates, Candidates(tx, l.policy()));
  return RecipientsJson(policy::Evaluate(l.policy(), with_candidates, clock));
}

}  // namespace vouch::service

// The approval routes of the native API (issue 12): policies, requests and their reviews, checks
// and the gate status of a version. Each handler reads the request into ApprovalService's
// arguments and writes its answer back; who may do what is the service's to decide.
#include <fmt/format.h>

#include "vouch/api/native/handler_util.h"
#include "vouch/api/native/native_api.h"
#include "vouch/service/approvals.h"

namespace vouch::api::native {
namespace {

using service::ApprovalService;

Result<int64_t> IdParam(const Call& c) { return ParseInt("request id", c.path.at("id")); }

// The policies file of POST /policies and POST /policy-test: the body itself when it is sent as
// YAML (application/yaml, text/yaml, application/x-yaml), else the JSON body's `yaml` field.
bool IsYaml(const Call& c) {
  std::string_view type = c.request.Header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return type == "application/yaml" || type == "text/yaml" || type == "application/x-yaml";
}

}  // namespace

json::object RequestViewJson(const service::RequestView& v) {
  json::object o = service::RequestJson(v.request, v.model, v.requester);
  if (!v.reviews.empty()) {
    json::array reviews;
    for (const auto& r : v.reviews) {
      json::object one{{"id", r.review.id},
                       {"reviewer", r.reviewer},
                       {"printed_name", r.review.printed_name},
                       {"decision", store::ReviewDecisionName(r.review.decision)},
                       {"meaning", r.review.meaning},
                       {"comment", r.review.comment},
                       {"fingerprint", r.review.fingerprint},
                       {"creation_timestamp", r.review.created_ms}};
      if (r.review.dismissed_ms) {
        one["dismissed_timestamp"] = *r.review.dismissed_ms;
        one["dismissed_reason"] = r.review.dismissed_reason;
      }
      reviews.push_back(std::move(one));
    }
    o["reviews"] = std::move(reviews);
  }
  if (v.evaluation) {
    json::object e = service::EvaluationJson(*v.evaluation);
    e["policy"] = v.governing_policy;
    e["policy_version"] = v.governing_policy_version;
    o["evaluation"] = std::move(e);
  }
  return o;
}

namespace {

// Policies.

Result<HttpResponse> ApplyPolicies(ApprovalService& s, const Call& c) {
  std::string yaml;
  if (IsYaml(c)) {
    yaml = c.request.body;
  } else {
    VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"yaml"}));
    VOUCH_ASSIGN_OR_RETURN(yaml, RequiredString(body, "yaml"));
  }
  VOUCH_ASSIGN_OR_RETURN(service::PolicyApplyResult r, s.ApplyPolicies(c.ctx, yaml));
  json::array policies;
  for (const auto& p : r.policies) {
    policies.push_back(json::object{{"name", p.name},
                                    {"target", p.target},
                                    {"change", p.change},
                                    {"version", p.version},
                                    {"digest", p.digest},
                                    {"requests_needing_approval", p.requests_needing_approval}});
  }
  json::array warnings;
  for (const auto& w : r.warnings) warnings.emplace_back(w);
  return Ok({{"policies", std::move(policies)}, {"warnings", std::move(warnings)}});
}

Result<HttpResponse> ListPolicies(ApprovalService& s, const Call& c) {
  bool retired = false;
  if (const auto* v = c.query.First("include_retired")) {
    if (*v != "true" && *v != "false") {
      return InvalidArgument("include_retired must be true or false");
    }
    retired = *v == "true";
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::PolicyRecord> found, s.ListPolicies(c.ctx, retired));
  json::array items;
  for (const auto& p : found) items.push_back(service::PolicyRecordJson(p, false));
  bool gated = false;
  for (const auto& p : found) gated = gated || !p.retired_ms;
  return Ok({{"policies", std::move(items)}, {"gated", gated}});
}

Result<HttpResponse> GetPolicy(ApprovalService& s, const Call& c) {
  int64_t version = 0;
  if (auto it = c.path.find("n"); it != c.path.end()) {
    VOUCH_ASSIGN_OR_RETURN(version, ParseInt("version", it->second));
    if (version < 1) return InvalidArgument("version must be a positive integer");
  }
  VOUCH_ASSIGN_OR_RETURN(store::PolicyRecord p, s.GetPolicy(c.ctx, c.path.at("policy"), version));
  return Ok(service::PolicyRecordJson(p, true));
}

Result<HttpResponse> PolicyHistory(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::PolicyRecord> found,
                         s.PolicyHistory(c.ctx, c.path.at("policy")));
  json::array items;
  for (const auto& p : found) items.push_back(service::PolicyRecordJson(p, false));
  return Ok({{"versions", std::move(items)}});
}

// GET /policies/{policy}/diff?from=V1&to=V2: both required, positive integers.
Result<HttpResponse> DiffPolicy(ApprovalService& s, const Call& c) {
  int64_t versions[2] = {0, 0};
  const char* const names[2] = {"from", "to"};
  for (int i = 0; i < 2; ++i) {
    const std::string* v = c.query.First(names[i]);
    if (v == nullptr) return InvalidArgument(fmt::format("{} is required", names[i]));
    VOUCH_ASSIGN_OR_RETURN(versions[i], ParseInt(names[i], *v));
    if (versions[i] < 1) {
      return InvalidArgument(fmt::format("{} must be a positive integer", names[i]));
    }
  }
  VOUCH_ASSIGN_OR_RETURN(service::PolicyDiff d,
                         s.DiffPolicy(c.ctx, c.path.at("policy"), versions[0], versions[1]));
  return Ok(service::PolicyDiffJson(d));
}

Result<HttpResponse> RetirePolicy(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(store::PolicyRecord p, s.RetirePolicy(c.ctx, c.path.at("policy")));
  return Ok(service::PolicyRecordJson(p, false));
}

Result<HttpResponse> TestPolicy(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"yaml", "model", "version", "target"}));
  service::PolicyTestArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.yaml, RequiredString(body, "yaml"));
  VOUCH_ASSIGN_OR_RETURN(args.model, RequiredString(body, "model"));
  VOUCH_ASSIGN_OR_RETURN(auto version, OptionalInt(body, "version"));
  if (!version) return InvalidArgument("version is required");
  args.version = *version;
  VOUCH_ASSIGN_OR_RETURN(args.target, RequiredString(body, "target"));
  VOUCH_ASSIGN_OR_RETURN(service::PolicyTestResult r, s.TestPolicy(c.ctx, args));
  json::object o{{"gated", r.gated}};
  if (r.gated) {
    o["policy"] = r.policy;
    o["evaluation"] = service::EvaluationJson(r.evaluation);
  }
  return Ok(o);
}

// Requests.

Result<HttpResponse> CreateRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"model", "version", "target", "comment",
                                                     "break_glass", "reason"}));
  service::RequestArgs args;
  VOUCH_ASSIGN_OR_RETURN(args.model, RequiredString(body, "model"));
  VOUCH_ASSIGN_OR_RETURN(auto version, OptionalInt(body, "version"));
  if (!version) return InvalidArgument("version is required");
  args.version = *version;
  VOUCH_ASSIGN_OR_RETURN(args.target, RequiredString(body, "target"));
  VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
  args.comment = comment.value_or("");
  VOUCH_ASSIGN_OR_RETURN(auto break_glass, OptionalBool(body, "break_glass"));
  args.break_glass = break_glass.value_or(false);
  VOUCH_ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason"));
  args.reason = reason.value_or("");
  VOUCH_ASSIGN_OR_RETURN(service::RequestView v, s.CreateRequest(c.ctx, args));
  return Ok(RequestViewJson(v), 201);
}

Result<HttpResponse> ListRequests(ApprovalService& s, const Call& c) {
  service::RequestQuery q;
  if (const auto* v = c.query.First("model")) q.model = *v;
  if (const auto* v = c.query.First("state")) q.state = *v;
  for (auto [key, flag] : {std::pair{"mine", &q.mine}, std::pair{"to_review", &q.to_review},
                           std::pair{"followups", &q.followups}}) {
    if (const auto* v = c.query.First(key)) {
      if (*v != "true" && *v != "false") {
        return InvalidArgument(fmt::format("{} must be true or false", key));
      }
      *flag = *v == "true";
    }
  }
  if (const auto* v = c.query.First("limit")) {
    VOUCH_ASSIGN_OR_RETURN(int64_t limit, ParseInt("limit", *v));
    if (limit < 1 || limit > 1000) return InvalidArgument("limit must be between 1 and 1000");
    q.limit = static_cast<int>(limit);
  }
  if (const auto* v = c.query.First("before_id")) {
    VOUCH_ASSIGN_OR_RETURN(q.before_id, ParseInt("before_id", *v));
    if (q.before_id < 0) return InvalidArgument("before_id must be 0 or more");
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<service::RequestView> found, s.ListRequests(c.ctx, q));
  json::array items;
  for (const auto& v : found) items.push_back(RequestViewJson(v));
  return Ok({{"requests", std::move(items)}});
}

Result<HttpResponse> ShowRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  VOUCH_ASSIGN_OR_RETURN(service::RequestView v, s.ShowRequest(c.ctx, id));
  return Ok(RequestViewJson(v));
}

template <bool kApprove>
Result<HttpResponse> ReviewRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  VOUCH_ASSIGN_OR_RETURN(json::object body,
                         Body(c, {"comment", "meaning", "fingerprint", "password"}));
  service::ReviewArgs args;
  VOUCH_ASSIGN_OR_RETURN(auto comment, OptionalString(body, "comment"));
  VOUCH_ASSIGN_OR_RETURN(auto meaning, OptionalString(body, "meaning"));
  VOUCH_ASSIGN_OR_RETURN(auto fingerprint, OptionalString(body, "fingerprint"));
  args.comment = comment.value_or("");
  args.meaning = meaning.value_or("");
  args.fingerprint = fingerprint.value_or("");
  // The signer's password, for a policy with `reauth: true` (never logged or kept).
  VOUCH_ASSIGN_OR_RETURN(auto password, OptionalString(body, "password"));
  args.password = password.value_or("");
  // If-Match carries the fingerprint as well (quoted, as an entity tag).
  std::string_view if_match = c.request.Header("if-match");
  if (!if_match.empty()) {
    if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
      if_match = if_match.substr(1, if_match.size() - 2);
    }
    if (!args.fingerprint.empty() && args.fingerprint != if_match) {
      return InvalidArgument("fingerprint and If-Match differ");
    }
    args.fingerprint = std::string(if_match);
  }
  VOUCH_ASSIGN_OR_RETURN(service::RequestView v,
                         kApprove ? s.Approve(c.ctx, id, args) : s.Reject(c.ctx, id, args));
  return Ok(RequestViewJson(v));
}

Result<HttpResponse> CancelRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  std::string comment;
  if (!c.request.body.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"comment"}));
    VOUCH_ASSIGN_OR_RETURN(auto given, OptionalString(body, "comment"));
    comment = given.value_or("");
  }
  VOUCH_ASSIGN_OR_RETURN(service::RequestView v, s.Cancel(c.ctx, id, comment));
  return Ok(RequestViewJson(v));
}

Result<HttpResponse> ApplyRequest(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t id, IdParam(c));
  VOUCH_ASSIGN_OR_RETURN(service::RequestView v, s.ApplyRequest(c.ctx, id));
  return Ok(RequestViewJson(v));
}

// Checks and gates.

Result<HttpResponse> PostCheck(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(json::object body, Body(c, {"name", "state", "url", "description"}));
  service::CheckArgs args;
  args.model = c.path.at("name");
  VOUCH_ASSIGN_OR_RETURN(args.version, ParseInt("version", c.path.at("n")));
  VOUCH_ASSIGN_OR_RETURN(args.name, RequiredString(body, "name"));
  VOUCH_ASSIGN_OR_RETURN(args.state, RequiredString(body, "state"));
  VOUCH_ASSIGN_OR_RETURN(auto url, OptionalString(body, "url"));
  VOUCH_ASSIGN_OR_RETURN(auto description, OptionalString(body, "description"));
  args.url = url.value_or("");
  args.description = description.value_or("");
  VOUCH_ASSIGN_OR_RETURN(store::VersionCheck check, s.PostCheck(c.ctx, args));
  return Ok(service::CheckJson(check));
}

Result<HttpResponse> ListChecks(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseInt("version", c.path.at("n")));
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::VersionCheck> found,
                         s.ListChecks(c.ctx, c.path.at("name"), version));
  json::array items;
  for (const auto& check : found) items.push_back(service::CheckJson(check));
  return Ok({{"checks", std::move(items)}});
}

Result<HttpResponse> GateCheck(ApprovalService& s, const Call& c) {
  VOUCH_ASSIGN_OR_RETURN(int64_t version, ParseInt("version", c.path.at("n")));
  const std::string* to = c.query.First("to");
  if (to == nullptr) return InvalidArgument("give the target as ?to=stage:Production");
  VOUCH_ASSIGN_OR_RETURN(service::GateStatus g,
                         s.CheckGate(c.ctx, c.path.at("name"), version, *to));
  json::object o{{"model", c.path.at("name")}, {"version", version}, {"target", *to},
                 {"gated", g.gated},           {"holds", g.holds},   {"may_enter", g.may_enter},
                 {"status", g.status}};
  o["break_glass"] = g.break_glass;
  if (g.gated) {
    o["policy"] = g.policy;
    o["policy_version"] = g.policy_version;
  }
  if (g.newest) o["request"] = RequestViewJson(*g.newest);
  return Ok(o);
}

using ApprovalHandler = Result<HttpResponse> (*)(ApprovalService&, const Call&);

struct Endpoint {
  std::string_view method;
  std::string_view path;
  Access access;
  ApprovalHandler handler;
};

// Paths below kPrefix. Requests name their model in the body or by id, so their routes declare
// kAuthenticated; the service checks the model's permission (approvals.h).
constexpr Endpoint kEndpoints[] = {
    {"POST", "/policies", Access::kAdmin, ApplyPolicies},
    {"GET", "/policies", Access::kAuthenticated, ListPolicies},
    {"POST", "/policy-test", Access::kAuthenticated, TestPolicy},
    {"GET", "/policies/{policy}", Access::kAuthenticated, GetPolicy},
    {"GET", "/policies/{policy}/versions", Access::kAuthenticated, PolicyHistory},
    {"GET", "/policies/{policy}/versions/{n}", Access::kAuthenticated, GetPolicy},
    {"POST", "/policies/{policy}/retire", Access::kAdmin, RetirePolicy},
    {"GET", "/policies/{policy}/diff", Access::kAuthenticated, DiffPolicy},
    {"POST", "/requests", Access::kAuthenticated, CreateRequest},
    {"GET", "/requests", Access::kAuthenticated, ListRequests},
    {"GET", "/requests/{id}", Access::kAuthenticated, ShowRequest},
    {"POST", "/requests/{id}/approve", Access::kAuthenticated, ReviewRequest<true>},
    {"POST", "/requests/{id}/reject", Access::kAuthenticated, ReviewRequest<false>},
    {"POST", "/requests/{id}/cancel", Access::kAuthenticated, CancelRequest},
    {"POST", "/requests/{id}/apply", Access::kAuthenticated, ApplyRequest},
    {"POST", "/models/{name}/versions/{n}/checks", Access::kModelEdit, PostCheck},
    {"GET", "/models/{name}/versions/{n}/checks", Access::kModelRead, ListChecks},
    {"GET", "/models/{name}/versions/{n}/gate", Access::kModelRead, GateCheck},
};

}  // namespace

void RegisterApprovalRoutes(Router& router, ApprovalService& approvals) {
  for (const Endpoint& e : kEndpoints) {
    auto handler = e.handler;
    router.Add(std::string(e.method), fmt::format("{}{}", kPrefix, e.path), e.access, Door::kNative,
               [&approvals, handler](const Call& c) { return handler(approvals, c); });
  }
}

}  // namespace vouch::api::native

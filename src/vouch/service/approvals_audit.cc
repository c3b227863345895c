// Audit schema 2's parts of the approval service: the recipients request.opened's outbox payload
// lists for notifications, and the policy diff policy.applied records and `policy diff` shows.
#include <fmt/format.h>

#include <cstdint>

#include "vouch/service/approvals.h"
#include "vouch/util/json_diff.h"

namespace vouch::service {

json::array RecipientsJson(const policy::Evaluation& e) {
  json::array out;
  for (size_t i = 0; i < e.rules.size(); ++i) {
    const policy::RuleResult& r = e.rules[i];
    if (r.satisfied) continue;
    json::array could;
    for (const std::string& name : r.could_count) could.emplace_back(name);
    out.push_back(json::object{{"rule", static_cast<int64_t>(i)},
                               {"text", r.text},
                               {"required", r.required},
                               {"missing", r.required - static_cast<int64_t>(r.counted.size())},
                               {"could_approve", std::move(could)}});
  }
  return out;
}

json::array PolicyBodyDiff(const json::value& before, const json::value& after) {
  return DiffJsonArray(before, after);
}

json::object PolicyDiffJson(const PolicyDiff& d) {
  return {{"policy", d.to.name},
          {"from", PolicyRecordJson(d.from, false)},
          {"to", PolicyRecordJson(d.to, false)},
          {"changes", d.changes}};
}

Result<PolicyDiff> ApprovalService::DiffPolicy(const RequestContext& ctx, std::string_view name,
                                               int64_t from, int64_t to) {
  if (from < 1 || to < 1) return InvalidArgument("a policy version is a positive integer");
  PolicyDiff out;
  VOUCH_ASSIGN_OR_RETURN(out.from, GetPolicy(ctx, name, from));
  VOUCH_ASSIGN_OR_RETURN(out.to, GetPolicy(ctx, name, to));
  Result<json::value> before = ParseJson(out.from.body);
  Result<json::value> after = ParseJson(out.to.body);
  if (!before.ok() || !after.ok()) {
    return Internal(fmt::format("stored policy {} does not parse", out.to.name));
  }
  out.changes = PolicyBodyDiff(*before, *after);
  return out;
}

}  // namespace vouch::service

#include "vouch/service/registry.h"

#include <fmt/format.h>

#include "vouch/service/lookups.h"
#include "vouch/service/registry_internal.h"

namespace vouch::service {
namespace {

constexpr int kMaxPageSize = 1000;

}  // namespace

namespace registry_internal {

Status ValidateTags(const StringMap& tags) {
  for (const auto& [k, v] : tags) {
    VOUCH_TRY(ValidateTagKey(k));
    VOUCH_TRY(ValidateTagValue(k, v));
  }
  return OkStatus();
}

Status ValidateVersionNumber(int64_t version) {
  if (version < 1) {
    return InvalidArgument(fmt::format("version must be a positive integer, got {}", version));
  }
  return OkStatus();
}

}  // namespace registry_internal

RegistryService::RegistryService(MutationExecutor& executor, PageTokens page_tokens,
                                 Authorizer authz)
    : executor_(executor),
      store_(executor.store()),
      tokens_(std::move(page_tokens)),
      authz_(authz) {}

RegistryService::RegistryService(store::Store& store, PageTokens page_tokens, Authorizer authz)
    : own_executor_(std::make_unique<MutationExecutor>(store)),
      executor_(*own_executor_),
      store_(store),
      tokens_(std::move(page_tokens)),
      authz_(authz) {}

Status RegistryService::Authorize(const RequestContext& ctx) const {
  if (!ctx.principal) return Unauthenticated("authentication required");
  return OkStatus();
}

Result<Model> RegistryService::ModelFor(store::Tx& tx, const RequestContext& ctx,
                                        std::string_view name, Permission need,
                                        bool row_only) const {
  return service::ModelFor(tx, authz_, ctx, name, need, row_only);
}

Result<int> RegistryService::Limit(const PageRequest& page) const {
  if (page.limit < 1 || page.limit > kMaxPageSize) {
    return InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxPageSize, page.limit));
  }
  return page.limit;
}

Result<Page<std::string>> RegistryService::ListAudit(const RequestContext& ctx,
                                                     const AuditQuery& q) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_ASSIGN_OR_RETURN(int limit, Limit(q.page));
  if (q.version != 0 && q.model.empty()) {
    return InvalidArgument("filtering by version needs a model");
  }
  if (q.version < 0) return InvalidArgument("version must be a positive integer");
  if (q.outcome && *q.outcome != "done" && *q.outcome != "denied") {
    return InvalidArgument(
        fmt::format("outcome must be 'done' or 'denied', got '{}'", q.outcome->substr(0, 64)));
  }
  if (q.request_id < 0) {
    return InvalidArgument(fmt::format("request must be a positive integer, got {}", q.request_id));
  }
  store::AuditFilter f{.model = q.model,
                       .version = q.version,
                       .actor = q.actor,
                       .action = q.action,
                       .outcome = q.outcome.value_or(""),
                       .request_id = q.request_id,
                       .since_ms = q.since_ms,
                       .until_ms = q.until_ms,
                       .newest_first = q.newest_first,
                       .limit = limit + 1};
  // A page token holds the last sequence number of its page under the key of its order, so a
  // token is only good for the order it was made in.
  const std::string_view position_key = q.newest_first ? "before_seq" : "after_seq";
  if (!q.page.page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(q.page.page_token));
    auto it = pos.find(position_key);
    if (it == pos.end() || !it->value().is_int64() || it->value().get_int64() < 1) {
      return InvalidArgument("invalid page token");
    }
    (q.newest_first ? f.before_seq : f.after_seq) = it->value().get_int64();
  }
  std::vector<store::StoredAuditEvent> events;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    // The whole log is for admins and auditors; anyone else reads the history of a model it may
    // read, by naming it. For them the name means that model (its id: its events since it was
    // created, across renames), never an earlier model that had the name, which their grant on
    // this one does not cover.
    if (!Authorizer::MayReadWholeAudit(ctx)) {
      if (q.model.empty()) {
        return PermissionDenied(
            "reading the whole audit log needs the admin or auditor role; filter by a model you "
            "may read");
      }
      VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, q.model, Permission::kRead, true));
      f.model.clear();
      f.model_id = m.id;
    }
    VOUCH_ASSIGN_OR_RETURN(events, tx.ListAuditEvents(f));
    return OkStatus();
  }));
  Page<std::string> out;
  if (static_cast<int>(events.size()) > limit) {
    events.resize(limit);
    out.next_page_token = tokens_.Encode({{position_key, events.back().seq}});
  }
  out.items.reserve(events.size());
  for (auto& e : events) out.items.push_back(std::move(e.body));
  return out;
}

}  // namespace vouch::service

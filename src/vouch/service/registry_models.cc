#include "vouch/service/registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/audit/actions.h"
#include "vouch/service/events.h"
#include "vouch/service/lookups.h"
#include "vouch/service/registry_internal.h"

namespace vouch::service {

using audit::Action;
using registry_internal::ValidateTags;
using registry_internal::ValidateVersionNumber;

Result<Model> RegistryService::CreateModel(const RequestContext& ctx, const CreateModelArgs& args) {
  VOUCH_TRY(authz_.RequireWrite(ctx));
  VOUCH_TRY(ValidateModelName(args.name));
  VOUCH_TRY(ValidateDescription(args.description));
  VOUCH_TRY(ValidateTags(args.tags));
  Model out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> existing, tx.FindModel(args.name));
    if (existing) {
      return AlreadyExists(fmt::format("Registered Model (name={}) already exists.", args.name));
    }
    TimeMs now = ctx.Now();
    Model m{.name = args.name,
            .description = args.description,
            .tags = args.tags,
            .created_ms = now,
            .updated_ms = now,
            .created_by = ctx.principal->name,
            .created_by_id = ctx.principal->id};
    VOUCH_TRY(CheckModelRecord(m));
    VOUCH_TRY(tx.InsertModel(m));
    AuditEvent e = ModelEvent(ctx, Action::kModelCreated, m);
    e.before = nullptr;
    e.after = ModelSnapshot(m);
    VOUCH_TRY(change.Record(std::move(e)));
    if (ctx.principal->id > 0) {
      // The creator manages what it made (as in MLflow's auth app), in the same transaction.
      ModelPermission creator{.model_id = m.id,
                              .grantee = {.principal_id = ctx.principal->id},
                              .permission = Permission::kManage};
      VOUCH_TRY(tx.SetModelPermission(creator));
    }
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::GetModel(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(Authorize(ctx));
  Model out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, ModelFor(tx, ctx, name, Permission::kRead, false));
    return OkStatus();
  }));
  return out;
}

Result<Page<Model>> RegistryService::ListModels(const RequestContext& ctx,
                                                const PageRequest& page) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_ASSIGN_OR_RETURN(int limit, Limit(page));
  std::string after;
  if (!page.page_token.empty()) {
    VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(page.page_token));
    auto it = pos.find("after_name");
    if (it == pos.end() || !it->value().is_string()) return InvalidArgument("invalid page token");
    after = std::string(it->value().get_string());
  }
  Page<Model> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.items.clear();
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    // Models the caller may not read are skipped before the page is cut, so pages stay full.
    std::string from = after;
    const int batch = std::max(limit + 1, 100);
    while (static_cast<int>(out.items.size()) <= limit) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<Model> rows, tx.ListModels(from, batch));
      if (rows.empty()) break;
      from = rows.back().name;  // before the rows are moved into the page
      for (auto& m : rows) {
        if (static_cast<int>(out.items.size()) > limit) break;
        if (readable(m.id)) out.items.push_back(std::move(m));
      }
      if (static_cast<int>(rows.size()) < batch) break;
    }
    return OkStatus();
  }));
  if (static_cast<int>(out.items.size()) > limit) {
    out.items.resize(limit);
    out.next_page_token = tokens_.Encode({{"after_name", out.items.back().name}});
  }
  return out;
}

Result<Model> RegistryService::UpdateModelDescription(const RequestContext& ctx,
                                                      std::string_view name,
                                                      std::string_view description) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateDescription(description));
  Model out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    AuditEvent e = ModelEvent(ctx, Action::kModelUpdated, m);
    e.before = {{"description", m.description}};
    m.description = std::string(description);
    VOUCH_TRY(CheckModelRecord(m));
    m.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateModel(m));
    e.after = {{"description", m.description}};
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::RenameModel(const RequestContext& ctx, std::string_view name,
                                           std::string_view new_name) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateModelName(new_name));
  Model out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    if (new_name == name) {  // nothing changes, so nothing is recorded
      out = std::move(m);
      return change.Unchanged();
    }
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> taken, tx.FindModel(new_name));
    if (taken) {
      return AlreadyExists(fmt::format("Registered Model (name={}) already exists.", new_name));
    }
    json::array governance;
    if (gate_ != nullptr) {
      Model renamed = m;
      renamed.name = std::string(new_name);
      VOUCH_ASSIGN_OR_RETURN(governance, gate_->GovernanceChange(change, m, renamed));
    }
    AuditEvent e = ModelEvent(ctx, Action::kModelRenamed, m);
    e.before = {{"name", m.name}};
    m.name = std::string(new_name);
    VOUCH_TRY(CheckModelRecord(m));
    m.updated_ms = ctx.Now();
    VOUCH_TRY(tx.UpdateModel(m));
    e.after = {{"name", m.name}};
    if (!governance.empty()) e.after.as_object()["governance"] = std::move(governance);
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Status RegistryService::DeleteModel(const RequestContext& ctx, std::string_view name) {
  VOUCH_TRY(Authorize(ctx));
  return executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kManage, false));
    if (gate_ != nullptr) VOUCH_TRY(gate_->Removal(change, m, std::nullopt));
    TimeMs now = ctx.Now();
    // Versions go with the model, each soft-deleted so its number stays retired.
    int64_t after = 0;
    int64_t deleted_versions = 0;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(std::vector<ModelVersion> batch, tx.ListVersions(m.id, after, 500));
      if (batch.empty()) break;
      for (const auto& v : batch) {
        VOUCH_TRY(tx.DeleteAliasesOf(m.id, v.version).status());
        VOUCH_TRY(tx.MarkVersionDeleted(v.id, now));
        ++deleted_versions;
      }
      after = batch.back().version;
    }
    VOUCH_TRY(tx.MarkModelDeleted(m.id, now));
    AuditEvent e = ModelEvent(ctx, Action::kModelDeleted, m);
    json::object before = ModelSnapshot(m);
    before["versions"] = deleted_versions;
    e.before = std::move(before);
    e.after = nullptr;
    return change.Record(std::move(e));
  });
}

Result<Model> RegistryService::SetModelTag(const RequestContext& ctx, std::string_view name,
                                           std::string_view key, std::string_view value) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateTagKey(key));
  VOUCH_TRY(ValidateTagValue(key, value));
  Model out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    json::array governance;
    if (gate_ != nullptr) {
      Model tagged = m;
      tagged.tags[std::string(key)] = std::string(value);
      VOUCH_ASSIGN_OR_RETURN(governance, gate_->GovernanceChange(change, m, tagged));
    }
    AuditEvent e = ModelEvent(ctx, Action::kModelTagSet, m);
    auto old = m.tags.find(std::string(key));
    e.before = old == m.tags.end() ? json::value(nullptr)
                                   : json::value({{"key", key}, {"value", old->second}});
    e.after = {{"key", key}, {"value", value}};
    if (!governance.empty()) e.after.as_object()["governance"] = std::move(governance);
    m.tags[std::string(key)] = std::string(value);
    VOUCH_TRY(CheckModelRecord(m));
    VOUCH_TRY(tx.SetModelTag(m.id, key, value));
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

Result<Model> RegistryService::DeleteModelTag(const RequestContext& ctx, std::string_view name,
                                              std::string_view key) {
  VOUCH_TRY(Authorize(ctx));
  VOUCH_TRY(ValidateTagKey(key));
  Model out;
  VOUCH_TRY(executor_.Apply(ctx, [&](Change& change) -> Status {
    store::Tx& tx = change.tx();
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kEdit, false));
    auto old = m.tags.find(std::string(key));
    if (old == m.tags.end()) {
      out = std::move(m);
      return change.Unchanged();
    }
    json::array governance;
    if (gate_ != nullptr) {
      Model untagged = m;
      untagged.tags.erase(std::string(key));
      VOUCH_ASSIGN_OR_RETURN(governance, gate_->GovernanceChange(change, m, untagged));
    }
    AuditEvent e = ModelEvent(ctx, Action::kModelTagDeleted, m);
    e.before = {{"key", key}, {"value", old->second}};
    e.after = nullptr;
    if (!governance.empty()) e.after = json::object{{"governance", std::move(governance)}};
    VOUCH_TRY(tx.DeleteModelTag(m.id, key));
    m.tags.erase(old);
    VOUCH_TRY(change.Record(std::move(e)));
    out = std::move(m);
    return OkStatus();
  }));
  return out;
}

}  // namespace vouch::service

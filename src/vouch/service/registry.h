// The registry service: the one door for every read and change of models, versions, stages and
// aliases, whatever front door the call came through.
//
// Each change is one method: authorize -> validate -> one change through the mutation executor
// (executor.h): one store transaction that changes state, appends the audit event and enqueues the
// outbox row. Reads are not audited. The implementation is split by aggregate: registry_models.cc,
// registry_versions.cc, registry_aliases.cc (stages and aliases), registry_search.cc. Messages of
// NOT_FOUND and ALREADY_EXISTS are worded as MLflow words them, since MLflow clients match on them.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vouch/domain/model.h"
#include "vouch/domain/model_source.h"
#include "vouch/domain/principal.h"
#include "vouch/service/authorizer.h"
#include "vouch/service/executor.h"
#include "vouch/service/gate.h"
#include "vouch/service/page_token.h"
#include "vouch/service/search.h"
#include "vouch/store/store.h"

namespace vouch::service {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

struct PageRequest {
  std::string page_token;
  int limit = 100;  // 1..1000
};

struct CreateModelArgs {
  std::string name;
  std::string description;
  StringMap tags;
};

struct CreateVersionArgs {
  std::string model;
  std::string source;
  std::string run_id;
  std::string run_link;
  std::string model_ref;
  // Whether the caller sent run_id / model_id at all, even empty (a non-empty value counts as
  // sent): a models:/NAME/N source copies what was not sent from version N, and refuses what was
  // sent and differs, as MLflow does.
  bool run_id_given = false;
  bool model_ref_given = false;
  std::string description;
  std::string artifact_digest;
  StringMap tags;
  MetricMap metrics;
  StringMap params;
};

struct StageChange {
  std::string model;
  int64_t version = 0;
  std::string stage;  // as the caller wrote it; parsed case-insensitively
  bool archive_existing = false;
  std::string comment;
};

struct AuditQuery {
  std::string model;
  int64_t version = 0;
  std::string actor;
  std::string action;
  std::optional<std::string> outcome;  // "done" or "denied"; none: both
  int64_t request_id = 0;              // the events that name this approval request; 0: any
  std::optional<TimeMs> since_ms;
  std::optional<TimeMs> until_ms;
  bool newest_first = false;  // descending sequence; a page token keeps the order it was made in
  PageRequest page;
};

// What a keyed change on a version touches.
enum class VersionField { kTag, kMetric, kParam };

class RegistryService {
 public:
  // `authz` holds the permission rules (authorizer.h); its default is READ for authenticated
  // principals. Every call returns PERMISSION_DENIED when the caller lacks the permission it needs
  // on the model: READ to read, EDIT to change (create versions, tags, stages, aliases, rename),
  // MANAGE to delete (models, versions, version tags, aliases). Lists and searches leave out what
  // the caller may not read. The creator of a model gets MANAGE on it. Changes run through
  // `executor` (and its hooks), shared with the other services; given a store, it makes its own.
  RegistryService(MutationExecutor& executor, PageTokens page_tokens,
                  Authorizer authz = Authorizer());
  RegistryService(store::Store& store, PageTokens page_tokens, Authorizer authz = Authorizer());

  // Wiring, before the first call: the gate every stage transition into Staging or Production and
  // every alias set passes (gate.h). Without one nothing is gated.
  void SetGate(MoveGate* gate) { gate_ = gate; }

  // ALREADY_EXISTS "Registered Model (name=X) already exists."; INVALID_ARGUMENT for bad fields.
  Result<Model> CreateModel(const RequestContext& ctx, const CreateModelArgs& args);
  // NOT_FOUND "Registered Model with name=X not found".
  Result<Model> GetModel(const RequestContext& ctx, std::string_view name);
  Result<Page<Model>> ListModels(const RequestContext& ctx, const PageRequest& page);
  Result<Model> UpdateModelDescription(const RequestContext& ctx, std::string_view name,
                                       std::string_view description);
  // ALREADY_EXISTS when `new_name` is taken.
  Result<Model> RenameModel(const RequestContext& ctx, std::string_view name,
                            std::string_view new_name);
  // Deletes the model and its versions and aliases; numbers stay retired, history stays.
  // FAILED_PRECONDITION while one of its versions holds a gated target (gate.h).
  Status DeleteModel(const RequestContext& ctx, std::string_view name);
  Result<Model> SetModelTag(const RequestContext& ctx, std::string_view name, std::string_view key,
                            std::string_view value);
  // Deleting a tag that is not set changes nothing and records nothing (as MLflow: idempotent).
  Result<Model> DeleteModelTag(const RequestContext& ctx, std::string_view name,
                               std::string_view key);

  // The source is checked as MLflow 3.17's server checks it, where no tracking store is needed
  // (domain/model_source.h): INVALID_ARGUMENT for a relative path reference (`..`, `.`), for
  // `runs://host/...`, for `runs:/RUN/...` unless run_id is RUN (and no model_id is given), for a
  // `models:/<logged model id>` source other than model_id. A `models:/NAME/N`, `@ALIAS`, `/STAGE`
  // or `/latest` source is stored as `models:/NAME/N`, copies run_id and model_id from version N
  // when they were not sent, and is INVALID_ARGUMENT when one was sent and differs. An unknown
  // NAME, version, stage holder or alias is MLflow's error (NOT_FOUND "Registered Model with
  // name=X not found", NOT_FOUND "Model Version (name=X, version=N) not found", NOT_FOUND "No
  // versions of model with name 'X' and stage 'S' found", INVALID_ARGUMENT "Registered model
  // alias A not found."); a caller without READ on NAME gets PERMISSION_DENIED before anything of
  // NAME's versions is read, the answer a direct read of NAME gives.
  Result<ModelVersion> CreateVersion(const RequestContext& ctx, const CreateVersionArgs& args);
  // NOT_FOUND "Model Version (name=X, version=N) not found".
  Result<ModelVersion> GetVersion(const RequestContext& ctx, std::string_view name,
                                  int64_t version);
  Result<Page<ModelVersion>> ListVersions(const RequestContext& ctx, std::string_view name,
                                          const PageRequest& page);
  Result<ModelVersion> UpdateVersionDescription(const RequestContext& ctx, std::string_view name,
                                                int64_t version, std::string_view description);
  // FAILED_PRECONDITION while the version holds a gated target (gate.h): it leaves it first.
  Status DeleteVersion(const RequestContext& ctx, std::string_view name, int64_t version);
  // Sets a tag (string), metric (number in `metric`) or param (string) on a version.
  Result<ModelVersion> SetVersionField(const RequestContext& ctx, VersionField field,
                                       std::string_view name, int64_t version, std::string_view key,
                                       std::string_view value, double metric = 0);
  // Deleting a key that is not set changes nothing and records nothing.
  Result<ModelVersion> DeleteVersionField(const RequestContext& ctx, VersionField field,
                                          std::string_view name, int64_t version,
                                          std::string_view key);

  // Moves a version to a stage; with archive_existing, the other versions in that stage move to
  // Archived in the same transaction (FAILED_PRECONDITION unless the stage is Staging or
  // Production). Each moved version is its own audit event. A gated target (gate.h)
  // refuses the move with PERMISSION_DENIED unless an approved request for it is waiting.
  Result<ModelVersion> SetStage(const RequestContext& ctx, const StageChange& change);

  Result<ModelVersion> SetAlias(const RequestContext& ctx, std::string_view name,
                                std::string_view alias, int64_t version, std::string_view comment);
  // Deleting an alias that is not set changes nothing and records nothing.
  Status DeleteAlias(const RequestContext& ctx, std::string_view name, std::string_view alias,
                     std::string_view comment);
  // INVALID_ARGUMENT "Registered model alias A not found." when the alias is not set (MLflow
  // answers INVALID_PARAMETER_VALUE, and its clients match on that).
  Result<ModelVersion> GetVersionByAlias(const RequestContext& ctx, std::string_view name,
                                         std::string_view alias);

  // Models matching every condition (keys: name, tags), ordered (name, creation or last-updated
  // time), at most max_results (1..max_models_page) a page. INVALID_ARGUMENT for a key or order
  // that does not apply to models, a bad page token, or max_results out of range. A name equality
  // is an index lookup.
  Result<Page<Model>> SearchModels(const RequestContext& ctx, const SearchRequest& request);
  // Versions matching every condition (keys: name, run_id, source_path, version_number, tags),
  // ordered (name, version_number, creation or last-updated time). A name equality reads that
  // model's versions only; run_id equality or IN uses the run_id index.
  Result<Page<ModelVersion>> SearchVersions(const RequestContext& ctx,
                                            const SearchRequest& request);
  // For each stage in `stages` (all four when empty), the highest live version in it, ordered by
  // version. INVALID_ARGUMENT for an unknown stage; NOT_FOUND for an unknown model.
  Result<std::vector<ModelVersion>> LatestVersions(const RequestContext& ctx, std::string_view name,
                                                   const std::vector<std::string>& stages);
  // Where a version's artifacts are: its storage location when its source was a models:/ URI that
  // was resolved at creation, else its source.
  Result<std::string> DownloadUri(const RequestContext& ctx, std::string_view name,
                                  int64_t version);

  // The audit log, ascending sequence (descending with `newest_first`); each item is the event's
  // stored canonical JSON. Admins and auditors read all of it, and `model` selects every event
  // under that name (earlier models that had it included). Anyone else must name a live model it
  // may READ (PERMISSION_DENIED otherwise, NOT_FOUND when there is none) and gets that model's
  // events only: since it was created, across its renames, not those of an earlier model of the
  // name.
  Result<Page<std::string>> ListAudit(const RequestContext& ctx, const AuditQuery& query);

 private:
  Status Authorize(const RequestContext& ctx) const;
  // The model `name` (NOT_FOUND "Registered Model with name=X not found"), once the caller is
  // found to have `need` on it (PERMISSION_DENIED). `row_only` skips tags and aliases
  // (lookups.h).
  Result<Model> ModelFor(store::Tx& tx, const RequestContext& ctx, std::string_view name,
                         Permission need, bool row_only) const;
  Result<int> Limit(const PageRequest& page) const;
  // What a version is created with once its source's lineage is resolved.
  struct ResolvedSource {
    std::string source;
    std::string run_id;
    std::string model_ref;
    std::string storage_location;  // for a models:/NAME/... source: where version N's artifacts are
  };
  // For a models:/NAME/N, models:/NAME@ALIAS, models:/NAME/STAGE or models:/NAME/latest source:
  // the version it names, MLflow's lineage rules applied (CreateVersion's comment). Other sources
  // come back as they were given.
  Result<ResolvedSource> ResolveSource(store::Tx& tx, const RequestContext& ctx,
                                       const CreateVersionArgs& args,
                                       const std::optional<ModelsRef>& ref);
  // The highest version in each stage of `wanted` (all when empty), in MLflow's order.
  static Result<std::vector<ModelVersion>> LatestIn(store::Tx& tx, int64_t model_id,
                                                    const std::set<Stage>& wanted);
  static Status ScanVersionCandidates(
      store::Tx& tx, const std::vector<Condition>& filter,
      const std::function<Status(std::vector<ModelVersion>&)>& keep);

  std::unique_ptr<MutationExecutor> own_executor_;  // when not given one
  MutationExecutor& executor_;
  store::Store& store_;
  const PageTokens tokens_;
  const Authorizer authz_;
  MoveGate* gate_ = nullptr;
};

}  // namespace vouch::service

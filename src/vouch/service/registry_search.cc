// RegistryService's searches and the reads MLflow's client builds on: search models and versions,
// latest versions per stage, download URIs.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "vouch/service/registry.h"

namespace vouch::service {
namespace {

constexpr int kMaxModelResults = 1000;      // MLflow's registered-model search threshold
constexpr int kMaxVersionResults = 200000;  // MLflow's model-version search threshold
constexpr int kScanBatch = 1000;

bool CompareText(std::string_view value, const Condition& c) {
  const std::string& want = c.values.empty() ? std::string() : c.values[0];
  switch (c.op) {
    case Comparator::kEq:
      return value == want;
    case Comparator::kNe:
      return value != want;
    case Comparator::kLike:
      return LikeMatch(value, want, false);
    case Comparator::kILike:
      return LikeMatch(value, want, true);
    case Comparator::kIn:
      return std::find(c.values.begin(), c.values.end(), value) != c.values.end();
    default:
      return false;
  }
}

bool CompareNumber(int64_t value, const Condition& c) {
  switch (c.op) {
    case Comparator::kEq:
      return value == c.number;
    case Comparator::kNe:
      return value != c.number;
    case Comparator::kLt:
      return value < c.number;
    case Comparator::kLe:
      return value <= c.number;
    case Comparator::kGt:
      return value > c.number;
    case Comparator::kGe:
      return value >= c.number;
    default:
      return false;
  }
}

// A tag condition needs the tag, as in MLflow's SQL stores, except the prompt marker: a missing
// one reads as "false", so the client's hidden filter (`mlflow.prompt.is_prompt` != 'true') keeps
// ordinary models.
bool MatchTag(const StringMap& tags, const Condition& c) {
  auto it = tags.find(c.tag_key);
  if (it == tags.end()) return c.tag_key == kPromptTag && CompareText("false", c);
  return CompareText(it->second, c);
}

bool NamesPromptTag(const std::vector<Condition>& filter) {
  return std::any_of(filter.begin(), filter.end(), [](const Condition& c) {
    return c.key == SearchKey::kTag && c.tag_key == kPromptTag;
  });
}

// Ids of the prompts a search leaves out: none when the filter names the prompt tag itself.
template <typename LoadIds>
Result<std::set<int64_t>> ExcludedPrompts(const std::vector<Condition>& filter, LoadIds load) {
  std::set<int64_t> out;
  if (NamesPromptTag(filter)) return out;
  VOUCH_ASSIGN_OR_RETURN(std::vector<int64_t> ids, load());
  out.insert(ids.begin(), ids.end());
  return out;
}

Status CheckModelConditions(const std::vector<Condition>& filter) {
  for (const auto& c : filter) {
    if (c.key != SearchKey::kName && c.key != SearchKey::kTag) {
      return InvalidArgument("registered models can be filtered by name and tags only");
    }
    bool list_op = c.op == Comparator::kIn || c.op == Comparator::kNotIn;
    if (c.op == Comparator::kLt || c.op == Comparator::kLe || c.op == Comparator::kGt ||
        c.op == Comparator::kGe || (list_op && c.key != SearchKey::kName)) {
      return InvalidArgument(
          "registered model filters compare with =, !=, LIKE or ILIKE (and names with IN, NOT IN)");
    }
  }
  return OkStatus();
}

Status CheckVersionConditions(const std::vector<Condition>& filter) {
  for (const auto& c : filter) {
    bool numeric_op = c.op == Comparator::kLt || c.op == Comparator::kLe ||
                      c.op == Comparator::kGt || c.op == Comparator::kGe;
    if (c.key == SearchKey::kVersionNumber) {
      if (c.op == Comparator::kLike || c.op == Comparator::kILike || c.op == Comparator::kIn ||
          c.op == Comparator::kNotIn) {
        return InvalidArgument("version_number compares with =, !=, <, <=, >, >= only");
      }
    } else if (numeric_op) {
      return InvalidArgument("only version_number compares with <, <=, >, >=");
    } else if ((c.op == Comparator::kIn || c.op == Comparator::kNotIn) &&
               c.key != SearchKey::kRunId && c.key != SearchKey::kName) {
      return InvalidArgument("IN and NOT IN are supported for name and run_id only");
    }
  }
  return OkStatus();
}

bool HasTagCondition(const std::vector<Condition>& filter) {
  return std::any_of(filter.begin(), filter.end(),
                     [](const Condition& c) { return c.key == SearchKey::kTag; });
}

// Tag conditions read `m.tags`, so rows must carry their details when the filter has any.
bool MatchModel(const Model& m, const std::vector<Condition>& filter) {
  for (const auto& c : filter) {
    bool ok = c.key == SearchKey::kName ? CompareText(m.name, c) : MatchTag(m.tags, c);
    if (!ok) return false;
  }
  return true;
}

bool MatchVersion(const ModelVersion& v, const std::vector<Condition>& filter) {
  for (const auto& c : filter) {
    bool ok = false;
    switch (c.key) {
      case SearchKey::kName:
        ok = CompareText(v.model_name, c);
        break;
      case SearchKey::kTag:
        ok = MatchTag(v.tags, c);
        break;
      case SearchKey::kRunId:
        ok = CompareText(v.run_id, c);
        break;
      case SearchKey::kSourcePath:
        ok = CompareText(v.source, c);
        break;
      case SearchKey::kVersionNumber:
        ok = CompareNumber(v.version, c);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

// -1, 0, 1 for a field of two items.
template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// The fields searches order by; a model has no version number.
struct SortFields {
  std::string_view name;
  TimeMs created_ms;
  TimeMs updated_ms;
  int64_t version;
};
SortFields FieldsOf(const Model& m) { return {m.name, m.created_ms, m.updated_ms, 0}; }
SortFields FieldsOf(const ModelVersion& v) {
  return {v.model_name, v.created_ms, v.updated_ms, v.version};
}

// Sorts by `order`, then (as MLflow breaks ties) name ascending, then version descending.
template <typename T>
void SortByOrder(std::vector<T>& items, const std::vector<OrderBy>& order) {
  std::stable_sort(items.begin(), items.end(), [&](const T& x, const T& y) {
    SortFields a = FieldsOf(x), b = FieldsOf(y);
    for (const auto& o : order) {
      int c = 0;
      switch (o.field) {
        case OrderField::kName:
          c = Cmp(a.name, b.name);
          break;
        case OrderField::kCreationTime:
          c = Cmp(a.created_ms, b.created_ms);
          break;
        case OrderField::kLastUpdatedTime:
          c = Cmp(a.updated_ms, b.updated_ms);
          break;
        case OrderField::kVersionNumber:
          c = Cmp(a.version, b.version);
          break;
      }
      if (c != 0) return o.ascending ? c < 0 : c > 0;
    }
    if (a.name != b.name) return a.name < b.name;
    return a.version > b.version;
  });
}

const Condition* EqualityOn(const std::vector<Condition>& filter, SearchKey key) {
  for (const auto& c : filter) {
    if (c.key == key && c.op == Comparator::kEq) return &c;
  }
  return nullptr;
}

}  // namespace

Result<int64_t> RegistryService::DecodeOffset(const std::string& token) const {
  if (token.empty()) return int64_t{0};
  VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens_.Decode(token));
  auto it = pos.find("offset");
  if (it == pos.end() || !it->value().is_int64() || it->value().get_int64() < 0) {
    return InvalidArgument("invalid page token");
  }
  return it->value().get_int64();
}

template <typename T>
Page<T> RegistryService::Slice(std::vector<T> all, int64_t offset, int limit) const {
  Page<T> page;
  if (offset >= static_cast<int64_t>(all.size())) return page;
  auto first = all.begin() + offset;
  auto last = all.size() - offset > static_cast<size_t>(limit) ? first + limit : all.end();
  page.items.assign(std::make_move_iterator(first), std::make_move_iterator(last));
  if (last != all.end()) page.next_page_token = tokens_.Encode({{"offset", offset + limit}});
  return page;
}

Result<Page<Model>> RegistryService::SearchModels(const RequestContext& ctx,
                                                  const SearchRequest& request) {
  VOUCH_TRY(Authorize(ctx));
  if (request.max_results < 1 || request.max_results > kMaxModelResults) {
    return InvalidArgument(fmt::format(
        "Invalid value for request parameter max_results. It must be at most {}, but got value {}",
        kMaxModelResults, request.max_results));
  }
  VOUCH_TRY(CheckModelConditions(request.filter));
  for (const auto& o : request.order_by) {
    if (o.field == OrderField::kVersionNumber) {
      return InvalidArgument("registered models cannot be ordered by version_number");
    }
  }
  VOUCH_ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(request.page_token));
  // Rows first (name and times), details only where a tag condition needs them, and the page's
  // details and latest versions last, all in one snapshot.
  const bool need_tags = HasTagCondition(request.filter);
  std::vector<Model> matched;
  Page<Model> page;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    matched.clear();
    VOUCH_ASSIGN_OR_RETURN(std::set<int64_t> prompts, ExcludedPrompts(request.filter, [&] {
                             return tx.ModelIdsWithTag(kPromptTag, "true");
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    auto keep = [&](Model& m) -> Status {
      if (prompts.contains(m.id) || !readable(m.id)) return OkStatus();
      if (need_tags) VOUCH_TRY(tx.LoadModelDetails(m));
      if (MatchModel(m, request.filter)) matched.push_back(std::move(m));
      return OkStatus();
    };
    if (const Condition* eq = EqualityOn(request.filter, SearchKey::kName)) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel(eq->values.at(0)));
      if (m) VOUCH_TRY(keep(*m));
    } else {
      std::string after;
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(std::vector<Model> batch, tx.ListModelRows(after, kScanBatch));
        for (auto& m : batch) VOUCH_TRY(keep(m));
        if (static_cast<int>(batch.size()) < kScanBatch) break;
        after = batch.back().name;
      }
    }
    SortByOrder(matched, request.order_by);
    page = Slice(std::move(matched), offset, request.max_results);
    for (auto& m : page.items) {
      VOUCH_TRY(tx.LoadModelDetails(m));
      VOUCH_ASSIGN_OR_RETURN(m.latest_versions, LatestIn(tx, m.id, {}));
    }
    return OkStatus();
  }));
  return page;
}

Result<Page<ModelVersion>> RegistryService::SearchVersions(const RequestContext& ctx,
                                                           const SearchRequest& request) {
  VOUCH_TRY(Authorize(ctx));
  if (request.max_results < 1 || request.max_results > kMaxVersionResults) {
    return InvalidArgument(fmt::format(
        "Invalid value for request parameter max_results. It must be at most {}, but got value {}",
        kMaxVersionResults, request.max_results));
  }
  VOUCH_TRY(CheckVersionConditions(request.filter));
  VOUCH_ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(request.page_token));
  // Rows first; details only where a tag condition needs them, and for the page at the end.
  const bool need_tags = HasTagCondition(request.filter);
  std::vector<ModelVersion> matched;
  Page<ModelVersion> page;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    matched.clear();
    VOUCH_ASSIGN_OR_RETURN(std::set<int64_t> prompts, ExcludedPrompts(request.filter, [&] {
                             return tx.VersionIdsWithTag(kPromptTag, "true");
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    auto keep = [&](std::vector<ModelVersion>& batch) -> Status {
      for (auto& v : batch) {
        if (prompts.contains(v.id) || !readable(v.model_id)) continue;
        if (need_tags) VOUCH_TRY(tx.LoadVersionDetails(v));
        if (MatchVersion(v, request.filter)) matched.push_back(std::move(v));
      }
      return OkStatus();
    };
    VOUCH_TRY(ScanVersionCandidates(tx, request.filter, keep));
    SortByOrder(matched, request.order_by);
    page = Slice(std::move(matched), offset, request.max_results);
    for (auto& v : page.items) VOUCH_TRY(tx.LoadVersionDetails(v));
    return OkStatus();
  }));
  return page;
}

// The versions a filter can match, read through the narrowest index it allows: one model's
// versions for a name equality, the run_id index for run_id = or IN, else every live version.
Status RegistryService::ScanVersionCandidates(
    store::Tx& tx, const std::vector<Condition>& filter,
    const std::function<Status(std::vector<ModelVersion>&)>& keep) {
  if (const Condition* eq = EqualityOn(filter, SearchKey::kName)) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModel(eq->values.at(0)));
    if (!m) return OkStatus();
    int64_t after = 0;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(auto batch, tx.ListVersionRows(m->id, after, kScanBatch));
      if (batch.empty()) return OkStatus();
      after = batch.back().version;
      VOUCH_TRY(keep(batch));
    }
  }
  for (const auto& c : filter) {
    if (c.key != SearchKey::kRunId || (c.op != Comparator::kEq && c.op != Comparator::kIn)) {
      continue;
    }
    std::set<std::string> run_ids(c.values.begin(), c.values.end());
    for (const auto& id : run_ids) {
      VOUCH_ASSIGN_OR_RETURN(auto batch, tx.VersionRowsByRunId(id));
      VOUCH_TRY(keep(batch));
    }
    return OkStatus();
  }
  int64_t after = 0;
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(auto batch, tx.ListAllVersionRows(after, kScanBatch));
    if (batch.empty()) return OkStatus();
    after = batch.back().id;
    VOUCH_TRY(keep(batch));
  }
}

Result<std::vector<ModelVersion>> RegistryService::LatestVersions(
    const RequestContext& ctx, std::string_view name, const std::vector<std::string>& stages) {
  VOUCH_TRY(Authorize(ctx));
  std::set<Stage> wanted;
  for (const auto& s : stages) {
    VOUCH_ASSIGN_OR_RETURN(Stage stage, ParseStage(s));
    wanted.insert(stage);
  }
  std::vector<ModelVersion> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(Model m, ModelFor(tx, ctx, name, Permission::kRead, true));
    VOUCH_ASSIGN_OR_RETURN(out, LatestIn(tx, m.id, wanted));
    return OkStatus();
  }));
  return out;
}

Result<std::vector<ModelVersion>> RegistryService::LatestIn(store::Tx& tx, int64_t model_id,
                                                            const std::set<Stage>& wanted) {
  std::vector<ModelVersion> out;
  VOUCH_ASSIGN_OR_RETURN(auto latest, tx.LatestVersionPerStage(model_id));
  for (const auto& [stage, version] : latest) {
    if (!wanted.empty() && !wanted.contains(stage)) continue;
    VOUCH_ASSIGN_OR_RETURN(std::optional<ModelVersion> v, tx.FindVersion(model_id, version));
    if (v) out.push_back(std::move(*v));
  }
  return out;
}

Result<std::string> RegistryService::DownloadUri(const RequestContext& ctx, std::string_view name,
                                                 int64_t version) {
  VOUCH_ASSIGN_OR_RETURN(ModelVersion v, GetVersion(ctx, name, version));
  return v.storage_location.empty() ? v.source : v.storage_location;
}

}  // namespace vouch::service

// RegistryService's searches and the reads MLflow's client builds on: search models and versions,
// latest versions per stage, download URIs.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <span>

#include "vouch/service/registry.h"

namespace vouch::service {
namespace {

constexpr int kMaxModelResults = 1000;      // MLflow's registered-model search threshold
constexpr int kMaxVersionResults = 200000;  // MLflow's model-version search threshold
constexpr int kScanBatch = 1000;
constexpr size_t kDetailBatch = 1000;  // versions whose details one LoadVersionDetailsOf reads
static_assert(kMaxModelResults <= static_cast<int>(kDetailBatch));

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

// Which conditions to test: those a row answers by itself, or those on tags, which need the row's
// details loaded. Rows are tested first, so details are loaded only for rows that can match.
enum class Conditions { kOnRow, kOnTags };

bool Applies(const Condition& c, Conditions which) {
  return (c.key == SearchKey::kTag) == (which == Conditions::kOnTags);
}

bool MatchModel(const Model& m, const std::vector<Condition>& filter, Conditions which) {
  for (const auto& c : filter) {
    if (!Applies(c, which)) continue;
    bool ok = c.key == SearchKey::kName ? CompareText(m.name, c) : MatchTag(m.tags, c);
    if (!ok) return false;
  }
  return true;
}

bool MatchVersion(const ModelVersion& v, const std::vector<Condition>& filter, Conditions which) {
  for (const auto& c : filter) {
    if (!Applies(c, which)) continue;
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

// The ids that can satisfy a tag equality of the filter, read through the tag tables at once (one
// query, ids only), so that a scan loads the details of those rows alone; nullopt when the filter
// has no such condition. Not for `prompt-tag = 'false'`, which a row without the tag satisfies.
template <typename LoadIds>
Result<std::optional<std::vector<int64_t>>> TagEqualityIds(const std::vector<Condition>& filter,
                                                           LoadIds load) {
  for (const auto& c : filter) {
    if (c.key != SearchKey::kTag || c.op != Comparator::kEq || c.values.empty()) continue;
    if (c.tag_key == kPromptTag && CompareText("false", c)) continue;
    VOUCH_ASSIGN_OR_RETURN(std::vector<int64_t> ids, load(c.tag_key, c.values[0]));
    std::sort(ids.begin(), ids.end());
    return std::optional<std::vector<int64_t>>(std::move(ids));
  }
  return std::optional<std::vector<int64_t>>();
}

bool MayMatch(const std::optional<std::vector<int64_t>>& ids, int64_t id) {
  return !ids || std::binary_search(ids->begin(), ids->end(), id);
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

// Whether `a` comes before `b` in `order`, then (as MLflow breaks ties) name ascending, then
// version descending: a total order on live models (names are unique) and on live versions.
bool Before(const SortFields& a, const SortFields& b, const std::vector<OrderBy>& order) {
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
}

// Where a page ended: the sort fields of its last item, which the page token carries, so the next
// page starts strictly after it whatever was created or deleted in between.
struct PagePosition {
  std::string name;
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
  int64_t version = 0;

  SortFields Fields() const { return {name, created_ms, updated_ms, version}; }
};

// The first `limit` items of everything offered that come after `after` in `order`, holding no
// more than limit + 1 of them at any time (a heap whose top is the last kept): what a search
// holds is its page, whatever the number of rows it reads. The heap orders slot numbers, not the
// items: a version is some 400 bytes of strings and maps, and each sift would move it (a quarter
// of a 100-version search's instructions went to moving versions about the heap). An item is moved
// into a slot when offered and out of it once, into the page.
template <typename T>
class PageCollector {
 public:
  PageCollector(const std::vector<OrderBy>& order, const std::optional<PagePosition>& after,
                int limit)
      : order_(order), after_(after), keep_(static_cast<size_t>(limit) + 1) {
    // A page of the default 200,000 versions grows its slots as they fill, not all at once.
    slots_.reserve(std::min<size_t>(keep_, 256));
    heap_.reserve(std::min<size_t>(keep_, 256));
  }

  // Whether an item with these fields would be kept; lets a scan skip loading what would not.
  bool Wants(const SortFields& f) const {
    if (after_ && !Before(after_->Fields(), f, order_)) return false;
    return heap_.size() < keep_ || Before(f, FieldsOf(last_kept()), order_);
  }
  void Offer(T&& item) {
    if (!Wants(FieldsOf(item))) return;
    if (heap_.size() < keep_) {
      heap_.push_back(slots_.size());
      slots_.push_back(std::move(item));
    } else {  // the item comes before the last kept, which it replaces
      std::pop_heap(heap_.begin(), heap_.end(), Less());
      slots_[heap_.back()] = std::move(item);
    }
    std::push_heap(heap_.begin(), heap_.end(), Less());
  }
  // Holds limit + 1 items: an item read later can only replace one of them.
  bool full() const { return heap_.size() == keep_; }
  // The last item kept (the heap's top); only when the heap is not empty.
  const T& last_kept() const { return slots_[heap_.front()]; }

  // The page in order, with a token for the next one when more items followed.
  Page<T> Take(const PageTokens& tokens) {
    std::sort_heap(heap_.begin(), heap_.end(), Less());
    Page<T> page;
    if (heap_.size() == keep_) {
      heap_.pop_back();
      SortFields last = FieldsOf(slots_[heap_.back()]);
      page.next_page_token = tokens.Encode({{"name", last.name},
                                            {"created_ms", last.created_ms},
                                            {"updated_ms", last.updated_ms},
                                            {"version", last.version}});
    }
    // Items offered in the page's order (a walk in the search's own order) are in their slots
    // already: the page takes the slots whole rather than moving each item out.
    bool in_place = true;
    for (size_t i = 0; i < heap_.size() && in_place; ++i) in_place = heap_[i] == i;
    if (in_place) {
      slots_.resize(heap_.size());
      page.items = std::move(slots_);
    } else {
      page.items.reserve(heap_.size());
      for (size_t slot : heap_) page.items.push_back(std::move(slots_[slot]));
    }
    heap_.clear();
    slots_.clear();
    return page;
  }

 private:
  auto Less() const {
    return [this](size_t a, size_t b) {
      return Before(FieldsOf(slots_[a]), FieldsOf(slots_[b]), order_);
    };
  }

  const std::vector<OrderBy>& order_;
  const std::optional<PagePosition> after_;
  const size_t keep_;
  std::vector<T> slots_;      // the items kept, in the order they came
  std::vector<size_t> heap_;  // indexes into slots_, a max-heap by Less
};

// Whether items in `order` come in name order (ascending), as a scan of models by name reads them.
bool NameOrdered(const std::vector<OrderBy>& order) {
  return order.empty() || (order[0].field == OrderField::kName && order[0].ascending);
}

const Condition* EqualityOn(const std::vector<Condition>& filter, SearchKey key) {
  for (const auto& c : filter) {
    if (c.key == key && c.op == Comparator::kEq) return &c;
  }
  return nullptr;
}

// The position a search's page token carries (PageCollector::Take); none for the first page.
Result<std::optional<PagePosition>> DecodePosition(const PageTokens& tokens,
                                                   const std::string& token) {
  if (token.empty()) return std::optional<PagePosition>();
  VOUCH_ASSIGN_OR_RETURN(json::object pos, tokens.Decode(token));
  const json::value* name = pos.if_contains("name");
  const json::value* created = pos.if_contains("created_ms");
  const json::value* updated = pos.if_contains("updated_ms");
  const json::value* version = pos.if_contains("version");
  if (name == nullptr || !name->is_string() || created == nullptr || !created->is_int64() ||
      updated == nullptr || !updated->is_int64() || version == nullptr || !version->is_int64()) {
    return InvalidArgument("invalid page token");
  }
  return std::optional<PagePosition>(PagePosition{.name = std::string(name->get_string()),
                                                  .created_ms = created->get_int64(),
                                                  .updated_ms = updated->get_int64(),
                                                  .version = version->get_int64()});
}

// Which way one model's versions come in `order`: by number, descending (true) or ascending
// (false); nullopt when a time orders them first. Names are equal within a model, and the
// tie-break is version descending.
std::optional<bool> DescendingWithinModel(const std::vector<OrderBy>& order) {
  for (const auto& o : order) {
    if (o.field == OrderField::kName) continue;
    if (o.field == OrderField::kVersionNumber) return !o.ascending;
    return std::nullopt;
  }
  return true;
}

bool NameMatches(std::string_view name, const std::vector<Condition>& filter) {
  for (const auto& c : filter) {
    if (c.key == SearchKey::kName && !CompareText(name, c)) return false;
  }
  return true;
}

// Walks versions in the search's own order, so that it stops once the page is full rather than
// reading and sorting every match (issue 10): one model's versions by number for a name equality
// (only one run's, through its index, when the filter also has a run_id equality), or every
// model by name and each one's versions by number when the order is by name first. Returns false,
// having read nothing, when the order allows neither; the caller then scans every candidate.
using OfferBatch = std::function<Status(std::vector<ModelVersion>&)>;

Result<bool> WalkVersionsInOrder(store::Tx& tx, const SearchRequest& request,
                                 const std::optional<PagePosition>& after,
                                 const PageCollector<ModelVersion>& collector,
                                 const OfferBatch& offer) {
  auto full = [&] { return collector.full(); };
  const Condition* name_eq = EqualityOn(request.filter, SearchKey::kName);
  // Without a name, a run_id condition reads its runs' versions through the run_id index instead.
  if (name_eq == nullptr &&
      std::any_of(request.filter.begin(), request.filter.end(), [](const Condition& c) {
        return c.key == SearchKey::kRunId && (c.op == Comparator::kEq || c.op == Comparator::kIn);
      })) {
    return false;
  }
  const Condition* run_eq = name_eq ? EqualityOn(request.filter, SearchKey::kRunId) : nullptr;
  std::optional<std::string_view> run_id;
  if (run_eq != nullptr && !run_eq->values.empty()) run_id = run_eq->values[0];
  // Batches start at about a page and grow, so a page costs about a page however many rows follow.
  const int first_batch = std::min(kScanBatch, request.max_results + 1);
  if (!request.order_by.empty() && request.order_by[0].field == OrderField::kLastUpdatedTime &&
      !request.order_by[0].ascending) {
    // Newest update first (MLflow's default order): every version, one model's or one run's of
    // it, by (updated_ms, id) descending from the previous page's last update on. Rows updated at
    // the same time come in id order, not the page's, so the walk goes on through the last kept
    // row's time and stops at the first row older than it.
    std::optional<int64_t> model_id;
    if (name_eq != nullptr) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(name_eq->values.at(0)));
      if (!m) return true;
      model_id = m->id;
    }
    TimeMs before_ms = after ? after->updated_ms : std::numeric_limits<TimeMs>::max();
    int64_t before_id = std::numeric_limits<int64_t>::max();
    // The first batch reads the page, its look-ahead row and one row more: unless that row shares
    // the look-ahead row's millisecond it is older, and the walk stops in one statement.
    int batch_size = std::min(kScanBatch, first_batch + 1);
    bool tail = false;
    while (true) {
      VOUCH_ASSIGN_OR_RETURN(auto batch,
                             tx.ListVersionRowsByUpdate(model_id, model_id ? run_id : std::nullopt,
                                                        before_ms, before_id, batch_size));
      if (batch.empty()) break;
      before_ms = batch.back().updated_ms;
      before_id = batch.back().id;
      const bool last = static_cast<int>(batch.size()) < batch_size;
      VOUCH_TRY(offer(batch));
      if (last || (full() && before_ms < collector.last_kept().updated_ms)) break;
      // Once the page is full only rows of the last kept row's millisecond can still enter it, and
      // they come next: read on a row at a time, growing, not a doubled batch of rows that are
      // older (a large registry read 303 rows for a page of 100).
      if (full() && !tail) {
        tail = true;
        batch_size = 1;
      } else {
        batch_size = std::min(kScanBatch, batch_size * 2);
      }
    }
    return true;
  }
  const std::optional<bool> descending = DescendingWithinModel(request.order_by);
  if (!descending) return false;
  if (name_eq == nullptr && !NameOrdered(request.order_by)) return false;
  // The version numbers the filter allows, [low, high]: a walk starts and stops there.
  int64_t low = std::numeric_limits<int64_t>::min();
  int64_t high = std::numeric_limits<int64_t>::max();
  for (const auto& c : request.filter) {
    if (c.key != SearchKey::kVersionNumber) continue;
    const int64_t n = c.number;
    const int64_t kMax = std::numeric_limits<int64_t>::max();
    const int64_t kMin = std::numeric_limits<int64_t>::min();
    if (c.op == Comparator::kEq || c.op == Comparator::kGe) low = std::max(low, n);
    if (c.op == Comparator::kEq || c.op == Comparator::kLe) high = std::min(high, n);
    if (c.op == Comparator::kGt) low = std::max(low, n == kMax ? kMax : n + 1);
    if (c.op == Comparator::kLt) high = std::min(high, n == kMin ? kMin : n - 1);
  }
  auto walk_model = [&](const Model& m) -> Status {
    // Strictly past `from`: just beyond the allowed range, or the previous page's last version,
    // which is where a page token's position lies within a model.
    int64_t from = *descending ? (high == std::numeric_limits<int64_t>::max() ? high : high + 1)
                               : (low == std::numeric_limits<int64_t>::min() ? low : low - 1);
    if (after && after->name == m.name) {
      from = *descending ? std::min(from, after->version) : std::max(from, after->version);
    }
    int batch_size = first_batch;
    while (!full() && (*descending ? from > low : from < high)) {
      VOUCH_ASSIGN_OR_RETURN(
          auto batch, tx.ListVersionRowsInOrder(m.id, run_id, from, *descending, batch_size));
      if (batch.empty()) return OkStatus();
      from = batch.back().version;
      const bool last = static_cast<int>(batch.size()) < batch_size;
      VOUCH_TRY(offer(batch));
      if (last) return OkStatus();
      batch_size = std::min(kScanBatch, batch_size * 2);
    }
    return OkStatus();
  };
  if (name_eq != nullptr) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(name_eq->values.at(0)));
    if (m) VOUCH_TRY(walk_model(*m));
    return true;
  }
  // Every model in name order, from the previous page's last model on (itself included).
  std::string from_name;
  if (after) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(after->name));
    if (m && NameMatches(m->name, request.filter)) VOUCH_TRY(walk_model(*m));
    from_name = after->name;
  }
  int batch_size = 16;
  while (!full()) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<Model> models, tx.ListModelRows(from_name, batch_size));
    if (models.empty()) break;
    from_name = models.back().name;
    for (const auto& m : models) {
      if (full()) break;
      if (NameMatches(m.name, request.filter)) VOUCH_TRY(walk_model(m));
    }
    if (static_cast<int>(models.size()) < batch_size) break;
    batch_size = std::min(kScanBatch, batch_size * 4);
  }
  return true;
}

}  // namespace

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
  VOUCH_ASSIGN_OR_RETURN(std::optional<PagePosition> after,
                         DecodePosition(tokens_, request.page_token));
  // Rows are read in batches and only the page is kept (PageCollector); details are loaded where a
  // tag condition needs them, and for the page at the end, all in one snapshot.
  Page<Model> page;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    PageCollector<Model> collector(request.order_by, after, request.max_results);
    VOUCH_ASSIGN_OR_RETURN(std::set<int64_t> prompts, ExcludedPrompts(request.filter, [&] {
                             return tx.ModelIdsWithTag(kPromptTag, "true");
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto tagged, TagEqualityIds(request.filter, [&](auto& key, auto& value) {
                             return tx.ModelIdsWithTag(key, value);
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    auto offer = [&](Model& m) -> Status {
      if (prompts.contains(m.id) || !MayMatch(tagged, m.id) || !readable(m.id)) return OkStatus();
      if (!MatchModel(m, request.filter, Conditions::kOnRow)) return OkStatus();
      if (!collector.Wants(FieldsOf(m))) return OkStatus();
      if (HasTagCondition(request.filter)) {
        VOUCH_TRY(tx.LoadModelDetails(m));
        if (!MatchModel(m, request.filter, Conditions::kOnTags)) return OkStatus();
      }
      collector.Offer(std::move(m));
      return OkStatus();
    };
    if (const Condition* eq = EqualityOn(request.filter, SearchKey::kName)) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(eq->values.at(0)));
      if (m) VOUCH_TRY(offer(*m));
    } else {
      // Rows come in name order: in a search ordered by name, the page starts after the last
      // name of the previous one and is complete once it holds one more than it shows.
      // In name order, batches start at about a page and grow (as the version walk's), so that a
      // page of 10 among 20,000 models reads about 10 rows, not a batch of 1,000; in any other
      // order every row is needed, in full batches.
      const bool by_name = NameOrdered(request.order_by);
      std::string from = by_name && after ? after->name : std::string();
      int batch_size = by_name ? std::min(kScanBatch, request.max_results + 1) : kScanBatch;
      while (true) {
        VOUCH_ASSIGN_OR_RETURN(std::vector<Model> batch, tx.ListModelRows(from, batch_size));
        if (batch.empty()) break;
        // Taken before the rows are offered, which moves them away: a moved-from name would
        // start the scan over, forever (issue 9, section 10).
        from = batch.back().name;
        for (auto& m : batch) VOUCH_TRY(offer(m));
        if (static_cast<int>(batch.size()) < batch_size || (by_name && collector.full())) break;
        batch_size = std::min(kScanBatch, batch_size * 2);
      }
    }
    page = collector.Take(tokens_);
    // The page's tags, aliases and latest versions in a few statements, not some fifteen a model
    // (a page holds at most kMaxModelResults = kDetailBatch models).
    return tx.LoadModelDetailsOf(page.items);
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
  VOUCH_ASSIGN_OR_RETURN(std::optional<PagePosition> after,
                         DecodePosition(tokens_, request.page_token));
  // As SearchModels: rows in batches, only the page kept, details where tags are tested and for
  // the page at the end.
  Page<ModelVersion> page;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    PageCollector<ModelVersion> collector(request.order_by, after, request.max_results);
    VOUCH_ASSIGN_OR_RETURN(std::set<int64_t> prompts, ExcludedPrompts(request.filter, [&] {
                             return tx.VersionIdsWithTag(kPromptTag, "true");
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto tagged, TagEqualityIds(request.filter, [&](auto& key, auto& value) {
                             return tx.VersionIdsWithTag(key, value);
                           }));
    VOUCH_ASSIGN_OR_RETURN(auto readable, authz_.ReadableModels(tx, ctx));
    auto offer = [&](std::vector<ModelVersion>& batch) -> Status {
      for (auto& v : batch) {
        if (prompts.contains(v.id) || !MayMatch(tagged, v.id) || !readable(v.model_id)) continue;
        if (!MatchVersion(v, request.filter, Conditions::kOnRow)) continue;
        if (!collector.Wants(FieldsOf(v))) continue;
        if (HasTagCondition(request.filter)) {
          VOUCH_TRY(tx.LoadVersionDetails(v));
          if (!MatchVersion(v, request.filter, Conditions::kOnTags)) continue;
        }
        collector.Offer(std::move(v));
      }
      return OkStatus();
    };
    VOUCH_ASSIGN_OR_RETURN(bool walked, WalkVersionsInOrder(tx, request, after, collector, offer));
    if (!walked) VOUCH_TRY(ScanVersionCandidates(tx, request.filter, offer));
    page = collector.Take(tokens_);
    // Four statements per thousand versions, not four per version: a page may hold 200,000.
    std::span<ModelVersion> rest(page.items);
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(rest.size(), kDetailBatch);
      VOUCH_TRY(tx.LoadVersionDetailsOf(rest.first(n)));
      rest = rest.subspan(n);
    }
    return OkStatus();
  }));
  return page;
}

// The versions a filter can match, read through the narrowest index it allows, in batches: one
// model's versions for a name equality, the run_id index for run_id = or IN, else every live
// version.
Status RegistryService::ScanVersionCandidates(
    store::Tx& tx, const std::vector<Condition>& filter,
    const std::function<Status(std::vector<ModelVersion>&)>& keep) {
  if (const Condition* eq = EqualityOn(filter, SearchKey::kName)) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<Model> m, tx.FindModelRow(eq->values.at(0)));
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

#include "vouch/audit/verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <span>
#include <utility>

#include "vouch/audit/tree.h"
#include "vouch/domain/audit_event.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::audit {
namespace {

constexpr int kPageSize = 1000;
constexpr size_t kDigestBytes = 32;

Status Bad(int64_t seq, std::string_view why) {
  return {StatusCode::kDataLoss, fmt::format("audit event {}: {}", seq, why)};
}

// The checks on one stored event, whose position in the log says it must be `want_seq`.
Status CheckEvent(const store::StoredAuditEvent& e, int64_t want_seq) {
  if (e.seq != want_seq) {
    return e.seq > want_seq ? Bad(want_seq, fmt::format("missing (the next stored is {})", e.seq))
                            : Bad(e.seq, fmt::format("out of order (expected {})", want_seq));
  }
  return CheckCanonicalEvent(e.body, e.seq);
}

}  // namespace

Status CheckCanonicalEvent(std::string_view body, int64_t seq) {
  Result<json::value> parsed = ParseCanonicalJson(body);
  if (!parsed.ok()) return Bad(seq, "the body is not JSON: " + parsed.status().message());
  Result<std::string> canonical = CanonicalJson(*parsed);
  if (!canonical.ok()) {
    return Bad(seq, "the body has no canonical form: " + canonical.status().message());
  }
  if (*canonical != body) return Bad(seq, "the body is not in canonical (RFC 8785) form");
  const json::object* object = parsed->if_object();
  const json::value* said = object != nullptr ? object->if_contains("seq") : nullptr;
  if (said == nullptr || !(said->is_int64() || said->is_uint64())) {
    return Bad(seq, "the body has no integer \"seq\"");
  }
  const bool same = said->is_int64() ? said->get_int64() == seq
                                     : said->get_uint64() == static_cast<uint64_t>(seq);
  if (!same) {
    return Bad(seq, fmt::format("the body says seq {}", json::serialize(*said)));
  }
  // Every schema this binary knows stays valid; a body without one is judged by the checks above.
  const json::value* schema = object->if_contains("schema");
  if (schema != nullptr) {
    const bool known = schema->is_int64() && schema->get_int64() >= kOldestAuditSchemaVersion &&
                       schema->get_int64() <= kAuditSchemaVersion;
    if (!known) {
      return Bad(seq, fmt::format("the body has schema {}, which this vouch does not know",
                                  json::serialize(*schema)));
    }
  }
  return OkStatus();
}

// ---- The verification engine

std::string_view FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kAltered:
      return "altered";
    case FindingKind::kMissing:
      return "missing";
    case FindingKind::kReordered:
      return "reordered";
    case FindingKind::kAppendedOutOfOrder:
      return "appended_out_of_order";
    case FindingKind::kNotCanonical:
      return "not_canonical";
    case FindingKind::kTruncated:
      return "truncated";
    case FindingKind::kSignatureInvalid:
      return "signature_invalid";
    case FindingKind::kUnknownKey:
      return "unknown_key";
    case FindingKind::kInconsistent:
      return "inconsistent";
    case FindingKind::kMalformed:
      return "malformed";
  }
  return "malformed";
}

std::string VerificationReport::RootHex() const { return HexEncode(tlog::HashBytes(root)); }
std::string VerificationReport::RootBase64() const { return Base64Encode(tlog::HashBytes(root)); }

std::optional<int64_t> ScanSeq(std::string_view body) {
  if (body.empty() || body[0] != '{') return std::nullopt;
  const char* const end = body.data() + body.size();
  int depth = 0;
  bool expect_key = false;
  for (const char* c = body.data(); c < end; ++c) {
    switch (*c) {
      case '"': {
        // The closing quote: the next '"' not escaped, i.e. not after an odd run of backslashes.
        // Found with memchr, as strings are most of an event's bytes.
        const char* start = c + 1;
        const char* close = start;
        while (true) {
          close = static_cast<const char*>(std::memchr(close, '"', end - close));
          if (close == nullptr) return std::nullopt;
          const char* b = close;
          while (b > start && b[-1] == '\\') --b;
          if ((close - b) % 2 == 0) break;
          ++close;
        }
        if (depth == 1 && expect_key) {
          expect_key = false;
          if (std::string_view(start, close - start) == "seq" && close + 1 < end &&
              close[1] == ':') {
            int64_t value = 0;
            const char* digits = close + 2;
            auto [after, ec] = std::from_chars(digits, end, value);
            if (ec != std::errc() || after == digits || after >= end ||
                (*after != ',' && *after != '}')) {
              return std::nullopt;
            }
            return value;
          }
        }
        c = close;
        break;
      }
      case '{':
        ++depth;
        expect_key = depth == 1;
        break;
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        --depth;
        break;
      case ',':
        if (depth == 1) expect_key = true;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

namespace {

constexpr size_t kMaxGapsTracked = 100'000;
constexpr int kLeafBatch = tlog::kTileWidth;

// "name+keyid" of each signature line of a signed note, for naming keys no one trusts.
std::vector<std::string> SignerNames(std::string_view note) {
  std::vector<std::string> out;
  const size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) return out;
  std::string_view rest = note.substr(blank + 2);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.starts_with(tlog::kNoteSignaturePrefix)) continue;
    line.remove_prefix(tlog::kNoteSignaturePrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    std::optional<std::string> raw = Base64Decode(line.substr(space + 1));
    std::string id = raw && raw->size() >= 4 ? HexEncode(raw->substr(0, 4)) : "?";
    out.push_back(fmt::format("{}+{}", line.substr(0, space), id));
  }
  return out;
}

std::string HashText(const tlog::Hash& h) { return Base64Encode(tlog::HashBytes(h)); }

}  // namespace

LogVerifier::LogVerifier(EngineOptions options) : options_(std::move(options)) {
  verifiers_ = options_.trusted_keys.empty() ? options_.published_keys : options_.trusted_keys;
  if (options_.chain_digest) chain_.emplace();
}

void LogVerifier::Record(FindingKind kind, int64_t seq, std::string message) {
  if (static_cast<int>(report_.findings.size()) >= options_.max_findings) {
    ++report_.findings_dropped;
    return;
  }
  report_.findings.push_back({kind, seq, std::move(message)});
}

void LogVerifier::AddFinding(FindingKind kind, int64_t seq, std::string message) {
  Record(kind, seq, std::move(message));
}

std::string LogVerifier::Position(uint64_t position) const {
  if (options_.position_name.empty()) return fmt::format("position {}", position);
  return fmt::format("{} {}", options_.position_name, position);
}

namespace {

// Opens a checkpoint with `verifiers`; a finding's kind and message when it does not open.
struct OpenResult {
  std::optional<tlog::Checkpoint> checkpoint;
  std::string signed_by;
  FindingKind kind = FindingKind::kMalformed;
  std::string problem;
};

OpenResult OpenSource(const CheckpointSource& c, std::span<const tlog::Verifier> verifiers,
                      bool trusted_given) {
  OpenResult out;
  Result<tlog::OpenedCheckpoint> opened = tlog::OpenCheckpoint(c.note, verifiers);
  if (opened.ok()) {
    out.checkpoint = opened->checkpoint;
    std::vector<std::string> names;
    for (const tlog::NoteSignature& s : opened->note.verified) {
      names.push_back(fmt::format("{}+{:08x}", s.name, s.key_id));
    }
    out.signed_by = fmt::format("{}", fmt::join(names, ", "));
    return out;
  }
  std::vector<std::string> signers = SignerNames(c.note);
  const std::string by = signers.empty() ? "no one" : fmt::format("{}", fmt::join(signers, ", "));
  switch (opened.status().code()) {
    case StatusCode::kUnauthenticated:
      out.kind = FindingKind::kUnknownKey;
      out.problem = fmt::format("checkpoint {} is signed by an unknown key: {} (not among the {})",
                                c.where, by, trusted_given ? "trusted keys" : "published keys");
      break;
    case StatusCode::kPermissionDenied:
      out.kind = FindingKind::kSignatureInvalid;
      out.problem = fmt::format("checkpoint {}: the signature is invalid ({}): {}", c.where, by,
                                opened.status().message());
      break;
    default:
      out.kind = FindingKind::kMalformed;
      out.problem =
          fmt::format("checkpoint {} cannot be read: {}", c.where, opened.status().message());
      break;
  }
  return out;
}

}  // namespace

void LogVerifier::AddCheckpoint(const CheckpointSource& checkpoint) {
  ++report_.checkpoints;
  OpenResult opened = OpenSource(checkpoint, verifiers_, !options_.trusted_keys.empty());
  if (!opened.checkpoint) {
    Record(opened.kind, 0, std::move(opened.problem));
    return;
  }
  Pending p{opened.checkpoint->size, opened.checkpoint->root, checkpoint.where,
            std::move(opened.signed_by), false};
  pending_.insert(std::upper_bound(pending_.begin() + static_cast<std::ptrdiff_t>(next_pending_),
                                   pending_.end(), p.size,
                                   [](uint64_t size, const Pending& q) { return size < q.size; }),
                  std::move(p));
  if (report_.events == 0) AtSize(0);
}

void LogVerifier::SetSavedCheckpoint(const CheckpointSource& checkpoint) {
  OpenResult opened = OpenSource(checkpoint, verifiers_, !options_.trusted_keys.empty());
  if (!opened.checkpoint) {
    Record(opened.kind, 0, "the saved " + opened.problem);
    return;
  }
  Pending p{opened.checkpoint->size, opened.checkpoint->root, checkpoint.where,
            std::move(opened.signed_by), true};
  pending_.insert(std::upper_bound(pending_.begin() + static_cast<std::ptrdiff_t>(next_pending_),
                                   pending_.end(), p.size,
                                   [](uint64_t size, const Pending& q) { return size < q.size; }),
                  std::move(p));
  if (report_.events == 0) AtSize(0);
}

void LogVerifier::SetLeafHashReader(LeafHashReader reader) { leaf_reader_ = std::move(reader); }

void LogVerifier::AddPublishedKey(const tlog::Verifier& key) {
  options_.published_keys.push_back(key);
  if (options_.trusted_keys.empty()) verifiers_.push_back(key);
}

void LogVerifier::SetExpectedCount(uint64_t count) { expected_count_ = count; }

void LogVerifier::CheckLeafReference(uint64_t index, const tlog::Hash& leaf, bool in_place) {
  if (!leaf_reader_ || leaf_reader_failed_) return;
  if (index < leaf_cache_first_ || index >= leaf_cache_first_ + leaf_cache_.size()) {
    leaf_cache_first_ = index - index % kLeafBatch;
    Result<std::vector<tlog::Hash>> got = leaf_reader_(leaf_cache_first_, kLeafBatch);
    if (!got.ok()) {
      leaf_reader_failed_ = true;
      Record(FindingKind::kMalformed, 0,
             fmt::format("the stored tree's leaf hashes cannot be read from leaf {}: {}",
                         leaf_cache_first_, got.status().message()));
      return;
    }
    leaf_cache_ = std::move(*got);
  }
  const uint64_t offset = index - leaf_cache_first_;
  if (offset >= leaf_cache_.size()) {
    leaf_reader_failed_ = true;
    Record(FindingKind::kAppendedOutOfOrder, static_cast<int64_t>(index + 1),
           fmt::format("event {} and any after it are not in the stored tree (it holds {} "
                       "leaves): appended outside vouch's append path",
                       index + 1, index));
    return;
  }
  const tlog::Hash& stored = leaf_cache_[offset];
  if (reference_is_edge_ && stored == leaf) {
    // The stored tree so far is the events' own: edge_ serves for both, one node hash saved.
  } else {
    if (reference_is_edge_) {
      reference_edge_ = edge_;  // edge_ does not hold this event yet
      reference_is_edge_ = false;
    }
    reference_edge_.Append(stored);
  }
  if (in_place && stored != leaf) {
    if (first_altered_ == 0) first_altered_ = index + 1;
    Record(FindingKind::kAltered, static_cast<int64_t>(index + 1),
           fmt::format("event {} altered: its bytes are not the leaf the tree stored at index {}",
                       index + 1, index));
  }
}

void LogVerifier::AtSize(uint64_t size) {
  while (next_pending_ < pending_.size() && pending_[next_pending_].size <= size) {
    const Pending& p = pending_[next_pending_++];
    if (p.size < size) continue;  // added late, below the log already read: cannot happen in order
    const tlog::Hash root = edge_.Root();
    const std::string what = p.saved ? fmt::format("the saved checkpoint {}", p.where)
                                     : fmt::format("checkpoint {}", p.where);
    if (root == p.root) {
      if (p.saved) {
        report_.saved_checked = true;
      } else {
        ++report_.checkpoints_ok;
        report_.latest_checkpoint = std::max(report_.latest_checkpoint, p.size);
        last_good_size_ = std::max(last_good_size_, p.size);
      }
      continue;
    }
    const tlog::RightEdge& reference = reference_is_edge_ ? edge_ : reference_edge_;
    const bool tree_agrees = leaf_reader_ && !leaf_reader_failed_ && reference.size() == size &&
                             reference.Root() == p.root;
    std::string located;
    if (first_altered_ != 0 && first_altered_ <= size) {
      located = fmt::format("; the first event altered is {}", first_altered_);
    } else if (tree_agrees) {
      located = "; the stored tree agrees with the checkpoint, the events do not";
    } else if (leaf_reader_ && !leaf_reader_failed_) {
      located = fmt::format(
          "; the stored tree differs too (rewritten with the events), so the change lies in "
          "events {} to {}",
          last_good_size_ + 1, size);
    } else {
      located = fmt::format("; the change lies in events {} to {}", last_good_size_ + 1, size);
    }
    const int64_t seq = first_altered_ != 0 && first_altered_ <= size
                            ? static_cast<int64_t>(first_altered_)
                            : static_cast<int64_t>(last_good_size_ + 1);
    Record(p.saved ? FindingKind::kInconsistent : FindingKind::kAltered, seq,
           fmt::format("{} (size {}, signed by {}) is not consistent with this log: its root is "
                       "{}, the log's root at size {} is {}{}",
                       what, p.size, p.signed_by, HashText(p.root), size, HashText(root), located));
  }
}

void LogVerifier::AddEvent(int64_t stored_seq, std::string_view body) {
  const uint64_t position = ++report_.events;
  const tlog::Hash leaf = tlog::LeafHash(body);
  if (chain_) chain_->Add(body);
  const std::optional<int64_t> said = ScanSeq(body);
  const int64_t name = said ? *said : (stored_seq != 0 ? stored_seq : int64_t(position));
  report_.last_seq = std::max({report_.last_seq, stored_seq, said.value_or(0)});
  bool in_place = true;
  if (!said) {
    in_place = false;
    Record(FindingKind::kNotCanonical, name,
           fmt::format("audit event {}: the body has no integer \"seq\" (not a vouch event)",
                       stored_seq != 0 ? fmt::format("{}", stored_seq)
                                       : fmt::format("at {}", Position(position))));
  } else {
    const int64_t s = *said;
    if (stored_seq != 0 && stored_seq != s) {
      in_place = false;
      Record(
          FindingKind::kAppendedOutOfOrder, stored_seq,
          fmt::format("event {} holds the body of event {}: appended out of order", stored_seq, s));
    }
    if (s == last_seq_ + 1) {
      last_seq_ = s;
    } else if (s > last_seq_ + 1) {
      in_place = false;
      for (int64_t g = last_seq_ + 1; g < s; ++g) {
        if (gaps_.size() >= kMaxGapsTracked) {
          gap_overflow_ += static_cast<uint64_t>(s - g);
          break;
        }
        gaps_.insert(g);
      }
      last_seq_ = s;
    } else {
      in_place = false;
      if (gaps_.erase(s) == 1) {
        Record(FindingKind::kReordered, s,
               fmt::format("event {} reordered: it stands at {}, after event {}", s,
                           Position(position), last_seq_));
      } else {
        Record(FindingKind::kAppendedOutOfOrder, s,
               fmt::format("event {} appears again at {} (after event {}): appended out of "
                           "order",
                           s, Position(position), last_seq_));
      }
    }
    if (s != static_cast<int64_t>(position)) in_place = false;
  }
  if (options_.check_canonical && said) {
    const auto start = std::chrono::steady_clock::now();
    Status canonical = CheckCanonicalEvent(body, *said);
    report_.canonical_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!canonical.ok()) {
      Record(FindingKind::kNotCanonical, *said, canonical.message());
    }
  }
  CheckLeafReference(position - 1, leaf, in_place);  // before edge_ takes the leaf
  edge_.Append(leaf);
  AtSize(position);
}

void LogVerifier::AddUnreadable(std::string message) {
  const uint64_t position = ++report_.events;
  const tlog::Hash leaf = tlog::LeafHash("");
  Record(FindingKind::kMalformed, 0, fmt::format("{}: {}", Position(position), message));
  CheckLeafReference(position - 1, leaf, false);  // before edge_ takes the leaf
  edge_.Append(leaf);
  AtSize(position);
}

VerificationReport LogVerifier::Finish() {
  // Runs of numbers skipped over and never seen: missing events.
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    int64_t first = *it;
    int64_t last = first;
    for (++it; it != gaps_.end() && *it == last + 1; ++it) last = *it;
    Record(FindingKind::kMissing, first,
           first == last ? fmt::format("event {} missing", first)
                         : fmt::format("events {} to {} missing", first, last));
  }
  if (gap_overflow_ > 0) {
    Record(FindingKind::kMissing, 0,
           fmt::format("{} more events missing (not listed)", gap_overflow_));
  }
  const uint64_t n = report_.events;
  const uint64_t last = static_cast<uint64_t>(std::max<int64_t>(report_.last_seq, 0));
  if (expected_count_ && *expected_count_ < last) {
    Record(FindingKind::kAppendedOutOfOrder, static_cast<int64_t>(*expected_count_ + 1),
           fmt::format("event {} is beyond the log's head ({}): appended outside vouch's append "
                       "path",
                       *expected_count_ + 1, *expected_count_));
  }
  if (expected_count_ && *expected_count_ > last) {
    Record(FindingKind::kTruncated, static_cast<int64_t>(last + 1),
           fmt::format("log truncated: it ends at event {}, but its head says {} (events {} to {} "
                       "missing)",
                       last, *expected_count_, last + 1, *expected_count_));
  }
  for (; next_pending_ < pending_.size(); ++next_pending_) {
    const Pending& p = pending_[next_pending_];
    Record(p.saved ? FindingKind::kTruncated : FindingKind::kTruncated, static_cast<int64_t>(n + 1),
           fmt::format("log truncated: {} {} (size {}, signed by {}) commits to {} events, the log "
                       "holds {} (event {} on missing)",
                       p.saved ? "the saved checkpoint" : "checkpoint", p.where, p.size,
                       p.signed_by, p.size, n, n + 1));
  }
  report_.root = edge_.Root();
  if (chain_) report_.chain_digest = chain_->Hex();
  // The findings that name an event first (a stored hash that differs is their consequence).
  std::stable_sort(report_.findings.begin(), report_.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.seq > 0 && b.seq == 0; });
  return std::move(report_);
}

Status FeedStoredLog(store::Tx& tx, LogVerifier& v) {
  VOUCH_ASSIGN_OR_RETURN(int64_t head, tx.AuditHeadSeq());
  v.SetExpectedCount(static_cast<uint64_t>(head));
  Result<uint64_t> tree_size = tx.AuditTreeSize();
  bool tree = tree_size.ok();
  if (!tree_size.ok()) {
    switch (tree_size.status().code()) {
      case StatusCode::kNotFound:  // a schema before the tree: the next `vouch serve` builds it
        break;
      case StatusCode::kFailedPrecondition:
        v.AddFinding(FindingKind::kMalformed, 0,
                     "the store was written with tree updates off (a benchmark's store): its "
                     "events are not in a Merkle tree, " +
                         tree_size.status().message());
        break;
      default:
        return tree_size.status();
    }
  }
  if (tree) {
    v.SetLeafHashReader(
        [&tx](uint64_t first, int count) { return tx.AuditTreeHashes(0, first, count); });
  }
  // The keys and checkpoints the store holds (migration 0016), cosignatures appended as served.
  // A read-only store whose schema predates them has neither (nothing to check against).
  Result<std::vector<store::AuditSigningKey>> keys = tx.ListAuditSigningKeys();
  const bool has_checkpoints = keys.ok();
  if (!has_checkpoints) keys = std::vector<store::AuditSigningKey>();
  for (const store::AuditSigningKey& key : *keys) {
    Result<tlog::Verifier> parsed = tlog::ParseVerifierKey(key.verifier_key);
    if (!parsed.ok()) {
      v.AddFinding(FindingKind::kMalformed, 0,
                   fmt::format("the store's signing key {} is not a verifier key: {}",
                               key.verifier_key, parsed.status().message()));
      continue;
    }
    v.AddPublishedKey(*parsed);
  }
  for (int64_t after = 0; has_checkpoints;) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpointRow> rows,
                           tx.ListAuditCheckpoints(after, kPageSize));
    for (const store::AuditCheckpointRow& row : rows) {
      std::string note = row.note;
      VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCosignatureRow> cosignatures,
                             tx.ListAuditCosignatures(row.id));
      for (const store::AuditCosignatureRow& c : cosignatures) note += c.line + "\n";
      v.AddCheckpoint({fmt::format("at size {} (stored)", row.size), note});
      after = row.id;
    }
    if (static_cast<int>(rows.size()) < kPageSize) break;
  }
  StoredTreeCheck tree_check(tx);
  Status tree_problem;
  store::AuditFilter page{.after_seq = 0, .limit = kPageSize};
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::StoredAuditEvent> events, tx.ListAuditEvents(page));
    for (const store::StoredAuditEvent& e : events) {
      v.AddEvent(e.seq, e.body);
      if (tree && tree_problem.ok()) tree_problem = tree_check.Add(e.body);
    }
    if (static_cast<int>(events.size()) < page.limit) break;
    page.after_seq = events.back().seq;
  }
  if (tree && tree_problem.ok()) tree_problem = tree_check.Finish();
  if (!tree_problem.ok()) {
    if (tree_problem.code() != StatusCode::kDataLoss) return tree_problem;
    v.AddFinding(FindingKind::kAltered, 0, tree_problem.message());
  }
  return OkStatus();
}

LogDigest::LogDigest() : chain_(kDigestBytes, '\0') {}

void LogDigest::Add(std::string_view body) { chain_ = Sha256Raw(chain_ + Sha256Raw(body)); }

std::string LogDigest::Hex() const { return HexEncode(chain_); }

Result<LogInspection> InspectLog(store::Tx& tx) {
  LogDigest digest;
  // Recomputes the tree from the stored bytes, and compares the stored tree with it as it goes
  // (until the first problem: a log that does not verify has no tree worth comparing).
  StoredTreeCheck tree(tx);
  LogInspection out;
  store::AuditFilter page{.after_seq = 0, .limit = kPageSize};
  while (true) {
    VOUCH_ASSIGN_OR_RETURN(std::vector<store::StoredAuditEvent> events, tx.ListAuditEvents(page));
    for (const store::StoredAuditEvent& e : events) {
      ++out.count;
      if (out.problem.ok()) out.problem = CheckEvent(e, out.count);
      if (Status added = tree.Add(e.body); out.problem.ok()) out.problem = added;
      digest.Add(e.body);
    }
    if (static_cast<int>(events.size()) < page.limit) break;
    page.after_seq = events.back().seq;
  }
  out.head_digest = RootHex(tree.Root());
  out.chain_digest = digest.Hex();
  VOUCH_ASSIGN_OR_RETURN(int64_t head, tx.AuditHeadSeq());
  if (!out.problem.ok()) return out;
  if (head > out.count) {
    out.problem = Status(
        StatusCode::kDataLoss,
        fmt::format("audit event {}: missing (the log's head is at {})", out.count + 1, head));
  } else if (head < out.count) {
    out.problem = Status(StatusCode::kDataLoss,
                         fmt::format("audit event {}: beyond the log's head ({})", head + 1, head));
  } else {
    out.problem = tree.Finish();
  }
  return out;
}

Result<LogVerification> VerifyLog(store::Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(LogInspection inspected, InspectLog(tx));
  VOUCH_TRY(inspected.problem);
  return LogVerification{inspected.count, std::move(inspected.head_digest),
                         std::move(inspected.chain_digest)};
}

Result<LogVerification> Verify(store::Store& store) {
  LogVerification out;
  VOUCH_TRY(store.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, VerifyLog(tx));
    return OkStatus();
  }));
  return out;
}

Result<LogInspection> Inspect(store::Store& store) {
  LogInspection out;
  VOUCH_TRY(store.Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(out, InspectLog(tx));
    return OkStatus();
  }));
  return out;
}

namespace {

// The latest checkpoint as the server serves it (its note with the cosignature lines appended),
// checked against the keys and the tree `tx` holds, of a log of `events` verified events.
Result<std::optional<store::CheckpointSummary>> CheckedLatestCheckpoint(store::Tx& tx,
                                                                        int64_t events) {
  VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> row, tx.LatestAuditCheckpoint());
  if (!row) return std::optional<store::CheckpointSummary>();
  store::CheckpointSummary out{.size = row->size, .root = row->root, .note = row->note};
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditCosignatureRow> cosignatures,
                         tx.ListAuditCosignatures(row->id));
  for (const store::AuditCosignatureRow& c : cosignatures) out.note += c.line + "\n";
  auto bad = [&](std::string_view why) {
    return Status(StatusCode::kDataLoss,
                  fmt::format("the latest checkpoint (size {}) {}", row->size, why));
  };
  if (row->size < 1 || row->size > events) {
    return bad(fmt::format("is beyond the log, which holds {} events", events));
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<store::AuditSigningKey> keys, tx.ListAuditSigningKeys());
  auto key = std::find_if(keys.begin(), keys.end(),
                          [&](const store::AuditSigningKey& k) { return k.id == row->key_id; });
  if (key == keys.end()) {
    return bad(fmt::format("names signing key {}, which the store does not hold", row->key_id));
  }
  Result<tlog::Verifier> verifier = tlog::ParseVerifierKey(key->verifier_key);
  if (!verifier.ok()) {
    return bad(fmt::format("was signed by {}, which is not a verifier key: {}", key->verifier_key,
                           verifier.status().message()));
  }
  Result<tlog::OpenedCheckpoint> opened =
      tlog::OpenCheckpoint(out.note, std::span<const tlog::Verifier>(&*verifier, 1));
  if (!opened.ok()) {
    return bad(fmt::format("does not open with the key that signed it ({}): {}", key->verifier_key,
                           opened.status().message()));
  }
  const std::string signed_root = Base64Encode(tlog::HashBytes(opened->checkpoint.root));
  if (opened->checkpoint.size != static_cast<uint64_t>(row->size) || signed_root != row->root) {
    return bad(fmt::format("signs size {} and root {}, but its row says size {} and root {}",
                           opened->checkpoint.size, signed_root, row->size, row->root));
  }
  TreeReader tree(tx);
  VOUCH_ASSIGN_OR_RETURN(tlog::Hash root, tree.Root(static_cast<uint64_t>(row->size)));
  const std::string tree_root = Base64Encode(tlog::HashBytes(root));
  if (tree_root != row->root) {
    return bad(fmt::format("signs root {}, but the tree of the log's first {} events has root {}",
                           row->root, row->size, tree_root));
  }
  return std::optional<store::CheckpointSummary>(std::move(out));
}

}  // namespace

Result<store::LogSummary> VerifiedLogSummary(store::Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(LogVerification log, VerifyLog(tx));
  VOUCH_ASSIGN_OR_RETURN(std::optional<store::CheckpointSummary> checkpoint,
                         CheckedLatestCheckpoint(tx, log.count));
  return store::LogSummary{log.count, log.head_digest, std::move(checkpoint)};
}

}  // namespace vouch::audit

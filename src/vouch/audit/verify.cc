#include "vouch/audit/verify.h"

#include <fmt/format.h>

#include "vouch/audit/tree.h"
#include "vouch/domain/audit_event.h"
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
  Result<json::value> parsed = ParseCanonicalJson(e.body);
  if (!parsed.ok()) return Bad(e.seq, "the body is not JSON: " + parsed.status().message());
  Result<std::string> canonical = CanonicalJson(*parsed);
  if (!canonical.ok()) {
    return Bad(e.seq, "the body has no canonical form: " + canonical.status().message());
  }
  if (*canonical != e.body) return Bad(e.seq, "the body is not in canonical (RFC 8785) form");
  const json::object* object = parsed->if_object();
  const json::value* seq = object != nullptr ? object->if_contains("seq") : nullptr;
  if (seq == nullptr || !(seq->is_int64() || seq->is_uint64())) {
    return Bad(e.seq, "the body has no integer \"seq\"");
  }
  const bool same = seq->is_int64() ? seq->get_int64() == e.seq
                                    : seq->get_uint64() == static_cast<uint64_t>(e.seq);
  if (!same) {
    return Bad(e.seq, fmt::format("the body says seq {}", json::serialize(*seq)));
  }
  // Every schema this binary knows stays valid; a body without one is judged by the checks above.
  const json::value* schema = object->if_contains("schema");
  if (schema != nullptr) {
    const bool known = schema->is_int64() && schema->get_int64() >= kOldestAuditSchemaVersion &&
                       schema->get_int64() <= kAuditSchemaVersion;
    if (!known) {
      return Bad(e.seq, fmt::format("the body has schema {}, which this vouch does not know",
                                    json::serialize(*schema)));
    }
  }
  return OkStatus();
}

}  // namespace

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

Result<store::LogSummary> VerifiedLogSummary(store::Tx& tx) {
  VOUCH_ASSIGN_OR_RETURN(LogVerification log, VerifyLog(tx));
  return store::LogSummary{log.count, log.head_digest};
}

}  // namespace vouch::audit

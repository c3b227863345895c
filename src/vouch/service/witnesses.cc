#include "vouch/service/witnesses.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "vouch/audit/tree.h"
#include "vouch/util/crypto.h"

namespace vouch::service {
namespace {

constexpr std::string_view kSizeContentType = "text/x.tlog.size";
// The protocol's bound on proof lines; a proof between two sizes below 2^63 never needs more.
constexpr size_t kMaxProofLines = 63;
constexpr size_t kMaxAnswerBytes = 64 * 1024;

struct SignatureLine {
  std::string name;
  uint32_t key_id = 0;
  std::string base64;
  std::string line;  // with its newline
};

// Splits a block of note signature lines ("— <name> <base64>\n" each). INVALID_ARGUMENT when a
// line is not of that form.
Result<std::vector<SignatureLine>> ParseSignatureLines(std::string_view block) {
  std::vector<SignatureLine> out;
  while (!block.empty()) {
    const size_t end = block.find('\n');
    if (end == std::string_view::npos) {
      return InvalidArgument("a signature line does not end in a newline");
    }
    std::string_view line = block.substr(0, end);
    block.remove_prefix(end + 1);
    if (!line.starts_with(tlog::kNoteSignaturePrefix)) {
      return InvalidArgument("a line of the answer is not a note signature line");
    }
    std::string_view rest = line.substr(tlog::kNoteSignaturePrefix.size());
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos || space == 0) {
      return InvalidArgument("a signature line has no key name");
    }
    SignatureLine s;
    s.name = std::string(rest.substr(0, space));
    s.base64 = std::string(rest.substr(space + 1));
    std::optional<std::string> blob = Base64Decode(s.base64);
    if (!blob || blob->size() < 5) {
      return InvalidArgument(
          fmt::format("the signature by {} is not base64 of a key id and a "
                      "signature",
                      s.name));
    }
    for (int i = 0; i < 4; ++i) s.key_id = (s.key_id << 8) | static_cast<uint8_t>((*blob)[i]);
    s.line = std::string(line) + "\n";
    out.push_back(std::move(s));
  }
  return out;
}

struct SplitNote {
  std::string_view text;        // with its final newline
  std::string_view signatures;  // the lines after the blank line
};
Result<SplitNote> Split(std::string_view note) {
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || !note.ends_with('\n')) {
    return InvalidArgument("not a signed note");
  }
  return SplitNote{note.substr(0, split + 1), note.substr(split + 2)};
}

std::string_view FirstLine(std::string_view text) { return text.substr(0, text.find('\n')); }

std::string KeyName(std::string_view name, uint32_t key_id) {
  return fmt::format("{}+{:08x}", name, key_id);
}

}  // namespace

std::string AddCheckpointBody(uint64_t old_size, std::span<const tlog::Hash> proof,
                              std::string_view signed_checkpoint) {
  std::string body = fmt::format("old {}\n", old_size);
  for (const tlog::Hash& h : proof) {
    body += Base64Encode(tlog::HashBytes(h));
    body += '\n';
  }
  body += '\n';
  body += signed_checkpoint;
  return body;
}

Result<std::string> WithLogSignaturesOnly(std::string_view note) {
  VOUCH_ASSIGN_OR_RETURN(SplitNote parts, Split(note));
  VOUCH_ASSIGN_OR_RETURN(std::vector<SignatureLine> lines, ParseSignatureLines(parts.signatures));
  const std::string_view origin = FirstLine(parts.text);
  std::string out(parts.text);
  out += '\n';
  bool any = false;
  for (const SignatureLine& s : lines) {
    if (s.name != origin) continue;
    out += s.line;
    any = true;
  }
  if (!any) return InvalidArgument("the checkpoint has no signature by its log");
  return out;
}

Result<AddCheckpointAnswer> ParseAddCheckpointAnswer(const net::HttpResponse& response) {
  if (response.body_truncated) {
    return InvalidArgument("the witness's answer is longer than any add-checkpoint answer");
  }
  switch (response.status) {
    case 200: {
      if (response.body.empty()) return InvalidArgument("the witness answered 200 without lines");
      VOUCH_TRY(ParseSignatureLines(response.body).status());
      return AddCheckpointAnswer{.kind = AddCheckpointAnswer::Kind::kCosigned,
                                 .lines = response.body};
    }
    case 409: {
      std::optional<std::string_view> type = response.Header("Content-Type");
      if (!type || FirstLine(*type).substr(0, type->find(';')) != kSizeContentType) {
        return FailedPrecondition(
            "the witness holds another root at this size (409 without a size): the log and the "
            "witness disagree");
      }
      std::string_view body = response.body;
      if (!body.ends_with('\n')) return InvalidArgument("the witness's 409 size has no newline");
      body.remove_suffix(1);
      uint64_t size = 0;
      auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), size);
      if (body.empty() || ec != std::errc() || end != body.data() + body.size() ||
          (body.size() > 1 && body[0] == '0')) {
        return InvalidArgument("the witness's 409 body is not a decimal size");
      }
      return AddCheckpointAnswer{.kind = AddCheckpointAnswer::Kind::kConflict,
                                 .witness_size = size};
    }
    case 400:
      return InvalidArgument("the witness refused the request as malformed (400)");
    case 403:
      return PermissionDenied(
          "the witness did not verify the log's signature (403): does it hold this log's current "
          "verifier key?");
    case 404:
      return NotFound("the witness does not know this log's origin (404)");
    case 422:
      return FailedPrecondition("the witness did not verify the consistency proof (422)");
    default:
      return Unavailable(fmt::format("the witness answered {}", response.status));
  }
}

Result<std::vector<AcceptedCosignature>> VerifyWitnessAnswer(
    std::string_view signed_checkpoint, std::string_view lines,
    std::span<const tlog::CosignatureVerifier> keys) {
  VOUCH_ASSIGN_OR_RETURN(SplitNote parts, Split(signed_checkpoint));
  VOUCH_ASSIGN_OR_RETURN(std::vector<SignatureLine> parsed, ParseSignatureLines(lines));
  tlog::OpenedNote note;
  note.text = std::string(parts.text);
  for (const SignatureLine& s : parsed) note.unverified.push_back({s.name, s.key_id, s.base64});
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::VerifiedCosignature> verified,
                         tlog::VerifyCosignatures(note, keys));
  if (verified.empty()) {
    std::vector<std::string> names;
    for (const SignatureLine& s : parsed) names.push_back(KeyName(s.name, s.key_id));
    return PermissionDenied(fmt::format(
        "no cosignature by a configured witness key (--witness-key); the answer was signed by {}",
        names.empty() ? std::string("no key") : fmt::format("{}", fmt::join(names, ", "))));
  }
  std::vector<AcceptedCosignature> out;
  for (const tlog::VerifiedCosignature& v : verified) {
    auto line = std::find_if(parsed.begin(), parsed.end(), [&](const SignatureLine& s) {
      return s.name == v.name && s.key_id == v.key_id;
    });
    out.push_back({v.name, v.key_id, v.timestamp, line->line});
  }
  return out;
}

WitnessService::WitnessService(WitnessLog& log, const Clock& clock, WitnessOptions options,
                               std::function<bool()> is_leader, ClientFactory client_factory)
    : log_(log),
      clock_(clock),
      options_(std::move(options)),
      is_leader_(std::move(is_leader)),
      client_factory_(std::move(client_factory)) {
  if (!client_factory_) {
    client_factory_ = [o = options_]() -> std::unique_ptr<net::HttpClient> {
      return std::make_unique<net::CurlClient>(net::ClientOptions{
          .ca_file = o.ca_file,
          .connect_timeout = std::chrono::milliseconds(o.connect_timeout_ms),
          .timeout = std::chrono::milliseconds(o.timeout_ms),
          .max_body_bytes = kMaxAnswerBytes,
      });
    };
  }
  for (const std::string& url : options_.urls) {
    std::string u = url;
    while (u.ends_with('/')) u.pop_back();
    states_.push_back({.url = std::move(u)});
  }
  cosigned_sizes_.assign(states_.size(), 0);
}

WitnessService::~WitnessService() { Stop(); }

void WitnessService::OnCheckpoint(uint64_t size) {
  if (!enabled()) return;
  {
    std::lock_guard lock(mu_);
    latest_size_ = std::max(latest_size_, size);
    woken_ = true;
    retry_now_ = true;  // a witness waiting out a backoff tries again at once
  }
  cv_.notify_all();
}

Result<AddCheckpointAnswer> WitnessService::Post(const WitnessState& state, uint64_t old_size,
                                                 const WitnessedCheckpoint& checkpoint,
                                                 const std::string& log_signed) {
  VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> proof,
                         old_size == 0 ? Result<std::vector<tlog::Hash>>(std::vector<tlog::Hash>{})
                                       : log_.ConsistencyProof(old_size, checkpoint.size));
  if (proof.size() > kMaxProofLines) return Internal("a consistency proof of more than 63 hashes");
  {
    std::lock_guard lock(mu_);
    ++metrics_.submissions_total;
  }
  if (!client_) client_ = client_factory_();
  VOUCH_ASSIGN_OR_RETURN(net::HttpResponse response,
                         client_->Send({.method = "POST",
                                        .url = state.url + "/add-checkpoint",
                                        .headers = {{"Content-Type", "text/plain; charset=utf-8"}},
                                        .body = AddCheckpointBody(old_size, proof, log_signed)}));
  return ParseAddCheckpointAnswer(response);
}

Status WitnessService::Submit(WitnessState& state, const WitnessedCheckpoint& checkpoint) {
  VOUCH_ASSIGN_OR_RETURN(std::string log_signed, WithLogSignaturesOnly(checkpoint.note));
  uint64_t old_size = state.cosigned_size;
  VOUCH_ASSIGN_OR_RETURN(AddCheckpointAnswer answer, Post(state, old_size, checkpoint, log_signed));
  if (answer.kind == AddCheckpointAnswer::Kind::kConflict) {
    // The witness knows this log from before (another server, an earlier run): go on from there,
    // once.
    if (answer.witness_size > checkpoint.size) {
      state.cosigned_size = answer.witness_size;
      return FailedPrecondition(
          fmt::format("the witness has cosigned tree size {}, beyond this checkpoint's {}: was the "
                      "log truncated or restored from an older backup?",
                      answer.witness_size, checkpoint.size));
    }
    spdlog::info("witness {}: it last cosigned tree size {} (409); submitting from there",
                 state.url, answer.witness_size);
    old_size = answer.witness_size;
    VOUCH_ASSIGN_OR_RETURN(answer, Post(state, old_size, checkpoint, log_signed));
    if (answer.kind == AddCheckpointAnswer::Kind::kConflict) {
      state.cosigned_size = answer.witness_size;
      return Aborted(fmt::format("the witness's size moved again (now {}); trying later",
                                 answer.witness_size));
    }
  }
  VOUCH_ASSIGN_OR_RETURN(std::vector<AcceptedCosignature> accepted,
                         VerifyWitnessAnswer(log_signed, answer.lines, options_.keys));
  VOUCH_TRY(log_.StoreCosignatures(checkpoint.size, accepted));
  state.cosigned_size = checkpoint.size;
  std::lock_guard lock(mu_);
  metrics_.cosignatures_total += static_cast<int64_t>(accepted.size());
  return OkStatus();
}

Result<int> WitnessService::RunOnce() {
  if (!enabled() || (is_leader_ && !is_leader_())) return 0;
  std::lock_guard run(run_mu_);
  VOUCH_ASSIGN_OR_RETURN(std::optional<WitnessedCheckpoint> latest, log_.Latest());
  if (!latest) return 0;
  {
    std::lock_guard lock(mu_);
    latest_size_ = std::max(latest_size_, latest->size);
    if (retry_now_) {
      for (WitnessState& s : states_) s.next_attempt_ms = 0;
      retry_now_ = false;
    }
  }
  int cosigned = 0;
  const TimeMs now = clock_.NowMs();
  for (size_t i = 0; i < states_.size(); ++i) {
    WitnessState& state = states_[i];
    if (state.cosigned_size == latest->size) {
      ++cosigned;
      continue;
    }
    if (state.cosigned_size > latest->size || now < state.next_attempt_ms) continue;
    Status s = Submit(state, *latest);
    if (s.ok()) {
      if (state.failures > 0) spdlog::info("witness {}: cosigning again", state.url);
      state.failures = 0;
      state.next_attempt_ms = 0;
      ++cosigned;
    } else {
      ++state.failures;
      const int shift = std::min(state.failures - 1, 20);
      const TimeMs backoff = std::min(options_.first_retry_ms << shift, options_.max_backoff_ms);
      state.next_attempt_ms = now + backoff;
      spdlog::warn(
          "witness {}: checkpoint of size {} not cosigned ({} failure(s), next try in {} "
          "ms or at the next checkpoint): {}",
          state.url, latest->size, state.failures, backoff, s.ToString());
      std::lock_guard lock(mu_);
      ++metrics_.failures_total;
    }
    std::lock_guard lock(mu_);
    cosigned_sizes_[i] = state.cosigned_size;
  }
  TimeMs next_due = 0;
  for (const WitnessState& s : states_) {
    if (s.next_attempt_ms > 0 && (next_due == 0 || s.next_attempt_ms < next_due)) {
      next_due = s.next_attempt_ms;
    }
  }
  std::lock_guard lock(mu_);
  next_due_ms_ = next_due;
  return cosigned;
}

void WitnessService::Start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void WitnessService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WitnessService::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      // Until the next backoff ends, or the poll.
      TimeMs wait_ms = options_.poll_ms;
      if (next_due_ms_ > 0) wait_ms = std::min(wait_ms, next_due_ms_ - clock_.NowMs());
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<TimeMs>(wait_ms, 1)),
                   [this] { return woken_ || stopping_; });
      if (stopping_) return;
      woken_ = false;
    }
    if (Result<int> r = RunOnce(); !r.ok()) {
      spdlog::warn("witnessing: {}", r.status().ToString());
    }
  }
}

WitnessMetrics WitnessService::Metrics() const {
  std::lock_guard lock(mu_);
  WitnessMetrics m = metrics_;
  m.behind = 0;
  for (uint64_t size : cosigned_sizes_) {
    if (size < latest_size_) ++m.behind;
  }
  return m;
}

uint64_t WitnessService::CosignedSize(size_t witness) const {
  std::lock_guard lock(mu_);
  return witness < cosigned_sizes_.size() ? cosigned_sizes_[witness] : 0;
}

Result<std::optional<WitnessedCheckpoint>> WitnessLogOverStore::Latest() {
  std::optional<WitnessedCheckpoint> out;
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> row,
                           tx.LatestAuditCheckpoint());
    if (row) out = WitnessedCheckpoint{static_cast<uint64_t>(row->size), row->note};
    return OkStatus();
  }));
  return out;
}

Result<std::vector<tlog::Hash>> WitnessLogOverStore::ConsistencyProof(uint64_t old_size,
                                                                      uint64_t new_size) {
  std::vector<tlog::Hash> proof;
  VOUCH_TRY(executor_.store().Read([&](store::Tx& tx) -> Status {
    audit::TreeReader tree(tx);
    VOUCH_ASSIGN_OR_RETURN(proof, tree.ConsistencyProof(old_size, new_size));
    return OkStatus();
  }));
  return proof;
}

Status WitnessLogOverStore::StoreCosignatures(uint64_t size,
                                              std::span<const AcceptedCosignature> cosignatures) {
  const TimeMs now = clock_.NowMs();
  return executor_.Bookkeep([&](store::Tx& tx) -> Status {
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::AuditCheckpointRow> checkpoint,
                           tx.AuditCheckpointBySize(static_cast<int64_t>(size)));
    if (!checkpoint) return NotFound(fmt::format("no checkpoint of tree size {}", size));
    for (const AcceptedCosignature& c : cosignatures) {
      std::string line = c.line;
      while (line.ends_with('\n')) line.pop_back();
      // False when this witness key's cosignature of the checkpoint is kept already (a second
      // submission of the same checkpoint): the first stays.
      VOUCH_TRY(tx.InsertAuditCosignature({.checkpoint_id = checkpoint->id,
                                           .witness = c.witness,
                                           .key_id = fmt::format("{:08x}", c.key_id),
                                           .line = std::move(line),
                                           .received_ms = now})
                    .status());
    }
    return OkStatus();
  });
}

}  // namespace vouch::service

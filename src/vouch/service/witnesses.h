// Witnessing (issue 14): each checkpoint the log signs is submitted to the configured witnesses
// per C2SP tlog-witness (`POST <prefix>/add-checkpoint`: "old <size>", the consistency proof from
// that size, a blank line, the signed checkpoint), and the cosignatures they return (C2SP
// tlog-cosignature) are verified against the witness keys the operator configured and stored
// beside the checkpoint, which then serves them.
//
// Per witness this server remembers the size the witness last cosigned (0 at first, so a restart
// or a new leader sends "old 0": the witness answers 409 with its size, and the submission is
// made once more from that size — or cosigns at once when it never saw this log). Cosignature
// lines by keys that are not configured are ignored (the protocol says so); a line by a
// configured key that does not verify, or an answer with no verified cosignature, fails the
// submission and nothing of it is stored.
//
// When: the checkpoint service's listener calls OnCheckpoint after a checkpoint commits (on the
// request thread or the leader's job), which only notes the size and wakes this service's own
// thread; submissions never hold up a checkpoint. The thread also looks every `poll_ms` at the
// latest checkpoint in the store (one another server made), and only on the leader. A failed
// submission is logged, counted in /metrics and tried again after an exponential backoff
// (`first_retry_ms` doubling up to `max_backoff_ms`), or at once on the next checkpoint.
//
// Witness URLs are the operator's (command-line flags), not an API user's, so the private-address
// guard that protects webhook delivery does not apply: a witness on loopback or a private network
// is reached as configured.
//
// Thread-safe: OnCheckpoint, Metrics and Start/Stop from any thread; RunOnce is what the thread
// runs (tests call it directly, with the thread not started).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vouch/net/http_client.h"
#include "vouch/service/executor.h"
#include "vouch/tlog/cosignature.h"
#include "vouch/tlog/merkle.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::service {

// The body of an add-checkpoint request: "old <old_size>\n", one base64 line per proof hash, a
// blank line, then the signed checkpoint as given (ending in a newline).
std::string AddCheckpointBody(uint64_t old_size, std::span<const tlog::Hash> proof,
                              std::string_view signed_checkpoint);

// The signed checkpoint with only the log's own signature lines (those named by its origin, the
// first line): what is submitted, whatever cosignatures the stored note has gathered already.
// INVALID_ARGUMENT when `note` is not a signed note.
Result<std::string> WithLogSignaturesOnly(std::string_view note);

// What a witness answered to add-checkpoint.
struct AddCheckpointAnswer {
  enum class Kind {
    kCosigned,  // 200: `lines` holds the signature lines
    kConflict,  // 409 with text/x.tlog.size: the witness last cosigned `witness_size`
  };
  Kind kind = Kind::kCosigned;
  std::string lines;
  uint64_t witness_size = 0;
};
// Reads an add-checkpoint answer. Other statuses are failures named for the operator:
// NOT_FOUND (404: the witness does not know this log's origin), PERMISSION_DENIED (403: the
// log's signature did not verify with the key the witness holds for it), FAILED_PRECONDITION (422:
// the consistency proof did not verify; 409 without a size: the witness holds another root at
// this size), INVALID_ARGUMENT (400, or a 200/409 body that is not of its form),
// UNAVAILABLE (429, 5xx and anything else).
Result<AddCheckpointAnswer> ParseAddCheckpointAnswer(const net::HttpResponse& response);

// A verified cosignature, as stored: the witness key's name and id, and its signature line
// ("— <name> <base64>\n").
struct AcceptedCosignature {
  std::string witness;
  uint32_t key_id = 0;
  uint64_t timestamp = 0;
  std::string line;
};
// Verifies the signature lines a witness returned for `signed_checkpoint` against the configured
// witness keys: lines by other keys are ignored; PERMISSION_DENIED when a line by a configured key
// does not verify, or when no line is by a configured key; INVALID_ARGUMENT when `lines` are not
// signature lines.
Result<std::vector<AcceptedCosignature>> VerifyWitnessAnswer(
    std::string_view signed_checkpoint, std::string_view lines,
    std::span<const tlog::CosignatureVerifier> keys);

// A checkpoint to submit: its tree size and its signed note (cosignature lines may follow).
struct WitnessedCheckpoint {
  uint64_t size = 0;
  std::string note;
};

// What the service needs of the log (the store's, wired by the app; tests give their own).
class WitnessLog {
 public:
  virtual ~WitnessLog() = default;
  // The latest checkpoint, nullopt when there is none yet.
  virtual Result<std::optional<WitnessedCheckpoint>> Latest() = 0;
  // The RFC 9162 consistency proof between two tree sizes (old ≤ new ≤ the tree's size).
  virtual Result<std::vector<tlog::Hash>> ConsistencyProof(uint64_t old_size,
                                                           uint64_t new_size) = 0;
  // Stores the cosignatures of the checkpoint of tree size `size`.
  virtual Status StoreCosignatures(uint64_t size,
                                   std::span<const AcceptedCosignature> cosignatures) = 0;
};

struct WitnessOptions {
  // Submission prefixes: add-checkpoint is POSTed to "<url>/add-checkpoint".
  std::vector<std::string> urls;
  // The witnesses' cosignature/v1 verifier keys; a cosignature counts only by one of these.
  std::vector<tlog::CosignatureVerifier> keys;
  TimeMs connect_timeout_ms = 5000;
  TimeMs timeout_ms = 15'000;
  std::string ca_file;  // empty: the system's
  TimeMs poll_ms = 10'000;
  TimeMs first_retry_ms = 1000;
  TimeMs max_backoff_ms = 300'000;
};

// What /metrics reports.
struct WitnessMetrics {
  int64_t submissions_total = 0;   // add-checkpoint requests sent
  int64_t cosignatures_total = 0;  // verified cosignatures stored
  int64_t failures_total = 0;      // submissions that ended without a stored cosignature
  int64_t behind = 0;  // witnesses whose last cosigned size is below the latest checkpoint's
};

class WitnessService {
 public:
  // Makes the HTTP client the thread uses (one, reused); tests give one of their own.
  using ClientFactory = std::function<std::unique_ptr<net::HttpClient>()>;

  WitnessService(WitnessLog& log, const Clock& clock, WitnessOptions options,
                 std::function<bool()> is_leader, ClientFactory client_factory = nullptr);
  ~WitnessService();  // Stop()
  WitnessService(const WitnessService&) = delete;
  WitnessService& operator=(const WitnessService&) = delete;

  bool enabled() const { return !options_.urls.empty(); }

  // The checkpoint service's listener: a checkpoint of tree size `size` committed.
  void OnCheckpoint(uint64_t size);

  // Submits the latest checkpoint to every witness that is behind it and due (not waiting out a
  // backoff), in turn. Returns how many witnesses now hold a cosignature of it. Does nothing (0)
  // on a server that does not lead, or with no checkpoint yet. Failures are per witness: logged,
  // counted, backed off; the store's own failure is returned.
  Result<int> RunOnce();

  // The thread: RunOnce when woken (OnCheckpoint), when a backoff ends and every poll_ms.
  void Start();
  void Stop();

  WitnessMetrics Metrics() const;
  // The size a witness (by its index in options.urls) last cosigned; for tests.
  uint64_t CosignedSize(size_t witness) const;

 private:
  struct WitnessState {
    std::string url;
    uint64_t cosigned_size = 0;
    int failures = 0;
    TimeMs next_attempt_ms = 0;
  };
  // One submission of `checkpoint` to witness `i` (409 handled); the stored cosignatures or why
  // not. Called on the thread only, without mu_.
  Status Submit(WitnessState& state, const WitnessedCheckpoint& checkpoint);
  Result<AddCheckpointAnswer> Post(const WitnessState& state, uint64_t old_size,
                                   const WitnessedCheckpoint& checkpoint,
                                   const std::string& log_signed);
  void Loop();

  WitnessLog& log_;
  const Clock& clock_;
  const WitnessOptions options_;
  const std::function<bool()> is_leader_;
  ClientFactory client_factory_;
  std::unique_ptr<net::HttpClient> client_;  // the thread's (or RunOnce's caller's)
  // Lock order: run_mu_, then mu_.
  std::mutex run_mu_;                 // one RunOnce at a time
  std::vector<WitnessState> states_;  // guarded by run_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t latest_size_ = 0;              // guarded by mu_: the largest checkpoint size seen
  bool woken_ = false;                    // guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  bool retry_now_ = false;                // guarded by mu_: a new checkpoint ends every backoff
  TimeMs next_due_ms_ = 0;                // guarded by mu_: when the first backoff ends (0: none)
  WitnessMetrics metrics_;                // guarded by mu_ (behind computed on read)
  std::vector<uint64_t> cosigned_sizes_;  // guarded by mu_: a copy of states_' for readers
  std::thread thread_;
};

// The real WitnessLog: the checkpoints and the tree in the store, cosignatures stored through the
// executor's bookkeeping (not an audited change: a cosignature is evidence about the log, and an
// event for it would grow the tree it vouches for).
class WitnessLogOverStore final : public WitnessLog {
 public:
  explicit WitnessLogOverStore(MutationExecutor& executor, const Clock& clock)
      : executor_(executor), clock_(clock) {}
  Result<std::optional<WitnessedCheckpoint>> Latest() override;
  Result<std::vector<tlog::Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) override;
  Status StoreCosignatures(uint64_t size,
                           std::span<const AcceptedCosignature> cosignatures) override;

 private:
  MutationExecutor& executor_;
  const Clock& clock_;
};

}  // namespace vouch::service

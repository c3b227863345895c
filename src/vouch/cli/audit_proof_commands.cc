// audit prove, and the two `audit verify` modes that check the Merkle log from outside the server:
//   audit prove SEQ [--size N] --out FILE    a C2SP tlog-proof file of event SEQ (index SEQ - 1)
//                                            in a checkpointed tree, the event's stored bytes in
//                                            its `extra` line
//   audit verify FILE --key VKEY [--event E] checks such a file offline
//   audit verify --server URL [--key VKEY] [--checkpoint SAVED]
//                                            checks a live server's log through the verification
//                                            engine: its checkpoint, every entry bundle and hash
//                                            tile, and consistency with a checkpoint saved earlier
// Exit codes as every verify mode: 0 intact, 1 not (or refused), 2 usage, 3 unreachable.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vouch/audit/export.h"
#include "vouch/audit/verify.h"
#include "vouch/cli/args.h"
#include "vouch/cli/audit_export.h"
#include "vouch/cli/audit_proof.h"
#include "vouch/cli/commands.h"
#include "vouch/cli/output.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/tlog/proof_file.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

constexpr std::string_view kLogPath = "/api/v1/audit/log/";

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(fmt::format("cannot read {}", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A failure that says the log is not intact (exit 1) rather than that the command was misused.
struct Finding {
  int exit_code = kExitOk;
  std::string message;
};

Finding Intact() { return {}; }
Finding Broken(std::string message) { return {kExitRefused, std::move(message)}; }

// What the note layer's codes mean to someone checking a checkpoint.
std::string SignatureProblem(const Status& st, std::string_view what) {
  switch (st.code()) {
    case StatusCode::kUnauthenticated:
      return fmt::format("unknown key: no signature on {} is by a key given ({})", what,
                         st.message());
    case StatusCode::kPermissionDenied:
      return fmt::format("signature invalid: {} ({})", what, st.message());
    case StatusCode::kFailedPrecondition:
      return fmt::format("{} is of another log: {}", what, st.message());
    default:
      return fmt::format("{} is malformed: {}", what, st.message());
  }
}

std::string KeyNames(std::span<const tlog::NoteSignature> sigs) {
  std::string out;
  for (const auto& s : sigs) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}+{:08x}", s.name, s.key_id);
  }
  return out;
}

// The "seq" an event's stored bytes carry, or nullopt when they carry none.
std::optional<int64_t> SeqOf(std::string_view event) {
  Result<json::object> o = ParseJsonObject(event);
  if (!o.ok()) return std::nullopt;
  auto it = o->find("seq");
  if (it == o->end() || !it->value().is_int64()) return std::nullopt;
  return it->value().get_int64();
}

// ----- audit verify FILE -----

Finding CheckProofFile(const ProofFileArgs& a, std::string& report) {
  Result<std::string> text = ReadWholeFile(a.file);
  if (!text.ok()) return {kExitUsage, std::string(text.status().message())};
  Result<std::vector<tlog::Verifier>> keys = TrustedKeys(a.keys);
  if (!keys.ok()) return {kExitUsage, std::string(keys.status().message())};
  if (keys->empty()) return {kExitUsage, "verifying a proof file needs --key VKEY"};
  Result<tlog::ProofFile> proof = tlog::ParseProofFile(*text);
  if (!proof.ok()) {
    return Broken(fmt::format("{} is not a tlog-proof file: {}", a.file, proof.status().message()));
  }
  std::string event;
  if (!a.event_file.empty()) {
    Result<std::string> e = ReadWholeFile(a.event_file);
    if (!e.ok()) return {kExitUsage, std::string(e.status().message())};
    event = std::move(*e);
    // A line cut from events.jsonl or a saved file may end in a newline the stored bytes lack.
    if (!event.empty() && event.back() == '\n') event.pop_back();
  } else if (proof->extra) {
    // ParseProofFile has decoded the extra line's base64: these are the event's stored bytes.
    event = std::move(*proof->extra);
  } else {
    return {kExitUsage, fmt::format("{} carries no event (no extra line): give --event FILE with "
                                    "the event's stored bytes",
                                    a.file)};
  }
  const uint64_t seq = proof->index + 1;
  Result<tlog::OpenedCheckpoint> opened = tlog::OpenCheckpoint(proof->checkpoint, *keys);
  if (!opened.ok()) return Broken(SignatureProblem(opened.status(), "the proof's checkpoint"));
  if (Status st =
          tlog::VerifyInclusion(proof->index, opened->checkpoint.size, tlog::LeafHash(event),
                                proof->proof, opened->checkpoint.root);
      !st.ok()) {
    if (st.code() == StatusCode::kPermissionDenied) {
      return Broken(
          fmt::format("event seq {} altered: its bytes and the proof do not lead to the "
                      "checkpoint's root ({})",
                      seq, st.message()));
    }
    return Broken(fmt::format("the proof of event seq {} is malformed: {}", seq, st.message()));
  }
  if (std::optional<int64_t> carried = SeqOf(event);
      carried && *carried != static_cast<int64_t>(seq)) {
    return Broken(fmt::format(
        "event seq {} reordered: the event at index {} carries seq {} (the proof is of index {})",
        seq, proof->index, *carried, proof->index));
  }
  report = fmt::format(
      "proof intact: event seq {} is in the log {} of {} events (root {}), signed by {}{}\n", seq,
      opened->checkpoint.origin, opened->checkpoint.size,
      Base64Encode(tlog::HashBytes(opened->checkpoint.root)), KeyNames(opened->note.verified),
      opened->note.unverified.empty()
          ? ""
          : fmt::format("; other signatures (not checked): {}", KeyNames(opened->note.unverified)));
  return Intact();
}

// ----- audit verify --server -----
//
// The server's log goes through the verification engine (audit/verify.h) as every other source
// does: its latest checkpoint, its published keys, the entry bundles one at a time as the events
// in order (each named by its place in the tree), and its level-0 hash tiles as the stored leaf
// hashes. The tiles above level 0 are compared, each as soon as the entries complete it, with the
// tiles of the entries' own hashes (tlog::TileStream). Memory stays O(log n): one bundle, one tile,
// and at most 256 hashes a tile level, never the whole log.

// GETs against the server the transport was made for, the raw answer kept (tiles are bytes). The
// first failure to reach the server is kept: the check ends with exit 3 whatever it found.
class LogFetcher {
 public:
  explicit LogFetcher(HttpTransport& transport) : transport_(transport) {}
  // The body of a 200 answer. The transport's failure (UNAVAILABLE when no answer came);
  // otherwise a refusal carrying the server's message, PERMISSION_DENIED (for the exit code 1)
  // whatever the status.
  Result<std::string> Get(std::string target) {
    HttpRequest r;
    r.method = "GET";
    r.target = std::move(target);
    Result<HttpResponse> resp = transport_.Send(r);
    if (!resp.ok()) {
      if (unreachable_.ok() && resp.status().code() == StatusCode::kUnavailable) {
        unreachable_ = resp.status();
      }
      return resp.status();
    }
    if (resp->status != 200) {
      return PermissionDenied(fmt::format("GET {}: {}", r.target, RefusalMessage(*resp)));
    }
    return std::move(resp->body);
  }
  // OK until a request found no server.
  const Status& unreachable() const { return unreachable_; }

 private:
  HttpTransport& transport_;
  Status unreachable_;
};

// A failure that ends the check before the engine reports: 3 when the server was not reached, 2
// for a request the transport refused to make, 1 otherwise.
int FailFetch(const Status& st, Session& s) {
  if (st.code() == StatusCode::kUnavailable) return s.Fail(st.message(), kExitUnreachable);
  if (st.code() == StatusCode::kInvalidArgument) return s.Fail(st.message(), kExitUsage);
  return s.Fail(st.message(), kExitRefused);
}

// The "hashes" array of a proof route's answer.
Result<std::vector<tlog::Hash>> HashesOf(std::string_view body) {
  VOUCH_ASSIGN_OR_RETURN(json::object o, ParseJsonObject(body));
  auto it = o.find("hashes");
  if (it == o.end() || !it->value().is_array()) return InvalidArgument("no \"hashes\" array");
  std::vector<tlog::Hash> out;
  for (const json::value& v : it->value().get_array()) {
    if (!v.is_string()) return InvalidArgument("a hash that is not a string");
    std::optional<std::string> raw = Base64Decode(v.get_string());
    if (!raw) return InvalidArgument("a hash that is not standard base64");
    VOUCH_ASSIGN_OR_RETURN(tlog::Hash h, tlog::HashFromBytes(*raw));
    out.push_back(h);
  }
  return out;
}

// The checkpoint a signed note says, its signatures not checked (the engine checks them): how much
// of the log there is to read. INVALID_ARGUMENT when the note holds no checkpoint.
Result<tlog::Checkpoint> UnverifiedCheckpoint(std::string_view note) {
  const size_t blank = note.rfind("\n\n");
  if (blank == std::string_view::npos) {
    return InvalidArgument("no blank line between the text and its signatures");
  }
  return tlog::ParseCheckpoint(note.substr(0, blank + 1));
}

// The server's hash tiles of the tree of `size` leaves: level 0 as the engine's leaf reference (an
// event whose bytes are not the served leaf is named altered), the levels above compared with the
// tiles the entries make. Holds one tile at a time.
class ServedTiles {
 public:
  ServedTiles(LogFetcher& fetch, uint64_t size) : fetch_(fetch), size_(size) {}

  audit::LeafHashReader LeafReader() {
    return [this](uint64_t first, int count) -> Result<std::vector<tlog::Hash>> {
      std::vector<tlog::Hash> out;
      if (first >= size_) return out;  // the tree holds no leaf there
      const uint64_t index = first / tlog::kTileWidth;
      VOUCH_ASSIGN_OR_RETURN(std::string data, Fetch({0, index, WidthAt(0, index)}));
      for (size_t at = (first % tlog::kTileWidth) * tlog::kHashBytes;
           at < data.size() && static_cast<int>(out.size()) < count; at += tlog::kHashBytes) {
        VOUCH_ASSIGN_OR_RETURN(tlog::Hash h,
                               tlog::HashFromBytes(data.substr(at, tlog::kHashBytes)));
        out.push_back(h);
      }
      return out;
    };
  }

  // Compares `tile`, as the entries make it, with the server's (level 0 is the leaf reader's): a
  // hash that differs, or a tile not served, is a finding.
  void Compare(const tlog::Tile& tile, std::string_view entries, audit::LogVerifier& v) {
    if (tile.level == 0) return;
    const std::string path = tlog::TilePath(tile);
    Result<std::string> served = Fetch(tile);
    if (!served.ok()) {
      v.AddFinding(audit::FindingKind::kMalformed, 0,
                   fmt::format("hash tile {} cannot be read: {}", path, served.status().message()));
      return;
    }
    for (int i = 0; i < tile.width; ++i) {
      const size_t at = static_cast<size_t>(i) * tlog::kHashBytes;
      if (served->compare(at, tlog::kHashBytes, entries.substr(at, tlog::kHashBytes)) == 0) {
        continue;
      }
      const int level = tile.level * tlog::kTileHeight;
      const uint64_t index = tile.index * tlog::kTileWidth + static_cast<uint64_t>(i);
      v.AddFinding(audit::FindingKind::kAltered, 0,
                   fmt::format("hash tile {}: its hash {} (events {} to {}) is not the hash of "
                               "the served entries",
                               path, i, (index << level) + 1, (index + 1) << level));
      return;
    }
  }

  int fetched() const { return fetched_; }

 private:
  // The width the tree of size_ leaves has of tile (level, index).
  int WidthAt(int level, uint64_t index) const {
    const uint64_t at_level = size_ >> (level * tlog::kTileHeight);
    return static_cast<int>(
        std::min<uint64_t>(tlog::kTileWidth, at_level - index * tlog::kTileWidth));
  }

  Result<std::string> Fetch(const tlog::Tile& tile) {
    ++fetched_;
    const std::string path = tlog::TilePath(tile);
    VOUCH_ASSIGN_OR_RETURN(std::string data, fetch_.Get(std::string(kLogPath) + path));
    if (data.size() != tlog::kHashBytes * static_cast<size_t>(tile.width)) {
      return Status(StatusCode::kDataLoss, fmt::format("{} is {} bytes, not {}", path, data.size(),
                                                       tlog::kHashBytes * tile.width));
    }
    return data;
  }

  LogFetcher& fetch_;
  uint64_t size_;
  int fetched_ = 0;
};

// Feeds `v` the entries of the tree of `size` leaves, one bundle at a time, each named by its
// place in the tree (seq = index + 1), and `tiles` the tiles their hashes make as each is
// complete. A bundle that cannot be had or read ends the check (its failure is returned: the
// server's refusal, UNAVAILABLE, or DATA_LOSS for a bundle that is not one).
Status FeedEntries(LogFetcher& fetch, uint64_t size, ServedTiles& tiles, audit::LogVerifier& v) {
  tlog::TileStream stream;
  bool aligned = true;  // every bundle held its width: the entries' tiles line up with the tree's
  for (uint64_t first = 0; first < size; first += tlog::kTileWidth) {
    const int width = static_cast<int>(std::min<uint64_t>(tlog::kTileWidth, size - first));
    const std::string path = tlog::EntryBundlePath(first / tlog::kTileWidth, width);
    VOUCH_ASSIGN_OR_RETURN(std::string bundle, fetch.Get(std::string(kLogPath) + path));
    Result<std::vector<std::string>> entries = tlog::DecodeEntryBundle(bundle);
    if (!entries.ok()) {
      return Status(StatusCode::kDataLoss,
                    fmt::format("{} is not an entry bundle: {}", path, entries.status().message()));
    }
    const uint64_t held = entries->size();
    if (held != static_cast<uint64_t>(width)) {
      aligned = false;
      if (held < static_cast<uint64_t>(width)) {
        v.AddFinding(audit::FindingKind::kMissing, static_cast<int64_t>(first + held + 1),
                     fmt::format("event {} missing: {} holds {} events, not {}", first + held + 1,
                                 path, held, width));
      } else {
        v.AddFinding(audit::FindingKind::kAppendedOutOfOrder,
                     static_cast<int64_t>(first + width + 1),
                     fmt::format("{} holds {} events, not {}: those from event {} on are beyond it",
                                 path, held, width, first + width + 1));
      }
    }
    for (uint64_t i = 0; i < held; ++i) {
      const std::string& event = (*entries)[i];
      v.AddEvent(static_cast<int64_t>(first + i + 1), event);
      if (!aligned) continue;
      for (const auto& [tile, data] : stream.Append(tlog::LeafHash(event))) {
        tiles.Compare(tile, data, v);
      }
    }
    VOUCH_TRY(fetch.unreachable());
  }
  if (aligned) {
    for (const auto& [tile, data] : stream.Partial()) tiles.Compare(tile, data, v);
  }
  return fetch.unreachable();
}

// The server's own consistency proof from the saved checkpoint `old` to its latest, checked as any
// client would (RFC 9162). A finding when it cannot be had or does not verify; true when it does.
bool CheckConsistencyProof(LogFetcher& fetch, const tlog::Checkpoint& old,
                           const tlog::Checkpoint& latest, audit::LogVerifier& v) {
  Result<std::string> answer = fetch.Get(
      fmt::format("/api/v1/audit/proof/consistency?from={}&to={}", old.size, latest.size));
  Result<std::vector<tlog::Hash>> proof =
      answer.ok() ? HashesOf(*answer) : Result<std::vector<tlog::Hash>>(answer.status());
  if (!proof.ok()) {
    v.AddFinding(audit::FindingKind::kMalformed, 0,
                 fmt::format("the server's consistency proof from {} to {} cannot be had: {}",
                             old.size, latest.size, proof.status().message()));
    return false;
  }
  if (Status st = tlog::VerifyConsistency(old.size, latest.size, *proof, old.root, latest.root);
      !st.ok()) {
    v.AddFinding(audit::FindingKind::kInconsistent, 0,
                 fmt::format("checkpoint inconsistent: the server's proof from {} to {} does not "
                             "verify ({})",
                             old.size, latest.size, st.message()));
    return false;
  }
  return true;
}

// The server's consistency proof from each saved checkpoint that opens with `verifiers`, of the log
// of `latest` and within it (the engine compares the entries' root at each saved size; this checks
// what the server proves to any client). The saved sizes whose proof verifies.
std::vector<uint64_t> CheckConsistencyProofs(LogFetcher& fetch,
                                             const std::vector<audit::CheckpointSource>& saved,
                                             const std::vector<tlog::Verifier>& verifiers,
                                             const tlog::Checkpoint& latest,
                                             audit::LogVerifier& v) {
  std::vector<uint64_t> proved;
  for (const audit::CheckpointSource& c : saved) {
    Result<tlog::OpenedCheckpoint> old = tlog::OpenCheckpoint(c.note, verifiers, latest.origin);
    if (!old.ok() || old->checkpoint.size == 0 || old->checkpoint.size > latest.size) continue;
    if (CheckConsistencyProof(fetch, old->checkpoint, latest, v)) {
      proved.push_back(old->checkpoint.size);
    }
  }
  return proved;
}

int CheckServer(const ServerVerifyArgs& a, const std::string& url, HttpTransport& transport,
                Session& s) {
  Result<std::vector<tlog::Verifier>> trusted = TrustedKeys(a.keys);
  if (!trusted.ok()) return s.Fail(trusted.status().message(), kExitUsage);
  Result<std::vector<audit::CheckpointSource>> saved = SavedCheckpoints(a.saved_checkpoint);
  if (!saved.ok()) return s.Fail(saved.status().message(), kExitUsage);

  LogFetcher fetch(transport);
  Result<std::string> note = fetch.Get(std::string(kLogPath) + "checkpoint");
  if (!note.ok()) return FailFetch(note.status(), s);
  Result<std::string> key_text = fetch.Get("/api/v1/audit/keys?format=text");
  if (!key_text.ok()) return FailFetch(key_text.status(), s);
  audit::KeyFile published =
      audit::ParseKeyFile(*key_text, "the server's keys (/api/v1/audit/keys?format=text)");
  // The keys a checkpoint is opened with, as the engine opens them: those given, else those
  // published.
  const std::vector<tlog::Verifier> verifiers = trusted->empty() ? published.keys : *trusted;
  const size_t published_count = published.keys.size();
  const bool key_given = !trusted->empty();

  audit::LogVerifier v(
      {.trusted_keys = std::move(*trusted), .published_keys = std::move(published.keys)});
  for (std::string& problem : published.problems) {
    v.AddFinding(audit::FindingKind::kMalformed, 0, std::move(problem));
  }
  // Its size says how much to read even when its signature does not hold (the engine says why);
  // its root is compared when the entries reach it.
  Result<tlog::Checkpoint> claimed = UnverifiedCheckpoint(*note);
  if (!claimed.ok()) {
    v.AddFinding(
        audit::FindingKind::kMalformed, 0,
        fmt::format("the server's checkpoint cannot be read: {}", claimed.status().message()));
  } else {
    v.AddCheckpoint({fmt::format("served at {}checkpoint", kLogPath), *note});
    v.SetExpectedCount(claimed->size);
  }
  for (const audit::CheckpointSource& c : *saved) v.SetSavedCheckpoint(c);
  const uint64_t size = claimed.ok() ? claimed->size : 0;
  ServedTiles tiles(fetch, size);
  v.SetLeafHashReader(tiles.LeafReader());
  if (Status fed = FeedEntries(fetch, size, tiles, v); !fed.ok()) return FailFetch(fed, s);

  Result<tlog::OpenedCheckpoint> latest = tlog::OpenCheckpoint(*note, verifiers);
  std::vector<uint64_t> proved;
  if (latest.ok()) proved = CheckConsistencyProofs(fetch, *saved, verifiers, latest->checkpoint, v);
  if (!fetch.unreachable().ok()) return FailFetch(fetch.unreachable(), s);

  const int code = PrintVerification(v.Finish(), fmt::format("the server {}", url), s);
  if (code == kExitOk && latest.ok() && s.format() == OutputFormat::kTable) {
    s.out() << fmt::format(
        "log intact: the checkpoint of {} signed by {} ({} published key(s){}); {} hash tile(s) "
        "checked against the entries{}\n",
        latest->checkpoint.origin, KeyNames(latest->note.verified), published_count,
        key_given ? ", checked against the key(s) given by --key" : "", tiles.fetched(),
        proved.empty() ? ""
                       : fmt::format("; the server's consistency proof from {} verifies",
                                     fmt::join(proved, ", ")));
  }
  return code;
}

}  // namespace

int VerifyProofFileCommand(const ProofFileArgs& a, Session& s) {
  std::string report;
  Finding f = CheckProofFile(a, report);
  if (f.exit_code != kExitOk) return s.Fail(f.message, f.exit_code);
  s.out() << report;
  return kExitOk;
}

int VerifyServerCommand(const ServerVerifyArgs& a, Session& s) {
  if (s.env() == nullptr) return s.Fail("verify --server needs a client environment", kExitUsage);
  Result<std::string> url = NormalizeServerUrl(a.server);
  if (!url.ok()) return s.Fail(fmt::format("--server: {}", url.status().message()), kExitUsage);
  // The CLI's usual credentials, resolved for this server (its saved login included): the entry
  // bundles need the auditor role or admin.
  ClientEnv env = *s.env();
  env.options.server = *url;
  Result<Credential> credential = ResolveCredentials(env);
  if (!credential.ok()) return s.Fail(credential.status().message(), kExitUsage);
  std::unique_ptr<HttpTransport> transport = env.make_transport(credential->options);
  return CheckServer(a, *url, *transport, s);
}

int ProveCommand(const ProveArgs& a, Session& s) {
  Result<int64_t> seq = ParsePositiveInt(a.seq, "SEQ");
  if (!seq.ok()) return s.Fail(seq.status().message(), kExitUsage);
  std::string target = fmt::format("/api/v1/audit/proof/inclusion?seq={}", *seq);
  if (!a.size.empty()) {
    Result<int64_t> size = ParsePositiveInt(a.size, "--size");
    if (!size.ok()) return s.Fail(size.status().message(), kExitUsage);
    target += fmt::format("&size={}", *size);
  }
  Session::Reply reply = s.Fetch(Get(target));
  if (reply.exit_code != kExitOk) return reply.exit_code;
  const json::object* body = reply.body.if_object();
  auto field = [&](std::string_view name) -> const json::value* {
    if (body == nullptr) return nullptr;
    auto it = body->find(name);
    return it == body->end() ? nullptr : &it->value();
  };
  const json::value* index = field("index");
  const json::value* checkpoint = field("checkpoint");
  const json::value* event = field("event");
  Result<std::vector<tlog::Hash>> hashes = HashesOf(SerializeJson(reply.body));
  if (index == nullptr || !index->is_int64() || index->get_int64() != *seq - 1 ||
      checkpoint == nullptr || !checkpoint->is_string() || event == nullptr ||
      !event->is_string() || !hashes.ok()) {
    return s.Fail("the server's inclusion proof is not of the form docs/api.md gives",
                  kExitRefused);
  }
  // FormatProofFile writes the extra line's base64; the field holds the bytes themselves.
  tlog::ProofFile proof{.extra = std::string(event->get_string()),
                        .index = static_cast<uint64_t>(*seq - 1),
                        .proof = std::move(*hashes),
                        .checkpoint = std::string(checkpoint->get_string())};
  std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
  const std::string text = tlog::FormatProofFile(proof);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return s.Fail(fmt::format("cannot write {}", a.out), kExitUsage);
  const json::value* size = field("size");
  s.out() << fmt::format("wrote {}: the proof that event seq {} is in the tree of {} events\n",
                         a.out, *seq, size != nullptr && size->is_int64() ? size->get_int64() : 0);
  return kExitOk;
}

void AddAuditProveCommand(CLI::App& audit, Action& chosen) {
  auto a = std::make_shared<ProveArgs>();
  CLI::App* prove = audit.add_subcommand(
      "prove", "Write a C2SP tlog-proof file that event SEQ is in a checkpointed tree");
  prove->footer(
      "The file holds the proof's index (SEQ - 1), the inclusion proof, the signed checkpoint with "
      "its cosignatures, and the event's stored bytes (base64, on its `extra` line), so that "
      "`vouch audit verify FILE --key VKEY` checks it with nothing else. --size must be a "
      "checkpointed size (default: the latest checkpoint). Needs read access to the event, as "
      "`audit log`.");
  prove->add_option("SEQ", a->seq, "The event's sequence number")->required();
  prove->add_option("--size", a->size, "A checkpointed tree size (default: the latest)");
  prove->add_option("--out", a->out, "The proof file to write")->required();
  OnSelect(*prove, chosen, [a](Session& s, const Clock&) { return ProveCommand(*a, s); });
}

}  // namespace vouch::cli

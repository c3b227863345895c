// audit prove, and the two `audit verify` modes that check the Merkle log from outside the server:
//   audit prove SEQ [--size N] --out FILE    a C2SP tlog-proof file of event SEQ (index SEQ - 1)
//                                            in a checkpointed tree, the event's stored bytes in
//                                            its `extra` line
//   audit verify FILE --key VKEY [--event E] checks such a file offline
//   audit verify --server URL [--key VKEY] [--checkpoint SAVED]
//                                            checks a live server's log: its checkpoint, every
//                                            entry bundle and hash tile, and consistency with a
//                                            checkpoint saved earlier
// Exit codes as every verify mode: 0 intact, 1 not (or refused), 2 usage, 3 unreachable.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vouch/cli/args.h"
#include "vouch/cli/audit_proof.h"
#include "vouch/cli/commands.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/tlog/proof_file.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"
#include "vouch/util/json.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

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

// Verifier keys from --key values: each a key text or a file of them, one a line (lines that are
// not keys, such as comments, are skipped in files).
Result<std::vector<tlog::Verifier>> TrustedKeys(const std::vector<std::string>& values) {
  std::vector<tlog::Verifier> out;
  for (const std::string& value : values) {
    if (fs::is_regular_file(value)) {
      VOUCH_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(value));
      size_t before = out.size();
      for (const std::string& line : KeyLines(text)) {
        if (auto v = tlog::ParseVerifierKey(line); v.ok()) out.push_back(std::move(*v));
      }
      if (out.size() == before)
        return InvalidArgument(fmt::format("{} holds no verifier key", value));
      continue;
    }
    Result<tlog::Verifier> v = tlog::ParseVerifierKey(value);
    if (!v.ok()) {
      return InvalidArgument(fmt::format("--key {}: {}", value, v.status().message()));
    }
    out.push_back(std::move(*v));
  }
  return out;
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

// GETs against the server the transport was made for, the raw answer kept (tiles are bytes).
class LogFetcher {
 public:
  explicit LogFetcher(HttpTransport& transport) : transport_(transport) {}
  // The body of a 200 answer. UNAVAILABLE when no answer came; otherwise a refusal carrying the
  // server's message, PERMISSION_DENIED (for the exit code 1) whatever the status.
  Result<std::string> Get(std::string target) {
    HttpRequest r;
    r.method = "GET";
    r.target = std::move(target);
    VOUCH_ASSIGN_OR_RETURN(HttpResponse resp, transport_.Send(r));
    if (resp.status != 200) {
      return PermissionDenied(fmt::format("GET {}: {}", r.target, RefusalMessage(resp)));
    }
    return std::move(resp.body);
  }

 private:
  HttpTransport& transport_;
};

Finding FromFetch(const Status& st) {
  if (st.code() == StatusCode::kUnavailable) return {kExitUnreachable, std::string(st.message())};
  if (st.code() == StatusCode::kInvalidArgument) return {kExitUsage, std::string(st.message())};
  return {kExitRefused, std::string(st.message())};
}

// Every stored hash of a tree, level by level, computed from its leaf hashes.
struct Levels {
  std::vector<std::vector<tlog::Hash>> hashes;  // [level][index]
  explicit Levels(std::vector<tlog::Hash> leaves) {
    hashes.push_back(std::move(leaves));
    while (hashes.back().size() >= 2) {
      const auto& below = hashes.back();
      std::vector<tlog::Hash> up;
      up.reserve(below.size() / 2);
      for (size_t i = 0; i + 1 < below.size(); i += 2) {
        up.push_back(tlog::NodeHash(below[i], below[i + 1]));
      }
      hashes.push_back(std::move(up));
    }
  }
  tlog::HashReader Reader() const {
    return [this](int level, uint64_t index) -> Result<tlog::Hash> {
      if (static_cast<size_t>(level) >= hashes.size() || index >= hashes[level].size()) {
        return NotFound(fmt::format("no stored hash at level {}, index {}", level, index));
      }
      return hashes[level][index];
    };
  }
};

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

std::string Base64Hash(const tlog::Hash& h) { return Base64Encode(tlog::HashBytes(h)); }

Finding CheckServer(const ServerVerifyArgs& a, HttpTransport& transport, std::string& report) {
  LogFetcher fetch(transport);
  Result<std::vector<tlog::Verifier>> trusted = TrustedKeys(a.keys);
  if (!trusted.ok()) return {kExitUsage, std::string(trusted.status().message())};
  std::optional<std::string> saved_text;
  if (!a.saved_checkpoint.empty()) {
    Result<std::string> t = ReadWholeFile(a.saved_checkpoint);
    if (!t.ok()) return {kExitUsage, std::string(t.status().message())};
    saved_text = std::move(*t);
  }

  Result<std::string> note = fetch.Get(std::string(kLogPath) + "checkpoint");
  if (!note.ok()) return FromFetch(note.status());
  Result<std::string> key_text = fetch.Get("/api/v1/audit/keys?format=text");
  if (!key_text.ok()) return FromFetch(key_text.status());
  std::vector<tlog::Verifier> verifiers;
  for (const std::string& line : KeyLines(*key_text)) {
    if (auto v = tlog::ParseVerifierKey(line); v.ok()) verifiers.push_back(std::move(*v));
  }
  const size_t published = verifiers.size();
  verifiers.insert(verifiers.end(), trusted->begin(), trusted->end());
  Result<tlog::OpenedCheckpoint> opened = tlog::OpenCheckpoint(*note, verifiers);
  if (!opened.ok()) return Broken(SignatureProblem(opened.status(), "the server's checkpoint"));
  if (!trusted->empty()) {
    bool by_trusted = false;
    for (const auto& sig : opened->note.verified) {
      for (const auto& k : *trusted) by_trusted |= k.name == sig.name && k.key_id == sig.key_id;
    }
    if (!by_trusted) {
      return Broken(fmt::format(
          "unknown key: the server's checkpoint is signed by {}, none of them a key given by --key",
          KeyNames(opened->note.verified)));
    }
  }
  const tlog::Checkpoint& cp = opened->checkpoint;
  const uint64_t size = cp.size;

  // The entries: every bundle of the checkpointed tree, each event carrying its own number.
  std::vector<tlog::Hash> leaves;
  leaves.reserve(size);
  for (uint64_t first = 0; first < size; first += tlog::kTileWidth) {
    const uint64_t n = std::min<uint64_t>(tlog::kTileWidth, size - first);
    const int width = static_cast<int>(n);
    std::string path = tlog::EntryBundlePath(first / tlog::kTileWidth, width);
    Result<std::string> bundle = fetch.Get(std::string(kLogPath) + path);
    if (!bundle.ok()) return FromFetch(bundle.status());
    Result<std::vector<std::string>> entries = tlog::DecodeEntryBundle(*bundle);
    if (!entries.ok()) {
      return Broken(fmt::format("{} is not an entry bundle: {}", path, entries.status().message()));
    }
    if (entries->size() != n) {
      return Broken(fmt::format("event seq {} missing: {} holds {} events, not {}",
                                first + entries->size() + 1, path, entries->size(), n));
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      const uint64_t seq = first + i + 1;
      std::optional<int64_t> carried = SeqOf((*entries)[i]);
      if (!carried) return Broken(fmt::format("event seq {} altered: it carries no seq", seq));
      if (*carried != static_cast<int64_t>(seq)) {
        return Broken(fmt::format("event seq {} reordered: the event in its place carries seq {}",
                                  seq, *carried));
      }
      leaves.push_back(tlog::LeafHash((*entries)[i]));
    }
  }
  const Levels levels(std::move(leaves));

  // The hash tiles: what the server proves with must be what its entries give. Level 0 first, so
  // that an altered event is named by its seq.
  int tiles = 0;
  for (const tlog::Tile& tile : tlog::TilesOfTree(size)) {
    const std::string path = tlog::TilePath(tile);
    Result<std::string> data = fetch.Get(std::string(kLogPath) + path);
    if (!data.ok()) return FromFetch(data.status());
    if (data->size() != tlog::kHashBytes * static_cast<size_t>(tile.width)) {
      return Broken(fmt::format("tile {} is {} bytes, not {}", path, data->size(),
                                tlog::kHashBytes * tile.width));
    }
    const auto& row = levels.hashes[static_cast<size_t>(tile.level) * tlog::kTileHeight];
    for (int i = 0; i < tile.width; ++i) {
      const uint64_t index = tile.index * tlog::kTileWidth + i;
      if (data->compare(i * tlog::kHashBytes, tlog::kHashBytes, tlog::HashBytes(row[index])) != 0) {
        if (tile.level == 0) {
          return Broken(fmt::format(
              "event seq {} altered: its bytes do not hash to what the log stored for it ({})",
              index + 1, path));
        }
        return Broken(fmt::format("tile {}: its hash {} differs from the entries'", path, i));
      }
    }
    ++tiles;
  }
  Result<tlog::Hash> root = tlog::TreeHash(size, levels.Reader());
  if (!root.ok()) return Broken(std::string(root.status().message()));
  if (*root != cp.root) {
    return Broken(
        fmt::format("checkpoint inconsistent: the {} entries hash to {}, the checkpoint "
                    "says {}",
                    size, Base64Hash(*root), Base64Hash(cp.root)));
  }

  std::string saved_line;
  if (saved_text) {
    Result<tlog::OpenedCheckpoint> saved = tlog::OpenCheckpoint(*saved_text, verifiers);
    if (!saved.ok()) return Broken(SignatureProblem(saved.status(), "the saved checkpoint"));
    const tlog::Checkpoint& old = saved->checkpoint;
    if (old.origin != cp.origin) {
      return Broken(fmt::format("the saved checkpoint is of the log {}, the server's of {}",
                                old.origin, cp.origin));
    }
    if (old.size > size) {
      return Broken(
          fmt::format("log truncated: the server's checkpoint holds {} events, the saved "
                      "one {}",
                      size, old.size));
    }
    Result<tlog::Hash> old_root = tlog::TreeHash(old.size, levels.Reader());
    if (!old_root.ok()) return Broken(std::string(old_root.status().message()));
    if (*old_root != old.root) {
      return Broken(fmt::format(
          "checkpoint inconsistent: the saved checkpoint of {} events has root {}, the server's "
          "first {} events hash to {}",
          old.size, Base64Hash(old.root), old.size, Base64Hash(*old_root)));
    }
    // And the server's own proof, as any client would check it.
    Result<std::string> proof_json =
        fetch.Get(fmt::format("/api/v1/audit/proof/consistency?from={}&to={}", old.size, size));
    if (!proof_json.ok()) return FromFetch(proof_json.status());
    Result<std::vector<tlog::Hash>> proof = HashesOf(*proof_json);
    if (!proof.ok()) {
      return Broken(
          fmt::format("the server's consistency proof is malformed: {}", proof.status().message()));
    }
    if (Status st = tlog::VerifyConsistency(old.size, size, *proof, old.root, cp.root); !st.ok()) {
      return Broken(
          fmt::format("checkpoint inconsistent: the server's proof from {} to {} does not "
                      "verify ({})",
                      old.size, size, st.message()));
    }
    saved_line = fmt::format("; consistent with the saved checkpoint of {} events", old.size);
  }
  report = fmt::format(
      "log intact: {} events, root {}, checkpoint of {} signed by {} ({} published key(s){}); {} "
      "tile(s) checked{}\n",
      size, Base64Hash(cp.root), cp.origin, KeyNames(opened->note.verified), published,
      trusted->empty() ? "" : ", one given by --key", tiles, saved_line);
  return Intact();
}
}  // namespace

std::vector<std::string> KeyLines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

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
  std::string report;
  Finding f = CheckServer(a, *transport, report);
  if (f.exit_code != kExitOk) return s.Fail(f.message, f.exit_code);
  s.out() << report;
  return kExitOk;
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

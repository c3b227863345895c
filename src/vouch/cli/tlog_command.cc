// dev tlog: test-support commands over the pure tlog layer (no store, no server), so that tests
// can check vouch's Merkle trees, tiles, signed notes, checkpoints and proofs with code no one here
// wrote (tests/interop/tlog, Go's golang.org/x/mod/sumdb/note and …/tlog), in both directions:
//   dev tlog keygen --name N                 prints a signer key line and its verifier key line
//   dev tlog write --key FILE --out DIR …    leaves on standard input (one a line) to a checkpoint
//                                            (cosigned with --cosigner), tiles, entry bundles and
//                                            proofs under DIR
//   dev tlog verify --vkey KEY --dir DIR     checks what another implementation wrote in that form
//                                            (and its witnesses' cosignatures with --witness)
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "vouch/cli/commands.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/cosignature.h"
#include "vouch/tlog/merkle.h"
#include "vouch/tlog/note.h"
#include "vouch/tlog/proof_file.h"
#include "vouch/tlog/tiles.h"
#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

namespace fs = std::filesystem;

// Every stored hash of a tree of the given leaves, level by level, and a reader over them.
class MemoryTree {
 public:
  explicit MemoryTree(const std::vector<std::string>& leaves) {
    for (const std::string& leaf : leaves) {
      for (const tlog::StoredHash& s : edge_.Append(tlog::LeafHash(leaf))) {
        if (levels_.size() <= static_cast<size_t>(s.level)) levels_.resize(s.level + 1);
        levels_[s.level].push_back(s.hash);
      }
    }
  }
  tlog::HashReader Reader() const {
    return [this](int level, uint64_t index) -> Result<tlog::Hash> {
      if (static_cast<size_t>(level) >= levels_.size() || index >= levels_[level].size()) {
        return NotFound(fmt::format("no stored hash at level {}, index {}", level, index));
      }
      return levels_[level][index];
    };
  }
  uint64_t size() const { return edge_.size(); }
  tlog::Hash Root() const { return edge_.Root(); }

 private:
  tlog::RightEdge edge_;
  std::vector<std::vector<tlog::Hash>> levels_;
};

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {}", path.string()));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status WriteWhole(const fs::path& path, std::string_view data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return Unavailable(fmt::format("cannot write {}", path.string()));
  return OkStatus();
}

// Lines without their newlines; a final newline ends the last line rather than starting one.
std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "A:B" as two numbers.
Result<std::pair<uint64_t, uint64_t>> ParsePair(std::string_view text) {
  const size_t colon = text.find(':');
  std::pair<uint64_t, uint64_t> p;
  auto number = [](std::string_view s, uint64_t& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  if (colon == std::string_view::npos || !number(text.substr(0, colon), p.first) ||
      !number(text.substr(colon + 1), p.second)) {
    return InvalidArgument(fmt::format("\"{}\" is not A:B", text));
  }
  return p;
}

struct WriteArgs {
  std::string key_file;
  std::string cosigner_file;
  std::string origin;
  std::string out;
  std::vector<std::string> inclusion;    // I:N
  std::vector<std::string> consistency;  // M:N
};

Result<std::string> SignedCheckpoint(const MemoryTree& tree, uint64_t size,
                                     const std::string& origin, const tlog::Signer& signer) {
  VOUCH_ASSIGN_OR_RETURN(tlog::Hash root, tlog::TreeHash(size, tree.Reader()));
  return tlog::SignCheckpoint({origin, size, root, {}}, std::span(&signer, 1));
}

Status WriteLog(const WriteArgs& a, const std::vector<std::string>& leaves, Session& s,
                const Clock& clock) {
  VOUCH_ASSIGN_OR_RETURN(std::string key_text, ReadWhole(a.key_file));
  VOUCH_ASSIGN_OR_RETURN(tlog::Signer signer, tlog::ParseSignerKey(Trim(key_text)));
  const std::string origin = a.origin.empty() ? signer.name : a.origin;
  const fs::path out(a.out);
  MemoryTree tree(leaves);
  VOUCH_ASSIGN_OR_RETURN(std::string checkpoint,
                         SignedCheckpoint(tree, tree.size(), origin, signer));
  if (!a.cosigner_file.empty()) {
    VOUCH_ASSIGN_OR_RETURN(std::string cosigner_text, ReadWhole(a.cosigner_file));
    VOUCH_ASSIGN_OR_RETURN(tlog::Signer witness, tlog::ParseSignerKey(Trim(cosigner_text)));
    VOUCH_ASSIGN_OR_RETURN(checkpoint, tlog::Cosign(checkpoint, tlog::CosignerOf(witness),
                                                    static_cast<uint64_t>(clock.NowMs() / 1000)));
  }
  VOUCH_TRY(WriteWhole(out / "checkpoint", checkpoint));
  int tiles = 0;
  for (const tlog::Tile& t : tlog::TilesOfTree(tree.size())) {
    VOUCH_ASSIGN_OR_RETURN(std::string data, tlog::ReadTile(t, tree.Reader()));
    VOUCH_TRY(WriteWhole(out / tlog::TilePath(t), data));
    ++tiles;
  }
  int bundles = 0;
  for (size_t first = 0; first < leaves.size(); first += tlog::kTileWidth) {
    const size_t last = std::min(leaves.size(), first + tlog::kTileWidth);
    std::vector<std::string> entries(leaves.begin() + first, leaves.begin() + last);
    VOUCH_ASSIGN_OR_RETURN(std::string bundle, tlog::EncodeEntryBundle(entries));
    VOUCH_TRY(WriteWhole(
        out / tlog::EntryBundlePath(first / tlog::kTileWidth, static_cast<int>(last - first)),
        bundle));
    ++bundles;
  }
  for (const std::string& pair : a.inclusion) {
    VOUCH_ASSIGN_OR_RETURN(auto in, ParsePair(pair));
    tlog::ProofFile p;
    p.index = in.first;
    VOUCH_ASSIGN_OR_RETURN(p.proof, tlog::InclusionProof(in.first, in.second, tree.Reader()));
    VOUCH_ASSIGN_OR_RETURN(p.checkpoint, SignedCheckpoint(tree, in.second, origin, signer));
    VOUCH_TRY(WriteWhole(out / "proof" / fmt::format("{}-{}.tlog-proof", in.first, in.second),
                         tlog::FormatProofFile(p)));
  }
  for (const std::string& pair : a.consistency) {
    VOUCH_ASSIGN_OR_RETURN(auto mn, ParsePair(pair));
    VOUCH_ASSIGN_OR_RETURN(std::vector<tlog::Hash> proof,
                           tlog::ConsistencyProof(mn.first, mn.second, tree.Reader()));
    std::string text;
    for (const tlog::Hash& h : proof) text += Base64Encode(tlog::HashBytes(h)) + "\n";
    VOUCH_TRY(WriteWhole(out / "consistency" / fmt::format("{}-{}", mn.first, mn.second), text));
  }
  s.out() << fmt::format(
      "{{\"size\": {}, \"root\": \"{}\", \"tiles\": {}, \"entry_bundles\": {}, "
      "\"inclusion_proofs\": {}, \"consistency_proofs\": {}}}\n",
      tree.size(), Base64Encode(tlog::HashBytes(tree.Root())), tiles, bundles, a.inclusion.size(),
      a.consistency.size());
  return OkStatus();
}

int Write(const WriteArgs& a, Session& s, const Clock& clock) {
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  Status written = WriteLog(a, Lines(input), s, clock);
  if (!written.ok()) return s.Fail(written.message(), kExitRefused);
  return kExitOk;
}

struct VerifyArgs {
  std::string vkey;
  std::vector<std::string> witnesses;  // cosignature verifier keys
  std::string dir;
  std::string origin;
};

// Checks everything under DIR; each failure is printed and counted.
int Verify(const VerifyArgs& a, Session& s) {
  Result<tlog::Verifier> verifier = tlog::ParseVerifierKey(Trim(a.vkey));
  if (!verifier.ok()) return s.Fail(verifier.status().message(), kExitUsage);
  const std::vector<tlog::Verifier> verifiers = {*verifier};
  const fs::path dir(a.dir);
  Result<std::string> leaves_text = ReadWhole(dir / "leaves");
  if (!leaves_text.ok()) return s.Fail(leaves_text.status().message(), kExitUsage);
  const std::vector<std::string> leaves = Lines(*leaves_text);
  const MemoryTree tree(leaves);
  int failures = 0;
  auto fail = [&](std::string_view what, const Status& st) {
    s.err() << fmt::format("vouch: {}: {}\n", what, st.ToString());
    ++failures;
  };

  std::vector<tlog::CosignatureVerifier> witnesses;
  for (const std::string& w : a.witnesses) {
    Result<tlog::CosignatureVerifier> parsed = tlog::ParseCosignatureVerifierKey(Trim(w));
    if (!parsed.ok()) return s.Fail(parsed.status().message(), kExitUsage);
    witnesses.push_back(*parsed);
  }

  int checkpoints = 0;
  size_t cosignatures = 0;
  if (Result<std::string> note = ReadWhole(dir / "checkpoint"); !note.ok()) {
    fail("checkpoint", note.status());
  } else if (Result<tlog::OpenedCheckpoint> c = tlog::OpenCheckpoint(*note, verifiers, a.origin);
             !c.ok()) {
    fail("checkpoint", c.status());
  } else if (c->checkpoint.size != tree.size() || c->checkpoint.root != tree.Root()) {
    fail("checkpoint", FailedPrecondition(fmt::format("it says size {}; the leaves make {} with "
                                                      "another root or size",
                                                      c->checkpoint.size, tree.size())));
  } else if (Result<std::vector<tlog::VerifiedCosignature>> cosigned =
                 tlog::VerifyCosignatures(c->note, witnesses);
             !cosigned.ok()) {
    fail("checkpoint", cosigned.status());
  } else if (cosigned->size() != witnesses.size()) {
    fail("checkpoint", FailedPrecondition(fmt::format("cosigned by {} of the {} witnesses",
                                                      cosigned->size(), witnesses.size())));
  } else {
    ++checkpoints;
    cosignatures = cosigned->size();
  }

  int tiles = 0;
  int bundles = 0;
  std::error_code ec;
  if (fs::exists(dir / "tile", ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(dir / "tile", ec)) {
      if (!entry.is_regular_file()) continue;
      const std::string rel = entry.path().lexically_relative(dir).generic_string();
      Result<tlog::TileAddress> address = tlog::ParseTilePath(rel);
      Result<std::string> data = ReadWhole(entry.path());
      if (!address.ok() || !data.ok()) {
        fail(rel, address.ok() ? data.status() : address.status());
        continue;
      }
      const tlog::Tile& t = address->tile;
      if (address->entries) {
        Result<std::vector<std::string>> got = tlog::DecodeEntryBundle(*data);
        const uint64_t first = t.index * tlog::kTileWidth;
        if (!got.ok()) {
          fail(rel, got.status());
        } else if (first + t.width > leaves.size() ||
                   !std::equal(got->begin(), got->end(), leaves.begin() + first,
                               leaves.begin() + first + t.width) ||
                   got->size() != static_cast<size_t>(t.width)) {
          fail(rel, FailedPrecondition("the bundle's entries are not the leaves"));
        } else {
          ++bundles;
        }
        continue;
      }
      Result<std::string> want = tlog::ReadTile(t, tree.Reader());
      if (!want.ok()) {
        fail(rel, want.status());
      } else if (*want != *data) {
        fail(rel, FailedPrecondition("the tile's hashes are not the tree's"));
      } else {
        ++tiles;
      }
    }
  }

  int inclusion = 0;
  int consistency = 0;
  for (const char* kind : {"proof", "consistency"}) {
    if (!fs::exists(dir / kind, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir / kind, ec)) {
      const std::string name = entry.path().filename().string();
      Result<std::string> text = ReadWhole(entry.path());
      if (!text.ok()) {
        fail(name, text.status());
        continue;
      }
      if (std::string_view(kind) == "proof") {
        Result<tlog::ProofFile> p = tlog::ParseProofFile(*text);
        if (!p.ok()) {
          fail(name, p.status());
        } else if (p->index >= leaves.size()) {
          fail(name, InvalidArgument("the index is past the leaves"));
        } else if (Result<tlog::OpenedCheckpoint> ok =
                       tlog::VerifyProofFile(*p, leaves[p->index], verifiers, a.origin);
                   !ok.ok()) {
          fail(name, ok.status());
        } else {
          ++inclusion;
        }
        continue;
      }
      std::string pair = name;
      std::replace(pair.begin(), pair.end(), '-', ':');
      Result<std::pair<uint64_t, uint64_t>> mn = ParsePair(pair);
      std::vector<tlog::Hash> proof;
      bool malformed = false;
      for (const std::string& line : Lines(*text)) {
        std::optional<std::string> raw = Base64Decode(line);
        malformed = malformed || !raw || raw->size() != tlog::kHashBytes;
        if (!malformed) proof.push_back(*tlog::HashFromBytes(*raw));
      }
      if (!mn.ok() || mn->second > tree.size() || malformed) {
        fail(name, InvalidArgument("not M-N within the leaves, or a line not a base64 hash"));
        continue;
      }
      Result<tlog::Hash> old_root = tlog::TreeHash(mn->first, tree.Reader());
      Result<tlog::Hash> new_root = tlog::TreeHash(mn->second, tree.Reader());
      if (Status st = tlog::VerifyConsistency(mn->first, mn->second, proof, *old_root, *new_root);
          !st.ok()) {
        fail(name, st);
      } else {
        ++consistency;
      }
    }
  }
  s.out() << fmt::format(
      "{{\"leaves\": {}, \"checkpoints\": {}, \"cosignatures\": {}, \"tiles\": {}, "
      "\"entry_bundles\": {}, \"inclusion_proofs\": {}, \"consistency_proofs\": {}, "
      "\"failures\": {}}}\n",
      leaves.size(), checkpoints, cosignatures, tiles, bundles, inclusion, consistency, failures);
  return failures == 0 ? kExitOk : kExitRefused;
}

int Keygen(const std::string& name, Session& s) {
  Result<tlog::Signer> signer = tlog::GenerateSigner(name);
  if (!signer.ok()) return s.Fail(signer.status().message(), kExitUsage);
  s.out() << tlog::FormatSignerKey(*signer) << "\n"
          << tlog::FormatVerifierKey(tlog::VerifierOf(*signer)) << "\n";
  return kExitOk;
}

}  // namespace

void AddTlogCommand(CLI::App& dev, Action& chosen) {
  CLI::App* tlog = dev.add_subcommand(
      "tlog",
      "Merkle log formats (C2SP tlog-tiles, signed-note, tlog-checkpoint, tlog-proof) over leaves "
      "given here, for interoperability tests; opens no store");
  tlog->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  CLI::App* keygen = tlog->add_subcommand(
      "keygen", "Print a new Ed25519 signer key (PRIVATE+KEY+…) and its verifier key, a line each");
  keygen->add_option("--name", *name, "The key's name (the log's origin)")->required();
  OnSelect(*keygen, chosen, [name](Session& s, const Clock&) { return Keygen(*name, s); });

  auto w = std::make_shared<WriteArgs>();
  CLI::App* write = tlog->add_subcommand(
      "write",
      "Read leaves from standard input, one a line, and write under --out: checkpoint (signed), "
      "tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>], proof/<I>-<N>.tlog-proof, "
      "consistency/<M>-<N> (base64 hashes, one a line)");
  write->add_option("--key", w->key_file, "A file holding the signer key (PRIVATE+KEY+…)")
      ->required();
  write->add_option("--cosigner", w->cosigner_file,
                    "A file holding a witness's signer key: the checkpoint gets its C2SP "
                    "cosignature/v1, timestamped now");
  write->add_option("--origin", w->origin, "The checkpoint's origin (default: the key's name)");
  write->add_option("--out", w->out, "The directory to write")->required();
  AddRepeated(*write, "--inclusion", w->inclusion, "I:N: an inclusion proof of leaf I in size N");
  AddRepeated(*write, "--consistency", w->consistency, "M:N: a consistency proof from M to N");
  OnSelect(*write, chosen, [w](Session& s, const Clock& clock) { return Write(*w, s, clock); });

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* verify = tlog->add_subcommand(
      "verify",
      "Check a directory in write's form with `leaves` (one a line) beside it: the checkpoint, "
      "every tile, entry bundle, tlog-proof and consistency proof; exit 1 naming each failure");
  verify->add_option("--vkey", v->vkey, "The log's verifier key (<name>+<id>+<key>)")->required();
  verify->add_option("--dir", v->dir, "The directory")->required();
  verify->add_option("--origin", v->origin, "The origin the checkpoints must have");
  AddRepeated(*verify, "--witness", v->witnesses,
              "A witness's cosignature key (<name>+<id>+<base64(0x04 || key)>) that must have "
              "cosigned the checkpoint");
  OnSelect(*verify, chosen, [v](Session& s, const Clock&) { return Verify(*v, s); });
}

}  // namespace vouch::cli

// Seeded, bounded random-input tests of what an auditor's tools read from outside: an export's
// events.jsonl (through the reader and the verification engine), its keys.txt, signed
// checkpoints and saved checkpoint files, and tlog-proof files. They run in the sanitizer build
// (make test), where a memory error or undefined behaviour aborts; here they also assert the
// property that matters: any change to an exported log's bytes under a checkpoint is detected.
//
// Each iteration draws from its own generator seeded with (kSeed, iteration), so a failure's
// iteration number reproduces it. Each test runs a fixed number of iterations, whatever the
// machine's speed, so what it checks does not depend on the clock. VOUCH_FUZZ_SCALE=N (e.g. 100)
// runs N times as many: the longer run of docs/operations.md "Fuzzing the audit parsers".
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "vouch/audit/export.h"
#include "vouch/audit/verify.h"
#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/proof_file.h"

namespace vouch::audit {
namespace {

constexpr uint64_t kSeed = 0x6578706f7274;  // "export"

int Scale() {
  const char* text = std::getenv("VOUCH_FUZZ_SCALE");
  const int scale = text != nullptr ? std::atoi(text) : 1;
  return scale > 0 ? scale : 1;
}

template <typename F>
void Iterate(int iterations, F body) {
  const int n = iterations * Scale();
  for (int i = 0; i < n; ++i) {
    std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull));
    body(rng, i);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// One to four edits: a byte changed (to anything, or to a character the formats care about),
// inserted, removed, a span cut out, or the text cut short.
std::string Mutate(std::string s, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[at] = static_cast<char>(rng());
        break;
      case 1:
        if (!s.empty()) s[at] = "\n{}[]\",:0123456789\\ \xe2"[rng() % 22];
        break;
      case 2:
        s.insert(at, 1, "\n\",{}9"[rng() % 6]);
        break;
      case 3:
        if (!s.empty()) s.erase(at, 1);
        break;
      case 4:
        if (!s.empty()) s.erase(at, 1 + rng() % 64);
        break;
      default:
        s.resize(at);
        break;
    }
  }
  return s;
}

bool OneIn(std::mt19937_64& rng) { return rng() % 3 == 0; }

std::string Event(int64_t seq) {
  return CanonicalJson(json::object{{"schema", 2},
                                    {"seq", seq},
                                    {"action", "model_version.created"},
                                    {"actor", json::object{{"id", 1}, {"name", "alice"}}},
                                    {"target", json::object{{"model", "m"}, {"version", seq}}},
                                    {"comment", "a \"quoted\" \\ comment \u00e9"}})
      .value();
}

struct ExportFixture {
  tlog::Signer signer = tlog::GenerateSigner("fuzz.example/api/v1/audit/log").value();
  std::vector<std::string> events;
  std::string jsonl;
  std::string checkpoint;
  std::string keys;
  explicit ExportFixture(int n) {
    tlog::RightEdge edge;
    for (int i = 1; i <= n; ++i) {
      events.push_back(Event(i));
      jsonl += events.back() + "\n";
      edge.Append(tlog::LeafHash(events.back()));
    }
    checkpoint = tlog::SignCheckpoint({signer.name, static_cast<uint64_t>(n), edge.Root(), {}},
                                      std::span(&signer, 1))
                     .value();
    keys = tlog::FormatVerifierKey(tlog::VerifierOf(signer)) + "\n";
  }
};

VerificationReport VerifyExport(std::string_view jsonl, std::string_view keys,
                                std::string_view checkpoint, size_t chunk) {
  KeyFile key_file = ParseKeyFile(keys);
  LogVerifier v({.published_keys = key_file.keys, .position_name = "line"});
  for (const std::string& note : SplitSignedNotes(checkpoint)) v.AddCheckpoint({"fuzz", note});
  ExportEventReader reader(v);
  for (size_t at = 0; at < jsonl.size(); at += chunk) reader.Feed(jsonl.substr(at, chunk));
  reader.Finish();
  return v.Finish();
}

TEST(ExportFuzz, AnyChangeToTheEventsUnderACheckpointIsDetected) {
  const ExportFixture x(37);
  ASSERT_TRUE(VerifyExport(x.jsonl, x.keys, x.checkpoint, 4096).ok());
  Iterate(400, [&](std::mt19937_64& rng, int i) {
    const std::string changed = Mutate(x.jsonl, rng);
    const VerificationReport r = VerifyExport(changed, x.keys, x.checkpoint, 1 + rng() % 200);
    EXPECT_EQ(r.ok(), changed == x.jsonl) << "iteration " << i;
    for (const Finding& f : r.findings) EXPECT_FALSE(f.message.empty()) << "iteration " << i;
  });
}

TEST(ExportFuzz, MutatedKeysAndCheckpointsAreRefusedOrHoldButNeverCrash) {
  const ExportFixture x(20);
  Iterate(400, [&](std::mt19937_64& rng, int i) {
    const std::string keys = OneIn(rng) ? Mutate(x.keys, rng) : x.keys;
    const std::string checkpoint = Mutate(x.checkpoint + "\n" + x.checkpoint, rng);
    const VerificationReport r = VerifyExport(x.jsonl, keys, checkpoint, 512);
    EXPECT_EQ(r.events, 20u) << "iteration " << i;
    // Whatever held was a checkpoint of this very log, signed by its key.
    EXPECT_LE(r.checkpoints_ok, 2u) << "iteration " << i;
    if (r.checkpoints_ok > 0) {
      EXPECT_EQ(r.latest_checkpoint, 20u) << "iteration " << i;
    }
  });
}

TEST(ExportFuzz, MutatedProofFilesAreRefusedOrVerifyTheirEntry) {
  const ExportFixture x(9);
  std::vector<tlog::Hash> leaves;
  for (const std::string& e : x.events) leaves.push_back(tlog::LeafHash(e));
  tlog::HashReader read = [&](int level, uint64_t index) -> Result<tlog::Hash> {
    // Only leaves are stored here; higher hashes are recomputed for the test.
    std::vector<tlog::Hash> row = leaves;
    for (int l = 0; l < level; ++l) {
      std::vector<tlog::Hash> up;
      for (size_t k = 0; k + 1 < row.size(); k += 2)
        up.push_back(tlog::NodeHash(row[k], row[k + 1]));
      row = up;
    }
    if (index >= row.size()) return InvalidArgument("no such hash");
    return row[index];
  };
  const tlog::ProofFile proof{std::nullopt, 4, tlog::InclusionProof(4, 9, read).value(),
                              x.checkpoint};
  const std::string text = tlog::FormatProofFile(proof);
  const std::vector<tlog::Verifier> keys = {tlog::VerifierOf(x.signer)};
  ASSERT_TRUE(tlog::VerifyProofFile(proof, x.events[4], keys).ok());
  Iterate(600, [&](std::mt19937_64& rng, int i) {
    Result<tlog::ProofFile> parsed = tlog::ParseProofFile(Mutate(text, rng));
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << "iteration " << i;
      return;
    }
    Result<tlog::OpenedCheckpoint> verified = tlog::VerifyProofFile(*parsed, x.events[4], keys);
    if (verified.ok()) {
      // Only the true index and proof can lead to the signed root.
      EXPECT_EQ(parsed->index, 4u) << "iteration " << i;
      EXPECT_EQ(parsed->proof, proof.proof) << "iteration " << i;
    }
  });
}

TEST(ExportFuzz, RandomBytesAsAnExportNeverCrash) {
  Iterate(300, [&](std::mt19937_64& rng, int i) {
    std::string bytes(rng() % 2048, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? '\n' : rng());
    const VerificationReport r = VerifyExport(bytes, bytes, bytes, 1 + rng() % 300);
    EXPECT_EQ(r.checkpoints_ok, 0u) << "iteration " << i;
    (void)SplitSignedNotes(bytes);
    (void)ParseKeyFile(bytes);
  });
}

}  // namespace
}  // namespace vouch::audit

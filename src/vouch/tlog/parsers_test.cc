// Every parser of the layer takes bytes from outside (a server's tiles, a proof file an auditor was
// handed): fed valid inputs with random bytes changed, cut or inserted, they return a value or
// INVALID_ARGUMENT-class refusals and never crash; what they accept formats back to the same text.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/note.h"
#include "vouch/tlog/proof_file.h"
#include "vouch/tlog/tiles.h"

namespace vouch::tlog {
namespace {

std::string Mutate(std::string s, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < edits; ++i) {
    const size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 4) {
      case 0:
        if (!s.empty()) s[at] = static_cast<char>(rng());
        break;
      case 1:
        if (!s.empty()) s[at] = "\n+ -0x/.p\xe2"[rng() % 11];
        break;
      case 2:
        s.insert(at, 1, static_cast<char>(rng()));
        break;
      default:
        s.resize(at);
        break;
    }
  }
  return s;
}

TEST(TlogParsers, MutatedInputsAreRefusedOrRoundTripButNeverCrash) {
  std::mt19937_64 rng(1414);
  Result<Signer> signer = GenerateSigner("example.com/log");
  ASSERT_TRUE(signer.ok());
  const std::vector<Verifier> verifiers = {VerifierOf(*signer)};
  Checkpoint c{"example.com/log", 12345, LeafHash("x"), {"ext"}};
  const std::string checkpoint_text = *FormatCheckpoint(c);
  const std::string note = *SignCheckpoint(c, std::span(&*signer, 1));
  ProofFile p{"extra", 77, {LeafHash("a"), LeafHash("b")}, note};
  const std::string proof_text = FormatProofFile(p);
  const std::string bundle = *EncodeEntryBundle({"one", "two", std::string(300, 'z')});
  const std::vector<std::string> keys = {FormatSignerKey(*signer), FormatVerifierKey(verifiers[0])};

  for (int i = 0; i < 20000; ++i) {
    if (Result<Checkpoint> got = ParseCheckpoint(Mutate(checkpoint_text, rng)); got.ok()) {
      Result<std::string> again = FormatCheckpoint(*got);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(ParseCheckpoint(*again).value(), *got);
    }
    if (Result<ProofFile> got = ParseProofFile(Mutate(proof_text, rng)); got.ok()) {
      EXPECT_EQ(ParseProofFile(FormatProofFile(*got)).value(), *got);
      (void)VerifyProofFile(*got, "entry", verifiers);
    }
    Result<OpenedNote> opened = Open(Mutate(note, rng), verifiers);
    if (opened.ok()) {
      EXPECT_EQ(opened->verified.size(), 1u);
    }
    if (Result<std::vector<std::string>> got = DecodeEntryBundle(Mutate(bundle, rng)); got.ok()) {
      EXPECT_TRUE(EncodeEntryBundle(*got).ok());
    }
    if (Result<TileAddress> got = ParseTilePath(Mutate("tile/1/x001/x234/067.p/9", rng));
        got.ok()) {
      const std::string back =
          got->entries ? EntryBundlePath(got->tile.index, got->tile.width) : TilePath(got->tile);
      EXPECT_EQ(ParseTilePath(back).value(), *got);
    }
    (void)ParseSignerKey(Mutate(keys[0], rng));
    (void)ParseVerifierKey(Mutate(keys[1], rng));
  }
}

}  // namespace
}  // namespace vouch::tlog

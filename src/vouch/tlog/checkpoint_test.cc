#include "vouch/tlog/checkpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vouch/tlog/proof_file.h"
#include "vouch/util/crypto.h"

namespace vouch::tlog {
namespace {

Checkpoint Example() {
  Checkpoint c;
  c.origin = "example.com/behind-the-sofa";
  c.size = 20852163;
  c.root = *HashFromBytes(*Base64Decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="));
  return c;
}

TEST(TlogCheckpoint, TheBodyIsOriginSizeAndBase64Root) {
  // The example of c2sp.org/tlog-checkpoint.
  Result<std::string> text = FormatCheckpoint(Example());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(
      *text,
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  Result<Checkpoint> parsed = ParseCheckpoint(*text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, Example());

  Checkpoint with_ext = Example();
  with_ext.extensions = {"ext one", "ext two"};
  parsed = ParseCheckpoint(*FormatCheckpoint(with_ext));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->extensions, with_ext.extensions);
}

TEST(TlogCheckpoint, MalformedBodiesAreRefused) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  for (const std::string& bad : std::vector<std::string>{
           "o\n1\n" + root,                            // no final newline
           "o\n1\n",                                   // two lines
           "\n1\n" + root + "\n",                      // empty origin
           "o\n01\n" + root + "\n",                    // leading zero
           "o\n-1\n" + root + "\n",                    // not a decimal
           "o\n18446744073709551616\n" + root + "\n",  // past 2^64 - 1
           "o\n1\nAAAA\n",                             // not 32 bytes
           "o\n1\n" + root + "\n\n",                   // an empty extension line
       }) {
    EXPECT_EQ(ParseCheckpoint(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ParseCheckpoint("o\n0\n" + root + "\n").ok());
  Checkpoint c = Example();
  c.origin = "two\nlines";
  EXPECT_EQ(FormatCheckpoint(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogCheckpoint, SignedCheckpointsOpenWithTheLogKeyAndTheirOrigin) {
  Result<Signer> log = GenerateSigner("example.com/behind-the-sofa");
  Result<Signer> witness = GenerateSigner("witness.example");
  ASSERT_TRUE(log.ok() && witness.ok());
  std::vector<Signer> signers = {*log, *witness};
  Result<std::string> note = SignCheckpoint(Example(), signers);
  ASSERT_TRUE(note.ok());
  std::vector<Verifier> v = {VerifierOf(*log)};
  Result<OpenedCheckpoint> opened = OpenCheckpoint(*note, v, "example.com/behind-the-sofa");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->checkpoint, Example());
  EXPECT_EQ(opened->note.unverified.size(), 1u);  // the witness, kept for serving
  EXPECT_EQ(OpenCheckpoint(*note, v, "example.com/other").status().code(),
            StatusCode::kFailedPrecondition);
  std::vector<Verifier> w = {VerifierOf(*witness)};
  EXPECT_TRUE(OpenCheckpoint(*note, w).ok());
  Result<Signer> stranger = GenerateSigner("example.com/behind-the-sofa");
  std::vector<Verifier> s = {VerifierOf(*stranger)};
  EXPECT_EQ(OpenCheckpoint(*note, s).status().code(), StatusCode::kUnauthenticated);
  std::string forged = *note;
  forged.replace(forged.find("20852163"), 8, "20852164");
  EXPECT_EQ(OpenCheckpoint(forged, v).status().code(), StatusCode::kPermissionDenied);
}

TEST(TlogProofFile, AProofFileRoundTripsAndVerifiesOffline) {
  // A tree of five entries, its checkpoint, the proof of entry 3.
  std::vector<std::string> entries = {"a", "b", "c", "d", "e"};
  RightEdge edge;
  std::vector<std::vector<Hash>> levels;
  for (const std::string& e : entries) {
    for (const StoredHash& s : edge.Append(LeafHash(e))) {
      if (levels.size() <= static_cast<size_t>(s.level)) levels.resize(s.level + 1);
      levels[s.level].push_back(s.hash);
    }
  }
  HashReader read = [&](int level, uint64_t index) -> Result<Hash> { return levels[level][index]; };
  Result<Signer> log = GenerateSigner("example.com/log");
  ASSERT_TRUE(log.ok());
  Checkpoint c{"example.com/log", 5, edge.Root(), {}};
  ProofFile p;
  p.index = 3;
  p.proof = *InclusionProof(3, 5, read);
  p.checkpoint = *SignCheckpoint(c, std::span(&*log, 1));
  const std::string text = FormatProofFile(p);
  EXPECT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));
  Result<ProofFile> parsed = ParseProofFile(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, p);
  std::vector<Verifier> v = {VerifierOf(*log)};
  EXPECT_TRUE(VerifyProofFile(*parsed, "d", v, "example.com/log").ok());
  EXPECT_EQ(VerifyProofFile(*parsed, "D", v).status().code(), StatusCode::kPermissionDenied);

  p.extra = "context";
  parsed = ParseProofFile(FormatProofFile(p));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->extra, "context");
}

TEST(TlogProofFile, MalformedProofFilesAreRefused) {
  const std::string h = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  const std::string cp = "o\n1\n" + h + "\n\n\xe2\x80\x94 o AAAAAAAA\n";
  for (const std::string& bad : std::vector<std::string>{
           "c2sp.org/tlog-proof@v2\nindex 0\n\n" + cp,
           "c2sp.org/tlog-proof@v1\nindex 01\n\n" + cp,
           "c2sp.org/tlog-proof@v1\nindex x\n\n" + cp,
           "c2sp.org/tlog-proof@v1\n" + h + "\n\n" + cp,
           "c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\n" + cp,
           "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\n" + cp,
           "c2sp.org/tlog-proof@v1\nindex 0\n" + h + "\n",
           "c2sp.org/tlog-proof@v1\nindex 0\n\n",
       }) {
    EXPECT_EQ(ParseProofFile(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace vouch::tlog

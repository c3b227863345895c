#include "vouch/tlog/cosignature.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vouch/tlog/checkpoint.h"

namespace vouch::tlog {
namespace {

TEST(TlogCosignature, AWitnessCosignsACheckpointAndTheLogStillOpensIt) {
  Result<Signer> log = GenerateSigner("example.com/log");
  Result<Signer> witness_key = GenerateSigner("witness.example/w1");
  ASSERT_TRUE(log.ok() && witness_key.ok());
  const Cosigner witness = CosignerOf(*witness_key);
  EXPECT_NE(witness.key_id, witness_key->key_id);  // type 0x04, not 0x01
  const std::string note =
      *SignCheckpoint({"example.com/log", 10, LeafHash("r"), {}}, std::span(&*log, 1));
  Result<std::string> cosigned = Cosign(note, witness, 1700000000);
  ASSERT_TRUE(cosigned.ok());
  EXPECT_TRUE(cosigned->starts_with(note));

  std::vector<Verifier> log_keys = {VerifierOf(*log)};
  Result<OpenedCheckpoint> opened = OpenCheckpoint(*cosigned, log_keys, "example.com/log");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_EQ(opened->note.unverified.size(), 1u);

  const std::string vkey = FormatCosignatureVerifierKey(CosignatureVerifierOf(witness));
  Result<CosignatureVerifier> parsed = ParseCosignatureVerifierKey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  std::vector<CosignatureVerifier> witnesses = {*parsed};
  Result<std::vector<VerifiedCosignature>> verified = VerifyCosignatures(opened->note, witnesses);
  ASSERT_TRUE(verified.ok());
  ASSERT_EQ(verified->size(), 1u);
  EXPECT_EQ((*verified)[0].name, "witness.example/w1");
  EXPECT_EQ((*verified)[0].timestamp, 1700000000u);

  // Another checkpoint's text under the same cosignature line does not verify.
  OpenedNote altered = opened->note;
  altered.text[altered.text.find("10\n")] = '2';
  EXPECT_EQ(VerifyCosignatures(altered, witnesses).status().code(), StatusCode::kPermissionDenied);
  // An unknown witness is ignored.
  std::vector<CosignatureVerifier> other = {
      CosignatureVerifierOf(CosignerOf(*GenerateSigner("witness.example/w2")))};
  EXPECT_TRUE(VerifyCosignatures(opened->note, other)->empty());
}

TEST(TlogCosignature, MalformedInputsAreRefused) {
  Result<Signer> w = GenerateSigner("w");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Cosign("no signatures\n", CosignerOf(*w), 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Cosign("one line\n\n\xe2\x80\x94 w AAAAAAA=\n", CosignerOf(*w), 1).status().code(),
            StatusCode::kInvalidArgument);
  // A type-0x01 key is not a cosignature key.
  EXPECT_EQ(ParseCosignatureVerifierKey(FormatVerifierKey(VerifierOf(*w))).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::tlog

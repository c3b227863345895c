#include "vouch/tlog/note.h"
#include "vouch/util/crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vouch::tlog {
namespace {

// Known answers from golang.org/x/mod/sumdb/note's tests: a signer key, its verifier key, and the
// (deterministic Ed25519) signature of this text.
constexpr std::string_view kPeterSigner =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kPeterVerifier =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kEnochVerifier =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSig =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSig =
    "\xe2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

std::string Note(std::string_view sigs) { return std::string(kText) + "\n" + std::string(sigs); }

TEST(TlogNote, KeysInGosTextFormParseAndFormatBack) {
  Result<Signer> signer = ParseSignerKey(kPeterSigner);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  EXPECT_EQ(signer->name, "PeterNeumann");
  EXPECT_EQ(signer->key_id, 0xc74f20a3u);
  EXPECT_EQ(FormatSignerKey(*signer), kPeterSigner);
  Result<Verifier> verifier = ParseVerifierKey(kPeterVerifier);
  ASSERT_TRUE(verifier.ok());
  EXPECT_EQ(FormatVerifierKey(*verifier), kPeterVerifier);
  EXPECT_EQ(FormatVerifierKey(VerifierOf(*signer)), kPeterVerifier);
  EXPECT_EQ(Ed25519KeyId("PeterNeumann", verifier->public_key), 0xc74f20a3u);
}

TEST(TlogNote, MalformedKeysAreRefused) {
  for (std::string_view bad : {
           "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // wrong id
           "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // algorithm
           "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
           "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
           "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
           "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
           "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
       }) {
    EXPECT_EQ(ParseVerifierKey(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseSignerKey(kPeterVerifier).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSignerKey(
                "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF0")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(TlogNote, SigningGivesGosKnownSignature) {
  Result<Signer> signer = ParseSignerKey(kPeterSigner);
  ASSERT_TRUE(signer.ok());
  Result<std::string> note = Sign(kText, std::span(&*signer, 1));
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, Note(kPeterSig));
  EXPECT_EQ(Sign("abc", std::span(&*signer, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sign("a\tb\n", std::span(&*signer, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Sign("", std::span(&*signer, 1)).status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogNote, OpeningVerifiesKnownKeysAndKeepsUnknownOnesAside) {
  std::vector<Verifier> peter = {*ParseVerifierKey(kPeterVerifier)};
  Result<OpenedNote> opened = Open(Note(std::string(kPeterSig) + std::string(kEnochSig)), peter);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->text, kText);
  ASSERT_EQ(opened->verified.size(), 1u);
  EXPECT_EQ(opened->verified[0].name, "PeterNeumann");
  EXPECT_EQ(opened->verified[0].key_id, 0xc74f20a3u);
  ASSERT_EQ(opened->unverified.size(), 1u);
  EXPECT_EQ(opened->unverified[0].name, "EnochRoot");

  std::vector<Verifier> both = {peter[0], *ParseVerifierKey(kEnochVerifier)};
  opened =
      Open(Note(std::string(kPeterSig) + std::string(kEnochSig) + std::string(kPeterSig)), both);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->verified.size(), 2u);  // the repeated signature counted once

  std::vector<Verifier> enoch = {both[1]};
  EXPECT_EQ(Open(Note(kPeterSig), enoch).status().code(), StatusCode::kUnauthenticated);
}

TEST(TlogNote, ABadSignatureByAKnownKeyRefusesTheNote) {
  std::vector<Verifier> peter = {*ParseVerifierKey(kPeterVerifier)};
  std::string note = Note(kPeterSig);
  note[3] = 'X';  // the text changed
  EXPECT_EQ(Open(note, peter).status().code(), StatusCode::kPermissionDenied);
  std::string sig(kPeterSig);
  sig[sig.size() - 10] = sig[sig.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Open(Note(sig), peter).status().code(), StatusCode::kPermissionDenied);
}

TEST(TlogNote, MalformedNotesAreRefusedAsTheSpecSays) {
  std::vector<Verifier> peter = {*ParseVerifierKey(kPeterVerifier)};
  const std::string good_sig(kPeterSig);
  const std::vector<std::string> bad = {
      std::string(kText) + good_sig,                   // no blank line
      Note(good_sig.substr(0, good_sig.size() - 1)),   // no final newline
      Note(""),                                        // no signatures
      Note(good_sig + "not a signature\n"),            // a bare line
      Note(good_sig + "\xe2\x80\x94 PeterNeumann\n"),  // no base64
      Note(good_sig + "\xe2\x80\x94 a+b AAAAAAA=\n"),  // a bad name
      Note(good_sig + "\xe2\x80\x94 x AAAA\n"),        // under 5 bytes
      Note(good_sig + "\xe2\x80\x94 x AAAAAAA\n"),     // bad base64
      "a\rb\n\n" + good_sig,                           // a control character
      "\xff\n\n" + good_sig,                           // not UTF-8
  };
  for (const std::string& n : bad) {
    EXPECT_EQ(Open(n, peter).status().code(), StatusCode::kInvalidArgument) << n;
  }
  std::string many = good_sig;
  for (int i = 0; i < kMaxNoteSignatures; ++i) {
    many += "\xe2\x80\x94 w" + std::to_string(i) + " AAAAAAA=\n";
  }
  EXPECT_EQ(Open(Note(many), peter).status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogNote, TheTextMayHoldBlankLinesAndTheLastOneSeparatesTheSignatures) {
  Result<Signer> signer = GenerateSigner("example.com/log");
  ASSERT_TRUE(signer.ok());
  std::vector<Verifier> v = {VerifierOf(*signer)};
  Result<std::string> note = Sign("one\n\nthree\n", std::span(&*signer, 1));
  ASSERT_TRUE(note.ok());
  Result<OpenedNote> opened = Open(*note, v);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->text, "one\n\nthree\n");
  EXPECT_EQ(GenerateSigner("bad name").status().code(), StatusCode::kInvalidArgument);
}

TEST(TlogNote, KeyNamesRefuseUnicodeSpacesAndPlus) {
  EXPECT_TRUE(IsValidKeyName("example.com/log42"));
  EXPECT_TRUE(IsValidKeyName("h\xc3\xa9llo"));
  EXPECT_FALSE(IsValidKeyName(""));
  EXPECT_FALSE(IsValidKeyName("a+b"));
  EXPECT_FALSE(
      IsValidKeyName("a\xc2\xa0"
                     "b"));  // U+00A0
  EXPECT_FALSE(
      IsValidKeyName("a\xe3\x80\x80"
                     "b"));  // U+3000
  EXPECT_FALSE(
      IsValidKeyName("a\xc0\xaf"
                     "b"));  // overlong
}

TEST(TlogNote, Base64IsStandardAndPadded) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Decode("+/8="), "\xfb\xff");
  EXPECT_EQ(Base64Decode("+/8"), std::nullopt);
  EXPECT_EQ(Base64Decode("-_8="), std::nullopt);
  EXPECT_EQ(Base64Decode(""), "");
}

}  // namespace
}  // namespace vouch::tlog

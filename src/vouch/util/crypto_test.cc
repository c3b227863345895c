#include "vouch/util/crypto.h"

#include <gtest/gtest.h>

#include <random>

namespace vouch {
namespace {

TEST(Sha256, MatchesTheFipsVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Raw("abc").size(), 32u);
  EXPECT_EQ(HexEncode(Sha256Raw("abc")), Sha256Hex("abc"));
}

TEST(HexEncode, IsLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(HexEncode("AZ"), "415a");
}

TEST(HmacSha256, MatchesRfc4231) {
  // Test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1.
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Base64Url, EncodesTheRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  // The URL-safe alphabet: '-' and '_' where standard base64 has '+' and '/'.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlEncode("\xfb\xef\xbe"), "----");
}

TEST(Base64Url, RoundTripsEveryLengthAndByte) {
  std::mt19937 rng(42);
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes(n, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, bytes);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(all)), all);
}

TEST(Base64Url, RefusesNonCanonicalOrForeignInput) {
  for (const char* text : {
           "Z",       // a length no encoding has
           "Zm9vY",   // likewise
           "Zh",      // trailing bits set: "Zg" is the one encoding of "f"
           "Zm9",     // trailing bits set: "Zm8" is the one encoding of "fo"
           "Zg==",    // padding
           "Zm8=",    // padding
           "+/8",     // the standard alphabet
           "Zm9v\n",  // whitespace
           " Zm9v",   // whitespace
           "Zm 9v",   // whitespace
           "Zm9v.",   // a separator
           "Zm9v\xc3\xa9",
       }) {
    EXPECT_FALSE(Base64UrlDecode(text).has_value()) << text;
  }
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)).has_value());
  EXPECT_EQ(Base64UrlDecode(""), std::string());
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(RandomBytes, GivesTheLengthAskedAndDiffersEachTime) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

TEST(Seal, OpensWithTheSameKeyAndAssociatedDataOnly) {
  const std::string key(kSealKeyBytes, '\x42');
  SealedBox box = Seal(key, "page-token-secret", "page-token-key");
  EXPECT_EQ(box.nonce.size(), 24u);
  EXPECT_EQ(box.ciphertext.size(), std::string("page-token-secret").size() + 16);
  EXPECT_EQ(box.ciphertext.find("page-token-secret"), std::string::npos);
  auto opened = Unseal(key, box, "page-token-key");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "page-token-secret");

  const std::string other(kSealKeyBytes, '\x43');
  EXPECT_EQ(Unseal(other, box, "page-token-key").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Unseal(key, box, "webhook-secret").status().code(), StatusCode::kPermissionDenied);
  SealedBox flipped = box;
  flipped.ciphertext[3] ^= 1;
  EXPECT_EQ(Unseal(key, flipped, "page-token-key").status().code(), StatusCode::kPermissionDenied);
  SealedBox short_box{box.nonce, box.ciphertext.substr(0, 5)};
  EXPECT_EQ(Unseal(key, short_box, "page-token-key").status().code(),
            StatusCode::kPermissionDenied);
}

TEST(Seal, UsesAFreshNonceEachTime) {
  const std::string key(kSealKeyBytes, '\x01');
  SealedBox a = Seal(key, "same", "n");
  SealedBox b = Seal(key, "same", "n");
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.ciphertext, b.ciphertext);
}

TEST(Base64Test, EncodesWithPaddingAndDecodesStrictlyOrLoosely) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm8"), std::nullopt) << "padding required";
  EXPECT_EQ(Base64Decode("-_8="), std::nullopt) << "not the URL alphabet";
  EXPECT_EQ(Base64Decode("Zm 8="), std::nullopt);
  EXPECT_EQ(Base64DecodeLoose("Zm8"), "fo");
  EXPECT_EQ(Base64DecodeLoose("Zm8="), "fo");
  EXPECT_EQ(Base64DecodeLoose("Zm=8"), std::nullopt);
  EXPECT_EQ(Base64DecodeLoose("Z"), std::nullopt);
}

}  // namespace
}  // namespace vouch

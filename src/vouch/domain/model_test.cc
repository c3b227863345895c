#include "vouch/domain/model.h"

#include <gtest/gtest.h>

#include <limits>

namespace vouch {
namespace {

TEST(Stage, ParsesEveryCaseAndNamesItCanonically) {
  const std::vector<std::pair<std::string, Stage>> cases = {
      {"None", Stage::kNone},
      {"none", Stage::kNone},
      {"NONE", Stage::kNone},
      {"Staging", Stage::kStaging},
      {"sTaGiNg", Stage::kStaging},
      {"Production", Stage::kProduction},
      {"production", Stage::kProduction},
      {"Archived", Stage::kArchived},
      {"ARCHIVED", Stage::kArchived},
  };
  for (const auto& [text, stage] : cases) {
    auto parsed = ParseStage(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, stage) << text;
  }
  EXPECT_EQ(StageName(Stage::kNone), "None");
  EXPECT_EQ(StageName(Stage::kStaging), "Staging");
  EXPECT_EQ(StageName(Stage::kProduction), "Production");
  EXPECT_EQ(StageName(Stage::kArchived), "Archived");
}

TEST(Stage, RefusesAnythingElseNamingTheAllowedStages) {
  for (const std::string& text :
       std::vector<std::string>{"", "Prod", "Productions", " Staging", "Staging ", "Stagin",
                                "archive", "0", std::string("None\0", 5)}) {
    auto parsed = ParseStage(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("None, Staging, Production, Archived"),
              std::string::npos);
  }
}

TEST(Stage, OnlyStagingAndProductionAreActive) {
  EXPECT_TRUE(IsActiveStage(Stage::kStaging));
  EXPECT_TRUE(IsActiveStage(Stage::kProduction));
  EXPECT_FALSE(IsActiveStage(Stage::kNone));
  EXPECT_FALSE(IsActiveStage(Stage::kArchived));
}

TEST(Utf8, AcceptsWellFormedText) {
  for (const std::string& text : std::vector<std::string>{
           std::string(""),
           std::string("plain ascii"),
           std::string("\xc2\x80"),          // U+0080
           std::string("\xdf\xbf"),          // U+07FF
           std::string("\xe0\xa0\x80"),      // U+0800
           std::string("\xed\x9f\xbf"),      // U+D7FF
           std::string("\xee\x80\x80"),      // U+E000
           std::string("\xef\xbf\xbf"),      // U+FFFF
           std::string("\xf0\x90\x80\x80"),  // U+10000
           std::string("\xf4\x8f\xbf\xbf"),  // U+10FFFF
           std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
       }) {
    EXPECT_TRUE(ValidateUtf8("f", text).ok()) << text;
  }
}

TEST(Utf8, RefusesNulSoThatNoStoreCutsTextShort) {
  // libpq reads parameters as C strings: "prod\0-scratch" would have named "prod".
  for (const std::string& text : {std::string("nul \0 inside", 12), std::string("\0", 1),
                                  std::string("prod\0-scratch", 13)}) {
    Status s = ValidateUtf8("description", text);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("NUL"), std::string::npos) << s.message();
  }
  EXPECT_EQ(ValidateDescription(std::string("a\0b", 3)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagValue("k", std::string("v\0", 2)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateParam("p", std::string("\0x", 2)).code(), StatusCode::kInvalidArgument);
}

TEST(Utf8, RefusesOverlongSurrogateTruncatedAndOutOfRangeSequences) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"overlong '/' in 2 bytes", "\xc0\xaf"},
      {"overlong NUL in 2 bytes", "\xc0\x80"},
      {"overlong U+007F", "\xc1\xbf"},
      {"overlong '/' in 3 bytes", "\xe0\x80\xaf"},
      {"overlong U+07FF in 3 bytes", "\xe0\x9f\xbf"},
      {"overlong in 4 bytes", "\xf0\x80\x80\xaf"},
      {"overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf"},
      {"high surrogate", "\xed\xa0\x80"},
      {"low surrogate", "\xed\xbf\xbf"},
      {"surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80"},
      {"beyond U+10FFFF", "\xf4\x90\x80\x80"},
      {"F5 lead", "\xf5\x80\x80\x80"},
      {"FF byte", "\xff"},
      {"FE byte", "a\xfe"},
      {"lone continuation", "\x80"},
      {"continuation after ASCII", "a\xbf"},
      {"truncated 2-byte at end", "ab\xc3"},
      {"truncated 3-byte at end", "ab\xe2\x82"},
      {"truncated 4-byte at end", "\xf0\x9f\x98"},
      {"truncated then ASCII", "\xe2\x82z"},
      {"lead then lead", "\xc3\xc3\xa9"},
      {"5-byte form", "\xf8\x88\x80\x80\x80"},
  };
  for (const auto& [what, text] : cases) {
    Status s = ValidateUtf8("model name", text);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what;
    EXPECT_NE(s.message().find("model name"), std::string::npos) << what;
  }
}

TEST(ModelName, AcceptsPrintableUnicodeUpToTheLimit) {
  for (const std::string& name :
       std::vector<std::string>{std::string("fraud-detector"), std::string("a"),
                                std::string("team/fraud detector"), std::string(" padded "),
                                std::string("\xe6\xa8\xa1\xe5\x9e\x8b"), std::string(256, 'x')}) {
    EXPECT_TRUE(ValidateModelName(name).ok()) << name;
  }
}

TEST(ModelName, RefusesEmptyBlankControlInvalidAndLongNames) {
  for (const std::string& name : std::vector<std::string>{
           std::string(""), std::string(" "), std::string("   "), std::string("a\tb"),
           std::string("a\nb"), std::string("a\rb"), std::string("a\x1f"), std::string("\x7f"),
           std::string("a\0b", 3), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
           std::string(257, 'x')}) {
    EXPECT_EQ(ValidateModelName(name).code(), StatusCode::kInvalidArgument) << name;
  }
}

TEST(TagsMetricsParams, KeysAreOneTo250CharactersWithoutControls) {
  EXPECT_TRUE(ValidateTagKey("team").ok());
  EXPECT_TRUE(ValidateTagKey(std::string(250, 'k')).ok());
  EXPECT_TRUE(ValidateTagKey("a/b c.d").ok());
  EXPECT_EQ(ValidateTagKey("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagKey(std::string(251, 'k')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagKey("a\tb").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagKey("a\x7f").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagKey("\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMetric("", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateParam(std::string(251, 'p'), "v").code(), StatusCode::kInvalidArgument);
}

TEST(TagsMetricsParams, ValuesHaveTheirLimits) {
  EXPECT_TRUE(ValidateTagValue("k", "").ok());
  EXPECT_TRUE(ValidateTagValue("k", std::string(5000, 'v')).ok());
  EXPECT_EQ(ValidateTagValue("k", std::string(5001, 'v')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTagValue("k", "\xe2\x82").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateParam("lr", std::string(6000, 'p')).ok());
  EXPECT_EQ(ValidateParam("lr", std::string(6001, 'p')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateParam("lr", "\xff").code(), StatusCode::kInvalidArgument);
}

TEST(TagsMetricsParams, MetricsMustBeFinite) {
  EXPECT_TRUE(ValidateMetric("auc", 0.93).ok());
  EXPECT_TRUE(ValidateMetric("auc", -1e308).ok());
  EXPECT_TRUE(ValidateMetric("auc", 0).ok());
  EXPECT_EQ(ValidateMetric("auc", std::numeric_limits<double>::quiet_NaN()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMetric("auc", std::numeric_limits<double>::infinity()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateMetric("auc", -std::numeric_limits<double>::infinity()).code(),
            StatusCode::kInvalidArgument);
}

TEST(Alias, AcceptsLettersDigitsUnderscoreAndDash) {
  for (const std::string& alias : std::vector<std::string>{
           std::string("champion"), std::string("Champion_2"), std::string("a-b"), std::string("v"),
           std::string("V"), std::string("v1a"), std::string("v-1"), std::string("latest2"),
           std::string("_"), std::string("1"), std::string(255, 'a')}) {
    EXPECT_TRUE(ValidateAlias(alias).ok()) << alias;
  }
}

TEST(Alias, RefusesReservedNamesAndOtherCharacters) {
  for (const std::string& alias : std::vector<std::string>{
           std::string(""), std::string(256, 'a'), std::string("latest"), std::string("LATEST"),
           std::string("LaTeSt"), std::string("v1"), std::string("V1"), std::string("v0"),
           std::string("v123456789"), std::string("a b"), std::string("a/b"), std::string("a.b"),
           std::string("caf\xc3\xa9"), std::string("a\n"), std::string("a\0", 2)}) {
    EXPECT_EQ(ValidateAlias(alias).code(), StatusCode::kInvalidArgument) << alias;
  }
}

TEST(ArtifactDigest, IsSha256FollowedBy64LowercaseHexDigits) {
  const std::string hex64 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_TRUE(ValidateArtifactDigest("sha256:" + hex64).ok());
  for (const std::string& digest : std::vector<std::string>{
           std::string(""), hex64, "sha256:", "sha256:" + hex64.substr(1), "sha256:" + hex64 + "0",
           "SHA256:" + hex64, "sha512:" + hex64, "sha256:" + std::string(64, 'A'),
           "sha256:" + std::string(63, 'a') + "g", "sha256: " + hex64.substr(1),
           "sha256:" + hex64.substr(0, 63) + "\n", "md5:" + hex64}) {
    EXPECT_EQ(ValidateArtifactDigest(digest).code(), StatusCode::kInvalidArgument) << digest;
  }
}

TEST(SourceRunIdDescription, HaveTheirLimitsAndRefuseControls) {
  EXPECT_TRUE(ValidateSource("s3://bucket/model.tar.gz").ok());
  EXPECT_TRUE(ValidateSource(std::string(4096, 's')).ok());
  EXPECT_EQ(ValidateSource("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSource(std::string(4097, 's')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSource("s3://a\nb").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateRunId("").ok());
  EXPECT_TRUE(ValidateRunId(std::string(256, 'r')).ok());
  EXPECT_EQ(ValidateRunId(std::string(257, 'r')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRunId("r\x01").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDescription("multi\nline\ttext").ok());
  EXPECT_TRUE(ValidateDescription("windows\r\nline").ok());
  EXPECT_TRUE(ValidateDescription(std::string(5000, 'd')).ok());
  EXPECT_EQ(ValidateDescription(std::string(5001, 'd')).code(), StatusCode::kInvalidArgument);
  // Characters, not bytes: 5,000 four-byte characters are 20,000 bytes and fit.
  std::string astral;
  for (int i = 0; i < 5000; ++i) astral += "\xf0\x9f\x98\x80";
  EXPECT_TRUE(ValidateDescription(astral).ok());
  EXPECT_EQ(ValidateDescription(astral + "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDescription("\xc3").code(), StatusCode::kInvalidArgument);
}

TEST(FreeText, KeepsControlCharactersWhileItsCanonicalJsonFitsFourBytesACharacter) {
  for (std::string_view text : {"a\x01b", "\x1f", "bell\x07", "esc\x1b[0m", "tab\there\r\n"}) {
    EXPECT_TRUE(ValidateDescription(text).ok()) << text;
    EXPECT_TRUE(ValidateTagValue("k", text).ok()) << text;
    EXPECT_TRUE(ValidateParam("k", text).ok()) << text;
  }
  // \u0001 is six bytes: 3,333 of them are 19,998 bytes, within 4 x 5,000; one more is over.
  EXPECT_TRUE(ValidateDescription(std::string(3333, '\x01')).ok());
  Status s = ValidateDescription(std::string(3334, '\x01'));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("description takes 20004 bytes in canonical JSON, over the limit of "
                             "20000"),
            std::string::npos)
      << s.ToString();
  EXPECT_TRUE(ValidateTagValue("k", std::string(3333, '\x01')).ok());
  EXPECT_EQ(ValidateTagValue("k", std::string(3334, '\x01')).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateParam("k", std::string(4000, '\x01')).ok());
  EXPECT_EQ(ValidateParam("k", std::string(4001, '\x01')).code(), StatusCode::kInvalidArgument);
  // Quotes and backslashes take two bytes and fit: at most 2 x the limit.
  EXPECT_TRUE(ValidateDescription(std::string(5000, '"')).ok());
}

}  // namespace
}  // namespace vouch

#include "vouch/cli/args.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

TEST(CliArgs, SplitsKeyValueAtFirstEquals) {
  Result<std::pair<std::string, std::string>> pair = ParseKeyValue("query=a=b", "--tag");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->first, "query");
  EXPECT_EQ(pair->second, "a=b");
}

TEST(CliArgs, AcceptsEmptyValue) {
  Result<std::pair<std::string, std::string>> pair = ParseKeyValue("note=", "--tag");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->first, "note");
  EXPECT_EQ(pair->second, "");
}

TEST(CliArgs, RejectsPairWithoutEqualsNamingTheOption) {
  Result<std::pair<std::string, std::string>> pair = ParseKeyValue("team", "--param");
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(pair.status().message().find("--param"), std::string::npos);
  EXPECT_NE(pair.status().message().find("team"), std::string::npos);
}

TEST(CliArgs, RejectsPairWithEmptyKey) {
  EXPECT_EQ(ParseKeyValue("=risk", "--tag").status().code(), StatusCode::kInvalidArgument);
}

TEST(CliArgs, ParsesRepeatedTagOptionsIntoOneObject) {
  Result<json::object> tags = ParseStringPairs({"team=risk", "commit=1a2b3c"}, "--tag");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(json::serialize(*tags), R"({"team":"risk","commit":"1a2b3c"})");
}

TEST(CliArgs, RejectsTheSameKeyTwice) {
  Result<json::object> tags = ParseStringPairs({"team=risk", "team=ops"}, "--tag");
  EXPECT_EQ(tags.status().code(), StatusCode::kInvalidArgument);
}

TEST(CliArgs, MetricPairsBecomeNumbers) {
  Result<json::object> metrics = ParseMetricPairs({"auc=0.93", "loss=-1e-3", "n=7"}, "--metric");
  ASSERT_TRUE(metrics.ok());
  EXPECT_DOUBLE_EQ(metrics->at("auc").as_double(), 0.93);
  EXPECT_DOUBLE_EQ(metrics->at("loss").as_double(), -0.001);
  EXPECT_DOUBLE_EQ(metrics->at("n").as_double(), 7);
}

TEST(CliArgs, RejectsMetricThatIsNotAFiniteNumber) {
  for (const char* bad : {"auc=high", "auc=nan", "auc=inf", "auc=0.9x", "auc=", "auc= 1"}) {
    EXPECT_EQ(ParseMetricPairs({bad}, "--metric").status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CliArgs, ParsesPositiveIntegersOnly) {
  EXPECT_EQ(*ParsePositiveInt("42", "version"), 42);
  EXPECT_EQ(*ParsePositiveInt("9007199254740991", "version"), 9007199254740991);
  for (const char* bad : {"0", "-1", "1.5", "", "3a", "9007199254740992", "99999999999999999999"}) {
    EXPECT_EQ(ParsePositiveInt(bad, "version").status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CliArgs, PercentEncodesSlashSpaceAndUnicode) {
  EXPECT_EQ(PercentEncode("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(PercentEncode("modèle"), "mod%C3%A8le");
  EXPECT_EQ(PercentEncode("100%?#&+="), "100%25%3F%23%26%2B%3D");
}

TEST(CliArgs, LeavesUnreservedCharactersAlone) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
}

TEST(CliArgs, EncodesDotOnlySegmentsSoTheyAreNotPathSteps) {
  EXPECT_EQ(PathSegment(".."), "%2E%2E");
  EXPECT_EQ(PathSegment("."), "%2E");
  EXPECT_EQ(PathSegment("v1.2"), "v1.2");
  EXPECT_EQ(PathSegment(""), "");
}

TEST(CliArgs, BuildsQueryStringInOrderWithEncodedValues) {
  EXPECT_EQ(QueryString({}), "");
  EXPECT_EQ(QueryString({{"model", "a/b"}, {"since", "2026-11-25T14:00:00.000Z"}}),
            "?model=a%2Fb&since=2026-11-25T14%3A00%3A00.000Z");
}

// 2026-11-25T14:00:00.000Z
constexpr TimeMs kNow = 1795615200000;

TEST(CliArgs, ConvertsRelativeTimeAgainstNow) {
  Result<std::string> since = TimeArgToRfc3339("-24h", kNow, "--since");
  ASSERT_TRUE(since.ok()) << since.status().ToString();
  EXPECT_EQ(*since, "2026-11-24T14:00:00.000Z");
  EXPECT_EQ(*TimeArgToRfc3339("-15m", kNow, "--since"), "2026-11-25T13:45:00.000Z");
}

TEST(CliArgs, PassesAbsoluteTimeThroughAsUtc) {
  EXPECT_EQ(*TimeArgToRfc3339("2026-11-25T15:00:00+01:00", kNow, "--until"),
            "2026-11-25T14:00:00.000Z");
}

TEST(CliArgs, RejectsTimeThatIsNeitherForm) {
  Result<std::string> time = TimeArgToRfc3339("yesterday", kNow, "--since");
  EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(time.status().message().find("--since"), std::string::npos);
}

TEST(CliArgs, ValidatesArtifactDigestShape) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(ValidateArtifactDigest("sha256:" + hex).ok());
  EXPECT_EQ(ValidateArtifactDigest("sha256:" + std::string(64, 'A')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateArtifactDigest("sha256:" + hex.substr(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateArtifactDigest("md5:" + hex).code(), StatusCode::kInvalidArgument);
}

class TempFile {
 public:
  explicit TempFile(const std::string& content)
      : path_(std::filesystem::temp_directory_path() /
              ("vouch_cli_args_test_" + std::to_string(::getpid()))) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(CliArgs, HashesSmallFile) {
  TempFile file("abc");
  Result<std::string> digest = FileSha256Digest(file.path());
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CliArgs, HashesFileLargerThanOneReadChunk) {
  std::string content(3 * (1 << 20) + 17, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31 % 251);
  TempFile file(content);
  EXPECT_EQ(*FileSha256Digest(file.path()), "sha256:" + Sha256Hex(content));
}

TEST(CliArgs, MissingArtifactFileIsUsageError) {
  Result<std::string> digest = FileSha256Digest("/nonexistent/model.tar.gz");
  EXPECT_EQ(digest.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(digest.status().message().find("/nonexistent/model.tar.gz"), std::string::npos);
}

}  // namespace
}  // namespace vouch::cli

#include "vouch/domain/model_source.h"

#include <gtest/gtest.h>

namespace vouch {
namespace {

constexpr char kRelative[] =
    "Invalid model version source: '{}'. If supplying a source as an http, https, local file path, "
    "ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without "
    "relative path references present. Please provide an absolute path.";

std::string Message(std::string_view pattern, std::string_view source) {
  std::string out(pattern);
  out.replace(out.find("{}"), 2, source);
  return out;
}

std::string NotContained(std::string_view source, std::string_view id) {
  return "Invalid model version source: '" + std::string(source) + "'. The " + std::string(id) +
         " request parameter must identify the resource that contains the source.";
}

TEST(ModelSource, SplitsUrisAsPythonsUrlparse) {
  UriParts u = SplitUri("S3://bucket/a/b?x=1#frag");
  EXPECT_EQ(u.scheme, "s3");
  EXPECT_EQ(u.netloc, "bucket");
  EXPECT_EQ(u.path, "/a/b");
  EXPECT_EQ(u.query, "x=1");
  EXPECT_EQ(u.fragment, "frag");
  EXPECT_EQ(SplitUri("models:/M/1#x", /*allow_fragments=*/false).path, "/M/1#x");
  EXPECT_EQ(SplitUri("runs:///r1/model").netloc, "");
  EXPECT_EQ(SplitUri("runs:///r1/model").path, "/r1/model");
  EXPECT_EQ(SplitUri("/tmp/x").scheme, "");
  EXPECT_EQ(SplitUri("1abc:/x").scheme, "");  // a scheme starts with a letter
  EXPECT_EQ(SplitUri("http://h/a;p/b;q").path, "/a;p/b");
  EXPECT_EQ(SplitUri("s3://h/a;p").path, "/a;p");
}

// Each case below was answered so by MLflow 3.17.2's server (handlers.py) when this was written.
TEST(ModelSource, RefusesRelativePathReferencesAsMlflowDoes) {
  for (std::string_view source :
       {"s3://bucket/a/../b", "s3://bucket/a/%2e%2e/b", "s3://bucket/a/%252e%252e/b",
        "s3://bucket/a/./b", "s3://bucket/a%00b", "s3://bucket/x?q=/../", "s3://bucket/x#/../",
        "gs://b/x/..", "runs:/r1/../x", "s3://b/x/.", "runs://h/%2E%2e?q=/x"}) {
    Status s = CheckSourceLineage(source, "r1", "");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << source;
    EXPECT_EQ(s.message(), Message(kRelative, source)) << source;
  }
}

TEST(ModelSource, RefusesRelativePathReferencesInLocalPathsToo) {
  // MLflow refuses every local path, with another message; vouch keeps local paths but not these.
  for (std::string_view source : {"/a/../b", "file:///tmp/../etc", "..", "model/./x"}) {
    Status s = CheckSourceLineage(source, "", "");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << source;
    EXPECT_EQ(s.message(), Message(kRelative, source)) << source;
  }
}

TEST(ModelSource, AcceptsPathsWithoutRelativeReferences) {
  for (std::string_view source :
       {"s3://bucket/a//b", "s3://bucket/a/b/", "s3://bucket/a..b/c", "s3://bucket/a+b",
        "dbfs:/x/y", "s3://bucket/x?q=./y", "s3://bucket/.hidden/x"}) {
    EXPECT_TRUE(CheckSourceLineage(source, "", "").ok()) << source;
  }
}

TEST(ModelSource, DoesNotCopyMlflowsRefusalsOfSourcesItWouldRead) {
  // MLflow refuses these because its server would read or serve them; vouch reads no source.
  for (std::string_view source :
       {"/tmp/x", "file:///tmp/x", "mlflow-artifacts:/x", "http://example.com/x", "hdfs://nn/x",
        "s3://bucket", "s3://bucket/", "relative/model"}) {
    EXPECT_TRUE(CheckSourceLineage(source, "", "").ok()) << source;
  }
}

TEST(ModelSource, RunsSourceMustNameTheRunId) {
  EXPECT_TRUE(CheckSourceLineage("runs:/r1/model", "r1", "").ok());
  EXPECT_TRUE(CheckSourceLineage("runs:/r1", "r1", "").ok());
  EXPECT_TRUE(CheckSourceLineage("runs:///r1/model", "r1", "").ok());
  EXPECT_TRUE(CheckSourceLineage("RUNS:/r1/model", "r1", "").ok());
  for (auto [source, run] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"runs:/r1/model", ""},
           {"runs:/r1/model", "r2"},
           {"runs://host/r1/model", "r1"},
           {"runs:/", "r1"},
           {"runs:r1/model", "r1"}}) {
    Status s = CheckSourceLineage(source, run, "");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << source << " run " << run;
    // MLflow words the last two as relative paths (it refuses an empty or relative path).
    if (source != "runs:/" && source != "runs:r1/model") {
      EXPECT_EQ(s.message(), NotContained(source, "run_id")) << source;
    }
  }
}

TEST(ModelSource, RunsSourceWithAModelIdIsRefused) {
  Status s = CheckSourceLineage("runs:/r1/model", "r1", "m-1");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), NotContained("runs:/r1/model", "model_id"));
}

TEST(ModelSource, LoggedModelSourceMustNameTheModelId) {
  EXPECT_TRUE(CheckSourceLineage("models:/m-abc", "", "m-abc").ok());
  for (std::string_view model_id : {"", "m-xyz"}) {
    Status s = CheckSourceLineage("models:/m-abc", "", model_id);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << model_id;
    EXPECT_EQ(s.message(), NotContained("models:/m-abc", "model_id"));
  }
}

TEST(ModelSource, ParsesModelsSources) {
  auto ref = [](std::string_view source) {
    auto r = ParseModelsSource(source);
    EXPECT_TRUE(r.ok()) << source << ": " << r.status().ToString();
    return r.ok() && *r ? **r : ModelsRef{.selector = "<none>"};
  };
  EXPECT_EQ(ref("models:/M/12").kind, ModelsRefKind::kVersion);
  EXPECT_EQ(ref("models:/M/12").name, "M");
  EXPECT_EQ(ref("models:/M/12").selector, "12");
  EXPECT_EQ(ref("MODELS:/M/01").selector, "01");
  EXPECT_EQ(ref("models:/M/LATEST").kind, ModelsRefKind::kLatest);
  EXPECT_EQ(ref("models:/M/Production").kind, ModelsRefKind::kStage);
  EXPECT_EQ(ref("models:/M/Production").selector, "Production");
  EXPECT_EQ(ref("models:/M@champ").kind, ModelsRefKind::kAlias);
  EXPECT_EQ(ref("models:/M@champ").name, "M");
  EXPECT_EQ(ref("models:/M@champ").selector, "champ");
  EXPECT_EQ(ref("models:/a@b@c").name, "a@b");
  EXPECT_EQ(ref("models:///M/1").name, "M");
  EXPECT_EQ(ref("models:/m-abc").kind, ModelsRefKind::kModelId);
  EXPECT_EQ(ref("models:/m-abc").model_id, "m-abc");
  auto other = ParseModelsSource("s3://bucket/models:/M/1");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST(ModelSource, RefusesModelsSourcesMlflowCannotParse) {
  for (std::string_view source :
       {"models:/", "models:/M/1/x", "models:/M/../M/1", "models:/M@", "models:/M/ ", "models:M/1",
        "models:////", "models://///", "models:////?x=1"}) {
    auto r = ParseModelsSource(source);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << source;
    EXPECT_EQ(r.status().message(), NotContained(source, "model_id")) << source;
  }
  auto r = ParseModelsSource("models://h/M/1");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "Invalid model version source: 'models://h/M/1'. Registered model sources must use "
            "the active model registry.");
}

}  // namespace
}  // namespace vouch

// native::WriteModel and WriteVersion (streamed by JsonWriter) against the Boost.JSON trees they
// replaced, kept here verbatim as the reference: for a table of awkward models and versions the two
// texts must be the same bytes (field order, escapes, number forms).
#include <gtest/gtest.h>

#include <string>

#include "vouch/api/native/native_api.h"
#include "vouch/domain/awkward_records_test.h"
#include "vouch/util/json.h"
#include "vouch/util/json_writer.h"
#include "vouch/util/json_writer_streamed_test.h"

namespace vouch::api::native {
namespace {

using testing_records::AwkwardModel;
using testing_records::AwkwardVersion;
using testing_records::kAwkwardCases;

// --- The reference: the Boost.JSON serializers as they were before JsonWriter. ---

json::object OldStringMapJson(const StringMap& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::object OldNativeModelJson(const Model& m) {
  json::object o{{"name", m.name},
                 {"description", m.description},
                 {"tags", OldStringMapJson(m.tags)},
                 {"creation_timestamp", m.created_ms},
                 {"last_updated_timestamp", m.updated_ms},
                 {"created_by", m.created_by}};
  if (m.latest_live_version) o["latest_version"] = *m.latest_live_version;
  return o;
}

json::object OldNativeVersionJson(const ModelVersion& v) {
  json::object metrics;
  for (const auto& [k, val] : v.metrics) metrics[k] = val;
  json::array aliases;
  for (const auto& a : v.aliases) aliases.emplace_back(a);
  json::object o{{"model", v.model_name},
                 {"version", v.version},
                 {"source", v.source},
                 {"run_id", v.run_id},
                 {"description", v.description},
                 {"tags", OldStringMapJson(v.tags)},
                 {"metrics", std::move(metrics)},
                 {"params", OldStringMapJson(v.params)},
                 {"status", v.status},
                 {"stage", StageName(v.stage)},
                 {"aliases", std::move(aliases)},
                 {"creation_timestamp", v.created_ms},
                 {"last_updated_timestamp", v.updated_ms},
                 {"created_by", v.created_by}};
  if (!v.model_ref.empty()) o["model_id"] = v.model_ref;
  if (!v.artifact_digest.empty()) o["artifact_digest"] = v.artifact_digest;
  return o;
}

TEST(JsonAnswers, NativeVersionIsTheSameBytesAsTheBoostJsonTree) {
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    SCOPED_TRACE(testing::Message() << "version " << i);
    const ModelVersion v = AwkwardVersion(i);
    EXPECT_EQ(Streamed([&](JsonWriter& w) { WriteVersion(w, v); }),
              SerializeJson(OldNativeVersionJson(v)));
  }
}

TEST(JsonAnswers, NativeModelIsTheSameBytesAsTheBoostJsonTree) {
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    SCOPED_TRACE(testing::Message() << "model " << i);
    const Model m = AwkwardModel(i);
    EXPECT_EQ(Streamed([&](JsonWriter& w) { WriteModel(w, m); }),
              SerializeJson(OldNativeModelJson(m)));
  }
}

// The table reaches the native forms' own fields: metrics in every number form, empty maps and
// alias lists, the latest live version.
TEST(JsonAnswers, TheNativeTableCoversTheAwkwardCases) {
  std::string all;
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    all += SerializeJson(OldNativeVersionJson(AwkwardVersion(i)));
    all += SerializeJson(OldNativeModelJson(AwkwardModel(i)));
  }
  for (std::string_view needle :
       {"1e+21", "5e-324", "1e-7", "123456789012345680000", "0.30000000000000004",
        "1.7976931348623157e+308", "\"aliases\":[]", "\"tags\":{}", "\"metrics\":{}",
        "\"latest_version\"", "\"artifact_digest\"", "\"model_id\"", "\u0000"}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace vouch::api::native

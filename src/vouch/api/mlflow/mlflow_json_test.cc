// mlflow::WriteModel and WriteVersion (streamed by JsonWriter) against the Boost.JSON trees they
// replaced, kept here verbatim as the reference: for a table of awkward models and versions the two
// texts must be the same bytes (field order, escapes, number forms, fields left out when empty).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vouch/api/mlflow/mlflow_api.h"
#include "vouch/domain/awkward_records_test.h"
#include "vouch/util/json.h"
#include "vouch/util/json_writer.h"
#include "vouch/util/json_writer_streamed_test.h"

namespace vouch::api::mlflow {
namespace {

using testing_records::AwkwardModel;
using testing_records::AwkwardVersion;
using testing_records::kAwkwardCases;
using testing_records::Pick;

// --- The reference: the Boost.JSON serializers as they were before JsonWriter. ---

json::array OldTagsJson(const StringMap& tags) {
  json::array out;
  for (const auto& [key, value] : tags) out.push_back(json::object{{"key", key}, {"value", value}});
  return out;
}

json::object OldMlflowVersionJson(const ModelVersion& v, bool with_aliases) {
  json::object o{{"name", v.model_name},
                 {"version", std::to_string(v.version)},
                 {"creation_timestamp", v.created_ms},
                 {"last_updated_timestamp", v.updated_ms}};
  if (!v.created_by.empty()) o["user_id"] = v.created_by;
  o["current_stage"] = StageName(v.stage);
  o["description"] = v.description;
  o["source"] = v.source;
  o["run_id"] = v.run_id;
  o["status"] = v.status;
  if (!v.tags.empty()) o["tags"] = OldTagsJson(v.tags);
  o["run_link"] = v.run_link;
  if (with_aliases && !v.aliases.empty()) {
    json::array aliases;
    for (const auto& a : v.aliases) aliases.emplace_back(a);
    o["aliases"] = std::move(aliases);
  }
  if (!v.model_ref.empty()) o["model_id"] = v.model_ref;
  return o;
}

json::object OldMlflowModelJson(const Model& m, const std::vector<ModelVersion>& latest_versions) {
  json::object o{{"name", m.name},
                 {"creation_timestamp", m.created_ms},
                 {"last_updated_timestamp", m.updated_ms}};
  if (!m.created_by.empty()) o["user_id"] = m.created_by;
  if (!m.description.empty()) o["description"] = m.description;
  if (!latest_versions.empty()) {
    json::array latest;
    for (const auto& v : latest_versions) latest.push_back(OldMlflowVersionJson(v, false));
    o["latest_versions"] = std::move(latest);
  }
  if (!m.tags.empty()) o["tags"] = OldTagsJson(m.tags);
  if (!m.aliases.empty()) {
    json::array aliases;
    for (const auto& [alias, version] : m.aliases) {
      aliases.push_back(json::object{{"alias", alias}, {"version", std::to_string(version)}});
    }
    o["aliases"] = std::move(aliases);
  }
  return o;
}

TEST(JsonAnswers, MlflowVersionIsTheSameBytesAsTheBoostJsonTree) {
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    const ModelVersion v = AwkwardVersion(i);
    for (bool with_aliases : {false, true}) {
      SCOPED_TRACE(testing::Message() << "version " << i << " with_aliases " << with_aliases);
      EXPECT_EQ(Streamed([&](JsonWriter& w) { WriteVersion(w, v, with_aliases); }),
                SerializeJson(OldMlflowVersionJson(v, with_aliases)));
    }
  }
}

TEST(JsonAnswers, MlflowModelIsTheSameBytesAsTheBoostJsonTree) {
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    SCOPED_TRACE(testing::Message() << "model " << i);
    const Model m = AwkwardModel(i);
    EXPECT_EQ(Streamed([&](JsonWriter& w) { WriteModel(w, m, m.latest_versions); }),
              SerializeJson(OldMlflowModelJson(m, m.latest_versions)));
  }
}

// A whole search answer: an array of models and the page token, as the handlers write it.
TEST(JsonAnswers, AModelPageIsTheSameBytesAsTheBoostJsonTree) {
  std::vector<Model> models;
  for (size_t i = 0; i < 12; ++i) models.push_back(AwkwardModel(i));
  const std::string token = Pick(3);
  json::array items;
  for (const auto& m : models) items.push_back(OldMlflowModelJson(m, m.latest_versions));
  json::object old{{"registered_models", std::move(items)}, {"next_page_token", token}};
  EXPECT_EQ(Streamed([&](JsonWriter& w) {
              w.BeginObject();
              w.Key("registered_models");
              w.BeginArray();
              for (const auto& m : models) WriteModel(w, m, m.latest_versions);
              w.EndArray();
              w.Field("next_page_token", token);
              w.EndObject();
            }),
            SerializeJson(old));
}

// The reference really does see the awkward cases: the table holds escapes, replaced invalid
// UTF-8, negative and 64-bit extreme numbers, every stage, and each optional field.
TEST(JsonAnswers, TheTableCoversTheAwkwardCases) {
  std::string all;
  for (size_t i = 0; i < kAwkwardCases; ++i) {
    all += SerializeJson(OldMlflowVersionJson(AwkwardVersion(i), true));
    all += SerializeJson(OldMlflowModelJson(AwkwardModel(i), AwkwardModel(i).latest_versions));
  }
  for (std::string_view needle : {"\\\"",
                                  "\\\\",
                                  "\\b",
                                  "\\f",
                                  "\\n",
                                  "\\r",
                                  "\\t",
                                  "\\u0000",
                                  "\\u001f",
                                  "\x7f",
                                  "\xef\xbf\xbd",
                                  "\xf0\x9f\x98\x80",
                                  "\xe2\x80\xa8",
                                  "-9223372036854775808",
                                  "9223372036854775807",
                                  "-86400000",
                                  "\"version\":\"9007199254740993\"",
                                  "\"current_stage\":\"Archived\"",
                                  "\"current_stage\":\"Staging\"",
                                  "\"current_stage\":\"Production\"",
                                  "\"current_stage\":\"None\"",
                                  "\"aliases\":[{\"alias\"",
                                  "\"aliases\":[\"",
                                  "\"tags\":[{\"key\"",
                                  "\"latest_versions\":[",
                                  "\"model_id\"",
                                  "\"user_id\"",
                                  "\"description\":\"\""}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace vouch::api::mlflow

#include "vouch/notify/example_event.h"

#include <gtest/gtest.h>

#include "vouch/audit/actions.h"
#include "vouch/notify/formats.h"

namespace vouch::notify {
namespace {

TEST(ExampleEventTest, EveryFormatRendersTheExampleOfEveryActionItAccepts) {
  FormatRegistry registry;
  ASSERT_TRUE(AddBuiltinFormats(registry).ok());
  for (const audit::ActionInfo& info : audit::Actions()) {
    if (!info.webhooks) continue;
    json::object event = ExampleEvent(info.name, 1796551200123);
    EXPECT_EQ(event.at("action").as_string(), info.name);
    EXPECT_EQ(event.at("test"), true);
    for (std::string_view name : registry.Names()) {
      const Format* format = registry.Find(name);
      if (!format->Accepts(info.name)) continue;
      Envelope e{.delivery_id = "test-1",
                 .action = std::string(info.name),
                 .event = event,
                 .now_ms = 1796551200123};
      auto r = format->Render(e);
      EXPECT_TRUE(r.ok()) << name << " " << info.name << ": " << r.status().message();
    }
  }
}

TEST(ExampleEventTest, MlflowReceiversGetMlflowsOwnExamplePayloads) {
  auto format = NewMlflowFormat();
  // mlflow/webhooks/types.py: each payload class's example().
  const std::pair<std::string_view, const char*> cases[] = {
      {"model.created",
       R"({"name":"example_model","tags":{"example_key":"example_value"},
           "description":"An example registered model"})"},
      {"model_version.created",
       R"({"name":"example_model","version":"1","source":"runs:/abcd1234abcd5678/model",
           "run_id":"abcd1234abcd5678","tags":{"example_key":"example_value"},
           "description":"An example model version"})"},
      {"model_version.tag_set",
       R"({"name":"example_model","version":"1","key":"example_key","value":"example_value"})"},
      {"model_version.tag_deleted",
       R"({"name":"example_model","version":"1","key":"example_key"})"},
      {"model_alias.set", R"({"name":"example_model","alias":"example_alias","version":"1"})"},
      {"model_alias.deleted", R"({"name":"example_model","alias":"example_alias"})"},
  };
  for (const auto& [action, data] : cases) {
    Envelope e{.delivery_id = "test-1",
               .action = std::string(action),
               .event = ExampleEvent(action, 0),
               .now_ms = 0};
    auto r = format->Render(e);
    ASSERT_TRUE(r.ok()) << action << ": " << r.status().message();
    EXPECT_EQ(json::parse(r->body).at("data"), json::parse(data)) << action;
  }
}

}  // namespace
}  // namespace vouch::notify

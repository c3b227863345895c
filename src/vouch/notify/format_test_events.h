// Outbox payloads as the server stores them (audit/audit_log.cc: the canonical event with its
// request's source, plus the outbox extras), for the formats' tests.
#pragma once

#include <string>
#include <string_view>

#include "vouch/notify/format.h"
#include "vouch/util/json.h"

namespace vouch::notify::test_events {

inline constexpr std::string_view kClientAddress = "203.0.113.9";
inline constexpr std::string_view kUserAgent = "curl/8.1 secret-agent";

// The common members of every event: `action`, `target`, `before`, `after` and `comment` given.
inline json::object Payload(std::string_view action, json::object target, json::value before,
                            json::value after, std::string_view comment = "") {
  json::object o = json::parse(R"({"schema":2,"seq":42,"time":"2026-12-06T10:00:00.123Z",
      "time_ms":1796551200123,"actor":{"id":7,"name":"alice","auth":"token"},
      "source":{"door":"native","address":"203.0.113.9","user_agent":"curl/8.1 secret-agent"},
      "request_id":"r-1","outcome":"done"})")
                       .as_object();
  o["action"] = action;
  o["target"] = std::move(target);
  o["before"] = std::move(before);
  o["after"] = std::move(after);
  o["comment"] = comment;
  return o;
}

inline json::object RequestOpenedPayload() {
  json::object o =
      Payload("request.opened",
              {{"type", "approval_request"},
               {"model", "fraud/eu"},
               {"version", 3},
               {"request", 12},
               {"to", "stage:Production"}},
              nullptr, json::object{{"id", 12}, {"state", "open"}}, "ship \"it\"\nnow — ✓");
  o["recipients"] = json::parse(
      R"([{"rule":0,"text":"1 of ml-leads","required":1,"missing":1,"could_approve":["bob"]}])");
  return o;
}

inline json::object VersionCreatedPayload() {
  return Payload("model_version.created",
                 {{"type", "model_version"}, {"model", "fraud"}, {"version", 3}}, nullptr,
                 json::object{{"source", "s3://bucket/fraud/3"},
                              {"run_id", "abc123"},
                              {"description", ""},
                              {"artifact_digest", ""},
                              {"status", "READY"},
                              {"stage", "None"},
                              {"tags", {{"team", "risk"}}},
                              {"metrics", {{"auc", 0.93}}},
                              {"params", json::object{}}});
}

inline Envelope EnvelopeFor(json::object event) {
  Envelope e;
  e.delivery_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  e.attempt = 2;
  e.event_seq = event.at("seq").as_int64();
  e.action = std::string(event.at("action").as_string());
  e.event = std::move(event);
  e.now_ms = 1614265330999;  // 1614265330 seconds, floored
  e.webhook_id = 5;
  e.webhook_name = "ci";
  return e;
}

inline std::string Header(const Rendered& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

}  // namespace vouch::notify::test_events

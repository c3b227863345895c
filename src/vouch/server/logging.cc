#include "vouch/server/logging.h"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "vouch/util/json.h"

namespace vouch::server {
namespace {

std::atomic<bool> json_mode{false};

// In JSON mode a message is either a JSON object (its members are spliced into the line) or text
// (it becomes "msg").
class JsonBodyFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string out;
    if (payload.size() >= 2 && payload.front() == '{' && payload.back() == '}') {
      out = std::string(payload.substr(1));
    } else {
      out = fmt::format("\"msg\":{}}}", SerializeJson(json::string(payload)));
    }
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonBodyFlag>();
  }
};

}  // namespace

Status SetUpLogging(std::string_view format, std::string_view level) {
  auto logger =
      std::make_shared<spdlog::logger>("vouch", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonBodyFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*)");
    logger->set_formatter(std::move(formatter));
    json_mode = true;
  } else if (format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    json_mode = false;
  } else {
    return InvalidArgument(fmt::format("--log-format must be text or json, not '{}'", format));
  }
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return InvalidArgument(fmt::format("unknown --log-level '{}'", level));
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return OkStatus();
}

void LogRequest(const RequestLogLine& l) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  if (json_mode) {
    json::object o{{"msg", "request"},   {"method", l.method},         {"path", l.path},
                   {"status", l.status}, {"latency_ms", l.latency_ms}, {"request_id", l.request_id},
                   {"peer", l.peer}};
    spdlog::info(SerializeJson(o));
  } else {
    spdlog::info("{} {} {} {:.3f}ms request_id={} peer={}", l.method, l.path, l.status,
                 l.latency_ms, l.request_id, l.peer);
  }
}

}  // namespace vouch::server

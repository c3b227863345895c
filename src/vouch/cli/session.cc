#include "vouch/cli/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "vouch/cli/args.h"
#include "vouch/util/crypto.h"

namespace vouch::cli {
namespace {

// The server takes limit in 1..1000; the largest page means the fewest round trips.
constexpr int64_t kMaxPageSize = 1000;
constexpr size_t kMaxQuotedBody = 200;

// Whether a refusal is 409 ABORTED (the key's first request still running), not ALREADY_EXISTS.
bool IsAborted(const HttpResponse& response) {
  return RefusalMessage(response).starts_with("ABORTED:");
}

}  // namespace

std::string NewIdempotencyKey() { return "cli-" + HexEncode(RandomBytes(16)); }

int ExitCodeForHttpStatus(int http_status) {
  return http_status >= 200 && http_status <= 299 ? kExitOk : kExitRefused;
}

int ExitCodeForTransportFailure(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitUnreachable;
}

std::string RefusalMessage(const HttpResponse& response) {
  Result<json::value> body = ParseJson(response.body);
  if (body.ok() && body->is_object()) {
    const auto it = body->get_object().find("error");
    if (it != body->get_object().end() && it->value().is_object()) {
      const json::object& error = it->value().get_object();
      const auto code = error.find("code");
      const auto message = error.find("message");
      if (code != error.end() && code->value().is_string() && message != error.end() &&
          message->value().is_string()) {
        return fmt::format("{}: {}", std::string_view(code->value().get_string()),
                           std::string_view(message->value().get_string()));
      }
    }
  }
  std::string_view text = response.body;
  text = text.substr(0, std::min(text.find('\n'), kMaxQuotedBody));
  return text.empty() ? fmt::format("HTTP {}", response.status)
                      : fmt::format("HTTP {}: {}", response.status, text);
}

Result<ClientOptions> ResolveCredentials(const ClientEnv& env) {
  ClientOptions options = env.options;
  if (!options.token.empty()) {
    options.username.clear();
    options.password.clear();
    return options;
  }
  if (!options.username.empty()) {
    if (options.password.empty()) {
      if (env.prompter == nullptr || !env.prompter->interactive()) {
        return InvalidArgument(
            "--username needs a password: give --password or VOUCH_PASSWORD, or run at a terminal");
      }
      VOUCH_ASSIGN_OR_RETURN(
          options.password,
          env.prompter->ReadLine(
              fmt::format("Password for {} at {}: ", options.username, options.server), true));
    }
    return options;
  }
  options.password.clear();
  if (env.credentials.empty()) return options;
  VOUCH_ASSIGN_OR_RETURN(std::optional<SavedLogin> saved,
                         LoadLogin(env.credentials, options.server));
  if (saved) options.token = saved->token;
  return options;
}

Session::Session(HttpTransport& transport, OutputFormat format, std::ostream& out,
                 std::ostream& err)
    : transport_(&transport), format_(format), out_(out), err_(err) {}

Session::Session(const ClientEnv& env, OutputFormat format, std::ostream& out, std::ostream& err)
    : env_(&env), format_(format), out_(out), err_(err) {}

HttpTransport* Session::Transport(int& exit_code) {
  if (transport_ != nullptr) return transport_;
  Result<ClientOptions> options = ResolveCredentials(*env_);
  if (!options.ok()) {
    exit_code = Fail(options.status().message(), kExitUsage);
    return nullptr;
  }
  owned_ = env_->make_transport(*options);
  transport_ = owned_.get();
  return transport_;
}

int Session::Fail(std::string_view message, int exit_code) {
  out_.flush();
  err_ << "vouch: " << message << "\n";
  return exit_code;
}

Session::Reply Session::Fetch(const HttpRequest& request) {
  int exit_code = kExitOk;
  HttpTransport* transport = Transport(exit_code);
  if (transport == nullptr) return {exit_code, {}};
  HttpRequest sent = request;
  if (sent.method == "POST" && sent.idempotency_key.empty()) {
    sent.idempotency_key = NewIdempotencyKey();
  }
  Result<HttpResponse> response = transport->Send(sent);
  for (int attempt = 2; attempt <= kMaxAttempts && !sent.idempotency_key.empty(); ++attempt) {
    const bool no_answer = !response.ok() && response.status().code() == StatusCode::kUnavailable;
    const bool retry =
        no_answer ||
        (response.ok() && (response->status == 503 ||
                           (response->status == 409 && attempt > 2 && IsAborted(*response))));
    if (!retry) break;
    std::this_thread::sleep_for(retry_delay_ * (attempt - 1));
    response = transport->Send(sent);
  }
  if (!response.ok()) {
    return {Fail(response.status().message(), ExitCodeForTransportFailure(response.status())), {}};
  }
  if (ExitCodeForHttpStatus(response->status) != kExitOk) {
    return {Fail(RefusalMessage(*response), ExitCodeForHttpStatus(response->status)), {}};
  }
  if (response->body.empty()) return {};
  Result<json::value> body = ParseJson(response->body);
  if (!body.ok()) {
    return {Fail(fmt::format("the server's answer is not JSON: {}", body.status().message()),
                 kExitRefused),
            {}};
  }
  return {kExitOk, std::move(body).value()};
}

int Session::Run(const Result<HttpRequest>& request, Display display) {
  if (!request.ok()) return Fail(request.status().message(), kExitUsage);
  Reply reply = Fetch(*request);
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (display == Display::kObject && !reply.body.is_null()) PrintObject(reply.body, format_, out_);
  return kExitOk;
}

int Session::RunItems(const Result<HttpRequest>& request, std::string_view items_field,
                      std::vector<Column> columns) {
  if (!request.ok()) return Fail(request.status().message(), kExitUsage);
  Reply reply = Fetch(*request);
  if (reply.exit_code != kExitOk) return reply.exit_code;
  const json::object* page = reply.body.if_object();
  const json::value* items = page == nullptr ? nullptr : page->if_contains(items_field);
  if (items == nullptr || !items->is_array()) {
    return Fail(fmt::format("the server's answer has no '{}' list", items_field), kExitRefused);
  }
  ListPrinter printer(format_, std::move(columns), out_);
  for (const json::value& item : items->get_array()) printer.Add(item);
  printer.Finish();
  return kExitOk;
}

int Session::RunList(const Result<ListRequest>& request) {
  if (!request.ok()) return Fail(request.status().message(), kExitUsage);
  ListPrinter printer(format_, request->columns, out_);
  int64_t printed = 0;
  std::string page_token;
  while (!request->limit.has_value() || printed < *request->limit) {
    auto query = request->query;
    const int64_t want = request->limit.has_value() ? *request->limit - printed : kMaxPageSize;
    query.emplace_back("limit", std::to_string(std::min(want, kMaxPageSize)));
    if (!page_token.empty()) query.emplace_back("page_token", page_token);
    Reply reply = Fetch({"GET", request->path + QueryString(query), std::nullopt});
    if (reply.exit_code != kExitOk) {
      // What was listed before the refusal is still true; show it rather than drop it.
      if (printed > 0) printer.Finish();
      return reply.exit_code;
    }

    const json::object* page = reply.body.if_object();
    const json::value* items = page == nullptr ? nullptr : page->if_contains(request->items_field);
    if (items == nullptr || !items->is_array()) {
      return Fail(fmt::format("the server's answer has no '{}' list", request->items_field),
                  kExitRefused);
    }
    for (const json::value& item : items->get_array()) {
      if (request->limit.has_value() && printed >= *request->limit) break;
      printer.Add(item);
      ++printed;
    }
    out_.flush();
    const json::value* next = page->if_contains("next_page_token");
    if (next == nullptr || !next->is_string() || next->get_string().empty()) break;
    // A server that hands back the token it was given would page forever.
    if (next->get_string() == page_token) {
      return Fail("the server repeated a page token; stopping", kExitRefused);
    }
    page_token = std::string(next->get_string());
  }
  printer.Finish();
  return kExitOk;
}

}  // namespace vouch::cli

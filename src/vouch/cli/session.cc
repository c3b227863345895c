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

std::string ErrorCodeOf(const HttpResponse& response) {
  Result<json::value> body = ParseJson(response.body);
  if (!body.ok() || !body->is_object()) return "";
  const json::value* error = body->get_object().if_contains("error");
  const json::value* code =
      error != nullptr && error->is_object() ? error->get_object().if_contains("code") : nullptr;
  return code != nullptr && code->is_string() ? std::string(code->get_string()) : "";
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

namespace {

// A username and its password: given, or asked for when a person is at the terminal.
Result<ClientOptions> WithPassword(const ClientEnv& env, ClientOptions options,
                                   std::string_view option) {
  if (!options.password.empty()) return options;
  if (env.prompter == nullptr || !env.prompter->interactive()) {
    return InvalidArgument(fmt::format(
        "{} needs a password: give --password or VOUCH_PASSWORD, or run at a terminal", option));
  }
  VOUCH_ASSIGN_OR_RETURN(
      options.password,
      env.prompter->ReadLine(
          fmt::format("Password for {} at {}: ", options.username, options.server), true));
  return options;
}

}  // namespace

Result<Credential> ResolveCredentials(const ClientEnv& env) {
  ClientOptions options = env.options;
  const std::string password = options.password;
  options.token.clear();
  options.username.clear();
  options.password.clear();
  const auto token = [&options](std::string value, CredentialSource source) {
    ClientOptions chosen = options;
    chosen.token = std::move(value);
    return Credential{std::move(chosen), source};
  };
  const auto basic = [&](std::string username, CredentialSource source,
                         std::string_view option) -> Result<Credential> {
    ClientOptions chosen = options;
    chosen.username = std::move(username);
    chosen.password = password;
    VOUCH_ASSIGN_OR_RETURN(chosen, WithPassword(env, std::move(chosen), option));
    return Credential{std::move(chosen), source};
  };
  if (!env.options.token.empty()) return token(env.options.token, CredentialSource::kTokenOption);
  if (!env.options.username.empty()) {
    return basic(env.options.username, CredentialSource::kUsernameOption, "--username");
  }
  if (!env.env_token.empty()) return token(env.env_token, CredentialSource::kTokenEnv);
  if (!env.env_username.empty()) {
    return basic(env.env_username, CredentialSource::kUsernameEnv, "VOUCH_USERNAME");
  }
  if (!env.credentials.empty()) {
    VOUCH_ASSIGN_OR_RETURN(std::optional<SavedLogin> saved,
                           LoadLogin(env.credentials, options.server));
    if (saved) return token(saved->token, CredentialSource::kSavedLogin);
  }
  return Credential{std::move(options), CredentialSource::kNone};
}

std::string DescribeCredential(CredentialSource source, const ClientEnv& env) {
  switch (source) {
    case CredentialSource::kTokenOption:
      return "--token";
    case CredentialSource::kUsernameOption:
      return fmt::format("--username {} (password)", env.options.username);
    case CredentialSource::kTokenEnv:
      return "VOUCH_TOKEN (environment)";
    case CredentialSource::kUsernameEnv:
      return fmt::format("VOUCH_USERNAME={} (environment, password)", env.env_username);
    case CredentialSource::kSavedLogin:
      return fmt::format("saved by `vouch login` in {}", env.credentials.string());
    case CredentialSource::kNone:
      break;
  }
  return "none";
}

Session::Session(HttpTransport& transport, OutputFormat format, std::ostream& out,
                 std::ostream& err)
    : transport_(&transport), format_(format), out_(out), err_(err) {}

Session::Session(const ClientEnv& env, OutputFormat format, std::ostream& out, std::ostream& err)
    : env_(&env), format_(format), out_(out), err_(err) {}

HttpTransport* Session::Transport(int& exit_code) {
  if (transport_ != nullptr) return transport_;
  Result<Credential> credential = ResolveCredentials(*env_);
  if (!credential.ok()) {
    exit_code = Fail(credential.status().message(), kExitUsage);
    return nullptr;
  }
  source_ = credential->source;
  if (env_->verbose) {
    err_ << "vouch: credential: " << DescribeCredential(source_, *env_) << "\n";
  }
  owned_ = env_->make_transport(credential->options);
  transport_ = owned_.get();
  return transport_;
}

int Session::Fail(std::string_view message, int exit_code) {
  out_.flush();
  err_ << "vouch: " << message << "\n";
  return exit_code;
}

Session::Reply Session::Fetch(const HttpRequest& request) { return FetchHandling(request, ""); }

Session::Reply Session::FetchHandling(const HttpRequest& request, std::string_view code) {
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
    if (!code.empty() && ErrorCodeOf(*response) == code) {
      return {ExitCodeForHttpStatus(response->status), {}, std::string(code)};
    }
    return {Fail(RefusalText(*response), ExitCodeForHttpStatus(response->status)), {}};
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

std::string Session::RefusalText(const HttpResponse& response) const {
  if (response.status != 401 || env_ == nullptr) return RefusalMessage(response);
  if (source_ == CredentialSource::kNone) {
    return fmt::format(
        "not logged in to {}: run `vouch login`, or give --token or VOUCH_TOKEN (see vouch login "
        "--help)",
        env_->options.server);
  }
  if (source_ == CredentialSource::kSavedLogin) {
    return fmt::format("{} (the token saved by `vouch login` was refused: run `vouch login` again)",
                       RefusalMessage(response));
  }
  return fmt::format("{} (credential: {})", RefusalMessage(response),
                     DescribeCredential(source_, *env_));
}

int Session::RunWrite(const Result<HttpRequest>& request, const Done& done,
                      const std::vector<Column>& columns) {
  if (!request.ok()) return Fail(request.status().message(), kExitUsage);
  Reply reply = Fetch(*request);
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (reply.body.is_null()) {
    PrintDone(done, format_, out_);
  } else {
    PrintObject(reply.body, format_, out_, columns.empty() ? nullptr : &columns);
  }
  return kExitOk;
}

int Session::RunObject(const Result<HttpRequest>& request, const std::vector<Column>& columns) {
  if (!request.ok()) return Fail(request.status().message(), kExitUsage);
  Reply reply = Fetch(*request);
  if (reply.exit_code != kExitOk) return reply.exit_code;
  if (!reply.body.is_null()) PrintObject(reply.body, format_, out_, &columns);
  return kExitOk;
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

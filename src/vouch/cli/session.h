// The one path every command takes: send a request, turn a refusal or an unreachable server into a
// message on stderr and an exit code, print what came back.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/credentials.h"
#include "vouch/cli/http_client.h"
#include "vouch/cli/output.h"
#include "vouch/util/json.h"
#include "vouch/util/status.h"

namespace vouch::cli {

// Process exit codes (cli.h).
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// 0 for a 2xx answer, 1 (the server refused) for any other status the server sent.
int ExitCodeForHttpStatus(int http_status);

// For a transport failure (no answer): 2 when the request could not be made as invoked
// (INVALID_ARGUMENT: bad URL, bad CA file), otherwise 3, the server is unreachable.
int ExitCodeForTransportFailure(const Status& status);

// The text printed after "vouch: " for a refusal: "CODE: message" from the native error body, or
// "HTTP <status>: <start of body>" when the body is not one (a proxy's error page, say).
std::string RefusalMessage(const HttpResponse& response);
// The native error body's code ("REAUTH_REQUIRED"); empty when the body is not one.
std::string ErrorCodeOf(const HttpResponse& response);

// A fresh Idempotency-Key for one command's POST: "cli-" and 32 hex digits.
std::string NewIdempotencyKey();

// What a command shows of a single-object answer.
enum class Display { kObject, kNothing };

// A paged list endpoint (docs/api.md "Lists are paged").
struct ListRequest {
  std::string path;                                        // encoded, without query
  std::vector<std::pair<std::string, std::string>> query;  // filters; limit and page_token added
  std::string items_field;                                 // "models", "versions", "events"
  std::optional<int64_t> limit;                            // print at most this many; nullopt: all
  std::vector<Column> columns;
};

// How an invocation reaches its server, as the global options and the environment gave it. The
// session connects through it on its first request; `login` and `logout` use it to connect with
// other credentials.
struct ClientEnv {
  // The server (normalized), the CA file, and the credentials given as options: --token,
  // --username, and --password (or VOUCH_PASSWORD, which only ever goes with a username).
  ClientOptions options;
  std::string env_token;     // VOUCH_TOKEN; empty when unset or set to ""
  std::string env_username;  // VOUCH_USERNAME; empty when unset or set to ""
  bool verbose = false;      // --verbose: say on stderr where the credential came from
  TransportFactory make_transport;
  Prompter* prompter = nullptr;       // for passwords not given as options
  std::filesystem::path credentials;  // where `vouch login` saves its token (credentials.h)
};

// Where the credential a request goes out with came from, in the order ResolveCredentials tries
// them: what is given explicitly beats what is ambient (docs/cli.md, "Credentials").
enum class CredentialSource {
  kTokenOption,     // --token
  kUsernameOption,  // --username, with --password / VOUCH_PASSWORD / asked for
  kTokenEnv,        // VOUCH_TOKEN
  kUsernameEnv,     // VOUCH_USERNAME, with its password
  kSavedLogin,      // the token `vouch login` saved for this very server URL
  kNone,            // nothing: requests go out unauthenticated
};

struct Credential {
  ClientOptions options;  // with only the chosen credential's fields set
  CredentialSource source = CredentialSource::kNone;
};

// The credential a request goes out with: --token; else --username with its password (--password,
// VOUCH_PASSWORD, or asked for when a person is at the terminal); else VOUCH_TOKEN; else
// VOUCH_USERNAME with its password; else the token `vouch login` saved for this very server URL;
// else none. Empty values count as unset. INVALID_ARGUMENT for a username without a password and
// no terminal to ask at, FAILED_PRECONDITION for a credentials file others may read.
Result<Credential> ResolveCredentials(const ClientEnv& env);

// Where a credential came from, as whoami and --verbose say it: "--token", "VOUCH_TOKEN
// (environment)", "saved by `vouch login` in /home/a/.config/vouch/credentials", "none".
std::string DescribeCredential(CredentialSource source, const ClientEnv& env);

// Not thread-safe; one per invocation.
class Session {
 public:
  Session(HttpTransport& transport, OutputFormat format, std::ostream& out, std::ostream& err);
  // Connects through `env` (ResolveCredentials, then its factory) when the first request is sent;
  // a command that never sends one (the admin commands) never resolves credentials.
  Session(const ClientEnv& env, OutputFormat format, std::ostream& out, std::ostream& err);

  // Sends `request` (a failed Result is a usage error: printed, exit 2) and prints the answer.
  // Returns the exit code.
  int Run(const Result<HttpRequest>& request, Display display);

  // Follows next_page_token until `limit` items are printed or the list ends. Items are printed as
  // they arrive, so a refusal midway leaves the earlier pages printed and returns 1.
  int RunList(const Result<ListRequest>& request);

  // One GET whose answer holds the whole list in `items_field` (the identity lists are not paged),
  // printed like RunList's.
  int RunItems(const Result<HttpRequest>& request, std::string_view items_field,
               std::vector<Column> columns);

  // Prints what a write answered without a body did (output.h, Done); `request` as in Run.
  // When the server answers with an object instead (a tag deleted answers with its model), that
  // is printed, with `columns` for CSV (every field when empty).
  int RunWrite(const Result<HttpRequest>& request, const Done& done,
               const std::vector<Column>& columns = {});

  // Like Run for a single object, with the command's columns for CSV (output.h, PrintObject).
  int RunObject(const Result<HttpRequest>& request, const std::vector<Column>& columns);

  // Prints "vouch: <message>" on stderr and returns `exit_code`.
  int Fail(std::string_view message, int exit_code);

  // Where a command that does not talk to the server (admin commands) prints its result.
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  OutputFormat format() const { return format_; }
  // How this invocation connects; null for a session made on a bare transport (tests).
  const ClientEnv* env() const { return env_; }
  // Where the credential came from; kNone until the first request (and on a bare transport).
  CredentialSource credential_source() const { return source_; }

  struct Reply {
    int exit_code = kExitOk;
    json::value body;  // null for an empty (204) body
    // FetchHandling only: the native error code of a refusal left to the caller.
    std::string error_code;
  };
  // Sends one request; on failure the reason is already printed and exit_code is set. A POST goes
  // out with a fresh Idempotency-Key and, when no answer came (the server unreachable, the
  // connection dropped, a timeout) or the server answered 503, is sent again with the same key, up
  // to kMaxAttempts in all, so a create whose answer was lost is not applied twice. A retry that
  // finds the first attempt still running (409 ABORTED) is retried too.
  Reply Fetch(const HttpRequest& request);
  // As Fetch, except that a refusal whose native error code is `code` (REAUTH_REQUIRED, say) is
  // not printed: the reply carries it in `error_code`, with exit code 1, for the caller to act on.
  Reply FetchHandling(const HttpRequest& request, std::string_view code);

  static constexpr int kMaxAttempts = 3;
  // The pause before the n-th retry is n times this (tests set 0).
  void set_retry_delay(std::chrono::milliseconds delay) { retry_delay_ = delay; }

 private:
  // RefusalMessage, and for a 401 what to do about it: `vouch login` when no credential was sent,
  // else which credential was refused.
  std::string RefusalText(const HttpResponse& response) const;
  // The transport, made through env_ on first use. Null (and the reason printed, `exit_code` set)
  // when the credentials cannot be resolved.
  HttpTransport* Transport(int& exit_code);

  HttpTransport* transport_ = nullptr;
  std::unique_ptr<HttpTransport> owned_;
  const ClientEnv* env_ = nullptr;
  CredentialSource source_ = CredentialSource::kNone;
  OutputFormat format_;
  std::ostream& out_;
  std::ostream& err_;
  std::chrono::milliseconds retry_delay_{500};
};

}  // namespace vouch::cli

// Outbound mail: one message to an SMTP server through libcurl, for the e-mail channel of
// notifications. A small interface (SmtpClient, so tests can script answers) and its libcurl
// implementation. Knows nothing of notifications or of who the recipients are; the caller gives
// the envelope (MAIL FROM, RCPT TO) and the RFC 5322 message bytes.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/status.h"

namespace vouch::net {

// Whether a plain smtp:// connection is upgraded with STARTTLS. smtps:// is TLS from the first
// byte whatever this says.
enum class StartTls {
  kRequired,       // STARTTLS or nothing is sent (the default)
  kOpportunistic,  // STARTTLS when the server offers it, plain text otherwise
  kOff,            // never (a relay on the same machine)
};
std::string_view StartTlsName(StartTls s);  // "required", "opportunistic", "off"
// INVALID_ARGUMENT for anything but the names above.
Result<StartTls> ParseStartTls(std::string_view name);

struct SmtpOptions {
  // smtp://HOST[:PORT] or smtps://HOST[:PORT]; a path, if any, is the name sent with EHLO.
  std::string url;
  StartTls starttls = StartTls::kRequired;
  std::string user;  // empty: no AUTH
  std::string password;
  std::string ca_file;  // empty: the system's trust store; certificates are always verified
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};  // the whole exchange
};

struct SmtpMessage {
  std::string from;             // the envelope sender (MAIL FROM), a bare address
  std::vector<std::string> to;  // the envelope recipients (RCPT TO), bare addresses; not empty
  std::string data;             // the RFC 5322 message: header lines, CRLF, body; CRLF line ends
};

// What the server answered. A refusal (a 4xx or 5xx reply to MAIL, RCPT, DATA or AUTH) is an
// answer, not a transport failure: `code` is the refusing reply's code and `text` its text.
struct SmtpReply {
  int code = 0;      // 250 when the message was accepted
  std::string text;  // the reply's text (the last line of a multi-line reply), trimmed
  // Recipients the server refused while it accepted the message for the others, with the reply:
  // "a@example.com: 550 no such user".
  std::vector<std::string> refused;
  bool accepted() const { return code >= 200 && code < 300; }
};

class SmtpClient {
 public:
  virtual ~SmtpClient() = default;
  // Sends `message`. The server's answer, or, when there was none, UNAVAILABLE (cannot resolve or
  // connect, TLS failed or STARTTLS was required and not offered, timed out, the connection
  // dropped) or INVALID_ARGUMENT (the URL is not smtp:// or smtps://, no recipient, a CR or LF in
  // an address), each message holding the detail.
  virtual Result<SmtpReply> Send(const SmtpMessage& message) = 0;
};

// libcurl's SMTP. One handle per client (a connection is not kept between messages: a relay may
// close an idle one at any time). Recipients the server refuses do not stop the others' copies.
// Not thread-safe: one per thread.
class CurlSmtpClient final : public SmtpClient {
 public:
  explicit CurlSmtpClient(SmtpOptions options);
  ~CurlSmtpClient() override;
  CurlSmtpClient(const CurlSmtpClient&) = delete;
  CurlSmtpClient& operator=(const CurlSmtpClient&) = delete;

  // INTERNAL when libcurl could not make a handle.
  Result<SmtpReply> Send(const SmtpMessage& message) override;

 private:
  SmtpOptions options_;
  void* curl_;  // CURL*, kept opaque so this header does not pull in curl.h
};

// Checks an --smtp-url: INVALID_ARGUMENT unless it is smtp:// or smtps:// with a host and nothing
// after an optional path (no user information: credentials come from a file or the environment).
Status CheckSmtpUrl(std::string_view url);

}  // namespace vouch::net

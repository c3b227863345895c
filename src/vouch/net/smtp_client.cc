#include "vouch/net/smtp_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace vouch::net {
namespace {

// curl_global_init is not thread-safe and must run once before any handle exists (the HTTP
// client's once-flag is its own; a second call is counted and harmless).
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlList {
  curl_slist* list = nullptr;
  ~CurlList() { curl_slist_free_all(list); }
};

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * count, up->data.size() - up->offset);
  std::copy_n(up->data.data() + up->offset, n, buffer);
  up->offset += n;
  return n;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The conversation as curl reports it to its debug callback: commands sent (HEADER_OUT) and the
// server's replies (HEADER_IN). Kept: the last final reply, and each refused recipient.
struct Transcript {
  std::string command;  // the last command sent, first line
  int code = 0;         // the last final reply
  std::string text;
  std::vector<std::string> refused;

  void Sent(std::string_view data) {
    size_t end = data.find_first_of("\r\n");
    command = std::string(data.substr(0, end));
  }
  void Received(std::string_view data) {
    while (!data.empty()) {
      size_t end = data.find('\n');
      std::string_view line = data.substr(0, end);
      data = end == std::string_view::npos ? std::string_view() : data.substr(end + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      // A final reply line: three digits and a space (or nothing); "250-" lines continue.
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) ||
          !std::isdigit(static_cast<unsigned char>(line[2])) ||
          (line.size() > 3 && line[3] != ' ')) {
        continue;
      }
      // QUIT's 221 says nothing of the message: the reply before it is the answer.
      if (command.starts_with("QUIT")) continue;
      code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      text = Trim(line.size() > 3 ? line.substr(4) : std::string_view());
      constexpr std::string_view kRcpt = "RCPT TO:";
      if (code >= 400 && command.size() > kRcpt.size() &&
          std::equal(kRcpt.begin(), kRcpt.end(), command.begin(), [](char a, char b) {
            return a == std::toupper(static_cast<unsigned char>(b));
          })) {
        std::string who = command.substr(kRcpt.size());
        who.erase(
            std::remove_if(who.begin(), who.end(), [](char c) { return c == '<' || c == '>'; }),
            who.end());
        refused.push_back(fmt::format("{}: {} {}", Trim(who), code, text));
      }
    }
  }
};

int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  auto* t = static_cast<Transcript*>(user);
  if (type == CURLINFO_HEADER_OUT) t->Sent(std::string_view(data, size));
  if (type == CURLINFO_HEADER_IN) t->Received(std::string_view(data, size));
  return 0;
}

Status CheckAddress(std::string_view address, std::string_view what) {
  if (address.empty()) return InvalidArgument(fmt::format("{}: an empty address", what));
  for (char c : address) {
    if (c == '\r' || c == '\n' || c == '<' || c == '>' || c == '\0' ||
        std::isspace(static_cast<unsigned char>(c))) {
      return InvalidArgument(fmt::format("{}: '{}' is not a bare e-mail address", what, address));
    }
  }
  return OkStatus();
}

}  // namespace

std::string_view StartTlsName(StartTls s) {
  switch (s) {
    case StartTls::kRequired:
      return "required";
    case StartTls::kOpportunistic:
      return "opportunistic";
    case StartTls::kOff:
      return "off";
  }
  return "required";
}

Result<StartTls> ParseStartTls(std::string_view name) {
  for (StartTls s : {StartTls::kRequired, StartTls::kOpportunistic, StartTls::kOff}) {
    if (StartTlsName(s) == name) return s;
  }
  return InvalidArgument(
      fmt::format("STARTTLS must be required, opportunistic or off, not '{}'", name));
}

Status CheckSmtpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("smtp://")) {
    rest = url.substr(7);
  } else if (url.starts_with("smtps://")) {
    rest = url.substr(8);
  } else {
    return InvalidArgument(fmt::format("'{}' is not an smtp:// or smtps:// URL", url));
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.starts_with(':')) {
    return InvalidArgument(fmt::format("'{}' names no host", url));
  }
  if (authority.find('@') != std::string_view::npos) {
    // Not echoed: the part before '@' may be a password.
    return InvalidArgument(
        "the SMTP URL holds credentials: give them in a credentials file or "
        "VOUCH_SMTP_USER/VOUCH_SMTP_PASSWORD instead");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
      return InvalidArgument(
          fmt::format("'{}' holds a space, a control character, a query or a fragment", url));
    }
  }
  return OkStatus();
}

CurlSmtpClient::CurlSmtpClient(SmtpOptions options) : options_(std::move(options)) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

CurlSmtpClient::~CurlSmtpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Result<SmtpReply> CurlSmtpClient::Send(const SmtpMessage& message) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Internal("libcurl could not create a handle");
  VOUCH_TRY(CheckSmtpUrl(options_.url));
  VOUCH_TRY(CheckAddress(message.from, "sender"));
  if (message.to.empty()) return InvalidArgument("no recipient");
  for (const std::string& to : message.to) VOUCH_TRY(CheckAddress(to, "recipient"));
  curl_easy_reset(curl);

  CurlList recipients;
  for (const std::string& to : message.to) {
    recipients.list = curl_slist_append(recipients.list, ("<" + to + ">").c_str());
  }
  const std::string from = "<" + message.from + ">";
  Upload upload{.data = message.data};
  Transcript transcript;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  if (options_.timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  }
  // A relay may drop an idle connection at any time; each message gets a fresh one.
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  switch (options_.starttls) {
    case StartTls::kRequired:
      curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      break;
    case StartTls::kOpportunistic:
      curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
      break;
    case StartTls::kOff:
      curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
      break;
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients.list);
  // One refused recipient does not cost the others their copy (libcurl 7.88 spells it with LLL).
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadBody);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.data.size()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // feeds OnDebug; nothing is printed
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, &OnDebug);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &transcript);

  const CURLcode code = curl_easy_perform(curl);
  SmtpReply reply{.code = transcript.code,
                  .text = std::move(transcript.text),
                  .refused = std::move(transcript.refused)};
  if (code == CURLE_OK) {
    if (reply.code == 0) reply.code = 250;  // curl saw the final reply even if we did not
    return reply;
  }
  // The server answered with a refusal: an answer.
  if (reply.code >= 400) return reply;
  const std::string_view detail = error[0] != '\0' ? error : curl_easy_strerror(code);
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(fmt::format("invalid SMTP URL: {}", detail));
    case CURLE_USE_SSL_FAILED:
      return Unavailable(fmt::format("STARTTLS is required and failed: {}", detail));
    default:
      return Unavailable(fmt::format("no answer from the SMTP server: {}", detail));
  }
}

}  // namespace vouch::net

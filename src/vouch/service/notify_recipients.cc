#include "vouch/service/notify_recipients.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vouch::service {
namespace {

notify::Mailbox MailboxOf(const Principal& p) {
  notify::Mailbox m{.name = p.name};
  if (p.disabled) {
    m.skip_reason = "is disabled";
  } else if (p.email.empty()) {
    m.skip_reason = "has no e-mail";
  } else {
    m.email = p.email;
  }
  return m;
}

}  // namespace

Result<std::vector<notify::Mailbox>> StoreRecipientDirectory::People(
    const std::vector<std::string>& names) {
  std::vector<notify::Mailbox> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    for (const std::string& name : names) {
      VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipal(name));
      out.push_back(p ? MailboxOf(*p)
                      : notify::Mailbox{.name = name, .skip_reason = "does not exist"});
    }
    return OkStatus();
  }));
  return out;
}

Result<std::optional<notify::Mailbox>> StoreRecipientDirectory::Requester(int64_t request_id) {
  std::optional<notify::Mailbox> out;
  VOUCH_TRY(store_.Read([&](store::Tx& tx) -> Status {
    out.reset();
    VOUCH_ASSIGN_OR_RETURN(std::optional<store::ApprovalRequest> r, tx.FindRequest(request_id));
    if (!r) return OkStatus();
    VOUCH_ASSIGN_OR_RETURN(std::optional<Principal> p, tx.FindPrincipalById(r->requester_id));
    out = p ? MailboxOf(*p)
            : notify::Mailbox{.name = fmt::format("principal {}", r->requester_id),
                              .skip_reason = "does not exist"};
    return OkStatus();
  }));
  return out;
}

std::unique_ptr<notify::Channel> MakeEmailChannel(store::Store& store, EmailSettings settings) {
  notify::SmtpClientFactory factory;
  if (!settings.smtp.url.empty()) {
    factory = [smtp = settings.smtp]() -> std::unique_ptr<net::SmtpClient> {
      return std::make_unique<net::CurlSmtpClient>(smtp);
    };
  }
  return std::make_unique<notify::EmailChannel>(
      notify::EmailChannelOptions{.from = std::move(settings.from)}, std::move(factory),
      std::make_shared<StoreRecipientDirectory>(store));
}

Result<std::pair<std::string, std::string>> ReadSmtpCredentials(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Unavailable(
        fmt::format("cannot read the SMTP credentials file {}: {}", path, std::strerror(errno)));
  }
  std::string text;
  char buf[1024];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < 64 * 1024)
    text.append(buf, n);
  std::fclose(f);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || text.find('\n') != std::string::npos) {
    // Not echoed: the file holds a password.
    return InvalidArgument(
        fmt::format("the SMTP credentials file {} must hold one line, user:password", path));
  }
  return std::pair(text.substr(0, colon), text.substr(colon + 1));
}

}  // namespace vouch::service

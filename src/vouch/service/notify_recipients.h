// Who has which e-mail address, for the e-mail channel of notifications (notify/email_channel.h):
// principals by username, and a request's requester, each read in a read transaction of the
// store at the moment of the attempt (an address changed since the event is the one used).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vouch/net/smtp_client.h"
#include "vouch/notify/channel.h"
#include "vouch/notify/email_channel.h"
#include "vouch/store/store.h"

namespace vouch::service {

// Thread-safe (each call is a read transaction of its own).
class StoreRecipientDirectory final : public notify::RecipientDirectory {
 public:
  explicit StoreRecipientDirectory(store::Store& store) : store_(store) {}

  // A disabled principal is not mailed ("is disabled"), nor one without an e-mail ("has no
  // e-mail"), nor a name no principal holds ("does not exist").
  Result<std::vector<notify::Mailbox>> People(const std::vector<std::string>& names) override;
  Result<std::optional<notify::Mailbox>> Requester(int64_t request_id) override;

 private:
  store::Store& store_;
};

// What `vouch serve`'s --smtp-* flags say.
struct EmailSettings {
  net::SmtpOptions smtp;  // url empty: no SMTP server, e-mail deliveries fail until one is given
  std::string from;       // --smtp-from
};

// The channel for format `email`, over `store`'s principals: what the delivery wiring registers
// for it. Sends nothing without an SMTP URL (each attempt then fails, and is retried).
std::unique_ptr<notify::Channel> MakeEmailChannel(store::Store& store, EmailSettings settings);

// Reads an --smtp-credentials-file: one line "user:password" (a trailing newline ignored; the
// password may hold ':'). INVALID_ARGUMENT when there is no ':' or no user; UNAVAILABLE when the
// file cannot be read.
Result<std::pair<std::string, std::string>> ReadSmtpCredentials(const std::string& path);

}  // namespace vouch::service

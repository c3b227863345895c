// The e-mail channel: how a delivery of a subscription with format `email` reaches people. It
// resolves the recipients from the subscription's `email_to`, renders the message with the
// subscription's format (EmailFormat), and sends it through SMTP (net::SmtpClient).
//
// `email_to` holds, in any mix:
// - "reviewers": the people who can act on the request — for request.opened and
//   request.reminder, each principal the event's `recipients` name as able to approve an unmet
//   rule (the outbox extras), by the e-mail of their principal;
// - "requester": the request's requester, for request.approved, request.rejected,
//   request.applied and request.expired;
// - fixed addresses, for every event the subscription receives.
// A principal without an e-mail (or disabled, or gone) is skipped, and the outcome says so. An
// event that leaves nobody to mail is not sent at all: the outcome is `skipped`, with the reason.
//
// Who has which address is the store's to say: the channel asks a RecipientDirectory, which the
// service implements (service/notify_recipients.h), so this layer stays free of the store.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/net/smtp_client.h"
#include "vouch/notify/channel.h"
#include "vouch/util/status.h"

namespace vouch::notify {

// One principal, as far as mail is concerned.
struct Mailbox {
  std::string name;         // the principal's username
  std::string email;        // empty: not to be mailed (`skip_reason` says why)
  std::string skip_reason;  // "has no e-mail", "is disabled", "does not exist"
};

// Who has which e-mail address. Thread-safe implementations only (several delivery threads).
class RecipientDirectory {
 public:
  virtual ~RecipientDirectory() = default;
  // One Mailbox per name, in the order given. The store's errors.
  virtual Result<std::vector<Mailbox>> People(const std::vector<std::string>& names) = 0;
  // The requester of request `request_id`; nullopt when there is no such request.
  virtual Result<std::optional<Mailbox>> Requester(int64_t request_id) = 0;
};

// What `email_to` may hold besides addresses.
inline constexpr std::string_view kEmailToReviewers = "reviewers";
inline constexpr std::string_view kEmailToRequester = "requester";

// Checks a subscription's `email_to`: INVALID_ARGUMENT with a message starting "email_to: " when
// it is empty, longer than 50 entries, or holds something that is neither "reviewers",
// "requester" nor a plain address (local@domain, no spaces, angle brackets or control characters).
Status CheckEmailTo(const std::vector<std::string>& email_to);
// A plain address as the channel sends to it (see CheckEmailTo).
bool IsPlainAddress(std::string_view address);

// Whom one delivery goes to.
struct Recipients {
  std::vector<std::string> to;       // addresses, each once (compared without case), in order
  std::vector<std::string> skipped;  // "eli (has no e-mail)"
};
// Resolves `email_to` (the subscription's JSON array) for `envelope`'s event. INVALID_ARGUMENT
// when `email_to` is not a JSON array of strings; the directory's errors.
Result<Recipients> ResolveRecipients(std::string_view email_to, const Envelope& envelope,
                                     RecipientDirectory& directory);

struct EmailChannelOptions {
  // The From header and envelope sender: "noreply@example.com" or "vouch <noreply@example.com>".
  std::string from;
};
// INVALID_ARGUMENT unless `from` is an address or "Display Name <address>", printable ASCII.
Status CheckSmtpFrom(std::string_view from);

// Makes one SMTP client per attempt (each send is a connection of its own).
using SmtpClientFactory = std::function<std::unique_ptr<net::SmtpClient>()>;

// Thread-safe: Send may be called from several delivery threads at once.
class EmailChannel final : public Channel {
 public:
  EmailChannel(EmailChannelOptions options, SmtpClientFactory smtp,
               std::shared_ptr<RecipientDirectory> directory);

  // The SMTP reply code is `status` (250: accepted; that counts as delivered). A 4xx reply or no
  // answer is retried; a 5xx reply is permanent. Nobody to mail: `skipped` (and permanent).
  AttemptOutcome Send(const store::WebhookRecord& webhook, const Envelope& envelope,
                      const Format& format) override;

 private:
  EmailChannelOptions options_;
  SmtpClientFactory smtp_;
  std::shared_ptr<RecipientDirectory> directory_;
};

}  // namespace vouch::notify

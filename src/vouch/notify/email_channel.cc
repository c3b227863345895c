#include "vouch/notify/email_channel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <span>

#include "vouch/notify/email_format.h"
#include "vouch/util/json.h"
#include "vouch/util/text.h"

namespace vouch::notify {
namespace {

constexpr size_t kMaxEmailTo = 50;
constexpr size_t kMaxExcerpt = 1024;

// The events whose requester hears of them under "requester".
constexpr std::string_view kRequesterActions[] = {"request.approved", "request.rejected",
                                                  "request.applied", "request.expired"};
// The events that carry `recipients` for "reviewers".
constexpr std::string_view kReviewerActions[] = {"request.opened", "request.reminder"};

bool OneOf(std::string_view action, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), action) != names.end();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The address inside "Name <addr>", or the whole text.
std::string_view AddressOf(std::string_view from) {
  size_t open = from.rfind('<');
  if (open == std::string_view::npos || from.empty() || from.back() != '>') return from;
  return from.substr(open + 1, from.size() - open - 2);
}

std::string Excerpt(std::string s) {
  if (s.size() > kMaxExcerpt) s = SanitizeUtf8(s, kMaxExcerpt);
  return s;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

bool IsPlainAddress(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : address) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']') {
      return false;
    }
  }
  return true;
}

Status CheckEmailTo(const std::vector<std::string>& email_to) {
  if (email_to.empty()) {
    return InvalidArgument(
        "email_to: give \"reviewers\", \"requester\" or addresses for an e-mail subscription");
  }
  if (email_to.size() > kMaxEmailTo) {
    return InvalidArgument(fmt::format("email_to: at most {} entries", kMaxEmailTo));
  }
  for (const std::string& entry : email_to) {
    if (entry == kEmailToReviewers || entry == kEmailToRequester) continue;
    if (!IsPlainAddress(entry)) {
      return InvalidArgument(
          fmt::format("email_to: '{}' is neither reviewers, requester nor a plain e-mail address",
                      SanitizeUtf8(entry, 256)));
    }
  }
  return OkStatus();
}

Status CheckSmtpFrom(std::string_view from) {
  for (unsigned char c : from) {
    if (c < 0x20 || c >= 0x7f) {
      return InvalidArgument("the sender must be printable ASCII");
    }
  }
  if (!IsPlainAddress(AddressOf(from))) {
    return InvalidArgument(
        fmt::format("the sender '{}' is not an address or \"Name <address>\"", from));
  }
  return OkStatus();
}

Result<Recipients> ResolveRecipients(std::string_view email_to, const Envelope& envelope,
                                     RecipientDirectory& directory) {
  Result<json::value> parsed = ParseJson(email_to);
  if (!parsed.ok() || !parsed->is_array()) {
    return InvalidArgument("email_to: not a JSON array");
  }
  std::vector<std::string> entries;
  for (const json::value& v : parsed->as_array()) {
    if (!v.is_string()) return InvalidArgument("email_to: not a JSON array of strings");
    entries.emplace_back(v.as_string());
  }
  const std::string_view action = envelope.action;
  Recipients out;
  std::set<std::string> seen;
  auto add = [&](std::string_view address) {
    if (seen.insert(Lower(address)).second) out.to.emplace_back(address);
  };
  auto add_mailbox = [&](const Mailbox& m) {
    if (m.email.empty()) {
      out.skipped.push_back(
          fmt::format("{} ({})", m.name, m.skip_reason.empty() ? "has no e-mail" : m.skip_reason));
    } else if (!IsPlainAddress(m.email)) {
      out.skipped.push_back(fmt::format("{} (its e-mail is not a plain address)", m.name));
    } else {
      add(m.email);
    }
  };
  for (const std::string& entry : entries) {
    if (entry == kEmailToReviewers) {
      if (!OneOf(action, kReviewerActions)) continue;
      std::vector<std::string> names;
      const json::value* r = envelope.event.if_contains("recipients");
      if (r != nullptr && r->is_array()) {
        for (const json::value& rule : r->as_array()) {
          const json::value* could =
              rule.is_object() ? rule.as_object().if_contains("could_approve") : nullptr;
          if (could == nullptr || !could->is_array()) continue;
          for (const json::value& n : could->as_array()) {
            if (!n.is_string()) continue;
            std::string name(n.as_string());
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
          }
        }
      }
      if (names.empty()) continue;
      VOUCH_ASSIGN_OR_RETURN(std::vector<Mailbox> people, directory.People(names));
      for (const Mailbox& m : people) add_mailbox(m);
    } else if (entry == kEmailToRequester) {
      if (!OneOf(action, kRequesterActions)) continue;
      const json::value* target = envelope.event.if_contains("target");
      const json::value* request = target != nullptr && target->is_object()
                                       ? target->as_object().if_contains("request")
                                       : nullptr;
      if (request == nullptr || !request->is_int64()) continue;
      VOUCH_ASSIGN_OR_RETURN(std::optional<Mailbox> requester,
                             directory.Requester(request->as_int64()));
      if (requester) add_mailbox(*requester);
    } else if (IsPlainAddress(entry)) {
      add(entry);
    } else {
      out.skipped.push_back(fmt::format("'{}' (not a plain address)", SanitizeUtf8(entry, 256)));
    }
  }
  return out;
}

EmailChannel::EmailChannel(EmailChannelOptions options, SmtpClientFactory smtp,
                           std::shared_ptr<RecipientDirectory> directory)
    : options_(std::move(options)), smtp_(std::move(smtp)), directory_(std::move(directory)) {}

AttemptOutcome EmailChannel::Send(const store::WebhookRecord& webhook, const Envelope& envelope,
                                  const Format& format) {
  AttemptOutcome outcome;
  auto skip = [&](std::string why) {
    outcome.skipped = true;
    outcome.permanent = true;
    outcome.error = Excerpt(std::move(why));
    return outcome;
  };
  Result<Recipients> recipients = ResolveRecipients(webhook.email_to, envelope, *directory_);
  if (!recipients.ok()) {
    // The store did not answer: another attempt may find it back.
    outcome.error = Excerpt(recipients.status().message());
    if (recipients.status().code() == StatusCode::kInvalidArgument) outcome.permanent = true;
    return outcome;
  }
  const std::string not_mailed =
      recipients->skipped.empty() ? "" : "not mailed: " + Join(recipients->skipped);
  if (recipients->to.empty()) {
    return skip(fmt::format("nobody to mail for {}{}{}", envelope.action,
                            not_mailed.empty() ? "" : "; ", not_mailed));
  }
  Result<Rendered> rendered = format.Render(envelope);
  if (!rendered.ok()) return skip(rendered.status().message());

  net::SmtpMessage message{.from = std::string(AddressOf(options_.from)),
                           .to = recipients->to,
                           .data = AssembleMessage(options_.from, recipients->to, *rendered)};
  std::unique_ptr<net::SmtpClient> client = smtp_ ? smtp_() : nullptr;
  if (client == nullptr) {
    outcome.error = "no SMTP server is configured (--smtp-url)";
    return outcome;
  }
  const auto start = std::chrono::steady_clock::now();
  Result<net::SmtpReply> reply = client->Send(message);
  outcome.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (!reply.ok()) {
    outcome.error = Excerpt(reply.status().message());
    if (reply.status().code() == StatusCode::kInvalidArgument) outcome.permanent = true;
    return outcome;
  }
  outcome.status = reply->code;
  std::string said = fmt::format("{} {}", reply->code, reply->text);
  if (!reply->refused.empty()) said += "; refused: " + Join(reply->refused);
  if (!not_mailed.empty()) said += "; " + not_mailed;
  if (reply->accepted()) {
    outcome.response = Excerpt(std::move(said));
  } else {
    outcome.error = Excerpt(fmt::format("the SMTP server refused the message: {}", said));
    // 5xx: a permanent refusal in SMTP's terms; 4xx: try again later.
    outcome.permanent = reply->code >= 500;
  }
  return outcome;
}

}  // namespace vouch::notify

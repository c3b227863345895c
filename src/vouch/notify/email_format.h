// The e-mail format: one audit event as a message a person reads — a subject, and a
// multipart/alternative body with a plain-text and an HTML part (UTF-8, quoted-printable) saying
// what happened, who did it, why (the event's comment), who can still approve (request.opened and
// request.reminder), and a link when the server's public URL is known. Client addresses and user
// agents are left out. The Message-ID and the MIME boundary derive from the delivery id, so a
// retry is the same message (a receiving system may deduplicate on the Message-ID).
//
// The format renders the headers that do not depend on who receives it (Subject, Date,
// Message-ID, MIME headers); the e-mail channel adds From and To (AssembleMessage) once it has
// resolved the recipients.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vouch/notify/format.h"
#include "vouch/util/status.h"
#include "vouch/util/time.h"

namespace vouch::notify {

// What the message says, before MIME.
struct EmailContent {
  std::string subject;  // one line, UTF-8
  std::string text;     // plain text, LF line ends
  std::string html;     // a complete HTML document, every value escaped
};

// INVALID_ARGUMENT when the event names no action.
Result<EmailContent> ComposeEmail(const Envelope& envelope);

// A link to what the event is about under `public_url` (no trailing slash needed): the request
// (/api/v1/requests/N), the version (/api/v1/models/M/versions/V) or the model; empty when the
// public URL is unknown or the event is about none of them.
std::string EventLink(const json::object& event, std::string_view public_url);

// Encodings, exposed for their tests.
// RFC 2047: `text` as is when it is printable ASCII and short, otherwise as UTF-8 "B" encoded
// words (split between characters, never inside one), folded with CRLF SP. Control characters
// become spaces first, so no header can be injected.
std::string EncodeHeaderText(std::string_view text);
// RFC 2045 quoted-printable of UTF-8 text with LF (or CRLF) line ends: CRLF hard breaks, lines at
// most 76 characters, "=" soft breaks, trailing spaces and a leading "." encoded.
std::string QuotedPrintable(std::string_view text);
// RFC 5322 date-time in UTC: "Sun, 06 Dec 2026 16:32:19 +0000".
std::string MailDate(TimeMs t);
// The Message-ID (with angle brackets) of a delivery: "<DELIVERY@HOST>", HOST the public URL's
// host (or "vouch").
std::string MessageIdFor(std::string_view delivery_id, int64_t event_seq,
                         std::string_view public_url);

// `--format email`. Render's headers are those above; its body the MIME body.
class EmailFormat final : public Format {
 public:
  std::string_view name() const override { return "email"; }
  Result<Rendered> Render(const Envelope& envelope) const override;
};

// The whole RFC 5322 message: From (as given: "addr" or "Name <addr>"), To (bare addresses),
// then `rendered`'s headers, an empty line and its body, with CRLF line ends.
std::string AssembleMessage(std::string_view from, const std::vector<std::string>& to,
                            const Rendered& rendered);

}  // namespace vouch::notify
